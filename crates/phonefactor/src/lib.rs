//! PhoneFactor verification calls.
//!
//! [`wire`] holds the message types of both protocols and their XML, shared with the
//! simulator; [`CallStatus`] and [`CallOutcome`] say how a call ended.
//!
//! ```
//! use phonefactor::wire::{AuthenticationRequest, PfdResponse, PfdResult, AuthenticationResponse};
//! use phonefactor::{CallOutcome, CallStatus};
//!
//! let request = AuthenticationRequest::new("7", "QX7R2M9KD4LP", "jsmith", "1", "9259249500");
//! let xml = request.encode().expect("a plain username encodes");
//! assert!(AuthenticationRequest::decode(&xml).is_ok());
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
