//! What actionlint calls action checks: the format of `uses:` (actions and reusable workflows),
//! the inputs of well-known actions (from their `action.yml` files: unknown inputs are
//! ignored by the runner, so a typo silently does nothing; required ones must be given),
//! workflow commands GitHub disabled, passwords written in clear in `container:` and
//! `services:`, and environment variable names.

use slipway_expr::Template;

use super::Findings;
use crate::diagnostic::{Pos, Rule};
use crate::model::{Container, Credentials, Env, Job, Mapping, Step, StepAction, TemplateString};

/// A well-known action: its inputs (`true` when required) and outputs.
pub(super) struct KnownAction {
    pub(super) name: &'static str,
    inputs: &'static [(&'static str, bool)],
    pub(super) outputs: &'static [&'static str],
}

impl KnownAction {
    /// Whether steps of this action may set outputs it does not declare: a `github-script`
    /// script calls `core.setOutput` with any name it likes.
    pub(super) fn sets_any_output(&self) -> bool {
        self.name == "actions/github-script"
    }
}

const fn known(
    name: &'static str,
    inputs: &'static [(&'static str, bool)],
    outputs: &'static [&'static str],
) -> KnownAction {
    KnownAction {
        name,
        inputs,
        outputs,
    }
}

/// The actions most workflows use, with the inputs of their current major versions (and the
/// older ones still accepted); the first five are also Slipway's built-ins.
const KNOWN_ACTIONS: &[KnownAction] = &[
    known(
        "actions/checkout",
        &[
            ("repository", false),
            ("ref", false),
            ("token", false),
            ("ssh-key", false),
            ("ssh-known-hosts", false),
            ("ssh-strict", false),
            ("ssh-user", false),
            ("persist-credentials", false),
            ("path", false),
            ("clean", false),
            ("filter", false),
            ("sparse-checkout", false),
            ("sparse-checkout-cone-mode", false),
            ("fetch-depth", false),
            ("fetch-tags", false),
            ("show-progress", false),
            ("lfs", false),
            ("submodules", false),
            ("set-safe-directory", false),
            ("github-server-url", false),
        ],
        &["ref", "commit"],
    ),
    known(
        "actions/upload-artifact",
        &[
            ("name", false),
            ("path", true),
            ("if-no-files-found", false),
            ("retention-days", false),
            ("compression-level", false),
            ("overwrite", false),
            ("include-hidden-files", false),
        ],
        &["artifact-id", "artifact-url", "artifact-digest"],
    ),
    known(
        "actions/download-artifact",
        &[
            ("name", false),
            ("path", false),
            ("pattern", false),
            ("merge-multiple", false),
            ("github-token", false),
            ("repository", false),
            ("run-id", false),
            ("artifact-ids", false),
        ],
        &["download-path"],
    ),
    known(
        "actions/cache",
        &[
            ("path", true),
            ("key", true),
            ("restore-keys", false),
            ("upload-chunk-size", false),
            ("enableCrossOsArchive", false),
            ("fail-on-cache-miss", false),
            ("lookup-only", false),
            ("save-always", false),
        ],
        &["cache-hit"],
    ),
    known(
        "actions/cache/restore",
        &[
            ("path", true),
            ("key", true),
            ("restore-keys", false),
            ("enableCrossOsArchive", false),
            ("fail-on-cache-miss", false),
            ("lookup-only", false),
        ],
        &["cache-hit", "cache-primary-key", "cache-matched-key"],
    ),
    known(
        "actions/cache/save",
        &[
            ("path", true),
            ("key", true),
            ("upload-chunk-size", false),
            ("enableCrossOsArchive", false),
        ],
        &[],
    ),
    known(
        "actions/setup-node",
        &[
            ("always-auth", false),
            ("node-version", false),
            ("node-version-file", false),
            ("architecture", false),
            ("check-latest", false),
            ("registry-url", false),
            ("scope", false),
            ("token", false),
            ("cache", false),
            ("package-manager-cache", false),
            ("cache-dependency-path", false),
            ("mirror", false),
            ("mirror-token", false),
            ("version", false),
        ],
        &["cache-hit", "node-version"],
    ),
    known(
        "actions/setup-python",
        &[
            ("python-version", false),
            ("python-version-file", false),
            ("cache", false),
            ("architecture", false),
            ("check-latest", false),
            ("token", false),
            ("cache-dependency-path", false),
            ("update-environment", false),
            ("allow-prereleases", false),
            ("freethreaded", false),
            ("pip-version", false),
            ("pip-install", false),
        ],
        &["python-version", "cache-hit", "python-path"],
    ),
    known(
        "actions/setup-go",
        &[
            ("go-version", false),
            ("go-version-file", false),
            ("check-latest", false),
            ("token", false),
            ("cache", false),
            ("cache-dependency-path", false),
            ("architecture", false),
            ("stable", false),
        ],
        &["go-version", "cache-hit"],
    ),
    known(
        "actions/setup-java",
        &[
            ("java-version", false),
            ("java-version-file", false),
            ("distribution", true),
            ("java-package", false),
            ("architecture", false),
            ("jdkFile", false),
            ("check-latest", false),
            ("server-id", false),
            ("server-username", false),
            ("server-password", false),
            ("settings-path", false),
            ("overwrite-settings", false),
            ("gpg-private-key", false),
            ("gpg-passphrase", false),
            ("cache", false),
            ("cache-dependency-path", false),
            ("job-status", false),
            ("token", false),
            ("mvn-toolchain-id", false),
            ("mvn-toolchain-vendor", false),
        ],
        &["distribution", "version", "path", "cache-hit"],
    ),
    known(
        "actions/github-script",
        &[
            ("script", true),
            ("github-token", false),
            ("debug", false),
            ("user-agent", false),
            ("previews", false),
            ("result-encoding", false),
            ("retries", false),
            ("retry-exempt-status-codes", false),
            ("base-url", false),
        ],
        &["result"],
    ),
];

/// The well-known action a `uses:` value names (any version), if it is one.
pub(super) fn known_action(uses: &str) -> Option<&'static KnownAction> {
    let (name, _) = uses.split_once('@')?;
    KNOWN_ACTIONS
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Workflow commands GitHub deprecated (`::set-output` and `::save-state` write to files now;
/// `::set-env` and `::add-path` only work with `ACTIONS_ALLOW_UNSECURE_COMMANDS`).
const DEPRECATED_COMMANDS: &[(&str, &str)] = &[
    (
        "set-output",
        "append 'name=value' to the file named by $GITHUB_OUTPUT",
    ),
    (
        "save-state",
        "append 'name=value' to the file named by $GITHUB_STATE",
    ),
    (
        "set-env",
        "append 'NAME=value' to the file named by $GITHUB_ENV",
    ),
    (
        "add-path",
        "append the directory to the file named by $GITHUB_PATH",
    ),
];

pub(super) fn check(findings: &mut Findings<'_>) {
    let workflow = findings.workflow;
    check_env_names(findings, &workflow.env);
    for job in workflow.jobs.values() {
        check_job(findings, job);
    }
}

fn check_job(findings: &mut Findings<'_>, job: &Job) {
    if let Some(uses) = &job.uses {
        check_workflow_call(findings, &uses.value, uses.pos);
    }
    check_env_names(findings, &job.env);
    if let Some(container) = &job.container {
        check_container(findings, container, "container");
    }
    for (name, service) in &job.services {
        check_container(findings, &service.value, &format!("service '{name}'"));
    }
    for step in &job.steps {
        check_env_names(findings, &step.env);
        match &step.action {
            StepAction::Run(script) => check_commands(findings, script),
            StepAction::Uses(uses) => {
                check_action_format(findings, &uses.value, uses.pos);
                if let Some(action) = known_action(&uses.value) {
                    check_inputs(findings, step, action, &uses.value, uses.pos);
                }
            }
        }
    }
}

fn check_action_format(findings: &mut Findings<'_>, uses: &str, pos: Pos) {
    if uses.starts_with("./") || uses.starts_with(".\\") || uses.contains("${{") {
        return;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        if image.is_empty() {
            findings.report(
                pos,
                Rule::Action,
                "'uses: docker://' names no image; write 'docker://IMAGE[:TAG]'",
            );
        }
        return;
    }
    let well_formed = uses.split_once('@').is_some_and(|(path, reference)| {
        let mut parts = path.split('/');
        let owner = parts.next().unwrap_or_default();
        let repo = parts.next().unwrap_or_default();
        !owner.is_empty()
            && !repo.is_empty()
            && parts.all(|p| !p.is_empty())
            && !reference.is_empty()
    });
    if !well_formed {
        findings.report(
            pos,
            Rule::Action,
            format!(
                "'uses: {uses}' must be 'OWNER/REPO[/PATH]@REF', './LOCAL/PATH' or 'docker://IMAGE'"
            ),
        );
    }
}

fn check_workflow_call(findings: &mut Findings<'_>, uses: &str, pos: Pos) {
    if uses.contains("${{") {
        return;
    }
    let is_workflow_file = |path: &str| path.ends_with(".yml") || path.ends_with(".yaml");
    let well_formed = match uses.strip_prefix("./") {
        Some(local) => is_workflow_file(local) && !local.contains('@'),
        None => uses.split_once('@').is_some_and(|(path, reference)| {
            let parts: Vec<&str> = path.split('/').collect();
            parts.len() >= 3
                && parts.iter().all(|p| !p.is_empty())
                && is_workflow_file(path)
                && !reference.is_empty()
        }),
    };
    if !well_formed {
        findings.report(
            pos,
            Rule::WorkflowCall,
            format!("reusable workflow call 'uses: {uses}' must be 'OWNER/REPO/PATH/TO/WORKFLOW.yml@REF' or './PATH/TO/WORKFLOW.yml'"),
        );
    }
}

fn check_inputs(
    findings: &mut Findings<'_>,
    step: &Step,
    action: &KnownAction,
    uses: &str,
    pos: Pos,
) {
    for (name, entry) in &step.with {
        if !action
            .inputs
            .iter()
            .any(|(input, _)| input.eq_ignore_ascii_case(name))
        {
            let expected: Vec<&str> = action.inputs.iter().map(|(i, _)| *i).collect();
            findings.report(
                entry.key_pos,
                Rule::Action,
                format!(
                    "input '{name}' is not defined by action '{}'; its inputs are: {}",
                    action.name,
                    expected.join(", ")
                ),
            );
        }
    }
    // setup-java@v1 predates `distribution`, which v2 made required.
    let before_required = uses.eq_ignore_ascii_case("actions/setup-java@v1")
        || uses
            .to_ascii_lowercase()
            .starts_with("actions/setup-java@v1.");
    for (input, required) in action.inputs {
        if *required && !before_required && !step.with.keys().any(|k| k.eq_ignore_ascii_case(input))
        {
            findings.report(
                pos,
                Rule::Action,
                format!(
                    "input '{input}' of action '{}' is required but not given in 'with'",
                    action.name
                ),
            );
        }
    }
}

fn check_commands(findings: &mut Findings<'_>, script: &TemplateString) {
    let raw = script.raw();
    for (command, instead) in DEPRECATED_COMMANDS {
        let needle = format!("::{command} ");
        let bare = format!("::{command}::");
        for (offset, _) in raw
            .match_indices(needle.as_str())
            .chain(raw.match_indices(bare.as_str()))
        {
            findings.report_in(
                script,
                offset,
                Rule::DeprecatedCommands,
                format!("workflow command '{command}' is deprecated; {instead}"),
            );
        }
    }
}

fn check_container(findings: &mut Findings<'_>, container: &Container, what: &str) {
    if let Some(Credentials::Pair { password, .. }) = &container.credentials
        && password.is_literal()
        && !password.raw().is_empty()
    {
        findings.report(
            password.pos(),
            Rule::Credentials,
            format!("the registry password in the credentials of {what} is written in the workflow; keep it in a secret and write '${{{{ secrets.NAME }}}}'"),
        );
    }
    check_env_names(findings, &container.env);
}

fn check_env_names(findings: &mut Findings<'_>, env: &Env) {
    if let Env::Map(map) = env {
        check_names(findings, map);
    }
}

fn check_names(findings: &mut Findings<'_>, map: &Mapping<TemplateString>) {
    for (name, entry) in map {
        // A name built by an expression is known only when the job runs.
        if Template::contains_expression(name) {
            continue;
        }
        if name.is_empty() || name.contains(['=', '&', ' ', '\t']) {
            findings.report(
                entry.key_pos,
                Rule::EnvVar,
                format!("environment variable name '{name}' is invalid: it must not be empty or contain '=', '&' or spaces"),
            );
        }
    }
}
