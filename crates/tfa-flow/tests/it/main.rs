//! Integration tests of tfa-flow through its public API.

mod machine;
