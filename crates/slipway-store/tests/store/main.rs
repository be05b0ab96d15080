//! Integration tests of the store through its public API, one module per area, in one test
//! binary to keep link times down.
//!
//! Some tests run this binary again as a child process (`support::RoleProcess`): a writer killed with
//! SIGKILL, or two writers at once. The child runs the same test, which sees its role and plays
//! it instead.

// clippy.toml allows these in `#[test]` functions only; the helpers and child roles here are
// test code just the same: a test fails by panicking, and prints its random seed to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod audit;
mod builds;
mod concurrency;
mod control;
mod crash;
mod deliveries;
mod private;
mod releases;
mod runs;
mod support;
mod unwritable;
