//! The portal over real HTTP on loopback, with the simulator embedded: every test starts its
//! own demo and drives it with a cookie-keeping client, answering phones through the
//! simulator's control API.

// Test fixtures unwrap freely: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

mod config;
mod flow;
mod forms;
mod nodes;
mod support;
