//! The route table: every route the server answers, with the access it needs, in one place.
//!
//! The router is built from [`ROUTES`], and every route passes through the token check
//! (`auth::require`) with its own [`Access`]: a route cannot be added without declaring who may
//! call it, and the role-matrix test walks this same table.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use slipway_store::Role;

use crate::api;
use crate::auth::require;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: only `/healthz`, which says nothing but "up".
    Public,
    /// A token of this role or a higher one.
    Role(Role),
    /// No token: the delivery's signature, checked by the handler against the secret of the
    /// project the delivery names (a webhook receiver).
    Signature,
}

/// One route: method, path (axum syntax), access, and the handler.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{name}` for a parameter.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    router: fn() -> MethodRouter<Arc<AppState>>,
}

macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:path) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            router: || on(MethodFilter::$method, $handler),
        }
    };
}

const VIEWER: Access = Access::Role(Role::Viewer);
const DEVELOPER: Access = Access::Role(Role::Developer);
const ADMIN: Access = Access::Role(Role::Admin);

/// Every route of the server.
pub const ROUTES: &[Route] = &[
    route!(GET "/healthz", Access::Public, api::healthz),
    route!(GET "/metrics", VIEWER, crate::metrics::metrics),
    route!(GET "/api/v1/projects", VIEWER, api::list_projects),
    route!(POST "/api/v1/projects", ADMIN, api::add_project),
    route!(GET "/api/v1/projects/{name}", VIEWER, api::show_project),
    route!(DELETE "/api/v1/projects/{name}", ADMIN, api::remove_project),
    route!(POST "/api/v1/projects/{name}/dispatch", DEVELOPER, api::dispatch),
    route!(GET "/api/v1/runs", VIEWER, api::list_runs),
    route!(GET "/api/v1/runs/{id}", VIEWER, api::show_run),
    route!(POST "/api/v1/runs/{id}/cancel", DEVELOPER, api::cancel_run),
    route!(POST "/api/v1/runs/{id}/rerun", DEVELOPER, api::rerun),
    route!(GET "/api/v1/runs/{id}/logs", VIEWER, crate::live::logs),
    route!(GET "/api/v1/tokens", ADMIN, api::list_tokens),
    route!(POST "/api/v1/tokens", ADMIN, api::create_token),
    route!(DELETE "/api/v1/tokens/{name}", ADMIN, api::revoke_token),
    route!(GET "/api/v1/deliveries", ADMIN, crate::audit::list_deliveries),
    route!(GET "/api/v1/audit", ADMIN, crate::audit::list_audit),
    route!(POST "/hooks/github", Access::Signature, crate::hooks::github),
    route!(POST "/hooks/gitea", Access::Signature, crate::hooks::gitea),
    route!(POST "/hooks/gitlab", Access::Signature, crate::hooks::gitlab),
];

/// The router of [`ROUTES`], each behind the check of its access.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            let guarded = (route.router)()
                .route_layer(from_fn_with_state((state.clone(), route.access), require));
            router.route(route.path, guarded)
        })
        .with_state(state)
}
