//! A faithful stand-in for the retired PhoneFactor services, for tests, examples and
//! benchmarks: direct mode (PFD XML over mutual TLS, `POST /pfd/pfd.pl`) and agent mode (the
//! SOAP Web Service SDK over HTTPS with Basic authentication), with scripted phones.
//!
//! It follows the wire protocol (`docs/wire-protocol.md` in the repository) §2–§6: its own
//! test PKI and license directory, the checks of §6.1 in order, the scenario table of §6.2,
//! fraud blocks (§4), one ringing call per user (101), replies held until the simulated call
//! ends. Every XML document is read and written with [`phonefactor::wire`], the same code
//! the client uses.
//!
//! ```
//! use std::time::Duration;
//! use phonefactor_sim::{Scenario, Simulator};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), phonefactor_sim::SimError> {
//!     let sim = Simulator::builder()
//!         .default_ring_delay(Duration::from_millis(20))
//!         .start()
//!         .await?;
//!     // A DirectClient needs sim.direct_url(), sim.license_dir() (license.xml + cert.p12),
//!     // sim.pkcs12_password() and sim.ca_cert_path() as an extra root; an AgentClient needs
//!     // sim.agent_url(), sim.agent_account() and sim.agent_trust_path(). Or point
//!     // `tfa-admin call --config` at sim.direct_config_path() / sim.agent_config_path().
//!     assert!(sim.license_dir().join("cert.p12").is_file());
//!     assert!(sim.direct_url().ends_with("/pfd/pfd.pl"));
//!
//!     // Script phones by username (wins) or by number; unscripted phones press #.
//!     sim.script_user("jsmith", Scenario::Pin("4821".into()).after(Duration::from_millis(50)));
//!     sim.script_number("1", "4155550100", Scenario::Busy);
//!
//!     // After calls: what the service received and answered.
//!     for call in sim.calls() {
//!         println!("{} {:?} -> {}", call.username, call.action, call.status);
//!     }
//!     sim.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! The control API (plain HTTP on loopback, [`SimHandle::control_url`]) offers the same
//! operations as JSON, and `GET /` is a page listing ringing phones with buttons to answer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod agent;
mod checks;
mod config_files;
mod control;
mod direct;
mod directory;
mod error;
mod files;
mod license;
mod phones;
mod pki;
mod scenario;
mod server;
mod sim;

pub use directory::{
    AccountEntry, AgentAccount, AgentDirectory, AgentUser, AgentUserMode, ApplicationEntry,
    PhoneEntry, SimFile,
};
pub use error::SimError;
pub use license::LicenseTerms;
pub use phones::{CallRecord, Dialled, PinModeKind, RingingCall, ServiceMode};
pub use pki::LicenseDir;
pub use scenario::{PhoneScript, Scenario};
pub use sim::{AgentCertificate, SimHandle, Simulator, SimulatorBuilder};
