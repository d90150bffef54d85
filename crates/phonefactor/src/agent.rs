//! Agent mode: SOAP 1.1 to the PhoneFactor agent's Web Service SDK (spec §5) over HTTPS with
//! Basic credentials, kept-alive connections, imported roots and optional pinned certificates.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::Error;
use crate::outcome::{CallOutcome, RejectReason};
use crate::proxy::Proxy;
use crate::status::CallStatus;
use crate::tls::{Fingerprint, Refusal, TrustSettings, TrustVerifier};
use crate::verifier::{PhoneVerifier, VerificationRequest};
use crate::wire::{
    CodeDescription, DEFAULT_NAMESPACE, Malformed, PfAuthUserArgs, PfAuthUserVersion, SoapRequest,
    SoapResponse, soap_action,
};

/// The virtual directory used when the URL has no path (Azure MFA Server's).
pub const DEFAULT_VDIR: &str = "MultiFactorAuthWebServiceSdk";
/// Largest reply read.
const MAX_REPLY: usize = 1024 * 1024;

/// Builds an [`AgentClient`]; see [`AgentClient::builder`].
pub struct AgentClientBuilder {
    url: String,
    username: String,
    password: SecretString,
    namespace: String,
    version: PfAuthUserVersion,
    initiating_type: String,
    application_name: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    proxy: Option<Proxy>,
    trust: TrustSettings,
}

impl fmt::Debug for AgentClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentClientBuilder")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("namespace", &self.namespace)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl AgentClientBuilder {
    /// The service namespace (default `http://tempuri.org/`).
    #[must_use]
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }

    /// Which `PfAuthUser` operation to call (default the unsuffixed one).
    #[must_use]
    pub fn operation(mut self, version: PfAuthUserVersion) -> Self {
        self.version = version;
        self
    }

    /// `initiatingAuthenticationType` (default `pfsdk`).
    #[must_use]
    pub fn initiating_type(mut self, t: impl Into<String>) -> Self {
        self.initiating_type = t.into();
        self
    }

    /// `applicationName` (default empty).
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// TCP connect and handshake limit (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Limit for a whole request (default 120 s: the agent answers when the call ends).
    #[must_use]
    pub fn response_timeout(mut self, t: Duration) -> Self {
        self.response_timeout = t;
        self
    }

    /// Goes through an HTTP proxy (its no-proxy hosts are reached directly).
    #[must_use]
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Trusts the certificates of a PEM (one or a chain) or DER file as roots, as the
    /// product's `importPhoneFactorCert` does.
    #[must_use]
    pub fn add_root_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust.root_files.push(path.into());
        self
    }

    /// Trusts a DER certificate as a root.
    #[must_use]
    pub fn add_root_certificate(mut self, der: Vec<u8>) -> Self {
        self.trust.roots.push(CertificateDer::from(der));
        self
    }

    /// Whether to trust the operating system's roots too (default yes).
    #[must_use]
    pub fn system_roots(mut self, enabled: bool) -> Self {
        self.trust.system_roots = enabled;
        self
    }

    /// Audited exception for agents whose self-signed certificate webpki refuses (CA:TRUE on
    /// the leaf, or no subjectAltName): accept exactly the certificate with this SHA-256
    /// fingerprint, while still checking its validity dates, that it names the host, and
    /// the handshake signature. Logged on every handshake that uses it.
    #[must_use]
    pub fn pin_certificate(mut self, fingerprint: Fingerprint) -> Self {
        self.trust.pins.push(fingerprint);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<AgentClient, Error> {
        let endpoint = endpoint_url(&self.url)?;
        if self.username.trim().is_empty() {
            return Err(Error::InvalidSetting {
                field: "agent user name",
                reason: "it is empty".into(),
            });
        }
        if self.username.contains(':') {
            return Err(Error::InvalidSetting {
                field: "agent user name",
                reason: "it contains ':' which Basic authentication cannot carry".into(),
            });
        }
        let verifier = self.trust.verifier()?;
        let mut config = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(Error::TlsConfig)?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let mut http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .https_only(true)
            .connect_timeout(self.connect_timeout)
            .timeout(self.response_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none());
        http = match &self.proxy {
            Some(p) => {
                let mut rp =
                    reqwest::Proxy::all(format!("http://{}", p.address())).map_err(|_| {
                        Error::InvalidProxy {
                            reason: "the proxy address is not usable",
                        }
                    })?;
                if let Some((user, pass)) = p.user() {
                    rp = rp.basic_auth(user, pass.expose_secret());
                }
                if !p.no_proxy().is_empty() {
                    rp = rp.no_proxy(reqwest::NoProxy::from_string(&p.no_proxy().join(",")));
                }
                http.proxy(rp)
            }
            None => http.no_proxy(),
        };
        let http = http.build().map_err(|e| Error::InvalidSetting {
            field: "agent HTTP client",
            reason: e.to_string(),
        })?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose_secret()
        ));
        Ok(AgentClient {
            inner: Arc::new(Inner {
                http,
                url: endpoint,
                authorization: SecretString::from(format!("Basic {token}")),
                namespace: self.namespace,
                version: self.version,
                initiating_type: self.initiating_type,
                application_name: self.application_name,
                connect_timeout: self.connect_timeout,
                response_timeout: self.response_timeout,
                verifier,
            }),
        })
    }
}

/// §5.1: a path ending in `.asmx` as given; empty or `/` gets the default vdir and
/// `PfWsSdk.asmx`; any other path gets `/PfWsSdk.asmx`. Only https.
pub fn endpoint_url(text: &str) -> Result<Url, Error> {
    let invalid = |reason| Error::InvalidUrl {
        url: text.to_owned(),
        reason,
    };
    let mut url = Url::parse(text.trim()).map_err(|_| invalid("not a URL"))?;
    if url.scheme() != "https" {
        return Err(invalid(
            "only https is allowed (Basic credentials must not travel in clear)",
        ));
    }
    if url.host_str().is_none() {
        return Err(invalid("there is no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not allowed"));
    }
    let path = url.path().to_owned();
    if !path.to_ascii_lowercase().ends_with(".asmx") {
        let base = path.trim_end_matches('/');
        let new = if base.is_empty() {
            format!("/{DEFAULT_VDIR}/PfWsSdk.asmx")
        } else {
            format!("{base}/PfWsSdk.asmx")
        };
        url.set_path(&new);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

struct Inner {
    http: reqwest::Client,
    url: Url,
    authorization: SecretString,
    namespace: String,
    version: PfAuthUserVersion,
    initiating_type: String,
    application_name: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    verifier: Arc<TrustVerifier>,
}

/// Places verification calls through the PhoneFactor agent's Web Service SDK.
///
/// Cheap to clone; clones share the connection pool, so one TLS handshake serves many calls.
#[derive(Clone)]
pub struct AgentClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentClient")
            .field("url", &self.inner.url.as_str())
            .field("operation", &self.inner.version)
            .finish_non_exhaustive()
    }
}

/// What `PfAuthUser` produced, with the agent's details for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAnswer {
    /// How the call ended.
    pub outcome: CallOutcome,
    /// `authenticationRequestId`.
    pub authentication_request_id: String,
    /// `callResult` as the agent sent it.
    pub call_result: CodeDescription,
    /// `error` as the agent sent it.
    pub error: CodeDescription,
}

impl AgentClient {
    /// A builder for the agent at `url` (full `.asmx` URL or base URL), with the account
    /// written `DOMAIN\user` and its password.
    pub fn builder(
        url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> AgentClientBuilder {
        AgentClientBuilder {
            url: url.into(),
            username: username.into(),
            password,
            namespace: DEFAULT_NAMESPACE.into(),
            version: PfAuthUserVersion::Plain,
            initiating_type: "pfsdk".into(),
            application_name: String::new(),
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(120),
            proxy: None,
            trust: TrustSettings::new(),
        }
    }

    /// The endpoint after the §5.1 URL rules.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// How many TLS handshakes this client has made (kept-alive calls make none).
    pub fn tls_handshakes(&self) -> u64 {
        self.inner.verifier.verifications()
    }

    /// `TestSecurity`: `Ok` only when the agent answers `secure`.
    pub async fn test_security(&self) -> Result<(), Error> {
        match self.exchange(&SoapRequest::TestSecurity).await? {
            SoapResponse::TestSecurity(answer) if answer.trim() == "secure" => Ok(()),
            SoapResponse::TestSecurity(answer) => Err(Error::NotSecure { answer }),
            other => Err(self.malformed(unexpected(&other))),
        }
    }

    /// `PfAuthUser` (or the configured variant) for one user; waits for the call to end.
    pub async fn call(&self, request: &VerificationRequest) -> Result<AgentAnswer, Error> {
        let inner = &*self.inner;
        let mut args = PfAuthUserArgs::new(request.username().as_str());
        args.initiating_type = inner.initiating_type.clone();
        args.application_name = inner.application_name.clone();
        args.ip_address = request
            .client_ip()
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let soap = SoapRequest::PfAuthUser {
            version: inner.version,
            args,
        };
        let result = match self.exchange(&soap).await? {
            SoapResponse::PfAuthUser { result, .. } => result,
            other => return Err(self.malformed(unexpected(&other))),
        };
        let status = result.call_status();
        let outcome = if result.result {
            CallOutcome::from_status(true, status)
        } else {
            match (result.error.code, status) {
                (1001, CallStatus(0)) => CallOutcome::Rejected {
                    reason: RejectReason::UnknownUser,
                    status,
                },
                (1002, CallStatus(0)) => CallOutcome::Rejected {
                    reason: RejectReason::UserDisabled,
                    status,
                },
                _ => CallOutcome::from_status(false, status),
            }
        };
        tracing::info!(
            url = %inner.url,
            user = %request.username(),
            request_id = %result.authentication_request_id,
            status = status.code(),
            status_text = %result.call_result.description,
            error_code = result.error.code,
            error = %result.error.description,
            approved = outcome.is_approved(),
            "agent call ended"
        );
        Ok(AgentAnswer {
            outcome,
            authentication_request_id: result.authentication_request_id,
            call_result: result.call_result,
            error: result.error,
        })
    }

    /// The Basic credentials, marked sensitive so no HTTP layer prints them.
    fn authorization_header(&self) -> Result<http::HeaderValue, Error> {
        let mut value = http::HeaderValue::from_str(self.inner.authorization.expose_secret())
            .map_err(|_| Error::InvalidSetting {
                field: "agent credentials",
                reason: "they cannot be sent in an HTTP header".into(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn host(&self) -> String {
        let u = &self.inner.url;
        format!(
            "{}:{}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(443)
        )
    }

    fn malformed(&self, reason: Malformed) -> Error {
        Error::Malformed {
            host: self.host(),
            reason,
        }
    }

    async fn exchange(&self, request: &SoapRequest) -> Result<SoapResponse, Error> {
        let inner = &*self.inner;
        let body = request.encode(&inner.namespace);
        let sent = inner
            .http
            .post(inner.url.clone())
            .header(http::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(
                "SOAPAction",
                soap_action(&inner.namespace, request.operation()),
            )
            .header(http::header::AUTHORIZATION, self.authorization_header()?)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = sent.status().as_u16();
        match status {
            401 => {
                return Err(Error::BadCredentials {
                    url: inner.url.to_string(),
                });
            }
            403 => {
                return Err(Error::NotAuthorised {
                    url: inner.url.to_string(),
                });
            }
            200 | 500 => {}
            other => {
                return Err(Error::HttpStatus {
                    host: self.host(),
                    status: other,
                });
            }
        }
        let mut sent = sent;
        let mut reply = Vec::new();
        while let Some(chunk) = sent.chunk().await.map_err(|e| self.transport_error(e))? {
            reply.extend_from_slice(&chunk);
            if reply.len() > MAX_REPLY {
                return Err(Error::ResponseTooLarge {
                    host: self.host(),
                    limit: MAX_REPLY,
                });
            }
        }
        let decoded = SoapResponse::decode(&reply, request);
        match decoded {
            Ok(SoapResponse::Fault(fault)) => Err(Error::SoapFault {
                code: fault.code,
                message: fault.message,
            }),
            Ok(_) if status == 500 => Err(Error::HttpStatus {
                host: self.host(),
                status,
            }),
            Ok(r) => Ok(r),
            Err(_) if status == 500 => Err(Error::HttpStatus {
                host: self.host(),
                status,
            }),
            Err(reason) => Err(self.malformed(reason)),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        let host = self.host();
        if let Some(refusal) = find_refusal(&e) {
            return Error::CertificateNotTrusted {
                host,
                hint: refusal.hint(),
            };
        }
        if e.is_timeout() {
            if e.is_connect() {
                return Error::ConnectTimeout {
                    host,
                    after: self.inner.connect_timeout,
                };
            }
            return Error::ResponseTimeout {
                host,
                after: self.inner.response_timeout,
            };
        }
        if e.is_connect() {
            if has_rustls_error(&e) {
                return Error::Tls {
                    host,
                    source: std::io::Error::other(e),
                };
            }
            return Error::Connect {
                host,
                source: std::io::Error::other(e),
            };
        }
        Error::OutcomeUnknown {
            host,
            source: Box::new(e),
        }
    }
}

fn unexpected(r: &SoapResponse) -> Malformed {
    Malformed::WrongRoot {
        found: match r {
            SoapResponse::TestSecurity(_) => "TestSecurityResponse".into(),
            SoapResponse::PfAuthUser { version, .. } => format!("{}Response", version.operation()),
            SoapResponse::Fault(_) => "Fault".into(),
        },
    }
}

fn sources<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

fn find_refusal(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    sources(e).find_map(|s| {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        if let Some(found) = s
            .downcast_ref::<std::io::Error>()
            .and_then(crate::tls::refusal_of)
        {
            return Some(found);
        }
        match s.downcast_ref::<rustls::Error>() {
            Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o))) => {
                o.0.downcast_ref::<Refusal>().cloned()
            }
            _ => None,
        }
    })
}

fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    sources(e).any(|s| s.downcast_ref::<rustls::Error>().is_some())
}

#[async_trait]
impl PhoneVerifier for AgentClient {
    async fn verify(&self, request: &VerificationRequest) -> Result<CallOutcome, Error> {
        self.call(request).await.map(|a| a.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_rules_follow_the_spec() {
        let u = |s| endpoint_url(s).map(|u| u.to_string());
        assert_eq!(
            u("https://mfa.corp.example").unwrap(),
            "https://mfa.corp.example/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
        );
        assert_eq!(
            u("https://mfa.corp.example/PhoneFactorWebServiceSdk/").unwrap(),
            "https://mfa.corp.example/PhoneFactorWebServiceSdk/PfWsSdk.asmx"
        );
        assert_eq!(
            u("https://h:8443/x/PfWsSdk.asmx").unwrap(),
            "https://h:8443/x/PfWsSdk.asmx"
        );
        assert!(u("http://localhost:4898/PfWsSdk.asmx").is_err());
        assert!(u("https://u:p@h/").is_err());
    }
}
