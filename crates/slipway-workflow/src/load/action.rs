//! From `action.yml` text to an [`Action`], with the workflow decoder's checks and positions.
//!
//! Follows "Metadata syntax for GitHub Actions": `runs.using` is `composite`, a Node.js version
//! (`node12` to `node24`) or `docker`; composite steps need an explicit `shell` on `run` steps.

use crate::action::{Action, ActionInput, ActionOutput, ActionRuns};
use crate::diagnostic::{Diagnostic, Pos};
use crate::model::{Entry, Env, Mapping, StepAction};
use crate::yaml::{self, Node};

use super::{Decoder, Source, list};

const ACTION_KEYS: &[&str] = &[
    "name",
    "author",
    "description",
    "inputs",
    "outputs",
    "runs",
    "branding",
];
const INPUT_KEYS: &[&str] = &["description", "required", "default", "deprecationMessage"];
const OUTPUT_KEYS: &[&str] = &["description", "value"];
const RUNS_KEYS: &[&str] = &[
    "using",
    "main",
    "pre",
    "pre-if",
    "post",
    "post-if",
    "steps",
    "image",
    "entrypoint",
    "pre-entrypoint",
    "post-entrypoint",
    "args",
    "env",
];
const NODE_VERSIONS: &[&str] = &["node12", "node16", "node20", "node24"];

/// Loads an action's metadata, or returns every problem found, each with its file, line and
/// column.
pub fn load_action(source: &Source) -> Result<Action, Vec<Diagnostic>> {
    let mut decoder = Decoder {
        file: source.name.clone(),
        diagnostics: Vec::new(),
    };
    let action = match yaml::parse(&source.text) {
        Ok(Some(root)) => decoder.action(&root),
        Ok(None) => {
            decoder.error(Pos::new(1, 1), "the action file is empty");
            None
        }
        Err(e) => {
            decoder.error(e.pos, format!("invalid YAML: {}", e.message));
            None
        }
    };
    let mut diagnostics = decoder.diagnostics;
    diagnostics.sort_by_key(|d| d.pos());
    match action {
        Some(action) if diagnostics.is_empty() => Ok(action),
        _ => Err(diagnostics),
    }
}

impl Decoder {
    fn action(&mut self, root: &Node) -> Option<Action> {
        let fields = self.mapping(root, "the action", ACTION_KEYS)?;
        let runs_node = self.required(&fields, "runs", "the action", root.pos)?;
        let runs = self.runs(runs_node)?;
        let composite = matches!(runs, ActionRuns::Composite { .. });
        Some(Action {
            file: self.file.clone(),
            name: self.optional_string(&fields, "name", "the action"),
            description: fields
                .get("description")
                .and_then(|n| n.as_str())
                .map(str::to_owned),
            inputs: fields
                .get("inputs")
                .map(|n| self.action_inputs(n))
                .unwrap_or_default(),
            outputs: fields
                .get("outputs")
                .map(|n| self.action_outputs(n, composite))
                .unwrap_or_default(),
            runs,
        })
    }

    fn action_inputs(&mut self, node: &Node) -> Mapping<ActionInput> {
        let mut out = Mapping::new();
        for (name, key_node, value) in self
            .entries(node, "'inputs' of the action")
            .unwrap_or_default()
        {
            let what = format!("input '{name}'");
            let Some(fields) = self.mapping(value, &what, INPUT_KEYS) else {
                continue;
            };
            let required = fields
                .get("required")
                .and_then(|n| self.literal_bool(n, &format!("'required' of {what}")))
                .unwrap_or(false);
            let input = ActionInput {
                description: fields
                    .get("description")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned),
                required,
                default: self.optional_template(&fields, "default", &what),
                deprecation_message: fields
                    .get("deprecationMessage")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned),
            };
            out.insert(
                name.to_owned(),
                Entry {
                    key_pos: key_node.pos,
                    value: input,
                },
            );
        }
        out
    }

    fn action_outputs(&mut self, node: &Node, composite: bool) -> Mapping<ActionOutput> {
        let mut out = Mapping::new();
        for (name, key_node, value) in self
            .entries(node, "'outputs' of the action")
            .unwrap_or_default()
        {
            let what = format!("output '{name}'");
            let Some(fields) = self.mapping(value, &what, OUTPUT_KEYS) else {
                continue;
            };
            if composite {
                self.required(
                    &fields,
                    "value",
                    &format!("{what} of a composite action"),
                    key_node.pos,
                );
            }
            let output = ActionOutput {
                description: fields
                    .get("description")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned),
                value: self.optional_template(&fields, "value", &what),
            };
            out.insert(
                name.to_owned(),
                Entry {
                    key_pos: key_node.pos,
                    value: output,
                },
            );
        }
        out
    }

    fn runs(&mut self, node: &Node) -> Option<ActionRuns> {
        let what = "'runs' of the action";
        let fields = self.mapping(node, what, RUNS_KEYS)?;
        let using_node = self.required(&fields, "using", what, node.pos)?;
        let using = self.string(using_node, "'using'")?;
        let allowed: &[&str] = match using.value.as_str() {
            "composite" => &["using", "steps"],
            "docker" => &[
                "using",
                "image",
                "entrypoint",
                "pre-entrypoint",
                "post-entrypoint",
                "args",
                "env",
            ],
            version if NODE_VERSIONS.contains(&version) => {
                &["using", "main", "pre", "pre-if", "post", "post-if"]
            }
            other => {
                self.error(
                    using.pos,
                    format!(
                        "unknown 'using: {other}'; expected composite, docker or one of {}",
                        list(NODE_VERSIONS)
                    ),
                );
                return None;
            }
        };
        for (key, key_node, _) in &fields.entries {
            if !allowed.contains(key) {
                self.error(
                    key_node.pos,
                    format!(
                        "'{key}' is not allowed with 'using: {}'; expected one of: {}",
                        using.value,
                        list(allowed)
                    ),
                );
            }
        }
        match using.value.as_str() {
            "composite" => {
                let steps = match self.required(&fields, "steps", what, node.pos) {
                    Some(steps) => self.steps(steps, "the composite action"),
                    None => Vec::new(),
                };
                for step in &steps {
                    if matches!(step.action, StepAction::Run(_)) && step.shell.is_none() {
                        self.error(
                            step.pos,
                            "a 'run' step of a composite action must name its 'shell'",
                        );
                    }
                }
                Some(ActionRuns::Composite { steps })
            }
            "docker" => {
                let image_node = self.required(&fields, "image", what, node.pos)?;
                let image = self.string(image_node, "'image'")?;
                Some(ActionRuns::Docker {
                    image,
                    entrypoint: self.optional_string(&fields, "entrypoint", what),
                    args: fields
                        .get("args")
                        .map(|n| self.template_list(n, "'args'"))
                        .unwrap_or_default(),
                    env: fields
                        .get("env")
                        .map(|n| self.env(n, "'env' of 'runs'"))
                        .unwrap_or_else(Env::default),
                })
            }
            _ => {
                let main_node = self.required(&fields, "main", what, node.pos)?;
                let main = self.string(main_node, "'main'")?;
                Some(ActionRuns::Node {
                    using,
                    main,
                    pre: self.optional_string(&fields, "pre", what),
                    pre_if: self.condition(&fields, "pre-if", "'pre-if'").map(Box::new),
                    post: self.optional_string(&fields, "post", what),
                    post_if: self
                        .condition(&fields, "post-if", "'post-if'")
                        .map(Box::new),
                })
            }
        }
    }
}
