//! The agent's SOAP 1.1 Web Service SDK messages (spec §5.3–5.5), both directions.

use super::pfd_response::{Malformed, bad, parse_status};
use super::xml::{Element, XmlWriter};
use crate::status::CallStatus;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The default service namespace (the ASMX default; the real one is unknown).
pub const DEFAULT_NAMESPACE: &str = "http://tempuri.org/";

/// Which of the `PfAuthUser` operations to call (they take the same inputs, spec §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PfAuthUserVersion {
    /// `PfAuthUser` (the default).
    #[default]
    Plain,
    /// `PfAuthUser_4`.
    V4,
    /// `PfAuthUser_5`.
    V5,
}

impl PfAuthUserVersion {
    /// The operation name.
    pub fn operation(self) -> &'static str {
        match self {
            Self::Plain => "PfAuthUser",
            Self::V4 => "PfAuthUser_4",
            Self::V5 => "PfAuthUser_5",
        }
    }

    /// The version for an operation name, if it is one of them.
    pub fn from_operation(name: &str) -> Option<Self> {
        match name {
            "PfAuthUser" => Some(Self::Plain),
            "PfAuthUser_4" => Some(Self::V4),
            "PfAuthUser_5" => Some(Self::V5),
            _ => None,
        }
    }
}

/// The inputs of `PfAuthUser` and its variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfAuthUserArgs {
    /// The PhoneFactor username on the agent.
    pub username: String,
    /// `initiatingAuthenticationType`, sent by name (`pfsdk` by default).
    pub initiating_type: String,
    /// The end user's IP address, or empty.
    pub ip_address: String,
    /// `applicationName`, default empty.
    pub application_name: String,
    /// `asynchronous`; our client always sends `false`.
    pub asynchronous: bool,
}

impl PfAuthUserArgs {
    /// Arguments for a user with our client's defaults (`pfsdk`, no IP, no application name).
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            initiating_type: "pfsdk".into(),
            ip_address: String::new(),
            application_name: String::new(),
            asynchronous: false,
        }
    }
}

/// A SOAP request to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoapRequest {
    /// `TestSecurity`: a connection and credentials check.
    TestSecurity,
    /// `PfAuthUser` or a variant: place a call for a user.
    PfAuthUser {
        /// Which operation.
        version: PfAuthUserVersion,
        /// Its inputs.
        args: PfAuthUserArgs,
    },
}

/// `SOAPAction` for an operation: `"<ns><Op>"` with a `/` added to `ns` if missing, quoted.
pub fn soap_action(namespace: &str, operation: &str) -> String {
    let slash = if namespace.ends_with('/') { "" } else { "/" };
    format!("\"{namespace}{slash}{operation}\"")
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn envelope(w: &mut XmlWriter) {
    w.declaration();
    w.start(
        "soap:Envelope",
        &[
            ("xmlns:soap", SOAP_ENV_NS),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
        ],
    );
    w.start("soap:Body", &[]);
}

fn close_envelope(w: &mut XmlWriter) {
    w.end("soap:Body");
    w.end("soap:Envelope");
}

/// The first element child of `soap:Body`.
fn body_child(root: &Element) -> Result<&Element, Malformed> {
    if root.name != "Envelope" {
        return Err(Malformed::WrongRoot {
            found: root.name.clone(),
        });
    }
    let body = root
        .child("Body")
        .ok_or(Malformed::Missing("Envelope/Body"))?;
    body.children
        .first()
        .ok_or(Malformed::Missing("a child of Body"))
}

impl SoapRequest {
    /// The operation name (`TestSecurity`, `PfAuthUser`, ...).
    pub fn operation(&self) -> &'static str {
        match self {
            Self::TestSecurity => "TestSecurity",
            Self::PfAuthUser { version, .. } => version.operation(),
        }
    }

    /// Encodes the request, document/literal wrapped in namespace `namespace`.
    pub fn encode(&self, namespace: &str) -> Vec<u8> {
        let mut w = XmlWriter::new();
        envelope(&mut w);
        match self {
            Self::TestSecurity => w.empty("TestSecurity", &[("xmlns", namespace)]),
            Self::PfAuthUser { version, args } => {
                let op = version.operation();
                w.start(op, &[("xmlns", namespace)]);
                w.text_element("username", &[], &args.username);
                w.text_element("initiatingAuthenticationType", &[], &args.initiating_type);
                w.text_element("ipAddress", &[], &args.ip_address);
                w.text_element("applicationName", &[], &args.application_name);
                w.text_element("asynchronous", &[], bool_text(args.asynchronous));
                w.end(op);
            }
        }
        close_envelope(&mut w);
        w.finish()
    }

    /// Reads a request as the simulator does: dispatch on the local name of the first Body
    /// child, namespaces ignored, inputs by local name, trimmed; missing optional inputs are
    /// empty or `false`.
    pub fn decode(input: &[u8]) -> Result<Self, SoapRequestError> {
        let root = Element::parse(input).map_err(|e| SoapRequestError::Malformed(e.to_string()))?;
        let op = body_child(&root).map_err(|e| SoapRequestError::Malformed(e.to_string()))?;
        if op.name == "TestSecurity" {
            return Ok(Self::TestSecurity);
        }
        let Some(version) = PfAuthUserVersion::from_operation(&op.name) else {
            return Err(SoapRequestError::UnknownOperation(op.name.clone()));
        };
        let text = |name: &str| op.child(name).map(|e| e.trimmed().to_owned());
        let username = text("username").ok_or(SoapRequestError::MissingInput("username"))?;
        let asynchronous =
            text("asynchronous").is_some_and(|a| a.eq_ignore_ascii_case("true") || a == "1");
        Ok(Self::PfAuthUser {
            version,
            args: PfAuthUserArgs {
                username,
                initiating_type: text("initiatingAuthenticationType").unwrap_or_default(),
                ip_address: text("ipAddress").unwrap_or_default(),
                application_name: text("applicationName").unwrap_or_default(),
                asynchronous,
            },
        })
    }
}

/// Why the simulator cannot act on a SOAP request (each is a `soap:Client` fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SoapRequestError {
    /// Not well-formed XML, not an envelope, or no Body child.
    #[error("malformed SOAP request: {0}")]
    Malformed(String),
    /// The Body holds an operation the service does not implement.
    #[error("unknown operation {0}")]
    UnknownOperation(String),
    /// A required input is missing.
    #[error("the request has no {0}")]
    MissingInput(&'static str),
}

/// `{Code, Description}`, as `callResult` and `error` carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDescription {
    /// `Code`.
    pub code: i64,
    /// `Description`.
    pub description: String,
}

impl CodeDescription {
    /// A code with its description.
    pub fn new(code: i64, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// The outputs of `PfAuthUser` and its variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfAuthUserResult {
    /// `<Op>Result`: `true` only when authenticated.
    pub result: bool,
    /// `callResult`: the §3 status and its description.
    pub call_result: CodeDescription,
    /// `authenticationRequestId`, for logs.
    pub authentication_request_id: String,
    /// `error`: 0 on success, 12 on denial, simulator-local 1001–1003.
    pub error: CodeDescription,
}

impl PfAuthUserResult {
    /// `callResult.Code` as a status (only meaningful once decoded, which checks the range).
    pub fn call_status(&self) -> CallStatus {
        CallStatus(u16::try_from(self.call_result.code).unwrap_or(0))
    }
}

/// `faultcode`, without its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultCode {
    /// `soap:Client`: the request was at fault.
    Client,
    /// `soap:Server`: the service failed.
    Server,
    /// Any other code, as received.
    Other(String),
}

/// A `soap:Fault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `faultcode`.
    pub code: FaultCode,
    /// `faultstring`.
    pub message: String,
}

/// A SOAP reply from the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoapResponse {
    /// `TestSecurityResult` (`secure` when all is well).
    TestSecurity(String),
    /// The outputs of a `PfAuthUser` operation.
    PfAuthUser {
        /// Which operation answered.
        version: PfAuthUserVersion,
        /// Its outputs.
        result: PfAuthUserResult,
    },
    /// A fault (sent with HTTP 500).
    Fault(SoapFault),
}

impl SoapResponse {
    /// Encodes the reply as the simulator sends it, in namespace `namespace`.
    pub fn encode(&self, namespace: &str) -> Vec<u8> {
        let mut w = XmlWriter::new();
        envelope(&mut w);
        match self {
            Self::TestSecurity(result) => {
                w.start("TestSecurityResponse", &[("xmlns", namespace)]);
                w.text_element("TestSecurityResult", &[], result);
                w.end("TestSecurityResponse");
            }
            Self::PfAuthUser { version, result } => {
                let op = version.operation();
                let response = format!("{op}Response");
                w.start(&response, &[("xmlns", namespace)]);
                w.text_element(&format!("{op}Result"), &[], bool_text(result.result));
                code_description(&mut w, "callResult", &result.call_result);
                w.text_element(
                    "authenticationRequestId",
                    &[],
                    &result.authentication_request_id,
                );
                code_description(&mut w, "error", &result.error);
                w.end(&response);
            }
            Self::Fault(fault) => {
                w.start("soap:Fault", &[]);
                let code = match &fault.code {
                    FaultCode::Client => "soap:Client",
                    FaultCode::Server => "soap:Server",
                    FaultCode::Other(c) => c,
                };
                w.text_element("faultcode", &[], code);
                w.text_element("faultstring", &[], &fault.message);
                w.end("soap:Fault");
            }
        }
        close_envelope(&mut w);
        w.finish()
    }

    /// Decodes a reply strictly for the request that was sent: an envelope whose Body holds
    /// either a `Fault` or `<Op>Response` for that operation with every output; `Result=true`
    /// only with a status that may approve.
    pub fn decode(input: &[u8], request: &SoapRequest) -> Result<Self, Malformed> {
        let root = Element::parse(input).map_err(|e| Malformed::NotXml(e.to_string()))?;
        let child = body_child(&root)?;
        if child.name == "Fault" {
            let code = child
                .child("faultcode")
                .ok_or(Malformed::Missing("Fault/faultcode"))?
                .trimmed();
            let local = code.rsplit(':').next().unwrap_or(code);
            let code = match local {
                "Client" => FaultCode::Client,
                "Server" => FaultCode::Server,
                _ => FaultCode::Other(code.to_owned()),
            };
            let message = child
                .child("faultstring")
                .map(|s| s.trimmed().to_owned())
                .unwrap_or_default();
            return Ok(Self::Fault(SoapFault { code, message }));
        }
        let op = request.operation();
        if child.name.strip_suffix("Response") != Some(op) {
            return Err(Malformed::WrongRoot {
                found: child.name.clone(),
            });
        }
        let result = child
            .child(&format!("{op}Result"))
            .ok_or(Malformed::Missing("<Op>Result"))?;
        match request {
            SoapRequest::TestSecurity => Ok(Self::TestSecurity(result.trimmed().to_owned())),
            SoapRequest::PfAuthUser { version, .. } => {
                let approved = match result.trimmed() {
                    v if v.eq_ignore_ascii_case("true") => true,
                    v if v.eq_ignore_ascii_case("false") => false,
                    v => return Err(bad("<Op>Result", v)),
                };
                let call = child
                    .child("callResult")
                    .ok_or(Malformed::Missing("callResult"))?;
                let call_code = call
                    .child("Code")
                    .ok_or(Malformed::Missing("callResult/Code"))?;
                let status = parse_status(&call_code.text)
                    .ok_or_else(|| bad("callResult/Code", &call_code.text))?;
                if approved && !status.approvable().may_approve() {
                    return Err(Malformed::ApprovedWithStatus(status));
                }
                let error = child.child("error").ok_or(Malformed::Missing("error"))?;
                let error_code = error
                    .child("Code")
                    .ok_or(Malformed::Missing("error/Code"))?;
                let error_code = error_code
                    .trimmed()
                    .parse::<i64>()
                    .map_err(|_| bad("error/Code", &error_code.text))?;
                let description = |e: &Element| {
                    e.child("Description")
                        .map(|d| d.trimmed().to_owned())
                        .unwrap_or_default()
                };
                Ok(Self::PfAuthUser {
                    version: *version,
                    result: PfAuthUserResult {
                        result: approved,
                        call_result: CodeDescription::new(
                            i64::from(status.code()),
                            description(call),
                        ),
                        authentication_request_id: child
                            .child("authenticationRequestId")
                            .map(|r| r.trimmed().to_owned())
                            .unwrap_or_default(),
                        error: CodeDescription::new(error_code, description(error)),
                    },
                })
            }
        }
    }
}

fn code_description(w: &mut XmlWriter, name: &str, cd: &CodeDescription) {
    w.start(name, &[]);
    w.text_element("Code", &[], &cd.code.to_string());
    w.text_element("Description", &[], &cd.description);
    w.end(name);
}
