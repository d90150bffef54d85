//! The agent's Web Service SDK (spec §5, §6.3): SOAP 1.1 over HTTPS with Basic
//! authentication, keep-alive, on the ASMX paths the real agents used.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use phonefactor::CallStatus;
use phonefactor::wire::{
    CodeDescription, FaultCode, PfAuthUserArgs, PfAuthUserResult, PfAuthUserVersion, SoapFault,
    SoapRequest, SoapRequestError, SoapResponse,
};
use secrecy::ExposeSecret;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use crate::checks::{NumberPolicy, check_number};
use crate::directory::{Access, Accounts, AgentDirectory, AgentUserMode};
use crate::phones::{CallRequest, Dialled, Phones, ServiceMode};
use crate::pki::random_hex;
use crate::scenario::Expectation;
use crate::server::Counter;

/// The paths served (spec §5.1).
pub(crate) const AGENT_PATHS: [&str; 3] = [
    "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx",
    "/PhoneFactorWebServiceSdk/PfWsSdk.asmx",
    "/PfWsSdk.asmx",
];
const MAX_BODY: usize = 1024 * 1024;
const WSDL: &str = include_str!("wsdl.xml");

/// What the agent service shares between connections.
pub(crate) struct AgentService {
    pub(crate) phones: Arc<Phones>,
    pub(crate) accounts: Accounts,
    pub(crate) directory: AgentDirectory,
    pub(crate) namespace: String,
    pub(crate) home_country: String,
    pub(crate) handshakes: Counter,
}

type Body = Full<Bytes>;

/// Serves one connection with HTTP/1.1 keep-alive.
pub(crate) async fn serve(service: Arc<AgentService>, acceptor: TlsAcceptor, tcp: TcpStream) {
    let Ok(Ok(tls)) =
        tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await
    else {
        return;
    };
    service.handshakes.add();
    let svc = hyper::service::service_fn(move |req| {
        let service = Arc::clone(&service);
        async move { Ok::<_, Infallible>(service.handle(req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
        .await;
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn xml(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// The host part of the `Host` header, for the realm.
fn realm_host(req: &Request<()>) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map_or(host, |h| h.trim_start_matches('['))
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"')
        .collect()
}

impl AgentService {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        // Read the body whatever the answer, so the connection stays usable (keep-alive).
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes());
        let req = Request::from_parts(parts, ());
        if !AGENT_PATHS.contains(&req.uri().path()) {
            return empty(StatusCode::NOT_FOUND);
        }
        match self.authenticate(&req) {
            Access::Admin => {}
            Access::NotAdmin => return empty(StatusCode::FORBIDDEN),
            Access::Denied => {
                let mut r = empty(StatusCode::UNAUTHORIZED);
                let challenge = format!("Basic realm=\"{}\"", realm_host(&req));
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                return r;
            }
        }
        let wants_wsdl = req
            .uri()
            .query()
            .is_some_and(|q| q.eq_ignore_ascii_case("wsdl"));
        match *req.method() {
            Method::GET if wants_wsdl => self.wsdl(&req),
            Method::POST => match body {
                Ok(body) => self.soap(&body).await,
                Err(_) => self.fault(FaultCode::Client, "The request body could not be read."),
            },
            _ => {
                let mut r = empty(StatusCode::METHOD_NOT_ALLOWED);
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                r
            }
        }
    }

    fn authenticate(&self, req: &Request<()>) -> Access {
        let Some(value) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Access::Denied;
        };
        let Some((scheme, b64)) = value.trim().split_once(' ') else {
            return Access::Denied;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Access::Denied;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return Access::Denied;
        };
        let decoded = Zeroizing::new(decoded);
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return Access::Denied;
        };
        let Ok(name) = std::str::from_utf8(&decoded[..colon]) else {
            return Access::Denied;
        };
        self.accounts.check(name, &decoded[colon + 1..])
    }

    fn wsdl(&self, req: &Request<()>) -> Response<Body> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let location = format!("https://{host}{}", req.uri().path());
        let ns = quick_xml::escape::escape(self.namespace.as_str());
        let location = quick_xml::escape::escape(location.as_str());
        let doc = WSDL.replace("{NS}", &ns).replace("{LOCATION}", &location);
        xml(StatusCode::OK, doc.into_bytes())
    }

    fn fault(&self, code: FaultCode, message: &str) -> Response<Body> {
        let fault = SoapResponse::Fault(SoapFault {
            code,
            message: message.to_owned(),
        });
        xml(
            StatusCode::INTERNAL_SERVER_ERROR,
            fault.encode(&self.namespace),
        )
    }

    async fn soap(&self, body: &[u8]) -> Response<Body> {
        let request = match SoapRequest::decode(body) {
            Ok(r) => r,
            Err(SoapRequestError::UnknownOperation(op)) => {
                return self.fault(FaultCode::Client, &format!("Unknown operation {op}."));
            }
            Err(SoapRequestError::MissingInput(input)) => {
                return self.fault(FaultCode::Client, &format!("The request has no {input}."));
            }
            Err(e) => return self.fault(FaultCode::Client, &e.to_string()),
        };
        let response = match request {
            SoapRequest::TestSecurity => SoapResponse::TestSecurity("secure".into()),
            SoapRequest::PfAuthUser { version, args } => SoapResponse::PfAuthUser {
                version,
                result: self.pf_auth_user(version, &args).await,
            },
            _ => return self.fault(FaultCode::Client, "Unsupported operation."),
        };
        xml(StatusCode::OK, response.encode(&self.namespace))
    }

    /// Spec §6.3: async 1003, initiating type 149, unknown 1001, disabled 1002, then §6.1
    /// step 7 (number rules), step 8 (blocked 14, ringing 101) and the call.
    async fn pf_auth_user(
        &self,
        _version: PfAuthUserVersion,
        args: &PfAuthUserArgs,
    ) -> PfAuthUserResult {
        let request_id = random_hex::<16>()
            .map(|h| h.to_uppercase())
            .unwrap_or_default();
        let local = |code: i64, text: &str| PfAuthUserResult {
            result: false,
            call_result: CodeDescription::new(0, CallStatus(0).text()),
            authentication_request_id: request_id.clone(),
            error: CodeDescription::new(code, text),
        };
        let ended = |authenticated: bool, status: CallStatus| PfAuthUserResult {
            result: authenticated,
            call_result: CodeDescription::new(i64::from(status.code()), status.text()),
            authentication_request_id: request_id.clone(),
            error: if authenticated {
                CodeDescription::new(0, "")
            } else {
                CodeDescription::new(12, "Multi-Factor Authentication denied.")
            },
        };
        if args.asynchronous {
            return local(1003, "Asynchronous requests are not supported.");
        }
        if !self
            .directory
            .permits(&args.application_name, &args.initiating_type)
        {
            return ended(false, CallStatus::DIRECT_SDK_NOT_ALLOWED);
        }
        let Some(user) = self.directory.find(&args.username) else {
            return local(1001, "User not found.");
        };
        if !user.enabled {
            return local(1002, "User is disabled.");
        }
        let expect = match (user.mode, &user.pin) {
            (AgentUserMode::Pin, Some(pin)) => {
                Expectation::Pin(phonefactor::wire::PinValue::PlainText(
                    secrecy::SecretString::from(pin.expose_secret().to_owned()),
                ))
            }
            _ => Expectation::Standard,
        };
        let extension = user.extension.clone().filter(|e| !e.trim().is_empty());
        let call = CallRequest {
            mode: ServiceMode::Agent,
            username: args.username.clone(),
            phone: Dialled {
                country_code: user.country_code.trim().to_owned(),
                number: user.phone.trim().to_owned(),
                extension: extension.clone(),
            },
            expect,
        };
        if let Some(status) = check_number(
            &call.phone.country_code,
            &call.phone.number,
            extension.as_deref(),
            NumberPolicy {
                home_country: &self.home_country,
                international_allowed: self.directory.international_allowed(),
                extensions_allowed: true,
            },
        ) {
            self.phones.record_refusal(&call, status);
            return ended(false, status);
        }
        // Step 8: the directory's own block, then fraud blocks and ringing calls in `place`.
        if user.blocked {
            self.phones.record_refusal(&call, CallStatus::USER_BLOCKED);
            return ended(false, CallStatus::USER_BLOCKED);
        }
        let ending = self.phones.place(call).await;
        ended(ending.authenticated, ending.status)
    }
}
