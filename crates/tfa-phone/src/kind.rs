//! What kind of line a number belongs to.

use std::fmt;

/// The kind of line a valid number belongs to, as libphonenumber's metadata classifies it.
///
/// Serialised (and displayed) in lower kebab case: `fixed-line`, `fixed-line-or-mobile`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NumberKind {
    /// A landline.
    FixedLine,
    /// A mobile phone.
    Mobile,
    /// A number the metadata cannot place as either (the NANPA countries, for example).
    FixedLineOrMobile,
    /// Free to the caller.
    TollFree,
    /// Costs the caller more than a normal call; refused by [`PhoneNumber::ensure_callable`](crate::PhoneNumber::ensure_callable).
    PremiumRate,
    /// The cost is split between caller and recipient.
    SharedCost,
    /// Voice over IP.
    Voip,
    /// A personal number that follows its owner to other lines.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A universal access number of a company.
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// No kind: libphonenumber's answer for a number it cannot validate, so a parsed
    /// [`PhoneNumber`](crate::PhoneNumber) never has it.
    Unknown,
}

impl NumberKind {
    /// The kebab-case name used by `Display` and serde (`fixed-line-or-mobile`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FixedLine => "fixed-line",
            Self::Mobile => "mobile",
            Self::FixedLineOrMobile => "fixed-line-or-mobile",
            Self::TollFree => "toll-free",
            Self::PremiumRate => "premium-rate",
            Self::SharedCost => "shared-cost",
            Self::Voip => "voip",
            Self::PersonalNumber => "personal-number",
            Self::Pager => "pager",
            Self::Uan => "uan",
            Self::Voicemail => "voicemail",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
