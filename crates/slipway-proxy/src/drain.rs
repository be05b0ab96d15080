//! Connection draining: after an apply, the upstreams that left the table finish what they have
//! in flight, up to the drain timeout; then their upgraded connections are closed.
//!
//! A request that chose an upstream under the old table counts as in flight before the table
//! can be swapped (see `Shared::route`), so "no request in flight" really means the upstream will
//! get no more traffic: the deploy controller may stop it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::table::TableVersion;
use crate::upstream::UpstreamState;

/// How many applies' drains the control API can still be asked about.
const REMEMBERED_DRAINS: usize = 64;

/// How the drain after an apply ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainReport {
    /// The apply it follows.
    pub version: TableVersion,
    /// Upstreams the apply removed.
    pub retired_upstreams: usize,
    /// Requests and upgraded connections still in flight to them when the drain ended: 0 when
    /// they all finished, more when the drain timeout cut the wait short.
    pub in_flight_left: usize,
    /// How long the drain took.
    #[serde(with = "crate::table::human_duration")]
    pub waited: Duration,
}

impl DrainReport {
    /// Whether every removed upstream finished its requests before the drain timeout.
    pub fn is_complete(&self) -> bool {
        self.in_flight_left == 0
    }
}

/// The outcome of one drain, to wait for.
#[derive(Debug, Clone)]
pub(crate) struct DrainWatch {
    version: TableVersion,
    retired: usize,
    outcome: watch::Receiver<Option<DrainReport>>,
}

impl DrainWatch {
    /// Waits for the drain to end.
    pub(crate) async fn report(&self) -> DrainReport {
        let mut outcome = self.outcome.clone();
        match outcome.wait_for(Option::is_some).await {
            Ok(report) => report.clone().unwrap_or_else(|| self.interrupted()),
            // The drain task only disappears when the runtime stops under it.
            Err(_) => self.interrupted(),
        }
    }

    fn interrupted(&self) -> DrainReport {
        DrainReport {
            version: self.version,
            retired_upstreams: self.retired,
            in_flight_left: self.retired,
            waited: Duration::ZERO,
        }
    }
}

/// The recent drains, by version.
#[derive(Debug, Default)]
pub(crate) struct DrainLog {
    recent: Mutex<VecDeque<(TableVersion, DrainWatch)>>,
}

impl DrainLog {
    /// Starts draining `retired` for the apply that made `version`.
    pub(crate) fn start(
        &self,
        version: TableVersion,
        retired: Vec<Arc<UpstreamState>>,
        timeout: Duration,
    ) -> DrainWatch {
        let (sender, outcome) = watch::channel(None);
        let watch = DrainWatch {
            version,
            retired: retired.len(),
            outcome,
        };
        tokio::spawn(async move {
            let report = drain(version, retired, timeout).await;
            if report.is_complete() {
                tracing::debug!(%version, upstreams = report.retired_upstreams, "drained");
            } else {
                tracing::warn!(%version, left = report.in_flight_left, "drain timeout: closing what is left");
            }
            sender.send_replace(Some(report));
        });
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == REMEMBERED_DRAINS {
            recent.pop_front();
        }
        recent.push_back((version, watch.clone()));
        watch
    }

    /// The drain after the apply that made `version`, if it is recent enough to be remembered.
    pub(crate) fn find(&self, version: TableVersion) -> Option<DrainWatch> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent
            .iter()
            .find(|(made, _)| *made == version)
            .map(|(_, watch)| watch.clone())
    }
}

async fn drain(
    version: TableVersion,
    retired: Vec<Arc<UpstreamState>>,
    timeout: Duration,
) -> DrainReport {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    for upstream in &retired {
        if tokio::time::timeout_at(deadline, upstream.idle())
            .await
            .is_err()
        {
            break;
        }
    }
    let in_flight_left = retired.iter().map(|upstream| upstream.in_flight()).sum();
    for upstream in &retired {
        upstream.retired.cancel();
    }
    DrainReport {
        version,
        retired_upstreams: retired.len(),
        in_flight_left,
        waited: started.elapsed(),
    }
}
