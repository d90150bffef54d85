//! Test helpers for phonefactor-tfa: real servers on loopback, started by the tests that need
//! them and stopped when those tests end.
//!
//! - [`slapd::Slapd`]: OpenLDAP on 127.0.0.1 on free ports (plain LDAP with StartTLS, and
//!   LDAPS), a test CA, and a fixture of users, groups and nested groups.
//! - [`samba::SambaDc`]: a Samba Active Directory domain controller provisioned into a
//!   temporary directory, serving LDAP and LDAPS on a 127.0.0.x address of its own.
//! - [`fake_ad::FakeAd`]: a fake AD LDAP server (`ldap3_proto`) answering every bind
//!   sub-code, with search references.
//! - [`redis::RedisServer`]: a `redis-server` on a free port with its data in a temporary
//!   directory, which can be stopped and restarted on the same port mid-test.
//! - [`tls::TestCa`]: a CA made with `rcgen` that issues server certificates for loopback.
//!
//! Servers run as children of the test process and watch a pipe from it: when the test
//! process ends, however it ends, the pipe closes and the server stops, so no daemon is left
//! behind. `shared()` starts one server per test binary; `start()` one of the caller's own
//! (to stop it mid-test).
//!
//! ```no_run
//! use tfa_test_support::slapd::{self, Slapd};
//!
//! let server = Slapd::shared();
//! println!("{} {} {}", server.ldap_url(), server.ldaps_url(), server.ca_file().display());
//! assert_eq!(slapd::ALICE.uid, "alice");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(clippy::unwrap_used)] // test support: a failed setup should stop the test loudly

pub mod daemon;
pub mod fake_ad;
pub mod proxy;
pub mod redis;
pub mod samba;
pub mod slapd;
pub mod tls;
