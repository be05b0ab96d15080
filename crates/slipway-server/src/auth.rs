//! Tokens and roles: making a token, recognising one, and the layer that checks a route's role.
//!
//! A token is `slipway_` followed by 64 hex digits of 32 random bytes; the prefix makes a leaked
//! token recognisable to secret scanners. Only its SHA-256 is stored, and a request's token is
//! looked up by the hash of what it presents: the secret itself is never compared byte by byte,
//! so a timing difference could reveal at most a prefix of a hash, from which no token can be
//! made (the constant-time property a direct comparison would need comes from the hash).

use std::sync::Arc;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use sha2::{Digest, Sha256};
use slipway_store::{NewToken, Role, Store, Token};

use crate::error::ApiError;
use crate::routes::Access;
use crate::state::AppState;

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "slipway_";

/// A token just made: the record as stored, and the token itself, to be shown once.
#[derive(Debug)]
pub struct CreatedToken {
    /// The stored record.
    pub token: Token,
    /// The token, which nothing keeps.
    pub secret: String,
}

/// Makes a token named `name` with `role` and stores its hash.
pub fn create_token(
    store: &dyn Store,
    name: &str,
    role: Role,
) -> Result<CreatedToken, slipway_store::StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let created_at = jiff::Timestamp::now();
    let id = store.add_token(&NewToken {
        name: name.to_owned(),
        role,
        hash: hash(&secret),
        created_at,
    })?;
    Ok(CreatedToken {
        token: Token {
            id,
            name: name.to_owned(),
            role,
            created_at,
            revoked_at: None,
            last_used_at: None,
        },
        secret,
    })
}

/// The SHA-256 of a token, as stored.
pub(crate) fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Who made a request: the token's name and role. Put in the request's extensions by
/// [`require`] for handlers that record who acted.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) name: String,
}

/// The layer in front of every route: lets the request through when it carries what the
/// route's [`Access`] asks for, else answers 401 (no or unknown token) or 403 (a role too low).
pub(crate) async fn require(
    State((state, access)): State<(Arc<AppState>, Access)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let needed = match access {
        Access::Public | Access::Signature => return Ok(next.run(request).await),
        Access::Role(role) => role,
    };
    let presented = bearer(&request)?;
    let token = state
        .blocking(move |store| store.use_token(&hash(&presented), jiff::Timestamp::now()))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token is unknown or revoked"))?;
    if token.role < needed {
        return Err(ApiError::forbidden(format!(
            "token {:?} has role {}; this needs {needed} or above",
            token.name, token.role
        )));
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let from = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    request.extensions_mut().insert(Caller {
        name: token.name.clone(),
    });
    let response = next.run(request).await;
    if method != Method::GET {
        log_access(&token.name, &method, &path, from, response.status());
    }
    Ok(response)
}

/// The access log: every state-changing request, once answered, as a log line: who (the token's
/// name), what (method, path and the answer's status), from where, and (the line's time) when. It
/// includes refused requests, which the audit trail (written by the handlers that change state)
/// does not hold.
fn log_access(who: &str, method: &Method, path: &str, from: Option<IpAddr>, status: StatusCode) {
    let from = from.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    tracing::info!(target: "slipway::access", who, %method, path, %from, status = status.as_u16(), "access");
}

/// The token of `Authorization: Bearer TOKEN`.
fn bearer(request: &Request) -> Result<String, ApiError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("no token: send Authorization: Bearer TOKEN"))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not `Bearer TOKEN`"))
}
