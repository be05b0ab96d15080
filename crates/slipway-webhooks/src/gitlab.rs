//! GitLab's deliveries: `X-Gitlab-Event` (`Push Hook`, `Tag Push Hook`, `Merge Request Hook`),
//! `X-Gitlab-Event-UUID`, and payloads of GitLab's own shape, translated to GitHub's.

use http::HeaderMap;
use serde::Deserialize;

use crate::delivery::{self, Commit, Delivery, Event, PullRequest, Push, Repository, Revision};
use crate::payload;
use crate::{Provider, WebhookError, headers};

pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Delivery, WebhookError> {
    let (_, event_header) = headers::required(headers, &["x-gitlab-event"])?;
    let (_, id) = headers::required(headers, &["x-gitlab-event-uuid"])?;
    let (event, repository, sender) = match event_header.as_str() {
        "Push Hook" | "Tag Push Hook" => {
            payload::decode::<GitLabPush>(&event_header, body)?.neutral()
        }
        "Merge Request Hook" => {
            payload::decode::<GitLabMergeRequest>(&event_header, body)?.neutral()
        }
        _ => {
            return Err(WebhookError::UnknownEvent {
                provider: Provider::GitLab.as_str(),
                event: event_header,
            });
        }
    };
    let payload = delivery::github_shaped(&event, Some(&repository), sender.as_deref());
    Ok(Delivery {
        provider: Provider::GitLab,
        id,
        event_header,
        sender,
        repository: Some(repository),
        event,
        payload,
    })
}

#[derive(Deserialize)]
struct GitLabProject {
    path_with_namespace: String,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    git_http_url: Option<String>,
    #[serde(default)]
    git_ssh_url: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
}

impl GitLabProject {
    fn neutral(self) -> Repository {
        Repository {
            urls: delivery::urls([self.web_url, self.git_http_url, self.git_ssh_url]),
            full_name: self.path_with_namespace,
            default_branch: self.default_branch.filter(|b| !b.is_empty()),
        }
    }
}

#[derive(Deserialize)]
struct GitLabCommit {
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

#[derive(Deserialize)]
struct GitLabPush {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    user_username: Option<String>,
    project: GitLabProject,
    #[serde(default)]
    commits: Vec<GitLabCommit>,
    /// GitLab lists at most 20 commits and counts them all here.
    #[serde(default)]
    total_commits_count: Option<usize>,
}

impl GitLabPush {
    fn neutral(self) -> (Event, Repository, Option<String>) {
        let head_commit_message = self
            .commits
            .iter()
            .find(|c| c.id == self.after)
            .map(|c| c.message.clone());
        let commits_truncated = self
            .total_commits_count
            .is_some_and(|total| total > self.commits.len());
        let push = Push {
            created: delivery::is_zero_commit(&self.before),
            deleted: delivery::is_zero_commit(&self.after),
            // GitLab does not say.
            forced: false,
            commits: self.commits.into_iter().map(neutral_commit).collect(),
            commits_truncated,
            head_commit_message,
            git_ref: self.git_ref,
            before: self.before,
            after: self.after,
        };
        let sender = self.user_username.filter(|u| !u.is_empty());
        (Event::Push(push), self.project.neutral(), sender)
    }
}

fn neutral_commit(commit: GitLabCommit) -> Commit {
    Commit {
        id: commit.id,
        message: commit.message,
        added: commit.added,
        removed: commit.removed,
        modified: commit.modified,
    }
}

#[derive(Deserialize)]
struct GitLabUser {
    username: String,
}

#[derive(Deserialize)]
struct GitLabLastCommit {
    id: String,
}

#[derive(Deserialize)]
struct GitLabProjectPath {
    path_with_namespace: String,
}

#[derive(Deserialize)]
struct GitLabMergeAttributes {
    iid: u64,
    #[serde(default)]
    title: String,
    source_branch: String,
    target_branch: String,
    #[serde(default)]
    source_project_id: Option<u64>,
    #[serde(default)]
    target_project_id: Option<u64>,
    #[serde(default)]
    source: Option<GitLabProjectPath>,
    #[serde(default)]
    target: Option<GitLabProjectPath>,
    /// Absent in some test deliveries; `state` says enough then.
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    last_commit: Option<GitLabLastCommit>,
    /// Present on an `update` that pushed commits.
    #[serde(default)]
    oldrev: Option<String>,
}

#[derive(Deserialize)]
struct GitLabMergeRequest {
    #[serde(default)]
    user: Option<GitLabUser>,
    project: GitLabProject,
    object_attributes: GitLabMergeAttributes,
}

impl GitLabMergeRequest {
    fn neutral(self) -> (Event, Repository, Option<String>) {
        let attributes = self.object_attributes;
        let from_fork = match (attributes.source_project_id, attributes.target_project_id) {
            (Some(source), Some(target)) => source != target,
            _ => match (&attributes.source, &attributes.target) {
                (Some(source), Some(target)) => {
                    source.path_with_namespace != target.path_with_namespace
                }
                // GitLab sends no source when the source project was deleted: a fork gone.
                (None, _) => attributes.source_project_id.is_none(),
                (Some(_), None) => false,
            },
        };
        let action = match (&attributes.action, &attributes.state) {
            (Some(action), _) => github_action(action, attributes.oldrev.is_some()),
            (None, Some(state)) => state_action(state),
            (None, None) => "edited".to_owned(),
        };
        let pull = PullRequest {
            action,
            number: attributes.iid,
            title: attributes.title,
            head: Revision {
                git_ref: attributes.source_branch,
                sha: attributes.last_commit.map(|commit| commit.id),
            },
            // GitLab's merge request payload does not carry the target branch's commit.
            base: Revision {
                git_ref: attributes.target_branch,
                sha: None,
            },
            from_fork,
        };
        let sender = self.user.map(|u| u.username).filter(|u| !u.is_empty());
        (Event::PullRequest(pull), self.project.neutral(), sender)
    }
}

/// GitLab's merge request action as GitHub's pull request activity type.
fn github_action(action: &str, pushed_commits: bool) -> String {
    let github = match action {
        "open" => "opened",
        "reopen" => "reopened",
        // GitHub reports a merge as `closed` (with `merged: true`).
        "close" | "merge" => "closed",
        "update" if pushed_commits => "synchronize",
        "update" => "edited",
        other => other,
    };
    github.to_owned()
}

/// The activity type a merge request in `state` was last part of, for payloads without `action`.
fn state_action(state: &str) -> String {
    match state {
        "opened" => "opened",
        "closed" | "merged" => "closed",
        _ => "edited",
    }
    .to_owned()
}
