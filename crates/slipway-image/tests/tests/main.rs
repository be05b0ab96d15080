//! Integration tests of slipway-image: archives made by the tests, in every format, with the
//! tricks hostile images play.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod formats;
mod layers;
mod safety;
mod support;
