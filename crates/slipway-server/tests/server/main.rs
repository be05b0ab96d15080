//! Integration tests of `slipway serve`'s core over real HTTP, against a server bound to
//! 127.0.0.1:0, with real git repositories and workflows whose steps are shell commands. One test
//! binary, a module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod hooks;
mod roles;
mod runs;
mod spool;
mod support;
