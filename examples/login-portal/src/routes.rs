//! The request handlers: one per page and form.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tfa_flow::{FlowError, LoginId, Progress, Session, UserMessage};
use tokio::sync::mpsc;

use crate::CallState;
use crate::audit::{PortalEvent, PortalKind};
use crate::pages;
use crate::server::App;
use crate::session::{BrowserSession, SessionError, Stage};
use crate::tls::Peer;

/// How often the call page's events look at the phone, where it can be watched.
const WATCH_TICK: Duration = Duration::from_millis(100);

/// The longest username echoed back on the password page.
const MAX_ECHO: usize = 256;

type Shared = State<Arc<App>>;

fn see_other(path: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, path)]).into_response()
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        pages::failed(UserMessage::TemporarilyUnavailable),
    )
        .into_response()
}

/// Why a request stops short of its page.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A form without its session's anti-forgery token (audited): 403.
    Forbidden,
    /// The session table failed (logged): 503 with the "temporarily unavailable" page, so
    /// nobody is signed in on a session that could not be read or written.
    Unavailable,
}

impl From<SessionError> for Halt {
    fn from(error: SessionError) -> Self {
        tracing::error!(%error, cause = ?std::error::Error::source(&error), "browser session store failed");
        Self::Unavailable
    }
}

impl IntoResponse for Halt {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                pages::refused("This form has expired or did not come from this site. Start over."),
            )
                .into_response(),
            Self::Unavailable => unavailable(),
        }
    }
}

/// What a handler returns: its page, or why it stopped short.
type Page = Result<Response, Halt>;

/// The request's session and stage, if its cookie names a live one.
async fn session(app: &App, headers: &HeaderMap) -> Result<Option<(BrowserSession, Stage)>, Halt> {
    let Some(id) = app.cookie.read(headers) else {
        return Ok(None);
    };
    Ok(app.sessions.get(id).await?)
}

/// The request's session if the form carries its anti-forgery token; otherwise
/// [`Halt::Forbidden`] (audited).
async fn checked_session(
    app: &App,
    headers: &HeaderMap,
    offered: Option<&str>,
    path: &str,
    client: IpAddr,
) -> Result<(BrowserSession, Stage), Halt> {
    match session(app, headers).await? {
        Some((session, stage)) if session.csrf_matches(offered) => Ok((session, stage)),
        _ => {
            app.audit.record_portal(&PortalEvent::now(
                None,
                Some(client),
                PortalKind::PortalFormRefused {
                    path: path.to_owned(),
                },
            ));
            Err(Halt::Forbidden)
        }
    }
}

/// Cancels the login a session has in progress, if any (a new one is starting).
async fn cancel_in_progress(app: &App, stage: &Stage) {
    let login = match stage {
        Stage::Password {
            login: Some(login), ..
        }
        | Stage::Calling { login, .. } => *login,
        _ => return,
    };
    if let Err(error) = app.auth.cancel(login).await {
        tracing::debug!(%login, %error, "could not cancel the earlier login");
    }
}

/// `GET /`: the username page (a new session if there is none).
pub(crate) async fn start(State(app): Shared, headers: HeaderMap) -> Page {
    if let Some((session, stage)) = session(&app, &headers).await? {
        if matches!(stage, Stage::SignedIn { .. }) {
            return Ok(see_other("/signed-in"));
        }
        return Ok(pages::username(&session.csrf, None).into_response());
    }
    match app.sessions.create(Stage::Start).await? {
        Some(session) => Ok(with_cookie(
            pages::username(&session.csrf, None).into_response(),
            &app.cookie.set(&session.id),
        )),
        None => {
            tracing::warn!("session table full: refusing new sessions");
            Err(Halt::Unavailable)
        }
    }
}

/// The username form.
#[derive(Deserialize)]
pub(crate) struct UsernameForm {
    csrf: Option<String>,
    username: Option<String>,
}

/// `POST /username`: begins a login. Every username, known or not, gets the same answer:
/// a redirect to the password page.
pub(crate) async fn submit_username(
    State(app): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<UsernameForm>,
) -> Page {
    let client = app.proxies.client(peer, &headers);
    let (session, stage) =
        checked_session(&app, &headers, form.csrf.as_deref(), "/username", client).await?;
    if matches!(stage, Stage::SignedIn { .. }) {
        return Ok(see_other("/signed-in"));
    }
    cancel_in_progress(&app, &stage).await;
    let username = form.username.unwrap_or_default().trim().to_owned();
    if username.is_empty() {
        app.sessions.set_stage(&session, Stage::Start).await?;
        return Ok((
            StatusCode::OK,
            pages::username(&session.csrf, Some("Enter your username.")),
        )
            .into_response());
    }
    let login = match app.auth.begin(&username, client).await {
        Ok(login) => Some(login),
        // Not a username at all (too long, control characters): carry on as for any other
        // unknown user, so the answer does not tell which names the flow accepts.
        Err(FlowError::InvalidUsername { .. }) => None,
        Err(error) => {
            tracing::error!(%error, "cannot begin a login");
            return fail(&app, &session, UserMessage::TemporarilyUnavailable).await;
        }
    };
    app.sessions
        .set_stage(&session, Stage::Password { login, username })
        .await?;
    Ok(see_other("/password"))
}

/// `GET /password`.
pub(crate) async fn password_page(State(app): Shared, headers: HeaderMap) -> Page {
    Ok(match session(&app, &headers).await? {
        Some((session, stage)) => match &stage {
            Stage::Password { username, .. } => {
                let shown: String = username.chars().take(MAX_ECHO).collect();
                pages::password(&session.csrf, &shown).into_response()
            }
            other => redirect_for(other),
        },
        None => see_other("/"),
    })
}

/// The password form.
#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    csrf: Option<String>,
    password: Option<SecretString>,
}

/// `POST /password`: checks the password; where TFA applies the call is placed and the
/// answer comes at once (the call page waits for it).
pub(crate) async fn submit_password(
    State(app): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Page {
    let client = app.proxies.client(peer, &headers);
    let (session, stage) =
        checked_session(&app, &headers, form.csrf.as_deref(), "/password", client).await?;
    let Stage::Password { login, username } = stage else {
        return Ok(redirect_for(&stage));
    };
    let password = form.password.unwrap_or_else(|| SecretString::from(""));
    let Some(login) = login else {
        // The same time and answer as a wrong password.
        tokio::time::sleep(app.auth.policy().password_floor).await;
        drop(password);
        return fail(&app, &session, UserMessage::LoginFailed).await;
    };
    let since = time::OffsetDateTime::now_utc();
    match app.auth.submit_password(login, password).await {
        Ok(Progress::Calling { .. }) => {
            let calling = Stage::Calling {
                login,
                username,
                since,
            };
            app.sessions.set_stage(&session, calling).await?;
            Ok(see_other("/call"))
        }
        Ok(progress) => settle(&app, &session, login, progress).await,
        Err(error) => flow_failed(&app, &session, login, &error).await,
    }
}

/// A session's page for a login that has ended or moved on.
async fn settle(app: &App, session: &BrowserSession, login: LoginId, progress: Progress) -> Page {
    match progress {
        Progress::Authenticated(signed_in) => sign_in(app, session, &signed_in).await,
        Progress::Denied { message } => fail(app, session, message).await,
        Progress::Calling { .. } => Ok(see_other("/call")),
        _ => {
            tracing::debug!(%login, ?progress, "login not past its password yet");
            Ok(see_other("/password"))
        }
    }
}

async fn fail(app: &App, session: &BrowserSession, message: UserMessage) -> Page {
    app.sessions
        .set_stage(session, Stage::Failed { message })
        .await?;
    Ok(see_other("/failed"))
}

/// An error from the flow ends the login (fail closed).
async fn flow_failed(
    app: &App,
    session: &BrowserSession,
    login: LoginId,
    error: &FlowError,
) -> Page {
    let message = match error {
        FlowError::UnknownLogin { .. } => UserMessage::TimedOut,
        _ => {
            tracing::error!(%login, %error, cause = ?std::error::Error::source(error), "login step failed");
            UserMessage::TemporarilyUnavailable
        }
    };
    fail(app, session, message).await
}

/// Starts the signed-in session under a new id, unless the audit trail is broken.
async fn sign_in(app: &App, session: &BrowserSession, signed_in: &Session) -> Page {
    if !app.audit.is_healthy() {
        tracing::error!(login = %signed_in.login(), "audit file unwritable: not signing in");
        return fail(app, session, UserMessage::TemporarilyUnavailable).await;
    }
    if signed_in.second_factor_skipped() {
        tracing::warn!(login = %signed_in.login(), user = %signed_in.username(), "signed in with the second factor skipped (fail-open group)");
    }
    let stage = Stage::SignedIn {
        username: signed_in.username().to_string(),
        until: time::OffsetDateTime::now_utc() + app.cookie.signed_in_lifetime,
    };
    Ok(match app.sessions.rotate(session, stage).await? {
        Some(rotated) => with_cookie(see_other("/signed-in"), &app.cookie.set(&rotated.id)),
        None => see_other("/"),
    })
}

/// Where a session at `stage` belongs.
fn redirect_for(stage: &Stage) -> Response {
    match stage {
        Stage::Start => see_other("/"),
        Stage::Password { .. } => see_other("/password"),
        Stage::Calling { .. } => see_other("/call"),
        Stage::SignedIn { .. } => see_other("/signed-in"),
        Stage::Failed { .. } => see_other("/failed"),
    }
}

/// What the call page shows for a login still calling.
fn observed(app: &App, username: &str, since: time::OffsetDateTime) -> CallState {
    app.watch
        .as_ref()
        .and_then(|w| w.observe(username, since))
        .unwrap_or(CallState::Ringing)
}

/// `GET /call`: the call page while the call is under way; once it has ended, the
/// signed-in or failure page (by redirect).
pub(crate) async fn call_page(State(app): Shared, headers: HeaderMap) -> Page {
    let Some((session, stage)) = session(&app, &headers).await? else {
        return Ok(see_other("/"));
    };
    let Stage::Calling {
        login,
        username,
        since,
    } = stage
    else {
        return Ok(redirect_for(&stage));
    };
    match app.auth.poll(login).await {
        Ok(Progress::Calling { .. }) => {
            Ok(pages::calling(&session.csrf, observed(&app, &username, since)).into_response())
        }
        Ok(Progress::AwaitingPassword | Progress::CheckingPassword) => {
            Ok(pages::calling(&session.csrf, CallState::Placing).into_response())
        }
        Ok(progress) => settle(&app, &session, login, progress).await,
        Err(error) => flow_failed(&app, &session, login, &error).await,
    }
}

/// One `progress` event's data.
fn progress_event(state: CallState) -> Event {
    let data = serde_json::json!({ "state": state.as_str(), "text": state.text() });
    Event::default().event("progress").data(data.to_string())
}

fn done_event() -> Event {
    Event::default().event("done").data("{}")
}

/// `GET /call/events`: server-sent events with the call's progress. `progress` events carry
/// `{"state": "placing|ringing|answered|approved|denied", "text": "..."}`; a final `done`
/// tells the page to load `/call`, which leads on to the signed-in or failure page.
///
/// Any node serves them: where the call rings on another node, the outcome is read from the
/// shared store ([`Authenticator::second_factor`](tfa_flow::Authenticator::second_factor)
/// polls it).
pub(crate) async fn call_events(State(app): Shared, headers: HeaderMap) -> Page {
    let (tx, mut rx) = mpsc::channel::<Event>(8);
    let calling = match session(&app, &headers).await? {
        Some((
            _,
            Stage::Calling {
                login,
                username,
                since,
            },
        )) => Some((login, username, since)),
        _ => None,
    };
    match calling {
        None => {
            let _ = tx.try_send(done_event());
            drop(tx);
        }
        Some((login, username, since)) => {
            tokio::spawn(follow_call(app.clone(), tx, login, username, since));
        }
    }
    let stream = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|event| event.map(Ok::<_, Infallible>))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Sends the call's progress to `tx` until it ends, the page goes away or the portal stops.
async fn follow_call(
    app: Arc<App>,
    tx: mpsc::Sender<Event>,
    login: LoginId,
    username: String,
    since: time::OffsetDateTime,
) {
    let mut stop = app.stop.clone();
    let outcome = app.auth.second_factor(login);
    tokio::pin!(outcome);
    let mut last = None;
    loop {
        let state = observed(&app, &username, since);
        if last != Some(state) {
            last = Some(state);
            if tx.send(progress_event(state)).await.is_err() {
                return;
            }
        }
        let tick = async {
            match app.watch {
                Some(_) => tokio::time::sleep(WATCH_TICK).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ended = &mut outcome => {
                let state = match ended {
                    Ok(Progress::Authenticated(_)) => Some(CallState::Approved),
                    Ok(Progress::Denied { .. }) | Err(_) => Some(CallState::Denied),
                    Ok(_) => None,
                };
                if let Some(state) = state {
                    let _ = tx.send(progress_event(state)).await;
                }
                let _ = tx.send(done_event()).await;
                return;
            }
            () = tick => {}
            () = tx.closed() => return,
            _ = stop.changed() => return,
        }
    }
}

/// A form that carries only the anti-forgery token.
#[derive(Deserialize)]
pub(crate) struct TokenForm {
    csrf: Option<String>,
}

/// `POST /call/cancel`: stops the call and ends the login.
pub(crate) async fn cancel_call(
    State(app): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Page {
    let client = app.proxies.client(peer, &headers);
    let (session, stage) =
        checked_session(&app, &headers, form.csrf.as_deref(), "/call/cancel", client).await?;
    let Stage::Calling { login, .. } = stage else {
        return Ok(redirect_for(&stage));
    };
    match app.auth.cancel(login).await {
        // The call may have ended either way just before: show how.
        Ok(progress @ Progress::Authenticated(_)) => settle(&app, &session, login, progress).await,
        Ok(_) => fail(&app, &session, UserMessage::Cancelled).await,
        Err(error) => flow_failed(&app, &session, login, &error).await,
    }
}

/// `GET /signed-in`.
pub(crate) async fn signed_in_page(State(app): Shared, headers: HeaderMap) -> Page {
    Ok(match session(&app, &headers).await? {
        Some((session, stage)) => match &stage {
            Stage::SignedIn { username, .. } => {
                pages::signed_in(&session.csrf, username).into_response()
            }
            other => redirect_for(other),
        },
        None => see_other("/"),
    })
}

/// `POST /sign-out`: ends the session (on every node) and removes the cookie.
pub(crate) async fn sign_out(
    State(app): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Page {
    let client = app.proxies.client(peer, &headers);
    let (session, stage) =
        checked_session(&app, &headers, form.csrf.as_deref(), "/sign-out", client).await?;
    let user = match stage {
        Stage::SignedIn { username, .. } => Some(username),
        _ => None,
    };
    app.sessions.remove(&session).await?;
    if user.is_some() {
        app.audit.record_portal(&PortalEvent::now(
            user,
            Some(client),
            PortalKind::PortalSignedOut,
        ));
    }
    Ok(with_cookie(see_other("/"), &app.cookie.clear()))
}

/// `GET /failed`: the generic failure page.
pub(crate) async fn failed_page(State(app): Shared, headers: HeaderMap) -> Page {
    Ok(match session(&app, &headers).await? {
        Some((_, Stage::Failed { message })) => pages::failed(message).into_response(),
        Some((_, other)) => redirect_for(&other),
        None => see_other("/"),
    })
}

/// `GET /static/call.js`.
pub(crate) async fn call_js() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/call.js"),
    )
        .into_response()
}

/// `GET /static/portal.css`.
pub(crate) async fn portal_css() -> Response {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

/// Anything else.
pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        pages::refused("There is no such page."),
    )
        .into_response()
}
