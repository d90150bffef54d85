use tfa_phone::{PhoneError, PhoneNumber, Region};

fn stored_err(input: &str) -> PhoneError {
    PhoneNumber::parse_stored(input).unwrap_err()
}

#[test]
fn empty_and_blank_input_is_empty() {
    assert_eq!(stored_err(""), PhoneError::Empty);
    assert_eq!(stored_err("   "), PhoneError::Empty);
    assert_eq!(
        PhoneNumber::parse(" \t", None).unwrap_err(),
        PhoneError::Empty
    );
}

#[test]
fn country_code_must_be_one_to_three_digits() {
    assert_eq!(
        stored_err("1234 5550100"),
        PhoneError::BadCountryCode {
            code: "1234".into()
        }
    );
    assert_eq!(
        stored_err("+1 9259249500"),
        PhoneError::BadCountryCode { code: "+1".into() }
    );
    assert_eq!(
        stored_err("01 9259249500"),
        PhoneError::BadCountryCode { code: "01".into() }
    );
}

#[test]
fn unassigned_country_code_is_unknown() {
    assert_eq!(
        stored_err("999 12345678"),
        PhoneError::UnknownCountryCode { code: "999".into() }
    );
    assert_eq!(
        PhoneNumber::parse("+999 1234 5678", None).unwrap_err(),
        PhoneError::UnknownCountryCode { code: "999".into() }
    );
}

#[test]
fn national_number_without_region_misses_its_country_code() {
    assert_eq!(
        PhoneNumber::parse("(925) 924-9500", None).unwrap_err(),
        PhoneError::MissingCountryCode {
            input: "(925) 924-9500".into()
        }
    );
}

#[test]
fn country_code_alone_misses_the_number() {
    assert_eq!(
        stored_err("44"),
        PhoneError::MissingNumber { input: "44".into() }
    );
}

#[test]
fn a_fourth_part_is_refused() {
    assert_eq!(
        stored_err("1 925 924 9500"),
        PhoneError::TooManyParts {
            input: "1 925 924 9500".into(),
            parts: 4
        }
    );
}

#[test]
fn letters_in_the_number_part_are_not_a_number() {
    assert_eq!(
        stored_err("1 925ABC9500"),
        PhoneError::NotANumber {
            number: "925ABC9500".into()
        }
    );
    assert_eq!(
        stored_err("1 --"),
        PhoneError::NotANumber {
            number: "--".into()
        }
    );
    assert!(matches!(
        PhoneNumber::parse("call me maybe", Region::new("US").ok()).unwrap_err(),
        PhoneError::NotANumber { .. }
    ));
}

#[test]
fn short_and_long_numbers_name_their_length() {
    assert_eq!(
        stored_err("1 925924"),
        PhoneError::TooShort {
            country_code: 1,
            number: "925924".into()
        }
    );
    assert_eq!(
        stored_err("1 925924950012"),
        PhoneError::TooLong {
            country_code: 1,
            number: "925924950012".into()
        }
    );
    assert!(matches!(
        stored_err("1 123456789012345678"),
        PhoneError::TooLong {
            country_code: 1,
            ..
        }
    ));
}

#[test]
fn right_length_wrong_range_is_invalid_for_the_region() {
    // NANPA area codes never start with 1.
    assert_eq!(
        stored_err("1 1259249500"),
        PhoneError::InvalidForRegion {
            country_code: 1,
            number: "1259249500".into()
        }
    );
}

#[test]
fn national_prefix_in_a_stored_number_is_refused() {
    assert!(matches!(
        stored_err("44 02079460958"),
        PhoneError::InvalidForRegion { .. } | PhoneError::TooLong { .. }
    ));
}

#[test]
fn extension_with_letters_is_bad() {
    assert_eq!(
        stored_err("1 9259249500 x292"),
        PhoneError::BadExtension {
            extension: "x292".into()
        }
    );
    assert_eq!(
        stored_err("1 9259249500 @"),
        PhoneError::BadExtension {
            extension: "@".into()
        }
    );
    assert_eq!(
        stored_err("1 9259249500 2@92"),
        PhoneError::BadExtension {
            extension: "2@92".into()
        }
    );
    let long = "1".repeat(33);
    assert_eq!(
        stored_err(&format!("1 9259249500 {long}")),
        PhoneError::BadExtension { extension: long }
    );
}

#[test]
fn premium_rate_numbers_are_valid_but_not_callable() {
    let number = PhoneNumber::parse("+1 900 200 5555", None).unwrap();
    assert_eq!(
        number.ensure_callable().unwrap_err(),
        PhoneError::PremiumRateRefused {
            e164: "+19002005555".into()
        }
    );
    PhoneNumber::parse_stored("1 9259249500")
        .unwrap()
        .ensure_callable()
        .unwrap();
}

#[test]
fn unknown_region_code_is_refused() {
    assert_eq!(
        Region::new("XX").unwrap_err(),
        PhoneError::UnknownRegion {
            region: "XX".into()
        }
    );
    assert_eq!(
        Region::new("USA").unwrap_err(),
        PhoneError::UnknownRegion {
            region: "USA".into()
        }
    );
    assert_eq!("gb".parse::<Region>().unwrap().as_str(), "GB");
}

#[test]
fn messages_name_the_value_at_fault() {
    assert_eq!(
        stored_err("999 12345678").to_string(),
        "unknown country code +999"
    );
    assert_eq!(
        stored_err("1 925924").to_string(),
        "number 925924 is too short for country code +1"
    );
    assert_eq!(
        stored_err("1 1259249500").to_string(),
        "1259249500 is not a valid number for country code +1"
    );
}

#[test]
fn free_form_length_errors_name_the_country_code_and_digits() {
    assert_eq!(
        PhoneNumber::parse("+44 1234567890123456789", None).unwrap_err(),
        PhoneError::TooLong {
            country_code: 44,
            number: "1234567890123456789".into()
        }
    );
    // Two digits after a "+" are not a phone number at all for libphonenumber.
    assert_eq!(
        PhoneNumber::parse("+1 2", None).unwrap_err(),
        PhoneError::NotANumber {
            number: "+1 2".into()
        }
    );
}
