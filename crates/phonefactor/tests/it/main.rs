//! Integration tests of `phonefactor` through its public API, over real sockets.
#![allow(clippy::unwrap_used)] // a failed fixture or assertion should stop the test loudly

mod agent_sim;
mod config;
mod credentials;
mod direct_fake;
mod direct_sim;
mod support;
mod wire;
