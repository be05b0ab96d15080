//! The audit trail as the server writes and lists it: every state-changing request appends who
//! (a token's name or a webhook's sender), what, on what, and from which address. Never a
//! secret: details name ids and reasons only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use serde::Deserialize;
use slipway_store::{AuditEntry, Cursor, Delivery, NewAuditEntry, Page, PageRequest};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The address a request came from, when the server was started with it (it always is).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remote(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Remote, Self::Rejection> {
        Ok(Remote(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

/// Appends what a token's holder did through the API.
pub(crate) async fn by(
    state: &AppState,
    caller: &Caller,
    remote: Remote,
    action: &str,
    target: &str,
    detail: String,
) {
    record(
        state,
        Action {
            actor: &caller.name,
            action,
            target,
            detail,
            remote: remote.0,
        },
    )
    .await;
}

/// One action to append.
pub(crate) struct Action<'a> {
    /// A token's name, or a webhook's sender.
    pub(crate) actor: &'a str,
    /// A dotted verb: `project.add`, `run.cancel`, `delivery.refuse`.
    pub(crate) action: &'a str,
    /// What it acted on.
    pub(crate) target: &'a str,
    /// One line of detail.
    pub(crate) detail: String,
    /// Where the request came from.
    pub(crate) remote: Option<SocketAddr>,
}

/// Appends `action` to the trail. The action already happened, so a failure to append is
/// logged rather than turned into an error answer that would suggest it did not.
pub(crate) async fn record(state: &AppState, action: Action<'_>) {
    let entry = NewAuditEntry {
        at: jiff::Timestamp::now(),
        actor: action.actor.to_owned(),
        action: action.action.to_owned(),
        target: action.target.to_owned(),
        detail: action.detail,
        remote_addr: action.remote.map(|addr| addr.ip().to_string()),
    };
    let what = entry.action.clone();
    if let Err(error) = state
        .blocking(move |store| store.append_audit(&entry))
        .await
    {
        tracing::error!(action = %what, ?error, "appending to the audit trail failed");
    }
}

/// Appends an action taken on the data directory from the command line (`slipway tokens
/// create --data DIR`, ...): the actor is the local account, `local:NAME`.
pub fn record_local(
    store: &dyn slipway_store::Store,
    action: &str,
    target: &str,
    detail: String,
) -> Result<(), slipway_store::StoreError> {
    let account = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    store.append_audit(&NewAuditEntry {
        at: jiff::Timestamp::now(),
        actor: format!("local:{account}"),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
        remote_addr: None,
    })?;
    Ok(())
}

/// `?cursor=&limit=` of a newest-first listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// The `next` of the previous page.
    cursor: Option<i64>,
    limit: Option<u32>,
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

impl PageQuery {
    fn request(&self) -> PageRequest {
        PageRequest {
            after: self.cursor.map(Cursor::new),
            limit: self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
        }
    }
}

/// `GET /api/v1/audit?cursor=&limit=`: the trail, newest first.
pub(crate) async fn list_audit(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = query.request();
    Ok(Json(
        state
            .blocking(move |store| store.audit_entries(&page))
            .await?,
    ))
}

/// `GET /api/v1/deliveries?cursor=&limit=`: webhook deliveries, newest first.
pub(crate) async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let page = query.request();
    Ok(Json(
        state.blocking(move |store| store.deliveries(&page)).await?,
    ))
}
