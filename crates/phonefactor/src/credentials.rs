//! Direct-mode credentials: `license.xml` and the client certificate with its key
//! (`cert.p12`, or `cert.pem` + `pkey.der`/`pkey.pem`), spec §2.2.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use secrecy::{ExposeSecret, SecretString};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::Error;
use crate::tls::{Fingerprint, parse_certificates, provider, read_file};
use crate::wire::xml::Element;

/// The keys read from `license.xml`.
#[derive(Clone, PartialEq, Eq)]
pub struct License {
    license_key: String,
    group_key: String,
}

impl License {
    /// Reads `license.xml`: root `license`, the first `licenseKey` (required, non-empty) and
    /// the first `groupKey` (optional), both trimmed.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = read_file(path)?;
        Self::parse(&bytes).map_err(|reason| Error::InvalidLicense {
            path: path.to_owned(),
            reason,
        })
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let root = Element::parse(bytes).map_err(|e| e.to_string())?;
        if root.name != "license" {
            return Err(format!("the root element is {}, not license", root.name));
        }
        let license_key = root
            .descendant("licenseKey")
            .map(|k| k.trimmed().to_owned())
            .filter(|k| !k.is_empty())
            .ok_or("licenseKey is missing or empty")?;
        let group_key = root
            .descendant("groupKey")
            .map(|k| k.trimmed().to_owned())
            .unwrap_or_default();
        Ok(Self {
            license_key,
            group_key,
        })
    }

    /// A license from its keys (for explicit configuration).
    pub fn new(license_key: impl Into<String>, group_key: impl Into<String>) -> Self {
        Self {
            license_key: license_key.into().trim().to_owned(),
            group_key: group_key.into().trim().to_owned(),
        }
    }

    /// The license key.
    pub fn license_key(&self) -> &str {
        &self.license_key
    }

    /// The group key (empty if absent).
    pub fn group_key(&self) -> &str {
        &self.group_key
    }

    /// The license key with all but its last four characters masked, for display.
    pub fn masked_license_key(&self) -> String {
        let n = self.license_key.chars().count();
        self.license_key
            .chars()
            .enumerate()
            .map(|(i, c)| if i + 4 < n { '*' } else { c })
            .collect()
    }
}

impl fmt::Debug for License {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("License")
            .field("license_key", &self.masked_license_key())
            .field("group_key", &"[REDACTED]")
            .finish()
    }
}

/// What an operator sees about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// `notBefore` (RFC 2822-like text).
    pub not_before: String,
    /// `notAfter`.
    pub not_after: String,
    /// SHA-256 of the DER certificate.
    pub fingerprint: Fingerprint,
    /// Whether basic constraints say `CA:TRUE`.
    pub is_ca: bool,
    /// Whether subject and issuer are the same name.
    pub self_signed: bool,
    /// Whether it is within its validity period now.
    pub valid_now: bool,
}

impl CertificateInfo {
    /// Describes a DER certificate.
    pub fn of(der: &[u8]) -> Option<Self> {
        let (_, c) = X509Certificate::from_der(der).ok()?;
        Some(Self {
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            not_before: c.validity().not_before.to_string(),
            not_after: c.validity().not_after.to_string(),
            fingerprint: Fingerprint::of(der),
            is_ca: c.is_ca(),
            self_signed: c.subject() == c.issuer(),
            valid_now: c.validity().is_valid(),
        })
    }
}

/// The license and the TLS client identity for direct mode, checked when loaded: the key
/// matches the certificate and the certificate is within its validity.
#[derive(Clone)]
pub struct DirectCredentials {
    license: License,
    key: Arc<CertifiedKey>,
    certificate: CertificateInfo,
}

impl fmt::Debug for DirectCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectCredentials")
            .field("license", &self.license)
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl DirectCredentials {
    /// Loads a license directory as the Java SDK does: `license.xml`, then `cert.p12` opened
    /// with `password`; without `cert.p12`, `cert.pem` with `pkey.der` or `pkey.pem`
    /// (unencrypted).
    pub fn from_license_dir(dir: impl AsRef<Path>, password: &SecretString) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let license = License::from_file(&dir.join("license.xml"))?;
        let p12 = dir.join("cert.p12");
        if p12.exists() {
            return Self::from_pkcs12(license, &p12, password);
        }
        let cert = dir.join("cert.pem");
        let key = ["pkey.der", "pkey.pem"]
            .iter()
            .map(|k| dir.join(k))
            .find(|k| k.exists());
        match key {
            Some(key) if cert.exists() => Self::from_pem(license, &cert, &key),
            // Name the file the Java SDK opens first.
            _ => Err(Error::MissingFile { path: p12 }),
        }
    }

    /// A PKCS#12 file (certificate, chain and key) opened with `password`.
    pub fn from_pkcs12(
        license: License,
        path: &Path,
        password: &SecretString,
    ) -> Result<Self, Error> {
        let bytes = read_file(path)?;
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&bytes, password.expose_secret())
            .map_err(|e| match e {
                p12_keystore::error::Error::MacError(_) => Error::WrongPkcs12Password {
                    path: path.to_owned(),
                },
                // A wrong password without a MAC shows as a padding or key error.
                p12_keystore::error::Error::UnpadError
                | p12_keystore::error::Error::InvalidPrivateKey => Error::WrongPkcs12Password {
                    path: path.to_owned(),
                },
                other => Error::InvalidPkcs12 {
                    path: path.to_owned(),
                    reason: other.to_string(),
                },
            })?;
        let key_bag = archive.keys.first().ok_or_else(|| Error::NoPrivateKey {
            path: path.to_owned(),
        })?;
        // The leaf is the certificate bag sharing the key's local id, else the first one.
        let leaf = archive
            .certs
            .iter()
            .find(|c| {
                c.local_key_id.is_some()
                    && c.local_key_id.as_deref()
                        == key_bag.local_key_id.as_ref().map(|k| k.0.as_slice())
            })
            .or_else(|| archive.certs.first())
            .ok_or_else(|| Error::NoCertificate {
                path: path.to_owned(),
            })?;
        let mut chain = vec![CertificateDer::from(leaf.cert.as_der().to_vec())];
        chain.extend(
            archive
                .certs
                .iter()
                .filter(|c| !std::ptr::eq(*c, leaf))
                .map(|c| CertificateDer::from(c.cert.as_der().to_vec())),
        );
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_bag.key.as_der().to_vec()));
        Self::assemble(license, chain, key, path)
    }

    /// A PEM certificate (or chain) and an unencrypted key in PEM (PKCS#8, PKCS#1 or SEC1) or
    /// DER.
    pub fn from_pem(license: License, cert_path: &Path, key_path: &Path) -> Result<Self, Error> {
        let cert_bytes = read_file(cert_path)?;
        let chain =
            parse_certificates(&cert_bytes).map_err(|reason| Error::InvalidCertificate {
                path: cert_path.to_owned(),
                reason,
            })?;
        let key_bytes = read_file(key_path)?;
        let key = if key_bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| Error::NoPrivateKey {
                path: key_path.to_owned(),
            })?
        } else {
            PrivateKeyDer::try_from(key_bytes).map_err(|reason| Error::InvalidCertificate {
                path: key_path.to_owned(),
                reason: reason.to_owned(),
            })?
        };
        Self::assemble(license, chain, key, key_path)
    }

    fn assemble(
        license: License,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        path: &Path,
    ) -> Result<Self, Error> {
        let leaf = chain.first().ok_or_else(|| Error::NoCertificate {
            path: path.to_owned(),
        })?;
        let certificate =
            CertificateInfo::of(leaf.as_ref()).ok_or_else(|| Error::InvalidCertificate {
                path: path.to_owned(),
                reason: "the client certificate is not X.509".into(),
            })?;
        check_validity(leaf.as_ref(), path)?;
        let key = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => Error::CertificateKeyMismatch {
                path: path.to_owned(),
            },
            other => Error::InvalidCertificate {
                path: path.to_owned(),
                reason: other.to_string(),
            },
        })?;
        Ok(Self {
            license,
            key: Arc::new(key),
            certificate,
        })
    }

    /// The license keys.
    pub fn license(&self) -> &License {
        &self.license
    }

    /// The client certificate's subject, issuer, validity and fingerprint.
    pub fn certificate(&self) -> &CertificateInfo {
        &self.certificate
    }

    pub(crate) fn certified_key(&self) -> Arc<CertifiedKey> {
        self.key.clone()
    }
}

fn check_validity(der: &[u8], path: &Path) -> Result<(), Error> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let v = cert.validity();
    if now > v.not_after.timestamp() {
        return Err(Error::CertificateExpired {
            path: path.to_owned(),
            not_after: v.not_after.to_string(),
        });
    }
    if now < v.not_before.timestamp() {
        return Err(Error::CertificateNotYetValid {
            path: path.to_owned(),
            not_before: v.not_before.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_file_rules() {
        let l =
            License::parse(b"<license><licenseKey> QX7R2M9KD4LP </licenseKey></license>").unwrap();
        assert_eq!(l.license_key(), "QX7R2M9KD4LP");
        assert_eq!(l.group_key(), "");
        assert_eq!(l.masked_license_key(), "********D4LP");
        assert!(License::parse(b"<licence><licenseKey>x</licenseKey></licence>").is_err());
        assert!(License::parse(b"<license><licenseKey> </licenseKey></license>").is_err());
        assert!(License::parse(b"<license>").is_err());
        assert!(!format!("{l:?}").contains("QX7R2M9K"));
    }
}
