//! Static types of expressions, after actionlint's type checker (its docs/checks.md, "Type
//! checks for expression syntax"): every context has a schema, properties of strict objects
//! must exist, only objects take property access, filters apply to arrays and objects, and
//! function arguments must have usable types. Property names are case-insensitive, as GitHub
//! reads them. What cannot be known statically is `any`, which never causes a finding.

use std::collections::BTreeMap;
use std::fmt;

use slipway_expr::{BinaryOp, Expr, ExprKind, Function, Literal, Span, Value};

/// The type of an expression's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ty {
    Any,
    Null,
    Bool,
    Number,
    String,
    /// An array; `filtered` when it is the result of `.*`, so a property access maps over it.
    Array {
        item: Box<Ty>,
        filtered: bool,
    },
    Object(Object),
}

/// An object's known properties (lower-case names) and the type of any other property:
/// `None` makes the object strict, so reading an unknown property is an error.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Object {
    props: BTreeMap<String, Ty>,
    rest: Option<Box<Ty>>,
}

impl Object {
    /// An object with exactly these properties.
    pub(super) fn strict<'a>(props: impl IntoIterator<Item = (&'a str, Ty)>) -> Object {
        Object {
            props: props
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            rest: None,
        }
    }

    /// An object whose every property has type `value` (`env`, `secrets`).
    pub(super) fn map(value: Ty) -> Object {
        Object {
            props: BTreeMap::new(),
            rest: Some(Box::new(value)),
        }
    }

    /// Lets properties not listed have type `rest`.
    pub(super) fn with_rest(mut self, rest: Ty) -> Object {
        self.rest = Some(Box::new(rest));
        self
    }

    /// Adds or widens a property.
    pub(super) fn insert(&mut self, name: &str, ty: Ty) {
        let key = name.to_ascii_lowercase();
        let merged = match self.props.remove(&key) {
            Some(old) => old.merge(ty),
            None => ty,
        };
        self.props.insert(key, merged);
    }

    fn get(&self, name: &str) -> Option<Ty> {
        self.props
            .get(&name.to_ascii_lowercase())
            .cloned()
            .or_else(|| self.rest.as_deref().cloned())
    }

    /// The type of every value, for `.*` over an object.
    fn values(&self) -> Ty {
        let mut types = self.props.values().chain(self.rest.as_deref());
        let first = types.next().cloned().unwrap_or(Ty::Any);
        types.fold(first, |acc, t| acc.merge(t.clone()))
    }
}

impl Ty {
    pub(super) fn object(object: Object) -> Ty {
        Ty::Object(object)
    }

    fn array(item: Ty) -> Ty {
        Ty::Array {
            item: Box::new(item),
            filtered: false,
        }
    }

    /// The type of a literal value (from YAML or JSON); strings holding `${{ }}` are `any`.
    pub(super) fn of_value(value: &Value) -> Ty {
        match value {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Number(_) => Ty::Number,
            Value::String(s) if s.contains("${{") => Ty::Any,
            Value::String(_) => Ty::String,
            Value::Array(items) => Ty::array(Ty::merge_all(items.iter().map(Ty::of_value))),
            Value::Object(entries) => {
                let mut object = Object::default();
                for (k, v) in entries.iter() {
                    object.insert(k, Ty::of_value(v));
                }
                Ty::Object(object)
            }
        }
    }

    /// The common type of several values (`any` when there are none).
    pub(super) fn merge_all(types: impl IntoIterator<Item = Ty>) -> Ty {
        let mut types = types.into_iter();
        let first = types.next().unwrap_or(Ty::Any);
        types.fold(first, Ty::merge)
    }

    /// The type of a value that is either `self` or `other`.
    pub(super) fn merge(self, other: Ty) -> Ty {
        match (self, other) {
            (a, b) if a == b => a,
            (Ty::Object(mut a), Ty::Object(b)) => {
                for (k, v) in b.props {
                    a.insert(&k, v);
                }
                // A property one side lacks may be missing at run time: stay lenient.
                a.rest = Some(Box::new(Ty::Any));
                Ty::Object(a)
            }
            (Ty::Array { item: a, .. }, Ty::Array { item: b, .. }) => Ty::array(a.merge(*b)),
            _ => Ty::Any,
        }
    }

    /// Whether the value can stand where a string is expected.
    fn is_stringish(&self) -> bool {
        !matches!(self, Ty::Object(_) | Ty::Array { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            Ty::Any => "any",
            Ty::Null => "null",
            Ty::Bool => "bool",
            Ty::Number => "number",
            Ty::String => "string",
            Ty::Array { .. } => "array",
            Ty::Object(_) => "object",
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Array { item, .. } => write!(f, "array<{item}>"),
            Ty::Object(object) if object.props.is_empty() => match &object.rest {
                Some(rest) => write!(f, "{{string => {rest}}}"),
                None => f.write_str("{}"),
            },
            Ty::Object(object) => {
                f.write_str("{")?;
                for (i, (k, v)) in object.props.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                if object.rest.is_some() {
                    f.write_str("; ...")?;
                }
                f.write_str("}")
            }
            other => f.write_str(other.name()),
        }
    }
}

/// A type error and where in the expression text it starts.
#[derive(Debug)]
pub(super) struct TypeError {
    pub(super) span: Span,
    pub(super) message: String,
}

/// Infers types, collecting errors; `context` gives each context's type (`None` for a context
/// the caller reports itself).
pub(super) struct Typer<'c> {
    context: &'c dyn Fn(&str) -> Option<Ty>,
    pub(super) errors: Vec<TypeError>,
}

impl<'c> Typer<'c> {
    pub(super) fn new(context: &'c dyn Fn(&str) -> Option<Ty>) -> Typer<'c> {
        Typer {
            context,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, span: Span, message: String) {
        self.errors.push(TypeError { span, message });
    }

    /// The type of `expr`.
    pub(super) fn infer(&mut self, expr: &Expr) -> Ty {
        match expr.kind() {
            ExprKind::Literal(literal) => match literal {
                Literal::Null => Ty::Null,
                Literal::Bool(_) => Ty::Bool,
                Literal::Number(_) => Ty::Number,
                Literal::String(_) => Ty::String,
            },
            ExprKind::Context(name) => {
                (self.context)(&name.to_ascii_lowercase()).unwrap_or(Ty::Any)
            }
            ExprKind::Property { target, name } => {
                let receiver = self.infer(target);
                self.property(receiver, name, expr.span())
            }
            ExprKind::Index { target, index } => {
                let receiver = self.infer(target);
                let key = self.infer(index);
                self.index(receiver, key, index, expr.span())
            }
            ExprKind::Filter(target) => {
                let receiver = self.infer(target);
                let item = match receiver {
                    Ty::Any => Ty::Any,
                    Ty::Array { item, .. } => *item,
                    Ty::Object(object) => object.values(),
                    other => {
                        self.error(expr.span(), format!("the object filter '.*' applies to arrays and objects, not to type {}", other.name()));
                        return Ty::Any;
                    }
                };
                Ty::Array {
                    item: Box::new(item),
                    filtered: true,
                }
            }
            ExprKind::Not(operand) => {
                self.infer(operand);
                Ty::Bool
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.infer(left);
                let r = self.infer(right);
                match op {
                    BinaryOp::And | BinaryOp::Or => l.merge(r),
                    _ => {
                        self.comparison(*op, &l, &r, expr.span());
                        Ty::Bool
                    }
                }
            }
            ExprKind::Call(call) => {
                let args: Vec<Ty> = call.args().iter().map(|a| self.infer(a)).collect();
                self.call(call.function(), call.args(), &args, expr.span())
            }
        }
    }

    /// GitHub compares values of different types by converting them to numbers, which makes
    /// comparisons with objects, arrays (compared by identity) and, for ordering, booleans and
    /// null meaningless.
    fn comparison(&mut self, op: BinaryOp, left: &Ty, right: &Ty, span: Span) {
        let meaningless = match op {
            BinaryOp::Eq | BinaryOp::Ne => {
                let composite = |t: &Ty| matches!(t, Ty::Object(_) | Ty::Array { .. });
                let open = |t: &Ty| matches!(t, Ty::Any | Ty::Null);
                (composite(left) || composite(right))
                    && !open(left)
                    && !open(right)
                    && left != right
            }
            _ => {
                let ordered = |t: &Ty| matches!(t, Ty::Any | Ty::Number | Ty::String);
                !ordered(left) || !ordered(right)
            }
        };
        if meaningless {
            self.error(
                span,
                format!(
                    "a value of type {left} cannot be compared with a value of type {right} by '{}'",
                    op.symbol()
                ),
            );
        }
    }

    fn property(&mut self, receiver: Ty, name: &str, span: Span) -> Ty {
        match receiver {
            Ty::Any => Ty::Any,
            Ty::Object(object) => match object.get(name) {
                Some(ty) => ty,
                None => {
                    self.error(
                        span,
                        format!(
                            "property '{name}' is not defined in object type {}",
                            Ty::Object(object)
                        ),
                    );
                    Ty::Any
                }
            },
            Ty::Array {
                item,
                filtered: true,
            } => {
                let ty = self.property(*item, name, span);
                Ty::Array {
                    item: Box::new(ty),
                    filtered: true,
                }
            }
            other => {
                self.error(
                    span,
                    format!(
                        "property '{name}' is read from a value of type {other}; only objects have properties"
                    ),
                );
                Ty::Any
            }
        }
    }

    fn index(&mut self, receiver: Ty, key: Ty, index: &Expr, span: Span) -> Ty {
        match receiver {
            Ty::Any => Ty::Any,
            Ty::Object(object) => {
                if let ExprKind::Literal(Literal::String(name)) = index.kind() {
                    return self.property(Ty::Object(object), name, span);
                }
                if !matches!(key, Ty::Any | Ty::String) {
                    self.error(
                        span,
                        format!(
                            "an object is indexed by a string, not by type {}",
                            key.name()
                        ),
                    );
                }
                object.values()
            }
            Ty::Array { item, .. } => {
                if !matches!(key, Ty::Any | Ty::Number) {
                    self.error(
                        span,
                        format!(
                            "an array is indexed by a number, not by type {}",
                            key.name()
                        ),
                    );
                }
                *item
            }
            other => {
                self.error(
                    span,
                    format!("only arrays and objects can be indexed, not a value of type {other}"),
                );
                Ty::Any
            }
        }
    }

    fn call(&mut self, function: Function, exprs: &[Expr], args: &[Ty], span: Span) -> Ty {
        match function {
            Function::StartsWith | Function::EndsWith => {
                self.string_args(function, args, span);
                Ty::Bool
            }
            Function::Contains => {
                if let Some(item) = args.get(1)
                    && !item.is_stringish()
                {
                    self.error(span, format!("the 2nd argument of contains() is the item searched for, a string or number, not type {}", item.name()));
                }
                Ty::Bool
            }
            Function::Format => {
                self.string_args(function, args, span);
                if let Some(ExprKind::Literal(Literal::String(text))) =
                    exprs.first().map(Expr::kind)
                {
                    self.format_placeholders(text, args.len() - 1, span);
                }
                Ty::String
            }
            Function::Join => {
                if let Some(separator) = args.get(1)
                    && !separator.is_stringish()
                {
                    self.error(
                        span,
                        format!(
                            "the separator of join() must be a string, not type {}",
                            separator.name()
                        ),
                    );
                }
                Ty::String
            }
            Function::ToJson | Function::HashFiles => {
                if function == Function::HashFiles {
                    self.string_args(function, args, span);
                }
                Ty::String
            }
            Function::FromJson => match exprs.first().map(Expr::kind) {
                Some(ExprKind::Literal(Literal::String(text))) => {
                    match Value::from_json_str(text) {
                        Ok(value) => Ty::of_value(&value),
                        Err(e) => {
                            self.error(
                                span,
                                format!("fromJSON() is given invalid JSON '{text}': {e}"),
                            );
                            Ty::Any
                        }
                    }
                }
                _ => Ty::Any,
            },
            Function::Case => {
                let values = args
                    .chunks(2)
                    .filter_map(|pair| pair.get(1).or(pair.first()).cloned());
                Ty::merge_all(values)
            }
            Function::Success | Function::Always | Function::Cancelled | Function::Failure => {
                Ty::Bool
            }
        }
    }

    fn string_args(&mut self, function: Function, args: &[Ty], span: Span) {
        for (i, arg) in args.iter().enumerate() {
            if !arg.is_stringish() {
                self.error(
                    span,
                    format!(
                        "argument {} of {}() must be a string, not type {}; convert it with toJSON() if that is meant",
                        i + 1,
                        function.name(),
                        arg.name()
                    ),
                );
            }
        }
    }

    /// `format()`'s `{N}` placeholders must each have an argument, and every argument a
    /// placeholder.
    fn format_placeholders(&mut self, text: &str, given: usize, span: Span) {
        let used = placeholders(text);
        if let Some(missing) = used.iter().find(|&&n| n >= given) {
            self.error(span, format!("format string '{text}' uses placeholder {{{missing}}} but only {given} value(s) follow it"));
        }
        if let Some(unused) = (0..given).find(|n| !used.contains(n)) {
            self.error(span, format!("format string '{text}' has no placeholder {{{unused}}}, so argument {} is unused", unused + 2));
        }
    }
}

/// The numbers of the `{N}` placeholders of a format string (`{{` and `}}` are escapes).
fn placeholders(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => {
                let digits: String = text[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let closed = bytes.get(i + 1 + digits.len()) == Some(&b'}');
                if closed && let Ok(n) = digits.parse() {
                    found.push(n);
                }
                i += 1 + digits.len();
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_escaped_braces() {
        assert_eq!(placeholders("{0} {{1}} {2}"), vec![0, 2]);
        assert_eq!(placeholders("{x} {"), Vec::<usize>::new());
    }
}
