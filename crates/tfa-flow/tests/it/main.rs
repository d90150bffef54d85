//! Integration tests of tfa-flow through its public API.

// Test fixtures unwrap freely (a failed setup is a failed test), and tests measure wall time
// to check the equal-time floor and that no request waits for a phone.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod active_directory;
mod driver;
mod ldap;
mod machine;
mod policies;
mod settings_file;
mod simulator;
mod support;
