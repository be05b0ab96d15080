//! Integration tests of build contexts: one binary, one module per area.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archive;
mod cli;
mod engine;
mod ignore;
mod properties;
mod stream;
mod support;
