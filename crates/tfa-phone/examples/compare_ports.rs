//! Measures the rejected alternative port, the `phonenumber` crate, against libphonenumber's own
//! answers in `tests/data/golden.tsv`, the same file tfa-phone's tests hold it to (libphonenumber
//! metadata v9.0.42; the `phonenumber` crate embeds v9.0.33, so part of its disagreement is older
//! data).
//!
//! `cargo run --release -p tfa-phone --example compare_ports` prints how many free-form cases
//! each disagrees on (validity, E.164, kind or extension), with the first few disagreements of each form.
//! The stored-format rows are left out: neither port reads that format.

use std::collections::BTreeMap;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, Type};
use tfa_phone::{PhoneNumber, Region};

const GOLDEN: &str = include_str!("../tests/data/golden.tsv");

fn kind_name(kind: Type) -> &'static str {
    match kind {
        Type::FixedLine => "fixed-line",
        Type::Mobile => "mobile",
        Type::FixedLineOrMobile => "fixed-line-or-mobile",
        Type::TollFree => "toll-free",
        Type::PremiumRate => "premium-rate",
        Type::SharedCost => "shared-cost",
        Type::PersonalNumber => "personal-number",
        Type::Voip => "voip",
        Type::Pager => "pager",
        Type::Uan => "uan",
        Type::Voicemail => "voicemail",
        _ => "other",
    }
}

/// Validity, E.164, kind, and the extension read from the input.
type Verdict = (bool, String, String, Option<String>);

fn alternative(input: &str, region: Option<&str>) -> Verdict {
    let id = region.and_then(|r| Id::from_str(r).ok());
    match phonenumber::parse(id, input) {
        Ok(n) if phonenumber::is_valid(&n) => (
            true,
            n.format().mode(Mode::E164).to_string(),
            kind_name(n.number_type(&phonenumber::metadata::DATABASE)).to_owned(),
            n.extension().map(|e| e.to_string()),
        ),
        _ => (false, "-".into(), "-".into(), None),
    }
}

fn ours(input: &str, region: Option<&str>) -> Verdict {
    let region = region.and_then(|r| Region::new(r).ok());
    match PhoneNumber::parse(input, region) {
        Ok(n) => (
            true,
            n.e164(),
            n.kind().to_string(),
            n.extension().map(|e| e.as_str().to_owned()),
        ),
        Err(_) => (false, "-".into(), "-".into(), None),
    }
}

fn main() {
    let mut totals: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    for line in GOLDEN.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [form, input, region, valid, e164, kind, _] = f[..] else {
            continue;
        };
        if form == "stored" {
            continue;
        }
        let region = (region != "-").then_some(region);
        // The generator gives every RFC 3966 input the extension 292.
        let extension = (form == "rfc3966" && valid == "true").then(|| "292".to_owned());
        let expected: Verdict = (valid == "true", e164.to_owned(), kind.to_owned(), extension);
        let entry = totals.entry(form).or_default();
        entry[0] += 1;
        if ours(input, region) != expected {
            entry[1] += 1;
        }
        let theirs = alternative(input, region);
        if theirs != expected {
            entry[2] += 1;
            let count = shown.entry(form).or_default();
            if *count < 5 {
                *count += 1;
                println!(
                    "phonenumber: {form} {input:?} in {region:?}: expected {expected:?}, got {theirs:?}"
                );
            }
        }
    }
    println!("\nform           cases  tfa-phone (rlibphonenumber) wrong  phonenumber wrong");
    for (form, [cases, ours_wrong, theirs_wrong]) in totals {
        println!("{form:<14} {cases:>5}  {ours_wrong:>33}  {theirs_wrong:>17}");
    }
}
