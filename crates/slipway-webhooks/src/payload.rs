//! Decoding a body, and the payload shapes GitHub and Gitea share.
//!
//! Gitea (and Forgejo) modelled their push and pull request payloads on GitHub's, so one set of
//! types reads both; each field this crate needs is declared, everything else is ignored, and
//! fields one of the two omits (`created`, `forced`) are optional.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::WebhookError;
use crate::delivery::{self, Commit, Event, PullRequest, Push, Repository, Revision};

/// Reads `body` as the payload of `event`: bad JSON names line and column, a missing or
/// mistyped field names its path.
pub(crate) fn decode<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, WebhookError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            WebhookError::InvalidPayload {
                event: event.to_owned(),
                path,
                line: inner.line(),
                column: inner.column(),
                message: without_position(&inner),
            }
        } else {
            bad_json(&inner)
        }
    })?;
    deserializer.end().map_err(|error| bad_json(&error))?;
    Ok(value)
}

pub(crate) fn bad_json(error: &serde_json::Error) -> WebhookError {
    WebhookError::BadJson {
        line: error.line(),
        column: error.column(),
        message: without_position(error),
    }
}

/// serde_json's message without its " at line L column C" suffix, which the error states apart.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[derive(Deserialize)]
pub(crate) struct HostRepository {
    full_name: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    clone_url: Option<String>,
    #[serde(default)]
    ssh_url: Option<String>,
    #[serde(default)]
    git_url: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
}

impl HostRepository {
    pub(crate) fn neutral(self) -> Repository {
        Repository {
            urls: delivery::urls([self.html_url, self.clone_url, self.ssh_url, self.git_url]),
            full_name: self.full_name,
            default_branch: self.default_branch.filter(|b| !b.is_empty()),
        }
    }
}

/// GitHub's user has `login`; Gitea's has `login` and `username`.
#[derive(Deserialize)]
pub(crate) struct HostUser {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl HostUser {
    pub(crate) fn name(self) -> Option<String> {
        self.login.or(self.username).filter(|n| !n.is_empty())
    }
}

#[derive(Deserialize)]
struct HostCommit {
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

impl HostCommit {
    fn neutral(self) -> Commit {
        Commit {
            id: self.id,
            message: self.message,
            added: self.added,
            removed: self.removed,
            modified: self.modified,
        }
    }
}

/// The fields every delivery shares: who and where.
pub(crate) struct Origin {
    pub(crate) repository: Option<Repository>,
    pub(crate) sender: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct HostPush {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    created: Option<bool>,
    #[serde(default)]
    deleted: Option<bool>,
    #[serde(default)]
    forced: Option<bool>,
    #[serde(default)]
    commits: Option<Vec<HostCommit>>,
    #[serde(default)]
    head_commit: Option<HostCommit>,
    repository: HostRepository,
    #[serde(default)]
    sender: Option<HostUser>,
    #[serde(default)]
    pusher: Option<HostUser>,
}

impl HostPush {
    pub(crate) fn neutral(self) -> (Event, Origin) {
        let deleted = self.deleted.unwrap_or(false) || delivery::is_zero_commit(&self.after);
        let created = self.created.unwrap_or(false) || delivery::is_zero_commit(&self.before);
        let push = Push {
            deleted,
            created,
            forced: self.forced.unwrap_or(false),
            commits: self
                .commits
                .unwrap_or_default()
                .into_iter()
                .map(HostCommit::neutral)
                .collect(),
            commits_truncated: false,
            head_commit_message: self.head_commit.map(|c| c.message),
            git_ref: self.git_ref,
            before: self.before,
            after: self.after,
        };
        let sender = self
            .sender
            .and_then(HostUser::name)
            .or_else(|| self.pusher.and_then(HostUser::name));
        let origin = Origin {
            repository: Some(self.repository.neutral()),
            sender,
        };
        (Event::Push(push), origin)
    }
}

#[derive(Deserialize)]
struct HostBranch {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
    /// Null when the fork was deleted.
    #[serde(default)]
    repo: Option<HostRepoName>,
}

#[derive(Deserialize)]
struct HostRepoName {
    full_name: String,
}

#[derive(Deserialize)]
struct HostPullRequestBody {
    #[serde(default)]
    title: String,
    head: HostBranch,
    base: HostBranch,
}

#[derive(Deserialize)]
pub(crate) struct HostPullRequest {
    action: String,
    number: u64,
    pull_request: HostPullRequestBody,
    repository: HostRepository,
    #[serde(default)]
    sender: Option<HostUser>,
}

impl HostPullRequest {
    /// `action` as GitHub names it: Gitea says `synchronized` where GitHub says `synchronize`.
    pub(crate) fn neutral(self, action: impl Fn(String) -> String) -> (Event, Origin) {
        let body = self.pull_request;
        let base_repo = body.base.repo.map(|r| r.full_name);
        let from_fork = match (&body.head.repo, &base_repo) {
            (Some(head), Some(base)) => head.full_name != *base,
            (Some(head), None) => head.full_name != self.repository.full_name,
            // A deleted fork: its repository is gone, and it was not this one.
            (None, _) => true,
        };
        let pull = PullRequest {
            action: action(self.action),
            number: self.number,
            title: body.title,
            head: Revision {
                git_ref: body.head.git_ref,
                sha: Some(body.head.sha),
            },
            base: Revision {
                git_ref: body.base.git_ref,
                sha: Some(body.base.sha),
            },
            from_fork,
        };
        let origin = Origin {
            repository: Some(self.repository.neutral()),
            sender: self.sender.and_then(HostUser::name),
        };
        (Event::PullRequest(pull), origin)
    }
}

#[derive(Deserialize)]
pub(crate) struct HostPing {
    #[serde(default)]
    repository: Option<HostRepository>,
    #[serde(default)]
    sender: Option<HostUser>,
}

impl HostPing {
    pub(crate) fn neutral(self) -> (Event, Origin) {
        let origin = Origin {
            repository: self.repository.map(HostRepository::neutral),
            sender: self.sender.and_then(HostUser::name),
        };
        (Event::Ping, origin)
    }
}
