use tfa_phone::{NumberKind, PhoneNumber, WireFields};

#[test]
fn us_number_in_every_format() {
    let number = PhoneNumber::parse_stored("1 9259249500 292").unwrap();
    assert_eq!(number.e164(), "+19259249500");
    assert_eq!(number.international(), "+1 925-924-9500 ext. 292");
    assert_eq!(number.national(), "(925) 924-9500 ext. 292");
    assert_eq!(number.stored(), "1 9259249500 292");
    assert_eq!(number.to_string(), "1 9259249500 292");
}

#[test]
fn uk_number_in_every_format() {
    let number = PhoneNumber::parse_stored("44 2079460958").unwrap();
    assert_eq!(number.e164(), "+442079460958");
    assert_eq!(number.international(), "+44 20 7946 0958");
    assert_eq!(number.national(), "020 7946 0958");
}

#[test]
fn non_digit_extension_is_appended_to_the_formats() {
    let number = PhoneNumber::parse_stored("1 9259249500 @,292#").unwrap();
    assert_eq!(number.international(), "+1 925-924-9500 ext. @,292#");
}

#[test]
fn wire_fields_split_the_number_as_phonefactor_expects() {
    let number = PhoneNumber::parse("+1 (925) 924-9500 ext. 292", None).unwrap();
    assert_eq!(
        number.wire_fields(),
        WireFields {
            country_code: "1".into(),
            phonenumber: "9259249500".into(),
            extension: Some("292".into()),
        }
    );
    let mobile = PhoneNumber::parse_stored("91 9876543210").unwrap();
    assert_eq!(mobile.wire_fields().extension, None);
    let at = PhoneNumber::parse_stored("1 9259249500 @,,292").unwrap();
    assert_eq!(at.wire_fields().extension.as_deref(), Some("@,,292"));
}

#[test]
fn serde_uses_the_stored_format() {
    let number = PhoneNumber::parse_stored("1 9259249500 292").unwrap();
    let json = serde_json::to_string(&number).unwrap();
    assert_eq!(json, "\"1 9259249500 292\"");
    let back: PhoneNumber = serde_json::from_str(&json).unwrap();
    assert_eq!(back, number);
    let bad = serde_json::from_str::<PhoneNumber>("\"1 925\"").unwrap_err();
    assert!(bad.to_string().contains("too short"), "{bad}");
}

#[test]
fn kinds_serialise_in_kebab_case() {
    assert_eq!(
        serde_json::to_string(&NumberKind::FixedLineOrMobile).unwrap(),
        "\"fixed-line-or-mobile\""
    );
    assert_eq!(
        serde_json::to_string(&NumberKind::Voip).unwrap(),
        "\"voip\""
    );
    assert_eq!(NumberKind::PremiumRate.to_string(), "premium-rate");
    let kind: NumberKind = serde_json::from_str("\"toll-free\"").unwrap();
    assert_eq!(kind, NumberKind::TollFree);
}

#[test]
fn equal_numbers_hash_alike() {
    use std::collections::HashSet;
    let a = PhoneNumber::parse_stored("1 9259249500").unwrap();
    let b = PhoneNumber::parse("+1 925 924 9500", None).unwrap();
    let set: HashSet<_> = [a, b].into_iter().collect();
    assert_eq!(set.len(), 1);
}
