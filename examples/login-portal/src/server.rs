//! The running portal: its shared state, its routes, and the handle that stops it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::Response;
use axum::routing::{get, post};
use phonefactor_sim::SimHandle;
use tfa_flow::{Authenticator, FileTfaStateStore, PhoneCall};
use tfa_store_redis::{ConfigKey, RedisKeyValue, RedisStoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::audit::JsonLinesAuditSink;
use crate::client_addr::TrustedProxies;
use crate::cookie::CookieSettings;
use crate::progress::CallWatch;
use crate::session::Sessions;
use crate::tls::{self, Peer, TlsListener};
use crate::{DemoUser, PortalConfig, PortalError, StoreSet, routes};

/// Most browser sessions held at once in memory (Redis relies on expiry); beyond it, lapsed ones are swept and then new
/// visitors are refused (503) rather than memory growing without bound.
const MAX_SESSIONS: usize = 100_000;

/// The largest request body accepted: the forms hold a token, a username and a password.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// How often lapsed sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) auth: Authenticator,
    pub(crate) sessions: Sessions,
    pub(crate) cookie: CookieSettings,
    pub(crate) proxies: TrustedProxies,
    pub(crate) watch: Option<Arc<dyn CallWatch>>,
    pub(crate) audit: Arc<JsonLinesAuditSink>,
    /// Turns true when the portal stops; long-lived responses end then.
    pub(crate) stop: watch::Receiver<bool>,
}

/// The parts of an [`App`] that differ between the demo and a deployment.
pub(crate) struct AppParts {
    pub(crate) auth: Authenticator,
    pub(crate) cookie: CookieSettings,
    pub(crate) proxies: TrustedProxies,
    pub(crate) watch: Option<Arc<dyn CallWatch>>,
    pub(crate) audit: Arc<JsonLinesAuditSink>,
    /// Browser sessions shared in Redis; `None` for the memory table.
    pub(crate) browser_sessions: Option<RedisKeyValue>,
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(routes::start))
        .route("/username", post(routes::submit_username))
        .route(
            "/password",
            get(routes::password_page).post(routes::submit_password),
        )
        .route("/call", get(routes::call_page))
        .route("/call/events", get(routes::call_events))
        .route("/call/cancel", post(routes::cancel_call))
        .route("/signed-in", get(routes::signed_in_page))
        .route("/sign-out", post(routes::sign_out))
        .route("/failed", get(routes::failed_page))
        .route("/static/call.js", get(routes::call_js))
        .route("/static/portal.css", get(routes::portal_css))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// Headers on every response: no caching of pages that carry tokens, no framing, no
/// scripts or styles but our own, forms only to ourselves.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Binds `listen`: first of all, so that a taken port fails before anything else starts.
/// Returns the listener and the address it got (the port chosen for port 0).
pub(crate) async fn bind(listen: SocketAddr) -> Result<(TcpListener, SocketAddr), PortalError> {
    let failed = |source| PortalError::Listen {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(failed)?;
    let local_addr = listener.local_addr().map_err(failed)?;
    Ok((listener, local_addr))
}

/// Serves the portal on `listener` until the handle stops it.
pub(crate) async fn launch(
    parts: AppParts,
    (listener, local_addr): (TcpListener, SocketAddr),
    tls: Option<Arc<rustls::ServerConfig>>,
    demo: Option<DemoParts>,
) -> Result<PortalHandle, PortalError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let audit_path = parts.audit.path().to_owned();
    let app = Arc::new(App {
        sessions: match parts.browser_sessions {
            Some(records) => Sessions::redis(records, parts.cookie.idle),
            None => Sessions::memory(parts.cookie.idle, MAX_SESSIONS),
        },
        auth: parts.auth,
        cookie: parts.cookie,
        proxies: parts.proxies,
        watch: parts.watch,
        audit: parts.audit,
        stop: stop_rx.clone(),
    });
    let sweeper = {
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(SWEEP_EVERY) => app.sessions.sweep(),
                    _ = stop.changed() => return,
                }
            }
        })
    };
    let service = router(app).into_make_service_with_connect_info::<Peer>();
    let mut stop = stop_rx.clone();
    let shutdown = async move {
        let _ = stop.changed().await;
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        None => tokio::spawn(async move {
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await;
            sweeper.abort();
            if let Err(error) = served {
                tracing::error!(%error, "the portal's server stopped");
            }
        }),
        Some(config) => {
            let listener = TlsListener::new(listener, config, stop_rx).map_err(|source| {
                PortalError::Listen {
                    addr: local_addr,
                    source,
                }
            })?;
            tokio::spawn(async move {
                let served = axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await;
                sweeper.abort();
                if let Err(error) = served {
                    tracing::error!(%error, "the portal's server stopped");
                }
            })
        }
    };
    let (phones_url, demo_users, sim, temp) = match demo {
        Some(d) => (d.phones_url, d.users, Some(d.sim), Some(d.temp)),
        None => (String::new(), Vec::new(), None, None),
    };
    Ok(PortalHandle {
        url: format!("{scheme}://{local_addr}/"),
        local_addr,
        phones_url,
        demo_users,
        audit_path,
        stop: stop_tx,
        server,
        sim,
        _temp: temp,
        follower: None,
    })
}

/// What the demo adds to a running portal.
pub(crate) struct DemoParts {
    pub(crate) phones_url: String,
    pub(crate) users: Vec<DemoUser>,
    pub(crate) sim: Arc<SimHandle>,
    pub(crate) temp: tempfile::TempDir,
}

/// A running portal. Dropping it leaves the server running until the runtime ends; call
/// [`PortalHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct PortalHandle {
    url: String,
    local_addr: SocketAddr,
    phones_url: String,
    demo_users: Vec<DemoUser>,
    audit_path: PathBuf,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    sim: Option<Arc<SimHandle>>,
    _temp: Option<tempfile::TempDir>,
    /// Keeps the Authenticator on the shared configuration (`[shared_config]`).
    follower: Option<JoinHandle<()>>,
}

impl PortalHandle {
    /// The portal's address to open in a browser, e.g. `http://127.0.0.1:8080/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address the portal listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The embedded simulator's phones page, where ringing calls are answered by hand
    /// (`GET /`), whose control API is under the same address (`POST control/calls/{id}/answer`,
    /// `GET control/ringing`). Empty when the portal runs against a real deployment.
    pub fn phones_url(&self) -> &str {
        &self.phones_url
    }

    /// The demo's users (empty outside the demo).
    pub fn demo_users(&self) -> &[DemoUser] {
        &self.demo_users
    }

    /// The JSON-lines audit file.
    pub fn audit_log_path(&self) -> &Path {
        &self.audit_path
    }

    /// Stops the portal (pages being followed by events end) and the embedded simulator,
    /// and waits for them.
    pub async fn shutdown(self) {
        if let Some(follower) = &self.follower {
            follower.abort();
        }
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        if let Some(sim) = self.sim
            && let Ok(sim) = Arc::try_unwrap(sim)
        {
            sim.shutdown().await;
        }
    }
}

/// Starts the portal against a real deployment described by `config`, with the stores of
/// `stores` (see [`open_stores`](crate::open_stores)).
///
/// With `[shared_config]`, the configuration published in Redis (if any) is put in force
/// before the first request, and followed while the portal runs; a published version that
/// cannot be opened or applied stops the start.
pub async fn serve(config: PortalConfig, stores: StoreSet) -> Result<PortalHandle, PortalError> {
    let shared = match (&config.shared_config, &stores.redis) {
        (None, _) => None,
        (Some(_), None) => return Err(PortalError::SharedConfigNeedsRedis { store: "memory" }),
        (Some(section), Some(redis)) => {
            let key = ConfigKey::from_file(&section.key_file).map_err(|source| {
                PortalError::SharedConfig {
                    what: "cannot read key_file",
                    source,
                }
            })?;
            Some(redis.shared_config(key))
        }
    };
    let listener = bind(config.listen).await?;
    let tls = match &config.tls {
        Some(tls) => Some(tls::server_config(&tls.cert_file, &tls.key_file)?),
        None => None,
    };
    let audit = Arc::new(JsonLinesAuditSink::open(&config.audit_log)?);
    let verifier = config
        .phonefactor
        .verifier(&config.base, None)
        .map_err(|source| PortalError::PhoneFactor { source })?;
    let factor = match config.phonefactor.mode {
        phonefactor::config::Mode::Direct => PhoneCall::direct(verifier),
        phonefactor::config::Mode::Agent => PhoneCall::agent(verifier),
        other => {
            return Err(PortalError::InvalidSetting {
                field: "phonefactor.mode",
                reason: format!("{other:?} is not supported by the portal"),
            });
        }
    };
    let directory = config
        .first_factor
        .open()
        .await
        .map_err(|source| PortalError::Directory { source })?;
    let mut builder = Authenticator::builder(directory, Arc::new(factor))
        .policy(config.policy)
        .session_store(stores.sessions)
        .counter_store(stores.counters)
        .audit_sink(audit.clone());
    if let Some(path) = &config.tfa_settings {
        let file = FileTfaStateStore::open_or_create(path)
            .await
            .map_err(|source| PortalError::Flow { source })?;
        builder = builder.tfa_state_store(Arc::new(file));
    } else if let Some(tfa) = stores.tfa {
        builder = builder.tfa_state_store(tfa);
        // TFA settings in the store too: each login step is one call (one round trip).
        if let Some(transactions) = stores.transactions {
            builder = builder.transactions(transactions);
        }
    }
    let auth = builder
        .build()
        .map_err(|source| PortalError::Flow { source })?;
    if let Some(shared) = &shared {
        put_shared_in_force(shared, &auth).await?;
    }
    let parts = AppParts {
        auth,
        cookie: CookieSettings {
            secure: config.cookie.secure,
            same_site: config.cookie.same_site,
            idle: config.cookie.idle(),
            signed_in_lifetime: config.cookie.signed_in_lifetime(),
        },
        proxies: TrustedProxies::new(config.trusted_proxies),
        watch: None,
        audit,
        browser_sessions: stores.browser_sessions,
    };
    let follow = shared.map(|shared| (shared, parts.auth.clone()));
    let mut handle = launch(parts, listener, tls, None).await?;
    handle.follower = follow.map(|(shared, auth)| shared.follow(auth));
    Ok(handle)
}

/// Puts the published version in force on `auth`, or keeps the file's settings when none is
/// published yet. Anything else stops the start: never run on a version half-read.
async fn put_shared_in_force(
    shared: &tfa_store_redis::SharedConfig,
    auth: &Authenticator,
) -> Result<(), PortalError> {
    match shared.load().await {
        Ok(config) => {
            config
                .apply(auth)
                .map_err(|source| PortalError::SharedConfig {
                    what: "cannot put the published configuration in force",
                    source,
                })?;
            tracing::info!(
                version = config.version(),
                "shared configuration version {} in force",
                config.version()
            );
            Ok(())
        }
        Err(RedisStoreError::NoConfig { namespace }) => {
            tracing::info!(
                %namespace,
                "no shared configuration published yet; the file's [phonefactor] and [policy] are in force"
            );
            Ok(())
        }
        Err(source) => Err(PortalError::SharedConfig {
            what: "cannot read the published configuration",
            source,
        }),
    }
}
