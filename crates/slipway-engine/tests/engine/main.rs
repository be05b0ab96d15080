//! Integration tests against the real engine on this machine (Podman here, started by
//! `scripts/setup-engine`), plus one fake engine for what a real one cannot be made to do on
//! cue: go away in the middle of a build.
//!
//! One test binary, a module per area. Every test makes its own names and label with a
//! `TestScope`, which removes what the test made even when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

mod connect;
mod containers;
mod images;
mod networks;
mod support;
