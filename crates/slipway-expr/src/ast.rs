//! The syntax tree of an expression, and the printer that writes it back as text.
//!
//! [`Expr`] is a node with its [`Span`] (byte offsets into the text it was parsed from).
//! Grouping parentheses leave no node: the tree's shape carries them, and the printer puts back
//! exactly the parentheses that shape needs, so `parse(expr.to_string())` gives the same tree.
//! Equality ignores spans: two trees are equal when they have the same shape and leaves.

use std::fmt;

/// A byte range `start..end` in the text an expression was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The same range moved `by` bytes later.
    pub fn shifted(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

/// An expression node and where it was written.
#[derive(Debug, Clone)]
pub struct Expr {
    kind: ExprKind,
    span: Span,
}

impl Expr {
    /// A node of `kind` covering `span`.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// What this node is.
    pub fn kind(&self) -> &ExprKind {
        &self.kind
    }

    /// Where it was written.
    pub fn span(&self) -> Span {
        self.span
    }

    /// Calls `visit` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Expr)) {
        visit(self);
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Context(_) => {}
            ExprKind::Property { target, .. } | ExprKind::Filter(target) => target.walk(visit),
            ExprKind::Not(operand) => operand.walk(visit),
            ExprKind::Index { target, index } => {
                target.walk(visit);
                index.walk(visit);
            }
            ExprKind::Binary { left, right, .. } => {
                left.walk(visit);
                right.walk(visit);
            }
            ExprKind::Call(call) => call.args.iter().for_each(|arg| arg.walk(visit)),
        }
    }

    /// Whether a status function (`success()`, `failure()`, `always()`, `cancelled()`) is called
    /// anywhere in the expression: an `if:` without one gets an implicit `success() &&`.
    pub fn calls_status_function(&self) -> bool {
        let mut found = false;
        self.walk(&mut |node| {
            if let ExprKind::Call(call) = node.kind() {
                found |= call.function.is_status();
            }
        });
        found
    }

    /// The context path a node reads, when it is a plain chain of property accesses from a
    /// context: `github.event.action` gives `["github", "event", "action"]`. Index and filter
    /// steps end the chain (their keys are not known statically), as does anything else.
    pub fn context_path(&self) -> Option<Vec<&str>> {
        match &self.kind {
            ExprKind::Context(name) => Some(vec![name]),
            ExprKind::Property { target, name } => {
                let mut path = target.context_path()?;
                path.push(name);
                Some(path)
            }
            ExprKind::Index { target, index } => {
                let mut path = target.context_path()?;
                match index.kind() {
                    ExprKind::Literal(Literal::String(key)) => path.push(key),
                    _ => return None,
                }
                Some(path)
            }
            _ => None,
        }
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind
    }
}

/// The kinds of expression node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, `42`, `'text'`.
    Literal(Literal),
    /// A context named at the top level: `github`, `matrix`, `steps`, ...
    Context(String),
    /// `target.name`.
    Property {
        /// What is dereferenced.
        target: Box<Expr>,
        /// The property name as written.
        name: String,
    },
    /// `target[index]`.
    Index {
        /// What is indexed.
        target: Box<Expr>,
        /// The index expression.
        index: Box<Expr>,
    },
    /// `target.*`: every element of an array, or every value of an object.
    Filter(Box<Expr>),
    /// `!operand`.
    Not(Box<Expr>),
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        left: Box<Expr>,
        /// The right operand.
        right: Box<Expr>,
    },
    /// A function call whose arity was checked when it was built.
    Call(Call),
}

/// A literal value written in an expression.
#[derive(Debug, Clone)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number literal, `NaN` and `Infinity` included.
    Number(f64),
    /// A single-quoted string, unescaped.
    String(String),
}

impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        match (self, other) {
            (Literal::Null, Literal::Null) => true,
            (Literal::Bool(a), Literal::Bool(b)) => a == b,
            // Bitwise, so a NaN literal equals itself and `-0` stays distinct from `0`.
            (Literal::Number(a), Literal::Number(b)) => a.to_bits() == b.to_bits(),
            (Literal::String(a), Literal::String(b)) => a == b,
            _ => false,
        }
    }
}

/// The binary operators, tightest binding first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&&`, which yields one of its operands.
    And,
    /// `||`, which yields one of its operands.
    Or,
}

impl BinaryOp {
    /// How tightly the operator binds (higher binds tighter), from GitHub's operator table:
    /// comparisons, then equality, then `&&`, then `||`. All are left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::And => 2,
            BinaryOp::Or => 1,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

/// The functions GitHub's expressions provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `contains(search, item)`
    Contains,
    /// `startsWith(searchString, searchValue)`
    StartsWith,
    /// `endsWith(searchString, searchValue)`
    EndsWith,
    /// `format(string, replaceValue0, ...)`
    Format,
    /// `join(array, optionalSeparator)`
    Join,
    /// `toJSON(value)`
    ToJson,
    /// `fromJSON(value)`
    FromJson,
    /// `hashFiles(path, ...)`
    HashFiles,
    /// `case(pred1, val1, ..., default)`
    Case,
    /// `success()`
    Success,
    /// `always()`
    Always,
    /// `cancelled()`
    Cancelled,
    /// `failure()`
    Failure,
}

impl Function {
    /// Every function, for tools that list them.
    pub const ALL: [Function; 13] = [
        Function::Contains,
        Function::StartsWith,
        Function::EndsWith,
        Function::Format,
        Function::Join,
        Function::ToJson,
        Function::FromJson,
        Function::HashFiles,
        Function::Case,
        Function::Success,
        Function::Always,
        Function::Cancelled,
        Function::Failure,
    ];

    /// Looks a function up by name, ignoring case as GitHub does (`tojson` is `toJSON`).
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The documented spelling.
    pub fn name(self) -> &'static str {
        match self {
            Function::Contains => "contains",
            Function::StartsWith => "startsWith",
            Function::EndsWith => "endsWith",
            Function::Format => "format",
            Function::Join => "join",
            Function::ToJson => "toJSON",
            Function::FromJson => "fromJSON",
            Function::HashFiles => "hashFiles",
            Function::Case => "case",
            Function::Success => "success",
            Function::Always => "always",
            Function::Cancelled => "cancelled",
            Function::Failure => "failure",
        }
    }

    /// Whether this is a job-status check function.
    pub fn is_status(self) -> bool {
        matches!(
            self,
            Function::Success | Function::Always | Function::Cancelled | Function::Failure
        )
    }

    /// Whether `count` arguments is a valid call.
    pub fn accepts(self, count: usize) -> bool {
        match self {
            Function::Contains | Function::StartsWith | Function::EndsWith => count == 2,
            Function::Format | Function::HashFiles => count >= 1,
            Function::Join => (1..=2).contains(&count),
            Function::ToJson | Function::FromJson => count == 1,
            Function::Case => count >= 3 && count % 2 == 1,
            Function::Success | Function::Always | Function::Cancelled | Function::Failure => {
                count == 0
            }
        }
    }

    /// The accepted argument counts, in words, for error messages.
    pub fn arity_description(self) -> &'static str {
        match self {
            Function::Contains | Function::StartsWith | Function::EndsWith => "2 arguments",
            Function::Format | Function::HashFiles => "at least 1 argument",
            Function::Join => "1 or 2 arguments",
            Function::ToJson | Function::FromJson => "1 argument",
            Function::Case => "an odd number of arguments, at least 3",
            Function::Success | Function::Always | Function::Cancelled | Function::Failure => {
                "no arguments"
            }
        }
    }
}

/// A call of a known function with an argument count it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    function: Function,
    args: Vec<Expr>,
}

impl Call {
    /// A call, or `None` when `function` does not take that many arguments.
    pub fn new(function: Function, args: Vec<Expr>) -> Option<Call> {
        function
            .accepts(args.len())
            .then_some(Call { function, args })
    }

    /// `success()`, the implicit check of `if:` conditions.
    pub(crate) fn success() -> Call {
        Call {
            function: Function::Success,
            args: Vec::new(),
        }
    }

    /// The function called.
    pub fn function(&self) -> Function {
        self.function
    }

    /// The arguments, in order.
    pub fn args(&self) -> &[Expr] {
        &self.args
    }
}

/// Precedence of the postfix and prefix forms, above every binary operator.
const UNARY_PRECEDENCE: u8 = 5;
const POSTFIX_PRECEDENCE: u8 = 6;

fn precedence_of(expr: &Expr) -> u8 {
    match expr.kind() {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Not(_) => UNARY_PRECEDENCE,
        _ => POSTFIX_PRECEDENCE,
    }
}

/// Writes the target of `.name` or `.*`. A number literal there is parenthesised: `1.foo` would
/// read back as one malformed number.
fn write_deref_target(f: &mut fmt::Formatter<'_>, target: &Expr) -> fmt::Result {
    if let ExprKind::Literal(Literal::Number(_)) = target.kind() {
        write!(f, "({target})")
    } else {
        write_operand(f, target, POSTFIX_PRECEDENCE)
    }
}

/// Writes `expr`, in parentheses when it binds more loosely than `min` requires.
fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr, min: u8) -> fmt::Result {
    if precedence_of(expr) < min {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) if n.is_nan() => f.write_str("NaN"),
            Literal::Number(n) if n.is_infinite() => {
                f.write_str(if *n > 0.0 { "Infinity" } else { "-Infinity" })
            }
            // Rust's shortest round-trip form: parsing it back gives the same bits.
            Literal::Number(n) => write!(f, "{n}"),
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(literal) => write!(f, "{literal}"),
            ExprKind::Context(name) => f.write_str(name),
            ExprKind::Property { target, name } => {
                write_deref_target(f, target)?;
                write!(f, ".{name}")
            }
            ExprKind::Index { target, index } => {
                write_operand(f, target, POSTFIX_PRECEDENCE)?;
                write!(f, "[{index}]")
            }
            ExprKind::Filter(target) => {
                write_deref_target(f, target)?;
                f.write_str(".*")
            }
            ExprKind::Not(operand) => {
                f.write_str("!")?;
                write_operand(f, operand, UNARY_PRECEDENCE)
            }
            ExprKind::Binary { op, left, right } => {
                // Left-associative: the left side may share the precedence, the right may not.
                write_operand(f, left, op.precedence())?;
                write!(f, " {} ", op.symbol())?;
                write_operand(f, right, op.precedence() + 1)
            }
            ExprKind::Call(call) => {
                write!(f, "{}(", call.function.name())?;
                for (i, arg) in call.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}
