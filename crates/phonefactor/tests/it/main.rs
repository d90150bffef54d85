//! Integration tests of `phonefactor` through its public API, over real sockets.
#![allow(clippy::unwrap_used)] // a failed fixture or assertion should stop the test loudly

mod credentials;
mod direct_fake;
mod support;
mod wire;
