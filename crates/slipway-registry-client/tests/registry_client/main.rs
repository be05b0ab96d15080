//! The registry client against real registries: Debian's `docker-registry` with htpasswd auth,
//! and a token-auth registry of the test's own; and the credential lookup over real files and
//! real helper processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests: a panic is the report.

mod htpasswd;
mod image;
mod lookup;
mod referrers;
mod support;
mod token;
