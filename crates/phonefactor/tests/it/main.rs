//! Integration tests of `phonefactor` through its public API.

mod wire;
