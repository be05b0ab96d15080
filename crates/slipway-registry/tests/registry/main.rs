//! Integration tests of the registry through its HTTP API, on a real socket: the conformance
//! suite's workflows, every endpoint and error code, real clients (skopeo, podman, oras), auth
//! and TLS, garbage collection and retention, and crashes. One test binary, a module per area.

// clippy.toml allows these in `#[test]` functions only; the helpers here are test code just the
// same: a test fails by panicking, prints its random seed to stderr, and a child registry prints
// its address to stdout for the test that started it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::print_stdout
)]

mod api;
mod auth;
mod bundles;
mod clients;
mod collection;
mod conformance;
mod crash;
mod events;
mod import;
mod support;
