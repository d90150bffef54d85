//! Fixtures: a throw-away PKI made with rcgen, license directories (PKCS#12 made by the
//! `openssl` command), and a tiny TLS server that answers PFD requests with whatever bytes a
//! test wants, recording what it received.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phonefactor::{
    DirectClient, DirectClientBuilder, DirectCredentials, PhoneFactorUsername, VerificationRequest,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::SecretString;
use tfa_phone::PhoneNumber;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub(crate) const PASSWORD: &str = "K7PD2XQ9M4RTB8VA";

/// A CA and what it issued.
pub(crate) struct Pki {
    pub(crate) ca: CertifiedIssuer<'static, KeyPair>,
}

pub(crate) struct Issued {
    pub(crate) cert_pem: String,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) key_pem: String,
    pub(crate) key_der: Vec<u8>,
}

impl Pki {
    pub(crate) fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Self {
            ca: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    pub(crate) fn ca_der(&self) -> Vec<u8> {
        self.ca.der().to_vec()
    }

    /// A server certificate with subject `CN=cn` for loopback.
    pub(crate) fn server(&self, cn: &str) -> Issued {
        let mut p = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "pfd.phonefactor.net".to_owned(),
        ])
        .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(p)
    }

    /// A client certificate, valid now or expired.
    pub(crate) fn client(&self, expired: bool) -> Issued {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "pam.corp.example");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if expired {
            p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
            p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
        self.issue(p)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }
}

pub(crate) fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Writes a license directory: `license.xml` and `cert.p12` made by `openssl pkcs12 -export`
/// (with `-legacy` if asked).
pub(crate) fn license_dir(dir: &Path, client: &Issued, legacy: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    write_license(dir);
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    std::fs::write(&cert, &client.cert_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["pkcs12", "-export", "-in"])
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(dir.join("cert.p12"))
        .args(["-passout", &format!("pass:{PASSWORD}")]);
    if legacy {
        cmd.arg("-legacy");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(cert).unwrap();
    std::fs::remove_file(key).unwrap();
    dir.to_owned()
}

pub(crate) fn write_license(dir: &Path) {
    std::fs::write(
        dir.join("license.xml"),
        "<license><licenseKey>QX7R2M9KD4LP</licenseKey><groupKey>5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24</groupKey></license>",
    )
    .unwrap();
}

pub(crate) fn password() -> SecretString {
    SecretString::from(PASSWORD)
}

pub(crate) fn request(user: &str, phone: &str) -> VerificationRequest {
    VerificationRequest::new(PhoneFactorUsername::new(user).unwrap())
        .with_phone(PhoneNumber::parse_stored(phone).unwrap())
}

/// What the fake server does with a connection.
#[derive(Clone)]
pub(crate) enum Behaviour {
    /// Answer these raw bytes (head and body) after reading the request, then close.
    Reply(Vec<u8>),
    /// Read the request and never answer.
    Hang,
    /// Read the request and close without a word.
    Close,
}

/// A TLS server on loopback that plays a PFD service badly or well.
pub(crate) struct FakePfd {
    pub(crate) addr: SocketAddr,
    pub(crate) received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePfd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePfd {
    pub(crate) async fn start(server: &Issued, behaviour: Behaviour) -> Self {
        let _ = rustls::crypto::ring::default_provider();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(server.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let behaviour = behaviour.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let request = read_request(&mut tls).await;
                    seen.lock().unwrap().push(request);
                    match behaviour {
                        Behaviour::Reply(bytes) => {
                            let _ = tls.write_all(&bytes).await;
                            let _ = tls.shutdown().await;
                        }
                        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
                        Behaviour::Close => {}
                    }
                });
            }
        });
        Self {
            addr,
            received,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}/pfd/pfd.pl", self.addr.port())
    }

    pub(crate) fn requests(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An HTTP 200 reply with this XML body.
pub(crate) fn http_ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The reply to request `id` approving with status 2.
pub(crate) fn approval(id: &str) -> String {
    format!(
        r#"<pfpMessage version="1.2"><header/><response request-id="{id}"><status disposition="success"/><authenticationResponse><authenticated>yes</authenticated><callStatus>2</callStatus></authenticationResponse></response></pfpMessage>"#
    )
}

/// A client with the fake server's CA as an extra root and short timeouts.
pub(crate) fn direct_builder(
    pki: &Pki,
    creds: DirectCredentials,
    primary: &str,
) -> DirectClientBuilder {
    DirectClient::builder(creds)
        .primary_url(primary)
        .no_backup()
        .system_roots(false)
        .add_root_certificate(pki.ca_der())
        .connect_timeout(Duration::from_secs(2))
        .handshake_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(5))
}

/// Credentials from a license directory made with openssl.
pub(crate) fn credentials(pki: &Pki, dir: &Path) -> DirectCredentials {
    let dir = license_dir(dir, &pki.client(false), false);
    DirectCredentials::from_license_dir(dir, &password()).unwrap()
}
