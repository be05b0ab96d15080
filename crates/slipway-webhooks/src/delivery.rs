//! The neutral delivery every provider's payload becomes, and what the runner needs from it.

use serde_json::{Value, json};

use crate::Provider;

/// One webhook delivery, whichever host sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Who sent it.
    pub provider: Provider,
    /// The provider's delivery id (`X-GitHub-Delivery`, `X-Gitea-Delivery`,
    /// `X-Gitlab-Event-UUID`); a redelivery carries the same id.
    pub id: String,
    /// The event header's value as sent (`push`, `Merge Request Hook`), for records.
    pub event_header: String,
    /// The login of the account that caused it, when the payload names one.
    pub sender: Option<String>,
    /// The repository it is about; absent only for a ping sent by an organisation's hook.
    pub repository: Option<Repository>,
    /// What happened.
    pub event: Event,
    /// `github.event`: the body itself for GitHub, the same fields in GitHub's shape otherwise.
    pub(crate) payload: Value,
}

/// The repository a delivery is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `owner/name` (GitLab: the path with its namespace, `group/sub/name`).
    pub full_name: String,
    /// Every URL the host gives for it: web page, HTTPS clone, SSH clone, `git://`; deduplicated,
    /// in that order. A server matches a project's configured URL against these.
    pub urls: Vec<String>,
    /// The default branch, when the payload says.
    pub default_branch: Option<String>,
}

impl Repository {
    /// Whether `url` (a project's configured remote) names this repository: equal to one of
    /// [`Repository::urls`] once both are normalised (scheme, user and a trailing `/` or `.git`
    /// dropped, host lowercased, `git@host:path` read as `host/path`).
    pub fn matches_url(&self, url: &str) -> bool {
        let wanted = normalised_url(url);
        !wanted.is_empty() && self.urls.iter().any(|own| normalised_url(own) == wanted)
    }
}

/// `host[:port]/path` of a Git remote URL, lowercase host, without scheme, user, trailing `/`
/// or `.git`: `https://GitHub.com/o/r.git/` and `git@github.com:o/r` both give `github.com/o/r`.
fn normalised_url(url: &str) -> String {
    let url = url.trim();
    let (rest, scp_like) = match url.split_once("://") {
        Some((_scheme, rest)) => (rest, false),
        None => (url, true),
    };
    let (authority, path) = if scp_like {
        // `user@host:path`, as `git` reads a remote without a scheme.
        rest.split_once(':').unwrap_or(("", rest))
    } else {
        rest.split_once('/').unwrap_or((rest, ""))
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_user, host)| host)
        .to_ascii_lowercase();
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if host.is_empty() || path.is_empty() {
        return String::new();
    }
    format!("{host}/{path}")
}

/// What happened, in neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Commits (or a tag) pushed, a branch created or deleted.
    Push(Push),
    /// A pull request (GitLab: merge request) opened, updated, closed...
    PullRequest(PullRequest),
    /// The host checking that the hook works. Runs nothing.
    Ping,
}

impl Event {
    /// The GitHub event name: `push`, `pull_request` or `ping`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Push(_) => "push",
            Event::PullRequest(_) => "pull_request",
            Event::Ping => "ping",
        }
    }
}

/// A push of a branch or tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The full ref: `refs/heads/main`, `refs/tags/v1.0`.
    pub git_ref: String,
    /// The ref's commit before the push (all zeros when it was created).
    pub before: String,
    /// The ref's commit after the push (all zeros when it was deleted).
    pub after: String,
    /// The ref did not exist before.
    pub created: bool,
    /// The ref was deleted: `after` is all zeros.
    pub deleted: bool,
    /// The push was forced (only GitHub says; false otherwise).
    pub forced: bool,
    /// The commits the push carries, as the host lists them.
    pub commits: Vec<Commit>,
    /// The host listed fewer commits than the push holds (GitLab lists at most 20), so the
    /// changed paths are not known from the payload.
    pub commits_truncated: bool,
    /// The message of the commit the ref now points at.
    pub head_commit_message: Option<String>,
}

impl Push {
    /// A tag, not a branch.
    pub fn is_tag(&self) -> bool {
        self.git_ref.starts_with("refs/tags/")
    }
}

/// One commit of a push, with the paths it touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its id (sha).
    pub id: String,
    /// Its message.
    pub message: String,
    /// Paths it added.
    pub added: Vec<String>,
    /// Paths it removed.
    pub removed: Vec<String>,
    /// Paths it modified.
    pub modified: Vec<String>,
}

/// A pull request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// GitHub's activity type: `opened`, `synchronize`, `reopened`, `closed`, `edited`...
    /// (Gitea's `synchronized` and GitLab's `open`, `update`, `merge`... are translated).
    pub action: String,
    /// The pull request's number (GitLab: the merge request's iid).
    pub number: u64,
    /// Its title.
    pub title: String,
    /// The branch with the changes.
    pub head: Revision,
    /// The branch it would merge into.
    pub base: Revision,
    /// The head branch lives in another repository: runs get no secrets, as on GitHub.
    pub from_fork: bool,
}

/// A branch and, when the payload says, its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The branch name, without `refs/heads/`.
    pub git_ref: String,
    /// Its commit; GitLab does not send the base branch's.
    pub sha: Option<String>,
}

/// What the workflow runner needs for a delivery: the inputs of `on:` matching
/// (`slipway_workflow::events::EventContext`) and of `github.*` (the runner's event payload).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The event name `on:` lists: `push` or `pull_request`.
    pub event: &'static str,
    /// `github.ref`: `refs/heads/x`, `refs/tags/v1`, `refs/pull/N/merge`.
    pub git_ref: String,
    /// The ref branch and tag filters test: the pushed ref, or `refs/heads/<base>` for a pull
    /// request.
    pub filter_ref: String,
    /// `github.sha`: the pushed commit, or the pull request's head.
    pub sha: String,
    /// The activity type `types:` tests (pull requests only).
    pub activity: Option<String>,
    /// The paths `paths:` filters test: every path the pushed commits touched. `None` when not
    /// known (pull requests, truncated pushes), in which case path filters pass, as on GitHub.
    pub changed_paths: Option<Vec<String>>,
    /// `github.event`, in GitHub's shape; the runner reads `ref`, `before`, `after`, `action`,
    /// `number` and `pull_request.head`/`base` from it.
    pub payload: Value,
    /// Secrets must be withheld (a pull request from a fork).
    pub withhold_secrets: bool,
}

/// Why a delivery starts no run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRun {
    /// A ping only checks the hook.
    #[error("a ping only checks that the webhook works")]
    Ping,
    /// A branch or tag deletion has no commit to run.
    #[error("{git_ref} was deleted; there is no commit to run")]
    RefDeleted {
        /// The deleted ref.
        git_ref: String,
    },
}

impl Delivery {
    /// `github.event` for this delivery, in GitHub's shape.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The runner's inputs, or why the delivery runs nothing.
    pub fn trigger(&self) -> Result<Trigger, NoRun> {
        match &self.event {
            Event::Ping => Err(NoRun::Ping),
            Event::Push(push) if push.deleted => Err(NoRun::RefDeleted {
                git_ref: push.git_ref.clone(),
            }),
            Event::Push(push) => Ok(Trigger {
                event: "push",
                git_ref: push.git_ref.clone(),
                filter_ref: push.git_ref.clone(),
                sha: push.after.clone(),
                activity: None,
                changed_paths: (!push.commits_truncated).then(|| changed_paths(&push.commits)),
                payload: self.payload.clone(),
                withhold_secrets: false,
            }),
            Event::PullRequest(pull) => Ok(Trigger {
                event: "pull_request",
                git_ref: format!("refs/pull/{}/merge", pull.number),
                filter_ref: format!("refs/heads/{}", pull.base.git_ref),
                sha: pull.head.sha.clone().unwrap_or_default(),
                activity: Some(pull.action.clone()),
                changed_paths: None,
                payload: self.payload.clone(),
                withhold_secrets: pull.from_fork,
            }),
        }
    }
}

/// Every path the commits touched, once each, in the order first seen.
fn changed_paths(commits: &[Commit]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    commits
        .iter()
        .flat_map(|c| c.added.iter().chain(&c.removed).chain(&c.modified))
        .filter(|path| seen.insert(path.as_str()))
        .cloned()
        .collect()
}

/// True for the all-zero id hosts give a ref that does not exist (40 zeros, or 64 for SHA-256).
pub(crate) fn is_zero_commit(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// `github.event` in GitHub's shape, built from the neutral fields (for hosts whose payloads
/// differ from GitHub's).
pub(crate) fn github_shaped(
    event: &Event,
    repository: Option<&Repository>,
    sender: Option<&str>,
) -> Value {
    let mut payload = serde_json::Map::new();
    if let Some(repository) = repository {
        payload.insert("repository".to_owned(), repository_json(repository));
    }
    if let Some(sender) = sender {
        payload.insert("sender".to_owned(), json!({ "login": sender }));
    }
    let full_name = repository.map(|r| r.full_name.as_str());
    match event {
        Event::Ping => {}
        Event::Push(push) => {
            let head_commit = (!push.deleted).then(|| {
                json!({ "id": push.after, "message": push.head_commit_message.clone().unwrap_or_default() })
            });
            let fields = json!({
                "ref": push.git_ref,
                "before": push.before,
                "after": push.after,
                "created": push.created,
                "deleted": push.deleted,
                "forced": push.forced,
                "commits": push.commits.iter().map(commit_json).collect::<Vec<_>>(),
                "head_commit": head_commit,
                "pusher": { "name": sender },
            });
            extend(&mut payload, fields);
        }
        Event::PullRequest(pull) => {
            let head_repo = if pull.from_fork { None } else { full_name };
            let fields = json!({
                "action": pull.action,
                "number": pull.number,
                "pull_request": {
                    "number": pull.number,
                    "title": pull.title,
                    "head": { "ref": pull.head.git_ref, "sha": pull.head.sha, "repo": { "full_name": head_repo, "fork": pull.from_fork } },
                    "base": { "ref": pull.base.git_ref, "sha": pull.base.sha, "repo": { "full_name": full_name } },
                },
            });
            extend(&mut payload, fields);
        }
    }
    Value::Object(payload)
}

fn extend(payload: &mut serde_json::Map<String, Value>, fields: Value) {
    if let Value::Object(fields) = fields {
        payload.extend(fields);
    }
}

fn repository_json(repository: &Repository) -> Value {
    let (owner, name) = repository
        .full_name
        .rsplit_once('/')
        .unwrap_or(("", repository.full_name.as_str()));
    let url_like = |test: fn(&str) -> bool| repository.urls.iter().find(|u| test(u)).cloned();
    json!({
        "name": name,
        "full_name": repository.full_name,
        "owner": { "login": owner, "name": owner },
        "html_url": url_like(|u| u.starts_with("http") && !u.ends_with(".git")),
        "clone_url": url_like(|u| u.starts_with("http") && u.ends_with(".git")),
        "ssh_url": url_like(|u| u.starts_with("ssh://") || (u.contains('@') && !u.contains("://"))),
        "default_branch": repository.default_branch,
    })
}

fn commit_json(commit: &Commit) -> Value {
    json!({
        "id": commit.id,
        "message": commit.message,
        "added": commit.added,
        "removed": commit.removed,
        "modified": commit.modified,
    })
}

/// The URLs, without empties and repeats, in the order given.
pub(crate) fn urls(candidates: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for url in candidates.into_iter().flatten() {
        if !url.is_empty() && !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_normalise_to_host_and_path() {
        let cases = [
            ("https://github.com/octo/app.git", "github.com/octo/app"),
            ("https://GitHub.com/octo/app/", "github.com/octo/app"),
            ("git@github.com:octo/app.git", "github.com/octo/app"),
            ("ssh://git@github.com/octo/app.git", "github.com/octo/app"),
            ("git://github.com/octo/app.git", "github.com/octo/app"),
            (
                "ssh://gitea@localhost:2222/team/app.git",
                "localhost:2222/team/app",
            ),
            ("http://localhost:3000/team/app", "localhost:3000/team/app"),
            (
                "https://gitlab.example.com/group/sub/app.git",
                "gitlab.example.com/group/sub/app",
            ),
            ("/srv/git/app.git", ""),
            ("", ""),
        ];
        for (url, expected) in cases {
            assert_eq!(normalised_url(url), expected, "{url}");
        }
    }

    #[test]
    fn a_project_matches_any_url_form_of_its_repository() {
        let repository = Repository {
            full_name: "octo/app".to_owned(),
            urls: vec![
                "https://github.com/octo/app".to_owned(),
                "git@github.com:octo/app.git".to_owned(),
            ],
            default_branch: None,
        };
        assert!(repository.matches_url("https://github.com/octo/app.git"));
        assert!(repository.matches_url("ssh://git@github.com/octo/app"));
        assert!(!repository.matches_url("https://github.com/octo/app-fork.git"));
        assert!(!repository.matches_url("https://github.example.com/octo/app"));
        assert!(!repository.matches_url(""));
    }
}
