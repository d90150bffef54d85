//! What the listeners share: TLS configurations, the accept loop and shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::error::SimError;
use crate::pki::Issued;

/// Tells servers and their connections to stop.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub(crate) fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// Resolves once shutdown has been asked for (or the handle is gone).
    pub(crate) async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Direct mode: TLS 1.2/1.3, a client certificate from `ca` required (spec §2.3).
pub(crate) fn direct_tls(
    ca: CertificateDer<'static>,
    server: &Issued,
) -> Result<Arc<ServerConfig>, SimError> {
    let tls = |source| SimError::Tls {
        what: "direct",
        source,
    };
    let mut roots = RootCertStore::empty();
    roots.add(ca).map_err(tls)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| tls(rustls::Error::General(e.to_string())))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(server.chain(), server.private_key())
        .map_err(tls)?;
    // PFD makes one connection per call, each resuming with one ticket: one new ticket per
    // handshake keeps the client's supply level (rustls sends 2 by default, and every ticket
    // costs both sides a key derivation and a record).
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

/// Agent mode: TLS 1.2/1.3, no client certificate, HTTP/1.1.
pub(crate) fn agent_tls(server: &Issued) -> Result<Arc<ServerConfig>, SimError> {
    let tls = |source| SimError::Tls {
        what: "agent",
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(tls)?
        .with_no_client_auth()
        .with_single_cert(server.chain(), server.private_key())
        .map_err(tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Counts completed TLS handshakes.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Accepts connections until shutdown, running `serve` for each in its own task (which
/// also stops at shutdown).
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, mut shutdown: Shutdown, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let stream = tokio::select! {
            () = shutdown.wait() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = serve(stream);
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.wait() => {}
                () = conn => {}
            }
        });
    }
}
