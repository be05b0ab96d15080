//! Integration tests for the workflow crate: the data-driven lint corpus, loading, and the
//! planning helpers on loaded workflows. One test binary, a module per area.

// Fixture helpers panic on broken fixtures, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod corpus;
mod loading;
mod planning;
mod properties;
