//! The number and extension rules both services apply before dialling (spec §6.1 step 7).

use phonefactor::CallStatus;

/// What the number rules need to know about the account placing the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumberPolicy<'a> {
    pub(crate) home_country: &'a str,
    pub(crate) international_allowed: bool,
    pub(crate) extensions_allowed: bool,
}

/// Step 7, in the spec's order: 107 (format), 103 (international), 110 · 111 (extension).
pub(crate) fn check_number(
    country_code: &str,
    number: &str,
    extension: Option<&str>,
    policy: NumberPolicy<'_>,
) -> Option<CallStatus> {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(country_code) || country_code.len() > 3 || !all_digits(number) {
        return Some(CallStatus::INVALID_PHONE_NUMBER_FORMAT);
    }
    let length_ok = if country_code == "1" {
        number.len() == 10
    } else {
        (4..=14).contains(&number.len()) && country_code.len() + number.len() <= 15
    };
    if !length_ok {
        return Some(CallStatus::INVALID_PHONE_NUMBER_FORMAT);
    }
    if country_code != policy.home_country && !policy.international_allowed {
        return Some(CallStatus::INTERNATIONAL_CALLS_NOT_ALLOWED);
    }
    if let Some(ext) = extension {
        if !policy.extensions_allowed {
            return Some(CallStatus::EXTENSIONS_NOT_ALLOWED);
        }
        if !valid_extension(ext) {
            return Some(CallStatus::INVALID_EXTENSION);
        }
    }
    None
}

/// Spec §2.9: digits, commas, `*` and `#`, with an optional `@` prefix.
fn valid_extension(ext: &str) -> bool {
    let rest = ext.strip_prefix('@').unwrap_or(ext);
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b',' | b'*' | b'#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: NumberPolicy<'static> = NumberPolicy {
        home_country: "1",
        international_allowed: false,
        extensions_allowed: true,
    };

    fn check(cc: &str, n: &str, ext: Option<&str>, p: NumberPolicy<'_>) -> Option<u16> {
        check_number(cc, n, ext, p).map(CallStatus::code)
    }

    #[test]
    fn country_code_1_needs_exactly_ten_digits() {
        assert_eq!(check("1", "9259249500", None, HOME), None);
        assert_eq!(check("1", "925924950", None, HOME), Some(107));
        assert_eq!(check("1", "92592495001", None, HOME), Some(107));
    }

    #[test]
    fn other_countries_need_4_to_14_digits_and_at_most_15_in_all() {
        let intl = NumberPolicy {
            international_allowed: true,
            ..HOME
        };
        assert_eq!(check("44", "7700900123", None, intl), None);
        assert_eq!(check("44", "770", None, intl), Some(107));
        assert_eq!(check("44", "7700", None, intl), None);
        assert_eq!(check("44", "7700900123456", None, intl), None);
        assert_eq!(check("44", "77009001234567", None, intl), Some(107));
        assert_eq!(check("4", "77009001234567", None, intl), None);
        assert_eq!(check("4", "770090012345678", None, intl), Some(107));
    }

    #[test]
    fn non_digits_are_107_before_international_103() {
        assert_eq!(check("1", "925-924-9500", None, HOME), Some(107));
        assert_eq!(check("+44", "7700900123", None, HOME), Some(107));
        assert_eq!(check("44", "7700900123", None, HOME), Some(103));
    }

    #[test]
    fn extensions_follow_the_rule_and_the_license() {
        assert_eq!(check("1", "9259249500", Some("292"), HOME), None);
        assert_eq!(check("1", "9259249500", Some("@1,,2*#"), HOME), None);
        assert_eq!(check("1", "9259249500", Some("29a"), HOME), Some(111));
        assert_eq!(check("1", "9259249500", Some("@"), HOME), Some(111));
        assert_eq!(check("1", "9259249500", Some("2@9"), HOME), Some(111));
        let no_ext = NumberPolicy {
            extensions_allowed: false,
            ..HOME
        };
        assert_eq!(check("1", "9259249500", Some("292"), no_ext), Some(110));
    }
}
