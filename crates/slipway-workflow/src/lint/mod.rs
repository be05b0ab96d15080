//! The linter: checks workflow files in the spirit of actionlint and reports
//! [`Diagnostic`]s (`file:line:col: message [rule]`).
//!
//! Every problem the loader finds is reported (rule `syntax-check`, or `expression`,
//! `events`, `permissions` for those); the model it could build is then checked for what GitHub
//! would reject or mis-run: ids ([`structure`]), the `needs` graph, filters and schedules, shells
//! and runner labels, and every expression against the context-availability table and the
//! workflow's own jobs, steps, matrix and inputs ([`expressions`]). Reusable workflows and actions
//! of the same repository (`uses: ./...`) are read and calls checked against them ([`calls`]).

mod actions;
mod calls;
mod expressions;
mod schema;
mod structure;
mod types;
mod untrusted;

use crate::diagnostic::{Diagnostic, Pos, Rule};
use crate::load::{Source, decode};
use crate::model::{TemplateString, Workflow};

/// Lints each file; findings come in file order, then by position.
pub fn lint(files: &[Source]) -> Vec<Diagnostic> {
    files.iter().flat_map(lint_one).collect()
}

fn lint_one(source: &Source) -> Vec<Diagnostic> {
    let (workflow, mut findings) = decode(source);
    if let Some(workflow) = workflow {
        let local = calls::LocalFiles::read(source, &workflow);
        let mut sink = Findings {
            workflow: &workflow,
            local: &local,
            found: Vec::new(),
        };
        structure::check(&mut sink);
        actions::check(&mut sink);
        calls::check(&mut sink);
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
    /// The files of the same repository the workflow calls with `./`.
    local: &'w calls::LocalFiles,
    found: Vec<Diagnostic>,
}

impl Findings<'_> {
    /// Reports a problem at byte `offset` of `template` (see [`anchored`]), naming the exact
    /// line when that is not where the finding is placed.
    fn report_in(
        &mut self,
        template: &TemplateString,
        offset: usize,
        rule: Rule,
        message: impl Into<String>,
    ) {
        let exact = template.position_of(offset);
        let pos = anchored(template, offset);
        let mut message = message.into();
        if pos.line != exact.line {
            message.push_str(&format!(" (line {} of the file)", exact.line));
        }
        self.report(pos, rule, message);
    }

    fn report(&mut self, pos: Pos, rule: Rule, message: impl Into<String>) {
        self.found.push(Diagnostic::new(
            self.workflow.file.clone(),
            pos,
            rule,
            message,
        ));
    }
}

/// Where a finding at byte `offset` of `template` is placed: at that position, except inside a
/// multi-line (block) scalar, where it goes on the line of the block's key, as GitHub and
/// actionlint place it, with the column the offset would have on that line.
fn anchored(template: &TemplateString, offset: usize) -> Pos {
    let exact = template.position_of(offset);
    if template.raw().contains('\n') {
        Pos::new(template.pos().line.saturating_sub(1).max(1), exact.column)
    } else {
        exact
    }
}
