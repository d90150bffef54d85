//! Trust roots, certificate pins and the rustls `ClientConfig` both clients use.
//!
//! We build our own `ClientConfig` with the ring provider; nothing global is installed.
//! Verification is always webpki's (system roots plus imported roots, host name checked),
//! wrapped so that a failure carries what the operator needs (subject, issuer, fingerprint),
//! optionally followed by Java's `.phonefactor.net` subject check, and optionally relaxed for
//! exactly one pinned certificate whose SHA-256 fingerprint is configured (still checking its
//! validity, its name and the handshake signature).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::error::Error;

/// The ring provider, built for our config only, with the AES-128-GCM/SHA-256 suites
/// preferred.
///
/// ring's default order puts AES-256-GCM/SHA-384 first. Every suite of the default set stays
/// on offer; only the preference changes: the key exchange (X25519) gives about 128-bit
/// security either way, and the SHA-256 key schedule runs on the CPU's SHA extensions where
/// SHA-384's cannot, which made a resumed handshake markedly cheaper (see
/// `docs/performance.md`, phonefactor).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    // A stable sort: TLS 1.3 suites first as before, and otherwise ring's own order.
    provider.cipher_suites.sort_by_key(|suite| {
        (
            suite.version().version != rustls::ProtocolVersion::TLSv1_3,
            !prefers(suite.suite()),
        )
    });
    Arc::new(provider)
}

fn prefers(suite: rustls::CipherSuite) -> bool {
    use rustls::CipherSuite as S;
    matches!(
        suite,
        S::TLS13_AES_128_GCM_SHA256
            | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    )
}

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// Parses hex, with or without `:` separators, any case.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let hex: Vec<u8> = text
            .bytes()
            .filter(|b| *b != b':' && !b.is_ascii_whitespace())
            .collect();
        let invalid = || Error::InvalidSetting {
            field: "pinned certificate fingerprint",
            reason: "expected 64 hexadecimal digits (SHA-256)".into(),
        };
        if hex.len() != 64 {
            return Err(invalid());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).map_err(|_| invalid())?;
            let byte = u8::from_str_radix(s, 16).map_err(|_| invalid())?;
            if let Some(slot) = out.get_mut(i) {
                *slot = byte;
            }
        }
        Ok(Self(out))
    }

    /// Compares in constant time.
    pub fn matches(&self, der: &[u8]) -> bool {
        bool::from(Self::of(der).0.ct_eq(&self.0))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Reads every certificate in a PEM file (one or a chain) or a single DER certificate.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read_file(path)?;
    parse_certificates(&bytes).map_err(|reason| Error::InvalidCertificate {
        path: path.to_owned(),
        reason,
    })
}

pub(crate) fn parse_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let looks_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let certs: Vec<CertificateDer<'static>> = if looks_pem {
        CertificateDer::pem_slice_iter(bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("bad PEM: {e}"))?
    } else {
        vec![CertificateDer::from(bytes.to_vec())]
    };
    if certs.is_empty() {
        return Err("no CERTIFICATE section".into());
    }
    for c in &certs {
        X509Certificate::from_der(c.as_ref())
            .map_err(|_| "not an X.509 certificate (PEM or DER)".to_owned())?;
    }
    Ok(certs)
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_owned(),
            }
        } else {
            Error::ReadFile {
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// Where trust comes from: the system's roots, roots imported from files, and pinned
/// certificates.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustSettings {
    pub(crate) system_roots: bool,
    pub(crate) root_files: Vec<PathBuf>,
    pub(crate) roots: Vec<CertificateDer<'static>>,
    pub(crate) pins: Vec<Fingerprint>,
    pub(crate) phonefactor_cn: bool,
}

impl TrustSettings {
    pub(crate) fn new() -> Self {
        Self {
            system_roots: true,
            ..Self::default()
        }
    }

    /// Builds the verifier: fails on unreadable root files, or if no root at all is left.
    pub(crate) fn verifier(&self) -> Result<Arc<TrustVerifier>, Error> {
        let mut store = RootCertStore::empty();
        if self.system_roots {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::debug!(error = %e, "skipping an unreadable system root");
            }
            let (added, ignored) = store.add_parsable_certificates(native.certs);
            tracing::debug!(added, ignored, "system roots");
        }
        let mut imported = Vec::new();
        for path in &self.root_files {
            imported.extend(load_certificates(path)?);
        }
        imported.extend(self.roots.iter().cloned());
        for cert in imported {
            // A self-signed leaf that webpki refuses as an anchor is still usable by pin.
            if let Err(e) = store.add(cert) {
                tracing::debug!(error = %e, "an imported certificate is not usable as a root");
            }
        }
        let provider = provider();
        let webpki = if store.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|e| Error::InvalidSetting {
                        field: "trust roots",
                        reason: e.to_string(),
                    })?,
            )
        };
        Ok(Arc::new(TrustVerifier {
            webpki,
            pins: self.pins.clone(),
            phonefactor_cn: self.phonefactor_cn,
            algorithms: provider.signature_verification_algorithms,
            verifications: AtomicU64::new(0),
        }))
    }
}

/// Why a server certificate was refused, carried inside the rustls error so the client can
/// give the operator a precise message.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// webpki refused the chain.
    Untrusted {
        subject: String,
        issuer: String,
        fingerprint: Fingerprint,
        self_signed: bool,
        why: String,
    },
    /// The subject is not `CN=<name>.phonefactor.net`.
    NotPhoneFactor,
    /// A pinned certificate is outside its validity or names another host.
    PinnedInvalid(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Untrusted { why, .. } => write!(f, "certificate not trusted: {why}"),
            Self::NotPhoneFactor => {
                f.write_str("the certificate of the remote server is not a PhoneFactor host")
            }
            Self::PinnedInvalid(why) => write!(f, "pinned certificate refused: {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The operator's hint for a trust failure.
    pub(crate) fn hint(&self) -> String {
        match self {
            Self::Untrusted {
                subject,
                fingerprint,
                self_signed: true,
                why,
                ..
            } => format!(
                "it is self-signed ({subject}, SHA-256 {fingerprint}; {why}): save that \
                 certificate as a PEM or DER file and import it (tfa-admin ca import FILE \
                 --allow-self-signed-leaf), or pin its fingerprint if webpki refuses it as a root"
            ),
            Self::Untrusted {
                issuer,
                subject,
                fingerprint,
                why,
                ..
            } => format!(
                "{why}; import the root CA that issued it ({issuer}) as a PEM or DER file \
                 (tfa-admin ca import FILE); server certificate {subject}, SHA-256 {fingerprint}"
            ),
            other => other.to_string(),
        }
    }
}

fn other(refusal: Refusal) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
        refusal,
    ))))
}

/// Finds our refusal inside an I/O error from a handshake (through any nesting of I/O
/// errors, whose `source()` skips the error they wrap), if there is one.
pub(crate) fn refusal_of(e: &std::io::Error) -> Option<Refusal> {
    let mut current: &(dyn std::error::Error + Send + Sync + 'static) = e.get_ref()?;
    for _ in 0..8 {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            current = io.get_ref()?;
            continue;
        }
        if let Some(r) = current.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        return match current.downcast_ref::<rustls::Error>()? {
            rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
                o.0.downcast_ref::<Refusal>().cloned()
            }
            rustls::Error::InvalidCertificate(c) => Some(Refusal::Untrusted {
                subject: String::new(),
                issuer: String::new(),
                fingerprint: Fingerprint([0; 32]),
                self_signed: false,
                why: explain(c),
            }),
            _ => None,
        };
    }
    None
}

/// webpki's reason in words.
fn explain(c: &CertificateError) -> String {
    match c {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the certificate has Expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the certificate is not valid yet".into()
        }
        CertificateError::UnknownIssuer => "it was issued by an unknown CA".into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it does not name this host".into()
        }
        CertificateError::BadSignature => "its signature is invalid".into(),
        CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
            "it is a CA certificate (CA:TRUE) used as the server certificate, which webpki \
             refuses"
                .into()
        }
        other => format!("{other:?}"),
    }
}

/// The server certificate verifier both clients use.
#[derive(Debug)]
pub(crate) struct TrustVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pins: Vec<Fingerprint>,
    phonefactor_cn: bool,
    algorithms: WebPkiSupportedAlgorithms,
    verifications: AtomicU64,
}

impl TrustVerifier {
    /// How many server certificates were verified: one per full TLS handshake.
    pub(crate) fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

fn describe(der: &[u8]) -> (String, String, bool) {
    match X509Certificate::from_der(der) {
        Ok((_, c)) => (
            c.subject().to_string(),
            c.issuer().to_string(),
            c.subject() == c.issuer(),
        ),
        Err(_) => ("(unparsable)".into(), "(unparsable)".into(), false),
    }
}

/// `CN=<name>.phonefactor.net` with `<name>` in `[A-Za-z0-9.*-]+` (Java's check).
fn is_phonefactor_subject(der: &[u8]) -> bool {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return false;
    };
    cert.subject().iter_common_name().any(|cn| {
        cn.as_str().ok().is_some_and(|cn| {
            cn.strip_suffix(".phonefactor.net").is_some_and(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'*' | b'-'))
            })
        })
    })
}

/// For a pinned certificate: validity now, and the name in its SANs or, without SANs, its CN.
fn check_pinned(der: &[u8], server_name: &ServerName<'_>, now: UnixTime) -> Result<(), String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|_| "unparsable certificate".to_owned())?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(format!("not valid before {}", validity.not_before));
    }
    if now > validity.not_after.timestamp() {
        return Err(format!("expired on {}", validity.not_after));
    }
    let wanted = match server_name {
        ServerName::DnsName(d) => d.as_ref().to_ascii_lowercase(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => return Err("unsupported server name".into()),
    };
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|s| s.value.general_names.clone())
        .unwrap_or_default();
    let matched = if sans.is_empty() {
        cert.subject()
            .iter_common_name()
            .any(|cn| cn.as_str().is_ok_and(|cn| cn.eq_ignore_ascii_case(&wanted)))
    } else {
        sans.iter().any(|n| match n {
            GeneralName::DNSName(d) => d.eq_ignore_ascii_case(&wanted),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).is_some_and(|ip| ip == wanted),
            _ => false,
        })
    };
    if matched {
        Ok(())
    } else {
        Err(format!("it does not name {wanted}"))
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::IpAddr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::IpAddr::from(b).to_string()),
        _ => None,
    }
}

impl ServerCertVerifier for TrustVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let webpki_result = match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        match webpki_result {
            Ok(_) => {}
            Err(e) => {
                if self.pins.iter().any(|p| p.matches(end_entity.as_ref())) {
                    // The operator pinned exactly this certificate: accept it in place of a
                    // chain, but only while valid and for the right name.
                    check_pinned(end_entity.as_ref(), server_name, now)
                        .map_err(|why| other(Refusal::PinnedInvalid(why)))?;
                    tracing::info!(
                        fingerprint = %Fingerprint::of(end_entity.as_ref()),
                        "server certificate accepted by its pinned fingerprint"
                    );
                } else {
                    let (subject, issuer, self_signed) = describe(end_entity.as_ref());
                    let why = match &e {
                        rustls::Error::InvalidCertificate(c) => explain(c),
                        other => other.to_string(),
                    };
                    return Err(other(Refusal::Untrusted {
                        subject,
                        issuer,
                        fingerprint: Fingerprint::of(end_entity.as_ref()),
                        self_signed,
                        why,
                    }));
                }
            }
        }
        if self.phonefactor_cn && !is_phonefactor_subject(end_entity.as_ref()) {
            return Err(other(Refusal::NotPhoneFactor));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons_and_compare() {
        let f = Fingerprint::of(b"abc");
        let text = f.to_string();
        assert_eq!(Fingerprint::parse(&text).unwrap(), f);
        assert_eq!(
            Fingerprint::parse(&text.replace(':', "").to_lowercase()).unwrap(),
            f
        );
        assert!(f.matches(b"abc"));
        assert!(!f.matches(b"abd"));
        assert!(Fingerprint::parse("12:34").is_err());
    }

    #[test]
    fn phonefactor_subject_check_follows_java() {
        let make = |cn: &str| {
            let mut p = rcgen::CertificateParams::new(vec!["x.example".into()]).unwrap();
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            let key = rcgen::KeyPair::generate().unwrap();
            p.self_signed(&key).unwrap().der().to_vec()
        };
        assert!(is_phonefactor_subject(&make("pfd.phonefactor.net")));
        assert!(is_phonefactor_subject(&make("*.phonefactor.net")));
        assert!(!is_phonefactor_subject(&make("phonefactor.net")));
        assert!(!is_phonefactor_subject(&make(
            "pfd.phonefactor.net.evil.example"
        )));
        assert!(!is_phonefactor_subject(&make("pfd.example")));
    }
}

/// TLS session tickets kept per host for resumption. rustls's own cache keeps 8 TLS 1.3
/// tickets per host; PFD opens one connection per call, so a burst of calls needs more to
/// resume instead of paying full mutual-TLS handshakes.
#[derive(Debug, Default)]
pub(crate) struct SessionTickets {
    hosts: std::sync::Mutex<std::collections::HashMap<ServerName<'static>, HostSessions>>,
}

#[derive(Debug, Default)]
struct HostSessions {
    kx_hint: Option<rustls::NamedGroup>,
    tls12: Option<rustls::client::Tls12ClientSessionValue>,
    tls13: std::collections::VecDeque<rustls::client::Tls13ClientSessionValue>,
}

impl SessionTickets {
    /// Tickets kept per host.
    const PER_HOST: usize = 64;
    /// Hosts remembered (a client talks to two).
    const HOSTS: usize = 16;

    fn with<R>(&self, name: &ServerName<'_>, f: impl FnOnce(&mut HostSessions) -> R) -> Option<R> {
        let mut hosts = self.hosts.lock().ok()?;
        hosts.get_mut(&name.to_owned()).map(f)
    }

    fn entry<R>(&self, name: ServerName<'static>, f: impl FnOnce(&mut HostSessions) -> R) {
        if let Ok(mut hosts) = self.hosts.lock() {
            if !hosts.contains_key(&name) && hosts.len() >= Self::HOSTS {
                hosts.clear();
            }
            f(hosts.entry(name).or_default());
        }
    }
}

impl rustls::client::ClientSessionStore for SessionTickets {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: rustls::NamedGroup) {
        self.entry(server_name, |h| h.kx_hint = Some(group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.with(server_name, |h| h.kx_hint).flatten()
    }

    fn set_tls12_session(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.entry(server_name, |h| h.tls12 = Some(value));
    }

    fn tls12_session(
        &self,
        server_name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.with(server_name, |h| h.tls12.clone()).flatten()
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.with(server_name, |h| h.tls12 = None);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.entry(server_name, |h| {
            if h.tls13.len() >= Self::PER_HOST {
                h.tls13.pop_front();
            }
            h.tls13.push_back(value);
        });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.with(server_name, |h| h.tls13.pop_back()).flatten()
    }
}
