//! The runtimes against real processes and the real container engine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests: a panic is the report.

mod container;
mod limits;
mod process;
mod support;
