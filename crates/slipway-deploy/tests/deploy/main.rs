//! End-to-end deploys of the example service through the real proxy, under steady load, on both
//! runtimes: every strategy, failures, rollbacks. (A controller killed midway is tested from the
//! command line, in `crates/slipway/tests/cli/deploy.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests: a panic is the report.

mod container;
mod daemon;
mod process;
mod scenarios;
mod support;
