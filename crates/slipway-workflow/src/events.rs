//! Does an event trigger a workflow? [`matches`] applies `on:` to an [`EventContext`].
//!
//! Following "Workflow syntax" and "Events that trigger workflows": the event must be listed;
//! its activity type must be in `types` (`pull_request` and `pull_request_target` default to
//! `opened`, `synchronize` and `reopened`); branch and tag filters apply to pushed refs (to the
//! base branch for pull requests), and defining only branch filters means tag pushes do not run,
//! and the other way round; path filters need one changed path selected by `paths`, or one not
//! ignored by `paths-ignore`, and are not evaluated for tag pushes.

use thiserror::Error;

use crate::filter::{PatternError, PatternList};
use crate::model::{Filter, Trigger, Triggers};

/// What happened, as the runner knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    name: String,
    git_ref: Option<String>,
    changed_paths: Option<Vec<String>>,
    activity_type: Option<String>,
}

impl EventContext {
    /// An event called `name` (`push`, `pull_request`, ...).
    pub fn new(name: impl Into<String>) -> EventContext {
        EventContext {
            name: name.into(),
            git_ref: None,
            changed_paths: None,
            activity_type: None,
        }
    }

    /// The full ref: `refs/heads/<branch>` or `refs/tags/<tag>` for a push; the base branch for
    /// a pull request; the head branch of the triggering run for `workflow_run`. A bare name is
    /// taken as a branch.
    pub fn with_ref(mut self, git_ref: impl Into<String>) -> EventContext {
        self.git_ref = Some(git_ref.into());
        self
    }

    /// The paths the event changed, relative to the repository root. Without them, path
    /// filters are taken as passing, as GitHub does when it cannot compute a diff.
    pub fn with_changed_paths(mut self, paths: Vec<String>) -> EventContext {
        self.changed_paths = Some(paths);
        self
    }

    /// The activity type (`opened`, `closed`, ...).
    pub fn with_activity_type(mut self, activity: impl Into<String>) -> EventContext {
        self.activity_type = Some(activity.into());
        self
    }
}

/// Why an event does not trigger the workflow: the filter that excluded it, with what it holds,
/// so that its message says it all (`push to 'master' does not match branches [main]`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    /// The event is not under `on:`.
    #[error("{event} is not in on: [{}]", listed.join(", "))]
    EventNotListed {
        /// The event.
        event: String,
        /// The events under `on:`.
        listed: Vec<String>,
    },
    /// The activity type is not among `types`.
    #[error("{event} activity '{activity}' is not in types [{}]", allowed.join(", "))]
    ActivityType {
        /// The event.
        event: String,
        /// The event's activity type.
        activity: String,
        /// The types the workflow runs for.
        allowed: Vec<String>,
    },
    /// A branch or tag filter excludes the ref.
    #[error(
        "{} {} {filter} [{}]",
        ref_phrase(event, kind, name),
        if filter.ends_with("-ignore") { "is excluded by" } else { "does not match" },
        patterns.join(", ")
    )]
    RefFiltered {
        /// The event.
        event: String,
        /// `branch` or `tag`.
        kind: &'static str,
        /// The branch or tag name.
        name: String,
        /// The filter that excluded it (`branches`, `branches-ignore`, `tags`, `tags-ignore`).
        filter: &'static str,
        /// The filter's patterns.
        patterns: Vec<String>,
    },
    /// Only the other kind of ref has filters, so this kind does not run.
    #[error(
        "{} does not run: only {other} are filtered [{}]",
        ref_phrase(event, kind, name),
        patterns.join(", ")
    )]
    RefKindUnfiltered {
        /// The event.
        event: String,
        /// `branch` or `tag`.
        kind: &'static str,
        /// The branch or tag name.
        name: String,
        /// `tags` or `branches`.
        other: &'static str,
        /// The patterns of the other kind's filters.
        patterns: Vec<String>,
    },
    /// No changed path passes the path filters.
    #[error(
        "{event} changed {} {filter} [{}]",
        if *filter == "paths" { "no path matching" } else { "only paths ignored by" },
        patterns.join(", ")
    )]
    PathsFiltered {
        /// The event.
        event: String,
        /// `paths` or `paths-ignore`.
        filter: &'static str,
        /// The filter's patterns.
        patterns: Vec<String>,
    },
    /// A filter pattern is invalid (the linter reports these too).
    #[error(transparent)]
    InvalidPattern(#[from] PatternError),
}

/// What happened to which ref: `push to 'main'`, `pull_request into 'main'`, `push of tag 'v1'`.
fn ref_phrase(event: &str, kind: &str, name: &str) -> String {
    match (kind, event) {
        ("tag", _) => format!("{event} of tag '{name}'"),
        (_, "push") => format!("{event} to '{name}'"),
        (_, "pull_request" | "pull_request_target") => format!("{event} into '{name}'"),
        _ => format!("{event} on '{name}'"),
    }
}

/// The activity types `pull_request` and `pull_request_target` run for without `types:`.
const DEFAULT_PULL_REQUEST_TYPES: &[&str] = &["opened", "synchronize", "reopened"];

/// Whether `event` triggers a workflow with these triggers; if not, why.
pub fn matches(triggers: &Triggers, event: &EventContext) -> Result<(), Mismatch> {
    let trigger = triggers
        .get(&event.name)
        .ok_or_else(|| Mismatch::EventNotListed {
            event: event.name.clone(),
            listed: triggers
                .events
                .iter()
                .map(|t| t.name.value.clone())
                .collect(),
        })?;
    check_activity(trigger, event)?;
    let is_tag = match &event.git_ref {
        Some(git_ref) => check_ref(trigger, &event.name, git_ref)?,
        None => false,
    };
    if !is_tag {
        check_paths(trigger, &event.name, event.changed_paths.as_deref())?;
    }
    Ok(())
}

fn check_activity(trigger: &Trigger, event: &EventContext) -> Result<(), Mismatch> {
    let Some(activity) = &event.activity_type else {
        return Ok(());
    };
    let allowed: Vec<String> = match &trigger.types {
        Some(types) => types.iter().map(|t| t.value.clone()).collect(),
        None if matches!(
            trigger.name.value.as_str(),
            "pull_request" | "pull_request_target"
        ) =>
        {
            DEFAULT_PULL_REQUEST_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect()
        }
        None => return Ok(()),
    };
    if allowed.iter().any(|t| t == activity) {
        Ok(())
    } else {
        Err(Mismatch::ActivityType {
            event: event.name.clone(),
            activity: activity.clone(),
            allowed,
        })
    }
}

/// Applies branch or tag filters; returns whether the ref is a tag.
fn check_ref(trigger: &Trigger, event: &str, git_ref: &str) -> Result<bool, Mismatch> {
    let (kind, name, include, ignore, others) =
        if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
            let others = ("branches", [&trigger.branches, &trigger.branches_ignore]);
            ("tag", tag, &trigger.tags, &trigger.tags_ignore, others)
        } else {
            let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
            let others = ("tags", [&trigger.tags, &trigger.tags_ignore]);
            (
                "branch",
                branch,
                &trigger.branches,
                &trigger.branches_ignore,
                others,
            )
        };
    let (include_name, ignore_name) = if kind == "tag" {
        ("tags", "tags-ignore")
    } else {
        ("branches", "branches-ignore")
    };
    let filtered = |filter: &'static str, list: &Filter| Mismatch::RefFiltered {
        event: event.to_owned(),
        kind,
        name: name.to_owned(),
        filter,
        patterns: raw(list),
    };
    match (include, ignore) {
        (Some(list), _) if !patterns(list)?.selects(name) => Err(filtered(include_name, list)),
        (None, Some(list)) if patterns(list)?.selects(name) => Err(filtered(ignore_name, list)),
        (None, None) if others.1.iter().any(|f| f.is_some()) => Err(Mismatch::RefKindUnfiltered {
            event: event.to_owned(),
            kind,
            name: name.to_owned(),
            other: others.0,
            patterns: others.1.iter().copied().flatten().flat_map(raw).collect(),
        }),
        _ => Ok(kind == "tag"),
    }
}

fn check_paths(trigger: &Trigger, event: &str, changed: Option<&[String]>) -> Result<(), Mismatch> {
    let Some(changed) = changed else {
        return Ok(());
    };
    let filtered = |filter: &'static str, list: &Filter| Mismatch::PathsFiltered {
        event: event.to_owned(),
        filter,
        patterns: raw(list),
    };
    if let Some(list) = &trigger.paths {
        let compiled = patterns(list)?;
        if !changed.iter().any(|path| compiled.selects(path)) {
            return Err(filtered("paths", list));
        }
    }
    if let Some(list) = &trigger.paths_ignore {
        let compiled = patterns(list)?;
        if changed.iter().all(|path| compiled.selects(path)) {
            return Err(filtered("paths-ignore", list));
        }
    }
    Ok(())
}

/// A filter's patterns as written.
fn raw(filter: &Filter) -> Vec<String> {
    filter.patterns.iter().map(|p| p.value.clone()).collect()
}

fn patterns(filter: &Filter) -> Result<PatternList, PatternError> {
    let raw: Vec<&str> = filter.patterns.iter().map(|p| p.value.as_str()).collect();
    PatternList::new(&raw)
}
