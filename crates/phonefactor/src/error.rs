//! Everything that can stop us from learning how a call ended.

use std::path::PathBuf;
use std::time::Duration;

use crate::wire::{EncodeError, FaultCode, Malformed};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the caller should make of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Configuration or credentials are wrong: fix them; nothing was sent.
    Config,
    /// The service could not be reached and no call was placed: deny, retry later.
    Unavailable,
    /// Certificate or TLS failure: deny and alert; never retried.
    Security,
    /// The request may have been received: a call may be ringing. Deny; do not retry.
    OutcomeUnknown,
    /// The service answered, but not with a call result (fault, refusal, bad reply): deny.
    Service,
}

/// Why the outcome of a verification is not known (or a client could not be built).
/// Every variant means: deny the login.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required file does not exist.
    #[error("{} does not exist", path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// A file exists but could not be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `license.xml` is not a license file.
    #[error("invalid license file {}: {reason}", path.display())]
    InvalidLicense {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The PKCS#12 password is wrong (Java: "unrecoverable key").
    #[error("wrong password for {}", path.display())]
    WrongPkcs12Password {
        /// The PKCS#12 file.
        path: PathBuf,
    },
    /// The PKCS#12 file could not be read for another reason.
    #[error("cannot read the PKCS#12 file {}: {reason}", path.display())]
    InvalidPkcs12 {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The credentials hold a certificate but no private key.
    #[error("{} holds no private key", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The credentials hold no certificate.
    #[error("{} holds no certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key in {} does not match the certificate", path.display())]
    CertificateKeyMismatch {
        /// The key (or PKCS#12) file.
        path: PathBuf,
    },
    /// The client certificate has expired.
    #[error("the certificate in {} expired on {not_after}", path.display())]
    CertificateExpired {
        /// The file.
        path: PathBuf,
        /// Its `notAfter`.
        not_after: String,
    },
    /// The client certificate is not valid yet.
    #[error("the certificate in {} is not valid before {not_before}", path.display())]
    CertificateNotYetValid {
        /// The file.
        path: PathBuf,
        /// Its `notBefore`.
        not_before: String,
    },
    /// A certificate or key file could not be parsed.
    #[error("cannot parse {}: {reason}", path.display())]
    InvalidCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A URL in the configuration is not usable.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (without any password).
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The proxy setting is not `http://[user:pass@]host:port`.
    #[error("invalid proxy setting: {reason}")]
    InvalidProxy {
        /// What is wrong.
        reason: &'static str,
    },
    /// Some other setting is invalid.
    #[error("invalid setting {field}: {reason}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A PhoneFactor username is not acceptable.
    #[error("invalid PhoneFactor username: {reason}")]
    InvalidUsername {
        /// What is wrong.
        reason: &'static str,
    },
    /// Direct mode needs the number to call.
    #[error("direct mode needs a phone number for user {username}")]
    MissingPhoneNumber {
        /// The user.
        username: String,
    },
    /// The request could not be encoded.
    #[error("cannot encode the request")]
    Encode(#[source] EncodeError),
    /// The TLS configuration could not be built.
    #[error("cannot build the TLS configuration")]
    TlsConfig(#[source] rustls::Error),

    /// The host name did not resolve.
    #[error("cannot resolve {host}")]
    Resolve {
        /// `host:port`.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {host}")]
    Connect {
        /// `host:port` (the proxy's when one is used).
        host: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection did not complete in time.
    #[error("connecting to {host} timed out after {after:?}")]
    ConnectTimeout {
        /// `host:port`.
        host: String,
        /// The limit.
        after: Duration,
    },
    /// The proxy wants (other) credentials (407).
    #[error("the proxy {proxy} refused the credentials (407)")]
    ProxyAuth {
        /// The proxy's `host:port`.
        proxy: String,
    },
    /// The proxy refused the tunnel.
    #[error("the proxy {proxy} refused the tunnel: {status}")]
    Proxy {
        /// The proxy's `host:port`.
        proxy: String,
        /// Its status line, or what went wrong.
        status: String,
    },
    /// The TLS handshake did not complete in time.
    #[error("the TLS handshake with {host} timed out after {after:?}")]
    HandshakeTimeout {
        /// `host:port`.
        host: String,
        /// The limit.
        after: Duration,
    },
    /// The server's certificate is not trusted.
    #[error("the certificate of {host} is not trusted; {hint}")]
    CertificateNotTrusted {
        /// The server.
        host: String,
        /// What to import or check.
        hint: String,
    },
    /// The server's certificate subject is not `CN=<name>.phonefactor.net` (Java's check).
    #[error("the certificate of {host} is not a PhoneFactor host")]
    NotPhoneFactorHost {
        /// The server.
        host: String,
    },
    /// Another TLS failure (protocol, or the server refused our client certificate).
    #[error("TLS with {host} failed")]
    Tls {
        /// The server.
        host: String,
        /// The TLS error.
        #[source]
        source: std::io::Error,
    },

    /// No reply in time after the request was sent (a call may be ringing).
    #[error("no reply from {host} within {after:?}")]
    ResponseTimeout {
        /// The server.
        host: String,
        /// The limit.
        after: Duration,
    },
    /// The connection failed after the request may have been sent.
    #[error("the connection to {host} failed after the request was sent")]
    OutcomeUnknown {
        /// The server.
        host: String,
        /// The failure.
        #[source]
        source: BoxError,
    },
    /// The server answered with an HTTP status we do not accept.
    #[error("{host} answered HTTP {status}")]
    HttpStatus {
        /// The server.
        host: String,
        /// The status.
        status: u16,
    },
    /// The reply is larger than the limit.
    #[error("the reply from {host} is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The server.
        host: String,
        /// The limit.
        limit: usize,
    },
    /// The reply could not be read as the protocol requires.
    #[error("malformed reply from {host}: {reason}")]
    Malformed {
        /// The server.
        host: String,
        /// What was wrong.
        reason: Malformed,
    },
    /// The PFD service refused the request (`disposition="fail"`).
    #[error("the service refused the request: error {error_id}: {message}")]
    ServiceError {
        /// `error-id`.
        error_id: i64,
        /// `message`.
        message: String,
    },
    /// The agent refused the credentials (401).
    #[error("the agent at {url} refused the credentials (401); check the user name and password")]
    BadCredentials {
        /// The endpoint.
        url: String,
    },
    /// The account is not allowed to use the SDK (403).
    #[error(
        "the agent at {url} refused the account (403); it must be in the PhoneFactor Admins group"
    )]
    NotAuthorised {
        /// The endpoint.
        url: String,
    },
    /// The agent answered with a SOAP fault.
    #[error("the agent answered with a SOAP fault ({code:?}): {message}")]
    SoapFault {
        /// `faultcode`.
        code: FaultCode,
        /// `faultstring`.
        message: String,
    },
    /// `TestSecurity` did not answer `secure`.
    #[error("TestSecurity answered {answer:?}, not \"secure\"")]
    NotSecure {
        /// What it answered.
        answer: String,
    },
    /// The HTTP client failed in a way not covered above.
    #[error("HTTP exchange with {host} failed")]
    Http {
        /// The server.
        host: String,
        /// The failure.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// What the caller should do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingFile { .. }
            | Self::ReadFile { .. }
            | Self::InvalidLicense { .. }
            | Self::WrongPkcs12Password { .. }
            | Self::InvalidPkcs12 { .. }
            | Self::NoPrivateKey { .. }
            | Self::NoCertificate { .. }
            | Self::CertificateKeyMismatch { .. }
            | Self::CertificateExpired { .. }
            | Self::CertificateNotYetValid { .. }
            | Self::InvalidCertificate { .. }
            | Self::InvalidUrl { .. }
            | Self::InvalidProxy { .. }
            | Self::InvalidSetting { .. }
            | Self::InvalidUsername { .. }
            | Self::MissingPhoneNumber { .. }
            | Self::Encode(_)
            | Self::TlsConfig(_)
            | Self::BadCredentials { .. }
            | Self::NotAuthorised { .. } => ErrorKind::Config,
            Self::Resolve { .. }
            | Self::Connect { .. }
            | Self::ConnectTimeout { .. }
            | Self::ProxyAuth { .. }
            | Self::Proxy { .. }
            | Self::HandshakeTimeout { .. } => ErrorKind::Unavailable,
            Self::CertificateNotTrusted { .. }
            | Self::NotPhoneFactorHost { .. }
            | Self::Tls { .. } => ErrorKind::Security,
            Self::ResponseTimeout { .. } | Self::OutcomeUnknown { .. } | Self::Http { .. } => {
                ErrorKind::OutcomeUnknown
            }
            Self::HttpStatus { .. }
            | Self::ResponseTooLarge { .. }
            | Self::Malformed { .. }
            | Self::ServiceError { .. }
            | Self::SoapFault { .. }
            | Self::NotSecure { .. } => ErrorKind::Service,
        }
    }

    /// Whether a phone call may have been placed despite the error (so the login counts as
    /// an attempt and must not be retried at once).
    pub fn call_may_have_been_placed(&self) -> bool {
        matches!(self.kind(), ErrorKind::OutcomeUnknown | ErrorKind::Service)
    }
}
