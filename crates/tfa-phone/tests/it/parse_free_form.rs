use tfa_phone::{NumberKind, PhoneNumber, Region};

fn region(code: &str) -> Option<Region> {
    Some(Region::new(code).unwrap())
}

#[test]
fn punctuated_international_number_with_extension() {
    let number = PhoneNumber::parse("+1 (925) 924-9500 ext. 292", None).unwrap();
    assert_eq!(number.stored(), "1 9259249500 292");
}

#[test]
fn rfc3966_uri_with_extension() {
    let number = PhoneNumber::parse("tel:+1-925-924-9500;ext=292", None).unwrap();
    assert_eq!(number.stored(), "1 9259249500 292");
}

#[test]
fn double_zero_international_prefix_needs_no_region() {
    let number = PhoneNumber::parse("00 44 20 7946 0958", region("GB")).unwrap();
    assert_eq!(number.e164(), "+442079460958");
}

#[test]
fn national_number_is_read_in_the_default_region() {
    let number = PhoneNumber::parse("020 7946 0958", region("GB")).unwrap();
    assert_eq!(number.e164(), "+442079460958");
    assert_eq!(number.kind(), NumberKind::FixedLine);
    let number = PhoneNumber::parse("(925) 924-9500", region("US")).unwrap();
    assert_eq!(number.e164(), "+19259249500");
}

#[test]
fn international_number_ignores_the_default_region() {
    let number = PhoneNumber::parse("+91 98765 43210", region("US")).unwrap();
    assert_eq!(number.stored(), "91 9876543210");
    assert_eq!(number.kind(), NumberKind::Mobile);
}

#[test]
fn letters_are_read_as_keypad_digits() {
    let number = PhoneNumber::parse("1-800-FLOWERS", region("US")).unwrap();
    assert_eq!(number.e164(), "+18003569377");
    assert_eq!(number.kind(), NumberKind::TollFree);
}

#[test]
fn national_prefix_is_stripped_after_a_country_code() {
    let number = PhoneNumber::parse("+44 (0)20 7946 0958", None).unwrap();
    assert_eq!(number.e164(), "+442079460958");
}

#[test]
fn parse_input_takes_the_stored_format_first() {
    let number = PhoneNumber::parse_input("44 2079460958", region("US")).unwrap();
    assert_eq!(number.e164(), "+442079460958");
}

#[test]
fn parse_input_falls_back_to_free_form_in_the_default_region() {
    // "212" is Morocco's code, but as Moroccan "555 0100" is too short: read as a New York number.
    let number = PhoneNumber::parse_input("212 555 0100", region("US")).unwrap();
    assert_eq!(number.e164(), "+12125550100");
    let number = PhoneNumber::parse_input("+44 20 7946 0958", None).unwrap();
    assert_eq!(number.e164(), "+442079460958");
}
