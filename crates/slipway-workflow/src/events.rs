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

/// Why an event does not trigger the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    /// The event is not under `on:`.
    #[error("the workflow does not run on '{0}'")]
    EventNotListed(String),
    /// The activity type is not among `types`.
    #[error("activity type '{activity}' is not one of: {}", allowed.join(", "))]
    ActivityType {
        /// The event's activity type.
        activity: String,
        /// The types the workflow runs for.
        allowed: Vec<String>,
    },
    /// A branch or tag filter excludes the ref.
    #[error("{kind} '{name}' is excluded by '{filter}'")]
    RefFiltered {
        /// `branch` or `tag`.
        kind: &'static str,
        /// The branch or tag name.
        name: String,
        /// The filter that excluded it.
        filter: &'static str,
    },
    /// Only the other kind of ref has filters, so this kind does not run.
    #[error("{kind} '{name}' does not run: only {other} filters are defined")]
    RefKindUnfiltered {
        /// `branch` or `tag`.
        kind: &'static str,
        /// The branch or tag name.
        name: String,
        /// `tags` or `branches`.
        other: &'static str,
    },
    /// No changed path passes the path filters.
    #[error("no changed path passes '{filter}'")]
    PathsFiltered {
        /// `paths` or `paths-ignore`.
        filter: &'static str,
    },
    /// A filter pattern is invalid (the linter reports these too).
    #[error(transparent)]
    InvalidPattern(#[from] PatternError),
}

/// The activity types `pull_request` and `pull_request_target` run for without `types:`.
const DEFAULT_PULL_REQUEST_TYPES: &[&str] = &["opened", "synchronize", "reopened"];

/// Whether `event` triggers a workflow with these triggers; if not, why.
pub fn matches(triggers: &Triggers, event: &EventContext) -> Result<(), Mismatch> {
    let trigger = triggers
        .get(&event.name)
        .ok_or_else(|| Mismatch::EventNotListed(event.name.clone()))?;
    check_activity(trigger, event)?;
    let is_tag = match &event.git_ref {
        Some(git_ref) => check_ref(trigger, git_ref)?,
        None => false,
    };
    if !is_tag {
        check_paths(trigger, event.changed_paths.as_deref())?;
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
            activity: activity.clone(),
            allowed,
        })
    }
}

/// Applies branch or tag filters; returns whether the ref is a tag.
fn check_ref(trigger: &Trigger, git_ref: &str) -> Result<bool, Mismatch> {
    let (kind, name, include, ignore, other_filters) =
        if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
            let other = trigger.branches.is_some() || trigger.branches_ignore.is_some();
            (
                "tag",
                tag,
                &trigger.tags,
                &trigger.tags_ignore,
                other.then_some("branches"),
            )
        } else {
            let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
            let other = trigger.tags.is_some() || trigger.tags_ignore.is_some();
            (
                "branch",
                branch,
                &trigger.branches,
                &trigger.branches_ignore,
                other.then_some("tags"),
            )
        };
    let (include_name, ignore_name) = if kind == "tag" {
        ("tags", "tags-ignore")
    } else {
        ("branches", "branches-ignore")
    };
    let filtered = |filter: &'static str| Mismatch::RefFiltered {
        kind,
        name: name.to_owned(),
        filter,
    };
    match (include, ignore, other_filters) {
        (Some(filter), _, _) if !patterns(filter)?.selects(name) => Err(filtered(include_name)),
        (None, Some(filter), _) if patterns(filter)?.selects(name) => Err(filtered(ignore_name)),
        (None, None, Some(other)) => Err(Mismatch::RefKindUnfiltered {
            kind,
            name: name.to_owned(),
            other,
        }),
        _ => Ok(kind == "tag"),
    }
}

fn check_paths(trigger: &Trigger, changed: Option<&[String]>) -> Result<(), Mismatch> {
    let Some(changed) = changed else {
        return Ok(());
    };
    if let Some(filter) = &trigger.paths {
        let list = patterns(filter)?;
        if !changed.iter().any(|path| list.selects(path)) {
            return Err(Mismatch::PathsFiltered { filter: "paths" });
        }
    }
    if let Some(filter) = &trigger.paths_ignore {
        let list = patterns(filter)?;
        if changed.iter().all(|path| list.selects(path)) {
            return Err(Mismatch::PathsFiltered {
                filter: "paths-ignore",
            });
        }
    }
    Ok(())
}

fn patterns(filter: &Filter) -> Result<PatternList, PatternError> {
    let raw: Vec<&str> = filter.patterns.iter().map(|p| p.value.as_str()).collect();
    PatternList::new(&raw)
}
