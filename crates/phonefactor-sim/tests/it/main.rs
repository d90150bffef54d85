//! The simulator over real TLS sockets: raw PFD and SOAP requests, the control API, the
//! PKI files and the binary.
#![allow(clippy::unwrap_used)] // a failed fixture or assertion should stop the test loudly

mod agent;
mod control;
mod direct;
mod files;
mod support;
