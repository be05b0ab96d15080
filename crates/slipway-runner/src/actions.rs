//! `uses:` of a step, resolved while planning: a built-in, a local composite or Node.js action,
//! or an error that says what is supported.
//!
//! Nothing is fetched: the network is not there to fetch actions from. `actions/checkout`,
//! `actions/upload-artifact`, `actions/download-artifact` and `actions/cache` (with its
//! `restore` and `save` halves) are built in, at any version. Local actions (`./path`, relative to
//! the repository root) are read from their `action.yml`. Any other action can be supplied from a
//! local directory with `--action owner/repo@ref=./path` (the `@ref` may be left out to cover
//! every version).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use slipway_workflow::{Action, ActionRuns, Source, load_action};

use crate::error::Problem;

/// What a `uses:` runs.
#[derive(Debug)]
pub(crate) enum Uses {
    /// `actions/checkout`.
    Checkout,
    /// `actions/upload-artifact`.
    UploadArtifact,
    /// `actions/download-artifact`.
    DownloadArtifact,
    /// `actions/cache`, `actions/cache/restore`, `actions/cache/save`.
    Cache(CacheMode),
    /// A local action: composite or Node.js.
    Local {
        /// The action's directory, where planning read it.
        dir: PathBuf,
        /// Its metadata.
        action: Arc<Action>,
        /// For `./path`: the path in the workspace, where it runs from (so, as on GitHub, only
        /// after a checkout). `None` for an action supplied with `--action`.
        in_workspace: Option<String>,
    },
}

/// Which halves of `actions/cache` a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheMode {
    /// Restore now, save at the end of the job.
    RestoreAndSave,
    /// `actions/cache/restore`.
    Restore,
    /// `actions/cache/save`.
    Save,
}

/// The built-in actions, for messages.
const BUILTINS: &str = "actions/checkout, actions/upload-artifact, actions/download-artifact, actions/cache (and actions/cache/restore, actions/cache/save)";

/// Every `uses:` of a plan, resolved once.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    root: PathBuf,
    overrides: Vec<(String, PathBuf)>,
    resolved: HashMap<String, Arc<Uses>>,
}

impl Catalog {
    /// A catalog for the repository at `root`, with `--action` overrides.
    pub(crate) fn new(root: PathBuf, overrides: Vec<(String, PathBuf)>) -> Catalog {
        Catalog {
            root,
            overrides,
            resolved: HashMap::new(),
        }
    }

    /// The resolved `uses:`, when [`Catalog::resolve`] succeeded for it.
    pub(crate) fn get(&self, uses: &str) -> Option<&Arc<Uses>> {
        self.resolved.get(uses)
    }

    /// Resolves `uses` (written at `pos` in `file`), loading local actions and, for composite
    /// ones, the actions their steps use. Problems are added to `problems`.
    pub(crate) fn resolve(
        &mut self,
        uses: &str,
        file: &str,
        pos: slipway_workflow::Pos,
        problems: &mut Vec<Problem>,
    ) {
        if self.resolved.contains_key(uses) {
            return;
        }
        match self.classify(uses) {
            Ok(Kind::Builtin(builtin)) => {
                self.resolved.insert(uses.to_owned(), Arc::new(builtin));
            }
            Ok(Kind::Local(dir, in_workspace)) => match read_action(&dir) {
                Ok(action) => {
                    let action = Arc::new(action);
                    self.resolved.insert(
                        uses.to_owned(),
                        Arc::new(Uses::Local {
                            dir,
                            action: action.clone(),
                            in_workspace,
                        }),
                    );
                    self.check_action(&action, problems);
                }
                Err(found) => problems.extend(found.into_iter().map(|problem| match problem {
                    ReadProblem::Missing(message) => Problem::at(file, pos, message),
                    ReadProblem::Invalid(problem) => problem,
                })),
            },
            Err(message) => problems.push(Problem::at(file, pos, message)),
        }
    }

    /// A composite action's nested `uses:` are resolved too; Docker actions are refused.
    fn check_action(&mut self, action: &Action, problems: &mut Vec<Problem>) {
        match &action.runs {
            ActionRuns::Composite { steps } => {
                for step in steps {
                    if let slipway_workflow::StepAction::Uses(uses) = &step.action {
                        self.resolve(&uses.value, &action.file, uses.pos, problems);
                    }
                }
            }
            ActionRuns::Node { .. } => {}
            ActionRuns::Docker { image, .. } => problems.push(Problem::at(
                action.file.to_string(),
                image.pos,
                "Docker container actions are not supported; use a composite or Node.js action",
            )),
        }
    }

    fn classify(&self, uses: &str) -> Result<Kind, String> {
        if let Some(path) = uses.strip_prefix("./") {
            return Ok(Kind::Local(self.root.join(path), Some(path.to_owned())));
        }
        if uses.starts_with("docker://") {
            return Err(format!(
                "'uses: {uses}' runs a Docker image, which is not supported; run the image with a `container:` job instead"
            ));
        }
        let Some((name, _version)) = uses.split_once('@') else {
            return Err(format!(
                "'uses: {uses}' must be `owner/repo@ref` or a local `./path`"
            ));
        };
        if let Some((_, dir)) = self
            .overrides
            .iter()
            .rev()
            .find(|(key, _)| key == uses || key == name)
        {
            return Ok(Kind::Local(self.root.join(dir), None));
        }
        match name.to_ascii_lowercase().as_str() {
            "actions/checkout" => Ok(Kind::Builtin(Uses::Checkout)),
            "actions/upload-artifact" => Ok(Kind::Builtin(Uses::UploadArtifact)),
            "actions/download-artifact" => Ok(Kind::Builtin(Uses::DownloadArtifact)),
            "actions/cache" => Ok(Kind::Builtin(Uses::Cache(CacheMode::RestoreAndSave))),
            "actions/cache/restore" => Ok(Kind::Builtin(Uses::Cache(CacheMode::Restore))),
            "actions/cache/save" => Ok(Kind::Builtin(Uses::Cache(CacheMode::Save))),
            _ => Err(format!(
                "'uses: {uses}' is a remote action, and Slipway does not fetch actions; built in: {BUILTINS}; other actions run from a local copy: clone it and pass `--action {uses}=./path/to/clone`"
            )),
        }
    }
}

enum Kind {
    Builtin(Uses),
    /// The directory, and for `./path` the path in the workspace.
    Local(PathBuf, Option<String>),
}

enum ReadProblem {
    Missing(String),
    Invalid(Problem),
}

/// `dir/action.yml`, else `dir/action.yaml`, when one exists.
pub(crate) fn action_file(dir: &Path) -> Option<PathBuf> {
    ["action.yml", "action.yaml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Reads `dir/action.yml` (or `action.yaml`).
fn read_action(dir: &Path) -> Result<Action, Vec<ReadProblem>> {
    let Some(path) = action_file(dir) else {
        return Err(vec![ReadProblem::Missing(format!(
            "no action.yml or action.yaml in {}",
            dir.display()
        ))]);
    };
    let source = Source::read(&path).map_err(|error| {
        vec![ReadProblem::Missing(format!(
            "cannot read {}: {error}",
            path.display()
        ))]
    })?;
    load_action(&source).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(|d| ReadProblem::Invalid(Problem::from(d)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_workflow::Pos;

    fn resolve(catalog: &mut Catalog, uses: &str) -> Vec<String> {
        let mut problems = Vec::new();
        catalog.resolve(uses, "ci.yml", Pos::new(3, 15), &mut problems);
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn builtins_at_any_version_and_remote_actions_refused_with_the_way_out() {
        let mut catalog = Catalog::new(PathBuf::from("/repo"), vec![]);
        for uses in [
            "actions/checkout@v4",
            "actions/cache/restore@v3",
            "Actions/Upload-Artifact@main",
        ] {
            assert!(resolve(&mut catalog, uses).is_empty(), "{uses}");
            assert!(!matches!(**catalog.get(uses).unwrap(), Uses::Local { .. }));
        }
        let problems = resolve(&mut catalog, "acme/deploy@v2");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("ci.yml:3:15: 'uses: acme/deploy@v2' is a remote action"),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("--action acme/deploy@v2=./path/to/clone"));
        assert!(resolve(&mut catalog, "docker://alpine:3")[0].contains("not supported"));
        assert!(resolve(&mut catalog, "noversion")[0].contains("owner/repo@ref"));
    }

    #[test]
    fn local_and_overridden_actions_are_loaded_with_their_nested_uses() {
        let repo = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = repo.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "greet/action.yml",
            "runs:\n  using: composite\n  steps:\n    - uses: acme/missing@v1\n    - uses: ./node\n",
        );
        write(
            "node/action.yaml",
            "runs:\n  using: node20\n  main: index.js\n",
        );
        write(
            "vendor/deploy/action.yml",
            "runs:\n  using: docker\n  image: Dockerfile\n",
        );
        let mut catalog = Catalog::new(
            repo.path().to_owned(),
            vec![("acme/deploy".into(), PathBuf::from("vendor/deploy"))],
        );
        let problems = resolve(&mut catalog, "./greet");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .contains("greet/action.yml:4:13: 'uses: acme/missing@v1' is a remote action"),
            "{}",
            problems[0]
        );
        assert!(matches!(
            catalog.get("./node").map(|u| &**u),
            Some(Uses::Local { .. })
        ));
        let docker = resolve(&mut catalog, "acme/deploy@v9");
        assert!(
            docker[0].contains("Docker container actions are not supported"),
            "{docker:?}"
        );
        let missing = resolve(&mut catalog, "./nowhere");
        assert!(
            missing[0].starts_with("ci.yml:3:15: no action.yml or action.yaml in"),
            "{missing:?}"
        );
    }
}
