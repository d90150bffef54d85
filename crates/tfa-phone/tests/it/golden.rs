//! Agreement with libphonenumber's own answers (`tests/data/golden.tsv`, made by
//! `tests/data/gen_golden.py`) for example numbers of every region and kind, their near misses,
//! and every input form.

use std::collections::BTreeSet;

use tfa_phone::{PhoneNumber, Region};

const GOLDEN: &str = include_str!("../data/golden.tsv");

#[derive(Debug)]
struct Case<'a> {
    form: &'a str,
    input: &'a str,
    default_region: &'a str,
    valid: bool,
    e164: &'a str,
    kind: &'a str,
    region: &'a str,
}

fn cases() -> Vec<Case<'static>> {
    GOLDEN
        .lines()
        .filter(|line| !line.starts_with('#'))
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "golden line {line:?}");
            Case {
                form: f[0],
                input: f[1],
                default_region: f[2],
                valid: f[3] == "true",
                e164: f[4],
                kind: f[5],
                region: f[6],
            }
        })
        .collect()
}

/// The extension the generator wrote into the input (RFC 3966 `;ext=292`, stored ` 292`).
fn expected_extension(case: &Case<'_>) -> Option<&'static str> {
    let with_extension =
        case.form == "rfc3966" || (case.form == "stored" && case.input.split(' ').count() == 3);
    (case.valid && with_extension).then_some("292")
}

/// What tfa-phone answers, in the golden file's terms.
fn ours(case: &Case<'_>) -> (bool, String, String, String, Option<String>) {
    let result = if case.form == "stored" {
        PhoneNumber::parse_stored(case.input)
    } else {
        let region =
            (case.default_region != "-").then(|| Region::new(case.default_region).unwrap());
        PhoneNumber::parse(case.input, region)
    };
    match result {
        Ok(n) => (
            true,
            n.e164(),
            n.kind().to_string(),
            n.region().map_or_else(|| "-".to_owned(), |r| r.to_string()),
            n.extension().map(|e| e.as_str().to_owned()),
        ),
        Err(_) => (false, "-".into(), "-".into(), "-".into(), None),
    }
}

#[test]
fn golden_file_covers_every_region_and_form() {
    let cases = cases();
    let regions: BTreeSet<&str> = cases.iter().filter(|c| c.valid).map(|c| c.region).collect();
    assert!(regions.len() >= 240, "only {} regions", regions.len());
    let forms: BTreeSet<&str> = cases.iter().map(|c| c.form).collect();
    assert_eq!(
        forms,
        BTreeSet::from(["e164", "international", "national", "rfc3966", "stored"])
    );
    assert!(cases.iter().filter(|c| !c.valid).count() > 1000);
}

#[test]
fn every_golden_case_agrees_with_libphonenumber() {
    let cases = cases();
    let mut wrong = Vec::new();
    for case in &cases {
        let expected = (
            case.valid,
            case.e164.to_owned(),
            case.kind.to_owned(),
            case.region.to_owned(),
            expected_extension(case).map(str::to_owned),
        );
        let got = ours(case);
        if got != expected {
            wrong.push(format!("{case:?}\n    got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases disagree:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
