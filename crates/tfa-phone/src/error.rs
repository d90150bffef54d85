//! The one error type of the crate.

/// Why a phone number was rejected, naming the part at fault.
///
/// Messages are lower-case sentences that quote the offending value, so a bulk check can show
/// them to an operator as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The input was empty or only white space.
    #[error("empty phone number")]
    Empty,
    /// The country code of a stored number is not 1 to 3 digits without a leading zero.
    #[error("country code {code:?} is not 1 to 3 digits")]
    BadCountryCode {
        /// The country-code part as written.
        code: String,
    },
    /// No country uses this calling code.
    #[error("unknown country code +{code}")]
    UnknownCountryCode {
        /// The calling code as read from the input.
        code: String,
    },
    /// Free-form input without `+` or an international prefix, and no default region to read it
    /// in.
    #[error("no country code in {input:?}: write it as +<country code> or give a default region")]
    MissingCountryCode {
        /// The input as given.
        input: String,
    },
    /// A stored number has a country code but nothing after it.
    #[error("stored number {input:?} has no number after the country code")]
    MissingNumber {
        /// The input as given.
        input: String,
    },
    /// A stored number has more than the three parts `<country code> <number> [<extension>]`.
    #[error(
        "stored number {input:?} has {parts} parts; expected <country code> <number> [<extension>]"
    )]
    TooManyParts {
        /// The input as given.
        input: String,
        /// How many space-separated parts it has.
        parts: usize,
    },
    /// The number part holds something other than digits and the separators `-.()/`.
    #[error("{number:?} is not a phone number")]
    NotANumber {
        /// The number part (or the whole input for free-form text).
        number: String,
    },
    /// The national number is shorter than any number of its country.
    #[error("number {number} is too short for country code +{country_code}")]
    TooShort {
        /// The country calling code.
        country_code: u16,
        /// The national number's digits.
        number: String,
    },
    /// The national number is longer than any number of its country.
    #[error("number {number} is too long for country code +{country_code}")]
    TooLong {
        /// The country calling code.
        country_code: u16,
        /// The national number's digits.
        number: String,
    },
    /// The digits have a plausible length but match no number range of the country.
    #[error("{number} is not a valid number for country code +{country_code}")]
    InvalidForRegion {
        /// The country calling code.
        country_code: u16,
        /// The national number's digits.
        number: String,
    },
    /// The extension holds characters the phone service cannot dial, or is too long.
    #[error(
        "extension {extension:?} may hold only digits, '*', '#' and ',' after an optional leading '@', at most 32 characters"
    )]
    BadExtension {
        /// The extension as written.
        extension: String,
    },
    /// A region code that is not an ISO 3166 alpha-2 code known to the numbering metadata.
    #[error("unknown region {region:?}: expected a two-letter code such as US or GB")]
    UnknownRegion {
        /// The region code as written.
        region: String,
    },
    /// A valid premium-rate number: the product refuses to call these (a call would cost money
    /// and is the usual shape of toll fraud).
    #[error("{e164} is a premium-rate number, which is refused")]
    PremiumRateRefused {
        /// The number in E.164 form.
        e164: String,
    },
}
