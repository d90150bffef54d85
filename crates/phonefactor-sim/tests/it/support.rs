//! One place for the fixtures: starting a simulator, TLS clients, raw exchanges.

use std::sync::Arc;
use std::time::Duration;

use phonefactor::wire::{AuthenticationRequest, PfdResponse, PfdResult, SoapRequest, SoapResponse};
use phonefactor_sim::{LicenseDir, SimHandle, Simulator, SimulatorBuilder};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The spec's sample keys (§2.11), so the golden documents can be sent as they are.
pub(crate) const SAMPLE_LICENSE: &str = "QX7R2M9KD4LP";
pub(crate) const SAMPLE_GROUP: &str = "5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24";

/// A builder with fast phones (10 ms) and the sample license keys.
pub(crate) fn builder() -> SimulatorBuilder {
    Simulator::builder()
        .default_ring_delay(Duration::from_millis(10))
        .license_keys(SAMPLE_LICENSE, SAMPLE_GROUP)
}

pub(crate) async fn start() -> SimHandle {
    builder().start().await.unwrap()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(pem: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

/// A TLS client trusting `roots_pem`, presenting `identity`'s certificate if given.
pub(crate) fn client(roots_pem: &str, identity: Option<&LicenseDir>) -> TlsConnector {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(roots_pem));
    let config = match identity {
        Some(id) => {
            let chain =
                vec![CertificateDer::from_pem_slice(id.certificate_pem().as_bytes()).unwrap()];
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                id.private_key_pkcs8_der().to_vec(),
            ));
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

/// Sends `bytes` to the direct listener as `identity` and reads to the end.
pub(crate) async fn direct_exchange(
    sim: &SimHandle,
    identity: Option<&LicenseDir>,
    bytes: &[u8],
) -> std::io::Result<Vec<u8>> {
    let connector = client(&sim.ca_cert_pem(), identity);
    let tcp = TcpStream::connect(sim.direct_addr()).await?;
    let name = ServerName::try_from("pfd.phonefactor.net").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(bytes).await?;
    tls.flush().await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok(out)
}

/// The Java SDK's request head (with CRLF) around `body`.
pub(crate) fn java_head(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST /pfd/pfd.pl HTTP/1.0\r\nHost: pfd.phonefactor.net\r\nContent-Type: text/xml\r\nUser-Agent: PFA\r\nContent-Length: {}\r\nConnection: Close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Splits a reply into its head (as text) and body.
pub(crate) fn split(reply: &[u8]) -> (String, Vec<u8>) {
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a CRLF head");
    (
        String::from_utf8(reply[..at + 4].to_vec()).unwrap(),
        reply[at + 4..].to_vec(),
    )
}

/// Posts a body with the Java head as the main license and decodes the PFD reply.
pub(crate) async fn pfd_body(sim: &SimHandle, body: &[u8], request_id: &str) -> PfdResult {
    pfd_body_as(sim, sim.license(), body, request_id).await
}

pub(crate) async fn pfd_body_as(
    sim: &SimHandle,
    id: &LicenseDir,
    body: &[u8],
    request_id: &str,
) -> PfdResult {
    let reply = direct_exchange(sim, Some(id), &java_head(body))
        .await
        .unwrap();
    let (head, body) = split(&reply);
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
    PfdResponse::decode(&body, request_id).unwrap().result
}

/// A standard request for `username` at `1 9259249500` with the sample keys.
pub(crate) fn request(id: &str, username: &str) -> AuthenticationRequest {
    let mut r = AuthenticationRequest::new(id, SAMPLE_LICENSE, username, "1", "9259249500");
    r.group_key = SAMPLE_GROUP.into();
    r
}

/// Sends a request and returns `(authenticated, callStatus)`.
pub(crate) async fn call(sim: &SimHandle, req: &AuthenticationRequest) -> (bool, u16) {
    match pfd_body(sim, &req.encode().unwrap(), &req.request_id).await {
        PfdResult::Success(r) => (r.authenticated, r.call_status.code()),
        other => panic!("expected success, got {other:?}"),
    }
}

/// Sends a body and returns the `fail` error-id.
pub(crate) async fn error_id(sim: &SimHandle, body: &[u8], request_id: &str) -> i64 {
    match pfd_body(sim, body, request_id).await {
        PfdResult::Fail { error_id, .. } => error_id,
        other => panic!("expected fail, got {other:?}"),
    }
}

/// An HTTP reply from the agent.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Basic credentials.
pub(crate) fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The simulator's admin credentials.
pub(crate) fn admin(sim: &SimHandle) -> String {
    use secrecy::ExposeSecret;
    let account = sim.agent_account().unwrap();
    basic(account.name(), account.password().expose_secret())
}

/// An open keep-alive connection to the agent.
pub(crate) struct AgentConn {
    tls: tokio_rustls::client::TlsStream<TcpStream>,
    buf: Vec<u8>,
}

pub(crate) async fn agent_connect(sim: &SimHandle) -> std::io::Result<AgentConn> {
    let connector = client(sim.agent_trust_pem().unwrap(), None);
    let tcp = TcpStream::connect(sim.agent_addr().unwrap()).await?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    Ok(AgentConn {
        tls,
        buf: Vec::new(),
    })
}

impl AgentConn {
    /// Sends one request and reads one reply (by Content-Length).
    pub(crate) async fn send(
        &mut self,
        method: &str,
        target: &str,
        auth: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(a) = auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        head.push_str("\r\n");
        self.tls.write_all(head.as_bytes()).await.unwrap();
        self.tls.write_all(body).await.unwrap();
        self.tls.flush().await.unwrap();
        let mut chunk = [0u8; 8192];
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) = resp.parse(&self.buf).unwrap() {
                let headers: Vec<(String, String)> = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let status = resp.code.unwrap();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                while self.buf.len() < len + length {
                    let n = self.tls.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "connection closed mid-reply");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                let body = self.buf[len..len + length].to_vec();
                self.buf.drain(..len + length);
                return Reply {
                    status,
                    headers,
                    body,
                };
            }
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a reply");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

pub(crate) const ASMX: &str = "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx";

/// Posts a SOAP request as the admin on a new connection and decodes the reply.
pub(crate) async fn soap(sim: &SimHandle, request: &SoapRequest) -> SoapResponse {
    let mut conn = agent_connect(sim).await.unwrap();
    let reply = conn
        .send(
            "POST",
            ASMX,
            Some(&admin(sim)),
            &request.encode("http://tempuri.org/"),
        )
        .await;
    SoapResponse::decode(&reply.body, request).unwrap()
}
