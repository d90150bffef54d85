//! The product's login as a web app: a username page, a password page, a "we are calling
//! your phone" page that follows the call, then a signed-in page or a generic failure page.
//!
//! Built on [`tfa_flow::Authenticator`]: the password step returns as soon as the call is
//! placed, and the call page follows the call by server-sent events (`GET /call/events`),
//! so no request waits for a phone. With no configuration ([`start_demo`]) the PhoneFactor
//! simulator runs in the same process with a few demo users; with a configuration file
//! ([`PortalConfig`], [`serve`]) it runs against a real deployment.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), login_portal::PortalError> {
//! // The simulator, three users and the portal, on free ports of 127.0.0.1.
//! let portal = login_portal::start_demo(login_portal::DemoOptions::default()).await?;
//! assert!(portal.url().starts_with("http://127.0.0.1:"));
//! println!("open {} and answer calls at {}", portal.url(), portal.phones_url());
//! for user in portal.demo_users() {
//!     println!("{} / {} ({})", user.username, user.password, user.phone);
//! }
//! portal.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The pages and their element ids
//!
//! Browser tests rely on these ids; they are kept stable.
//!
//! | page | path | elements |
//! |---|---|---|
//! | username | `GET /` | `form#username-form` with `input#username` and `button#continue` |
//! | password | `GET /password` | `form#password-form` with `input#password` and `button#sign-in` |
//! | call | `GET /call` | `#call-progress`, `data-state` one of `placing`, `ringing`, `answered`, `approved`, `denied`, human-readable text; `button#cancel` |
//! | signed in | `GET /signed-in` | `#signed-in` containing the username; `button#sign-out` |
//! | failure | `GET /failed` | `#login-failed` with a generic message; `a#start-over` back to `/` |
//!
//! Every username, known or not, leads from the username page to the password page with
//! the same answer. **A wrong password ends the login on the failure page**: `#login-failed`
//! reads "The username or password is incorrect." (the same for an unknown user), with
//! `a#start-over`. An empty username stays on the username page with an `#error` element.
//! Why a login failed goes to the audit file only.
//!
//! # Sessions and forms
//!
//! The session cookie (`login-portal`, or `__Host-login-portal` when secure) holds an opaque
//! 256-bit random id; state stays on the server, keyed by the id's SHA-256: in the process,
//! or with `--store redis://...` in Redis, shared by every portal node (any node then serves
//! any browser; if Redis cannot be read, the request gets the "temporarily unavailable"
//! page, never a signed-in one). It is
//! `HttpOnly`, `SameSite=Strict` (configurable to `Lax`), `Path=/`, and `Secure` unless
//! configured off (the demo, on plain loopback HTTP). The id is replaced at sign-in. Every
//! form carries the session's anti-forgery token in a hidden `csrf` field, compared in
//! constant time; a form without it, or with another, is refused with 403 and audited.
//!
//! # Audit
//!
//! Every login decision is appended to a JSON-lines file ([`JsonLinesAuditSink`]); if the
//! file cannot be written, nobody is signed in until it can.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod client_addr;
mod config;
mod cookie;
mod demo;
mod error;
mod pages;
mod progress;
mod routes;
mod server;
mod session;
mod stores;
mod tls;

pub use audit::JsonLinesAuditSink;
pub use config::PortalConfig;
pub use cookie::SameSite;
pub use demo::{DemoMode, DemoOptions, DemoUser, start_demo};
pub use error::PortalError;
pub use progress::CallState;
pub use server::{PortalHandle, serve};
pub use stores::{StoreSet, open_stores};
