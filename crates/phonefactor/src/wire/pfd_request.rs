//! The PFD `authenticationRequest` (spec §2.7–2.9): encoded as our client sends it, decoded
//! leniently as the simulator reads it.

use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::xml::{Element, XmlWriter};

/// What `authenticationRequest/@mode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthMode {
    /// A phone call (`voice`, the default).
    #[default]
    Voice,
    /// A text message (`sms`); our client never sends it.
    Sms,
    /// The phone app (`phoneApp`); our client never sends it.
    PhoneApp,
}

impl AuthMode {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Sms => "sms",
            Self::PhoneApp => "phoneApp",
        }
    }
}

/// A PIN as sent in `pinInfo/pin`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PinValue {
    /// `pinFormat="plainText"`: the digits themselves (a secret).
    PlainText(SecretString),
    /// `pinFormat="sha1"`: lower-case hex SHA-1 of the PIN followed by the salt.
    Sha1 {
        /// The hex digest (a secret: it identifies the PIN).
        digest: SecretString,
        /// The salt, sent as `@sha1Salt`.
        salt: String,
    },
}

impl PinValue {
    /// The `sha1` form of a PIN with this salt (spec §2.8: hex SHA-1 of PIN + salt).
    pub fn sha1(pin: &SecretString, salt: &str) -> Self {
        let mut h = Sha1::new();
        h.update(pin.expose_secret().as_bytes());
        h.update(salt.as_bytes());
        Self::Sha1 {
            digest: SecretString::from(hex(&h.finalize())),
            salt: salt.to_owned(),
        }
    }

    /// Whether the digits a caller keyed match this PIN, compared in constant time.
    pub fn matches(&self, keyed: &str) -> bool {
        match self {
            Self::PlainText(pin) => {
                let pin = pin.expose_secret();
                let digits: String = pin.chars().filter(char::is_ascii_digit).collect();
                bool::from(digits.as_bytes().ct_eq(keyed.as_bytes()))
            }
            Self::Sha1 { digest, salt } => {
                let mut h = Sha1::new();
                h.update(keyed.as_bytes());
                h.update(salt.as_bytes());
                let ours = hex(&h.finalize());
                let theirs = digest.expose_secret().to_ascii_lowercase();
                bool::from(ours.as_bytes().ct_eq(theirs.as_bytes()))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `pinInfo/@pinMode` and what goes with it (spec §2.8).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum PinMode {
    /// The user presses `#` (our client's default).
    #[default]
    Standard,
    /// The user keys this PIN and `#`.
    Pin {
        /// The expected PIN.
        pin: PinValue,
        /// `userCanChangePin`.
        user_can_change_pin: bool,
    },
    /// `returnPin`: the service returns the digits (our client never sends it).
    ReturnPin,
    /// `voiceprint` (our client never sends it).
    Voiceprint,
}

/// One PFD `authenticationRequest` with everything its envelope carries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthenticationRequest {
    /// `request/@request-id`, echoed in the reply. Our client sends a decimal counter.
    pub request_id: String,
    /// `header/.../host/@ip`.
    pub host_ip: String,
    /// `header/.../host/@hostname`.
    pub host_name: String,
    /// `customer/licenseKey`.
    pub license_key: String,
    /// `customer/groupKey` (empty if absent).
    pub group_key: String,
    /// `@mode`.
    pub mode: AuthMode,
    /// `username` (the PhoneFactor username).
    pub username: String,
    /// `countryCode`: 1–3 digits.
    pub country_code: String,
    /// `phonenumber` text: digits only.
    pub phone_number: String,
    /// `phonenumber/@extension`, `None` when absent or empty.
    pub extension: Option<String>,
    /// `phonenumber/@userCanChangePhone`.
    pub user_can_change_phone: bool,
    /// `allowInternationalCalls`.
    pub allow_international_calls: bool,
    /// `applicationName`.
    pub application_name: String,
    /// `userInfo/userGroup`, sent only when set.
    pub user_group: Option<String>,
    /// `pinInfo`.
    pub pin_mode: PinMode,
    /// `request/@language` as read (PHP/C# only; our client does not send it).
    pub language: String,
}

/// Why an encoded request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The username contains a control character (no XML 1.0 document can carry most of them).
    #[error("the username contains a control character")]
    ControlCharacterInUsername,
    /// A field our client refuses to send (see the field name).
    #[error("the request field {field} cannot be sent: {reason}")]
    Unsupported {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Keeps what the service allows in an extension: `0-9 * # ,`, and one leading `@`
/// (Java's filter drops `@`; ours keeps it, spec §2.9). `None` when nothing is left.
pub fn filter_extension(raw: &str) -> Option<String> {
    let (at, rest) = match raw.trim().strip_prefix('@') {
        Some(rest) => ("@", rest),
        None => ("", raw.trim()),
    };
    let kept: String = rest
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | ','))
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(format!("{at}{kept}"))
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl AuthenticationRequest {
    /// A standard-mode voice request with our client's defaults (spec §2.7): host
    /// `255.255.255.255`, empty group key and application name, no extension, nothing
    /// international, `userCanChangePhone="no"`.
    pub fn new(
        request_id: impl Into<String>,
        license_key: impl Into<String>,
        username: impl Into<String>,
        country_code: impl Into<String>,
        phone_number: impl Into<String>,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            host_ip: "255.255.255.255".into(),
            host_name: String::new(),
            license_key: license_key.into(),
            group_key: String::new(),
            mode: AuthMode::Voice,
            username: username.into(),
            country_code: country_code.into(),
            phone_number: phone_number.into(),
            extension: None,
            user_can_change_phone: false,
            allow_international_calls: false,
            application_name: String::new(),
            user_group: None,
            pin_mode: PinMode::Standard,
            language: "en".into(),
        }
    }

    /// Encodes the request as our client sends it: Java's element order, `version="1.2"`,
    /// the username as CDATA, digits-only number, filtered extension, no declaration.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.username.chars().any(char::is_control) {
            return Err(EncodeError::ControlCharacterInUsername);
        }
        match &self.pin_mode {
            PinMode::ReturnPin | PinMode::Voiceprint => {
                return Err(EncodeError::Unsupported {
                    field: "pinInfo/@pinMode",
                    reason: "only standard and pin modes are sent",
                });
            }
            PinMode::Standard | PinMode::Pin { .. } => {}
        }
        if self.mode != AuthMode::Voice {
            return Err(EncodeError::Unsupported {
                field: "authenticationRequest/@mode",
                reason: "only voice calls are sent",
            });
        }
        let digits: String = self
            .phone_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let extension = self.extension.as_deref().and_then(filter_extension);

        let mut w = XmlWriter::new();
        w.start("pfpMessage", &[("version", "1.2")]);
        w.start("header", &[]);
        w.start("source", &[]);
        w.start("component", &[("type", "pfsdk"), ("role", "master")]);
        w.empty(
            "host",
            &[("ip", &self.host_ip), ("hostname", &self.host_name)],
        );
        w.end("component");
        w.end("source");
        w.end("header");
        w.start("request", &[("request-id", &self.request_id)]);
        w.start("authenticationRequest", &[("mode", self.mode.as_str())]);
        w.start("customer", &[]);
        w.text_element("licenseKey", &[], &self.license_key);
        w.text_element("groupKey", &[], &self.group_key);
        w.end("customer");
        w.text_element("authenticationType", &[], "pfsdk");
        w.cdata_element("username", &self.username);
        w.text_element("countryCode", &[], &self.country_code);
        let can_change = yes_no(self.user_can_change_phone);
        match &extension {
            Some(ext) => w.text_element(
                "phonenumber",
                &[("userCanChangePhone", can_change), ("extension", ext)],
                &digits,
            ),
            None => w.text_element(
                "phonenumber",
                &[("userCanChangePhone", can_change)],
                &digits,
            ),
        }
        w.text_element(
            "allowInternationalCalls",
            &[],
            yes_no(self.allow_international_calls),
        );
        w.empty("lockFailures", &[]);
        w.text_element("applicationName", &[], &self.application_name);
        if let Some(group) = &self.user_group {
            w.start("userInfo", &[]);
            w.text_element("userGroup", &[], group);
            w.end("userInfo");
        }
        match &self.pin_mode {
            PinMode::Pin {
                pin,
                user_can_change_pin,
            } => {
                w.start("pinInfo", &[("pinMode", "pin")]);
                match pin {
                    PinValue::PlainText(p) => {
                        let digits: String = p
                            .expose_secret()
                            .chars()
                            .filter(char::is_ascii_digit)
                            .collect();
                        w.text_element(
                            "pin",
                            &[("pinFormat", "plainText"), ("pinChangeRequired", "no")],
                            &digits,
                        );
                    }
                    PinValue::Sha1 { digest, salt } => w.text_element(
                        "pin",
                        &[
                            ("pinFormat", "sha1"),
                            ("sha1Salt", salt),
                            ("pinChangeRequired", "no"),
                        ],
                        &digest.expose_secret().to_ascii_lowercase(),
                    ),
                }
                w.text_element("userCanChangePin", &[], yes_no(*user_can_change_pin));
                w.end("pinInfo");
            }
            _ => w.empty("pinInfo", &[("pinMode", "standard")]),
        }
        w.end("authenticationRequest");
        w.end("request");
        w.end("pfpMessage");
        Ok(w.finish())
    }

    /// Reads a request as the simulator does (spec §2.7 "Simulator reading"): local names,
    /// any order, unknown content ignored, values trimmed, `yes`/`no` in any case, defaults for
    /// optional parts. The error says which §6.1 answer applies.
    pub fn decode(input: &[u8]) -> Result<Self, RequestDecodeError> {
        let root = Element::parse(input).map_err(|e| RequestDecodeError::Malformed {
            request_id: None,
            reason: e.to_string(),
        })?;
        let malformed = |request_id: Option<&str>, reason: &str| RequestDecodeError::Malformed {
            request_id: request_id.map(str::to_owned),
            reason: reason.to_owned(),
        };
        if root.name != "pfpMessage" {
            return Err(malformed(None, "the root element is not pfpMessage"));
        }
        let request = root
            .child("request")
            .ok_or_else(|| malformed(None, "there is no request element"))?;
        let request_id = request.attr("request-id").map(str::trim);
        let Some(inner) = request.children.first() else {
            return Err(malformed(request_id, "the request element is empty"));
        };
        let request_id = request_id
            .ok_or_else(|| malformed(None, "request/@request-id is missing"))?
            .to_owned();
        let unsupported = |what: String| RequestDecodeError::Unsupported {
            request_id: request_id.clone(),
            what,
        };
        let Some(auth) = request.child("authenticationRequest") else {
            return Err(unsupported(format!("request type {}", inner.name)));
        };
        if request
            .attr("async")
            .is_some_and(|a| a.trim() != "0" && !a.trim().is_empty())
        {
            return Err(unsupported("asynchronous requests".into()));
        }
        let text = |e: Option<&Element>| e.map(|e| e.trimmed().to_owned());
        let customer = auth.child("customer");
        let license_key = text(customer.and_then(|c| c.child("licenseKey")));
        let group_key = text(customer.and_then(|c| c.child("groupKey"))).unwrap_or_default();

        let pin_mode = match auth.child("pinInfo") {
            None => PinMode::Standard,
            Some(info) => decode_pin_info(info).map_err(unsupported)?,
        };

        let missing = |field: &'static str| RequestDecodeError::MissingField {
            request_id: request_id.clone(),
            license_key: license_key.clone().unwrap_or_default(),
            group_key: group_key.clone(),
            field,
        };
        let Some(license) = license_key.clone() else {
            return Err(missing("licenseKey"));
        };
        let username = text(auth.child("username")).ok_or_else(|| missing("username"))?;
        let country_code = text(auth.child("countryCode")).ok_or_else(|| missing("countryCode"))?;
        let phone = auth
            .child("phonenumber")
            .ok_or_else(|| missing("phonenumber"))?;
        let mode = match auth.attr("mode").map(str::trim) {
            None | Some("") => AuthMode::Voice,
            Some(m) if m.eq_ignore_ascii_case("voice") => AuthMode::Voice,
            Some(m) if m.eq_ignore_ascii_case("sms") => AuthMode::Sms,
            Some(m) if m.eq_ignore_ascii_case("phoneApp") => AuthMode::PhoneApp,
            Some(other) => return Err(unsupported(format!("mode {other}"))),
        };
        let extension = phone
            .attr("extension")
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        let header_host = root.child("header").and_then(|h| h.descendant("host"));
        Ok(Self {
            request_id,
            host_ip: header_host
                .and_then(|h| h.attr("ip"))
                .unwrap_or_default()
                .trim()
                .to_owned(),
            host_name: header_host
                .and_then(|h| h.attr("hostname"))
                .unwrap_or_default()
                .trim()
                .to_owned(),
            license_key: license,
            group_key,
            mode,
            username,
            country_code,
            phone_number: phone.trimmed().to_owned(),
            extension,
            user_can_change_phone: is_yes(phone.attr("userCanChangePhone")),
            allow_international_calls: is_yes(
                auth.child("allowInternationalCalls").map(Element::trimmed),
            ),
            application_name: text(auth.child("applicationName")).unwrap_or_default(),
            user_group: auth
                .child("userInfo")
                .and_then(|u| u.child("userGroup"))
                .map(|g| g.trimmed().to_owned()),
            pin_mode,
            language: request
                .attr("language")
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or("en")
                .to_owned(),
        })
    }
}

fn is_yes(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
}

fn decode_pin_info(info: &Element) -> Result<PinMode, String> {
    let mode = info.attr("pinMode").map(str::trim).unwrap_or("standard");
    if mode.eq_ignore_ascii_case("standard") || mode.is_empty() {
        return Ok(PinMode::Standard);
    }
    if mode.eq_ignore_ascii_case("returnPin") {
        return Ok(PinMode::ReturnPin);
    }
    if mode.eq_ignore_ascii_case("voiceprint") {
        return Ok(PinMode::Voiceprint);
    }
    if !mode.eq_ignore_ascii_case("pin") {
        return Err(format!("pinMode {mode}"));
    }
    let pin = info.child("pin").ok_or("pin mode without a pin element")?;
    let format = pin.attr("pinFormat").map(str::trim).unwrap_or("plainText");
    let value = if format.eq_ignore_ascii_case("plainText") {
        PinValue::PlainText(SecretString::from(pin.trimmed().to_owned()))
    } else if format.eq_ignore_ascii_case("sha1") {
        PinValue::Sha1 {
            digest: SecretString::from(pin.trimmed().to_owned()),
            salt: pin.attr("sha1Salt").unwrap_or_default().trim().to_owned(),
        }
    } else {
        return Err(format!("pinFormat {format}"));
    };
    Ok(PinMode::Pin {
        pin: value,
        user_can_change_pin: is_yes(info.child("userCanChangePin").map(Element::trimmed)),
    })
}

/// Why the simulator cannot act on a request, and so which §6.1 answer it gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestDecodeError {
    /// Not well-formed, wrong root, no `request`, nothing inside it, or no `@request-id`:
    /// `fail` with error-id 1.
    #[error("malformed request: {reason}")]
    Malformed {
        /// `@request-id` if it could be read, to echo.
        request_id: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// A request other than `authenticationRequest`, `@async="1"`, `pinFormat="pos1"` or
    /// another format or mode nobody implements: error-id 4.
    #[error("unsupported request: {what}")]
    Unsupported {
        /// `@request-id`, to echo.
        request_id: String,
        /// What is not supported.
        what: String,
    },
    /// A required field is missing: status 106 once the license has been checked (§6.1
    /// step 4 comes first, hence the keys).
    #[error("the request has no {field}")]
    MissingField {
        /// `@request-id`, to echo.
        request_id: String,
        /// `customer/licenseKey`, empty if missing.
        license_key: String,
        /// `customer/groupKey`, empty if missing.
        group_key: String,
        /// The missing element.
        field: &'static str,
    },
}

impl RequestDecodeError {
    /// The request id to echo, if one was read.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Malformed { request_id, .. } => request_id.as_deref(),
            Self::Unsupported { request_id, .. } | Self::MissingField { request_id, .. } => {
                Some(request_id)
            }
        }
    }
}
