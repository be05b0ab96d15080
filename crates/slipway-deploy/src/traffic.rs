//! Changes to a service's traffic, as data: [`TrafficEdit`] says what to do to one backend (its
//! routes, its health check, its pools and their weights and upstreams), and [`apply_edit`]
//! computes the routing table that results.
//!
//! The controller runs in the `slipway` command while the proxy runs in the daemon, and the
//! daemon's own loops (autoscaling, warm-release expiry) change tables too. Sending an edit rather
//! than a whole table lets the daemon apply it to whatever table is current, in one atomic
//! read-modify-write ([`slipway_proxy::Proxy::update`]), so no change is lost between them.

use serde::{Deserialize, Serialize};
use slipway_proxy::{
    ActiveHealthCheck, Backend, BackendId, HostPattern, PathPrefix, Pool, PoolId, Route,
    RoutingTable, TableError, Upstream, UpstreamId,
};

use crate::spec::HealthProbe;

/// What to change in one backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficEdit {
    /// The backend (`ENV/SERVICE`); created when missing.
    pub backend: BackendId,
    /// Hosts that must route to it.
    pub hosts: Vec<HostPattern>,
    /// Its active health check.
    pub health_check: Option<ActiveHealthCheck>,
    /// The changes to its pools, applied in order.
    pub changes: Vec<PoolChange>,
}

/// One change to a backend's pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum PoolChange {
    /// Adds upstreams to a pool, creating it with weight 0 when missing (an upstream already
    /// there with the same id is replaced).
    AddUpstreams {
        /// The pool.
        pool: PoolId,
        /// The upstreams.
        upstreams: Vec<Upstream>,
    },
    /// Removes upstreams from a pool; a pool left empty is removed.
    RemoveUpstreams {
        /// The pool.
        pool: PoolId,
        /// The upstreams' ids.
        upstreams: Vec<UpstreamId>,
    },
    /// Sets a pool's weight; a pool that does not exist is left alone.
    SetWeight {
        /// The pool.
        pool: PoolId,
        /// Its new weight.
        weight: u32,
    },
    /// Removes a pool and its upstreams.
    RemovePool {
        /// The pool.
        pool: PoolId,
    },
}

/// The proxy's health check for a service's probe: only with a path (without one, passive
/// ejection alone watches the upstreams).
pub fn active_check(probe: &HealthProbe) -> Option<ActiveHealthCheck> {
    let path = probe.path.clone()?;
    let mut check = ActiveHealthCheck::new(path);
    check.interval = probe.interval;
    check.timeout = probe.timeout.min(probe.interval);
    check.healthy_threshold = probe.healthy_threshold;
    check.unhealthy_threshold = probe.unhealthy_threshold;
    Some(check)
}

/// `table` with `edit` applied.
pub fn apply_edit(table: &RoutingTable, edit: &TrafficEdit) -> Result<RoutingTable, TableError> {
    let mut backend = table
        .backend(&edit.backend)
        .cloned()
        .unwrap_or_else(|| Backend::new(edit.backend.clone(), Vec::new()));
    backend.health_check = edit.health_check.clone();
    for change in &edit.changes {
        apply_change(&mut backend.pools, change);
    }
    let mut table = table.with_backend(backend)?;
    for host in &edit.hosts {
        table = table.with_route(Route {
            host: Some(host.clone()),
            path_prefix: PathPrefix::root(),
            backend: edit.backend.clone(),
        })?;
    }
    Ok(table)
}

fn apply_change(pools: &mut Vec<Pool>, change: &PoolChange) {
    match change {
        PoolChange::AddUpstreams { pool, upstreams } => {
            let index = match pools.iter().position(|existing| &existing.id == pool) {
                Some(index) => index,
                None => {
                    pools.push(Pool {
                        id: pool.clone(),
                        weight: 0,
                        upstreams: Vec::new(),
                    });
                    pools.len() - 1
                }
            };
            let target = &mut pools[index].upstreams;
            for upstream in upstreams {
                target.retain(|existing| existing.id != upstream.id);
                target.push(upstream.clone());
            }
        }
        PoolChange::RemoveUpstreams { pool, upstreams } => {
            for existing in pools.iter_mut().filter(|existing| &existing.id == pool) {
                existing
                    .upstreams
                    .retain(|upstream| !upstreams.contains(&upstream.id));
            }
            pools.retain(|existing| !existing.upstreams.is_empty());
        }
        PoolChange::SetWeight { pool, weight } => {
            for existing in pools.iter_mut().filter(|existing| &existing.id == pool) {
                existing.weight = *weight;
            }
        }
        PoolChange::RemovePool { pool } => pools.retain(|existing| &existing.id != pool),
    }
}

/// The weight of each pool of `backend` in `table`, by pool id; empty when there is no such
/// backend.
pub fn weights(table: &RoutingTable, backend: &BackendId) -> Vec<(PoolId, u32)> {
    table.backend(backend).map_or_else(Vec::new, |backend| {
        backend
            .pools
            .iter()
            .map(|pool| (pool.id.clone(), pool.weight))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(name: &str, port: u16) -> Upstream {
        Upstream {
            id: UpstreamId::new(name).unwrap(),
            addr: ([127, 0, 0, 1], port).into(),
        }
    }

    fn pool(name: &str) -> PoolId {
        PoolId::new(name).unwrap()
    }

    fn edit(changes: Vec<PoolChange>) -> TrafficEdit {
        TrafficEdit {
            backend: BackendId::new("dev/hello").unwrap(),
            hosts: vec![HostPattern::new("hello.dev.localhost").unwrap()],
            health_check: Some(ActiveHealthCheck::new("/healthz")),
            changes,
        }
    }

    #[test]
    fn a_switch_is_a_weight_change_and_a_retirement_a_removal() {
        let start = edit(vec![
            PoolChange::AddUpstreams {
                pool: pool("r1"),
                upstreams: vec![upstream("a", 1), upstream("b", 2)],
            },
            PoolChange::SetWeight {
                pool: pool("r1"),
                weight: 100,
            },
        ]);
        let table = apply_edit(&RoutingTable::empty(), &start).unwrap();
        assert_eq!(weights(&table, &start.backend), [(pool("r1"), 100)]);
        assert_eq!(table.routes().len(), 1);

        let green = edit(vec![PoolChange::AddUpstreams {
            pool: pool("r2"),
            upstreams: vec![upstream("c", 3)],
        }]);
        let table = apply_edit(&table, &green).unwrap();
        assert_eq!(
            weights(&table, &start.backend),
            [(pool("r1"), 100), (pool("r2"), 0)],
            "a new pool joins warm, with no traffic"
        );
        let switch = edit(vec![
            PoolChange::SetWeight {
                pool: pool("r2"),
                weight: 100,
            },
            PoolChange::SetWeight {
                pool: pool("r1"),
                weight: 0,
            },
        ]);
        let table = apply_edit(&table, &switch).unwrap();
        assert_eq!(
            weights(&table, &start.backend),
            [(pool("r1"), 0), (pool("r2"), 100)]
        );
        assert_eq!(
            table.routes().len(),
            1,
            "the route is replaced, not repeated"
        );

        let retire = edit(vec![PoolChange::RemoveUpstreams {
            pool: pool("r1"),
            upstreams: vec![UpstreamId::new("a").unwrap(), UpstreamId::new("b").unwrap()],
        }]);
        let table = apply_edit(&table, &retire).unwrap();
        assert_eq!(
            weights(&table, &start.backend),
            [(pool("r2"), 100)],
            "an emptied pool goes"
        );
        let gone = edit(vec![PoolChange::RemovePool { pool: pool("r2") }]);
        let table = apply_edit(&table, &gone).unwrap();
        assert!(weights(&table, &start.backend).is_empty());
    }

    #[test]
    fn an_upstream_added_twice_is_replaced() {
        let add = |port| {
            edit(vec![
                PoolChange::AddUpstreams {
                    pool: pool("r1"),
                    upstreams: vec![upstream("a", port)],
                },
                PoolChange::SetWeight {
                    pool: pool("r1"),
                    weight: 1,
                },
            ])
        };
        let table = apply_edit(&RoutingTable::empty(), &add(1)).unwrap();
        let table = apply_edit(&table, &add(2)).unwrap();
        let backend = table
            .backend(&BackendId::new("dev/hello").unwrap())
            .unwrap();
        assert_eq!(backend.pools[0].upstreams, [upstream("a", 2)]);
    }

    #[test]
    fn a_probe_without_a_path_has_no_active_check() {
        let mut probe = HealthProbe::of(None);
        assert_eq!(active_check(&probe), None);
        probe.path = Some("/healthz".to_owned());
        probe.timeout = std::time::Duration::from_secs(9);
        let check = active_check(&probe).unwrap();
        assert_eq!(
            check.timeout, probe.interval,
            "a check may not outlast its interval"
        );
    }
}
