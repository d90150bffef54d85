//! The simulator's own throughput: instant-answer calls in direct mode (one TLS connection
//! per call, as the PFD protocol requires) and in agent mode (one kept-alive connection
//! versus a new connection per call), and many concurrent ringing calls.
//!
//! `cargo bench -p phonefactor-sim --bench sim -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, missing_docs)] // a failed benchmark fixture should stop loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phonefactor::wire::{AuthenticationRequest, PfAuthUserArgs, PfAuthUserVersion, SoapRequest};
use phonefactor_sim::{AgentDirectory, AgentUser, SimHandle, Simulator};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn connector(roots_pem: &str, sim: Option<&SimHandle>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match sim {
        Some(sim) => {
            let l = sim.license();
            let chain =
                vec![CertificateDer::from_pem_slice(l.certificate_pem().as_bytes()).unwrap()];
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(l.private_key_pkcs8_der().to_vec()));
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

fn pfd_request(sim: &SimHandle, username: &str, number: &str) -> Vec<u8> {
    let mut r = AuthenticationRequest::new("1", sim.license().license_key(), username, "1", number);
    r.group_key = sim.license().group_key().to_owned();
    let body = r.encode().unwrap();
    let mut out = format!(
        "POST /pfd/pfd.pl HTTP/1.0\r\nHost: pfd.phonefactor.net\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: Close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

async fn direct_call(connector: &TlsConnector, addr: std::net::SocketAddr, request: &[u8]) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(request).await.unwrap();
    let mut out = Vec::with_capacity(512);
    tls.read_to_end(&mut out).await.unwrap();
    assert!(
        out.windows(22).any(|w| w == b"<callStatus>2</callSta"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

fn agent_request(sim: &SimHandle) -> Vec<u8> {
    let account = sim.agent_account().unwrap();
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        account.name(),
        account.password().expose_secret()
    ));
    let body = SoapRequest::PfAuthUser {
        version: PfAuthUserVersion::Plain,
        args: PfAuthUserArgs::new("jsmith"),
    }
    .encode("http://tempuri.org/");
    let mut out = format!(
        "POST /MultiFactorAuthWebServiceSdk/PfWsSdk.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Reads one HTTP/1.1 reply by Content-Length from a kept-alive stream.
async fn read_reply<S: tokio::io::AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(len) = resp.parse(buf).unwrap() {
            assert_eq!(resp.code, Some(200));
            let body: usize = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            while buf.len() < len + body {
                let n = s.read(&mut chunk).await.unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..len + body);
            return;
        }
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn agent_connect(
    connector: &TlsConnector,
    sim: &SimHandle,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(sim.agent_addr().unwrap()).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn instant_calls(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(async {
        Simulator::builder()
            .default_ring_delay(Duration::ZERO)
            .agent_directory(AgentDirectory::new().user(AgentUser::standard(
                "jsmith",
                "1",
                "9259249500",
            )))
            .without_control()
            .start()
            .await
            .unwrap()
    });
    let direct = connector(&sim.ca_cert_pem(), Some(&sim));
    let agent = connector(sim.agent_trust_pem().unwrap(), None);
    let addr = sim.direct_addr();
    let mut group = c.benchmark_group("instant_call");
    group.throughput(Throughput::Elements(1));

    let mut n = 0u64;
    group.bench_function("direct_new_connection_per_call", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            // A different user each time so no call is refused as "already ringing".
            let req = pfd_request(&sim, &format!("u{n}"), "9259249500");
            let direct = direct.clone();
            async move { direct_call(&direct, addr, &req).await }
        });
    });

    let request = agent_request(&sim);
    let before = sim.agent_handshakes();
    let mut calls = 0u64;
    group.bench_function("agent_keep_alive", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let agent = agent.clone();
            let request = request.clone();
            let sim = &sim;
            calls += iters;
            async move {
                let mut tls = agent_connect(&agent, sim).await;
                let mut buf = Vec::new();
                let start = Instant::now();
                for _ in 0..iters {
                    tls.write_all(&request).await.unwrap();
                    read_reply(&mut tls, &mut buf).await;
                }
                start.elapsed()
            }
        });
    });
    let keep_alive_handshakes = sim.agent_handshakes() - before;
    eprintln!("agent keep-alive: {calls} calls over {keep_alive_handshakes} TLS handshakes");

    let before = sim.agent_handshakes();
    let mut calls = 0u64;
    group.bench_function("agent_new_connection_per_call", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let agent = agent.clone();
            let request = request.clone();
            let sim = &sim;
            calls += iters;
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut tls = agent_connect(&agent, sim).await;
                    let mut buf = Vec::new();
                    tls.write_all(&request).await.unwrap();
                    read_reply(&mut tls, &mut buf).await;
                }
                start.elapsed()
            }
        });
    });
    eprintln!(
        "agent new connection per call: {calls} calls over {} TLS handshakes",
        sim.agent_handshakes() - before
    );
    group.finish();
    rt.block_on(sim.shutdown());
}

const RINGING: usize = 2_000;
const RING_FOR: Duration = Duration::from_secs(1);

fn concurrent_ringing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(async {
        Simulator::builder()
            .default_ring_delay(RING_FOR)
            .without_agent()
            .without_control()
            .start()
            .await
            .unwrap()
    });
    let direct = connector(&sim.ca_cert_pem(), Some(&sim));
    let addr = sim.direct_addr();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..RINGING)
            .map(|i| pfd_request(&sim, &format!("ring{i}"), &format!("92592{i:05}")))
            .collect(),
    );
    let (rss_before, _) = rss_kib();
    let mut group = c.benchmark_group("concurrent_ringing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RINGING as u64));
    group.bench_function(
        format!("{RINGING}_calls_ringing_{}ms", RING_FOR.as_millis()),
        |b| {
            b.to_async(&rt).iter(|| {
                let direct = direct.clone();
                let requests = Arc::clone(&requests);
                async move {
                    let tasks: Vec<_> = (0..RINGING)
                        .map(|i| {
                            let direct = direct.clone();
                            let requests = Arc::clone(&requests);
                            tokio::spawn(
                                async move { direct_call(&direct, addr, &requests[i]).await },
                            )
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
            });
        },
    );
    group.finish();
    let (rss_after, hwm) = rss_kib();
    eprintln!(
        "concurrent ringing: RSS {rss_before} KiB before, {rss_after} KiB after, peak {hwm} KiB (simulator and test client in one process)"
    );
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, instant_calls, concurrent_ringing);
criterion_main!(benches);
