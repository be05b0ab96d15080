//! What GitHub documents about events, permissions, shells and runners, as tables.
//!
//! From "Events that trigger workflows" (event names and their activity types), "Workflow
//! syntax" (permission scopes, built-in shells) and "GitHub-hosted runners" (runner labels).

/// How an event may be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventSpec {
    pub(crate) name: &'static str,
    /// Activity types `types:` accepts; `None` when the event has none (or, for
    /// `repository_dispatch`, any custom type is accepted: see [`EventSpec::any_type`]).
    pub(crate) types: Option<&'static [&'static str]>,
    /// The keys allowed under the event.
    pub(crate) keys: &'static [&'static str],
}

impl EventSpec {
    /// `repository_dispatch` takes any custom activity type.
    pub(crate) fn any_type(&self) -> bool {
        self.name == "repository_dispatch"
    }
}

const PR_TYPES: &[&str] = &[
    "assigned",
    "unassigned",
    "labeled",
    "unlabeled",
    "opened",
    "edited",
    "closed",
    "reopened",
    "synchronize",
    "converted_to_draft",
    "ready_for_review",
    "locked",
    "unlocked",
    "review_requested",
    "review_request_removed",
    "auto_merge_enabled",
    "auto_merge_disabled",
    "milestoned",
    "demilestoned",
    "enqueued",
    "dequeued",
];

const CREATED_EDITED_DELETED: &[&str] = &["created", "edited", "deleted"];
const TYPES: &[&str] = &["types"];
const NONE: &[&str] = &[];
const PUSH_KEYS: &[&str] = &[
    "branches",
    "branches-ignore",
    "tags",
    "tags-ignore",
    "paths",
    "paths-ignore",
];
const PR_KEYS: &[&str] = &[
    "types",
    "branches",
    "branches-ignore",
    "paths",
    "paths-ignore",
];

const fn typed(name: &'static str, types: &'static [&'static str]) -> EventSpec {
    EventSpec {
        name,
        types: Some(types),
        keys: TYPES,
    }
}

const fn untyped(name: &'static str) -> EventSpec {
    EventSpec {
        name,
        types: None,
        keys: NONE,
    }
}

/// Every event a workflow can listen to.
pub(crate) const EVENTS: &[EventSpec] = &[
    typed("branch_protection_rule", CREATED_EDITED_DELETED),
    typed(
        "check_run",
        &["created", "rerequested", "completed", "requested_action"],
    ),
    typed("check_suite", &["completed"]),
    untyped("create"),
    untyped("delete"),
    untyped("deployment"),
    untyped("deployment_status"),
    typed(
        "discussion",
        &[
            "created",
            "edited",
            "deleted",
            "transferred",
            "pinned",
            "unpinned",
            "labeled",
            "unlabeled",
            "locked",
            "unlocked",
            "category_changed",
            "answered",
            "unanswered",
        ],
    ),
    typed("discussion_comment", CREATED_EDITED_DELETED),
    untyped("fork"),
    untyped("gollum"),
    // "Events that trigger workflows: image_version": custom images by name and version.
    EventSpec {
        name: "image_version",
        types: Some(&["created", "ready"]),
        keys: &["types", "names", "versions"],
    },
    typed("issue_comment", CREATED_EDITED_DELETED),
    typed(
        "issues",
        &[
            "opened",
            "edited",
            "deleted",
            "transferred",
            "pinned",
            "unpinned",
            "closed",
            "reopened",
            "assigned",
            "unassigned",
            "labeled",
            "unlabeled",
            "locked",
            "unlocked",
            "milestoned",
            "demilestoned",
            "typed",
            "untyped",
        ],
    ),
    typed("label", CREATED_EDITED_DELETED),
    // "Events that trigger workflows: merge_group": branches of the merge queue's target.
    EventSpec {
        name: "merge_group",
        types: Some(&["checks_requested"]),
        keys: &["types", "branches", "branches-ignore"],
    },
    typed(
        "milestone",
        &["created", "closed", "opened", "edited", "deleted"],
    ),
    untyped("page_build"),
    typed(
        "project",
        &["created", "closed", "reopened", "edited", "deleted"],
    ),
    typed(
        "project_card",
        &["created", "moved", "converted", "edited", "deleted"],
    ),
    typed(
        "project_column",
        &["created", "updated", "moved", "deleted"],
    ),
    untyped("public"),
    EventSpec {
        name: "pull_request",
        types: Some(PR_TYPES),
        keys: PR_KEYS,
    },
    typed("pull_request_review", &["submitted", "edited", "dismissed"]),
    typed("pull_request_review_comment", CREATED_EDITED_DELETED),
    EventSpec {
        name: "pull_request_target",
        types: Some(PR_TYPES),
        keys: PR_KEYS,
    },
    EventSpec {
        name: "push",
        types: None,
        keys: PUSH_KEYS,
    },
    typed("registry_package", &["published", "updated"]),
    typed(
        "release",
        &[
            "published",
            "unpublished",
            "created",
            "edited",
            "deleted",
            "prereleased",
            "released",
        ],
    ),
    EventSpec {
        name: "repository_dispatch",
        types: Some(&[]),
        keys: TYPES,
    },
    untyped("schedule"),
    untyped("status"),
    typed("watch", &["started"]),
    EventSpec {
        name: "workflow_call",
        types: None,
        keys: &["inputs", "outputs", "secrets"],
    },
    EventSpec {
        name: "workflow_dispatch",
        types: None,
        keys: &["inputs"],
    },
    EventSpec {
        name: "workflow_run",
        types: Some(&["completed", "requested", "in_progress"]),
        keys: &["workflows", "types", "branches", "branches-ignore"],
    },
];

/// The spec of event `name`, if GitHub has such an event.
pub(crate) fn event(name: &str) -> Option<&'static EventSpec> {
    EVENTS.iter().find(|spec| spec.name == name)
}

/// Permission scopes of `GITHUB_TOKEN`, with the access levels each accepts.
pub(crate) const PERMISSION_SCOPES: &[(&str, &[&str])] = &[
    ("actions", &["read", "write", "none"]),
    ("attestations", &["read", "write", "none"]),
    ("checks", &["read", "write", "none"]),
    ("contents", &["read", "write", "none"]),
    ("deployments", &["read", "write", "none"]),
    ("discussions", &["read", "write", "none"]),
    ("id-token", &["write", "none"]),
    ("issues", &["read", "write", "none"]),
    ("models", &["read", "none"]),
    ("packages", &["read", "write", "none"]),
    ("pages", &["read", "write", "none"]),
    ("pull-requests", &["read", "write", "none"]),
    ("repository-projects", &["read", "write", "none"]),
    ("security-events", &["read", "write", "none"]),
    ("statuses", &["read", "write", "none"]),
];

/// Shells `shell:` names without a custom command.
pub(crate) const BUILTIN_SHELLS: &[&str] = &["bash", "pwsh", "python", "sh", "cmd", "powershell"];

/// Labels of GitHub-hosted runners, plus the labels every self-hosted runner has.
pub(crate) const RUNNER_LABELS: &[&str] = &[
    "ubuntu-latest",
    "ubuntu-24.04",
    "ubuntu-22.04",
    "ubuntu-20.04",
    "ubuntu-slim",
    "ubuntu-24.04-arm",
    "ubuntu-22.04-arm",
    "windows-latest",
    "windows-2025",
    "windows-2022",
    "windows-2019",
    "windows-11-arm",
    "macos-latest",
    "macos-26",
    "macos-15",
    "macos-14",
    "macos-13",
    "macos-latest-large",
    "macos-15-large",
    "macos-14-large",
    "macos-13-large",
    "macos-latest-xlarge",
    "macos-15-xlarge",
    "macos-14-xlarge",
    "macos-13-xlarge",
    "self-hosted",
    "linux",
    "windows",
    "macos",
    "x64",
    "arm",
    "arm64",
];
