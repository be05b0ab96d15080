//! Integration tests of the runner through its public API: the corpus of workflows under
//! `tests/corpus/`, each run for real (host jobs as processes, container jobs and services on
//! the Podman engine) and checked against its `expected.toml`.

// Test code: a failed expectation panics with what differed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod corpus;
mod support;
