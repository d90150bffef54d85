//! The simulator's test PKI (spec §2.2, §2.3): a CA for direct mode, its server certificate
//! for `pfd.phonefactor.net` and the loopback names, client certificates exported as
//! `cert.p12` beside a `license.xml`, and the agent's own server certificate.

use std::fmt;
use std::path::{Path, PathBuf};

use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use time::{Duration as TimeDuration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::SimError;
use crate::files;

/// The direct-mode server names (spec §2.3).
pub(crate) const DIRECT_SERVER_NAMES: [&str; 5] = [
    "pfd.phonefactor.net",
    "pfd2.phonefactor.net",
    "localhost",
    "127.0.0.1",
    "::1",
];

/// The agent's server names besides any the builder adds.
pub(crate) const AGENT_SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A SHA-256 fingerprint of a certificate's DER.
pub(crate) type Fingerprint = [u8; 32];

pub(crate) fn fingerprint(der: &[u8]) -> Fingerprint {
    Sha256::digest(der).into()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SimError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| SimError::pki("random bytes", e))?;
    Ok(b)
}

/// `n` upper-case alphanumerics, the shape of the samples' license keys and passwords.
pub(crate) fn random_upper_alnum(n: usize) -> Result<String, SimError> {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<32>()? {
            // 252 = 7 * 36: reject the tail so every character is equally likely.
            if b < 252 && out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    Ok(out)
}

/// `2 * N` lower-case hex digits.
pub(crate) fn random_hex<const N: usize>() -> Result<String, SimError> {
    use std::fmt::Write;
    Ok(random_bytes::<N>()?.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

fn validity(params: &mut CertificateParams, expired: bool) {
    let now = OffsetDateTime::now_utc();
    if expired {
        params.not_before = now - TimeDuration::days(60);
        params.not_after = now - TimeDuration::days(1);
    } else {
        params.not_before = now - TimeDuration::days(1);
        params.not_after = now + TimeDuration::days(825);
    }
}

fn dn(cn: &str, org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    dn
}

/// A certificate authority the simulator signs with.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new(cn: &str) -> Result<Self, SimError> {
        let key = KeyPair::generate().map_err(|e| SimError::pki("CA key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(cn, "phonefactor-sim");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params, false);
        let issuer = CertifiedIssuer::self_signed(params, key)
            .map_err(|e| SimError::pki("CA certificate", e))?;
        Ok(Self { issuer })
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub(crate) fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A TLS server certificate for `names` (the first is also the CN).
    pub(crate) fn server(&self, names: &[String], expired: bool) -> Result<Issued, SimError> {
        let key = KeyPair::generate().map_err(|e| SimError::pki("server key", e))?;
        let mut params = CertificateParams::new(names.to_vec())
            .map_err(|e| SimError::pki("server certificate names", e))?;
        params.distinguished_name = dn(
            names.first().map_or("localhost", String::as_str),
            "phonefactor-sim",
        );
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, expired);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| SimError::pki("server certificate", e))?;
        Ok(Issued::new(cert.der().clone(), &key, Some(self.der())))
    }

    /// A TLS client certificate for the customer of `license_key`.
    pub(crate) fn client(&self, license_key: &str) -> Result<Issued, SimError> {
        let key = KeyPair::generate().map_err(|e| SimError::pki("client key", e))?;
        let mut params = CertificateParams::default();
        let mut name = dn(&format!("pfsdk {license_key}"), "phonefactor-sim customer");
        name.push(DnType::OrganizationalUnitName, license_key);
        params.distinguished_name = name;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, false);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| SimError::pki("client certificate", e))?;
        Ok(Issued::new(cert.der().clone(), &key, Some(self.der())))
    }
}

/// A self-signed server certificate as OpenSSL's `req -x509` makes it by default (CA:TRUE),
/// with or without a subjectAltName.
pub(crate) fn self_signed_server(names: &[String], with_san: bool) -> Result<Issued, SimError> {
    let key = KeyPair::generate().map_err(|e| SimError::pki("agent key", e))?;
    let mut params = if with_san {
        CertificateParams::new(names.to_vec())
            .map_err(|e| SimError::pki("agent certificate names", e))?
    } else {
        CertificateParams::default()
    };
    params.distinguished_name = dn(
        names.first().map_or("localhost", String::as_str),
        "phonefactor-sim agent",
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    validity(&mut params, false);
    let cert = params
        .self_signed(&key)
        .map_err(|e| SimError::pki("agent certificate", e))?;
    Ok(Issued::new(cert.der().clone(), &key, None))
}

/// A certificate with its private key and issuing CA.
pub(crate) struct Issued {
    pub(crate) cert: CertificateDer<'static>,
    pub(crate) key: Zeroizing<Vec<u8>>,
    pub(crate) ca: Option<CertificateDer<'static>>,
}

impl Issued {
    fn new(
        cert: CertificateDer<'static>,
        key: &KeyPair,
        ca: Option<CertificateDer<'static>>,
    ) -> Self {
        Self {
            cert,
            key: Zeroizing::new(key.serialize_der()),
            ca,
        }
    }

    /// The chain a server presents: the leaf, then its CA.
    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        std::iter::once(self.cert.clone())
            .chain(self.ca.clone())
            .collect()
    }

    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.to_vec()))
    }

    pub(crate) fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert)
    }

    /// The key, certificate and CA as PKCS#12 (PBES2 AES-256, HMAC-SHA-256, as OpenSSL 3
    /// writes by default).
    pub(crate) fn pkcs12(&self, password: &SecretString) -> Result<Vec<u8>, SimError> {
        let key = p12_keystore::PrivateKey::from_der(&self.key)
            .map_err(|e| SimError::pki("PKCS#12 private key", P12Error(e)))?;
        let mut certs = vec![
            p12_keystore::Certificate::from_der(&self.cert)
                .map_err(|e| SimError::pki("PKCS#12 certificate", P12Error(e)))?,
        ];
        if let Some(ca) = &self.ca {
            certs.push(
                p12_keystore::Certificate::from_der(ca)
                    .map_err(|e| SimError::pki("PKCS#12 CA certificate", P12Error(e)))?,
            );
        }
        let local_id = fingerprint(&self.cert);
        let mut store = KeyStore::new();
        store.add_entry(
            "1",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(&local_id[..20], key, certs)),
        );
        store
            .writer(password.expose_secret())
            .write()
            .map_err(|e| SimError::pki("PKCS#12 file", P12Error(e)))
    }
}

/// `p12-keystore`'s error, which does not implement `std::error::Error`.
#[derive(Debug)]
struct P12Error(p12_keystore::error::Error);

impl fmt::Display for P12Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for P12Error {}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A license directory as the product reads it (spec §2.2): `license.xml` and `cert.p12`,
/// and the parts a test may want to write in other shapes.
#[derive(Clone)]
pub struct LicenseDir {
    dir: PathBuf,
    license_key: String,
    group_key: String,
    password: SecretString,
    cert_pem: String,
    ca_pem: Option<String>,
    key_der: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for LicenseDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LicenseDir")
            .field("dir", &self.dir)
            .field("license_key", &self.license_key)
            .field("group_key", &self.group_key)
            .finish_non_exhaustive()
    }
}

impl LicenseDir {
    /// Writes `license.xml` and `cert.p12` (a new random 16-character password) for this
    /// certificate into `dir`, creating it.
    pub(crate) fn write(
        dir: &Path,
        license_key: &str,
        group_key: &str,
        issued: &Issued,
    ) -> Result<Self, SimError> {
        let password = SecretString::from(random_upper_alnum(16)?);
        files::create_dir(dir)?;
        files::write(
            &dir.join("license.xml"),
            &license_xml(license_key, group_key),
            files::Mode::Public,
        )?;
        files::write(
            &dir.join("cert.p12"),
            &issued.pkcs12(&password)?,
            files::Mode::Private,
        )?;
        Ok(Self {
            dir: dir.to_owned(),
            license_key: license_key.to_owned(),
            group_key: group_key.to_owned(),
            password,
            cert_pem: issued.cert_pem(),
            ca_pem: issued.ca.as_ref().map(|c| pem("CERTIFICATE", c)),
            key_der: issued.key.clone(),
        })
    }

    /// The directory holding `license.xml` and `cert.p12`.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/license.xml`.
    pub fn license_xml_path(&self) -> PathBuf {
        self.dir.join("license.xml")
    }

    /// `<dir>/cert.p12`.
    pub fn pkcs12_path(&self) -> PathBuf {
        self.dir.join("cert.p12")
    }

    /// The 12-character license key.
    pub fn license_key(&self) -> &str {
        &self.license_key
    }

    /// The 32-hex-digit group key.
    pub fn group_key(&self) -> &str {
        &self.group_key
    }

    /// The password of `cert.p12`.
    pub fn pkcs12_password(&self) -> &SecretString {
        &self.password
    }

    /// The client certificate as PEM (for `cert.pem` fallback tests).
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The issuing CA's certificate as PEM.
    pub fn issuer_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The client key as unencrypted PKCS#8 DER (for `pkey.der` fallback tests).
    pub fn private_key_pkcs8_der(&self) -> &[u8] {
        &self.key_der
    }
}

/// `<license><licenseKey>..</licenseKey><groupKey>..</groupKey></license>`.
pub(crate) fn license_xml(license_key: &str, group_key: &str) -> Vec<u8> {
    use quick_xml::Writer;
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let mut w = Writer::new(Vec::new());
    let events = [
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
        Event::Text(BytesText::new("\n")),
        Event::Start(BytesStart::new("license")),
        Event::Start(BytesStart::new("licenseKey")),
        Event::Text(BytesText::new(license_key)),
        Event::End(BytesEnd::new("licenseKey")),
        Event::Start(BytesStart::new("groupKey")),
        Event::Text(BytesText::new(group_key)),
        Event::End(BytesEnd::new("groupKey")),
        Event::End(BytesEnd::new("license")),
        Event::Text(BytesText::new("\n")),
    ];
    for e in events {
        // Writing to a Vec cannot fail.
        let _ = w.write_event(e);
    }
    w.into_inner()
}
