//! The routing table compiled for the hot path: host and prefix lookup, the weighted choice of a
//! pool, and the choice of an upstream inside it.
//!
//! Lookup: among the routes whose host pattern and path prefix both match, the most specific
//! host wins (exact, then the longest `*.domain`, then routes for any host), then the longest
//! prefix. So `api.example.com/v1` can go to one backend while every other path of that host
//! falls through to a catch-all route.
//!
//! Pool choice is weighted but not random: each request takes a ticket, and tickets are spread
//! over the total weight with a golden-ratio stride, so over every `total` consecutive requests
//! each pool gets exactly its share, interleaved rather than in runs. A canary at weight 5 of 100
//! gets 5 requests in every 100, which makes its metrics comparable after a short window. Each
//! worker thread has its own tickets, so the shares are exact per worker, hence overall.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::metrics::{BackendCounters, PoolCounters};
use crate::table::{BackendId, Balance, PassiveEjection, PathPrefix, PoolId};
use crate::upstream::{UpstreamState, now_millis};
use crate::worker::PerWorker;

/// A compiled routing table.
#[derive(Debug, Default)]
pub(crate) struct Router {
    exact: HashMap<String, Vec<CompiledRoute>>,
    /// Suffixes (`.example.com`), longest first.
    wildcard: Vec<(String, Vec<CompiledRoute>)>,
    any_host: Vec<CompiledRoute>,
    backends: Vec<Arc<CompiledBackend>>,
}

#[derive(Debug)]
struct CompiledRoute {
    prefix: PathPrefix,
    backend: Arc<CompiledBackend>,
}

impl Router {
    /// Builds the lookup structures from `routes` (host pattern, prefix, backend index) over
    /// `backends`.
    pub(crate) fn new(
        backends: Vec<Arc<CompiledBackend>>,
        routes: impl IntoIterator<Item = (Option<crate::table::HostPattern>, PathPrefix, usize)>,
    ) -> Router {
        let mut router = Router {
            backends,
            ..Router::default()
        };
        let mut wildcard: HashMap<String, Vec<CompiledRoute>> = HashMap::new();
        for (host, prefix, backend) in routes {
            let Some(backend) = router.backends.get(backend).cloned() else {
                continue;
            };
            let route = CompiledRoute { prefix, backend };
            match host {
                None => router.any_host.push(route),
                Some(pattern) if pattern.is_wildcard() => wildcard
                    .entry(pattern.key().to_owned())
                    .or_default()
                    .push(route),
                Some(pattern) => router
                    .exact
                    .entry(pattern.key().to_owned())
                    .or_default()
                    .push(route),
            }
        }
        router.wildcard = wildcard.into_iter().collect();
        router
            .wildcard
            .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        let longest_prefix_first = |routes: &mut Vec<CompiledRoute>| {
            routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.as_str().len()));
        };
        router.exact.values_mut().for_each(longest_prefix_first);
        router
            .wildcard
            .iter_mut()
            .for_each(|(_, routes)| longest_prefix_first(routes));
        longest_prefix_first(&mut router.any_host);
        router
    }

    /// The backend serving `host` (normalized: lower case, no port) and `path`.
    pub(crate) fn lookup(&self, host: &str, path: &str) -> Option<&Arc<CompiledBackend>> {
        if let Some(backend) = self
            .exact
            .get(host)
            .and_then(|routes| first_match(routes, path))
        {
            return Some(backend);
        }
        for (suffix, routes) in &self.wildcard {
            if host.len() > suffix.len()
                && host.ends_with(suffix.as_str())
                && let Some(backend) = first_match(routes, path)
            {
                return Some(backend);
            }
        }
        first_match(&self.any_host, path)
    }

    /// Every backend of the table, in table order.
    pub(crate) fn backends(&self) -> &[Arc<CompiledBackend>] {
        &self.backends
    }
}

/// The backend of the longest prefix matching `path` (routes are sorted longest first).
fn first_match<'a>(routes: &'a [CompiledRoute], path: &str) -> Option<&'a Arc<CompiledBackend>> {
    routes
        .iter()
        .find(|route| route.prefix.matches(path))
        .map(|route| &route.backend)
}

/// A backend with its live pools.
#[derive(Debug)]
pub(crate) struct CompiledBackend {
    pub(crate) id: BackendId,
    pub(crate) pools: Vec<CompiledPool>,
    pub(crate) balance: Balance,
    pub(crate) ejection: PassiveEjection,
    pub(crate) counters: Arc<BackendCounters>,
    /// Per worker: each worker's tickets alone give every pool its exact share.
    tickets: PerWorker<AtomicU64>,
}

/// A pool with its live upstreams.
#[derive(Debug)]
pub(crate) struct CompiledPool {
    pub(crate) id: PoolId,
    pub(crate) weight: u32,
    pub(crate) upstreams: Vec<Arc<UpstreamState>>,
    pub(crate) counters: Arc<PoolCounters>,
    /// Per worker, as the backend's tickets are.
    turn: PerWorker<AtomicUsize>,
}

impl CompiledPool {
    pub(crate) fn new(
        id: PoolId,
        weight: u32,
        upstreams: Vec<Arc<UpstreamState>>,
        counters: Arc<PoolCounters>,
        workers: usize,
    ) -> CompiledPool {
        CompiledPool {
            id,
            weight,
            upstreams,
            counters,
            turn: PerWorker::new(workers),
        }
    }

    fn has_candidate(&self, now: u64, avoid: Option<&UpstreamState>) -> bool {
        self.upstreams
            .iter()
            .any(|upstream| is_candidate(upstream, now, avoid))
    }

    /// An available upstream other than `avoid`, by the backend's balancing rule.
    fn choose(
        &self,
        balance: Balance,
        now: u64,
        avoid: Option<&UpstreamState>,
    ) -> Option<&Arc<UpstreamState>> {
        let count = self.upstreams.len();
        if count == 0 {
            return None;
        }
        let start = self.turn.here().fetch_add(1, Ordering::Relaxed) % count;
        let in_turn = (0..count).map(|offset| &self.upstreams[(start + offset) % count]);
        let mut candidates = in_turn.filter(|upstream| is_candidate(upstream, now, avoid));
        match balance {
            Balance::RoundRobin => candidates.next(),
            // `min_by_key` keeps the first of equals, and the order starts at this turn: ties
            // go round-robin.
            Balance::LeastRequests => candidates.min_by_key(|upstream| upstream.in_flight()),
        }
    }
}

fn is_candidate(upstream: &Arc<UpstreamState>, now: u64, avoid: Option<&UpstreamState>) -> bool {
    upstream.is_available(now)
        && !avoid.is_some_and(|avoid| std::ptr::eq(Arc::as_ptr(upstream), avoid))
}

impl CompiledBackend {
    pub(crate) fn new(
        id: BackendId,
        pools: Vec<CompiledPool>,
        balance: Balance,
        ejection: PassiveEjection,
        counters: Arc<BackendCounters>,
        workers: usize,
    ) -> CompiledBackend {
        CompiledBackend {
            id,
            pools,
            balance,
            ejection,
            counters,
            tickets: PerWorker::new(workers),
        }
    }

    /// Picks a pool by weight among those with an available upstream (other than `avoid`), then
    /// an upstream in it. `None` when no pool has one.
    pub(crate) fn pick(
        &self,
        avoid: Option<&UpstreamState>,
    ) -> Option<(&CompiledPool, &Arc<UpstreamState>)> {
        let now = now_millis();
        let eligible = |pool: &&CompiledPool| pool.weight > 0 && pool.has_candidate(now, avoid);
        let total: u64 = self
            .pools
            .iter()
            .filter(eligible)
            .map(|pool| u64::from(pool.weight))
            .sum();
        if total == 0 {
            return None;
        }
        let mut point = spread(self.tickets.here().fetch_add(1, Ordering::Relaxed), total);
        for pool in self.pools.iter().filter(eligible) {
            let weight = u64::from(pool.weight);
            if point < weight {
                return pool
                    .choose(self.balance, now, avoid)
                    .map(|upstream| (pool, upstream));
            }
            point -= weight;
        }
        None
    }
}

/// Maps ticket `n` to a point in `0..total`: `n * stride mod total` with a stride near
/// `total / φ` that shares no factor with `total`. Such a stride visits every point once per
/// `total` tickets (so shares are exact) in a well-mixed order (the golden-ratio sequence).
fn spread(ticket: u64, total: u64) -> u64 {
    const INVERSE_GOLDEN_RATIO: f64 = 0.618_033_988_749_895;
    let mut stride = ((total as f64 * INVERSE_GOLDEN_RATIO) as u64).max(1);
    while gcd(stride, total) != 1 {
        stride += 1;
    }
    ((u128::from(ticket % total) * u128::from(stride)) % u128::from(total)) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use super::*;
    use crate::table::{HostPattern, PoolId, UpstreamId};
    use crate::upstream::{UpstreamKey, UpstreamSettings};

    fn upstream(name: &str) -> Arc<UpstreamState> {
        let key = UpstreamKey {
            backend: BackendId::new("b").unwrap(),
            pool: PoolId::new("p").unwrap(),
            upstream: UpstreamId::new(name).unwrap(),
            addr: "127.0.0.1:1".parse().unwrap(),
        };
        Arc::new(UpstreamState::new(
            key,
            UpstreamSettings {
                connect_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(1),
                workers: 1,
            },
        ))
    }

    fn backend(
        name: &str,
        pools: Vec<(u32, Vec<Arc<UpstreamState>>)>,
        balance: Balance,
    ) -> Arc<CompiledBackend> {
        let pools = pools
            .into_iter()
            .enumerate()
            .map(|(index, (weight, upstreams))| {
                CompiledPool::new(
                    PoolId::new(format!("p{index}")).unwrap(),
                    weight,
                    upstreams,
                    Arc::new(PoolCounters::new(1)),
                    1,
                )
            })
            .collect();
        Arc::new(CompiledBackend::new(
            BackendId::new(name).unwrap(),
            pools,
            balance,
            PassiveEjection::default(),
            Arc::default(),
            1,
        ))
    }

    fn router(routes: &[(Option<&str>, &str, usize)], backends: usize) -> Router {
        let backends = (0..backends)
            .map(|index| backend(&format!("b{index}"), vec![], Balance::RoundRobin))
            .collect();
        Router::new(
            backends,
            routes.iter().map(|(host, prefix, backend)| {
                (
                    host.map(|host| HostPattern::new(host).unwrap()),
                    PathPrefix::new(prefix).unwrap(),
                    *backend,
                )
            }),
        )
    }

    fn found(router: &Router, host: &str, path: &str) -> Option<String> {
        router
            .lookup(host, path)
            .map(|backend| backend.id.to_string())
    }

    #[test]
    fn the_most_specific_host_then_the_longest_prefix_wins() {
        let router = router(
            &[
                (None, "/", 0),
                (Some("*.example.com"), "/", 1),
                (Some("*.api.example.com"), "/", 2),
                (Some("shop.example.com"), "/cart", 3),
                (Some("shop.example.com"), "/cart/checkout", 4),
            ],
            5,
        );
        assert_eq!(
            found(&router, "shop.example.com", "/cart/checkout/pay").as_deref(),
            Some("b4")
        );
        assert_eq!(
            found(&router, "shop.example.com", "/cart").as_deref(),
            Some("b3")
        );
        assert_eq!(
            found(&router, "shop.example.com", "/about").as_deref(),
            Some("b1"),
            "falls through to *.example.com"
        );
        assert_eq!(
            found(&router, "v1.api.example.com", "/").as_deref(),
            Some("b2")
        );
        assert_eq!(found(&router, "example.com", "/").as_deref(), Some("b0"));
        assert_eq!(found(&router, "", "/x").as_deref(), Some("b0"));
    }

    #[test]
    fn no_match_means_no_backend() {
        let router = router(&[(Some("a.com"), "/api", 0)], 1);
        assert_eq!(found(&router, "a.com", "/web"), None);
        assert_eq!(found(&router, "b.com", "/api"), None);
    }

    #[test]
    fn spread_gives_every_point_once_per_cycle() {
        for total in [1u64, 2, 3, 10, 100, 101, 1000, 4096] {
            let points: HashSet<u64> = (0..total).map(|ticket| spread(ticket, total)).collect();
            assert_eq!(points.len() as u64, total, "total {total}");
            assert!(points.iter().all(|&point| point < total));
        }
    }

    #[test]
    fn weights_are_exact_over_a_cycle_and_interleaved() {
        let stable = upstream("stable");
        let canary = upstream("canary");
        let backend = backend(
            "b",
            vec![(90, vec![stable]), (10, vec![canary])],
            Balance::RoundRobin,
        );
        let picks: Vec<bool> = (0..100)
            .map(|_| {
                backend
                    .pick(None)
                    .map(|(pool, _)| pool.id.as_str() == "p1")
                    .unwrap()
            })
            .collect();
        assert_eq!(picks.iter().filter(|&&canary| canary).count(), 10);
        let first_canary = picks.iter().position(|&canary| canary).unwrap();
        assert!(
            first_canary < 20,
            "the canary's share must not come as one run at the end: {picks:?}"
        );
    }

    #[test]
    fn unavailable_upstreams_and_empty_pools_are_skipped() {
        let down = upstream("down");
        down.set_actively_healthy(false);
        let up = upstream("up");
        let backend = backend(
            "b",
            vec![(50, vec![down]), (50, vec![Arc::clone(&up)]), (50, vec![])],
            Balance::RoundRobin,
        );
        for _ in 0..20 {
            let (_, chosen) = backend.pick(None).unwrap();
            assert!(Arc::ptr_eq(chosen, &up));
        }
        assert!(
            backend.pick(Some(&up)).is_none(),
            "avoiding the only healthy upstream leaves nothing"
        );
    }

    #[test]
    fn zero_weight_pools_get_nothing() {
        let standby = upstream("standby");
        let live = upstream("live");
        let backend = backend(
            "b",
            vec![(0, vec![standby]), (1, vec![Arc::clone(&live)])],
            Balance::RoundRobin,
        );
        for _ in 0..10 {
            assert!(Arc::ptr_eq(backend.pick(None).unwrap().1, &live));
        }
    }

    #[test]
    fn round_robin_takes_turns_and_least_requests_prefers_the_idle() {
        let (a, b, c) = (upstream("a"), upstream("b"), upstream("c"));
        let pool = vec![Arc::clone(&a), Arc::clone(&b), Arc::clone(&c)];
        let round_robin = backend("rr", vec![(1, pool.clone())], Balance::RoundRobin);
        let names: Vec<String> = (0..6)
            .map(|_| round_robin.pick(None).unwrap().1.key.upstream.to_string())
            .collect();
        assert_eq!(names, ["a", "b", "c", "a", "b", "c"]);

        let least = backend("lr", vec![(1, pool)], Balance::LeastRequests);
        let _busy_a = a.begin();
        let _busy_b = b.begin();
        let _busier_b = b.begin();
        for _ in 0..5 {
            assert_eq!(least.pick(None).unwrap().1.key.upstream.as_str(), "c");
        }
        let _busy_c = c.begin();
        let _busier_c = c.begin();
        assert_eq!(least.pick(None).unwrap().1.key.upstream.as_str(), "a");
    }
}
