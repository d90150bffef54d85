//! The call-status numbers both modes report (spec §3), with their names, display texts and
//! whether an approval may accompany them.

use std::fmt;

/// Whether `authenticated=yes` (or `<Op>Result=true`) may accompany a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Approvable {
    /// Never: the status always means the user is not authenticated.
    Never,
    /// Always: the status itself is a success (cache, bypass, app, OATH...).
    Always,
    /// Only for a PIN-mode user who keyed the right PIN (status 1).
    PinModeOnly,
    /// Only for a standard-mode user who pressed `#` alone (status 2).
    StandardModeOnly,
}

impl Approvable {
    /// Whether an approval with this status is consistent at all.
    pub fn may_approve(self) -> bool {
        !matches!(self, Self::Never)
    }
}

/// A raw call-status number as reported by the service (`callStatus`, `callResult/Code`).
///
/// Every number is representable, known or not; [`CallStatus::name`] and
/// [`CallStatus::text`] give the spec's name and display text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallStatus(pub u16);

struct Row {
    code: u16,
    name: &'static str,
    text: &'static str,
    approvable: Approvable,
}

const fn row(code: u16, name: &'static str, text: &'static str, approvable: Approvable) -> Row {
    Row {
        code,
        name,
        text,
        approvable,
    }
}

use Approvable::{Always, Never, PinModeOnly, StandardModeOnly};

/// Spec §3, in number order. Texts are the Java SDK's display strings where it has one,
/// otherwise the name in words.
const TABLE: &[Row] = &[
    row(0, "UNKNOWN", "Unknown", Never),
    row(1, "PIN_ENTERED", "PIN Entered", PinModeOnly),
    row(2, "NO_PIN_ENTERED", "No PIN Entered", StandardModeOnly),
    row(3, "POUND_NOT_PRESSED", "# Not Pressed After Entry", Never),
    row(
        4,
        "NO_PHONE_INPUT_TIMEOUT",
        "No Phone Input - Timed Out",
        Never,
    ),
    row(5, "PIN_EXPIRED", "PIN Expired and Not Changed", Never),
    row(6, "USED_CACHE", "Used Cache", Always),
    row(7, "SUCCESS_BYPASSED_AUTH", "Success Bypassed Auth", Always),
    row(
        8,
        "SUCCESS_USED_IP_BASED_CACHE",
        "Success Used IP Based Cache",
        Always,
    ),
    row(
        9,
        "SUCCESS_USED_APP_BASED_CACHE",
        "Success Used App Based Cache",
        Always,
    ),
    row(10, "DISCONNECTED", "Call Disconnected", Never),
    row(11, "TIMED_OUT", "Call Timed Out", Never),
    row(12, "INVALID_PHONE_INPUT", "Invalid Phone Input", Never),
    row(13, "GOT_VOICEMAIL", "Got Voicemail", Never),
    row(14, "USER_BLOCKED", "User is Blocked", Never),
    row(
        15,
        "SUCCESS_STATUS_PENDING",
        "Success Status Pending",
        Never,
    ),
    row(16, "VOICEPRINT_SUCCESS", "Voiceprint Success", Always),
    row(17, "VOICEPRINT_ENROLLED", "Voiceprint Enrolled", Always),
    row(
        18,
        "VOICEPRINT_EXPIRED",
        "Voiceprint Expired And Not Changed",
        Never,
    ),
    row(19, "SMS_AUTHENTICATED", "SMS Authenticated", Always),
    row(20, "SMS_SENT", "SMS Sent", Never),
    row(
        21,
        "PHONE_APP_AUTHENTICATED",
        "Phone App Authenticated",
        Always,
    ),
    row(22, "OATH_CODE_PENDING", "OATH Code Pending", Never),
    row(23, "OATH_CODE_VERIFIED", "OATH Code Verified", Always),
    row(
        24,
        "FALLBACK_OATH_CODE_VERIFIED",
        "Fallback OATH Code Verified",
        Always,
    ),
    row(
        25,
        "FALLBACK_SECURITY_QUESTIONS_ANSWERED",
        "Fallback Security Questions Answered",
        Always,
    ),
    row(100, "INVALID_PHONE_NUMBER", "Invalid Phone Number", Never),
    row(101, "PHONE_BUSY", "Call Already In Progress", Never),
    row(102, "CONFIGURATION_ISSUE", "Phone Unreachable", Never),
    row(
        103,
        "INTERNATIONAL_CALLS_NOT_ALLOWED",
        "International Calls Not Allowed",
        Never,
    ),
    row(104, "PIN_MODE_NOT_ALLOWED", "PIN Mode Not Allowed", Never),
    row(105, "ACCOUNT_LOCKED", "Account Locked", Never),
    row(106, "INVALID_MESSAGE", "Invalid Message", Never),
    row(
        107,
        "INVALID_PHONE_NUMBER_FORMAT",
        "Invalid Phone Number Format",
        Never,
    ),
    row(108, "USER_HUNG_UP", "User Hung Up the Phone", Never),
    row(109, "INSUFFICIENT_BALANCE", "Insufficient Balance", Never),
    row(
        110,
        "EXTENSIONS_NOT_ALLOWED",
        "Extensions Not Allowed",
        Never,
    ),
    row(111, "INVALID_EXTENSION", "Invalid Extension", Never),
    row(
        112,
        "FRAUD_CODE_ENTERED",
        "User entered the fraud code",
        Never,
    ),
    row(
        113,
        "ROLLOVER_NOT_ALLOWED",
        "Call rollover feature is not allowed",
        Never,
    ),
    row(
        114,
        "RETURN_PIN_NOT_ALLOWED",
        "Return PIN Not Allowed",
        Never,
    ),
    row(
        115,
        "EVENT_CONFIRMATION_NOT_ALLOWED",
        "Event Confirmation Not Allowed",
        Never,
    ),
    row(
        116,
        "INVALID_EVENT_PARAMETER",
        "Invalid Event Parameter",
        Never,
    ),
    row(117, "UNABLE_TO_PLACE_CALL", "Unable To Place Call", Never),
    row(118, "VOICEPRINT_FAILED", "Voiceprint Failed", Never),
    row(
        119,
        "VOICEPRINT_MODE_NOT_ALLOWED",
        "Voiceprint Mode Not Allowed",
        Never,
    ),
    row(120, "SMS_NOT_SENT", "SMS Not Sent", Never),
    row(121, "SMS_NOT_RECEIVED", "No SMS Reply Received", Never),
    row(122, "SMS_OTP_INCORRECT", "SMS OTP Incorrect", Never),
    row(123, "SMS_OTP_PIN_INCORRECT", "SMS OTP PIN Incorrect", Never),
    row(124, "SMS_MODE_NOT_ALLOWED", "SMS Mode Not Allowed", Never),
    row(
        125,
        "LOCALIZATION_NOT_ALLOWED",
        "Localization Not Allowed",
        Never,
    ),
    row(
        126,
        "USER_LICENSES_EXCEEDED",
        "User Licenses Exceeded",
        Never,
    ),
    row(
        127,
        "SMS_USER_LICENSES_EXCEEDED",
        "SMS User Licenses Exceeded",
        Never,
    ),
    row(
        128,
        "VOICEPRINT_USER_LICENSES_EXCEEDED",
        "Voiceprint User Licenses Exceeded",
        Never,
    ),
    row(129, "PHONE_APP_DENIED", "Phone App Denied", Never),
    row(130, "PHONE_APP_INVALID_PIN", "Phone App Invalid PIN", Never),
    row(
        131,
        "PHONE_APP_PIN_NOT_CHANGED",
        "Phone App PIN Not Changed",
        Never,
    ),
    row(132, "FRAUD_REPORTED", "Fraud Reported", Never),
    row(133, "PHONE_APP_NO_RESPONSE", "Phone App No Response", Never),
    row(
        134,
        "PHONE_APP_MODE_NOT_ALLOWED",
        "Phone App Mode Not Allowed",
        Never,
    ),
    row(
        135,
        "PHONE_APP_ALL_DEVICES_BLOCKED",
        "Phone App All Devices Blocked",
        Never,
    ),
    row(
        136,
        "PHONE_APP_NOTIFICATION_FAILED",
        "Phone App Notification Failed",
        Never,
    ),
    row(
        137,
        "PHONE_APP_INVALID_RESULT",
        "Phone App Invalid Result",
        Never,
    ),
    row(138, "OATH_CODE_INCORRECT", "OATH Code Incorrect", Never),
    row(139, "OATH_CODE_DUPLICATE", "OATH Code Duplicate", Never),
    row(140, "OATH_CODE_OLD", "OATH Code Old", Never),
    row(
        141,
        "OATH_TOKEN_MODE_NOT_ALLOWED",
        "OATH Token Mode Not Allowed",
        Never,
    ),
    row(142, "OATH_TOKEN_TIMEOUT", "OATH Token Timeout", Never),
    row(
        143,
        "SECURITY_QUESTIONS_TIMEOUT",
        "Security Questions Timeout",
        Never,
    ),
    row(144, "AUTH_RESULT_TIMEOUT", "Auth Result Timeout", Never),
    row(
        146,
        "FAILED_SMS_MAX_OTP_RETRY_REACHED",
        "Failed SMS Max OTP Retry Reached",
        Never,
    ),
    row(
        147,
        "FAILED_OATH_CODE_PIN_INCORRECT",
        "Failed OATH Code PIN Incorrect",
        Never,
    ),
    row(
        149,
        "DIRECT_SDK_NOT_ALLOWED",
        "Direct SDK Not Allowed",
        Never,
    ),
    row(
        150,
        "FAILED_AUTHENTICATION_THROTTLED",
        "Failed Authentication Throttled",
        Never,
    ),
];

macro_rules! consts {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl CallStatus {
            $($(#[$doc])* pub const $name: CallStatus = CallStatus($code);)*
        }
    };
}

consts! {
    /// 0: no result (used with `disposition=fail`).
    UNKNOWN = 0;
    /// 1: digits, then `#`.
    PIN_ENTERED = 1;
    /// 2: `#` alone.
    NO_PIN_ENTERED = 2;
    /// 3: digits without `#`.
    POUND_NOT_PRESSED = 3;
    /// 4: answered, nothing pressed.
    NO_PHONE_INPUT_TIMEOUT = 4;
    /// 5: PIN expired and not changed.
    PIN_EXPIRED = 5;
    /// 6: a recent success was reused.
    USED_CACHE = 6;
    /// 7: one-time bypass.
    SUCCESS_BYPASSED_AUTH = 7;
    /// 8: cache by IP.
    SUCCESS_USED_IP_BASED_CACHE = 8;
    /// 9: cache by application.
    SUCCESS_USED_APP_BASED_CACHE = 9;
    /// 10: call disconnected.
    DISCONNECTED = 10;
    /// 11: call timed out.
    TIMED_OUT = 11;
    /// 12: `*` inside a PIN, or fax tones.
    INVALID_PHONE_INPUT = 12;
    /// 13: got voicemail.
    GOT_VOICEMAIL = 13;
    /// 14: the user is blocked.
    USER_BLOCKED = 14;
    /// 15: an asynchronous request has started.
    SUCCESS_STATUS_PENDING = 15;
    /// 100: invalid phone number.
    INVALID_PHONE_NUMBER = 100;
    /// 101: a call for this user is already in progress.
    PHONE_BUSY = 101;
    /// 102: busy, not in service or no answer.
    CONFIGURATION_ISSUE = 102;
    /// 103: a foreign number and international calls not allowed.
    INTERNATIONAL_CALLS_NOT_ALLOWED = 103;
    /// 104: PIN mode not allowed for the account.
    PIN_MODE_NOT_ALLOWED = 104;
    /// 105: account locked.
    ACCOUNT_LOCKED = 105;
    /// 106: a malformed request.
    INVALID_MESSAGE = 106;
    /// 107: the number is not numeric or has the wrong length.
    INVALID_PHONE_NUMBER_FORMAT = 107;
    /// 108: answered, then hung up.
    USER_HUNG_UP = 108;
    /// 109: insufficient balance.
    INSUFFICIENT_BALANCE = 109;
    /// 110: extensions refused.
    EXTENSIONS_NOT_ALLOWED = 110;
    /// 111: the extension breaks the rule.
    INVALID_EXTENSION = 111;
    /// 112: the fraud code was entered.
    FRAUD_CODE_ENTERED = 112;
    /// 113: the backup phone was refused.
    ROLLOVER_NOT_ALLOWED = 113;
    /// 114: returnPin mode not allowed.
    RETURN_PIN_NOT_ALLOWED = 114;
    /// 117: a carrier or service failure.
    UNABLE_TO_PLACE_CALL = 117;
    /// 119: voiceprint mode not allowed.
    VOICEPRINT_MODE_NOT_ALLOWED = 119;
    /// 124: SMS mode not allowed.
    SMS_MODE_NOT_ALLOWED = 124;
    /// 132: fraud reported from the phone app.
    FRAUD_REPORTED = 132;
    /// 134: phone-app mode not allowed.
    PHONE_APP_MODE_NOT_ALLOWED = 134;
    /// 149: the agent refused this initiating authentication type.
    DIRECT_SDK_NOT_ALLOWED = 149;
}

impl CallStatus {
    fn row(self) -> Option<&'static Row> {
        TABLE
            .binary_search_by_key(&self.0, |r| r.code)
            .ok()
            .and_then(|i| TABLE.get(i))
    }

    /// The raw number.
    pub fn code(self) -> u16 {
        self.0
    }

    /// The spec's name (`FRAUD_CODE_ENTERED`), if the number is known.
    pub fn name(self) -> Option<&'static str> {
        self.row().map(|r| r.name)
    }

    /// The display text for logs and operators; `"Unknown"` for a number not in the table,
    /// as the Java SDK shows.
    pub fn text(self) -> &'static str {
        self.row().map_or("Unknown", |r| r.text)
    }

    /// Whether an approval may accompany this status (unknown numbers: never).
    pub fn approvable(self) -> Approvable {
        self.row().map_or(Approvable::Never, |r| r.approvable)
    }

    /// Whether the number is in the spec's table.
    pub fn is_known(self) -> bool {
        self.row().is_some()
    }

    /// Every known status, in number order.
    pub fn all_known() -> impl Iterator<Item = CallStatus> {
        TABLE.iter().map(|r| CallStatus(r.code))
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.text())
    }
}

impl From<u16> for CallStatus {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique_so_lookups_work() {
        assert!(TABLE.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(TABLE.len(), 75);
    }

    #[test]
    fn texts_follow_the_java_sdk_and_unknown_numbers_say_unknown() {
        assert_eq!(CallStatus(112).text(), "User entered the fraud code");
        assert_eq!(CallStatus(149).text(), "Direct SDK Not Allowed");
        assert_eq!(CallStatus(103).text(), "International Calls Not Allowed");
        assert_eq!(CallStatus(145).text(), "Unknown");
        assert_eq!(CallStatus(145).name(), None);
        assert_eq!(CallStatus(2).name(), Some("NO_PIN_ENTERED"));
    }

    #[test]
    fn only_success_statuses_may_approve() {
        let approving: Vec<u16> = CallStatus::all_known()
            .filter(|s| s.approvable().may_approve())
            .map(CallStatus::code)
            .collect();
        assert_eq!(approving, [1, 2, 6, 7, 8, 9, 16, 17, 19, 21, 23, 24, 25]);
        assert_eq!(CallStatus(1).approvable(), Approvable::PinModeOnly);
        assert_eq!(CallStatus(2).approvable(), Approvable::StandardModeOnly);
        assert_eq!(CallStatus(999).approvable(), Approvable::Never);
    }
}
