//! The TFA orchestrator (WIP docs).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod error;
mod factor;
mod id;
mod machine;
mod reason;
mod time;

pub use audit::{AuditEvent, AuditKind, AuditSink, MemoryAuditSink, Severity, TracingAuditSink};
pub use error::{BoxError, FlowError};
pub use factor::{Denial, FactorError, FactorOutcome, FactorRequest, NumberNeed, SecondFactor};
pub use id::{AttemptId, LoginId};
pub use machine::{
    Action, BypassGrant, CallTarget, Enforcement, Event, EventKind, FailMode, FirstFactorResult,
    Login, Machine, MachinePolicy, Phase, PhoneFacts, RejectReason, Rejected, STATE_VERSION, Step,
    Transition, UserFacts,
};
pub use reason::{
    AccountProblem, CallRule, CredentialFailure, DenyReason, NoPhone, SecondFactorStatus,
    UserMessage,
};
pub use time::Timestamp;
