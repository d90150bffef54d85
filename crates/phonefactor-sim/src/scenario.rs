//! What a scripted phone does when it rings (spec §6.2), and how each action ends a call.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use phonefactor::CallStatus;
use phonefactor::wire::PinValue;

use crate::error::SimError;

/// What a phone does when the simulator calls it (spec §6.2).
///
/// Written in files and the control API as `pound`, `pin:4821`, `digits-no-pound:12`,
/// `silence`, `hang-up`, `fraud`, `invalid-input`, `busy`, `no-answer`, `not-in-service`,
/// `carrier-failure` or `manual` (`voicemail` is read as `silence`).
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scenario {
    /// Answers and presses `#` (status 2). The default for unscripted phones.
    Pound,
    /// Answers, keys these digits, then `#` (status 1). `0` alone is the fraud code.
    Pin(String),
    /// Keys these digits but never `#` (status 3).
    DigitsNoPound(String),
    /// Answers and presses nothing, as voicemail does (status 4).
    Silence,
    /// Answers and hangs up without a key (status 108).
    HangUp,
    /// Keys the fraud code `0` and `#` (status 112); blocks the user and the number.
    Fraud,
    /// Keys `*` inside the PIN, or answers with fax tones (status 12).
    InvalidInput,
    /// The line is busy (status 102).
    Busy,
    /// Nobody answers (status 102).
    NoAnswer,
    /// The number is not in service (status 102).
    NotInService,
    /// The carrier cannot place the call (status 117).
    CarrierFailure,
    /// Rings until someone answers it by hand (control API, web page or
    /// [`SimHandle::answer`](crate::SimHandle::answer)); rings out as `no-answer` after the
    /// simulator's manual ring time.
    Manual,
}

// PIN digits are secrets: never shown in Debug.
impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pin(_) => f.write_str("Pin(..)"),
            Self::DigitsNoPound(_) => f.write_str("DigitsNoPound(..)"),
            other => write!(f, "{other}"),
        }
    }
}

impl fmt::Display for Scenario {
    /// The scenario's name as written in files; digits are written out, so only use this for
    /// files and the control API, not for logs (use `Debug` there).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pound => f.write_str("pound"),
            Self::Pin(d) => write!(f, "pin:{d}"),
            Self::DigitsNoPound(d) => write!(f, "digits-no-pound:{d}"),
            Self::Silence => f.write_str("silence"),
            Self::HangUp => f.write_str("hang-up"),
            Self::Fraud => f.write_str("fraud"),
            Self::InvalidInput => f.write_str("invalid-input"),
            Self::Busy => f.write_str("busy"),
            Self::NoAnswer => f.write_str("no-answer"),
            Self::NotInService => f.write_str("not-in-service"),
            Self::CarrierFailure => f.write_str("carrier-failure"),
            Self::Manual => f.write_str("manual"),
        }
    }
}

impl FromStr for Scenario {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, SimError> {
        let s = s.trim();
        let digits = |d: &str| {
            let d = d.trim();
            if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit() || c == '*') {
                Err(SimError::UnknownScenario(s.to_owned()))
            } else {
                Ok(d.to_owned())
            }
        };
        if let Some(d) = s.strip_prefix("pin:") {
            return Ok(Self::Pin(digits(d)?));
        }
        if let Some(d) = s.strip_prefix("digits-no-pound:") {
            return Ok(Self::DigitsNoPound(digits(d)?));
        }
        Ok(match s {
            "pound" => Self::Pound,
            "silence" | "voicemail" => Self::Silence,
            "hang-up" => Self::HangUp,
            "fraud" => Self::Fraud,
            "invalid-input" => Self::InvalidInput,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "not-in-service" => Self::NotInService,
            "carrier-failure" => Self::CarrierFailure,
            "manual" => Self::Manual,
            _ => return Err(SimError::UnknownScenario(s.to_owned())),
        })
    }
}

impl<'de> serde::Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Scenario {
    /// This scenario after `delay` (the time the phone rings before it acts).
    pub fn after(self, delay: Duration) -> PhoneScript {
        PhoneScript {
            scenario: self,
            delay: Some(delay),
        }
    }
}

/// A scenario and how long the phone rings before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneScript {
    /// What the phone does.
    pub scenario: Scenario,
    /// How long it rings first; `None` is the simulator's default ring delay (1 s unless set).
    pub delay: Option<Duration>,
}

impl From<Scenario> for PhoneScript {
    fn from(scenario: Scenario) -> Self {
        Self {
            scenario,
            delay: None,
        }
    }
}

/// What the service expects the caller to key (spec §2.8).
#[derive(Debug, Clone)]
pub(crate) enum Expectation {
    /// Standard mode: `#` alone approves.
    Standard,
    /// PIN mode: this PIN then `#` approves.
    Pin(PinValue),
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ending {
    pub(crate) status: CallStatus,
    pub(crate) authenticated: bool,
    /// The fraud code was keyed: block the user and the number.
    pub(crate) fraud: bool,
}

impl Ending {
    pub(crate) fn denied(status: CallStatus) -> Self {
        Self {
            status,
            authenticated: false,
            fraud: false,
        }
    }
}

/// The fraud code (spec §4: fraud alerts on, code `0`).
const FRAUD_CODE: &str = "0";

impl Scenario {
    /// How a call ends when the phone does this with fraud alerts off (spec §4): the fraud
    /// code is plain digits, so `0#` is a PIN entry (status 1).
    pub(crate) fn ending_without_fraud_alerts(&self, expect: &Expectation) -> Ending {
        match self {
            Self::Fraud => Self::Pin(FRAUD_CODE.to_owned()).ending_without_fraud_alerts(expect),
            Self::Pin(digits) if digits == FRAUD_CODE => Ending {
                status: CallStatus::PIN_ENTERED,
                authenticated: match expect {
                    Expectation::Standard => false,
                    Expectation::Pin(pin) => pin.matches(digits),
                },
                fraud: false,
            },
            other => other.ending(expect),
        }
    }

    /// How a call ends when the phone does this (spec §6.2; the fraud code is checked before
    /// the PIN, one PIN attempt per call).
    pub(crate) fn ending(&self, expect: &Expectation) -> Ending {
        match self {
            Self::Pound => Ending {
                status: CallStatus::NO_PIN_ENTERED,
                authenticated: matches!(expect, Expectation::Standard),
                fraud: false,
            },
            Self::Pin(digits) if digits == FRAUD_CODE => Self::Fraud.ending(expect),
            Self::Pin(digits) if digits.contains('*') => {
                Ending::denied(CallStatus::INVALID_PHONE_INPUT)
            }
            Self::Pin(digits) => Ending {
                status: CallStatus::PIN_ENTERED,
                authenticated: match expect {
                    Expectation::Standard => false,
                    Expectation::Pin(pin) => pin.matches(digits),
                },
                fraud: false,
            },
            Self::DigitsNoPound(_) => Ending::denied(CallStatus::POUND_NOT_PRESSED),
            Self::Silence => Ending::denied(CallStatus::NO_PHONE_INPUT_TIMEOUT),
            Self::HangUp => Ending::denied(CallStatus::USER_HUNG_UP),
            Self::Fraud => Ending {
                status: CallStatus::FRAUD_CODE_ENTERED,
                authenticated: false,
                fraud: true,
            },
            Self::InvalidInput => Ending::denied(CallStatus::INVALID_PHONE_INPUT),
            Self::Busy | Self::NoAnswer | Self::NotInService | Self::Manual => {
                Ending::denied(CallStatus::CONFIGURATION_ISSUE)
            }
            Self::CarrierFailure => Ending::denied(CallStatus::UNABLE_TO_PLACE_CALL),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn pin(p: &str) -> Expectation {
        Expectation::Pin(PinValue::PlainText(SecretString::from(p.to_owned())))
    }

    #[test]
    fn names_round_trip() {
        for s in [
            "pound",
            "pin:4821",
            "digits-no-pound:12",
            "silence",
            "hang-up",
            "fraud",
            "invalid-input",
            "busy",
            "no-answer",
            "not-in-service",
            "carrier-failure",
            "manual",
        ] {
            assert_eq!(s.parse::<Scenario>().unwrap().to_string(), s);
        }
        assert!("pin:".parse::<Scenario>().is_err());
        assert!("pin:12a".parse::<Scenario>().is_err());
        assert!("ring".parse::<Scenario>().is_err());
    }

    #[test]
    fn debug_hides_the_digits() {
        assert_eq!(format!("{:?}", Scenario::Pin("4821".into())), "Pin(..)");
    }

    #[test]
    fn pound_approves_only_in_standard_mode() {
        let e = Scenario::Pound.ending(&Expectation::Standard);
        assert_eq!((e.status, e.authenticated), (CallStatus(2), true));
        let e = Scenario::Pound.ending(&pin("4821"));
        assert_eq!((e.status, e.authenticated), (CallStatus(2), false));
    }

    #[test]
    fn pin_approves_only_with_the_right_pin_in_pin_mode() {
        let right = Scenario::Pin("4821".into());
        assert!(right.ending(&pin("4821")).authenticated);
        assert!(
            !Scenario::Pin("1111".into())
                .ending(&pin("4821"))
                .authenticated
        );
        let e = right.ending(&Expectation::Standard);
        assert_eq!((e.status, e.authenticated), (CallStatus(1), false));
        let sha = Expectation::Pin(PinValue::sha1(
            &SecretString::from("4821".to_owned()),
            "x9Qa",
        ));
        assert!(right.ending(&sha).authenticated);
    }

    #[test]
    fn fraud_code_is_checked_before_the_pin() {
        let e = Scenario::Pin("0".into()).ending(&pin("0"));
        assert_eq!(
            (e.status, e.authenticated, e.fraud),
            (CallStatus(112), false, true)
        );
    }

    #[test]
    fn without_fraud_alerts_the_fraud_code_is_a_pin_entry() {
        let e = Scenario::Fraud.ending_without_fraud_alerts(&Expectation::Standard);
        assert_eq!(
            (e.status, e.authenticated, e.fraud),
            (CallStatus(1), false, false)
        );
        let e = Scenario::Pound.ending_without_fraud_alerts(&Expectation::Standard);
        assert_eq!((e.status, e.authenticated), (CallStatus(2), true));
    }

    #[test]
    fn star_inside_a_pin_is_invalid_input() {
        assert_eq!(
            Scenario::Pin("48*1".into()).ending(&pin("4821")).status,
            CallStatus(12)
        );
    }

    #[test]
    fn unreachable_phones_give_102_and_carrier_failure_117() {
        for s in [Scenario::Busy, Scenario::NoAnswer, Scenario::NotInService] {
            assert_eq!(s.ending(&Expectation::Standard).status, CallStatus(102));
        }
        assert_eq!(
            Scenario::CarrierFailure
                .ending(&Expectation::Standard)
                .status,
            CallStatus(117)
        );
        assert_eq!(
            Scenario::HangUp.ending(&Expectation::Standard).status,
            CallStatus(108)
        );
        assert_eq!(
            Scenario::Silence.ending(&Expectation::Standard).status,
            CallStatus(4)
        );
        assert_eq!(
            Scenario::DigitsNoPound("12".into())
                .ending(&Expectation::Standard)
                .status,
            CallStatus(3)
        );
    }
}
