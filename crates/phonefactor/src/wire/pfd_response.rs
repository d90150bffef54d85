//! The PFD response (spec §2.10): encoded as the simulator sends it, decoded strictly as our
//! client reads it (the "client parse rules", failing closed).

use std::fmt;

use super::xml::{Element, XmlWriter};
use crate::status::CallStatus;

/// A PFD reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfdResponse {
    /// `response/@request-id`, echoed from the request.
    pub request_id: String,
    /// What the service answered.
    pub result: PfdResult,
}

/// `status/@disposition` and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PfdResult {
    /// `disposition="fail"`: the service did not act on the request.
    Fail {
        /// `status/error-id`.
        error_id: i64,
        /// `status/message`.
        message: String,
    },
    /// `disposition="success"`: the call ended (or was refused) with this result.
    Success(AuthenticationResponse),
}

/// `authenticationResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResponse {
    /// `authenticated`: `true` only for `yes`.
    pub authenticated: bool,
    /// `callStatus`.
    pub call_status: CallStatus,
    /// `otp`, for one-way SMS (never used by our client).
    pub otp: Option<String>,
    /// `userEnteredPin/enteredPin`, for returnPin mode (never used by our client).
    pub entered_pin: Option<String>,
}

impl AuthenticationResponse {
    /// A result without `otp` or `enteredPin`.
    pub fn new(authenticated: bool, call_status: CallStatus) -> Self {
        Self {
            authenticated,
            call_status,
            otp: None,
            entered_pin: None,
        }
    }
}

/// What was wrong with a reply that our client refuses to read (spec §2.10 rules 1–4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not well-formed XML (truncated, bad syntax, not UTF-8).
    NotXml(String),
    /// The root element is not the expected one.
    WrongRoot {
        /// The root's local name.
        found: String,
    },
    /// A required element is missing (named by its path).
    Missing(&'static str),
    /// `response/@request-id` differs from the id sent.
    RequestIdMismatch {
        /// The id sent.
        expected: String,
        /// The id received.
        found: String,
    },
    /// A value is not what the field allows.
    BadValue {
        /// The field, by path.
        field: &'static str,
        /// The value received (trimmed, at most 64 characters).
        found: String,
    },
    /// `authenticated=yes` with a status that never approves.
    ApprovedWithStatus(CallStatus),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotXml(why) => write!(f, "the reply is not XML: {why}"),
            Self::WrongRoot { found } => write!(f, "the reply's root element is {found}"),
            Self::Missing(path) => write!(f, "the reply has no {path}"),
            Self::RequestIdMismatch { expected, found } => {
                write!(f, "the reply is for request {found:?}, not {expected:?}")
            }
            Self::BadValue { field, found } => write!(f, "the reply's {field} is {found:?}"),
            Self::ApprovedWithStatus(s) => {
                write!(
                    f,
                    "the reply approves with status {s}, which never approves"
                )
            }
        }
    }
}

pub(crate) fn bad(field: &'static str, found: &str) -> Malformed {
    Malformed::BadValue {
        field,
        found: found.trim().chars().take(64).collect(),
    }
}

impl PfdResponse {
    /// Encodes the reply as the simulator sends it: `version="1.2"`, the header naming
    /// `host_ip` and `pfd-sim`, `error-id` and `message` inside `status`, no declaration.
    pub fn encode(&self, host_ip: &str) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.start("pfpMessage", &[("version", "1.2")]);
        w.start("header", &[]);
        w.start("source", &[]);
        w.start("component", &[("type", "pfd")]);
        w.empty("host", &[("ip", host_ip), ("hostname", "pfd-sim")]);
        w.end("component");
        w.end("source");
        w.end("header");
        w.start("response", &[("request-id", &self.request_id)]);
        match &self.result {
            PfdResult::Fail { error_id, message } => {
                w.start("status", &[("disposition", "fail")]);
                w.text_element("error-id", &[], &error_id.to_string());
                w.text_element("message", &[], message);
                w.end("status");
            }
            PfdResult::Success(r) => {
                w.empty("status", &[("disposition", "success")]);
                w.start("authenticationResponse", &[]);
                w.text_element(
                    "authenticated",
                    &[],
                    if r.authenticated { "yes" } else { "no" },
                );
                w.text_element("callStatus", &[], &r.call_status.code().to_string());
                if let Some(otp) = &r.otp {
                    w.text_element("otp", &[], otp);
                }
                if let Some(pin) = &r.entered_pin {
                    w.start("userEnteredPin", &[]);
                    w.text_element("enteredPin", &[], pin);
                    w.end("userEnteredPin");
                }
                w.end("authenticationResponse");
            }
        }
        w.end("response");
        w.end("pfpMessage");
        w.finish()
    }

    /// Decodes a reply strictly (spec §2.10 client parse rules 1–4): root `pfpMessage`, a
    /// `response` child whose `@request-id` equals `expected_request_id`, a known disposition,
    /// an integer `error-id` on failure, `authenticated` and an integer `callStatus` on
    /// success, and no approval with a status that never approves.
    pub fn decode(input: &[u8], expected_request_id: &str) -> Result<Self, Malformed> {
        let root = Element::parse(input).map_err(|e| Malformed::NotXml(e.to_string()))?;
        if root.name != "pfpMessage" {
            return Err(Malformed::WrongRoot { found: root.name });
        }
        let response = root
            .child("response")
            .ok_or(Malformed::Missing("pfpMessage/response"))?;
        let request_id = response
            .attr("request-id")
            .ok_or(Malformed::Missing("response/@request-id"))?
            .trim();
        if request_id != expected_request_id {
            return Err(Malformed::RequestIdMismatch {
                expected: expected_request_id.to_owned(),
                found: request_id.chars().take(64).collect(),
            });
        }
        let status = response
            .child("status")
            .ok_or(Malformed::Missing("response/status"))?;
        let disposition = status
            .attr("disposition")
            .ok_or(Malformed::Missing("status/@disposition"))?
            .trim();
        let result = match disposition {
            "fail" => {
                // Java looks for these anywhere under `response`; the simulator puts them in
                // `status`.
                let id = response
                    .descendant("error-id")
                    .ok_or(Malformed::Missing("status/error-id"))?;
                let error_id = id
                    .trimmed()
                    .parse::<i64>()
                    .map_err(|_| bad("status/error-id", &id.text))?;
                let message = response
                    .descendant("message")
                    .map(|m| m.trimmed().to_owned())
                    .unwrap_or_default();
                PfdResult::Fail { error_id, message }
            }
            "success" => {
                let auth = response
                    .child("authenticationResponse")
                    .ok_or(Malformed::Missing("response/authenticationResponse"))?;
                let authenticated = auth
                    .child("authenticated")
                    .ok_or(Malformed::Missing("authenticationResponse/authenticated"))?;
                let authenticated = match authenticated.trimmed() {
                    v if v.eq_ignore_ascii_case("yes") => true,
                    v if v.eq_ignore_ascii_case("no") => false,
                    v => return Err(bad("authenticationResponse/authenticated", v)),
                };
                let status = auth
                    .child("callStatus")
                    .ok_or(Malformed::Missing("authenticationResponse/callStatus"))?;
                let call_status = parse_status(&status.text)
                    .ok_or_else(|| bad("authenticationResponse/callStatus", &status.text))?;
                if authenticated && !call_status.approvable().may_approve() {
                    return Err(Malformed::ApprovedWithStatus(call_status));
                }
                PfdResult::Success(AuthenticationResponse {
                    authenticated,
                    call_status,
                    otp: auth.child("otp").map(|o| o.trimmed().to_owned()),
                    entered_pin: auth
                        .child("userEnteredPin")
                        .and_then(|u| u.child("enteredPin"))
                        .map(|p| p.trimmed().to_owned()),
                })
            }
            other => return Err(bad("status/@disposition", other)),
        };
        Ok(Self {
            request_id: request_id.to_owned(),
            result,
        })
    }
}

/// A status number: ASCII digits only (after trimming), fitting `u16`.
pub(crate) fn parse_status(text: &str) -> Option<CallStatus> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u16>().ok().map(CallStatus)
}
