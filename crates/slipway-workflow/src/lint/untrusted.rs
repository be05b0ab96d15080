//! Script injection: values anyone can set (an issue's title, a pull request's branch name, a
//! commit message) expanded with `${{ }}` into a `run:` script or a github-script `script`
//! become code. GitHub's "Security hardening for GitHub Actions" lists them; the fix is to pass
//! the value through an environment variable.

use slipway_expr::{BinaryOp, Expr, ExprKind, Function, Literal, Span};

/// Property paths (lower case, `*` for any element) whose values an outsider controls.
const UNTRUSTED: &[&str] = &[
    "github.head_ref",
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.review_comment.body",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.email",
    "github.event.commits.*.author.name",
    "github.event.head_commit.message",
    "github.event.head_commit.author.email",
    "github.event.head_commit.author.name",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.author.name",
    "github.event.workflow_run.pull_requests.*.head.ref",
];

/// The untrusted values `expr` expands to, with their spans and paths as written.
pub(super) fn untrusted_values(expr: &Expr) -> Vec<(Span, String)> {
    let mut found = Vec::new();
    collect(expr, &mut found);
    found
}

fn collect(expr: &Expr, found: &mut Vec<(Span, String)>) {
    match expr.kind() {
        ExprKind::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            left,
            right,
        } => {
            collect(left, found);
            collect(right, found);
        }
        // Comparisons, negations and predicates yield booleans: nothing of the value leaks.
        ExprKind::Binary { .. } | ExprKind::Not(_) | ExprKind::Literal(_) => {}
        ExprKind::Call(call) => {
            if matches!(
                call.function(),
                Function::Format | Function::Join | Function::ToJson | Function::Case
            ) {
                for arg in call.args() {
                    collect(arg, found);
                }
            }
        }
        _ => {
            if let Some(path) = path_of(expr) {
                let joined = path.join(".");
                if UNTRUSTED.iter().any(|u| matches_path(u, &path)) {
                    found.push((expr.span(), joined));
                }
            }
        }
    }
}

/// `github.event.commits[0].message` as `[github, event, commits, *, message]`.
fn path_of(expr: &Expr) -> Option<Vec<String>> {
    match expr.kind() {
        ExprKind::Context(name) => Some(vec![name.to_ascii_lowercase()]),
        ExprKind::Property { target, name } => {
            let mut path = path_of(target)?;
            path.push(name.to_ascii_lowercase());
            Some(path)
        }
        ExprKind::Index { target, index } => {
            let mut path = path_of(target)?;
            match index.kind() {
                ExprKind::Literal(Literal::String(name)) => path.push(name.to_ascii_lowercase()),
                _ => path.push("*".to_owned()),
            }
            Some(path)
        }
        ExprKind::Filter(target) => {
            let mut path = path_of(target)?;
            path.push("*".to_owned());
            Some(path)
        }
        _ => None,
    }
}

/// Whether `path` reads the untrusted value `pattern` or something inside it.
fn matches_path(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    path.len() >= parts.len()
        && parts
            .iter()
            .zip(path)
            .all(|(p, q)| *p == q || (*p == "*" && q == "*"))
}
