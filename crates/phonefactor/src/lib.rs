//! PhoneFactor verification calls: "call this user and tell me how it ended".
//!
//! One `dyn`-usable trait, [`PhoneVerifier`], with two implementations:
//! - [`DirectClient`]: the PFD protocol (`POST /pfd/pfd.pl`) over mutual TLS, with credentials
//!   from a license directory ([`DirectCredentials`]), primary and backup hosts (failover only
//!   when the request cannot have arrived) and an optional `CONNECT` [`Proxy`];
//! - [`AgentClient`]: SOAP 1.1 `PfAuthUser` / `TestSecurity` on the agent's Web Service SDK,
//!   HTTP Basic `DOMAIN\user`, kept-alive connections, imported roots and an audited
//!   pinned-certificate mode.
//!
//! A call that ended is `Ok(`[`CallOutcome`]`)`: approved (and how), denied (and why),
//! unreachable or rejected, each with its raw [`CallStatus`]. `Err(`[`Error`]`)` means the
//! outcome is not known: deny. No call is ever retried once it may have been placed.
//! [`wire`] holds the messages of both protocols and their XML, shared with the simulator, and
//! [`config`] the TOML configuration of either mode.
//!
//! ```no_run
//! use std::sync::Arc;
//! use phonefactor::{
//!     CallOutcome, DenyReason, DirectClient, PhoneFactorUsername, PhoneVerifier,
//!     VerificationRequest,
//! };
//! use secrecy::SecretString;
//! use tfa_phone::PhoneNumber;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let password = SecretString::from(std::env::var("PFX_PASSWORD")?);
//! let verifier: Arc<dyn PhoneVerifier> = Arc::new(
//!     DirectClient::from_license_dir("/opt/pam/licenses", &password)?
//!         .allow_international_calls(false)
//!         .build()?,
//! );
//! let request = VerificationRequest::new(PhoneFactorUsername::new("jsmith")?)
//!     .with_phone(PhoneNumber::parse_stored("1 9259249500 292")?);
//! match verifier.verify(&request).await {
//!     Ok(outcome) if outcome.is_approved() => println!("welcome"),
//!     Ok(CallOutcome::Denied { reason: DenyReason::FraudReported, .. }) => println!("fraud alert"),
//!     Ok(other) => println!("denied: {other}"),
//!     Err(e) => println!("denied, outcome unknown: {e}"),
//! }
//! # Ok(()) }
//! ```
//!
//! Applications usually read the mode and its settings from a TOML file with
//! [`config::VerifierConfig`] (keys in `docs/configuration.md`); here the one the simulator
//! writes for itself, with the call answered by `#`:
//!
//! ```
//! use phonefactor::config::VerifierConfig;
//! use phonefactor::{PhoneFactorUsername, VerificationRequest};
//! use phonefactor_sim::Simulator;
//! use tfa_phone::PhoneNumber;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::builder().start().await?;
//! let path = sim.direct_config_path(); // mode = "direct", [direct] license_dir = ...
//! let verifier = VerifierConfig::from_file(path)?.verifier(path.parent().unwrap_or(path), None)?;
//!
//! let request = VerificationRequest::new(PhoneFactorUsername::new("jsmith")?)
//!     .with_phone(PhoneNumber::parse_stored("1 9259249500 292")?);
//! let outcome = verifier.verify(&request).await?;
//! assert!(outcome.is_approved());
//! assert_eq!(outcome.status().code(), 2); // "No PIN Entered": the user pressed #
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The wire module alone, as the simulator uses it:
//!
//! ```
//! use phonefactor::wire::{AuthenticationRequest, AuthenticationResponse, PfdResponse, PfdResult};
//! use phonefactor::{CallOutcome, CallStatus};
//!
//! let request = AuthenticationRequest::new("7", "QX7R2M9KD4LP", "jsmith", "1", "9259249500");
//! let xml = request.encode().expect("a plain username encodes");
//! assert_eq!(AuthenticationRequest::decode(&xml).expect("lenient read").username, "jsmith");
//!
//! let reply = PfdResponse {
//!     request_id: "7".into(),
//!     result: PfdResult::Success(AuthenticationResponse::new(true, CallStatus(2))),
//! };
//! let decoded = PfdResponse::decode(&reply.encode("127.0.0.1"), "7").expect("well-formed");
//! let PfdResult::Success(r) = decoded.result else { unreachable!() };
//! assert!(CallOutcome::from_status(r.authenticated, r.call_status).is_approved());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod agent;
pub mod config;
mod credentials;
mod direct;
mod error;
mod outcome;
mod progress;
mod proxy;
mod status;
mod tls;
mod verifier;
pub mod wire;

pub use agent::{AgentAnswer, AgentClient, AgentClientBuilder, DEFAULT_VDIR, endpoint_url};
pub use credentials::{CertificateInfo, DirectCredentials, License};
pub use direct::{
    DEFAULT_BACKUP_URL, DEFAULT_PRIMARY_URL, DirectAnswer, DirectClient, DirectClientBuilder,
    MAX_RESPONSE_BYTES, PinFormat,
};
pub use error::{Error, ErrorKind};
pub use outcome::{Approval, CallOutcome, DenyReason, RejectReason, UnreachableReason};
pub use proxy::Proxy;
pub use status::{Approvable, CallStatus};
pub use tls::{Fingerprint, load_certificates};
pub use verifier::{PhoneFactorUsername, PhoneVerifier, VerificationRequest};
