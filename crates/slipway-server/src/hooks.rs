//! Webhook receivers: `POST /hooks/github`, `/hooks/gitea`, `/hooks/gitlab`.
//!
//! A delivery is authenticated by its signature, not a token. In order: a body over
//! [`MAX_BODY_BYTES`] is refused (413); the body is parsed (bad JSON or an unknown event: 400);
//! the project whose repository the delivery names is found (none: 404); the signature is checked
//! with the secret in the project's webhook secret file (wrong or no secret: 401). Every refusal
//! is recorded with its reason. A genuine delivery is recorded *before* the answer goes out, and
//! a delivery id already handled answers 200 and starts nothing. A ping or a deleted ref is
//! recorded as skipped; anything else is recorded and queued in one store write (so the answer
//! never waits for a run, and no accepted delivery is left without its run), and the worker's
//! `on:` matching decides which workflows run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use slipway_store::{DeliveryOutcome, NewDelivery, Project, Recorded, Trigger};
use slipway_webhooks::{Delivery, MAX_BODY_BYTES, Provider, WebhookError};

use crate::audit::{self, Action};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /hooks/github`.
pub(crate) async fn github(State(state): State<Arc<AppState>>, request: Request) -> Response {
    receive(Provider::GitHub, state, request).await
}

/// `POST /hooks/gitea` (Gitea and Forgejo).
pub(crate) async fn gitea(State(state): State<Arc<AppState>>, request: Request) -> Response {
    receive(Provider::Gitea, state, request).await
}

/// `POST /hooks/gitlab`.
pub(crate) async fn gitlab(State(state): State<Arc<AppState>>, request: Request) -> Response {
    receive(Provider::GitLab, state, request).await
}

/// Deliveries counted by outcome since the server started, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct DeliveryCounts {
    accepted: AtomicU64,
    duplicate: AtomicU64,
    refused: AtomicU64,
    skipped: AtomicU64,
}

impl DeliveryCounts {
    pub(crate) fn count(&self, outcome: &DeliveryOutcome) {
        let counter = match outcome {
            DeliveryOutcome::Accepted => &self.accepted,
            DeliveryOutcome::Duplicate => &self.duplicate,
            DeliveryOutcome::Refused(_) => &self.refused,
            DeliveryOutcome::Skipped(_) => &self.skipped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Each outcome's name and count.
    pub(crate) fn by_outcome(&self) -> [(&'static str, u64); 4] {
        [
            ("accepted", &self.accepted),
            ("duplicate", &self.duplicate),
            ("refused", &self.refused),
            ("skipped", &self.skipped),
        ]
        .map(|(name, counter)| (name, counter.load(Ordering::Relaxed)))
    }
}

/// Why a delivery is refused: the answer's status and a reason that is also recorded.
struct Refusal {
    status: StatusCode,
    reason: String,
    hint: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: &'static str) -> Refusal {
        self.hint = Some(hint);
        self
    }
}

/// What the request said about itself, kept for the record whatever happens.
struct Received {
    provider: Provider,
    record: NewDelivery,
    remote: Option<SocketAddr>,
    /// The sender once the delivery is verified; the actor of the audit entry (`webhook` before).
    sender: Option<String>,
}

impl Received {
    fn new(provider: Provider, request: &Request) -> Received {
        let received_at = jiff::Timestamp::now();
        let (id, event) = slipway_webhooks::announced(provider, request.headers());
        let remote = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        Received {
            provider,
            record: NewDelivery {
                provider: provider.as_str().to_owned(),
                // A delivery without an id is still recorded (and refused); one per arrival.
                delivery_id: id
                    .unwrap_or_else(|| format!("unidentified-{}", received_at.as_nanosecond())),
                event: event.unwrap_or_default(),
                received_at,
                remote_addr: remote.map(|addr| addr.ip().to_string()),
                body_bytes: 0,
                outcome: DeliveryOutcome::Accepted,
            },
            remote,
            sender: None,
        }
    }
}

async fn receive(provider: Provider, state: Arc<AppState>, request: Request) -> Response {
    let mut received = Received::new(provider, &request);
    let (parts, body) = request.into_parts();
    match handle(&state, &mut received, &parts.headers, body).await {
        Ok(answer) => answer,
        Err(refusal) => {
            received.record.outcome = DeliveryOutcome::Refused(refusal.reason.clone());
            let record = received.record.clone();
            // A refusal's record replaces an earlier refusal of the same id but never a
            // delivery that was handled: a forged copy cannot undo a genuine one.
            if let Err(error) = state
                .blocking(move |store| store.record_delivery(&record))
                .await
            {
                tracing::error!(?error, "recording a refused delivery failed");
            }
            settle(&state, &received, "delivery.refuse", refusal.reason.clone()).await;
            let error = ApiError::new(refusal.status, refusal.reason);
            match refusal.hint {
                Some(hint) => error.hint(hint),
                None => error,
            }
            .into_response()
        }
    }
}

/// Counts the delivery's outcome and appends it to the audit trail.
async fn settle(state: &AppState, received: &Received, action: &str, detail: String) {
    state.deliveries.count(&received.record.outcome);
    let target = format!(
        "{}:{}",
        received.provider.as_str(),
        received.record.delivery_id
    );
    audit::record(
        state,
        Action {
            actor: received.sender.as_deref().unwrap_or("webhook"),
            action,
            target: &target,
            detail,
            remote: received.remote,
        },
    )
    .await;
}

async fn handle(
    state: &Arc<AppState>,
    received: &mut Received,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let body = read_body(headers, body).await?;
    received.record.body_bytes = body.len() as u64;
    let delivery = slipway_webhooks::parse(received.provider, headers, &body).map_err(refused)?;
    let project = project_of(state, &delivery).await?;
    let secret = secret_of(&project).await?;
    slipway_webhooks::verify(received.provider, headers, &body, &secret).map_err(refused)?;
    // Only a verified delivery's sender is trusted as the actor of its audit entry.
    received.sender.clone_from(&delivery.sender);
    let trigger = match delivery.trigger() {
        Ok(trigger) => trigger,
        Err(no_run) => {
            received.record.outcome = DeliveryOutcome::Skipped(no_run.to_string());
            return record_skipped(state, received, no_run.to_string()).await;
        }
    };
    // The record and the queued run are one write: an accepted delivery always has its run,
    // whenever the server dies, and the host's redelivery of it is a duplicate.
    let record = received.record.clone();
    let queued = queued_trigger(&project, &delivery, trigger);
    let accepted = state
        .blocking(move |store| store.accept_delivery(&record, &queued, jiff::Timestamp::now()))
        .await;
    let run = match accepted {
        Ok((Recorded::Duplicate(first), _)) => {
            return Ok(duplicate(state, received, first.id).await);
        }
        Ok((Recorded::New(_), Some(run))) => run,
        Ok((Recorded::New(_), None)) | Err(_) => {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "recording the delivery and queueing its run failed; redeliver it",
            ));
        }
    };
    state.wake.notify_waiters();
    settle(
        state,
        received,
        "delivery.accept",
        format!("project {}, run {run}", project.name),
    )
    .await;
    let answer = serde_json::json!({
        "outcome": "accepted",
        "project": project.name,
        "run": { "id": run, "url": format!("/api/v1/runs/{run}") },
    });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// The body, refused when larger than [`MAX_BODY_BYTES`]: by its declared length before
/// reading, and while reading when it declares none or lies.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())
}

/// The answer to a parse or verification error.
fn refused(error: WebhookError) -> Refusal {
    let status = match &error {
        WebhookError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        WebhookError::SignatureMismatch { .. } | WebhookError::EmptySecret => {
            StatusCode::UNAUTHORIZED
        }
        // A missing signature header is an unauthenticated request, like a wrong one.
        WebhookError::MissingHeader { header } if is_signature(header) => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    Refusal::new(status, error.to_string())
}

fn is_signature(header: &str) -> bool {
    header.contains("signature") || header == "x-gitlab-token"
}

/// The project whose repository the delivery is about.
async fn project_of(state: &AppState, delivery: &Delivery) -> Result<Project, Refusal> {
    let Some(repository) = delivery.repository.clone() else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "the delivery names no repository, so it matches no project",
        ));
    };
    let projects = state
        .blocking(|store| store.projects())
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "reading projects failed"))?;
    projects
        .into_iter()
        .find(|project| repository.matches_url(&project.repository))
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no project's repository is {} ({})",
                    repository.full_name,
                    repository.urls.join(", ")
                ),
            )
            .hint("add it with `slipway projects add NAME --repo URL --webhook-secret-file F`")
        })
}

/// The project's webhook secret: its file's content without the trailing newline editors add.
async fn secret_of(project: &Project) -> Result<Vec<u8>, Refusal> {
    let Some(file) = &project.webhook_secret_file else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "project {:?} has no webhook secret, so no delivery for it can be verified",
                project.name
            ),
        )
        .hint(
            "add the project with --webhook-secret-file F holding the secret set on the Git host",
        ));
    };
    let mut secret = tokio::fs::read(file).await.map_err(|error| {
        tracing::error!(file = %file.display(), %error, "reading a webhook secret failed");
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "project {:?}'s webhook secret file cannot be read",
                project.name
            ),
        )
    })?;
    while secret.last().is_some_and(u8::is_ascii_whitespace) {
        secret.pop();
    }
    Ok(secret)
}

/// Records a genuine delivery that runs nothing and answers 200.
async fn record_skipped(
    state: &AppState,
    received: &Received,
    reason: String,
) -> Result<Response, Refusal> {
    let record = received.record.clone();
    let recorded = state
        .blocking(move |store| store.record_delivery(&record))
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "recording failed"))?;
    if let Recorded::Duplicate(first) = recorded {
        return Ok(duplicate(state, received, first.id).await);
    }
    settle(state, received, "delivery.skip", reason.clone()).await;
    let answer = serde_json::json!({ "outcome": "skipped", "reason": reason });
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// Answers a redelivery of a delivery already handled: 200, nothing started.
async fn duplicate(
    state: &AppState,
    received: &Received,
    first: slipway_store::DeliveryId,
) -> Response {
    state.deliveries.count(&DeliveryOutcome::Duplicate);
    let answer = serde_json::json!({
        "outcome": "duplicate",
        "reason": format!("delivery {} was already handled as record {first}", received.record.delivery_id),
    });
    (StatusCode::OK, Json(answer)).into_response()
}

/// The queued run of a delivery: the payload travels with it, so the worker's `on:` matching sees
/// the pushed ref, the commits before and after, and the activity type.
fn queued_trigger(
    project: &Project,
    delivery: &Delivery,
    trigger: slipway_webhooks::Trigger,
) -> Trigger {
    Trigger {
        project: project.name.clone(),
        workflow: None,
        event: trigger.event.to_owned(),
        git_ref: trigger.git_ref,
        sha: Some(trigger.sha).filter(|sha| !sha.is_empty()),
        actor: delivery
            .sender
            .clone()
            .unwrap_or_else(|| delivery.provider.as_str().to_owned()),
        inputs: std::collections::BTreeMap::new(),
        rerun_of: None,
        payload: Some(trigger.payload),
        withhold_secrets: trigger.withhold_secrets,
    }
}
