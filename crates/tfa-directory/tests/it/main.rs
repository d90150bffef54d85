//! Integration tests of tfa-directory against real files and real servers.
#![allow(clippy::unwrap_used)]

mod local;
