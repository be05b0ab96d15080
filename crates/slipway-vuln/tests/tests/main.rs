//! Integration tests of slipway-vuln through its public API: one binary, one module per area.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod index;
mod ordering;
mod rustsec;
mod update;
