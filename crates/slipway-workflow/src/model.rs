//! The typed workflow model: what a workflow file says, with the position of everything in it.
//!
//! Produced by [`crate::load`], which has checked every key and type, so the runner and the
//! linter read plain data. Values that may embed `${{ }}` are [`TemplateString`]s, kept
//! unevaluated (the runner evaluates them when their contexts exist); fields GitHub types as
//! numbers or booleans but also accepts expressions for are [`Templated`].

use std::sync::Arc;

use indexmap::IndexMap;
use slipway_expr::{Condition, Template, Value};

use crate::diagnostic::Pos;
use crate::yaml::PosMap;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it starts.
    pub pos: Pos,
}

/// A string that may embed `${{ }}` expressions, parsed, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateString {
    raw: String,
    pos: Pos,
    map: PosMap,
    template: Template,
}

impl TemplateString {
    pub(crate) fn new(raw: String, pos: Pos, map: PosMap, template: Template) -> TemplateString {
        TemplateString {
            raw,
            pos,
            map,
            template,
        }
    }

    /// The text as written (after YAML unquoting).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Where the value starts in the file.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// The parsed template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Whether the string embeds no expression.
    pub fn is_literal(&self) -> bool {
        self.template.expressions().next().is_none()
    }

    /// The file position of byte `offset` of the text (an expression's span start, say).
    pub fn position_of(&self, offset: usize) -> Pos {
        self.map.position(&self.raw, offset)
    }
}

/// A typed value, or an expression that must evaluate to one (`timeout-minutes: ${{ x }}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Templated<T> {
    /// Written as a literal of the type.
    Literal(Spanned<T>),
    /// Written as an expression, left for the runner.
    Expr(TemplateString),
}

impl<T> Templated<T> {
    /// Where the value starts.
    pub fn pos(&self) -> Pos {
        match self {
            Templated::Literal(spanned) => spanned.pos,
            Templated::Expr(template) => template.pos(),
        }
    }
}

/// An `if:` condition: its text and the parsed condition (implicit `success() &&` included).
#[derive(Debug, Clone, PartialEq)]
pub struct IfCondition {
    /// The text as written; spans in `condition` count from its start.
    pub source: TemplateString,
    /// Where the condition is written: its value, or the `if` key when the value is a block
    /// scalar, whose text starts on a later line than the key and its `|`.
    pub pos: Pos,
    /// The condition to evaluate.
    pub condition: Condition,
}

/// A mapping's entry: the key's position and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// Where the key is written.
    pub key_pos: Pos,
    /// The value.
    pub value: T,
}

/// A mapping from names to values, in file order.
pub type Mapping<T> = IndexMap<String, Entry<T>>;

/// An `env:` block: variables, or one expression producing them.
#[derive(Debug, Clone, PartialEq)]
pub enum Env {
    /// `NAME: value` pairs.
    Map(Mapping<TemplateString>),
    /// `env: ${{ fromJSON(...) }}`.
    Expr(TemplateString),
}

impl Default for Env {
    fn default() -> Env {
        Env::Map(Mapping::new())
    }
}

/// A whole workflow file.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// The file name given to the loader.
    pub file: Arc<str>,
    /// `name:`.
    pub name: Option<Spanned<String>>,
    /// `run-name:`.
    pub run_name: Option<TemplateString>,
    /// `on:`.
    pub on: Triggers,
    /// Workflow-level `env:`.
    pub env: Env,
    /// `defaults.run`.
    pub defaults: Option<RunDefaults>,
    /// Workflow-level `permissions:`.
    pub permissions: Option<Permissions>,
    /// Workflow-level `concurrency:`.
    pub concurrency: Option<Concurrency>,
    /// `jobs:`, in file order.
    pub jobs: IndexMap<String, Job>,
}

/// The events that trigger a workflow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Triggers {
    /// Where `on:` is.
    pub pos: Pos,
    /// One entry per event, in file order.
    pub events: Vec<Trigger>,
}

impl Triggers {
    /// The configuration of event `name`, if the workflow listens to it.
    pub fn get(&self, name: &str) -> Option<&Trigger> {
        self.events.iter().find(|t| t.name.value == name)
    }
}

/// One event of `on:` with its filters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trigger {
    /// The event name (`push`, `pull_request`, ...).
    pub name: Spanned<String>,
    /// `types:` (activity types).
    pub types: Option<Vec<Spanned<String>>>,
    /// `branches:`.
    pub branches: Option<Filter>,
    /// `branches-ignore:`.
    pub branches_ignore: Option<Filter>,
    /// `tags:`.
    pub tags: Option<Filter>,
    /// `tags-ignore:`.
    pub tags_ignore: Option<Filter>,
    /// `paths:`.
    pub paths: Option<Filter>,
    /// `paths-ignore:`.
    pub paths_ignore: Option<Filter>,
    /// `workflows:` of `workflow_run`.
    pub workflows: Vec<Spanned<String>>,
    /// `inputs:` of `workflow_dispatch` and `workflow_call`.
    pub inputs: Mapping<InputDef>,
    /// `outputs:` of `workflow_call`.
    pub outputs: Mapping<CallOutput>,
    /// `secrets:` of `workflow_call`.
    pub secrets: Mapping<CallSecret>,
    /// Whether `secrets:` is written, even empty: a reusable workflow then receives only the
    /// secrets it declares (unless called with `secrets: inherit`).
    pub declares_secrets: bool,
    /// The `cron:` entries of `schedule`.
    pub crons: Vec<Spanned<String>>,
}

impl Default for Spanned<String> {
    fn default() -> Spanned<String> {
        Spanned {
            value: String::new(),
            pos: Pos::new(1, 1),
        }
    }
}

impl Default for Pos {
    fn default() -> Pos {
        Pos::new(1, 1)
    }
}

/// A list of filter patterns (`branches:`, `paths-ignore:`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Where the key is.
    pub pos: Pos,
    /// The patterns, in order (order matters for `!` patterns).
    pub patterns: Vec<Spanned<String>>,
}

/// The type of a `workflow_dispatch` or `workflow_call` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputType {
    /// `string` (the default).
    String,
    /// `boolean`.
    Boolean,
    /// `number`.
    Number,
    /// `choice`, with `options`.
    Choice,
    /// `environment`: the name of a repository environment.
    Environment,
}

impl InputType {
    /// The name used in workflow files.
    pub fn name(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Boolean => "boolean",
            InputType::Number => "number",
            InputType::Choice => "choice",
            InputType::Environment => "environment",
        }
    }
}

/// A declared input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputDef {
    /// `description:`.
    pub description: Option<String>,
    /// `required:`.
    pub required: bool,
    /// `default:`, typed as YAML wrote it.
    pub default: Option<Spanned<Value>>,
    /// `type:`.
    pub kind: InputType,
    /// `options:` of a choice input.
    pub options: Vec<Spanned<String>>,
}

/// An output of a reusable workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutput {
    /// `description:`.
    pub description: Option<String>,
    /// `value:`, usually `${{ jobs.<id>.outputs.<name> }}`.
    pub value: TemplateString,
}

/// A secret a reusable workflow accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSecret {
    /// `description:`.
    pub description: Option<String>,
    /// `required:`.
    pub required: bool,
}

/// `defaults.run`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunDefaults {
    /// `shell:`.
    pub shell: Option<Spanned<String>>,
    /// `working-directory:`.
    pub working_directory: Option<TemplateString>,
}

/// Access granted to `GITHUB_TOKEN`.
#[derive(Debug, Clone, PartialEq)]
pub enum Permissions {
    /// `read-all`.
    ReadAll(Pos),
    /// `write-all`.
    WriteAll(Pos),
    /// Per scope; scopes not listed get no access.
    Scopes(Pos, Mapping<Access>),
}

/// The access level of a permission scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `read`.
    Read,
    /// `write` (implies read).
    Write,
    /// `none`.
    None,
}

/// `concurrency:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    /// `group:` (or the whole value when written as a string).
    pub group: TemplateString,
    /// `cancel-in-progress:`.
    pub cancel_in_progress: Option<Templated<bool>>,
    /// `queue:`: how many runs may wait in the group, `single` (the default) or `max`.
    pub queue: Option<Spanned<String>>,
}

/// A job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job id (its key under `jobs:`).
    pub id: Spanned<String>,
    /// `name:`.
    pub name: Option<TemplateString>,
    /// `needs:`.
    pub needs: Vec<Spanned<String>>,
    /// `if:`.
    pub condition: Option<IfCondition>,
    /// `runs-on:`.
    pub runs_on: Option<RunsOn>,
    /// `environment:`.
    pub environment: Option<Environment>,
    /// `outputs:`.
    pub outputs: Mapping<TemplateString>,
    /// `env:`.
    pub env: Env,
    /// `defaults.run`.
    pub defaults: Option<RunDefaults>,
    /// `timeout-minutes:`.
    pub timeout_minutes: Option<Templated<f64>>,
    /// `continue-on-error:`.
    pub continue_on_error: Option<Templated<bool>>,
    /// `strategy:`.
    pub strategy: Option<Strategy>,
    /// `container:`.
    pub container: Option<Container>,
    /// `services:`.
    pub services: Mapping<Container>,
    /// `steps:`.
    pub steps: Vec<Step>,
    /// `uses:` of a job calling a reusable workflow.
    pub uses: Option<Spanned<String>>,
    /// `with:` of a reusable-workflow call.
    pub with: Mapping<TemplateString>,
    /// `secrets:` of a reusable-workflow call.
    pub secrets: Option<JobSecrets>,
    /// `concurrency:`.
    pub concurrency: Option<Concurrency>,
    /// `permissions:`.
    pub permissions: Option<Permissions>,
    /// `snapshot:`: save the runner's disk as a custom image after the job.
    pub snapshot: Option<Snapshot>,
}

/// `snapshot:` of a job ("Using custom images" of larger runners).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `image-name:` (or the whole value when written as a string); `None` only in a file the
    /// loader reported as invalid.
    pub image_name: Option<Spanned<String>>,
    /// `version:`, such as `2.*` (GitHub increments the minor version itself).
    pub version: Option<Spanned<String>>,
    /// `if:`: when to take the snapshot.
    pub condition: Option<IfCondition>,
}

/// `runs-on:`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsOn {
    /// Where the value is.
    pub pos: Pos,
    /// `group:` of the object form.
    pub group: Option<TemplateString>,
    /// The labels (a string, a list, or `labels:` of the object form).
    pub labels: Vec<TemplateString>,
}

/// `environment:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// `name:` (or the whole value when written as a string).
    pub name: TemplateString,
    /// `url:`.
    pub url: Option<TemplateString>,
}

/// `strategy:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// Where `strategy:` is.
    pub pos: Pos,
    /// `matrix:`.
    pub matrix: Option<Matrix>,
    /// `fail-fast:`.
    pub fail_fast: Option<Templated<bool>>,
    /// `max-parallel:`.
    pub max_parallel: Option<Templated<f64>>,
}

/// `strategy.matrix`.
#[derive(Debug, Clone, PartialEq)]
pub enum Matrix {
    /// `matrix: ${{ fromJSON(...) }}`: known only at run time.
    Expr(TemplateString),
    /// A matrix written out.
    Literal(MatrixDef),
}

/// A matrix written out: dimensions, `include` and `exclude`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixDef {
    /// Where `matrix:` is.
    pub pos: Pos,
    /// The dimensions, in file order.
    pub dimensions: Mapping<Dimension>,
    /// `include:`.
    pub include: Rows,
    /// `exclude:`.
    pub exclude: Rows,
}

/// One matrix dimension.
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// A list of values (strings may still hold `${{ }}` for the runner).
    Values(Vec<Value>),
    /// An expression producing the list.
    Expr(TemplateString),
}

/// `include:` or `exclude:` rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// Rows written out, each with its position and its keys' positions.
    Literal(Vec<Spanned<Mapping<Value>>>),
    /// An expression producing the rows.
    Expr(TemplateString),
}

impl Default for Rows {
    fn default() -> Rows {
        Rows::Literal(Vec::new())
    }
}

/// A job container or service container.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Where it is.
    pub pos: Pos,
    /// `image:` (or the whole value when written as a string).
    pub image: Option<TemplateString>,
    /// `credentials:`.
    pub credentials: Option<Credentials>,
    /// `env:`.
    pub env: Env,
    /// `ports:`.
    pub ports: Vec<TemplateString>,
    /// `volumes:`.
    pub volumes: Vec<TemplateString>,
    /// `options:`.
    pub options: Option<TemplateString>,
    /// `entrypoint:` of a service container.
    pub entrypoint: Option<TemplateString>,
    /// `command:` of a service container.
    pub command: Option<TemplateString>,
}

/// Registry credentials of a container.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// `username:` and `password:`.
    Pair {
        /// `username:`.
        username: TemplateString,
        /// `password:`.
        password: TemplateString,
    },
    /// `credentials: ${{ ... }}`: an expression producing `{username, password}`.
    Expr(TemplateString),
}

/// `secrets:` of a job calling a reusable workflow.
#[derive(Debug, Clone, PartialEq)]
pub enum JobSecrets {
    /// `secrets: inherit`.
    Inherit(Pos),
    /// Secrets passed by name.
    Map(Mapping<TemplateString>),
}

/// A step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Where the step starts.
    pub pos: Pos,
    /// `id:`.
    pub id: Option<Spanned<String>>,
    /// `name:`.
    pub name: Option<TemplateString>,
    /// `if:`.
    pub condition: Option<IfCondition>,
    /// `run:` or `uses:`.
    pub action: StepAction,
    /// `shell:`.
    pub shell: Option<Spanned<String>>,
    /// `working-directory:`.
    pub working_directory: Option<TemplateString>,
    /// `with:`.
    pub with: Mapping<TemplateString>,
    /// `env:`.
    pub env: Env,
    /// `continue-on-error:`.
    pub continue_on_error: Option<Templated<bool>>,
    /// `timeout-minutes:`.
    pub timeout_minutes: Option<Templated<f64>>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    /// `run:` a script.
    Run(TemplateString),
    /// `uses:` an action.
    Uses(Spanned<String>),
}
