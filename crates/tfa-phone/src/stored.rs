//! The product's stored format: `<country code> <number with area code> [<extension>]`.
//!
//! The parts are split on white space: the first is the country code (1 to 3 digits), the
//! second the national number (digits, with the separators `-.()/` removed), an optional third
//! the extension. The digits of the second part are the national significant number exactly as
//! it is dialled: no national prefix is stripped, so `44 02079460958` is refused rather than
//! silently changed.

use crate::metadata::MAX_NATIONAL_DIGITS;
use crate::{CountryCode, Extension, PhoneError, metadata};

/// The parts of a stored number, checked for form but not yet against the metadata.
#[derive(Debug)]
pub(crate) struct StoredParts {
    pub(crate) country_code: CountryCode,
    pub(crate) national: String,
    pub(crate) extension: Option<Extension>,
}

/// Whether `input` is shaped like a stored number (first part 1 to 3 digits, not starting with
/// 0), as opposed to free-form text such as `+44 ...` or a national `020 ...`.
pub(crate) fn looks_stored(input: &str) -> bool {
    input
        .split_ascii_whitespace()
        .next()
        .is_some_and(|first| country_code_digits(first).is_some())
}

fn country_code_digits(part: &str) -> Option<u16> {
    let bytes = part.as_bytes();
    let well_formed =
        (1..=3).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) && bytes[0] != b'0';
    if well_formed { part.parse().ok() } else { None }
}

pub(crate) fn split(input: &str) -> Result<StoredParts, PhoneError> {
    let mut parts = input.split_ascii_whitespace();
    let Some(code_part) = parts.next() else {
        return Err(PhoneError::Empty);
    };
    let code = country_code_digits(code_part).ok_or_else(|| PhoneError::BadCountryCode {
        code: code_part.to_owned(),
    })?;
    if !metadata::is_known_country_code(code) {
        return Err(PhoneError::UnknownCountryCode {
            code: code_part.to_owned(),
        });
    }
    let country_code = CountryCode::new_unchecked(code);
    let Some(number_part) = parts.next() else {
        return Err(PhoneError::MissingNumber {
            input: input.trim().to_owned(),
        });
    };
    let extension = parts.next().map(Extension::new).transpose()?;
    let rest = parts.count();
    if rest > 0 {
        return Err(PhoneError::TooManyParts {
            input: input.trim().to_owned(),
            parts: 3 + rest,
        });
    }
    let national = national_digits(number_part, country_code)?;
    Ok(StoredParts {
        country_code,
        national,
        extension,
    })
}

fn national_digits(part: &str, country_code: CountryCode) -> Result<String, PhoneError> {
    let mut digits = String::with_capacity(part.len());
    for b in part.bytes() {
        match b {
            b'0'..=b'9' => digits.push(char::from(b)),
            b'-' | b'.' | b'(' | b')' | b'/' => {}
            _ => {
                return Err(PhoneError::NotANumber {
                    number: part.to_owned(),
                });
            }
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::NotANumber {
            number: part.to_owned(),
        });
    }
    if digits.len() > MAX_NATIONAL_DIGITS {
        return Err(PhoneError::TooLong {
            country_code: country_code.get(),
            number: digits,
        });
    }
    Ok(digits)
}
