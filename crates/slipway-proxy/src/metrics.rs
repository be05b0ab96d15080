//! Per-pool request metrics: counted with atomics on the hot path, read as a [`MetricsSnapshot`]
//! in-process (what canary analysis compares) or as Prometheus text on `/metrics`.
//!
//! Every figure is cumulative since the pool appeared in the table; [`MetricsSnapshot::since`]
//! turns two snapshots into the figures of the time between them, which is what an analysis step
//! wants ("the canary's error rate over the last minute").

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::health::{HealthState, UpstreamHealth};
use crate::table::{BackendId, PoolId, TableVersion};
use crate::worker::PerWorker;

/// Upper bounds of the latency buckets, in microseconds: a 1-1.5-2-3-5-7.5 series from 0.5 ms to
/// 60 s, fine enough for a p95 estimate to tell 12 ms from 18 ms.
const BUCKET_BOUNDS_MICROS: [u64; 28] = [
    500, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000,
    100_000, 150_000, 200_000, 300_000, 500_000, 750_000, 1_000_000, 1_500_000, 2_000_000,
    3_000_000, 5_000_000, 7_500_000, 10_000_000, 30_000_000, 60_000_000,
];

/// The counters of one pool, updated by every request it serves: one shard per worker thread,
/// added up when read.
#[derive(Debug)]
pub(crate) struct PoolCounters {
    shards: PerWorker<PoolShard>,
}

#[derive(Debug, Default)]
struct PoolShard {
    /// Responses from upstreams, by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    responses: [AtomicU64; 5],
    /// Requests this pool took that got no response from an upstream (502, 504).
    proxy_errors: AtomicU64,
    /// Connections to this pool's upstreams that failed before a request was sent (each
    /// followed by a retry elsewhere when one was possible).
    connect_failures: AtomicU64,
    /// Time to response headers, per bucket; the last counts what exceeds every bound.
    buckets: [AtomicU64; BUCKET_BOUNDS_MICROS.len() + 1],
    latency_sum_micros: AtomicU64,
}

impl PoolCounters {
    /// Counters for a proxy with `workers` worker threads.
    pub(crate) fn new(workers: usize) -> PoolCounters {
        PoolCounters {
            shards: PerWorker::new(workers),
        }
    }

    /// An upstream answered with `status` after `latency`.
    pub(crate) fn record_response(&self, status: u16, latency: Duration) {
        let shard = self.shards.here();
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        shard.responses[class].fetch_add(1, Ordering::Relaxed);
        shard.record_latency(latency);
    }

    /// No upstream answered.
    pub(crate) fn record_proxy_error(&self, latency: Duration) {
        let shard = self.shards.here();
        shard.proxy_errors.fetch_add(1, Ordering::Relaxed);
        shard.record_latency(latency);
    }

    pub(crate) fn record_connect_failure(&self) {
        self.shards
            .here()
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PoolStats {
        let sum = |counter: fn(&PoolShard) -> &AtomicU64| -> u64 {
            self.shards
                .iter()
                .map(|shard| counter(shard).load(Ordering::Relaxed))
                .sum()
        };
        let responses = StatusClasses {
            informational: sum(|shard| &shard.responses[0]),
            success: sum(|shard| &shard.responses[1]),
            redirection: sum(|shard| &shard.responses[2]),
            client_error: sum(|shard| &shard.responses[3]),
            server_error: sum(|shard| &shard.responses[4]),
        };
        let proxy_errors = sum(|shard| &shard.proxy_errors);
        let counts = (0..=BUCKET_BOUNDS_MICROS.len())
            .map(|bucket| {
                self.shards
                    .iter()
                    .map(|shard| shard.buckets[bucket].load(Ordering::Relaxed))
                    .sum()
            })
            .collect();
        PoolStats {
            requests: responses.total() + proxy_errors,
            responses,
            proxy_errors,
            connect_failures: sum(|shard| &shard.connect_failures),
            latency: LatencyHistogram {
                counts,
                sum_micros: sum(|shard| &shard.latency_sum_micros),
            },
        }
    }
}

impl PoolShard {
    fn record_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_MICROS.partition_point(|&bound| bound < micros);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Counters of a backend that belong to no pool.
#[derive(Debug, Default)]
pub(crate) struct BackendCounters {
    unavailable: AtomicU64,
}

impl BackendCounters {
    /// A request found no pool with a healthy upstream and was answered 503.
    pub(crate) fn record_unavailable(&self) {
        self.unavailable.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::Relaxed)
    }
}

/// Every pool's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSnapshot {
    /// The routing table these backends and pools come from.
    pub version: TableVersion,
    /// Requests no route matched (answered 404).
    pub unmatched: u64,
    /// Per backend of the current table.
    pub backends: BTreeMap<BackendId, BackendStats>,
}

impl MetricsSnapshot {
    /// The figures of one pool.
    pub fn pool(&self, backend: &BackendId, pool: &PoolId) -> Option<&PoolStats> {
        self.backends.get(backend)?.pools.get(pool)
    }

    /// What happened between `earlier` and this snapshot: every counter minus its earlier value.
    /// A pool absent from `earlier` (new since) keeps its whole figures; one absent from `self`
    /// is left out.
    pub fn since(&self, earlier: &MetricsSnapshot) -> MetricsSnapshot {
        let backends = self
            .backends
            .iter()
            .map(|(id, now)| {
                let stats = match earlier.backends.get(id) {
                    Some(before) => now.since(before),
                    None => now.clone(),
                };
                (id.clone(), stats)
            })
            .collect();
        MetricsSnapshot {
            version: self.version,
            unmatched: self.unmatched.saturating_sub(earlier.unmatched),
            backends,
        }
    }
}

/// One backend's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendStats {
    /// Requests answered 503 because no pool had a healthy upstream.
    pub unavailable: u64,
    /// Per pool.
    pub pools: BTreeMap<PoolId, PoolStats>,
}

impl BackendStats {
    fn since(&self, earlier: &BackendStats) -> BackendStats {
        let pools = self
            .pools
            .iter()
            .map(|(id, now)| {
                (
                    id.clone(),
                    earlier
                        .pools
                        .get(id)
                        .map_or_else(|| now.clone(), |before| now.since(before)),
                )
            })
            .collect();
        BackendStats {
            unavailable: self.unavailable.saturating_sub(earlier.unavailable),
            pools,
        }
    }
}

/// One pool's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolStats {
    /// Finished requests: upstream responses plus proxy errors.
    pub requests: u64,
    /// Responses the upstreams produced, by status class.
    pub responses: StatusClasses,
    /// Requests that got no response from an upstream: the connection failed after the request
    /// was sent (502) or the response headers took longer than the response timeout (504).
    pub proxy_errors: u64,
    /// Connections that failed before a request was sent. The request was retried on another
    /// upstream when there was one, so these are not errors a client saw, but a pool that
    /// refuses connections is a broken pool.
    pub connect_failures: u64,
    /// Time from receiving a request to the upstream's response headers.
    pub latency: LatencyHistogram,
}

impl PoolStats {
    /// The share of finished requests that failed: 5xx from the upstream plus proxy errors.
    /// `None` before any request finished.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| {
            (self.responses.server_error + self.proxy_errors) as f64 / self.requests as f64
        })
    }

    fn since(&self, earlier: &PoolStats) -> PoolStats {
        PoolStats {
            requests: self.requests.saturating_sub(earlier.requests),
            responses: self.responses.since(&earlier.responses),
            proxy_errors: self.proxy_errors.saturating_sub(earlier.proxy_errors),
            connect_failures: self
                .connect_failures
                .saturating_sub(earlier.connect_failures),
            latency: self.latency.since(&earlier.latency),
        }
    }
}

/// Response counts by status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusClasses {
    /// 1xx.
    pub informational: u64,
    /// 2xx.
    pub success: u64,
    /// 3xx.
    pub redirection: u64,
    /// 4xx.
    pub client_error: u64,
    /// 5xx.
    pub server_error: u64,
}

impl StatusClasses {
    /// All responses.
    pub fn total(&self) -> u64 {
        self.informational + self.success + self.redirection + self.client_error + self.server_error
    }

    fn as_array(&self) -> [(&'static str, u64); 5] {
        [
            ("1xx", self.informational),
            ("2xx", self.success),
            ("3xx", self.redirection),
            ("4xx", self.client_error),
            ("5xx", self.server_error),
        ]
    }

    fn since(&self, earlier: &StatusClasses) -> StatusClasses {
        StatusClasses {
            informational: self.informational.saturating_sub(earlier.informational),
            success: self.success.saturating_sub(earlier.success),
            redirection: self.redirection.saturating_sub(earlier.redirection),
            client_error: self.client_error.saturating_sub(earlier.client_error),
            server_error: self.server_error.saturating_sub(earlier.server_error),
        }
    }
}

/// A latency histogram with fixed buckets (see [`LatencyHistogram::bounds`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyHistogram {
    /// Count per bucket: `counts[i]` counts latencies in `(bounds[i-1], bounds[i]]`, and the last
    /// entry those above every bound.
    counts: Vec<u64>,
    sum_micros: u64,
}

impl LatencyHistogram {
    /// The upper bounds of the buckets, smallest first.
    pub fn bounds() -> impl Iterator<Item = Duration> {
        BUCKET_BOUNDS_MICROS
            .iter()
            .map(|&micros| Duration::from_micros(micros))
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The sum of all recorded latencies.
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_micros)
    }

    /// The count per bucket, aligned with [`LatencyHistogram::bounds`] plus one last bucket for
    /// what exceeds them all.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// An estimate of the `q` quantile (0.95 for p95), interpolating linearly inside the bucket
    /// that holds it as Prometheus's `histogram_quantile` does. `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            if count > 0 && (below + count) as f64 >= rank {
                let lower = if index == 0 {
                    0
                } else {
                    BUCKET_BOUNDS_MICROS[index - 1]
                };
                // Above every bound there is nothing to interpolate to: report the last bound.
                let Some(&upper) = BUCKET_BOUNDS_MICROS.get(index) else {
                    return Some(Duration::from_micros(lower));
                };
                let fraction = ((rank - below as f64) / count as f64).clamp(0.0, 1.0);
                let micros = lower as f64 + (upper - lower) as f64 * fraction;
                return Some(Duration::from_micros(micros as u64));
            }
            below += count;
        }
        None
    }

    fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let counts = self
            .counts
            .iter()
            .enumerate()
            .map(|(index, &count)| {
                count.saturating_sub(earlier.counts.get(index).copied().unwrap_or(0))
            })
            .collect();
        LatencyHistogram {
            counts,
            sum_micros: self.sum_micros.saturating_sub(earlier.sum_micros),
        }
    }
}

/// Renders the metrics in the Prometheus text exposition format (version 0.0.4).
pub(crate) fn render_prometheus(snapshot: &MetricsSnapshot, health: &[UpstreamHealth]) -> String {
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "slipway_proxy_routes_version",
        "gauge",
        "Version of the routing table being served.",
    );
    let _ = writeln!(out, "slipway_proxy_routes_version {}", snapshot.version);
    family(
        &mut out,
        "slipway_proxy_unmatched_requests_total",
        "counter",
        "Requests no route matched (404).",
    );
    let _ = writeln!(
        out,
        "slipway_proxy_unmatched_requests_total {}",
        snapshot.unmatched
    );
    family(
        &mut out,
        "slipway_proxy_unavailable_requests_total",
        "counter",
        "Requests answered 503 because no pool of the backend had a healthy upstream.",
    );
    for (backend, stats) in &snapshot.backends {
        let _ = writeln!(
            out,
            "slipway_proxy_unavailable_requests_total{{backend=\"{}\"}} {}",
            escape(backend.as_str()),
            stats.unavailable
        );
    }
    let pools: Vec<(String, &PoolStats)> = snapshot
        .backends
        .iter()
        .flat_map(|(backend, stats)| {
            stats.pools.iter().map(move |(pool, stats)| {
                (
                    format!(
                        "backend=\"{}\",pool=\"{}\"",
                        escape(backend.as_str()),
                        escape(pool.as_str())
                    ),
                    stats,
                )
            })
        })
        .collect();
    family(
        &mut out,
        "slipway_proxy_requests_total",
        "counter",
        "Finished requests per pool.",
    );
    for (labels, stats) in &pools {
        let _ = writeln!(
            out,
            "slipway_proxy_requests_total{{{labels}}} {}",
            stats.requests
        );
    }
    family(
        &mut out,
        "slipway_proxy_responses_total",
        "counter",
        "Upstream responses per pool and status class.",
    );
    for (labels, stats) in &pools {
        for (class, count) in stats.responses.as_array() {
            let _ = writeln!(
                out,
                "slipway_proxy_responses_total{{{labels},class=\"{class}\"}} {count}"
            );
        }
    }
    family(
        &mut out,
        "slipway_proxy_errors_total",
        "counter",
        "Requests that got no upstream response (502, 504).",
    );
    for (labels, stats) in &pools {
        let _ = writeln!(
            out,
            "slipway_proxy_errors_total{{{labels}}} {}",
            stats.proxy_errors
        );
    }
    family(
        &mut out,
        "slipway_proxy_connect_failures_total",
        "counter",
        "Upstream connections that failed before the request was sent.",
    );
    for (labels, stats) in &pools {
        let _ = writeln!(
            out,
            "slipway_proxy_connect_failures_total{{{labels}}} {}",
            stats.connect_failures
        );
    }
    family(
        &mut out,
        "slipway_proxy_request_duration_seconds",
        "histogram",
        "Time from request to upstream response headers.",
    );
    for (labels, stats) in &pools {
        histogram(&mut out, labels, &stats.latency);
    }
    family(
        &mut out,
        "slipway_proxy_upstream_healthy",
        "gauge",
        "1 when the upstream gets new requests, 0 when not.",
    );
    for upstream in health {
        let healthy = u8::from(upstream.state == HealthState::Healthy);
        let _ = writeln!(
            out,
            "slipway_proxy_upstream_healthy{{backend=\"{}\",pool=\"{}\",upstream=\"{}\"}} {healthy}",
            escape(upstream.backend.as_str()),
            escape(upstream.pool.as_str()),
            escape(upstream.upstream.as_str())
        );
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(out: &mut String, labels: &str, latency: &LatencyHistogram) {
    let name = "slipway_proxy_request_duration_seconds";
    let mut cumulative = 0;
    for (bound, count) in BUCKET_BOUNDS_MICROS.iter().zip(&latency.counts) {
        cumulative += count;
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels},le=\"{}\"}} {cumulative}",
            *bound as f64 / 1e6
        );
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels},le=\"+Inf\"}} {}",
        latency.count()
    );
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}",
        latency.sum_micros as f64 / 1e6
    );
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", latency.count());
}

/// Escapes a label value as the text format requires. Ids cannot hold these characters today;
/// escaping keeps the output valid if the id rules ever widen.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(latencies_ms: &[u64]) -> LatencyHistogram {
        let counters = PoolCounters::new(1);
        for &ms in latencies_ms {
            counters.record_response(200, Duration::from_millis(ms));
        }
        counters.snapshot().latency
    }

    #[test]
    fn statuses_are_counted_by_class() {
        let counters = PoolCounters::new(1);
        for status in [101, 200, 204, 302, 404, 500, 503] {
            counters.record_response(status, Duration::from_millis(1));
        }
        counters.record_proxy_error(Duration::from_millis(1));
        let stats = counters.snapshot();
        assert_eq!(
            stats.responses,
            StatusClasses {
                informational: 1,
                success: 2,
                redirection: 1,
                client_error: 1,
                server_error: 2
            }
        );
        assert_eq!(stats.requests, 8);
        assert_eq!(stats.error_rate(), Some(3.0 / 8.0));
        assert_eq!(PoolStats::default().error_rate(), None);
    }

    #[test]
    fn quantiles_land_in_the_right_bucket() {
        let mut latencies = vec![4; 95];
        latencies.extend([40; 5]);
        let histogram = histogram_of(&latencies);
        assert_eq!(histogram.count(), 100);
        let p95 = histogram.quantile(0.95).unwrap();
        assert!(
            p95 > Duration::from_millis(3) && p95 <= Duration::from_millis(5),
            "{p95:?}"
        );
        let p99 = histogram.quantile(0.99).unwrap();
        assert!(
            p99 > Duration::from_millis(30) && p99 <= Duration::from_millis(50),
            "{p99:?}"
        );
        assert_eq!(histogram_of(&[]).quantile(0.95), None);
        assert_eq!(
            histogram_of(&[120_000]).quantile(0.5),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn since_subtracts_every_counter() {
        let counters = PoolCounters::new(1);
        counters.record_response(200, Duration::from_millis(2));
        let backend = BackendId::new("b").unwrap();
        let pool = PoolId::new("p").unwrap();
        let snapshot = |counters: &PoolCounters| MetricsSnapshot {
            version: TableVersion::new(1),
            unmatched: 0,
            backends: BTreeMap::from([(
                backend.clone(),
                BackendStats {
                    unavailable: 0,
                    pools: BTreeMap::from([(pool.clone(), counters.snapshot())]),
                },
            )]),
        };
        let before = snapshot(&counters);
        counters.record_response(500, Duration::from_millis(200));
        counters.record_connect_failure();
        let delta = snapshot(&counters).since(&before);
        let stats = delta.pool(&backend, &pool).unwrap();
        assert_eq!(stats.requests, 1);
        assert_eq!(stats.responses.server_error, 1);
        assert_eq!(stats.responses.success, 0);
        assert_eq!(stats.connect_failures, 1);
        assert_eq!(stats.latency.count(), 1);
        assert_eq!(stats.latency.sum(), Duration::from_millis(200));
        assert_eq!(stats.error_rate(), Some(1.0));
    }
}
