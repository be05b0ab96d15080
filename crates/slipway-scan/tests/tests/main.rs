//! Integration tests of slipway-scan through its public API: one binary, one module per area.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dockerfile;
mod formats;
mod fs;
mod gate;
mod image;
mod record;
mod support;
