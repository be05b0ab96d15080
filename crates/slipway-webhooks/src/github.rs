//! GitHub's deliveries: `X-GitHub-Event`, `X-GitHub-Delivery`, and a body that already is
//! `github.event`.

use http::HeaderMap;

use crate::delivery::Delivery;
use crate::payload::{self, HostPing, HostPullRequest, HostPush};
use crate::{Provider, WebhookError, headers};

pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Delivery, WebhookError> {
    let (_, event_header) = headers::required(headers, &["x-github-event"])?;
    let (_, id) = headers::required(headers, &["x-github-delivery"])?;
    let (event, origin) = match event_header.as_str() {
        "push" => payload::decode::<HostPush>(&event_header, body)?.neutral(),
        "pull_request" => {
            payload::decode::<HostPullRequest>(&event_header, body)?.neutral(|action| action)
        }
        "ping" => payload::decode::<HostPing>(&event_header, body)?.neutral(),
        _ => {
            return Err(WebhookError::UnknownEvent {
                provider: Provider::GitHub.as_str(),
                event: event_header,
            });
        }
    };
    // The body decoded as the event's type, so it is JSON: keep it whole as `github.event`.
    let payload = serde_json::from_slice(body).map_err(|error| payload::bad_json(&error))?;
    Ok(Delivery {
        provider: Provider::GitHub,
        id,
        event_header,
        sender: origin.sender,
        repository: origin.repository,
        event,
        payload,
    })
}
