//! GitHub Actions workflows: loading, the typed model, planning helpers and the linter.
//!
//! - [`load`] reads a workflow file into a [`Workflow`], keeping the line and column of
//!   everything, or returns every problem as a [`Diagnostic`]; [`load_action`] does the same for
//!   an action's `action.yml` ([`Action`]).
//! - Planning helpers for the runner, all pure functions: [`events::matches`] (does an event
//!   trigger the workflow, and if not why), [`matrix::expand`], [`graph::JobGraph`] (needs,
//!   cycles, levels) and [`inputs::resolve`] (`--input k=v` against declared inputs).
//! - [`lint`] checks files in the spirit of actionlint and returns [`Diagnostic`]s that print as
//!   `file:line:col: message [rule]`.
//!
//! This crate never spawns a process and never evaluates an expression against a live run: the
//! runner does that with `slipway-expr`, using the templates kept in the model.

mod action;
mod catalog;
pub mod cron;
mod diagnostic;
pub mod events;
pub mod filter;
pub mod graph;
pub mod inputs;
mod lint;
mod load;
pub mod matrix;
mod model;
mod yaml;

pub use action::{Action, ActionInput, ActionOutput, ActionRuns};
pub use diagnostic::{Diagnostic, Pos, Rule, Severity};
pub use lint::lint;
pub use load::{Source, load, load_action};
pub use model::*;
pub use yaml::PosMap;
