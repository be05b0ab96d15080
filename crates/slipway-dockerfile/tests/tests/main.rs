//! Integration tests of the Dockerfile parser: one binary, one module per area.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dump;
mod errors;
mod properties;
mod trees;
