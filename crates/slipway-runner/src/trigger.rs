//! The event a run is for, worked out from the repository and an optional payload file.
//!
//! `slipway run push` on a branch is a push of that branch's HEAD; on a detached HEAD that a tag
//! points at, a push of the tag. The changed paths (for `paths:` filters) are those of the HEAD
//! commit against its parent (every file for a root commit), plus uncommitted changes with
//! `--dirty`. A payload given with `--eventpath` overrides what it states: `ref`, `before` and
//! `after` for pushes; `pull_request.base` and `head` for pull requests (whose branch filters
//! apply to the base branch); `action` as the activity type.

use indexmap::IndexMap;
use slipway_expr::Value;
use slipway_git::{Repository, Snapshot};
use slipway_workflow::events::EventContext;

use crate::error::PlanError;

/// The zero commit GitHub reports as `before` when there is none.
const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

/// The event, as the planner and the `github` context need it.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub(crate) name: String,
    /// `github.ref`: `refs/heads/x`, `refs/tags/v1`, `refs/pull/N/merge`; empty when detached.
    pub(crate) git_ref: String,
    /// The ref `on:` filters test: the pushed ref, or the base branch of a pull request.
    pub(crate) filter_ref: Option<String>,
    pub(crate) sha: String,
    pub(crate) head_ref: String,
    pub(crate) base_ref: String,
    pub(crate) activity: Option<String>,
    pub(crate) changed_paths: Option<Vec<String>>,
    /// `github.event`.
    pub(crate) payload: Value,
}

impl Trigger {
    /// Works the event out.
    pub(crate) fn new(
        name: &str,
        repo: &Repository,
        snapshot: &Snapshot,
        repository: &str,
        payload: Option<Value>,
        dirty: bool,
    ) -> Result<Trigger, PlanError> {
        let given = payload.unwrap_or_else(|| Value::object(IndexMap::new()));
        let text = |path: &[&str]| lookup(&given, path).map(ToString::to_string);
        let pull_request = matches!(name, "pull_request" | "pull_request_target");
        let sha = text(&["after"])
            .or_else(|| text(&["pull_request", "head", "sha"]))
            .filter(|sha| !sha.is_empty())
            .unwrap_or_else(|| snapshot.commit.clone());
        let (git_ref, filter_ref, head_ref, base_ref) = if pull_request {
            let head = text(&["pull_request", "head", "ref"])
                .or_else(|| snapshot.branch.clone())
                .unwrap_or_default();
            let base = match text(&["pull_request", "base", "ref"]) {
                Some(base) => base,
                None => default_base(repo, snapshot)?,
            };
            let number = text(&["number"])
                .or_else(|| text(&["pull_request", "number"]))
                .unwrap_or_else(|| "1".to_owned());
            let git_ref = format!("refs/pull/{number}/merge");
            (git_ref, Some(format!("refs/heads/{base}")), head, base)
        } else {
            let git_ref = match text(&["ref"]) {
                Some(git_ref) => git_ref,
                None => head_ref_of(repo, snapshot)?,
            };
            let filter_ref = (!git_ref.is_empty()).then(|| git_ref.clone());
            (git_ref, filter_ref, String::new(), String::new())
        };
        let (base, changed_paths) = changed_paths(repo, &given, &sha, dirty)?;
        let payload = if matches!(&given, Value::Object(map) if !map.is_empty()) {
            given.clone()
        } else {
            // Without a payload, the changes were taken against the commit's parent.
            default_payload(name, repository, &git_ref, &sha, base.as_deref())
        };
        Ok(Trigger {
            name: name.to_owned(),
            git_ref,
            filter_ref,
            sha,
            head_ref,
            base_ref,
            activity: text(&["action"]),
            changed_paths: Some(changed_paths),
            payload,
        })
    }

    /// What `on:` filters are tested against.
    pub(crate) fn event_context(&self) -> EventContext {
        let mut context = EventContext::new(self.name.clone());
        if let Some(filter_ref) = &self.filter_ref {
            context = context.with_ref(filter_ref.clone());
        }
        if let Some(paths) = &self.changed_paths {
            context = context.with_changed_paths(paths.clone());
        }
        if let Some(activity) = &self.activity {
            context = context.with_activity_type(activity.clone());
        }
        context
    }

    /// `github.ref_name`: the branch or tag name, or `N/merge` for a pull request.
    pub(crate) fn ref_name(&self) -> &str {
        self.git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| self.git_ref.strip_prefix("refs/tags/"))
            .or_else(|| self.git_ref.strip_prefix("refs/pull/"))
            .unwrap_or(&self.git_ref)
    }

    /// `github.ref_type`: `tag` or `branch`.
    pub(crate) fn ref_type(&self) -> &'static str {
        if self.git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        }
    }
}

/// `refs/heads/<branch>`; on a detached HEAD, `refs/tags/<tag>` when a tag points at it, else
/// nothing.
fn head_ref_of(repo: &Repository, snapshot: &Snapshot) -> Result<String, PlanError> {
    if let Some(branch) = &snapshot.branch {
        return Ok(format!("refs/heads/{branch}"));
    }
    Ok(repo
        .tags_at(&snapshot.commit)?
        .first()
        .map(|tag| format!("refs/tags/{tag}"))
        .unwrap_or_default())
}

/// The base branch of a pull request when no payload names one: `main`, else `master`, else the
/// current branch.
fn default_base(repo: &Repository, snapshot: &Snapshot) -> Result<String, PlanError> {
    for candidate in ["main", "master"] {
        if repo
            .resolve_commit(&format!("refs/heads/{candidate}"))?
            .is_some()
        {
            return Ok(candidate.to_owned());
        }
    }
    Ok(snapshot.branch.clone().unwrap_or_else(|| "main".to_owned()))
}

/// The commit the changes are taken against (`before`, the pull request's base, or the parent;
/// none for a root commit), and the paths changed since.
fn changed_paths(
    repo: &Repository,
    payload: &Value,
    sha: &str,
    dirty: bool,
) -> Result<(Option<String>, Vec<String>), PlanError> {
    let commit_in = |path: &[&str]| -> Result<Option<String>, PlanError> {
        match lookup(payload, path).map(|v| v.to_string()) {
            Some(rev) if !rev.is_empty() && rev != NO_COMMIT => Ok(repo.resolve_commit(&rev)?),
            _ => Ok(None),
        }
    };
    let base = match commit_in(&["before"])? {
        Some(base) => Some(base),
        None => match commit_in(&["pull_request", "base", "sha"])? {
            Some(base) => Some(base),
            None => repo.parent(sha)?,
        },
    };
    let mut paths = match &base {
        Some(base) => repo.changed_paths(base, sha)?,
        None => repo.files_at(sha)?,
    };
    if dirty {
        for path in repo.uncommitted_paths()? {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    Ok((base, paths))
}

/// The payload GitHub would send, reduced to what workflows commonly read; `parent` is the
/// pushed commit's parent.
fn default_payload(
    name: &str,
    repository: &str,
    git_ref: &str,
    sha: &str,
    parent: Option<&str>,
) -> Value {
    let (owner, short) = repository.split_once('/').unwrap_or(("local", repository));
    let repository_value = object([
        ("name", Value::from(short)),
        ("full_name", Value::from(repository)),
        (
            "owner",
            object([("login", Value::from(owner)), ("name", Value::from(owner))]),
        ),
        ("default_branch", Value::from("main")),
    ]);
    let mut fields = vec![("repository", repository_value)];
    if name == "push" {
        let before = parent.unwrap_or(NO_COMMIT);
        fields.extend([
            ("ref", Value::from(git_ref)),
            ("before", Value::from(before)),
            ("after", Value::from(sha)),
            ("created", Value::Bool(false)),
            ("deleted", Value::Bool(false)),
            ("forced", Value::Bool(false)),
            ("head_commit", object([("id", Value::from(sha))])),
        ]);
    }
    if name == "workflow_dispatch" {
        fields.push(("ref", Value::from(git_ref)));
    }
    object(fields)
}

/// An object value from pairs.
pub(crate) fn object<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The value at `path` in `value`, when it is a scalar.
fn lookup<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut at = value;
    for key in path {
        at = at.property(key)?;
    }
    match at {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(at),
        _ => None,
    }
}

/// `owner/name` from a remote URL (`https://host/owner/name.git`, `git@host:owner/name.git`),
/// or `local/<directory>` without one.
pub(crate) fn repository_name(origin: Option<&str>, root: &std::path::Path) -> String {
    let from_url = origin.and_then(|url| {
        let path = url.trim_end_matches('/').trim_end_matches(".git");
        let path = path.rsplit_once(':').map_or(path, |(_, rest)| rest);
        let mut parts = path.rsplit('/');
        let name = parts.next().filter(|n| !n.is_empty())?;
        let owner = parts.next().filter(|o| !o.is_empty())?;
        Some(format!("{owner}/{name}"))
    });
    from_url.unwrap_or_else(|| {
        let dir = root.file_name().map_or_else(
            || "repository".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        format!("local/{dir}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn repository_names_come_from_the_remote() {
        let root = Path::new("/work/shop");
        for url in [
            "https://github.com/acme/shop.git",
            "git@github.com:acme/shop.git",
            "ssh://git@example.com:22/acme/shop",
            "https://example.com/acme/shop/",
        ] {
            assert_eq!(repository_name(Some(url), root), "acme/shop", "{url}");
        }
        assert_eq!(repository_name(None, root), "local/shop");
        assert_eq!(repository_name(Some("file"), root), "local/shop");
    }
}
