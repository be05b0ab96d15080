//! The proxy driven as the deploy controller and clients drive it: real HTTP on 127.0.0.1 to real
//! upstream servers started here, the control API over its socket, bounded in time and count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests: a panic is the report.

mod balancing;
mod control;
mod example_app;
mod forwarding;
mod health;
mod metrics;
mod properties;
mod restart;
mod retry;
mod routing;
mod support;
mod switch;
mod upgrade;
