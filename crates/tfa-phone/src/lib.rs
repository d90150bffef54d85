//! Phone numbers as the product stores and dials them.
//!
//! A [`PhoneNumber`] is a country calling code, a national significant number, an optional
//! extension, and the kind of line, validated with libphonenumber's metadata. It is read from
//! the product's stored format `<country code> <number with area code> [<extension>]` or from
//! free-form input, and written as E.164, libphonenumber's international and national formats,
//! the stored format, or the PhoneFactor wire fields. [`check_lines`] checks a whole file of
//! numbers and reports every bad line at once.
//!
//! Three readers, one answer: [`PhoneNumber::parse_stored`] reads the stored format exactly
//! (the digits are what gets dialled), [`PhoneNumber::parse`] reads free-form text as
//! libphonenumber does, and [`PhoneNumber::parse_input`] takes whichever shape an operator typed.
//! Every number they return is valid for libphonenumber metadata release [`METADATA_VERSION`];
//! callers that place calls also check [`PhoneNumber::ensure_callable`], which refuses
//! premium-rate numbers.
//!
//! ```
//! use tfa_phone::{NumberKind, PhoneError, PhoneNumber, Region, check_lines};
//!
//! # fn main() -> Result<(), PhoneError> {
//! // The stored format: a US landline with extension 292.
//! let desk = PhoneNumber::parse_stored("1 9259249500 292")?;
//! assert_eq!(desk.e164(), "+19259249500");
//! assert_eq!(desk.extension().map(|e| e.as_str()), Some("292"));
//! assert_eq!(desk.kind(), NumberKind::FixedLineOrMobile);
//!
//! // Free-form input, here an RFC 3966 URI, reads to the same number.
//! assert_eq!(PhoneNumber::parse("tel:+1-925-924-9500;ext=292", None)?, desk);
//!
//! // A national number needs a default region.
//! let london = PhoneNumber::parse("020 7946 0958", Some("GB".parse()?))?;
//! assert_eq!(london.stored(), "44 2079460958");
//! assert_eq!(london.region(), Some(Region::new("GB")?));
//!
//! // What goes on the wire to PhoneFactor.
//! let wire = desk.wire_fields();
//! assert_eq!((wire.country_code.as_str(), wire.phonenumber.as_str()), ("1", "9259249500"));
//! assert_eq!(wire.extension.as_deref(), Some("292"));
//!
//! // Errors name the part at fault.
//! assert!(matches!(
//!     PhoneNumber::parse_stored("1 925924"),
//!     Err(PhoneError::TooShort { country_code: 1, .. })
//! ));
//!
//! // A bulk check reports every line, blank ones included.
//! let results: Vec<_> = check_lines(["91 9876543210", "", "+44 20 7946 0958"], None).collect();
//! let ok: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
//! assert_eq!(ok, [true, false, true]);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bulk;
mod error;
mod kind;
mod metadata;
mod number;
mod parts;
mod region;
mod stored;
mod wire;

pub use bulk::{LineResult, check_lines};
pub use error::PhoneError;
pub use kind::NumberKind;
pub use metadata::METADATA_VERSION;
pub use number::PhoneNumber;
pub use parts::{CountryCode, Extension};
pub use region::Region;
pub use wire::WireFields;
