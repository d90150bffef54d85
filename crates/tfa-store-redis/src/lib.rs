//! `tfa-flow`'s stores on Redis, so that several nodes share every login: a login begun on
//! one node finishes on any other, lockouts and call limits hold across nodes, and two nodes
//! never place two calls for one user. Plus a shared, versioned configuration (TFA mode,
//! phone service, trust roots, policies) that nodes follow without a restart, its secrets
//! sealed with a key each node holds.
//!
//! - [`RedisStores::connect`] gives one node's [`SessionStore`](tfa_flow::SessionStore),
//!   [`TfaStateStore`](tfa_flow::TfaStateStore), [`CounterStore`](tfa_flow::CounterStore) and
//!   [`PhoneBook`](tfa_flow::PhoneBook) on one self-repairing connection; every key starts
//!   with the deployment's [`Namespace`].
//! - [`RedisTransactions`] (put in by [`RedisStores::attach`]) runs each step of a login as one
//!   Lua script, so a happy login is four round trips: create it; swap it to "verifying" and
//!   read every fact the password step needs; swap it to "calling" with the bypass taken, the
//!   outstanding-call hold taken and the call limits checked and recorded in the script
//!   (exact across nodes, per user, number and country); write the call's outcome with its
//!   counters and release the hold.
//! - Every update that must be atomic is one Lua script: a login's compare-and-swap with its
//!   expiry and the step's counters, a counter's hit with trimming and expiry, taking and
//!   releasing the outstanding-call hold. Expiry is Redis's TTL, checked against the caller's
//!   clock too.
//! - Every Redis failure is a [`FlowError::Store`](tfa_flow::FlowError::Store) whose source
//!   ([`RedisStoreError::Command`]) names the operation: the authenticator fails closed.
//! - [`SharedConfig`]: [`publish`](SharedConfig::publish) a [`ConfigDocument`], and each
//!   node's [`follow`](SharedConfig::follow) puts new versions in force within a second.
//!   Secrets are sealed with ChaCha20-Poly1305 under a [`ConfigKey`] read from a file; a
//!   node with another key refuses the version, it never falls back to plain text.
//! - [`RedisKeyValue`] ([`RedisStores::key_value`]): a namespaced map of values that expire
//!   unless used, for an application's own records on the same connection (a web portal's
//!   browser sessions).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use secrecy::SecretString;
//! use tfa_directory::{HashParams, LocalDirectory};
//! use tfa_flow::{Authenticator, Policy, SecondFactor};
//! use tfa_store_redis::{
//!     AgentSettings, ConfigDocument, ConfigKey, Namespace, RedisStores, SecondFactorConfig,
//! };
//!
//! # async fn run(phone: Arc<dyn SecondFactor>) -> Result<(), Box<dyn std::error::Error>> {
//! let stores = RedisStores::connect("redis://127.0.0.1:6379/", Namespace::new("portal")?).await?;
//! let users = LocalDirectory::open_or_create("users.json", HashParams::default()).await?;
//! let auth = stores.attach(Authenticator::builder(Arc::new(users), phone)).build()?;
//!
//! // An administrator publishes a configuration; every node follows it.
//! let config = stores.shared_config(ConfigKey::from_file("/etc/tfa/config.key")?);
//! let agent = AgentSettings::new(
//!     "https://agent.example.org/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx",
//!     r"EXAMPLE\pfagent",
//!     SecretString::from("agent password"),
//! );
//! let version = config
//!     .publish(&ConfigDocument::new(Policy::default(), SecondFactorConfig::Agent(agent)))
//!     .await?;
//! let _following = config.follow(auth.clone());
//! println!("published version {version}");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod connection;
mod counters;
mod error;
mod key_value;
mod namespace;
mod phone_book;
mod seal;
mod session;
mod stores;
mod tfa_state;
mod transactions;

pub use config::{
    AgentSettings, ConfigDocument, DEFAULT_POLL, DirectSettings, SecondFactorConfig, SharedConfig,
    VersionedConfig,
};
pub use counters::{MAX_HITS, RedisCounterStore};
pub use error::{BoxError, RedisStoreError};
pub use key_value::RedisKeyValue;
pub use namespace::Namespace;
pub use phone_book::RedisPhoneBook;
pub use seal::ConfigKey;
pub use session::RedisSessionStore;
pub use stores::RedisStores;
pub use tfa_state::RedisTfaStateStore;
pub use transactions::RedisTransactions;
