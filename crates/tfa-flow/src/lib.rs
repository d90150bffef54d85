//! The TFA orchestrator of phonefactor-tfa: one login, from username to "authenticated" or
//! "denied", with the policies that keep phone-call TFA safe.
//!
//! Three layers, each usable alone:
//!
//! - **The machine** ([`Machine`], [`Login`]): a pure function
//!   `step(state, event, now) -> (state, actions)` with no I/O, no clock and no randomness.
//!   The state is versioned and serialisable, so a login can move between nodes; events for
//!   another login or a stale call attempt are rejected with the state handed back.
//! - **Policies** ([`Policy`]): enforcement per user, in bulk and by group; fail-closed with
//!   explicit per-group fail-open; lockout of the password and phone steps per user and per
//!   address with backoff; call limits per user, number and country, a country allow-list,
//!   refused number kinds and push-fatigue delays; timeouts; one-time bypasses; fraud blocks.
//! - **The driver** ([`Authenticator`]): runs the machine's actions against a
//!   [`FirstFactor`](tfa_directory::FirstFactor) directory, a [`SecondFactor`], the stores
//!   ([`SessionStore`], [`TfaStateStore`], [`CounterStore`], [`PhoneBook`]) and an
//!   [`AuditSink`]. Calls ring on their own tasks: no request waits for a phone.
//! - **Stores per step** ([`LoginTransactions`]): the driver makes one store call per login
//!   step (begin; password submitted; first factor verified, with the call's hold and limits;
//!   call ended), so a shared store can make each step one atomic round trip.
//!   [`ComposedTransactions`], the default, builds the steps from the stores above.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use secrecy::SecretString;
//! use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
//! use tfa_flow::{
//!     Authenticator, FactorError, FactorOutcome, FactorRequest, NumberNeed, Policy, Progress,
//!     SecondFactor,
//! };
//!
//! /// A second factor that approves at once: a stand-in for PhoneFactor or TOTP here.
//! #[derive(Debug)]
//! struct ApproveAll;
//!
//! #[async_trait]
//! impl SecondFactor for ApproveAll {
//!     fn name(&self) -> &str {
//!         "approve-all"
//!     }
//!     fn number_need(&self) -> NumberNeed {
//!         NumberNeed::Optional
//!     }
//!     async fn verify(&self, _: &FactorRequest) -> Result<FactorOutcome, FactorError> {
//!         Ok(FactorOutcome::Approved)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let users = LocalDirectory::open_or_create(dir.path().join("users.json"), HashParams::default()).await?;
//! users.add_user(NewUser::new(Username::new("alice")?, SecretString::from("correct horse"))).await?;
//!
//! let auth = Authenticator::builder(Arc::new(users), Arc::new(ApproveAll))
//!     .policy(Policy::default())
//!     .build()?;
//!
//! let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
//! let login = auth.begin("alice", source).await?;
//! match auth.submit_password(login, SecretString::from("correct horse")).await? {
//!     // The call rings on its own task; a web app would poll or await it in a later request.
//!     Progress::Calling { .. } => {}
//!     other => panic!("expected a call, got {other:?}"),
//! }
//! let Progress::Authenticated(session) = auth.second_factor(login).await? else {
//!     panic!("the stand-in factor approves");
//! };
//! assert_eq!(session.username().as_str(), "alice");
//! # Ok(())
//! # }
//! ```
//!
//! The same login with PhoneFactor as the second factor, in direct mode against the
//! simulator (`phonefactor-sim`, which writes a ready `direct.toml`): the call is placed over
//! mutual TLS to the number in the user's record, and a reported fraud blocks the user.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use phonefactor::config::VerifierConfig;
//! use phonefactor_sim::{Scenario, Simulator};
//! use secrecy::SecretString;
//! use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
//! use tfa_flow::{Authenticator, PhoneCall, Policy, Progress, UserMessage};
//! use tfa_phone::PhoneNumber;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::builder().default_ring_delay(Duration::from_millis(50)).start().await?;
//!
//! let dir = tempfile::tempdir()?;
//! let users = LocalDirectory::open_or_create(dir.path().join("users.json"), HashParams::default()).await?;
//! for name in ["alice", "mallory"] {
//!     let user = NewUser::new(Username::new(name)?, SecretString::from("correct horse"))
//!         .phone(PhoneNumber::parse_stored("1 9259249500 292")?);
//!     users.add_user(user).await?;
//! }
//!
//! // What an application reads from its configuration file.
//! let config_path = sim.direct_config_path();
//! let config = VerifierConfig::from_file(config_path)?;
//! let base = config_path.parent().unwrap_or(config_path);
//! let phone_call = PhoneCall::direct(config.verifier(base, None)?);
//! let auth = Authenticator::builder(Arc::new(users), Arc::new(phone_call))
//!     .policy(Policy::default())
//!     .build()?;
//! let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
//!
//! // Alice's phone presses # (an unscripted phone does).
//! let login = auth.begin("alice", source).await?;
//! assert!(matches!(
//!     auth.submit_password(login, SecretString::from("correct horse")).await?,
//!     Progress::Calling { .. }
//! ));
//! assert!(matches!(auth.second_factor(login).await?, Progress::Authenticated(_)));
//!
//! // Mallory's phone reports fraud: denied, and TFA blocked until an administrator unblocks.
//! sim.script_user("mallory", Scenario::Fraud);
//! let login = auth.begin("mallory", source).await?;
//! auth.submit_password(login, SecretString::from("correct horse")).await?;
//! let Progress::Denied { message } = auth.second_factor(login).await? else {
//!     panic!("a fraud report denies");
//! };
//! assert_eq!(message, UserMessage::SecondFactorFailed);
//! assert!(auth.is_blocked(&Username::new("mallory")?).await?);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod driver;
mod error;
mod factor;
mod id;
mod machine;
mod phonefactor;
mod policy;
mod reason;
mod store;
mod time;

pub use audit::{AuditEvent, AuditKind, AuditSink, MemoryAuditSink, Severity, TracingAuditSink};
pub use driver::{Authenticator, AuthenticatorBuilder, Progress, Session};
pub use error::{BoxError, FlowError};
pub use factor::{Denial, FactorError, FactorOutcome, FactorRequest, NumberNeed, SecondFactor};
pub use id::{AttemptId, LoginId};
pub use machine::{
    Action, BypassGrant, CallTarget, Enforcement, Event, EventKind, FailMode, FirstFactorResult,
    Login, Machine, MachinePolicy, Phase, PhoneFacts, RejectReason, Rejected, STATE_VERSION, Step,
    Transition, UserFacts,
};
pub use phonefactor::{PhoneCall, factor_outcome};
pub use policy::{
    CallLimits, EnforcementPolicy, FailOpenPolicy, FatigueDelays, Lockout, LockoutPolicy, Policy,
    Rate, StepLockout,
};
pub use reason::{
    AccountProblem, CallRule, CredentialFailure, DenyReason, NoPhone, SecondFactorStatus,
    UserMessage,
};
pub use store::{
    CallReservation, Committed, ComposedTransactions, CounterKey, CounterStore, Effects, FactQuery,
    FileTfaStateStore, Hit, LoginTransactions, MemoryCounterStore, MemoryPhoneBook,
    MemorySessionStore, MemoryTfaStateStore, PhoneBook, Revision, SessionStore, StoredFacts, Swap,
    TfaStateFileError, TfaStateStore, Update, UserTfaSettings, Verified,
};
pub use time::Timestamp;
