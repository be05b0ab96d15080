//! Slipway's reverse proxy: the front door every deployed service answers behind.
//!
//! It serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one port and sends each request
//! to an upstream chosen by a [`RoutingTable`]: routes match a host (exact or `*.domain`) and a
//! path prefix and name a [`Backend`]; a backend holds weighted [`Pool`]s (a release each, so a
//! canary is a second pool with a small weight) of [`Upstream`]s (the replicas). Inside a pool
//! requests go round-robin or to the upstream with the fewest in flight.
//!
//! The proxy knows nothing about releases or deploys. The deploy controller drives it, either
//! in-process through [`Proxy`] or from another process through the control API with [`Client`]:
//! it applies a new table ([`Proxy::apply`]), waits for the upstreams it removed to finish their
//! requests ([`Applied::drained`]), and reads per-pool metrics ([`Proxy::metrics`]) to judge a
//! canary. Ids are opaque strings the controller chooses.
//!
//! What the proxy guarantees during a switch:
//! - the table changes atomically: a request routes by the old table or the new one, never a mix;
//! - requests that already chose an upstream finish there; the drain reports when they are done;
//! - a request that never reached an upstream (connection refused, or a pooled connection that
//!   closed before the request was written) is retried once on another upstream; a request that
//!   reached one is never retried;
//! - upstreams that fail health checks or keep refusing connections get no new requests; a
//!   backend with no usable upstream answers 503 with a body saying so.
//!
//! Answers the proxy makes itself (404, 502, 503, 504) carry the [`PROXY_ERROR_HEADER`], so a
//! caller can tell them from the application's. Every request gets `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host` and an `X-Request-Id` (the client's, or a new one,
//! echoed in the response). WebSocket and other HTTP/1.1 upgrades pass through.
//!
//! Modules: `table` (the routing table as data, valid by construction), `router` (lookup and
//! balancing), `upstream` (connections, retries' safety, ejection), `health` (active checks),
//! `forward` (the request path), `metrics`, `drain`, `control` and `client` (the control API),
//! `state` (the state file), `server` (listeners), `worker` (the threads serving client
//! connections, each owning its connections end to end), `proxy` ([`Proxy`] itself).
//!
//! ```no_run
//! use slipway_proxy::{Backend, BackendId, ControlEndpoint, Pool, PoolId, Proxy, ProxyConfig, Route,
//!                     RoutingTable, Upstream, UpstreamId};
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ProxyConfig::new("127.0.0.1:8080".parse()?, ControlEndpoint::unix(".slipway/proxy.sock"));
//! let proxy = Proxy::start(config).await?;
//! let release = Pool {
//!     id: PoolId::new("r1")?,
//!     weight: 100,
//!     upstreams: vec![Upstream { id: UpstreamId::new("r1-1")?, addr: "127.0.0.1:3001".parse()? }],
//! };
//! let orders = BackendId::new("staging/orders")?;
//! let table = RoutingTable::new(
//!     vec![Backend::new(orders.clone(), vec![release])],
//!     vec![Route { host: None, path_prefix: Default::default(), backend: orders }],
//! )?;
//! let applied = proxy.apply(table).await?;
//! applied.drained().await;
//! proxy.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod control;
mod drain;
mod error;
mod forward;
mod headers;
mod health;
mod metrics;
mod proxy;
mod registry;
mod router;
mod server;
mod state;
mod table;
mod upstream;
mod worker;

pub use client::{Client, ClientError};
pub use config::{ControlEndpoint, ControlToken, EndpointError, ProxyConfig};
pub use drain::DrainReport;
pub use error::{ApplyError, ProxyError};
pub use forward::PROXY_ERROR_HEADER;
pub use health::{HealthState, UpstreamHealth};
pub use metrics::{BackendStats, LatencyHistogram, MetricsSnapshot, PoolStats, StatusClasses};
pub use proxy::{Applied, Proxy};
pub use table::{
    ActiveHealthCheck, Backend, BackendId, Balance, HostPattern, MAX_BACKENDS,
    MAX_POOLS_PER_BACKEND, MAX_ROUTES, MAX_UPSTREAMS_PER_POOL, NameError, PassiveEjection,
    PathPrefix, Pool, PoolId, Route, RoutingTable, TableError, TableVersion, Upstream, UpstreamId,
    VersionedTable,
};
