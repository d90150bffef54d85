//! The PhoneFactor wire fields of a number (`countryCode`, `phonenumber`, `@extension`).

/// A number as the PhoneFactor direct protocol sends it: the `countryCode` element, the
/// digits-only `phonenumber` element and its `extension` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireFields {
    /// The country calling code, 1 to 3 digits (`1`).
    pub country_code: String,
    /// The national number, digits only (`9259249500`).
    pub phonenumber: String,
    /// The extension filtered to `0-9 * # ,` with one leading `@` kept; `None` when nothing is
    /// left, so the attribute is omitted.
    pub extension: Option<String>,
}

/// Keeps only the characters the service accepts in an extension, and one leading `@`.
pub(crate) fn filter_extension(extension: &str) -> Option<String> {
    let (at, body) = match extension.strip_prefix('@') {
        Some(body) => ("@", body),
        None => ("", extension),
    };
    let kept: String = body
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | ','))
        .collect();
    (!kept.is_empty()).then(|| format!("{at}{kept}"))
}

#[cfg(test)]
mod tests {
    use super::filter_extension;

    #[test]
    fn filter_keeps_dialable_characters_and_one_leading_at() {
        assert_eq!(filter_extension("@,,292#").as_deref(), Some("@,,292#"));
        assert_eq!(filter_extension("x 2-9*2").as_deref(), Some("29*2"));
        assert_eq!(filter_extension("2@92").as_deref(), Some("292"));
        assert_eq!(filter_extension("@@1").as_deref(), Some("@1"));
    }

    #[test]
    fn filter_drops_an_extension_with_nothing_dialable() {
        assert_eq!(filter_extension(""), None);
        assert_eq!(filter_extension("@"), None);
        assert_eq!(filter_extension("ext"), None);
    }
}
