//! The live objects behind a routing table, kept across applies.
//!
//! Applying a table compiles it into a [`Router`], reusing the state of every upstream, pool and
//! backend that is still there (same ids and address): an upstream keeps its connections, health
//! and ejection, a pool its metrics, a checker its schedule. What left the table is handed back
//! as retired upstreams for the drain to watch.

use std::collections::HashMap;
use std::sync::Arc;

use crate::health::Checker;
use crate::metrics::{BackendCounters, PoolCounters};
use crate::router::{CompiledBackend, CompiledPool, Router};
use crate::table::{BackendId, PoolId, RoutingTable};
use crate::upstream::{UpstreamKey, UpstreamSettings, UpstreamState};

/// Live state by identity.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    upstreams: HashMap<UpstreamKey, Arc<UpstreamState>>,
    checkers: HashMap<UpstreamKey, Checker>,
    pools: HashMap<(BackendId, PoolId), Arc<PoolCounters>>,
    backends: HashMap<BackendId, Arc<BackendCounters>>,
}

impl Registry {
    /// Compiles `table`, reusing what survives; returns the router and the upstreams that left.
    pub(crate) fn rebuild(
        &mut self,
        table: &RoutingTable,
        settings: UpstreamSettings,
    ) -> (Router, Vec<Arc<UpstreamState>>) {
        let mut old = std::mem::take(self);
        let mut compiled = Vec::with_capacity(table.backends().len());
        for backend in table.backends() {
            let mut pools = Vec::with_capacity(backend.pools.len());
            for pool in &backend.pools {
                let mut upstreams = Vec::with_capacity(pool.upstreams.len());
                for upstream in &pool.upstreams {
                    let key = UpstreamKey {
                        backend: backend.id.clone(),
                        pool: pool.id.clone(),
                        upstream: upstream.id.clone(),
                        addr: upstream.addr,
                    };
                    let state = old
                        .upstreams
                        .remove(&key)
                        .unwrap_or_else(|| Arc::new(UpstreamState::new(key.clone(), settings)));
                    let checker = old.checkers.remove(&key);
                    match &backend.health_check {
                        Some(check) => {
                            let checker = match checker {
                                Some(running) if running.check() == check => running,
                                _ => Checker::start(Arc::clone(&state), check.clone()),
                            };
                            self.checkers.insert(key.clone(), checker);
                        }
                        // Without checks, nothing would ever mark it healthy again.
                        None => state.set_actively_healthy(true),
                    }
                    self.upstreams.insert(key, Arc::clone(&state));
                    upstreams.push(state);
                }
                let pool_key = (backend.id.clone(), pool.id.clone());
                let counters = old
                    .pools
                    .remove(&pool_key)
                    .unwrap_or_else(|| Arc::new(PoolCounters::new(settings.workers)));
                self.pools.insert(pool_key, Arc::clone(&counters));
                pools.push(CompiledPool::new(
                    pool.id.clone(),
                    pool.weight,
                    upstreams,
                    counters,
                    settings.workers,
                ));
            }
            let counters = old.backends.remove(&backend.id).unwrap_or_default();
            self.backends
                .insert(backend.id.clone(), Arc::clone(&counters));
            compiled.push(Arc::new(CompiledBackend::new(
                backend.id.clone(),
                pools,
                backend.balance,
                backend.passive_ejection,
                counters,
                settings.workers,
            )));
        }
        let index: HashMap<&BackendId, usize> = table
            .backends()
            .iter()
            .enumerate()
            .map(|(position, backend)| (&backend.id, position))
            .collect();
        let routes = table.routes().iter().filter_map(|route| {
            let backend = *index.get(&route.backend)?;
            Some((route.host.clone(), route.path_prefix.clone(), backend))
        });
        let router = Router::new(compiled, routes);
        // Checkers of departed upstreams stop as `old` drops here.
        (router, old.upstreams.into_values().collect())
    }

    /// Stops every health checker (at shutdown).
    pub(crate) fn stop_checks(&mut self) {
        self.checkers.clear();
    }
}
