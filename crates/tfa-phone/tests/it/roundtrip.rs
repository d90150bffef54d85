//! Property tests: formatting then parsing gives the same number back, and no input makes a
//! parser panic.

use proptest::prelude::*;
use tfa_phone::{PhoneNumber, Region, check_lines};

const GOLDEN: &str = include_str!("../data/golden.tsv");

/// libphonenumber's valid example numbers, in the stored format without extension.
fn examples() -> Vec<&'static str> {
    GOLDEN
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (f.len() == 7 && f[0] == "stored" && f[3] == "true" && f[1].split(' ').count() == 2)
                .then(|| f[1])
        })
        .collect()
}

/// Valid numbers: an example number with its last digits replaced, kept when still valid, and
/// an optional extension.
fn valid_number() -> impl Strategy<Value = PhoneNumber> {
    let examples = examples();
    let count = examples.len();
    (
        0..count,
        "[0-9]{0,3}",
        proptest::option::of("@?[0-9*#,]{1,12}"),
    )
        .prop_filter_map(
            "the changed digits left the number range",
            move |(index, tail, extension)| {
                let (code, national) = examples[index].split_once(' ')?;
                let keep = national.len().saturating_sub(tail.len());
                let mut text = format!("{code} {}{tail}", &national[..keep]);
                if let Some(extension) = extension {
                    text = format!("{text} {extension}");
                }
                PhoneNumber::parse_stored(&text).ok()
            },
        )
}

fn any_region() -> impl Strategy<Value = Option<Region>> {
    let regions = Region::all();
    proptest::option::of(proptest::sample::select(regions))
}

proptest! {
    #[test]
    fn stored_format_round_trips(number in valid_number()) {
        prop_assert_eq!(PhoneNumber::parse_stored(&number.stored()).unwrap(), number.clone());
        prop_assert_eq!(number.stored().parse::<PhoneNumber>().unwrap(), number);
    }

    #[test]
    fn e164_round_trips_without_the_extension(number in valid_number(), region in any_region()) {
        let back = PhoneNumber::parse(&number.e164(), region).unwrap();
        prop_assert_eq!(back.e164(), number.e164());
        prop_assert_eq!(back.kind(), number.kind());
        prop_assert_eq!(back.region(), number.region());
        prop_assert_eq!(back.extension(), None);
        if number.extension().is_none() {
            prop_assert_eq!(back, number);
        }
    }

    #[test]
    fn international_format_round_trips_with_digit_extensions(number in valid_number()) {
        prop_assume!(number.extension().is_none_or(|e| e.as_str().bytes().all(|b| b.is_ascii_digit())));
        prop_assert_eq!(PhoneNumber::parse(&number.international(), None).unwrap(), number);
    }

    #[test]
    fn serde_round_trips(number in valid_number()) {
        let json = serde_json::to_string(&number).unwrap();
        prop_assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), number);
    }

    #[test]
    fn wire_fields_are_digits_and_dialable_characters(number in valid_number()) {
        let wire = number.wire_fields();
        prop_assert!(wire.country_code.bytes().all(|b| b.is_ascii_digit()));
        prop_assert!((1..=3).contains(&wire.country_code.len()));
        prop_assert!(wire.phonenumber.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(wire.extension.as_deref(), number.extension().map(|e| e.as_str()));
    }

    /// The body of the fuzz target (`fuzz/fuzz_targets/parse.rs`), over arbitrary strings: no
    /// input panics, and whatever parses round-trips through the stored format.
    #[test]
    fn arbitrary_text_never_panics_and_what_parses_round_trips(
        text in "\\PC{0,40}|[0-9+ ()\\-.x#*,@;=a-z:]{0,40}",
        region in any_region(),
    ) {
        let results = [
            PhoneNumber::parse_stored(&text),
            PhoneNumber::parse(&text, region),
            PhoneNumber::parse_input(&text, region),
        ];
        for number in results.into_iter().flatten() {
            prop_assert_eq!(PhoneNumber::parse_stored(&number.stored()).unwrap(), number.clone());
            let _ = (number.international(), number.national(), number.wire_fields());
        }
        prop_assert_eq!(check_lines(text.lines(), region).count(), text.lines().count());
    }
}
