use tfa_phone::{NumberKind, PhoneNumber, Region};

#[test]
fn us_landline_with_extension_reads_all_three_parts() {
    let number = PhoneNumber::parse_stored("1 9259249500 292").unwrap();
    assert_eq!(number.country_code().get(), 1);
    assert_eq!(number.national_number(), "9259249500");
    assert_eq!(number.extension().map(|e| e.as_str()), Some("292"));
    assert_eq!(number.kind(), NumberKind::FixedLineOrMobile);
    assert_eq!(number.region(), Some(Region::new("US").unwrap()));
    assert_eq!(number.e164(), "+19259249500");
}

#[test]
fn indian_mobile_has_no_extension() {
    let number = PhoneNumber::parse_stored("91 9876543210").unwrap();
    assert_eq!(number.country_code().get(), 91);
    assert_eq!(number.national_number(), "9876543210");
    assert_eq!(number.extension(), None);
    assert_eq!(number.kind(), NumberKind::Mobile);
    assert_eq!(number.region(), Some(Region::new("IN").unwrap()));
}

#[test]
fn separators_in_the_number_part_are_dropped() {
    let number = PhoneNumber::parse_stored("1 (925)924-95.00").unwrap();
    assert_eq!(number.national_number(), "9259249500");
    assert_eq!(number.stored(), "1 9259249500");
}

#[test]
fn surrounding_and_repeated_white_space_is_ignored() {
    let number = PhoneNumber::parse_stored("  44\t2079460958   \n").unwrap();
    assert_eq!(number.stored(), "44 2079460958");
    assert_eq!(number.kind(), NumberKind::FixedLine);
}

#[test]
fn italian_leading_zero_is_kept() {
    let number = PhoneNumber::parse_stored("39 0612345678").unwrap();
    assert_eq!(number.national_number(), "0612345678");
    assert_eq!(number.e164(), "+390612345678");
    assert_eq!(number.region(), Some(Region::new("IT").unwrap()));
}

#[test]
fn extension_may_hold_pauses_star_hash_and_a_leading_at() {
    let number = PhoneNumber::parse_stored("1 9259249500 @,,292#").unwrap();
    assert_eq!(number.extension().unwrap().as_str(), "@,,292#");
    assert_eq!(number.stored(), "1 9259249500 @,,292#");
}

#[test]
fn non_geographic_numbers_have_no_region() {
    let number = PhoneNumber::parse_stored("800 12345678").unwrap();
    assert_eq!(number.kind(), NumberKind::TollFree);
    assert_eq!(number.region(), None);
}

#[test]
fn from_str_reads_the_stored_format() {
    let number: PhoneNumber = "91 9876543210".parse().unwrap();
    assert_eq!(number, PhoneNumber::parse_stored("91 9876543210").unwrap());
}
