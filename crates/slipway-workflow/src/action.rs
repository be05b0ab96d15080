//! The metadata of an action (`action.yml`): its inputs, outputs and how it runs.
//!
//! [`crate::load_action`] reads one, with the positions of everything in it, as
//! [`crate::load`] reads a workflow. A composite action's steps are ordinary [`Step`]s, so the
//! runner executes them with the code that runs a job's steps.

use std::sync::Arc;

use crate::model::{Env, IfCondition, Mapping, Spanned, Step, TemplateString};

/// An action's metadata file.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The file name given to the loader.
    pub file: Arc<str>,
    /// `name:`.
    pub name: Option<Spanned<String>>,
    /// `description:`.
    pub description: Option<String>,
    /// `inputs:`, in file order.
    pub inputs: Mapping<ActionInput>,
    /// `outputs:`, in file order.
    pub outputs: Mapping<ActionOutput>,
    /// `runs:`.
    pub runs: ActionRuns,
}

/// An input an action declares.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInput {
    /// `description:`.
    pub description: Option<String>,
    /// `required:` (GitHub does not enforce it; the runner warns).
    pub required: bool,
    /// `default:`, which may use expressions.
    pub default: Option<TemplateString>,
    /// `deprecationMessage:`, printed as a warning when the input is given.
    pub deprecation_message: Option<String>,
}

/// An output an action declares.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutput {
    /// `description:`.
    pub description: Option<String>,
    /// `value:`: required for composite actions, where it maps a step's output.
    pub value: Option<TemplateString>,
}

/// How an action runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionRuns {
    /// `using: composite`: steps, run in the calling job.
    Composite {
        /// `steps:`.
        steps: Vec<Step>,
    },
    /// `using: node20` (or another Node.js version): a script run with `node`.
    Node {
        /// `using:`, e.g. `node20`.
        using: Spanned<String>,
        /// `main:`, relative to the action's directory.
        main: Spanned<String>,
        /// `pre:`, run before `main`.
        pre: Option<Spanned<String>>,
        /// `pre-if:` (boxed: conditions are large and rare).
        pre_if: Option<Box<IfCondition>>,
        /// `post:`, run at the end of the job.
        post: Option<Spanned<String>>,
        /// `post-if:` (default `always()`).
        post_if: Option<Box<IfCondition>>,
    },
    /// `using: docker`: an image or a Dockerfile.
    Docker {
        /// `image:`.
        image: Spanned<String>,
        /// `entrypoint:`.
        entrypoint: Option<Spanned<String>>,
        /// `args:`.
        args: Vec<TemplateString>,
        /// `env:`.
        env: Env,
    },
}
