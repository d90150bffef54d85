use tfa_phone::{PhoneError, Region, check_lines};

#[test]
fn every_line_is_reported_in_order_with_its_number() {
    let lines = [
        "1 9259249500 292",
        "",
        "1 925",
        "+44 20 7946 0958",
        "91 9876543210",
    ];
    let results: Vec<_> = check_lines(lines, None).collect();
    assert_eq!(results.len(), 5);
    let numbers: Vec<usize> = results.iter().map(|r| r.line).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(results[0].result.as_ref().unwrap().e164(), "+19259249500");
    assert_eq!(results[1].result, Err(PhoneError::Empty));
    assert!(matches!(
        results[2].result,
        Err(PhoneError::TooShort { .. })
    ));
    assert_eq!(
        results[3].result.as_ref().unwrap().stored(),
        "44 2079460958"
    );
    assert!(results[4].is_ok());
}

#[test]
fn bulk_check_refuses_premium_rate_numbers() {
    let results: Vec<_> = check_lines(["+1 900 200 5555"], None).collect();
    assert_eq!(
        results[0].result,
        Err(PhoneError::PremiumRateRefused {
            e164: "+19002005555".into()
        })
    );
}

#[test]
fn default_region_reads_national_lines_and_carriage_returns_are_dropped() {
    let gb = Region::new("GB").ok();
    let results: Vec<_> = check_lines(["020 7946 0958\r"], gb).collect();
    assert_eq!(results[0].input, "020 7946 0958");
    assert_eq!(results[0].result.as_ref().unwrap().e164(), "+442079460958");
}

#[test]
fn reads_lines_from_a_buffered_reader() {
    use std::io::BufRead;
    let text = "1 9259249500\nnot a number\n";
    let lines: Vec<String> = std::io::Cursor::new(text)
        .lines()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<bool> = check_lines(&lines, None).map(|r| r.is_ok()).collect();
    assert_eq!(ok, [true, false]);
}
