//! Integration tests of tfa-store-redis against a real `redis-server` (one per test, on a
//! free port) and the PhoneFactor simulator over real TLS.

// Test fixtures unwrap freely: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

mod config;
mod conformance;
mod key_value;
mod nodes;
mod outage;
mod support;
mod transactions;
