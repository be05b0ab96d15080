//! The GitHub Actions expression language: what goes between `${{` and `}}`.
//!
//! - [`parse`] turns expression text into an [`Expr`] (checking function names and arity), with
//!   byte [`Span`]s the caller maps to file positions; `Display` prints it back so that parsing
//!   the printed text gives the same tree.
//! - [`evaluate`] computes a [`Value`] from [`Contexts`] (`github`, `env`, `matrix`, ...) and an
//!   [`ExprHost`] (job status and `hashFiles`), following GitHub's documented coercions.
//! - [`Template`] handles strings embedding `${{ }}`; [`Condition`] handles `if:` values.
//! - [`hash_files`] implements `hashFiles()` over a workspace; it is the only code here that
//!   touches the disk.
//!
//! ```
//! use slipway_expr::{Contexts, JobStatus, Value, WorkspaceHost, evaluate, parse};
//!
//! let mut contexts = Contexts::new();
//! contexts.insert("github", Value::from(serde_json::json!({"ref": "refs/heads/main"})));
//! let host = WorkspaceHost::new(".", JobStatus::Success);
//! let expr = parse("github.ref == 'REFS/HEADS/MAIN' && 'yes' || 'no'").unwrap();
//! assert_eq!(evaluate(&expr, &contexts, &host).unwrap(), Value::from("yes"));
//! ```

mod ast;
mod eval;
mod functions;
pub mod hash_files;
mod lexer;
mod parser;
mod template;
mod value;

pub use ast::{BinaryOp, Call, Expr, ExprKind, Function, Literal, Span};
pub use eval::{Contexts, ContextsError, EvalError, EvalErrorKind, ExprHost, JobStatus, evaluate};
pub use hash_files::{HashFilesError, WorkspaceHost, matching_files};
pub use parser::{MAX_DEPTH, ParseError, ParseErrorKind, parse};
pub use template::{Condition, Segment, Template, TemplateError};
pub use value::{Value, compare_ignore_case, format_number, parse_number};
