//! Loading direct-mode credentials: PKCS#12 files made by `openssl`, modern and legacy, the
//! PEM fallback, and every typed error.

use phonefactor::{DirectCredentials, Error, License};
use secrecy::SecretString;

use crate::support::{Pki, license_dir, openssl_available, password, write_license};

#[test]
fn reads_openssl_default_aes256_pbes2_pkcs12() {
    assert!(openssl_available(), "the openssl command is required");
    let pki = Pki::new("creds CA");
    let tmp = tempfile::tempdir().unwrap();
    let dir = license_dir(tmp.path(), &pki.client(false), false);
    let creds = DirectCredentials::from_license_dir(&dir, &password()).unwrap();
    assert_eq!(creds.license().license_key(), "QX7R2M9KD4LP");
    assert_eq!(
        creds.license().group_key(),
        "5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24"
    );
    assert!(creds.certificate().subject.contains("pam.corp.example"));
    assert!(creds.certificate().issuer.contains("creds CA"));
}

#[test]
fn reads_openssl_legacy_pkcs12() {
    let pki = Pki::new("legacy CA");
    let tmp = tempfile::tempdir().unwrap();
    let dir = license_dir(tmp.path(), &pki.client(false), true);
    let creds = DirectCredentials::from_license_dir(&dir, &password()).unwrap();
    assert!(creds.certificate().subject.contains("pam.corp.example"));
}

#[test]
fn wrong_password_is_named_as_such() {
    let pki = Pki::new("pw CA");
    let tmp = tempfile::tempdir().unwrap();
    for legacy in [false, true] {
        let dir = license_dir(
            &tmp.path().join(legacy.to_string()),
            &pki.client(false),
            legacy,
        );
        let err =
            DirectCredentials::from_license_dir(&dir, &SecretString::from("WRONG")).unwrap_err();
        assert!(
            matches!(&err, Error::WrongPkcs12Password { path } if path.ends_with("cert.p12")),
            "{err:?}"
        );
        assert!(!err.to_string().contains("WRONG"));
    }
}

#[test]
fn missing_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let err = DirectCredentials::from_license_dir(tmp.path(), &password()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingFile { path } if path.ends_with("license.xml")),
        "{err:?}"
    );
    write_license(tmp.path());
    let err = DirectCredentials::from_license_dir(tmp.path(), &password()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingFile { path } if path.ends_with("cert.p12")),
        "{err:?}"
    );
    assert!(err.to_string().contains("cert.p12"));
}

#[test]
fn invalid_license_file_is_refused() {
    let pki = Pki::new("lic CA");
    let tmp = tempfile::tempdir().unwrap();
    let dir = license_dir(tmp.path(), &pki.client(false), false);
    std::fs::write(
        dir.join("license.xml"),
        "<license><groupKey>x</groupKey></license>",
    )
    .unwrap();
    let err = DirectCredentials::from_license_dir(&dir, &password()).unwrap_err();
    assert!(matches!(err, Error::InvalidLicense { .. }), "{err:?}");
}

#[test]
fn pkcs12_without_a_key_is_refused() {
    let pki = Pki::new("nokey CA");
    let tmp = tempfile::tempdir().unwrap();
    write_license(tmp.path());
    let client = pki.client(false);
    let cert = tmp.path().join("c.pem");
    std::fs::write(&cert, &client.cert_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-export", "-nokeys", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(tmp.path().join("cert.p12"))
        .args(["-passout", &format!("pass:{}", crate::support::PASSWORD)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = DirectCredentials::from_license_dir(tmp.path(), &password()).unwrap_err();
    assert!(matches!(err, Error::NoPrivateKey { .. }), "{err:?}");
}

#[test]
fn pem_fallback_reads_pkey_der_or_pem_and_detects_a_mismatch() {
    let pki = Pki::new("pem CA");
    let client = pki.client(false);
    let other = pki.client(false);
    let tmp = tempfile::tempdir().unwrap();
    write_license(tmp.path());
    std::fs::write(tmp.path().join("cert.pem"), &client.cert_pem).unwrap();
    std::fs::write(tmp.path().join("pkey.der"), &client.key_der).unwrap();
    DirectCredentials::from_license_dir(tmp.path(), &password()).unwrap();

    std::fs::remove_file(tmp.path().join("pkey.der")).unwrap();
    std::fs::write(tmp.path().join("pkey.pem"), &other.key_pem).unwrap();
    let err = DirectCredentials::from_license_dir(tmp.path(), &password()).unwrap_err();
    assert!(
        matches!(err, Error::CertificateKeyMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn expired_client_certificate_is_refused_with_its_date() {
    let pki = Pki::new("exp CA");
    let tmp = tempfile::tempdir().unwrap();
    let dir = license_dir(tmp.path(), &pki.client(true), false);
    let err = DirectCredentials::from_license_dir(&dir, &password()).unwrap_err();
    assert!(matches!(err, Error::CertificateExpired { .. }), "{err:?}");
}

#[test]
fn explicit_parts_work_without_a_directory() {
    let pki = Pki::new("parts CA");
    let client = pki.client(false);
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("my-cert.pem");
    let key = tmp.path().join("my-key.pem");
    std::fs::write(&cert, &client.cert_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    let creds = DirectCredentials::from_pem(License::new("K1", "G1"), &cert, &key).unwrap();
    assert_eq!(creds.license().license_key(), "K1");
}
