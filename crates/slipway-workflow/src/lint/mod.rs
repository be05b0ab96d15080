//! The linter: checks workflow files in the spirit of actionlint and reports
//! [`Diagnostic`]s (`file:line:col: message [rule]`).
//!
//! Every problem the loader finds is reported (rule `syntax-check`, or `expression`,
//! `events`, `permissions` for those); the model it could build is then checked for what GitHub
//! would reject or mis-run: ids ([`structure`]), the `needs` graph, filters and schedules, shells
//! and runner labels, and every expression against the context-availability table and the
//! workflow's own jobs, steps, matrix and inputs ([`expressions`]).

mod expressions;
mod structure;

use crate::diagnostic::{Diagnostic, Pos, Rule};
use crate::load::{Source, decode};
use crate::model::Workflow;

/// Lints each file; findings come in file order, then by position.
pub fn lint(files: &[Source]) -> Vec<Diagnostic> {
    files.iter().flat_map(lint_one).collect()
}

fn lint_one(source: &Source) -> Vec<Diagnostic> {
    let (workflow, mut findings) = decode(source);
    if let Some(workflow) = workflow {
        let mut sink = Findings {
            workflow: &workflow,
            found: Vec::new(),
        };
        structure::check(&mut sink);
        expressions::check(&mut sink);
        findings.extend(sink.found);
    }
    findings
        .sort_by(|a, b| (a.pos(), a.rule(), a.message()).cmp(&(b.pos(), b.rule(), b.message())));
    findings.dedup();
    findings
}

/// Collects findings about one workflow.
struct Findings<'w> {
    workflow: &'w Workflow,
    found: Vec<Diagnostic>,
}

impl Findings<'_> {
    fn report(&mut self, pos: Pos, rule: Rule, message: impl Into<String>) {
        self.found.push(Diagnostic::new(
            self.workflow.file.clone(),
            pos,
            rule,
            message,
        ));
    }
}
