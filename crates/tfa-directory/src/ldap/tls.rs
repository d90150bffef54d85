//! TLS for LDAPS and StartTLS: the system roots plus roots imported from files.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::DirectoryError;

/// A rustls client configuration trusting the system's roots and every certificate in
/// `ca_files` (PEM, one or more certificates, or a single DER certificate). An imported root
/// only adds trust; verification is never turned off.
pub(crate) fn client_config(
    ca_files: &[PathBuf],
) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are skipped: imported roots may be all that is needed.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    for path in ca_files {
        let bytes = std::fs::read(path).map_err(|e| DirectoryError::Config {
            path: path.clone(),
            reason: "cannot read the CA certificate file".into(),
            source: Some(Box::new(e)),
        })?;
        let certs: Vec<CertificateDer<'static>> = if bytes.starts_with(b"-----") {
            CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<_, _>>()
                .map_err(|e| DirectoryError::Config {
                    path: path.clone(),
                    reason: "not a PEM certificate file".into(),
                    source: Some(Box::new(e)),
                })?
        } else {
            vec![CertificateDer::from(bytes)]
        };
        if certs.is_empty() {
            return Err(DirectoryError::Config {
                path: path.clone(),
                reason: "no certificate in the CA file".into(),
                source: None,
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| DirectoryError::Config {
                path: path.clone(),
                reason: "the CA certificate is not usable as a trust anchor".into(),
                source: Some(Box::new(e)),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::Misconfiguration {
            reason: "TLS protocol versions unavailable".into(),
            source: Some(Box::new(e)),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
