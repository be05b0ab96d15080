//! Fuzzes webhook parsing for every provider and event: nothing may panic, bad JSON names a line,
//! and a delivery that parses yields a trigger or a reason to run nothing.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use slipway_webhooks::{Provider, WebhookError, parse};

const EVENTS: [(Provider, &str, &str, &str); 8] = [
    (Provider::GitHub, "x-github-event", "push", "x-github-delivery"),
    (Provider::GitHub, "x-github-event", "pull_request", "x-github-delivery"),
    (Provider::GitHub, "x-github-event", "ping", "x-github-delivery"),
    (Provider::Gitea, "x-gitea-event", "push", "x-gitea-delivery"),
    (Provider::Gitea, "x-gitea-event", "pull_request", "x-gitea-delivery"),
    (Provider::GitLab, "x-gitlab-event", "Push Hook", "x-gitlab-event-uuid"),
    (Provider::GitLab, "x-gitlab-event", "Tag Push Hook", "x-gitlab-event-uuid"),
    (Provider::GitLab, "x-gitlab-event", "Merge Request Hook", "x-gitlab-event-uuid"),
];

fuzz_target!(|input: (u8, &[u8])| {
    let (choice, body) = input;
    let (provider, event_header, event, id_header) = EVENTS[usize::from(choice) % EVENTS.len()];
    let mut headers = HeaderMap::new();
    headers.insert(event_header, HeaderValue::from_static(event));
    headers.insert(id_header, HeaderValue::from_static("fuzz"));
    match parse(provider, &headers, body) {
        Ok(delivery) => {
            let _ = delivery.trigger();
        }
        Err(WebhookError::BadJson { line, .. }) => assert!(line >= 1),
        Err(_) => {}
    }
});
