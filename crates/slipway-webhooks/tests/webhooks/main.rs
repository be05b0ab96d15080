//! Integration tests: deliveries written after the providers' webhook documentation, verified and
//! parsed through the public API.

// clippy.toml allows these in `#[test]` functions only; the helpers here are test code as well.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitea;
mod github;
mod gitlab;
mod on_filters;
mod properties;
mod signatures;
mod support;
