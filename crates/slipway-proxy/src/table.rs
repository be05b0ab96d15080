//! The routing table: what the proxy serves, as data.
//!
//! A [`RoutingTable`] holds [`Backend`]s (a named set of weighted [`Pool`]s of [`Upstream`]s, with
//! their health checks) and [`Route`]s (a host pattern and a path prefix pointing at a backend).
//! Routes and backends are separate so that one backend can answer on several names — a public
//! host and its internal `NAME.internal` name — with one set of health checks and one set of
//! metrics.
//!
//! A `RoutingTable` is valid by construction: [`RoutingTable::new`], [`RoutingTable::from_json`]
//! and deserialization all check the whole table (unique ids, routes pointing at declared
//! backends, weights, thresholds, limits), so [`crate::Proxy::apply`] never sees a broken one.
//! Ids are opaque to the proxy: the deploy controller names backends after an environment and a
//! service (`staging/orders`) and pools after releases, and the proxy only echoes them back in
//! metrics and health reports.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a routing table was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The JSON text does not describe a routing table.
    #[error("routing table, line {line} column {column}, at `{path}`: {message}")]
    Json {
        /// The key path of the offending value, such as `backends[0].pools[1].weight`.
        path: String,
        /// The line of the offending value (1-based).
        line: usize,
        /// The column of the offending value (1-based).
        column: usize,
        /// What was wrong with it.
        message: String,
    },
    /// The table parses but breaks a rule: a duplicate id, a route to an unknown backend, a zero
    /// threshold, too many entries.
    #[error("routing table, at `{path}`: {problem}")]
    Invalid {
        /// The key path of the offending value, such as `routes[2].backend`.
        path: String,
        /// What is wrong, naming the value.
        problem: String,
    },
}

/// Why a name (an id, a host pattern, a path prefix) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{value}` is not valid: {reason}")]
pub struct NameError {
    /// What the name was meant to be, such as "backend id".
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// Which rule it breaks.
    pub reason: &'static str,
}

/// At most this many routes, backends, pools per backend and upstreams per pool: a table is
/// written by a controller, and a bound keeps a runaway one from exhausting the proxy.
pub const MAX_ROUTES: usize = 4096;
/// See [`MAX_ROUTES`].
pub const MAX_BACKENDS: usize = 4096;
/// See [`MAX_ROUTES`].
pub const MAX_POOLS_PER_BACKEND: usize = 64;
/// See [`MAX_ROUTES`].
pub const MAX_UPSTREAMS_PER_POOL: usize = 1024;

/// The longest id accepted.
const MAX_ID_LEN: usize = 128;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        ///
        /// 1 to 128 characters from `A-Z a-z 0-9 . _ - : / @ +`, so that it is safe in a metrics
        /// label, a log line and a URL.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the id rules.
            pub fn new(value: impl Into<String>) -> Result<$name, NameError> {
                let value = value.into();
                check_id($what, &value)?;
                Ok($name(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<$name, NameError> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(text: &str) -> Result<$name, NameError> {
                $name::new(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// Names a [`Backend`]: a service in an environment, such as `staging/orders`.
    BackendId,
    "backend id"
);
opaque_id!(
    /// Names a [`Pool`] within its backend: a release, such as `r42`.
    PoolId,
    "pool id"
);
opaque_id!(
    /// Names an [`Upstream`] within its pool: a replica, such as `r42-1`.
    UpstreamId,
    "upstream id"
);

fn check_id(what: &'static str, value: &str) -> Result<(), NameError> {
    let reject = |reason| {
        Err(NameError {
            what,
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return reject("it is empty");
    }
    if value.len() > MAX_ID_LEN {
        return reject("it is longer than 128 characters");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-:/@+".contains(c);
    if !value.chars().all(allowed) {
        return reject("only A-Z a-z 0-9 and . _ - : / @ + are allowed");
    }
    Ok(())
}

/// Which hosts a route answers: one exact name (`orders.example.com`), or every name under a
/// domain (`*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`).
///
/// Names are compared without case, without a port and without a trailing dot, as DNS does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern {
    /// The lower-case name, or for a wildcard the suffix after `*` (starting with `.`).
    name: String,
    wildcard: bool,
}

impl HostPattern {
    /// Parses `exact.name` or `*.domain`.
    pub fn new(text: &str) -> Result<HostPattern, NameError> {
        let reject = |reason| {
            Err(NameError {
                what: "host pattern",
                value: text.to_owned(),
                reason,
            })
        };
        let lower = text.trim_end_matches('.').to_ascii_lowercase();
        let (wildcard, name) = match lower.strip_prefix("*.") {
            Some(domain) => (true, domain),
            None if lower.contains('*') => {
                return reject("`*` is only allowed as a whole first label: `*.example.com`");
            }
            None => (false, lower.as_str()),
        };
        if name.is_empty() {
            return reject("it names no host; leave `host` out to match every host");
        }
        if name.len() > 253 {
            return reject("a host name has at most 253 characters");
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !name.split('.').all(label_ok) {
            return reject(
                "labels are 1 to 63 characters from a-z 0-9 - _, separated by dots (no port)",
            );
        }
        let name = if wildcard {
            format!(".{name}")
        } else {
            name.to_owned()
        };
        Ok(HostPattern { name, wildcard })
    }

    /// Whether this is a `*.domain` pattern.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// Whether `host` (already normalized: lower case, no port, no trailing dot) matches.
    pub fn matches(&self, host: &str) -> bool {
        if self.wildcard {
            host.len() > self.name.len() && host.ends_with(&self.name)
        } else {
            host == self.name
        }
    }

    /// The exact name, or for a wildcard the suffix it matches (`.example.com`).
    pub(crate) fn key(&self) -> &str {
        &self.name
    }
}

impl TryFrom<String> for HostPattern {
    type Error = NameError;
    fn try_from(text: String) -> Result<HostPattern, NameError> {
        HostPattern::new(&text)
    }
}

impl From<HostPattern> for String {
    fn from(pattern: HostPattern) -> String {
        pattern.to_string()
    }
}

impl FromStr for HostPattern {
    type Err = NameError;
    fn from_str(text: &str) -> Result<HostPattern, NameError> {
        HostPattern::new(text)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*{}", self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

/// The start of the paths a route answers, matched whole segment by whole segment: `/api` matches
/// `/api`, `/api/` and `/api/orders`, not `/apis`. `/` matches every path. Paths are compared as
/// sent, without percent-decoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathPrefix(String);

impl PathPrefix {
    /// Parses a prefix: it starts with `/` and holds no query, fragment, space or control character.
    pub fn new(text: &str) -> Result<PathPrefix, NameError> {
        check_path("path prefix", text, false)?;
        Ok(PathPrefix(text.to_owned()))
    }

    /// The prefix that matches every path.
    pub fn root() -> PathPrefix {
        PathPrefix("/".to_owned())
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `path` starts with this prefix at a segment boundary.
    pub fn matches(&self, path: &str) -> bool {
        let prefix = self.0.as_str();
        match path.strip_prefix(prefix) {
            Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

impl Default for PathPrefix {
    fn default() -> PathPrefix {
        PathPrefix::root()
    }
}

impl TryFrom<String> for PathPrefix {
    type Error = NameError;
    fn try_from(text: String) -> Result<PathPrefix, NameError> {
        PathPrefix::new(&text)
    }
}

impl From<PathPrefix> for String {
    fn from(prefix: PathPrefix) -> String {
        prefix.0
    }
}

impl FromStr for PathPrefix {
    type Err = NameError;
    fn from_str(text: &str) -> Result<PathPrefix, NameError> {
        PathPrefix::new(text)
    }
}

impl fmt::Display for PathPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a request path (`allow_query`: with an optional `?query`, as a health check sends).
fn check_path(what: &'static str, text: &str, allow_query: bool) -> Result<(), NameError> {
    let reject = |reason| {
        Err(NameError {
            what,
            value: text.to_owned(),
            reason,
        })
    };
    if !text.starts_with('/') {
        return reject("it must start with `/`");
    }
    if text.len() > 1024 {
        return reject("it is longer than 1024 characters");
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii() || c == '#')
    {
        return reject("spaces, control characters, `#` and non-ASCII characters are not allowed");
    }
    if !allow_query && text.contains('?') {
        return reject("a prefix matches paths, not queries: leave the `?` part out");
    }
    Ok(())
}

/// Where requests for a host and path go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The hosts this route answers; `None` answers every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostPattern>,
    /// The paths this route answers.
    #[serde(default)]
    pub path_prefix: PathPrefix,
    /// The backend that serves them.
    pub backend: BackendId,
}

/// A service as the proxy sees it: weighted pools of upstreams, how to balance within a pool, and
/// how to tell a broken upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The backend's name, unique in the table.
    pub id: BackendId,
    /// The pools sharing the traffic, by weight. No pool (or none with a healthy upstream)
    /// means the backend answers 503.
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// How a request picks an upstream inside the chosen pool.
    #[serde(default)]
    pub balance: Balance,
    /// Probes sent to every upstream; `None` trusts upstreams until connections to them fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<ActiveHealthCheck>,
    /// When to stop sending to an upstream whose connections keep failing.
    #[serde(default)]
    pub passive_ejection: PassiveEjection,
}

impl Backend {
    /// A backend with these pools, least-requests balancing, no active health check and the
    /// default passive ejection.
    pub fn new(id: BackendId, pools: Vec<Pool>) -> Backend {
        Backend {
            id,
            pools,
            balance: Balance::default(),
            health_check: None,
            passive_ejection: PassiveEjection::default(),
        }
    }
}

/// A set of interchangeable upstreams (the replicas of one release) and its share of the
/// backend's traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// The pool's name, unique in its backend.
    pub id: PoolId,
    /// The pool's share: a request goes to this pool with probability weight / (sum of the
    /// weights of the backend's pools that have a healthy upstream). Zero keeps the pool warm
    /// and health-checked but sends it nothing.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The replicas.
    pub upstreams: Vec<Upstream>,
}

fn default_weight() -> u32 {
    1
}

/// One replica: a process or container listening for HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// The replica's name, unique in its pool.
    pub id: UpstreamId,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// How a request picks an upstream inside a pool (among the healthy ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each in turn.
    RoundRobin,
    /// The one with the fewest requests in flight; ties go round-robin. Slow replicas get less.
    #[default]
    LeastRequests,
}

/// Active health checking: `GET path` to every upstream of the backend every `interval`.
///
/// A check passes on a 2xx answer within `timeout`. An upstream turns unhealthy after
/// `unhealthy_threshold` failed checks in a row and healthy again after `healthy_threshold`
/// passed ones. A new upstream starts healthy: the deploy controller adds only replicas it has
/// seen healthy, and starting them unhealthy would turn a switch into 503s until the first check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveHealthCheck {
    /// The path (and optional query) to request, such as `/healthz`.
    pub path: String,
    /// Time between checks, such as `"2s"`.
    #[serde(with = "human_duration", default = "default_interval")]
    pub interval: Duration,
    /// How long a check may take, at most `interval`.
    #[serde(with = "human_duration", default = "default_timeout")]
    pub timeout: Duration,
    /// Passed checks in a row that make an unhealthy upstream healthy.
    #[serde(default = "default_healthy_threshold")]
    pub healthy_threshold: u32,
    /// Failed checks in a row that make a healthy upstream unhealthy.
    #[serde(default = "default_unhealthy_threshold")]
    pub unhealthy_threshold: u32,
}

impl ActiveHealthCheck {
    /// A check of `path` every 2 s with a 1 s timeout, 2 passes to recover and 3 failures to fail.
    pub fn new(path: impl Into<String>) -> ActiveHealthCheck {
        ActiveHealthCheck {
            path: path.into(),
            interval: default_interval(),
            timeout: default_timeout(),
            healthy_threshold: default_healthy_threshold(),
            unhealthy_threshold: default_unhealthy_threshold(),
        }
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(2)
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_healthy_threshold() -> u32 {
    2
}
fn default_unhealthy_threshold() -> u32 {
    3
}

/// Passive ejection: after `consecutive_failures` failed connections in a row (refused, reset,
/// timed out; HTTP error statuses do not count), the upstream gets no requests for `eject_for`.
/// One more failure after it returns ejects it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveEjection {
    /// Failed connections in a row that eject the upstream (at least 1).
    pub consecutive_failures: u32,
    /// How long an ejected upstream gets nothing, such as `"10s"`.
    #[serde(with = "human_duration")]
    pub eject_for: Duration,
}

impl Default for PassiveEjection {
    /// 3 failures in a row eject for 10 s.
    fn default() -> PassiveEjection {
        PassiveEjection {
            consecutive_failures: 3,
            eject_for: Duration::from_secs(10),
        }
    }
}

/// The number of a routing table, counting applies since the state file was created (or since
/// the proxy started, without one). Versions only grow.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TableVersion(u64);

impl TableVersion {
    /// The version of the empty table a proxy starts with when nothing was saved.
    pub const INITIAL: TableVersion = TableVersion(0);

    /// A version by number, as the control API reports it.
    pub fn new(number: u64) -> TableVersion {
        TableVersion(number)
    }

    /// The version as a number.
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn next(self) -> TableVersion {
        TableVersion(self.0.saturating_add(1))
    }
}

impl fmt::Display for TableVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A routing table with the version the proxy gave it: what `GET /routes` answers and what the
/// state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionedTable {
    /// The table's version.
    pub version: TableVersion,
    /// The table.
    pub table: RoutingTable,
}

/// The whole of what the proxy serves; valid by construction (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTable", into = "RawTable")]
pub struct RoutingTable {
    backends: Vec<Backend>,
    routes: Vec<Route>,
}

/// The serialized form, checked by [`RoutingTable::new`] on the way in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    backends: Vec<Backend>,
    #[serde(default)]
    routes: Vec<Route>,
}

impl TryFrom<RawTable> for RoutingTable {
    type Error = TableError;
    fn try_from(raw: RawTable) -> Result<RoutingTable, TableError> {
        RoutingTable::new(raw.backends, raw.routes)
    }
}

impl From<RoutingTable> for RawTable {
    fn from(table: RoutingTable) -> RawTable {
        RawTable {
            backends: table.backends,
            routes: table.routes,
        }
    }
}

impl RoutingTable {
    /// Checks a table: unique backend ids, pool ids within a backend and upstream ids within a
    /// pool; no two routes with the same host and prefix; every route's backend declared; weights
    /// not all zero; health check and ejection settings usable; the size limits.
    pub fn new(backends: Vec<Backend>, routes: Vec<Route>) -> Result<RoutingTable, TableError> {
        check_len("backends", backends.len(), MAX_BACKENDS)?;
        check_len("routes", routes.len(), MAX_ROUTES)?;
        let mut backend_ids = HashSet::new();
        for (index, backend) in backends.iter().enumerate() {
            let path = format!("backends[{index}]");
            if !backend_ids.insert(&backend.id) {
                return Err(invalid(
                    format!("{path}.id"),
                    format!("backend `{}` is declared twice", backend.id),
                ));
            }
            check_backend(&path, backend)?;
        }
        let mut matches = HashSet::new();
        for (index, route) in routes.iter().enumerate() {
            if !backend_ids.contains(&route.backend) {
                return Err(invalid(
                    format!("routes[{index}].backend"),
                    format!(
                        "backend `{}` is not declared under `backends`",
                        route.backend
                    ),
                ));
            }
            if !matches.insert((&route.host, &route.path_prefix)) {
                let host = route
                    .host
                    .as_ref()
                    .map_or_else(|| "any host".to_owned(), |host| format!("host `{host}`"));
                return Err(invalid(
                    format!("routes[{index}]"),
                    format!(
                        "another route already answers {host} with prefix `{}`",
                        route.path_prefix
                    ),
                ));
            }
        }
        Ok(RoutingTable { backends, routes })
    }

    /// The table that routes nothing: every request answers 404.
    pub fn empty() -> RoutingTable {
        RoutingTable::default()
    }

    /// Parses and checks a table from JSON, reporting the line, column and key path of a problem.
    pub fn from_json(text: &str) -> Result<RoutingTable, TableError> {
        let json_error = |path: String, error: serde_json::Error| TableError::Json {
            path,
            line: error.line(),
            column: error.column(),
            message: json_message(&error),
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let raw: RawTable =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let path = error.path().to_string();
                json_error(path, error.into_inner())
            })?;
        deserializer
            .end()
            .map_err(|error| json_error(".".to_owned(), error))?;
        RoutingTable::new(raw.backends, raw.routes)
    }

    /// The table as pretty JSON, as [`RoutingTable::from_json`] reads it.
    pub fn to_json_pretty(&self) -> String {
        // A table holds only strings, numbers and addresses: encoding cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The backends, in the order given.
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// The routes, in the order given (the order does not affect matching).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The backend named `id`.
    pub fn backend(&self, id: &BackendId) -> Option<&Backend> {
        self.backends.iter().find(|backend| &backend.id == id)
    }

    /// A copy with `backend` added, or replacing the backend with its id (routes unchanged).
    pub fn with_backend(&self, backend: Backend) -> Result<RoutingTable, TableError> {
        let mut backends = self.backends.clone();
        match backends
            .iter_mut()
            .find(|existing| existing.id == backend.id)
        {
            Some(existing) => *existing = backend,
            None => backends.push(backend),
        }
        RoutingTable::new(backends, self.routes.clone())
    }

    /// A copy with `route` added, or replacing the route with the same host and prefix.
    pub fn with_route(&self, route: Route) -> Result<RoutingTable, TableError> {
        let mut routes = self.routes.clone();
        match routes.iter_mut().find(|existing| {
            existing.host == route.host && existing.path_prefix == route.path_prefix
        }) {
            Some(existing) => *existing = route,
            None => routes.push(route),
        }
        RoutingTable::new(self.backends.clone(), routes)
    }

    /// A copy without the backend named `id` and without the routes pointing at it.
    pub fn without_backend(&self, id: &BackendId) -> RoutingTable {
        RoutingTable {
            backends: self
                .backends
                .iter()
                .filter(|backend| &backend.id != id)
                .cloned()
                .collect(),
            routes: self
                .routes
                .iter()
                .filter(|route| &route.backend != id)
                .cloned()
                .collect(),
        }
    }

    /// The backends and routes, for building a changed table.
    pub fn into_parts(self) -> (Vec<Backend>, Vec<Route>) {
        (self.backends, self.routes)
    }
}

fn check_backend(path: &str, backend: &Backend) -> Result<(), TableError> {
    check_len(
        &format!("{path}.pools"),
        backend.pools.len(),
        MAX_POOLS_PER_BACKEND,
    )?;
    let mut pool_ids = HashSet::new();
    for (index, pool) in backend.pools.iter().enumerate() {
        let pool_path = format!("{path}.pools[{index}]");
        if !pool_ids.insert(&pool.id) {
            return Err(invalid(
                format!("{pool_path}.id"),
                format!("pool `{}` appears twice in `{}`", pool.id, backend.id),
            ));
        }
        check_len(
            &format!("{pool_path}.upstreams"),
            pool.upstreams.len(),
            MAX_UPSTREAMS_PER_POOL,
        )?;
        let mut upstream_ids = HashSet::new();
        for (upstream_index, upstream) in pool.upstreams.iter().enumerate() {
            if !upstream_ids.insert(&upstream.id) {
                return Err(invalid(
                    format!("{pool_path}.upstreams[{upstream_index}].id"),
                    format!(
                        "upstream `{}` appears twice in pool `{}`",
                        upstream.id, pool.id
                    ),
                ));
            }
        }
    }
    if !backend.pools.is_empty() && backend.pools.iter().all(|pool| pool.weight == 0) {
        return Err(invalid(
            format!("{path}.pools"),
            format!(
                "every pool of `{}` has weight 0; give one a weight, or leave `pools` empty to answer 503",
                backend.id
            ),
        ));
    }
    if let Some(check) = &backend.health_check {
        check_health(&format!("{path}.health_check"), check)?;
    }
    if backend.passive_ejection.consecutive_failures == 0 {
        return Err(invalid(
            format!("{path}.passive_ejection.consecutive_failures"),
            "must be at least 1".to_owned(),
        ));
    }
    Ok(())
}

fn check_health(path: &str, check: &ActiveHealthCheck) -> Result<(), TableError> {
    check_path("health check path", &check.path, true)
        .map_err(|error| invalid(format!("{path}.path"), error.to_string()))?;
    if check.interval < Duration::from_millis(10) {
        return Err(invalid(
            format!("{path}.interval"),
            "must be at least 10ms".to_owned(),
        ));
    }
    if check.timeout.is_zero() || check.timeout > check.interval {
        return Err(invalid(
            format!("{path}.timeout"),
            format!(
                "{} must be more than zero and at most the interval ({})",
                humantime::format_duration(check.timeout),
                humantime::format_duration(check.interval)
            ),
        ));
    }
    for (key, value) in [
        ("healthy_threshold", check.healthy_threshold),
        ("unhealthy_threshold", check.unhealthy_threshold),
    ] {
        if value == 0 {
            return Err(invalid(
                format!("{path}.{key}"),
                "must be at least 1".to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_len(path: &str, len: usize, max: usize) -> Result<(), TableError> {
    if len > max {
        return Err(invalid(
            path.to_owned(),
            format!("{len} entries; at most {max} are allowed"),
        ));
    }
    Ok(())
}

fn invalid(path: String, problem: String) -> TableError {
    TableError::Invalid { path, problem }
}

/// serde_json's message without its own " at line L column C" suffix, which the error repeats.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Durations as people write them (`"500ms"`, `"2s"`, `"1m 30s"`), via humantime.
pub(crate) mod human_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|error| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration such as \"2s\": {error}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(id: &str, pools: &[(&str, u32, &[u16])]) -> Backend {
        let pools = pools
            .iter()
            .map(|(pool, weight, ports)| Pool {
                id: PoolId::new(*pool).unwrap(),
                weight: *weight,
                upstreams: ports
                    .iter()
                    .map(|port| Upstream {
                        id: UpstreamId::new(format!("{pool}-{port}")).unwrap(),
                        addr: SocketAddr::from(([127, 0, 0, 1], *port)),
                    })
                    .collect(),
            })
            .collect();
        Backend::new(BackendId::new(id).unwrap(), pools)
    }

    fn route(host: Option<&str>, prefix: &str, backend: &str) -> Route {
        Route {
            host: host.map(|host| HostPattern::new(host).unwrap()),
            path_prefix: PathPrefix::new(prefix).unwrap(),
            backend: BackendId::new(backend).unwrap(),
        }
    }

    #[test]
    fn host_patterns_match_exact_names_and_subdomains() {
        let exact = HostPattern::new("Orders.Example.com.").unwrap();
        assert_eq!(exact.to_string(), "orders.example.com");
        assert!(exact.matches("orders.example.com"));
        assert!(!exact.matches("x.orders.example.com"));
        let wildcard = HostPattern::new("*.example.com").unwrap();
        assert!(wildcard.matches("a.example.com"));
        assert!(wildcard.matches("a.b.example.com"));
        assert!(!wildcard.matches("example.com"));
        assert!(!wildcard.matches("badexample.com"));
        assert_eq!(wildcard.to_string(), "*.example.com");
    }

    #[test]
    fn bad_host_patterns_are_rejected_with_a_reason() {
        for text in ["", "*", "a.*.com", "host:8080", "a..b", "sp ace", "*."] {
            let error = HostPattern::new(text).unwrap_err();
            assert_eq!(error.value, text);
            assert!(!error.reason.is_empty());
        }
    }

    #[test]
    fn path_prefixes_match_whole_segments() {
        let api = PathPrefix::new("/api").unwrap();
        assert!(api.matches("/api"));
        assert!(api.matches("/api/"));
        assert!(api.matches("/api/orders"));
        assert!(!api.matches("/apis"));
        assert!(!api.matches("/"));
        let slash = PathPrefix::new("/api/").unwrap();
        assert!(slash.matches("/api/x"));
        assert!(!slash.matches("/api"));
        assert!(PathPrefix::root().matches("/anything"));
        assert!(PathPrefix::new("api").is_err());
        assert!(PathPrefix::new("/a?b").is_err());
    }

    #[test]
    fn ids_allow_release_and_service_names_only() {
        assert!(BackendId::new("staging/orders").is_ok());
        assert!(PoolId::new("r42+canary@2").is_ok());
        assert!(UpstreamId::new("").is_err());
        assert!(UpstreamId::new("a b").is_err());
        assert!(UpstreamId::new("x\"y").is_err());
        assert!(UpstreamId::new("x".repeat(129)).is_err());
    }

    #[test]
    fn a_route_to_an_undeclared_backend_is_rejected() {
        let error =
            RoutingTable::new(vec![backend("a", &[])], vec![route(None, "/", "b")]).unwrap_err();
        assert_eq!(
            error,
            TableError::Invalid {
                path: "routes[0].backend".into(),
                problem: "backend `b` is not declared under `backends`".into()
            }
        );
    }

    #[test]
    fn duplicates_are_rejected_where_they_are() {
        let twice =
            RoutingTable::new(vec![backend("a", &[]), backend("a", &[])], vec![]).unwrap_err();
        assert!(matches!(twice, TableError::Invalid { path, .. } if path == "backends[1].id"));
        let pools = RoutingTable::new(
            vec![backend("a", &[("p", 1, &[1]), ("p", 1, &[2])])],
            vec![],
        )
        .unwrap_err();
        assert!(
            matches!(pools, TableError::Invalid { path, .. } if path == "backends[0].pools[1].id")
        );
        let routes = RoutingTable::new(
            vec![backend("a", &[])],
            vec![
                route(Some("x.com"), "/a", "a"),
                route(Some("X.com"), "/a", "a"),
            ],
        )
        .unwrap_err();
        assert!(matches!(routes, TableError::Invalid { path, .. } if path == "routes[1]"));
    }

    #[test]
    fn all_zero_weights_are_rejected_but_no_pools_is_fine() {
        assert!(
            RoutingTable::new(
                vec![backend("a", &[("p", 0, &[1]), ("q", 0, &[2])])],
                vec![]
            )
            .is_err()
        );
        assert!(
            RoutingTable::new(
                vec![backend("a", &[("p", 0, &[1]), ("q", 1, &[2])])],
                vec![]
            )
            .is_ok()
        );
        assert!(RoutingTable::new(vec![backend("a", &[])], vec![]).is_ok());
    }

    #[test]
    fn health_check_settings_are_checked() {
        let mut bad = backend("a", &[]);
        let mut check = ActiveHealthCheck::new("/healthz");
        check.timeout = Duration::from_secs(5);
        bad.health_check = Some(check);
        let error = RoutingTable::new(vec![bad], vec![]).unwrap_err();
        assert!(
            matches!(error, TableError::Invalid { path, .. } if path == "backends[0].health_check.timeout")
        );
        let mut bad = backend("a", &[]);
        bad.health_check = Some(ActiveHealthCheck::new("healthz"));
        assert!(RoutingTable::new(vec![bad], vec![]).is_err());
    }

    #[test]
    fn json_errors_carry_line_column_and_key_path() {
        let text = "{\n  \"backends\": [{\"id\": \"a\", \"pools\": [{\"id\": \"p\", \"weight\": -1, \"upstreams\": []}]}]\n}";
        match RoutingTable::from_json(text).unwrap_err() {
            TableError::Json {
                path,
                line,
                column,
                message,
            } => {
                assert_eq!(path, "backends[0].pools[0].weight");
                assert_eq!(line, 2);
                assert!(column > 40, "column {column}");
                assert!(message.contains("-1"), "{message}");
            }
            other => panic!("expected a JSON error, got {other:?}"),
        }
        let unknown = RoutingTable::from_json(r#"{"routes": [], "extra": 1}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `extra`"),
            "{unknown}"
        );
        let trailing = RoutingTable::from_json("{} x").unwrap_err();
        assert!(matches!(trailing, TableError::Json { .. }), "{trailing:?}");
    }

    #[test]
    fn json_round_trips_with_human_durations() {
        let mut orders = backend(
            "staging/orders",
            &[("r1", 90, &[4001, 4002]), ("r2", 10, &[4003])],
        );
        orders.health_check = Some(ActiveHealthCheck::new("/healthz?deep=1"));
        let table = RoutingTable::new(
            vec![orders],
            vec![
                route(Some("*.example.com"), "/api", "staging/orders"),
                route(None, "/", "staging/orders"),
            ],
        )
        .unwrap();
        let text = table.to_json_pretty();
        assert!(text.contains("\"interval\": \"2s\""), "{text}");
        assert!(text.contains("\"balance\": \"least_requests\""), "{text}");
        assert_eq!(RoutingTable::from_json(&text).unwrap(), table);
    }

    #[test]
    fn defaults_keep_hand_written_tables_short() {
        let table = RoutingTable::from_json(
            r#"{"backends": [{"id": "web", "pools": [{"id": "v1", "upstreams": [{"id": "a", "addr": "127.0.0.1:3000"}]}]}],
                "routes": [{"backend": "web"}]}"#,
        )
        .unwrap();
        let web = &table.backends()[0];
        assert_eq!(web.pools[0].weight, 1);
        assert_eq!(web.balance, Balance::LeastRequests);
        assert_eq!(web.passive_ejection, PassiveEjection::default());
        assert_eq!(table.routes()[0].path_prefix, PathPrefix::root());
        assert_eq!(table.routes()[0].host, None);
    }

    #[test]
    fn editing_helpers_keep_the_table_valid() {
        let table = RoutingTable::new(
            vec![backend("a", &[("p", 1, &[1])])],
            vec![route(None, "/", "a")],
        )
        .unwrap();
        let replaced = table.with_backend(backend("a", &[("q", 1, &[2])])).unwrap();
        assert_eq!(replaced.backends().len(), 1);
        assert_eq!(replaced.backends()[0].pools[0].id.as_str(), "q");
        let added = replaced.with_backend(backend("b", &[])).unwrap();
        assert_eq!(added.backends().len(), 2);
        let rerouted = added.with_route(route(None, "/", "b")).unwrap();
        assert_eq!(rerouted.routes().len(), 1);
        assert_eq!(rerouted.routes()[0].backend.as_str(), "b");
        assert!(rerouted.with_route(route(None, "/x", "missing")).is_err());
        let removed = rerouted.without_backend(&BackendId::new("b").unwrap());
        assert!(removed.routes().is_empty());
        assert_eq!(removed.backends().len(), 1);
    }
}
