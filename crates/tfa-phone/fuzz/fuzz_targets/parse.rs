//! Every parser on arbitrary bytes: nothing panics, and whatever parses round-trips through the
//! stored format. The same body runs as a property test in `tests/it/roundtrip.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfa_phone::{PhoneNumber, Region, check_lines};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks a default region (or none), the rest is the input.
    let regions = Region::all();
    let region = data.first().and_then(|b| regions.get(usize::from(*b))).copied();
    let results = [
        PhoneNumber::parse_stored(text),
        PhoneNumber::parse(text, region),
        PhoneNumber::parse_input(text, region),
    ];
    for number in results.into_iter().flatten() {
        let again = PhoneNumber::parse_stored(&number.stored()).expect("stored format re-parses");
        assert_eq!(again, number);
        let _ = (number.international(), number.national(), number.wire_fields(), number.e164());
    }
    assert_eq!(check_lines(text.lines(), region).count(), text.lines().count());
});
