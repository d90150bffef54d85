//! The TFA orchestrator (WIP docs).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod driver;
mod error;
mod factor;
mod id;
mod machine;
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
pub use policy::{
    CallLimits, EnforcementPolicy, FailOpenPolicy, FatigueDelays, Lockout, LockoutPolicy, Policy,
    Rate, StepLockout,
};
pub use reason::{
    AccountProblem, CallRule, CredentialFailure, DenyReason, NoPhone, SecondFactorStatus,
    UserMessage,
};
pub use store::{
    CounterKey, CounterStore, MemoryCounterStore, MemoryPhoneBook, MemorySessionStore,
    MemoryTfaStateStore, PhoneBook, Revision, SessionStore, Swap, TfaStateStore,
};
pub use time::Timestamp;
