//! Integration tests of `tfa-phone`, through its public API only.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

mod bulk;
mod formats;
mod golden;
mod parse_errors;
mod parse_free_form;
mod parse_stored;
mod roundtrip;
