//! From YAML text to the typed [`Workflow`], reporting every problem with its position.
//!
//! Decoding never stops at the first problem: each wrong key or value is reported and skipped,
//! so one run lists everything, and the linter can keep checking the parts that did decode.
//! [`load`] succeeds only when nothing was reported.

use std::sync::Arc;

use indexmap::IndexMap;
use slipway_expr::{Condition, Template, Value};

mod action;

pub use action::load_action;

use crate::catalog;
use crate::diagnostic::{Diagnostic, Pos, Rule};
use crate::model::{
    Access, CallOutput, CallSecret, Concurrency, Container, Credentials, Dimension, Entry, Env,
    Environment, Filter, IfCondition, InputDef, InputType, Job, JobSecrets, Mapping, Matrix,
    MatrixDef, Permissions, Rows, RunDefaults, RunsOn, Snapshot, Spanned, Step, StepAction,
    Strategy, TemplateString, Templated, Trigger, Triggers, Workflow,
};
use crate::yaml::{self, Node, NodeKind, PosMap, Typed, typed_scalar};

/// A workflow file's name and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    name: Arc<str>,
    text: String,
    /// Where the text was read from, when it was a file: what `./` in `uses:` is relative to.
    path: Option<std::path::PathBuf>,
}

impl Source {
    /// A source named `name` (shown in diagnostics) holding `text`.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
            path: None,
        }
    }

    /// Reads a workflow file.
    pub fn read(path: &std::path::Path) -> std::io::Result<Source> {
        Ok(Source::new(path.display().to_string(), std::fs::read_to_string(path)?).at(path))
    }

    /// The same source, read from the file at `path` (its name stays what diagnostics show):
    /// the linter resolves `./` references of a workflow in `.github/workflows/` from there.
    pub fn at(mut self, path: &std::path::Path) -> Source {
        self.path = Some(path.to_owned());
        self
    }

    /// The file the text was read from, when known.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The name diagnostics use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Loads a workflow, or returns every problem found (YAML syntax, unknown keys, wrong types,
/// missing keys, malformed expressions), each with its file, line and column.
pub fn load(source: &Source) -> Result<Workflow, Vec<Diagnostic>> {
    let (workflow, diagnostics) = decode(source);
    match workflow {
        Some(workflow) if diagnostics.is_empty() => Ok(workflow),
        _ => Err(diagnostics),
    }
}

/// Decodes as much as possible: the model (if the document is a mapping at all) and the
/// problems met on the way.
pub(crate) fn decode(source: &Source) -> (Option<Workflow>, Vec<Diagnostic>) {
    let mut decoder = Decoder {
        file: source.name.clone(),
        diagnostics: Vec::new(),
    };
    let workflow = match yaml::parse(&source.text) {
        Ok(Some(root)) => decoder.workflow(&root),
        Ok(None) => {
            decoder.error(Pos::new(1, 1), "the workflow file is empty");
            None
        }
        Err(e) => {
            decoder.error(e.pos, format!("invalid YAML: {}", e.message));
            None
        }
    };
    let mut diagnostics = decoder.diagnostics;
    diagnostics.sort_by_key(|d| d.pos());
    (workflow, diagnostics)
}

const WORKFLOW_KEYS: &[&str] = &[
    "name",
    "run-name",
    "on",
    "env",
    "defaults",
    "permissions",
    "concurrency",
    "jobs",
];
const JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "if",
    "runs-on",
    "environment",
    "outputs",
    "env",
    "defaults",
    "timeout-minutes",
    "continue-on-error",
    "strategy",
    "container",
    "services",
    "steps",
    "uses",
    "with",
    "secrets",
    "concurrency",
    "permissions",
    "snapshot",
];
/// The keys a job calling a reusable workflow may have.
const CALLER_JOB_KEYS: &[&str] = &[
    "name",
    "uses",
    "with",
    "secrets",
    "needs",
    "if",
    "permissions",
    "concurrency",
    "strategy",
];
const STEP_KEYS: &[&str] = &[
    "id",
    "if",
    "name",
    "uses",
    "run",
    "shell",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
    "working-directory",
];
const CONTAINER_KEYS: &[&str] = &["image", "credentials", "env", "ports", "volumes", "options"];
/// Service containers may also override the image's entrypoint and command ("Workflow syntax:
/// jobs.<job_id>.services.<service_id>.entrypoint" and "command").
const SERVICE_KEYS: &[&str] = &[
    "image",
    "credentials",
    "env",
    "ports",
    "volumes",
    "options",
    "entrypoint",
    "command",
];

/// The fields of a mapping, after unknown keys were reported.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Where `key` itself is written.
    fn key_pos(&self, key: &str) -> Option<Pos> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, key_node, _)| key_node.pos)
    }
}

pub(crate) struct Decoder {
    file: Arc<str>,
    diagnostics: Vec<Diagnostic>,
}

fn list(keys: &[&str]) -> String {
    keys.join(", ")
}

impl Decoder {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.report(pos, Rule::SyntaxCheck, message);
    }

    fn report(&mut self, pos: Pos, rule: Rule, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(self.file.clone(), pos, rule, message));
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.error(
            node.pos,
            format!("{what} must be {expected}, but it is {}", node.type_name()),
        );
    }

    /// Reports an empty sequence or an empty quoted string where a value is needed: they select
    /// nothing (filters, `needs`, `types`) or fail later, which is never meant. A warning, so a
    /// workflow GitHub may still run is not refused here.
    fn reject_empty(&mut self, node: &Node, what: &str) {
        let empty = match &node.kind {
            NodeKind::Sequence(items) => items.is_empty(),
            NodeKind::Scalar(scalar) => !scalar.plain && scalar.value.is_empty(),
            NodeKind::Mapping(_) => false,
        };
        if empty {
            self.report(
                node.pos,
                Rule::EmptyValue,
                format!("{what} is empty; give it a value or remove it"),
            );
        }
    }

    /// The entries of a mapping (`None`, reported, when `node` is something else). Keys must be
    /// scalars; keys outside `allowed` are reported with the list of allowed keys.
    fn mapping<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let entries = self.entries(node, what)?;
        let mut fields = Fields {
            entries: Vec::new(),
        };
        for (key, key_node, value) in entries {
            if allowed.contains(&key) {
                fields.entries.push((key, key_node, value));
            } else {
                self.error(
                    key_node.pos,
                    format!(
                        "unknown key '{key}' in {what}; expected one of: {}",
                        list(allowed)
                    ),
                );
            }
        }
        Some(fields)
    }

    /// The entries of a mapping with arbitrary (scalar) keys.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(&'n str, &'n Node, &'n Node)>> {
        let NodeKind::Mapping(entries) = &node.kind else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            match key.as_str() {
                Some(name) => out.push((name, key, value)),
                None => self.error(key.pos, format!("keys of {what} must be strings")),
            }
        }
        Some(out)
    }

    fn required<'n>(
        &mut self,
        fields: &Fields<'n>,
        key: &str,
        what: &str,
        pos: Pos,
    ) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            self.error(pos, format!("{what} is missing required key '{key}'"));
        }
        node
    }

    /// A scalar as a plain string (numbers and booleans keep their text, as GitHub reads them).
    fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::Scalar(_) if node.is_null() => {
                self.wrong_type(node, what, "a string");
                None
            }
            NodeKind::Scalar(scalar) => Some(Spanned {
                value: scalar.value.clone(),
                pos: node.pos,
            }),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn optional_string(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
    ) -> Option<Spanned<String>> {
        let node = fields.get(key)?;
        self.string(node, &format!("'{key}' of {what}"))
    }

    /// A scalar that may embed expressions; syntax errors in them are reported.
    fn template(&mut self, node: &Node, what: &str) -> Option<TemplateString> {
        let NodeKind::Scalar(scalar) = &node.kind else {
            self.wrong_type(node, what, "a string");
            return None;
        };
        let raw = if node.is_null() {
            String::new()
        } else {
            scalar.value.clone()
        };
        Some(self.template_text(raw, node.pos, scalar.map.clone()))
    }

    fn template_text(&mut self, raw: String, pos: Pos, map: PosMap) -> TemplateString {
        let template = match Template::parse(&raw) {
            Ok(template) => template,
            Err(e) => {
                let at = map.position(&raw, e.span().start);
                self.report(at, Rule::Expression, format!("invalid expression: {e}"));
                Template::literal(raw.clone())
            }
        };
        TemplateString::new(raw, pos, map, template)
    }

    fn optional_template(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
    ) -> Option<TemplateString> {
        let node = fields.get(key)?;
        self.template(node, &format!("'{key}' of {what}"))
    }

    /// `if:` (or another condition `key` of `fields`): a string or boolean, with optional
    /// `${{ }}`.
    fn condition(&mut self, fields: &Fields<'_>, key: &str, what: &str) -> Option<IfCondition> {
        let node = fields.get(key)?;
        let key_pos = fields.key_pos(key).unwrap_or(node.pos);
        let pos = if node.pos.line > key_pos.line {
            key_pos
        } else {
            node.pos
        };
        let source = self.template(node, what)?;
        match Condition::parse(source.raw()) {
            Ok(condition) => Some(IfCondition {
                source,
                condition,
                pos,
            }),
            Err(e) => {
                // Errors inside `${{ }}` were already reported while parsing the template.
                if !Template::contains_expression(source.raw()) {
                    let at = source.position_of(e.span().start);
                    self.report(
                        at,
                        Rule::Expression,
                        format!("invalid expression in {what}: {e}"),
                    );
                }
                None
            }
        }
    }

    fn bool_or_expr(&mut self, node: &Node, what: &str) -> Option<Templated<bool>> {
        self.typed(node, what, "a boolean", |typed| match typed {
            Typed::Bool(b) => Some(b),
            _ => None,
        })
    }

    fn number_or_expr(&mut self, node: &Node, what: &str) -> Option<Templated<f64>> {
        self.typed(node, what, "a number", |typed| match typed {
            Typed::Number(n) => Some(n),
            _ => None,
        })
    }

    /// A scalar of a YAML type, or a string holding an expression.
    fn typed<T>(
        &mut self,
        node: &Node,
        what: &str,
        expected: &str,
        convert: impl Fn(Typed) -> Option<T>,
    ) -> Option<Templated<T>> {
        let NodeKind::Scalar(scalar) = &node.kind else {
            self.wrong_type(node, what, expected);
            return None;
        };
        if let Some(value) = convert(typed_scalar(scalar)) {
            return Some(Templated::Literal(Spanned {
                value,
                pos: node.pos,
            }));
        }
        if Template::contains_expression(&scalar.value) {
            return self.template(node, what).map(Templated::Expr);
        }
        self.wrong_type(node, what, &format!("{expected} or an expression"));
        None
    }

    /// A string or a sequence of strings, as `needs:` and filters accept.
    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        if what != "'on'" {
            self.reject_empty(node, what);
            if let NodeKind::Sequence(items) = &node.kind {
                for item in items {
                    self.reject_empty(item, &format!("an item of {what}"));
                }
            }
        }
        match &node.kind {
            NodeKind::Sequence(items) => items
                .iter()
                .filter_map(|item| self.string(item, &format!("an item of {what}")))
                .collect(),
            NodeKind::Scalar(_) => self.string(node, what).into_iter().collect(),
            NodeKind::Mapping(_) => {
                self.wrong_type(node, what, "a string or a sequence of strings");
                Vec::new()
            }
        }
    }

    fn template_list(&mut self, node: &Node, what: &str) -> Vec<TemplateString> {
        self.reject_empty(node, what);
        match &node.kind {
            NodeKind::Sequence(items) => items
                .iter()
                .filter_map(|item| {
                    let what = format!("an item of {what}");
                    self.reject_empty(item, &what);
                    self.template(item, &what)
                })
                .collect(),
            _ => {
                self.wrong_type(node, what, "a sequence");
                Vec::new()
            }
        }
    }

    /// A mapping of names to scalar values (`with:`, `outputs:`, `secrets:`).
    fn template_map(&mut self, node: &Node, what: &str) -> Mapping<TemplateString> {
        let mut out = Mapping::new();
        if node.is_null() {
            return out;
        }
        for (key, key_node, value) in self.entries(node, what).unwrap_or_default() {
            if let Some(template) = self.template(value, &format!("'{key}' of {what}")) {
                out.insert(
                    key.to_owned(),
                    Entry {
                        key_pos: key_node.pos,
                        value: template,
                    },
                );
            }
        }
        out
    }

    fn env(&mut self, node: &Node, what: &str) -> Env {
        if let NodeKind::Scalar(scalar) = &node.kind
            && Template::contains_expression(&scalar.value)
        {
            return self
                .template(node, what)
                .map_or_else(Env::default, Env::Expr);
        }
        Env::Map(self.template_map(node, what))
    }

    /// A YAML node as an expression value (for matrices and input defaults).
    fn value(node: &Node) -> Value {
        match &node.kind {
            NodeKind::Scalar(scalar) => match typed_scalar(scalar) {
                Typed::Null => Value::Null,
                Typed::Bool(b) => Value::Bool(b),
                Typed::Number(n) => Value::Number(n),
                Typed::String => Value::String(scalar.value.clone()),
            },
            NodeKind::Sequence(items) => Value::array(items.iter().map(Decoder::value).collect()),
            NodeKind::Mapping(entries) => Value::object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), Decoder::value(v)))
                    .collect(),
            ),
        }
    }

    fn workflow(&mut self, root: &Node) -> Option<Workflow> {
        let fields = self.mapping(root, "the workflow", WORKFLOW_KEYS)?;
        let on = match self.required(&fields, "on", "the workflow", root.pos) {
            Some(node) => self.triggers(node),
            None => Triggers::default(),
        };
        let jobs = match self.required(&fields, "jobs", "the workflow", root.pos) {
            Some(node) => self.jobs(node),
            None => IndexMap::new(),
        };
        Some(Workflow {
            file: self.file.clone(),
            name: self.optional_string(&fields, "name", "the workflow"),
            run_name: self.optional_template(&fields, "run-name", "the workflow"),
            on,
            env: fields
                .get("env")
                .map(|n| self.env(n, "'env' of the workflow"))
                .unwrap_or_default(),
            defaults: fields
                .get("defaults")
                .and_then(|n| self.defaults(n, "the workflow")),
            permissions: fields.get("permissions").and_then(|n| self.permissions(n)),
            concurrency: fields
                .get("concurrency")
                .and_then(|n| self.concurrency(n, "the workflow")),
            jobs,
        })
    }

    fn triggers(&mut self, node: &Node) -> Triggers {
        // Unknown events are reported one by one; "no events" only when nothing else was said.
        let reported_before = self.diagnostics.len();
        let mut triggers = Triggers {
            pos: node.pos,
            events: Vec::new(),
        };
        match &node.kind {
            NodeKind::Scalar(_) | NodeKind::Sequence(_) => {
                for name in self.string_list(node, "'on'") {
                    if self.known_event(&name) {
                        triggers.events.push(Trigger {
                            name,
                            ..Trigger::default()
                        });
                    }
                }
            }
            NodeKind::Mapping(_) => {
                for (key, key_node, value) in self.entries(node, "'on'").unwrap_or_default() {
                    let name = Spanned {
                        value: key.to_owned(),
                        pos: key_node.pos,
                    };
                    if self.known_event(&name) {
                        triggers.events.push(self.trigger(name, value));
                    }
                }
            }
        }
        if triggers.events.is_empty() && self.diagnostics.len() == reported_before {
            self.error(node.pos, "'on' must name at least one event");
        }
        triggers
    }

    fn known_event(&mut self, name: &Spanned<String>) -> bool {
        let known = catalog::event(&name.value).is_some();
        if !known {
            self.report(
                name.pos,
                Rule::Events,
                format!(
                    "unknown event '{}'; see \"Events that trigger workflows\"",
                    name.value
                ),
            );
        }
        known
    }

    fn trigger(&mut self, name: Spanned<String>, node: &Node) -> Trigger {
        let mut trigger = Trigger {
            name,
            ..Trigger::default()
        };
        let event = trigger.name.value.clone();
        if node.is_null() {
            return trigger;
        }
        if event == "schedule" {
            trigger.crons = self.schedule(node);
            return trigger;
        }
        let what = format!("event '{event}'");
        let allowed = catalog::event(&event).map_or(&[][..], |spec| spec.keys);
        let Some(fields) = self.mapping(node, &what, allowed) else {
            return trigger;
        };
        if let Some(types) = fields.get("types") {
            trigger.types = Some(self.string_list(types, &format!("'types' of {what}")));
        }
        let filter = |this: &mut Decoder, key: &str| {
            fields.get(key).map(|n| Filter {
                pos: n.pos,
                patterns: this.string_list(n, &format!("'{key}' of {what}")),
            })
        };
        trigger.branches = filter(self, "branches");
        trigger.branches_ignore = filter(self, "branches-ignore");
        trigger.tags = filter(self, "tags");
        trigger.tags_ignore = filter(self, "tags-ignore");
        trigger.paths = filter(self, "paths");
        trigger.paths_ignore = filter(self, "paths-ignore");
        for (include, ignore) in [
            ("branches", "branches-ignore"),
            ("tags", "tags-ignore"),
            ("paths", "paths-ignore"),
        ] {
            if let (Some(first), Some(second)) = (fields.get(include), fields.get(ignore)) {
                // At whichever of the two keys comes second: that is the one to remove.
                self.report(
                    first.pos.max(second.pos),
                    Rule::Events,
                    format!("{what} cannot use both '{include}' and '{ignore}'; use '!' patterns in '{include}' instead"),
                );
            }
        }
        // `image_version` filters; checked for shape only, since no local run receives the event.
        for key in ["names", "versions"] {
            if let Some(list) = fields.get(key) {
                self.string_list(list, &format!("'{key}' of {what}"));
            }
        }
        if let Some(workflows) = fields.get("workflows") {
            trigger.workflows = self.string_list(workflows, &format!("'workflows' of {what}"));
        }
        if let Some(inputs) = fields.get("inputs") {
            trigger.inputs = self.inputs(inputs, &event);
        }
        if let Some(outputs) = fields.get("outputs") {
            trigger.outputs = self.call_outputs(outputs);
        }
        if let Some(secrets) = fields.get("secrets") {
            trigger.secrets = self.call_secrets(secrets);
            trigger.declares_secrets = true;
        }
        trigger
    }

    fn schedule(&mut self, node: &Node) -> Vec<Spanned<String>> {
        let NodeKind::Sequence(items) = &node.kind else {
            self.wrong_type(node, "'schedule'", "a sequence of {cron: ...} mappings");
            return Vec::new();
        };
        self.reject_empty(node, "'schedule'");
        let mut crons = Vec::new();
        for item in items {
            // `timezone` (an IANA name) shifts when `cron` fires ("Events that trigger
            // workflows: schedule").
            let Some(fields) = self.mapping(item, "a schedule entry", &["cron", "timezone"]) else {
                continue;
            };
            if let Some(cron) = self.required(&fields, "cron", "a schedule entry", item.pos) {
                crons.extend(self.string(cron, "'cron'"));
            }
        }
        crons
    }

    fn inputs(&mut self, node: &Node, event: &str) -> Mapping<InputDef> {
        let mut out = Mapping::new();
        let dispatch = event == "workflow_dispatch";
        let allowed: &[&str] = if dispatch {
            &["description", "required", "default", "type", "options"]
        } else {
            &["description", "required", "default", "type"]
        };
        let types: &[&str] = if dispatch {
            &["string", "boolean", "number", "choice", "environment"]
        } else {
            &["string", "boolean", "number"]
        };
        for (name, key_node, value) in self
            .entries(node, &format!("'inputs' of event '{event}'"))
            .unwrap_or_default()
        {
            let what = format!("input '{name}'");
            let fields = if value.is_null() {
                Fields {
                    entries: Vec::new(),
                }
            } else {
                match self.mapping(value, &what, allowed) {
                    Some(fields) => fields,
                    None => continue,
                }
            };
            let kind = match fields.get("type") {
                None if dispatch => InputType::String,
                None => {
                    self.error(
                        key_node.pos,
                        format!("{what} is missing required key 'type'"),
                    );
                    InputType::String
                }
                Some(type_node) => match self.string(type_node, &format!("'type' of {what}")) {
                    Some(t) if types.contains(&t.value.as_str()) => input_type(&t.value),
                    Some(t) => {
                        self.error(
                            t.pos,
                            format!(
                                "invalid type '{}' for {what}; expected one of: {}",
                                t.value,
                                list(types)
                            ),
                        );
                        InputType::String
                    }
                    None => InputType::String,
                },
            };
            let required = fields
                .get("required")
                .and_then(|n| self.literal_bool(n, &format!("'required' of {what}")))
                .unwrap_or(false);
            let options = fields
                .get("options")
                .map(|n| self.string_list(n, &format!("'options' of {what}")))
                .unwrap_or_default();
            if kind == InputType::Choice && options.is_empty() {
                self.error(
                    key_node.pos,
                    format!("{what} has type 'choice' but no 'options'"),
                );
            }
            if kind != InputType::Choice
                && let Some(n) = fields.get("options")
            {
                self.error(
                    n.pos,
                    format!(
                        "'options' is only allowed for inputs of type 'choice', but {what} is '{}'",
                        kind.name()
                    ),
                );
            }
            let default = fields.get("default").map(|n| Spanned {
                value: Decoder::value(n),
                pos: n.pos,
            });
            out.insert(
                name.to_owned(),
                Entry {
                    key_pos: key_node.pos,
                    value: InputDef {
                        description: fields
                            .get("description")
                            .and_then(|n| n.as_str())
                            .map(str::to_owned),
                        required,
                        default,
                        kind,
                        options,
                    },
                },
            );
        }
        out
    }

    fn literal_bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Scalar(s) => match typed_scalar(s) {
                Typed::Bool(b) => Some(b),
                _ => {
                    self.wrong_type(node, what, "a boolean");
                    None
                }
            },
            _ => {
                self.wrong_type(node, what, "a boolean");
                None
            }
        }
    }

    fn call_outputs(&mut self, node: &Node) -> Mapping<CallOutput> {
        let mut out = Mapping::new();
        for (name, key_node, value) in self
            .entries(node, "'outputs' of event 'workflow_call'")
            .unwrap_or_default()
        {
            let what = format!("output '{name}'");
            let Some(fields) = self.mapping(value, &what, &["description", "value"]) else {
                continue;
            };
            let Some(value_node) = self.required(&fields, "value", &what, key_node.pos) else {
                continue;
            };
            if let Some(value) = self.template(value_node, &format!("'value' of {what}")) {
                out.insert(
                    name.to_owned(),
                    Entry {
                        key_pos: key_node.pos,
                        value: CallOutput {
                            description: fields
                                .get("description")
                                .and_then(|n| n.as_str())
                                .map(str::to_owned),
                            value,
                        },
                    },
                );
            }
        }
        out
    }

    fn call_secrets(&mut self, node: &Node) -> Mapping<CallSecret> {
        let mut out = Mapping::new();
        // `secrets:` with nothing under it declares that the workflow takes no secret.
        if node.is_null() {
            return out;
        }
        for (name, key_node, value) in self
            .entries(node, "'secrets' of event 'workflow_call'")
            .unwrap_or_default()
        {
            let what = format!("secret '{name}'");
            let fields = if value.is_null() {
                Fields {
                    entries: Vec::new(),
                }
            } else {
                match self.mapping(value, &what, &["description", "required"]) {
                    Some(fields) => fields,
                    None => continue,
                }
            };
            let required = fields
                .get("required")
                .and_then(|n| self.literal_bool(n, &format!("'required' of {what}")))
                .unwrap_or(false);
            out.insert(
                name.to_owned(),
                Entry {
                    key_pos: key_node.pos,
                    value: CallSecret {
                        description: fields
                            .get("description")
                            .and_then(|n| n.as_str())
                            .map(str::to_owned),
                        required,
                    },
                },
            );
        }
        out
    }

    fn defaults(&mut self, node: &Node, owner: &str) -> Option<RunDefaults> {
        let what = format!("'defaults' of {owner}");
        let fields = self.mapping(node, &what, &["run"])?;
        let run = fields.get("run")?;
        let what = format!("'defaults.run' of {owner}");
        let run_fields = self.mapping(run, &what, &["shell", "working-directory"])?;
        Some(RunDefaults {
            shell: self.optional_string(&run_fields, "shell", &what),
            working_directory: self.optional_template(&run_fields, "working-directory", &what),
        })
    }

    fn permissions(&mut self, node: &Node) -> Option<Permissions> {
        if let NodeKind::Scalar(scalar) = &node.kind {
            return match scalar.value.as_str() {
                "read-all" => Some(Permissions::ReadAll(node.pos)),
                "write-all" => Some(Permissions::WriteAll(node.pos)),
                other => {
                    self.report(node.pos, Rule::Permissions, format!("invalid permissions '{other}'; expected 'read-all', 'write-all' or a mapping of scopes"));
                    None
                }
            };
        }
        let mut scopes = Mapping::new();
        for (scope, key_node, value) in self.entries(node, "'permissions'")? {
            let Some((_, levels)) = catalog::PERMISSION_SCOPES
                .iter()
                .find(|(name, _)| *name == scope)
            else {
                let names: Vec<&str> = catalog::PERMISSION_SCOPES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect();
                self.report(
                    key_node.pos,
                    Rule::Permissions,
                    format!(
                        "unknown permission scope '{scope}'; expected one of: {}",
                        list(&names)
                    ),
                );
                continue;
            };
            let Some(level) = self.string(value, &format!("permission '{scope}'")) else {
                continue;
            };
            if !levels.contains(&level.value.as_str()) {
                self.report(
                    level.pos,
                    Rule::Permissions,
                    format!(
                        "invalid access '{}' for permission '{scope}'; expected one of: {}",
                        level.value,
                        list(levels)
                    ),
                );
                continue;
            }
            let access = match level.value.as_str() {
                "read" => Access::Read,
                "write" => Access::Write,
                _ => Access::None,
            };
            scopes.insert(
                scope.to_owned(),
                Entry {
                    key_pos: key_node.pos,
                    value: access,
                },
            );
        }
        Some(Permissions::Scopes(node.pos, scopes))
    }

    fn concurrency(&mut self, node: &Node, owner: &str) -> Option<Concurrency> {
        let what = format!("'concurrency' of {owner}");
        if let NodeKind::Scalar(_) = node.kind {
            return self.template(node, &what).map(|group| Concurrency {
                group,
                cancel_in_progress: None,
                queue: None,
            });
        }
        let fields = self.mapping(node, &what, &["group", "cancel-in-progress", "queue"])?;
        let group = self.required(&fields, "group", &what, node.pos)?;
        let concurrency = Concurrency {
            group: self.template(group, &format!("'group' of {what}"))?,
            cancel_in_progress: fields
                .get("cancel-in-progress")
                .and_then(|n| self.bool_or_expr(n, &format!("'cancel-in-progress' of {what}"))),
            queue: fields
                .get("queue")
                .and_then(|n| self.string(n, &format!("'queue' of {what}"))),
        };
        self.check_queue(&concurrency, &what);
        Some(concurrency)
    }

    /// "Control the concurrency of workflows and jobs": `queue` is `single` or `max`, and a queue
    /// of waiting runs contradicts cancelling the running one whenever another arrives.
    fn check_queue(&mut self, concurrency: &Concurrency, what: &str) {
        let Some(queue) = &concurrency.queue else {
            return;
        };
        match queue.value.as_str() {
            "single" => {}
            "max" => {
                if let Some(Templated::Literal(cancel)) = &concurrency.cancel_in_progress
                    && cancel.value
                {
                    self.error(
                        queue.pos,
                        format!("'queue: max' of {what} cannot be combined with 'cancel-in-progress: true'; remove one of them"),
                    );
                }
            }
            value if Template::contains_expression(value) => {}
            value => self.error(
                queue.pos,
                format!("'queue' of {what} is '{value}'; expected 'single' or 'max'"),
            ),
        }
    }

    fn snapshot(&mut self, node: &Node, owner: &str) -> Option<Snapshot> {
        let what = format!("'snapshot' of {owner}");
        if let NodeKind::Scalar(_) = node.kind {
            self.reject_empty(node, &what);
            return self.string(node, &what).map(|image_name| Snapshot {
                image_name: Some(image_name),
                version: None,
                condition: None,
            });
        }
        let fields = self.mapping(node, &what, &["image-name", "version", "if"])?;
        let version = fields.get("version").and_then(|n| {
            let what = format!("'version' of {what}");
            self.reject_empty(n, &what);
            self.string(n, &what)
        });
        let condition = self.condition(&fields, "if", &format!("'if' of {what}"));
        let image_name = self
            .required(&fields, "image-name", &what, node.pos)
            .and_then(|n| {
                let what = format!("'image-name' of {what}");
                self.reject_empty(n, &what);
                self.string(n, &what)
            });
        Some(Snapshot {
            image_name,
            version,
            condition,
        })
    }

    fn jobs(&mut self, node: &Node) -> IndexMap<String, Job> {
        let mut jobs = IndexMap::new();
        let entries = self.entries(node, "'jobs'").unwrap_or_default();
        if entries.is_empty() && matches!(node.kind, NodeKind::Mapping(_)) {
            self.error(node.pos, "'jobs' must define at least one job");
        }
        for (id, key_node, value) in entries {
            let id = Spanned {
                value: id.to_owned(),
                pos: key_node.pos,
            };
            if let Some(job) = self.job(id, value) {
                jobs.insert(job.id.value.clone(), job);
            }
        }
        jobs
    }

    fn job(&mut self, id: Spanned<String>, node: &Node) -> Option<Job> {
        let what = format!("job '{}'", id.value);
        let fields = self.mapping(node, &what, JOB_KEYS)?;
        let calls_workflow = fields.has("uses");
        if calls_workflow {
            for (key, key_node, _) in &fields.entries {
                if !CALLER_JOB_KEYS.contains(key) {
                    self.error(key_node.pos, format!("key '{key}' is not allowed in {what}, which calls a reusable workflow; expected one of: {}", list(CALLER_JOB_KEYS)));
                }
            }
        } else {
            self.required(&fields, "runs-on", &what, id.pos);
            match fields.get("steps") {
                None => self.error(id.pos, format!("{what} is missing required key 'steps'")),
                Some(steps) if matches!(&steps.kind, NodeKind::Sequence(items) if items.is_empty()) =>
                {
                    self.error(
                        steps.pos,
                        format!("'steps' of {what} must have at least one step"),
                    );
                }
                Some(_) => {}
            }
            for key in ["with", "secrets"] {
                if let Some(pos) = fields.key_pos(key) {
                    self.error(pos, format!("'{key}' is only allowed in a job that calls a reusable workflow with 'uses'"));
                }
            }
        }
        let field = |key: &str| fields.get(key);
        let steps = match field("steps") {
            Some(node) => self.steps(node, &what),
            None => Vec::new(),
        };
        Some(Job {
            name: self.optional_template(&fields, "name", &what),
            needs: field("needs")
                .map(|n| self.string_list(n, &format!("'needs' of {what}")))
                .unwrap_or_default(),
            condition: self.condition(&fields, "if", &format!("'if' of {what}")),
            runs_on: field("runs-on").and_then(|n| self.runs_on(n, &what)),
            environment: field("environment").and_then(|n| self.environment(n, &what)),
            outputs: field("outputs")
                .map(|n| self.template_map(n, &format!("'outputs' of {what}")))
                .unwrap_or_default(),
            env: field("env")
                .map(|n| self.env(n, &format!("'env' of {what}")))
                .unwrap_or_default(),
            defaults: field("defaults").and_then(|n| self.defaults(n, &what)),
            timeout_minutes: field("timeout-minutes")
                .and_then(|n| self.number_or_expr(n, &format!("'timeout-minutes' of {what}"))),
            continue_on_error: field("continue-on-error")
                .and_then(|n| self.bool_or_expr(n, &format!("'continue-on-error' of {what}"))),
            strategy: field("strategy").and_then(|n| self.strategy(n, &what)),
            container: field("container").and_then(|n| {
                let key_pos = fields.key_pos("container").unwrap_or(n.pos);
                self.container(
                    n,
                    key_pos,
                    &format!("'container' of {what}"),
                    CONTAINER_KEYS,
                )
            }),
            services: field("services")
                .map(|n| self.services(n, &what))
                .unwrap_or_default(),
            steps,
            uses: self.optional_string(&fields, "uses", &what),
            with: field("with")
                .map(|n| self.template_map(n, &format!("'with' of {what}")))
                .unwrap_or_default(),
            secrets: field("secrets").and_then(|n| self.job_secrets(n, &what)),
            concurrency: field("concurrency").and_then(|n| self.concurrency(n, &what)),
            permissions: field("permissions").and_then(|n| self.permissions(n)),
            snapshot: field("snapshot").and_then(|n| self.snapshot(n, &what)),
            id,
        })
    }

    fn runs_on(&mut self, node: &Node, owner: &str) -> Option<RunsOn> {
        let what = format!("'runs-on' of {owner}");
        match &node.kind {
            NodeKind::Scalar(_) => Some(RunsOn {
                pos: node.pos,
                group: None,
                labels: self.template(node, &what).into_iter().collect(),
            }),
            NodeKind::Sequence(_) => Some(RunsOn {
                pos: node.pos,
                group: None,
                labels: self.template_list(node, &what),
            }),
            NodeKind::Mapping(_) => {
                let fields = self.mapping(node, &what, &["group", "labels"])?;
                let labels = match fields.get("labels") {
                    Some(n) if matches!(n.kind, NodeKind::Scalar(_)) => {
                        self.template(n, &what).into_iter().collect()
                    }
                    Some(n) => self.template_list(n, &what),
                    None => Vec::new(),
                };
                Some(RunsOn {
                    pos: node.pos,
                    group: self.optional_template(&fields, "group", &what),
                    labels,
                })
            }
        }
    }

    fn environment(&mut self, node: &Node, owner: &str) -> Option<Environment> {
        let what = format!("'environment' of {owner}");
        if let NodeKind::Scalar(_) = node.kind {
            return self
                .template(node, &what)
                .map(|name| Environment { name, url: None });
        }
        let fields = self.mapping(node, &what, &["name", "url"])?;
        let name = self.required(&fields, "name", &what, node.pos)?;
        Some(Environment {
            name: self.template(name, &format!("'name' of {what}"))?,
            url: self.optional_template(&fields, "url", &what),
        })
    }

    fn strategy(&mut self, node: &Node, owner: &str) -> Option<Strategy> {
        let what = format!("'strategy' of {owner}");
        let fields = self.mapping(node, &what, &["matrix", "fail-fast", "max-parallel"])?;
        Some(Strategy {
            pos: node.pos,
            matrix: fields.get("matrix").and_then(|n| self.matrix(n, owner)),
            fail_fast: fields
                .get("fail-fast")
                .and_then(|n| self.bool_or_expr(n, &format!("'fail-fast' of {what}"))),
            max_parallel: fields
                .get("max-parallel")
                .and_then(|n| self.number_or_expr(n, &format!("'max-parallel' of {what}"))),
        })
    }

    fn matrix(&mut self, node: &Node, owner: &str) -> Option<Matrix> {
        let what = format!("'matrix' of {owner}");
        if let NodeKind::Scalar(_) = node.kind {
            let template = self.template(node, &what)?;
            if template.is_literal() {
                self.wrong_type(node, &what, "a mapping or an expression");
                return None;
            }
            return Some(Matrix::Expr(template));
        }
        let mut def = MatrixDef {
            pos: node.pos,
            dimensions: Mapping::new(),
            include: Rows::default(),
            exclude: Rows::default(),
        };
        for (key, key_node, value) in self.entries(node, &what)? {
            match key {
                "include" => def.include = self.rows(value, &format!("'include' of {what}")),
                "exclude" => def.exclude = self.rows(value, &format!("'exclude' of {what}")),
                _ => {
                    // `matrix.os` and `matrix.OS` read the same dimension: contexts ignore case.
                    if let Some((first, entry)) = def
                        .dimensions
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    {
                        self.report(
                            key_node.pos,
                            Rule::Matrix,
                            format!("matrix dimension '{key}' of {owner} repeats '{first}' (line {}): matrix keys ignore case", entry.key_pos.line),
                        );
                    }
                    let dimension = match &value.kind {
                        NodeKind::Sequence(items) => {
                            if items.is_empty() {
                                self.report(
                                    value.pos,
                                    Rule::Matrix,
                                    format!("matrix dimension '{key}' of {owner} has no values"),
                                );
                            }
                            Dimension::Values(items.iter().map(Decoder::value).collect())
                        }
                        NodeKind::Scalar(s) if Template::contains_expression(&s.value) => {
                            match self.template(value, &format!("matrix dimension '{key}'")) {
                                Some(t) => Dimension::Expr(t),
                                None => continue,
                            }
                        }
                        _ => {
                            self.wrong_type(
                                value,
                                &format!("matrix dimension '{key}' of {owner}"),
                                "a sequence or an expression",
                            );
                            continue;
                        }
                    };
                    def.dimensions.insert(
                        key.to_owned(),
                        Entry {
                            key_pos: key_node.pos,
                            value: dimension,
                        },
                    );
                }
            }
        }
        Some(Matrix::Literal(def))
    }

    fn rows(&mut self, node: &Node, what: &str) -> Rows {
        self.reject_empty(node, what);
        match &node.kind {
            NodeKind::Scalar(s) if Template::contains_expression(&s.value) => self
                .template(node, what)
                .map_or_else(Rows::default, Rows::Expr),
            NodeKind::Sequence(items) => Rows::Literal(
                items
                    .iter()
                    .filter_map(|item| {
                        let entries = self.entries(item, &format!("an item of {what}"))?;
                        let row = entries
                            .into_iter()
                            .map(|(key, key_node, value)| {
                                let entry = Entry {
                                    key_pos: key_node.pos,
                                    value: Decoder::value(value),
                                };
                                (key.to_owned(), entry)
                            })
                            .collect();
                        Some(Spanned {
                            value: row,
                            pos: item.pos,
                        })
                    })
                    .collect(),
            ),
            _ => {
                self.wrong_type(node, what, "a sequence of mappings or an expression");
                Rows::default()
            }
        }
    }

    /// `key_pos` is where the key naming the container is written: a missing `image` (or
    /// credential) is reported there, on the line that names what lacks it.
    fn container(
        &mut self,
        node: &Node,
        key_pos: Pos,
        what: &str,
        keys: &[&str],
    ) -> Option<Container> {
        let mut container = Container {
            pos: node.pos,
            image: None,
            credentials: None,
            env: Env::default(),
            ports: Vec::new(),
            volumes: Vec::new(),
            options: None,
            entrypoint: None,
            command: None,
        };
        if let NodeKind::Scalar(scalar) = &node.kind {
            // `container:` left empty (or `''`) names no image; whether GitHub refuses it is
            // not documented, so this only warns. An explicit `null` says "no container".
            if scalar.value.is_empty() {
                self.report(
                    node.pos,
                    Rule::EmptyValue,
                    format!("{what} is empty; name an image or remove it"),
                );
            }
            container.image = self.template(node, what);
            return Some(container);
        }
        let fields = self.mapping(node, what, keys)?;
        container.image = match self.required(&fields, "image", what, key_pos) {
            Some(image) => {
                self.reject_empty(image, &format!("'image' of {what}"));
                self.template(image, &format!("'image' of {what}"))
            }
            None => None,
        };
        if let Some(credentials) = fields.get("credentials") {
            let cwhat = format!("'credentials' of {what}");
            if let NodeKind::Scalar(s) = &credentials.kind
                && Template::contains_expression(&s.value)
            {
                container.credentials = self.template(credentials, &cwhat).map(Credentials::Expr);
            } else if let Some(cf) = self.mapping(credentials, &cwhat, &["username", "password"]) {
                let at = fields.key_pos("credentials").unwrap_or(credentials.pos);
                let username = self.required(&cf, "username", &cwhat, at);
                let password = self.required(&cf, "password", &cwhat, at);
                if let (Some(u), Some(p)) = (username, password)
                    && let (Some(username), Some(password)) =
                        (self.template(u, &cwhat), self.template(p, &cwhat))
                {
                    container.credentials = Some(Credentials::Pair { username, password });
                }
            }
        }
        container.env = fields
            .get("env")
            .map(|n| self.env(n, &format!("'env' of {what}")))
            .unwrap_or_default();
        container.ports = fields
            .get("ports")
            .map(|n| self.template_list(n, &format!("'ports' of {what}")))
            .unwrap_or_default();
        container.volumes = fields
            .get("volumes")
            .map(|n| self.template_list(n, &format!("'volumes' of {what}")))
            .unwrap_or_default();
        container.options = self.optional_template(&fields, "options", what);
        container.entrypoint = self.optional_template(&fields, "entrypoint", what);
        container.command = self.optional_template(&fields, "command", what);
        Some(container)
    }

    fn services(&mut self, node: &Node, owner: &str) -> Mapping<Container> {
        let mut out = Mapping::new();
        for (name, key_node, value) in self
            .entries(node, &format!("'services' of {owner}"))
            .unwrap_or_default()
        {
            if let Some(container) = self.container(
                value,
                key_node.pos,
                &format!("service '{name}' of {owner}"),
                SERVICE_KEYS,
            ) {
                out.insert(
                    name.to_owned(),
                    Entry {
                        key_pos: key_node.pos,
                        value: container,
                    },
                );
            }
        }
        out
    }

    fn job_secrets(&mut self, node: &Node, owner: &str) -> Option<JobSecrets> {
        if node.as_str() == Some("inherit") {
            return Some(JobSecrets::Inherit(node.pos));
        }
        if let NodeKind::Scalar(_) = node.kind {
            self.error(
                node.pos,
                format!("'secrets' of {owner} must be 'inherit' or a mapping"),
            );
            return None;
        }
        Some(JobSecrets::Map(
            self.template_map(node, &format!("'secrets' of {owner}")),
        ))
    }

    fn steps(&mut self, node: &Node, owner: &str) -> Vec<Step> {
        let NodeKind::Sequence(items) = &node.kind else {
            self.wrong_type(node, &format!("'steps' of {owner}"), "a sequence");
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| self.step(item, &format!("step {} of {owner}", index + 1)))
            .collect()
    }

    fn step(&mut self, node: &Node, what: &str) -> Option<Step> {
        let fields = self.mapping(node, what, STEP_KEYS)?;
        let action = match (fields.get("run"), fields.get("uses")) {
            (Some(run), None) => StepAction::Run(self.template(run, &format!("'run' of {what}"))?),
            (None, Some(uses)) => {
                StepAction::Uses(self.string(uses, &format!("'uses' of {what}"))?)
            }
            (Some(_), Some(_)) => {
                // On the later of the two keys: the one that contradicts what the step
                // already set out to do.
                let later = fields.key_pos("run").max(fields.key_pos("uses"));
                self.error(
                    later.unwrap_or(node.pos),
                    format!("{what} has both 'run' and 'uses'; a step does one or the other"),
                );
                return None;
            }
            (None, None) => {
                self.error(node.pos, format!("{what} must have 'run' or 'uses'"));
                return None;
            }
        };
        let runs_script = matches!(action, StepAction::Run(_));
        for key in ["shell", "working-directory"] {
            if let (false, Some(pos)) = (runs_script, fields.key_pos(key)) {
                self.error(
                    pos,
                    format!("'{key}' is only allowed with 'run', but {what} has 'uses'"),
                );
            }
        }
        if let (true, Some(pos)) = (runs_script, fields.key_pos("with")) {
            self.error(
                pos,
                format!("'with' is only allowed with 'uses', but {what} has 'run'"),
            );
        }
        Some(Step {
            pos: node.pos,
            id: self.optional_string(&fields, "id", what),
            name: self.optional_template(&fields, "name", what),
            condition: self.condition(&fields, "if", &format!("'if' of {what}")),
            action,
            shell: self.optional_string(&fields, "shell", what),
            working_directory: self.optional_template(&fields, "working-directory", what),
            with: fields
                .get("with")
                .map(|n| self.template_map(n, &format!("'with' of {what}")))
                .unwrap_or_default(),
            env: fields
                .get("env")
                .map(|n| self.env(n, &format!("'env' of {what}")))
                .unwrap_or_default(),
            continue_on_error: fields
                .get("continue-on-error")
                .and_then(|n| self.bool_or_expr(n, &format!("'continue-on-error' of {what}"))),
            timeout_minutes: fields
                .get("timeout-minutes")
                .and_then(|n| self.number_or_expr(n, &format!("'timeout-minutes' of {what}"))),
        })
    }
}

fn input_type(name: &str) -> InputType {
    match name {
        "boolean" => InputType::Boolean,
        "number" => InputType::Number,
        "choice" => InputType::Choice,
        "environment" => InputType::Environment,
        _ => InputType::String,
    }
}
