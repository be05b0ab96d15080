//! The `slipway` binary, driven as a user drives it: real processes, real files, real git, and the
//! real container engine for the commands that build.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests: a panic is the report.

mod audit;
mod build;
mod completions;
mod config;
mod deploy;
mod doctor;
mod hooks;
mod init;
mod private_state;
mod proxy;
mod registry;
mod run;
mod scan;
mod scan_gate;
mod serve;
mod signing;
mod support;
mod up;
