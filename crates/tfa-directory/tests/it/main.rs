//! Integration tests of tfa-directory against real files and real servers (slapd, Samba AD),
//! started by `tfa-test-support` on loopback.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

mod ad;
mod ad_subcodes;
mod ldap;
mod local;
