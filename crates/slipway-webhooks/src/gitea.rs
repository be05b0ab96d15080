//! Gitea's and Forgejo's deliveries: GitHub-like payloads under `X-Gitea-*` (or `X-Forgejo-*`)
//! headers.

use http::HeaderMap;

use crate::delivery::{self, Delivery};
use crate::payload::{self, HostPullRequest, HostPush};
use crate::{Provider, WebhookError, headers};

/// Forgejo sends its own headers and Gitea's; either is enough.
pub(crate) const EVENT: [&str; 2] = ["x-gitea-event", "x-forgejo-event"];
pub(crate) const DELIVERY: [&str; 2] = ["x-gitea-delivery", "x-forgejo-delivery"];

pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Delivery, WebhookError> {
    let (_, event_header) = headers::required(headers, &EVENT)?;
    let (_, id) = headers::required(headers, &DELIVERY)?;
    let (event, origin) = match event_header.as_str() {
        "push" => payload::decode::<HostPush>(&event_header, body)?.neutral(),
        "pull_request" => {
            payload::decode::<HostPullRequest>(&event_header, body)?.neutral(github_action)
        }
        _ => {
            return Err(WebhookError::UnknownEvent {
                provider: Provider::Gitea.as_str(),
                event: event_header,
            });
        }
    };
    let payload =
        delivery::github_shaped(&event, origin.repository.as_ref(), origin.sender.as_deref());
    Ok(Delivery {
        provider: Provider::Gitea,
        id,
        event_header,
        sender: origin.sender,
        repository: origin.repository,
        event,
        payload,
    })
}

/// Gitea's past tense `synchronized` is GitHub's `synchronize`; the other actions share names.
fn github_action(action: String) -> String {
    if action == "synchronized" {
        "synchronize".to_owned()
    } else {
        action
    }
}
