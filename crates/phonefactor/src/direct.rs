//! Direct mode: the PFD protocol (spec §2) over mutual TLS, one HTTP/1.0 request per
//! connection, with primary and backup hosts and an optional `CONNECT` proxy.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rustls::ClientConfig;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::credentials::DirectCredentials;
use crate::error::Error;
use crate::outcome::CallOutcome;
use crate::progress::{Progress, Tracked};
use crate::proxy::Proxy;
use crate::status::Approvable;
use crate::tls::{TrustSettings, refusal_of};
use crate::verifier::{PhoneVerifier, VerificationRequest};
use crate::wire::{AuthenticationRequest, PfdResponse, PfdResult, PinMode, PinValue};

/// The documented primary endpoint.
pub const DEFAULT_PRIMARY_URL: &str = "https://pfd.phonefactor.net:443/pfd/pfd.pl";
/// The documented backup endpoint.
pub const DEFAULT_BACKUP_URL: &str = "https://pfd2.phonefactor.net/pfd/pfd.pl";
/// Largest reply read (the Java SDK allows 16 MiB; a real reply is a few hundred bytes).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Buffer growth step while reading a reply (a PFD reply is about 500 bytes, head included;
/// the buffer waits as long as the phone rings).
const READ_SIZE: usize = 1024;

/// How a direct-mode PIN is sent.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum PinFormat {
    /// `plainText`: the digits.
    #[default]
    PlainText,
    /// `sha1`: hex SHA-1 of the PIN and this salt.
    Sha1 {
        /// The salt sent as `@sha1Salt`.
        salt: String,
    },
}

/// Builds a [`DirectClient`]; see [`DirectClient::builder`].
#[derive(Debug)]
pub struct DirectClientBuilder {
    credentials: DirectCredentials,
    primary: String,
    backup: Option<String>,
    trust: TrustSettings,
    connect_timeout: Duration,
    handshake_timeout: Duration,
    response_timeout: Duration,
    proxy: Option<Proxy>,
    host_ip: String,
    host_name: Option<String>,
    application_name: String,
    allow_international_calls: bool,
    user_group: Option<String>,
    pin_format: PinFormat,
    max_connecting: usize,
}

impl DirectClientBuilder {
    /// The primary endpoint (default [`DEFAULT_PRIMARY_URL`]).
    #[must_use]
    pub fn primary_url(mut self, url: impl Into<String>) -> Self {
        self.primary = url.into();
        self
    }

    /// The backup endpoint (default [`DEFAULT_BACKUP_URL`]).
    #[must_use]
    pub fn backup_url(mut self, url: impl Into<String>) -> Self {
        self.backup = Some(url.into());
        self
    }

    /// No backup endpoint: never fail over.
    #[must_use]
    pub fn no_backup(mut self) -> Self {
        self.backup = None;
        self
    }

    /// Adds the certificates of a PEM (one or a chain) or DER file to the trusted roots;
    /// read and checked by [`build`](Self::build).
    #[must_use]
    pub fn add_root_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust.root_files.push(path.into());
        self
    }

    /// Adds a DER certificate to the trusted roots.
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

    /// Turns off Java's check that the server certificate's subject is
    /// `CN=<name>.phonefactor.net`, for a self-hosted service. Chain and host-name
    /// verification stay on.
    #[must_use]
    pub fn self_hosted_service(mut self) -> Self {
        self.trust.phonefactor_cn = false;
        self
    }

    /// TCP connect limit (default 10 s), also used for the proxy tunnel.
    #[must_use]
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// TLS handshake limit (default 10 s).
    #[must_use]
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// Limit from sending the request to the end of the reply (default 90 s: the reply comes
    /// when the call ends).
    #[must_use]
    pub fn response_timeout(mut self, t: Duration) -> Self {
        self.response_timeout = t;
        self
    }

    /// Goes through an HTTP proxy with `CONNECT`.
    #[must_use]
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// `host/@ip` sent in the header (default `255.255.255.255`).
    #[must_use]
    pub fn host_ip(mut self, ip: impl Into<String>) -> Self {
        self.host_ip = ip.into();
        self
    }

    /// `host/@hostname` sent in the header (default: this machine's name).
    #[must_use]
    pub fn host_name(mut self, name: impl Into<String>) -> Self {
        self.host_name = Some(name.into());
        self
    }

    /// `applicationName`, shown in the provider's reports (default empty).
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// `allowInternationalCalls` (default no).
    #[must_use]
    pub fn allow_international_calls(mut self, allow: bool) -> Self {
        self.allow_international_calls = allow;
        self
    }

    /// `userInfo/userGroup` (sent only when set).
    #[must_use]
    pub fn user_group(mut self, group: impl Into<String>) -> Self {
        self.user_group = Some(group.into());
        self
    }

    /// How PINs are sent when a request carries one (default `plainText`).
    #[must_use]
    pub fn pin_format(mut self, format: PinFormat) -> Self {
        self.pin_format = format;
        self
    }

    /// How many connections may be in setup (TCP connect, proxy tunnel, TLS handshake) at
    /// once (default 32). Calls already sent are not limited: they ring concurrently. A burst
    /// of logins then reaches the service at the rate it can complete handshakes instead of
    /// overflowing its accept queue, and most handshakes resume a TLS session (the client
    /// keeps up to 64 session tickets per host). With a remote service each setup takes about
    /// two round trips, so this also bounds the burst rate: raise it for very busy sites.
    #[must_use]
    pub fn max_concurrent_connects(mut self, n: usize) -> Self {
        self.max_connecting = n;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<DirectClient, Error> {
        if self.max_connecting == 0 {
            return Err(Error::InvalidSetting {
                field: "max_concurrent_connects",
                reason: "must be at least 1".into(),
            });
        }
        let mut hosts = vec![Endpoint::parse(&self.primary)?];
        if let Some(backup) = &self.backup {
            hosts.push(Endpoint::parse(backup)?);
        }
        for t in [
            self.connect_timeout,
            self.handshake_timeout,
            self.response_timeout,
        ] {
            if t.is_zero() {
                return Err(Error::InvalidSetting {
                    field: "timeout",
                    reason: "must be more than zero".into(),
                });
            }
        }
        let verifier = self.trust.verifier()?;
        let mut config = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(Error::TlsConfig)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(ClientCert(self.credentials.certified_key())));
        config.resumption =
            rustls::client::Resumption::store(Arc::new(crate::tls::SessionTickets::default()));
        Ok(DirectClient {
            inner: Arc::new(Inner {
                connector: TlsConnector::from(Arc::new(config)),
                license_key: self.credentials.license().license_key().to_owned(),
                group_key: self.credentials.license().group_key().to_owned(),
                hosts,
                current: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
                connect_timeout: self.connect_timeout,
                handshake_timeout: self.handshake_timeout,
                response_timeout: self.response_timeout,
                proxy: self.proxy,
                host_ip: self.host_ip,
                host_name: self.host_name.unwrap_or_else(machine_name),
                application_name: self.application_name,
                allow_international_calls: self.allow_international_calls,
                user_group: self.user_group,
                pin_format: self.pin_format,
                connecting: tokio::sync::Semaphore::new(self.max_connecting),
            }),
        })
    }
}

fn machine_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Always offers our one client certificate.
#[derive(Debug)]
struct ClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    host: String,
    port: u16,
    path: String,
    server_name: ServerName<'static>,
}

impl Endpoint {
    fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidUrl {
            url: text.to_owned(),
            reason,
        };
        let url = Url::parse(text).map_err(|_| invalid("not a URL"))?;
        if url.scheme() != "https" {
            return Err(invalid("only https is allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid("there is no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| invalid("the host is not a valid name"))?;
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(Self {
            url: url.to_string(),
            port: url.port_or_known_default().unwrap_or(443),
            host,
            path,
            server_name,
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `Host` as Java sends it: the name, with the port only when it is not 443.
    fn host_header(&self) -> String {
        if self.port == 443 {
            self.host.clone()
        } else {
            self.authority()
        }
    }
}

struct Inner {
    connector: TlsConnector,
    license_key: String,
    group_key: String,
    hosts: Vec<Endpoint>,
    current: AtomicUsize,
    next_id: AtomicU64,
    connect_timeout: Duration,
    handshake_timeout: Duration,
    response_timeout: Duration,
    proxy: Option<Proxy>,
    host_ip: String,
    host_name: String,
    application_name: String,
    allow_international_calls: bool,
    user_group: Option<String>,
    pin_format: PinFormat,
    connecting: tokio::sync::Semaphore,
}

/// Places verification calls with the PFD protocol over mutual TLS.
///
/// Cheap to clone; clones share the request counter and the remembered host.
#[derive(Clone)]
pub struct DirectClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DirectClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectClient")
            .field(
                "hosts",
                &self.inner.hosts.iter().map(|h| &h.url).collect::<Vec<_>>(),
            )
            .field("proxy", &self.inner.proxy)
            .finish_non_exhaustive()
    }
}

/// What a direct-mode call produced, with the details for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectAnswer {
    /// How the call ended.
    pub outcome: CallOutcome,
    /// The request id sent and echoed.
    pub request_id: String,
    /// The endpoint that answered.
    pub url: String,
}

impl DirectClient {
    /// A builder from checked credentials (see [`DirectCredentials::from_license_dir`]).
    pub fn builder(credentials: DirectCredentials) -> DirectClientBuilder {
        DirectClientBuilder {
            credentials,
            primary: DEFAULT_PRIMARY_URL.into(),
            backup: Some(DEFAULT_BACKUP_URL.into()),
            trust: TrustSettings {
                phonefactor_cn: true,
                ..TrustSettings::new()
            },
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(90),
            proxy: None,
            host_ip: "255.255.255.255".into(),
            host_name: None,
            application_name: String::new(),
            allow_international_calls: false,
            user_group: None,
            pin_format: PinFormat::PlainText,
            max_connecting: 32,
        }
    }

    /// A builder from a license directory (`license.xml` and `cert.p12` with `password`,
    /// or `cert.pem` with `pkey.der`/`pkey.pem`).
    pub fn from_license_dir(
        dir: impl AsRef<Path>,
        password: &SecretString,
    ) -> Result<DirectClientBuilder, Error> {
        Ok(Self::builder(DirectCredentials::from_license_dir(
            dir, password,
        )?))
    }

    /// The endpoint that will be tried first (the one that last worked).
    pub fn current_url(&self) -> &str {
        let i = self.inner.current.load(Ordering::Relaxed);
        self.inner
            .hosts
            .get(i)
            .or_else(|| self.inner.hosts.first())
            .map_or("", |h| h.url.as_str())
    }

    /// Places one call and returns the outcome with its request id and endpoint.
    pub async fn call(&self, request: &VerificationRequest) -> Result<DirectAnswer, Error> {
        let inner = &*self.inner;
        let phone = request.phone().ok_or_else(|| Error::MissingPhoneNumber {
            username: request.username().to_string(),
        })?;
        let wire = phone.wire_fields();
        let request_id = inner.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let mut message = AuthenticationRequest::new(
            request_id.clone(),
            inner.license_key.clone(),
            request.username().as_str(),
            wire.country_code,
            wire.phonenumber,
        );
        message.group_key = inner.group_key.clone();
        message.extension = wire.extension;
        message.host_ip = inner.host_ip.clone();
        message.host_name = inner.host_name.clone();
        message.application_name = inner.application_name.clone();
        message.allow_international_calls = inner.allow_international_calls;
        message.user_group = inner.user_group.clone();
        let pin_mode_used = request.pin().is_some();
        if let Some(pin) = request.pin() {
            message.pin_mode = PinMode::Pin {
                pin: match &inner.pin_format {
                    PinFormat::PlainText => PinValue::PlainText(pin.clone()),
                    PinFormat::Sha1 { salt } => PinValue::sha1(pin, salt),
                },
                user_can_change_pin: false,
            };
        }
        let body = message.encode().map_err(Error::Encode)?;

        let first = inner.current.load(Ordering::Relaxed) % inner.hosts.len().max(1);
        let mut order = vec![first];
        if inner.hosts.len() > 1 {
            order.push(1 - first.min(1));
        }
        let mut last_err = None;
        for (attempt, &index) in order.iter().enumerate() {
            let Some(endpoint) = inner.hosts.get(index) else {
                continue;
            };
            match self.exchange(endpoint, &body).await {
                Ok(reply) => {
                    inner.current.store(index, Ordering::Relaxed);
                    let outcome = interpret(&reply, &request_id, endpoint, pin_mode_used)?;
                    tracing::info!(
                        url = %endpoint.url,
                        request_id = %request_id,
                        user = %request.username(),
                        status = outcome.status().code(),
                        status_text = outcome.status_text(),
                        approved = outcome.is_approved(),
                        "direct-mode call ended"
                    );
                    return Ok(DirectAnswer {
                        outcome,
                        request_id,
                        url: endpoint.url.clone(),
                    });
                }
                Err(e) if may_fail_over(&e) && attempt + 1 < order.len() => {
                    tracing::warn!(url = %endpoint.url, error = %e, "endpoint unreachable; trying the other one");
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::InvalidSetting {
            field: "endpoints",
            reason: "none configured".into(),
        }))
    }

    /// Connects (directly or through the proxy), handshakes, sends one request and reads the
    /// reply body.
    async fn exchange(&self, endpoint: &Endpoint, body: &[u8]) -> Result<Vec<u8>, Error> {
        let inner = &*self.inner;
        // Each waiter ahead finishes its setup within the connect and handshake limits, so
        // this wait is bounded. The semaphore is never closed.
        let permit = inner.connecting.acquire().await.ok();
        let tcp = match &inner.proxy {
            Some(proxy) => {
                let addr = proxy.address();
                let mut tcp =
                    connect(proxy.host(), proxy.port(), &addr, inner.connect_timeout).await?;
                tokio::time::timeout(
                    inner.connect_timeout,
                    proxy.tunnel(&mut tcp, &endpoint.authority()),
                )
                .await
                .map_err(|_| Error::Proxy {
                    proxy: addr.clone(),
                    status: format!("no answer to CONNECT within {:?}", inner.connect_timeout),
                })??;
                tcp
            }
            None => {
                connect(
                    &endpoint.host,
                    endpoint.port,
                    &endpoint.authority(),
                    inner.connect_timeout,
                )
                .await?
            }
        };
        let host = endpoint.authority();
        let head = format!(
            "POST {} HTTP/1.0\r\nHost: {}\r\nContent-Type: text/xml\r\nUser-Agent: PFA\r\nContent-Length: {}\r\nConnection: Close\r\n\r\n",
            endpoint.path,
            endpoint.host_header(),
            body.len()
        );
        let mut request = Vec::with_capacity(head.len() + body.len());
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(body);

        // The request is handed to the TLS session before the handshake. rustls holds it
        // until the handshake is complete (it is never sent as 0-RTT early data) and then
        // sends it in the same flight as the client's `Finished`: one write fewer per call
        // here, and one read fewer for the server.
        let progress = Progress::default();
        let mut queued = 0;
        let handshake = inner.connector.connect_with(
            endpoint.server_name.clone(),
            Tracked::new(tcp, &progress),
            |session| {
                session.set_buffer_limit(None);
                queued = std::io::Write::write(&mut session.writer(), &request).unwrap_or(0);
            },
        );
        let mut tls = tokio::time::timeout(inner.handshake_timeout, handshake)
            .await
            .map_err(|_| {
                if progress.request_may_have_left() {
                    Error::OutcomeUnknown {
                        host: host.clone(),
                        source: Box::new(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "the TLS handshake did not finish within {:?}",
                                inner.handshake_timeout
                            ),
                        )),
                    }
                } else {
                    Error::HandshakeTimeout {
                        host: host.clone(),
                        after: inner.handshake_timeout,
                    }
                }
            })?
            .map_err(|e| handshake_error(&host, e, &progress))?;
        // What the session did not take (nothing, in practice) is written now; the rest of
        // the buffer is not kept while the phone rings.
        request.drain(..queued.min(request.len()));
        request.shrink_to_fit();

        let exchange = async {
            if !request.is_empty() {
                tls.write_all(&request)
                    .await
                    .map_err(|e| after_send(&host, e))?;
                tls.flush().await.map_err(|e| after_send(&host, e))?;
            }
            drop(permit);
            read_reply(&mut tls, &host).await
        };
        let reply = tokio::time::timeout(inner.response_timeout, exchange)
            .await
            .map_err(|_| Error::ResponseTimeout {
                host: host.clone(),
                after: inner.response_timeout,
            })??;
        Ok(reply)
    }
}

/// A failed handshake: a TLS or certificate failure as such; any other failure after the
/// last flight (which carries the request) may have started is an unknown outcome.
fn handshake_error(host: &str, e: std::io::Error, progress: &Progress) -> Error {
    let tls_failure = refusal_of(&e).is_some()
        || e.get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    if progress.request_may_have_left() && !tls_failure {
        Error::OutcomeUnknown {
            host: host.to_owned(),
            source: Box::new(e),
        }
    } else {
        tls_error(host, e)
    }
}

fn may_fail_over(e: &Error) -> bool {
    matches!(
        e,
        Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::ConnectTimeout { .. }
            | Error::ProxyAuth { .. }
            | Error::Proxy { .. }
    )
}

async fn connect(host: &str, port: u16, label: &str, limit: Duration) -> Result<TcpStream, Error> {
    let work = async {
        let addrs: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| Error::Resolve {
                host: label.to_owned(),
                source,
            })?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Connect {
            host: label.to_owned(),
            source: last.unwrap_or_else(|| std::io::Error::other("the name has no addresses")),
        })
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| Error::ConnectTimeout {
            host: label.to_owned(),
            after: limit,
        })?
}

fn tls_error(host: &str, e: std::io::Error) -> Error {
    match refusal_of(&e) {
        Some(crate::tls::Refusal::NotPhoneFactor) => Error::NotPhoneFactorHost {
            host: host.to_owned(),
        },
        Some(refusal) => Error::CertificateNotTrusted {
            host: host.to_owned(),
            hint: refusal.hint(),
        },
        None => Error::Tls {
            host: host.to_owned(),
            source: e,
        },
    }
}

/// A failure after the request may have been written: the outcome is unknown, unless the
/// server's TLS stack refused our certificate (it then never read the request).
fn after_send(host: &str, e: std::io::Error) -> Error {
    if let Some(rustls::Error::AlertReceived(alert)) =
        e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
    {
        use rustls::AlertDescription as A;
        if matches!(
            alert,
            A::CertificateRequired
                | A::BadCertificate
                | A::UnknownCA
                | A::AccessDenied
                | A::CertificateUnknown
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::UnsupportedCertificate
                | A::HandshakeFailure
                | A::DecryptError
        ) {
            return Error::Tls {
                host: host.to_owned(),
                source: e,
            };
        }
    }
    Error::OutcomeUnknown {
        host: host.to_owned(),
        source: Box::new(e),
    }
}

/// Reads the reply head (parsed with `httparse`), requires 200, then the body by
/// `Content-Length` or to EOF, at most [`MAX_RESPONSE_BYTES`].
///
/// Reads go straight into one heap buffer: a stack buffer would live in every call's task for
/// as long as the phone rings.
async fn read_reply<S>(stream: &mut S, host: &str) -> Result<Vec<u8>, Error>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let too_large = || Error::ResponseTooLarge {
        host: host.to_owned(),
        limit: MAX_RESPONSE_BYTES,
    };
    let mut buf = Vec::with_capacity(READ_SIZE);
    let (status, body_start, content_length) = loop {
        if read_some(stream, &mut buf, host).await? == 0 {
            return Err(Error::OutcomeUnknown {
                host: host.to_owned(),
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection closed before the reply",
                )),
            });
        }
        if buf.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| {
                        std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .ok_or_else(|| Error::Malformed {
                                host: host.to_owned(),
                                reason: crate::wire::Malformed::BadValue {
                                    field: "Content-Length",
                                    found: String::from_utf8_lossy(h.value)
                                        .chars()
                                        .take(64)
                                        .collect(),
                                },
                            })
                    })
                    .transpose()?;
                break (response.code.unwrap_or(0), len, length);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => {
                return Err(Error::Malformed {
                    host: host.to_owned(),
                    reason: crate::wire::Malformed::NotXml(format!("bad HTTP reply head: {e}")),
                });
            }
        }
    };
    if status != 200 {
        return Err(Error::HttpStatus {
            host: host.to_owned(),
            status,
        });
    }
    if content_length.is_some_and(|l| l > MAX_RESPONSE_BYTES) {
        return Err(too_large());
    }
    let mut body = buf;
    body.drain(..body_start.min(body.len()));
    loop {
        if let Some(length) = content_length
            && body.len() >= length
        {
            body.truncate(length);
            return Ok(body);
        }
        if read_some(stream, &mut body, host).await? == 0 {
            // EOF: fine without Content-Length; a short body fails XML parsing later.
            return Ok(body);
        }
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
    }
}

/// One read appended to `buf` (given room first); a peer that closes without TLS
/// `close_notify` counts as EOF (the XML parser catches any truncation).
async fn read_some<S>(stream: &mut S, buf: &mut Vec<u8>, host: &str) -> Result<usize, Error>
where
    S: tokio::io::AsyncRead + Unpin,
{
    if buf.capacity() - buf.len() < READ_SIZE / 2 {
        buf.reserve(READ_SIZE);
    }
    match stream.read_buf(buf).await {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(after_send(host, e)),
    }
}

/// Applies the client parse rules and maps the reply to an outcome.
fn interpret(
    reply: &[u8],
    request_id: &str,
    endpoint: &Endpoint,
    pin_mode_used: bool,
) -> Result<CallOutcome, Error> {
    let malformed = |reason| Error::Malformed {
        host: endpoint.authority(),
        reason,
    };
    let response = PfdResponse::decode(reply, request_id).map_err(malformed)?;
    match response.result {
        PfdResult::Fail { error_id, message } => Err(Error::ServiceError { error_id, message }),
        PfdResult::Success(r) => {
            if r.authenticated {
                let consistent = match r.call_status.approvable() {
                    Approvable::PinModeOnly => pin_mode_used,
                    Approvable::StandardModeOnly => !pin_mode_used,
                    Approvable::Always => true,
                    _ => false,
                };
                if !consistent {
                    return Err(malformed(crate::wire::Malformed::ApprovedWithStatus(
                        r.call_status,
                    )));
                }
            }
            Ok(CallOutcome::from_status(r.authenticated, r.call_status))
        }
    }
}

#[async_trait]
impl PhoneVerifier for DirectClient {
    async fn verify(&self, request: &VerificationRequest) -> Result<CallOutcome, Error> {
        self.call(request).await.map(|a| a.outcome)
    }
}
