//! Active health checks, and the health report of every upstream.
//!
//! Each upstream of a backend with an [`ActiveHealthCheck`] gets one task that sends
//! `GET path` every interval on the upstream's own connection pool and flips the upstream's
//! health after the configured number of results in a row. The task belongs to the routing
//! table's registry: it stops when the upstream leaves the table or the proxy stops.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, header};
use http_body_util::{BodyExt, Either, Empty, Limited};
use serde::{Deserialize, Serialize};
use tokio::time::MissedTickBehavior;

use crate::table::{ActiveHealthCheck, BackendId, PoolId, UpstreamId};
use crate::upstream::{UpstreamState, now_millis};

/// At most this much of a health check's response body is read (and thrown away), so the
/// connection can be reused; a bigger body fails the check.
const MAX_CHECK_BODY: usize = 64 * 1024;

/// Whether an upstream takes new requests, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// It gets new requests.
    Healthy,
    /// Active health checks failed `unhealthy_threshold` times in a row.
    Unhealthy,
    /// Connections failed `consecutive_failures` times in a row; it is back after `eject_for`.
    Ejected,
}

/// One upstream's health, as [`crate::Proxy::upstream_health`] and `GET /health` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamHealth {
    /// Its backend.
    pub backend: BackendId,
    /// Its pool.
    pub pool: PoolId,
    /// Its id.
    pub upstream: UpstreamId,
    /// Its address.
    pub addr: SocketAddr,
    /// Whether it takes new requests.
    pub state: HealthState,
    /// Requests (and upgraded connections) in flight to it.
    pub in_flight: usize,
    /// Connection failures in a row (reset by any response).
    pub consecutive_failures: u32,
    /// What the last failed health check saw, while checks fail.
    pub last_check_error: Option<String>,
}

impl UpstreamHealth {
    pub(crate) fn of(upstream: &UpstreamState) -> UpstreamHealth {
        let state = if !upstream.is_actively_healthy() {
            HealthState::Unhealthy
        } else if upstream.is_ejected(now_millis()) {
            HealthState::Ejected
        } else {
            HealthState::Healthy
        };
        UpstreamHealth {
            backend: upstream.key.backend.clone(),
            pool: upstream.key.pool.clone(),
            upstream: upstream.key.upstream.clone(),
            addr: upstream.key.addr,
            state,
            in_flight: upstream.in_flight(),
            consecutive_failures: upstream.consecutive_failures(),
            last_check_error: upstream.last_check_error(),
        }
    }
}

/// A running checker; dropping it stops the checks.
#[derive(Debug)]
pub(crate) struct Checker {
    check: ActiveHealthCheck,
    task: tokio::task::JoinHandle<()>,
}

impl Checker {
    /// Starts checking `upstream` now and every `check.interval` after.
    pub(crate) fn start(upstream: Arc<UpstreamState>, check: ActiveHealthCheck) -> Checker {
        let task = tokio::spawn(run(upstream, check.clone()));
        Checker { check, task }
    }

    /// The settings it checks with.
    pub(crate) fn check(&self) -> &ActiveHealthCheck {
        &self.check
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(upstream: Arc<UpstreamState>, check: ActiveHealthCheck) {
    let mut ticker = tokio::time::interval(check.interval);
    // A slow check must not be followed by a burst of catch-up checks.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut tally = Tally::default();
    loop {
        ticker.tick().await;
        let outcome = probe(&upstream, &check).await;
        if let Some(healthy) = tally.record(outcome.is_ok(), upstream.is_actively_healthy(), &check)
        {
            let addr = upstream.key.addr;
            match &outcome {
                Ok(()) => {
                    tracing::info!(upstream = %upstream.key.upstream, %addr, "health checks pass again")
                }
                Err(error) => {
                    tracing::warn!(upstream = %upstream.key.upstream, %addr, %error, "health checks fail")
                }
            }
            upstream.set_actively_healthy(healthy);
        }
        upstream.set_last_check_error(outcome.err());
    }
}

/// Results in a row, and when they change an upstream's health.
#[derive(Debug, Default)]
struct Tally {
    passes: u32,
    failures: u32,
}

impl Tally {
    /// Counts one result; returns the new health when it changes.
    fn record(&mut self, passed: bool, healthy: bool, check: &ActiveHealthCheck) -> Option<bool> {
        if passed {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
            (!healthy && self.passes >= check.healthy_threshold).then_some(true)
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
            (healthy && self.failures >= check.unhealthy_threshold).then_some(false)
        }
    }
}

/// One check: a 2xx answer to `GET path` within the timeout.
async fn probe(upstream: &Arc<UpstreamState>, check: &ActiveHealthCheck) -> Result<(), String> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(check.path.as_str())
        .header(header::HOST, upstream.key.addr.to_string())
        .header(
            header::USER_AGENT,
            concat!("slipway-proxy/", env!("CARGO_PKG_VERSION"), " health-check"),
        )
        .body(Either::Right(Empty::new()))
        .map_err(|error| format!("cannot build a request for {}: {error}", check.path))?;
    let exchange = async {
        let (response, lease) = upstream.send(request).await.map_err(|error| match error {
            crate::upstream::SendError::NotSent { cause, .. } => cause,
            crate::upstream::SendError::Failed(error) => format!("the connection failed: {error}"),
        })?;
        let status = response.status();
        Limited::new(response.into_body(), MAX_CHECK_BODY)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {error}"))?;
        lease.release();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("GET {} answered {status}", check.path))
        }
    };
    match tokio::time::timeout(check.timeout, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!(
            "GET {} took longer than {}",
            check.path,
            humantime::format_duration(check.timeout)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_need_results_in_a_row() {
        let mut check = ActiveHealthCheck::new("/healthz");
        check.healthy_threshold = 2;
        check.unhealthy_threshold = 3;
        let mut tally = Tally::default();
        assert_eq!(tally.record(false, true, &check), None);
        assert_eq!(tally.record(false, true, &check), None);
        assert_eq!(
            tally.record(true, true, &check),
            None,
            "a pass breaks the run"
        );
        assert_eq!(tally.record(false, true, &check), None);
        assert_eq!(tally.record(false, true, &check), None);
        assert_eq!(tally.record(false, true, &check), Some(false));
        assert_eq!(tally.record(true, false, &check), None);
        assert_eq!(tally.record(true, false, &check), Some(true));
        assert_eq!(
            tally.record(true, true, &check),
            None,
            "no change, no report"
        );
    }
}
