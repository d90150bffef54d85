//! The phone number value.

use std::fmt;
use std::str::FromStr;

use crate::wire::filter_extension;
use crate::{CountryCode, Extension, NumberKind, PhoneError, Region, WireFields, metadata, stored};

/// A valid phone number: country calling code, national significant number, optional
/// extension, and the kind and region the numbering metadata gives it.
///
/// Only the parsers make one, so every `PhoneNumber` has passed libphonenumber's validation.
/// `Display`, `FromStr` and serde use the product's stored format (`1 9259249500 292`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    country_code: CountryCode,
    national: Box<str>,
    extension: Option<Extension>,
    kind: NumberKind,
    region: Option<Region>,
}

impl PhoneNumber {
    /// Parses the product's stored format, `<country code> <number with area code>
    /// [<extension>]`: `1 9259249500 292` (a US landline, extension 292) or `91 9876543210`
    /// (an Indian mobile).
    ///
    /// The number's digits are taken as they are (separators `-.()/` dropped, no national
    /// prefix stripped) and validated against the metadata.
    pub fn parse_stored(input: &str) -> Result<Self, PhoneError> {
        if input.trim().is_empty() {
            return Err(PhoneError::Empty);
        }
        let parts = stored::split(input)?;
        Self::validated(parts.country_code, parts.national, parts.extension)
    }

    /// Parses free-form text as libphonenumber does: `+1 (925) 924-9500 ext. 292`,
    /// `00 44 20 7946 0958`, `tel:+1-925-924-9500;ext=292`, or a national number such as
    /// `(925) 924-9500` read in `default_region`.
    pub fn parse(input: &str, default_region: Option<Region>) -> Result<Self, PhoneError> {
        if input.trim().is_empty() {
            return Err(PhoneError::Empty);
        }
        let parsed = metadata::parse(input, default_region)?;
        let extension = parsed
            .extension
            .as_deref()
            .map(Extension::new)
            .transpose()?;
        Self::validated(parsed.country_code, parsed.national, extension)
    }

    /// Parses what an operator typed: the stored format when the text starts with a bare
    /// country code (`44 2079460958`), otherwise (or when that fails and a default region is
    /// given) free-form text. The stored reading's error is reported when both fail, since the
    /// text was written in that shape.
    pub fn parse_input(input: &str, default_region: Option<Region>) -> Result<Self, PhoneError> {
        if !stored::looks_stored(input) {
            return Self::parse(input, default_region);
        }
        match Self::parse_stored(input) {
            Ok(number) => Ok(number),
            Err(stored_error) => match default_region {
                Some(region) => Self::parse(input, Some(region)).map_err(|_| stored_error),
                None => Err(stored_error),
            },
        }
    }

    fn validated(
        country_code: CountryCode,
        national: String,
        extension: Option<Extension>,
    ) -> Result<Self, PhoneError> {
        let classified = metadata::classify(country_code, &national)?;
        Ok(Self {
            country_code,
            national: national.into_boxed_str(),
            extension,
            kind: classified.kind,
            region: classified.region,
        })
    }

    /// Refuses numbers the product must not call: premium-rate numbers cost money and are the
    /// usual target of toll fraud. Call this before placing a call to a number from users.
    pub fn ensure_callable(&self) -> Result<(), PhoneError> {
        if self.kind == NumberKind::PremiumRate {
            return Err(PhoneError::PremiumRateRefused { e164: self.e164() });
        }
        Ok(())
    }

    /// The country calling code (`1`).
    pub fn country_code(&self) -> CountryCode {
        self.country_code
    }

    /// The national significant number, digits only, leading zeros kept where the country
    /// dials them (`9259249500`; Italy's `0612345678`).
    pub fn national_number(&self) -> &str {
        &self.national
    }

    /// The extension, if any.
    pub fn extension(&self) -> Option<&Extension> {
        self.extension.as_ref()
    }

    /// The kind of line, as the metadata classifies it.
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The region the number belongs to, or `None` for non-geographic numbers (`+800 ...`).
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// E.164, the extension left out: `+19259249500`.
    pub fn e164(&self) -> String {
        let mut out = String::with_capacity(1 + 3 + self.national.len());
        out.push('+');
        out.push_str(&self.country_code.to_string());
        out.push_str(&self.national);
        out
    }

    /// Libphonenumber's international format, extension included: `+1 925-924-9500 ext. 292`.
    pub fn international(&self) -> String {
        self.formatted(true)
    }

    /// Libphonenumber's national format, extension included: `(925) 924-9500 ext. 292`.
    pub fn national(&self) -> String {
        self.formatted(false)
    }

    fn formatted(&self, international: bool) -> String {
        // Libphonenumber formats digit extensions only; others are appended as stored.
        let digit_extension = self
            .extension
            .as_ref()
            .map(Extension::as_str)
            .filter(|e| e.bytes().all(|b| b.is_ascii_digit()));
        let mut text = metadata::format(
            self.country_code,
            &self.national,
            digit_extension,
            international,
        );
        if let (Some(extension), None) = (&self.extension, digit_extension) {
            text.push_str(" ext. ");
            text.push_str(extension.as_str());
        }
        text
    }

    /// The product's stored format: `1 9259249500 292`, or `91 9876543210` without extension.
    pub fn stored(&self) -> String {
        self.to_string()
    }

    /// The fields the PhoneFactor direct protocol sends for this number.
    pub fn wire_fields(&self) -> WireFields {
        WireFields {
            country_code: self.country_code.to_string(),
            phonenumber: self.national.to_string(),
            extension: self
                .extension
                .as_ref()
                .and_then(|e| filter_extension(e.as_str())),
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.country_code, self.national)?;
        if let Some(extension) = &self.extension {
            write!(f, " {extension}")?;
        }
        Ok(())
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    /// Reads the stored format, as [`PhoneNumber::parse_stored`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_stored(s)
    }
}

impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_stored(&text).map_err(serde::de::Error::custom)
    }
}
