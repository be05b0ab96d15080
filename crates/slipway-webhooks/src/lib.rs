//! Git host webhooks: is a delivery genuine, and what does it say?
//!
//! A Git host tells Slipway about a push or a pull request by POSTing a JSON body with a few
//! headers. This crate turns such a request, given as an [`http::HeaderMap`] and the raw body
//! bytes, into one neutral [`Delivery`], whichever host sent it:
//!
//! - [`verify`] checks the delivery's signature against the project's secret, in constant time:
//!   GitHub's `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw body), Gitea's and
//!   Forgejo's `X-Gitea-Signature` / `X-Forgejo-Signature` (the same HMAC in bare hex), GitLab's
//!   `X-Gitlab-Token` (the secret itself).
//! - [`parse`] reads the delivery id, the event, the sender and the repository (its full name and
//!   every clone URL; [`Repository::matches_url`] finds the project), and turns the host's payload into an
//!   [`Event`]: a [`Push`], a [`PullRequest`] or a ping.
//! - [`Delivery::trigger`] gives what the workflow runner needs to match `on:` filters and fill
//!   `github.event`: a [`Trigger`] of plain types (event name, refs, sha, activity type, changed
//!   paths and a GitHub-shaped payload), or why the delivery runs nothing ([`NoRun`]).
//!
//! [`MAX_BODY_BYTES`] is the largest body a receiver should read; [`parse`] refuses a larger one.
//!
//! # Example
//!
//! ```
//! use http::HeaderMap;
//! use slipway_webhooks::{Provider, parse, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let body = br#"{"zen":"Keep it logically awesome.","hook_id":1,
//!                 "repository":{"full_name":"octo/app","clone_url":"https://github.com/octo/app.git"},
//!                 "sender":{"login":"octocat"}}"#;
//! let mut headers = HeaderMap::new();
//! headers.insert("x-github-event", "ping".parse()?);
//! headers.insert("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse()?);
//! let signature = slipway_webhooks::sign(b"s3cret", body);
//! headers.insert("x-hub-signature-256", format!("sha256={signature}").parse()?);
//!
//! verify(Provider::GitHub, &headers, body, b"s3cret")?;
//! let delivery = parse(Provider::GitHub, &headers, body)?;
//! assert_eq!(delivery.sender.as_deref(), Some("octocat"));
//! assert!(delivery.trigger().is_err(), "a ping runs nothing");
//! # Ok(())
//! # }
//! ```
//!
//! # Why the trigger is made of plain types
//!
//! The runner's planner takes an event name and a payload (what `slipway run --eventpath` reads),
//! and `slipway-workflow`'s `EventContext` takes an event name, a ref, changed paths and an
//! activity type: all strings. [`Trigger`] carries exactly those, so this crate depends on neither
//! and a server builds the runner's inputs from it in a few lines.
//!
//! **Invariant:** pure parsing and verification: no store, no runner, no HTTP server, no I/O.

mod delivery;
mod error;
mod gitea;
mod github;
mod gitlab;
mod headers;
mod payload;
mod verify;

pub use delivery::{
    Commit, Delivery, Event, NoRun, PullRequest, Push, Repository, Revision, Trigger,
};
pub use error::WebhookError;
pub use verify::{sign, verify};

/// The largest body a receiver reads: 25 MB, GitHub's own cap on a delivery's payload.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The Git host that sent a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// GitHub (and GitHub Enterprise Server).
    GitHub,
    /// Gitea and Forgejo, which send the same payloads.
    Gitea,
    /// GitLab.
    GitLab,
}

impl Provider {
    /// Every provider, for a receiver that mounts one route each.
    pub const ALL: [Provider; 3] = [Provider::GitHub, Provider::Gitea, Provider::GitLab];

    /// The lowercase name used in routes (`/hooks/github`) and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::Gitea => "gitea",
            Provider::GitLab => "gitlab",
        }
    }
}

impl Provider {
    /// The headers that carry a delivery's id, in the order they are read.
    fn id_headers(self) -> &'static [&'static str] {
        match self {
            Provider::GitHub => &["x-github-delivery"],
            Provider::Gitea => &gitea::DELIVERY,
            Provider::GitLab => &["x-gitlab-event-uuid"],
        }
    }

    /// The headers that carry a delivery's event, in the order they are read.
    fn event_headers(self) -> &'static [&'static str] {
        match self {
            Provider::GitHub => &["x-github-event"],
            Provider::Gitea => &gitea::EVENT,
            Provider::GitLab => &["x-gitlab-event"],
        }
    }
}

/// The delivery id and event a request's headers announce, each `None` when absent or
/// unreadable: what a receiver records of a delivery it refuses before [`parse`] succeeds
/// (too large, not JSON, an unknown event).
pub fn announced(
    provider: Provider,
    headers: &http::HeaderMap,
) -> (Option<String>, Option<String>) {
    let read = |names| {
        headers::first_of(headers, names)
            .ok()
            .flatten()
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    };
    (read(provider.id_headers()), read(provider.event_headers()))
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Provider {
    type Err = WebhookError;

    fn from_str(name: &str) -> Result<Provider, WebhookError> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.as_str() == name)
            .ok_or_else(|| WebhookError::UnknownProvider {
                name: name.to_owned(),
            })
    }
}

/// Reads a delivery: its id, event, sender, repository and neutral event.
///
/// Refuses a body over [`MAX_BODY_BYTES`], a missing id or event header, an event this crate does
/// not handle, and a body that is not JSON (naming line and column) or lacks a field the event
/// needs (naming the field). Never panics, whatever the input.
pub fn parse(
    provider: Provider,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Delivery, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    match provider {
        Provider::GitHub => github::parse(headers, body),
        Provider::Gitea => gitea::parse(headers, body),
        Provider::GitLab => gitlab::parse(headers, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_id_and_event_are_read_before_any_parsing_and_absent_ones_are_none() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forgejo-delivery", "f-1".parse().unwrap());
        headers.insert("x-forgejo-event", "push".parse().unwrap());
        assert_eq!(
            announced(Provider::Gitea, &headers),
            (Some("f-1".to_owned()), Some("push".to_owned()))
        );
        assert_eq!(announced(Provider::GitHub, &headers), (None, None));
        headers.insert("x-gitlab-event-uuid", "".parse().unwrap());
        assert_eq!(announced(Provider::GitLab, &headers), (None, None));
    }
}
