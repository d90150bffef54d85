//! The numbering metadata: the one module that talks to the libphonenumber port, so the port can
//! be swapped without touching the public API.
//!
//! The port is `rlibphonenumber`, pinned to one version in the workspace: it gave
//! libphonenumber's answers where the `phonenumber` crate did not, and costs a fraction of the
//! time (see `docs/performance.md`). It reads free-form text and formats. Validation and
//! classification, the hot path of every parse, run on our own compiled copy of the same
//! metadata release (`validate.rs` over the generated `table.rs`).

mod table;
mod validate;

use rlibphonenumber::{
    PHONE_NUMBER_UTIL as UTIL, ParseError, PhoneNumber as LibNumber, PhoneNumberFormat,
    Region as LibRegion, ValidationError,
};

use crate::{CountryCode, NumberKind, PhoneError, Region};

/// The libphonenumber metadata release numbers are validated against (`9.0.42`).
pub const METADATA_VERSION: &str = table::VERSION;

/// Libphonenumber's longest national significant number.
pub(crate) const MAX_NATIONAL_DIGITS: usize = 17;

/// What the metadata says of a valid number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classified {
    pub(crate) kind: NumberKind,
    pub(crate) region: Option<Region>,
}

/// A number as the free-form parser read it.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) country_code: CountryCode,
    pub(crate) national: String,
    pub(crate) extension: Option<String>,
}

fn lib_region(region: Region) -> Option<LibRegion> {
    LibRegion::from_code(region.as_str()).ok()
}

fn our_region(region: LibRegion) -> Option<Region> {
    match region.as_region_str().as_str().as_bytes() {
        &[a, b] => Some(Region::from_known([a, b])),
        _ => None, // "001", the non-geographic entities
    }
}

pub(crate) fn country_code_for_region(region: Region) -> Option<CountryCode> {
    let code = UTIL.get_country_code_for_region(lib_region(region)?)?;
    u16::try_from(code).ok().map(CountryCode::new_unchecked)
}

pub(crate) fn supported_regions() -> Vec<Region> {
    let mut regions: Vec<Region> = UTIL
        .get_supported_regions()
        .filter_map(our_region)
        .collect();
    regions.sort();
    regions
}

pub(crate) use validate::is_known_country_code;

/// Builds the port's number from our parts; `national` is all ASCII digits, at most
/// [`MAX_NATIONAL_DIGITS`] long, not empty.
fn lib_number(country_code: CountryCode, national: &str, extension: Option<&str>) -> LibNumber {
    let value = national
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    let zeros = national.bytes().take_while(|&b| b == b'0').count();
    // Libphonenumber keeps leading zeros ("Italian" zeros) as a count beside the value; an
    // all-zero number keeps its last zero in the value.
    let zeros = if zeros == national.len() {
        zeros.saturating_sub(1)
    } else {
        zeros
    };
    LibNumber {
        country_code: i32::from(country_code.get()),
        national_number: value,
        extension: extension.map(str::to_owned),
        italian_leading_zero: (zeros > 0).then_some(true),
        number_of_leading_zeros: (zeros > 1).then(|| i32::try_from(zeros).unwrap_or(1)),
        ..LibNumber::default()
    }
}

/// Validates a national significant number (ASCII digits, at most [`MAX_NATIONAL_DIGITS`])
/// for a calling code, with libphonenumber's answers (`isValidNumber`, `getNumberType`,
/// `getRegionCodeForNumber`).
pub(crate) fn classify(
    country_code: CountryCode,
    national: &str,
) -> Result<Classified, PhoneError> {
    let code = country_code.get();
    match validate::check(code, national) {
        validate::Verdict::Valid(kind, region) => Ok(Classified {
            kind,
            region: region.map(Region::from_known),
        }),
        validate::Verdict::UnknownCountryCode => Err(PhoneError::UnknownCountryCode {
            code: code.to_string(),
        }),
        validate::Verdict::Invalid => Err(invalid(country_code, national)),
    }
}

/// Says why a number is invalid: too short, too long, or no such number range.
fn invalid(country_code: CountryCode, national: &str) -> PhoneError {
    let number = lib_number(country_code, national, None);
    let part = national.to_owned();
    let code = country_code.get();
    match UTIL.is_possible_number_with_reason(&number) {
        Err(ValidationError::TooShort) => PhoneError::TooShort {
            country_code: code,
            number: part,
        },
        Err(ValidationError::TooLong) => PhoneError::TooLong {
            country_code: code,
            number: part,
        },
        Err(ValidationError::InvalidCountryCode) => PhoneError::UnknownCountryCode {
            code: code.to_string(),
        },
        _ => PhoneError::InvalidForRegion {
            country_code: code,
            number: part,
        },
    }
}

/// Reads free-form text as libphonenumber's `parse` does (no validation yet).
pub(crate) fn parse(input: &str, default_region: Option<Region>) -> Result<Parsed, PhoneError> {
    if let Some((code, national, extension)) =
        validate::split_fast(input, default_region.map(Region::bytes))
    {
        return Ok(Parsed {
            country_code: CountryCode::new_unchecked(code),
            national,
            extension,
        });
    }
    let region = default_region.and_then(lib_region);
    let number = UTIL
        .parse(input, region)
        .map_err(|e| parse_error(e, input, default_region))?;
    let country_code = u16::try_from(number.country_code)
        .map(CountryCode::new_unchecked)
        .map_err(|_| PhoneError::UnknownCountryCode {
            code: number.country_code.to_string(),
        })?;
    let national = rlibphonenumber::get_national_significant_number_owned(&number);
    Ok(Parsed {
        country_code,
        national,
        extension: number.extension.filter(|e| !e.is_empty()),
    })
}

fn parse_error(error: ParseError, input: &str, default_region: Option<Region>) -> PhoneError {
    match error {
        ParseError::InvalidCountryCode => match leading_code(input) {
            Some(code) => PhoneError::UnknownCountryCode { code },
            None => PhoneError::MissingCountryCode {
                input: input.to_owned(),
            },
        },
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn | ParseError::TooLongNsn => {
            let too_long = matches!(error, ParseError::TooLongNsn);
            length_error(input, default_region, too_long)
        }
        _ => PhoneError::NotANumber {
            number: input.to_owned(),
        },
    }
}

/// A too-short or too-long error naming the calling code and the national digits, read the way
/// libphonenumber read them (after a `+`, the first 1 to 3 digits that form a known code;
/// otherwise the default region's code).
fn length_error(input: &str, default_region: Option<Region>, too_long: bool) -> PhoneError {
    let after_plus = input.split_once(['+', '＋']).map(|(_, rest)| rest);
    let digits: String = after_plus
        .unwrap_or(input)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let split = match (after_plus, default_region) {
        (Some(_), _) => (1..=3.min(digits.len())).find_map(|n| {
            let code: u16 = digits.get(..n)?.parse().ok()?;
            is_known_country_code(code).then(|| (code, digits.get(n..).unwrap_or_default()))
        }),
        (None, Some(region)) => Some((region.country_code().get(), digits.as_str())),
        (None, None) => None,
    };
    match split {
        Some((country_code, number)) if too_long => PhoneError::TooLong {
            country_code,
            number: number.to_owned(),
        },
        Some((country_code, number)) => PhoneError::TooShort {
            country_code,
            number: number.to_owned(),
        },
        None => PhoneError::NotANumber {
            number: input.to_owned(),
        },
    }
}

/// The first up-to-three digits after a `+`, for naming an unknown country code.
fn leading_code(input: &str) -> Option<String> {
    let (_, after_plus) = input.split_once(['+', '＋'])?;
    let code: String = after_plus
        .chars()
        .filter(char::is_ascii_digit)
        .take(3)
        .collect();
    (!code.is_empty()).then_some(code)
}

/// Formats with libphonenumber's international or national rules.
pub(crate) fn format(
    country_code: CountryCode,
    national: &str,
    extension: Option<&str>,
    international: bool,
) -> String {
    let number = lib_number(country_code, national, extension);
    let format = if international {
        PhoneNumberFormat::International
    } else {
        PhoneNumberFormat::National
    };
    UTIL.format(&number, format).into_owned()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{UTIL, lib_region, validate};
    use crate::Region;

    type Split = Option<(u16, String, Option<String>)>;

    /// What libphonenumber's general parser makes of the text: calling code, national
    /// significant number and extension.
    fn general_parser(input: &str, region: Option<Region>) -> Split {
        let number = UTIL.parse(input, region.and_then(lib_region)).ok()?;
        let code = u16::try_from(number.country_code).ok()?;
        let national = rlibphonenumber::get_national_significant_number_owned(&number);
        Some((code, national, number.extension.filter(|e| !e.is_empty())))
    }

    fn fast_path(input: &str, region: Option<Region>) -> Split {
        validate::split_fast(input, region.map(Region::bytes))
    }

    fn split(code: u16, national: &str, extension: Option<&str>) -> Split {
        Some((code, national.to_owned(), extension.map(str::to_owned)))
    }

    fn any_region() -> impl Strategy<Value = Option<Region>> {
        proptest::option::weighted(0.9, proptest::sample::select(Region::all()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6000))]

        /// The fast path gives what the general parser gives, whenever it answers at all:
        /// national numbers, with and without national prefixes, in every region, international
        /// ones, extensions and `tel:` URIs.
        #[test]
        fn fast_path_agrees_with_the_general_parser(
            number in "[+]?[0-9]{0,4}([ ().\\-/]{0,2}[0-9]{1,4}){1,5}",
            extension in "( ext\\.? [0-9]{0,22}|;ext=[0-9]{0,22}|)",
            uri in proptest::bool::weighted(0.2),
            region in any_region(),
        ) {
            let input = if uri { format!("tel:{number}{extension}") } else { format!("{number}{extension}") };
            if let Some(fast) = fast_path(&input, region) {
                prop_assert_eq!(Some(fast), general_parser(&input, region), "input {:?} in {:?}", input, region);
            }
        }
    }

    #[test]
    fn fast_path_strips_a_plain_national_prefix_as_libphonenumber_does() {
        let (gb, us) = (Region::new("GB").ok(), Region::new("US").ok());
        assert_eq!(
            fast_path("+44 (0)20 7946 0958", None),
            split(44, "2079460958", None)
        );
        assert_eq!(
            fast_path("020 7946 0958", gb),
            split(44, "2079460958", None)
        );
        assert_eq!(
            fast_path("(925) 924-9500", us),
            split(1, "9259249500", None)
        );
    }

    #[test]
    fn fast_path_reads_extensions_and_tel_uris() {
        let expected = split(1, "9259249500", Some("292"));
        assert_eq!(fast_path("+1 (925) 924-9500 ext. 292", None), expected);
        assert_eq!(fast_path("tel:+1-925-924-9500;ext=292", None), expected);
        assert_eq!(
            fast_path("tel:+1-925-924-9500", None),
            split(1, "9259249500", None)
        );
    }

    #[test]
    fn fast_path_leaves_the_hard_cases_to_the_general_parser() {
        let us = Region::new("US").ok();
        // Other extension labels, a phone context, an international prefix, the region's own
        // calling code, no region.
        assert_eq!(fast_path("+1 925 924 9500 x1", None), None);
        assert_eq!(fast_path("tel:9249500;phone-context=+1925", None), None);
        assert_eq!(fast_path("011 44 20 7946 0958", us), None);
        assert_eq!(fast_path("1 925 924 9500", us), None);
        assert_eq!(fast_path("925 924 9500", None), None);
        // Argentina's national prefix has a transform rule.
        assert_eq!(fast_path("011 15-2345-6789", Region::new("AR").ok()), None);
    }
}
