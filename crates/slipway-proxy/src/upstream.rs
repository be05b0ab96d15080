//! One upstream's live state: its keep-alive connections, its requests in flight, and whether it
//! may take new requests (active health and passive ejection).
//!
//! [`UpstreamState::send`] is the only way a request reaches an upstream. It tells apart a
//! request that provably never reached the upstream ([`SendError::NotSent`], handed back so the
//! caller may retry it elsewhere) from one that may have (never retried). The connection pool
//! is the upstream's own, so removing an upstream from the table closes its idle connections, and
//! a new process that later gets the same port never inherits a connection to the old one.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::table::{BackendId, PassiveEjection, PoolId, UpstreamId};
use crate::worker::PerWorker;

/// The body of a request to an upstream: a client's body, or nothing (health checks).
pub(crate) type UpstreamBody = Either<Incoming, Empty<Bytes>>;

/// At most this many idle connections are kept per upstream; more are closed when returned.
const MAX_IDLE_PER_UPSTREAM: usize = 512;

/// Identifies an upstream across table versions: the same id, pool, backend and address keep
/// their state (health, connections) from one apply to the next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UpstreamKey {
    pub(crate) backend: BackendId,
    pub(crate) pool: PoolId,
    pub(crate) upstream: UpstreamId,
    pub(crate) addr: SocketAddr,
}

/// Settings that apply to every upstream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    /// Worker threads; each has its own idle connections, plus one set for other threads.
    pub(crate) workers: usize,
}

/// Why a request got no response.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection could be made, or the connection closed before the request was written:
    /// the upstream never saw the request, so it is handed back.
    NotSent {
        request: Box<Request<UpstreamBody>>,
        cause: String,
    },
    /// The connection failed after the request was (maybe partly) sent.
    Failed(hyper::Error),
}

/// Milliseconds on a monotonic clock, for ejection deadlines kept in atomics. Starts at 1 so
/// that 0 can mean "not ejected".
pub(crate) fn now_millis() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// One upstream's live state.
#[derive(Debug)]
pub(crate) struct UpstreamState {
    pub(crate) key: UpstreamKey,
    settings: UpstreamSettings,
    /// Idle connections per worker thread (see `worker`): a connection is reused on the thread
    /// that drives it.
    idle: PerWorker<Mutex<VecDeque<IdleConnection>>>,
    in_flight: AtomicUsize,
    became_idle: Notify,
    /// False while active health checks say the upstream is down.
    active_healthy: AtomicBool,
    consecutive_failures: AtomicU32,
    /// `now_millis()` until which passive ejection keeps requests away; 0 when not ejected.
    ejected_until: AtomicU64,
    /// What the last failed health check said.
    last_check_error: Mutex<Option<String>>,
    /// Cancelled when the upstream has left the table and its drain time is over: upgraded
    /// connections (WebSockets) to it are closed then.
    pub(crate) retired: CancellationToken,
}

#[derive(Debug)]
struct IdleConnection {
    sender: http1::SendRequest<UpstreamBody>,
    since: Instant,
}

impl UpstreamState {
    pub(crate) fn new(key: UpstreamKey, settings: UpstreamSettings) -> UpstreamState {
        UpstreamState {
            key,
            settings,
            idle: PerWorker::new(settings.workers),
            in_flight: AtomicUsize::new(0),
            became_idle: Notify::new(),
            active_healthy: AtomicBool::new(true),
            consecutive_failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            last_check_error: Mutex::new(None),
            retired: CancellationToken::new(),
        }
    }

    /// Whether new requests may go here at `now` (from [`now_millis`]).
    pub(crate) fn is_available(&self, now: u64) -> bool {
        self.active_healthy.load(Ordering::Relaxed)
            && self.ejected_until.load(Ordering::Relaxed) <= now
    }

    pub(crate) fn is_actively_healthy(&self) -> bool {
        self.active_healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn is_ejected(&self, now: u64) -> bool {
        self.ejected_until.load(Ordering::Relaxed) > now
    }

    pub(crate) fn set_actively_healthy(&self, healthy: bool) {
        self.active_healthy.store(healthy, Ordering::Relaxed);
    }

    pub(crate) fn set_last_check_error(&self, error: Option<String>) {
        *self
            .last_check_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = error;
    }

    pub(crate) fn last_check_error(&self) -> Option<String> {
        self.last_check_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// A connection to the upstream failed; enough in a row eject it.
    pub(crate) fn record_connection_failure(&self, ejection: &PassiveEjection) {
        let failures = self
            .consecutive_failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if failures >= ejection.consecutive_failures {
            let for_millis = u64::try_from(ejection.eject_for.as_millis()).unwrap_or(u64::MAX);
            self.ejected_until
                .store(now_millis().saturating_add(for_millis), Ordering::Relaxed);
            tracing::warn!(
                upstream = %self.key.upstream, addr = %self.key.addr, failures,
                "ejecting upstream for {}", humantime::format_duration(ejection.eject_for)
            );
        }
    }

    /// The upstream answered: it is reachable again.
    pub(crate) fn record_success(&self) {
        // A load before the store keeps the cache line shared on the hot path.
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a request in flight until the returned guard drops.
    pub(crate) fn begin(self: &Arc<UpstreamState>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Resolves once no request is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.became_idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a wake-up between the two is not lost.
            notified.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Sends `request` on a pooled connection, or a new one. Pooled connections that turn out
    /// closed are skipped; each is tried once, so this ends.
    pub(crate) async fn send(
        self: &Arc<UpstreamState>,
        mut request: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, Lease), SendError> {
        // HTTP/1.1 requires a Host; an HTTP/1.0 client may have sent none.
        if !request.headers().contains_key(header::HOST)
            && let Ok(host) = HeaderValue::from_str(&self.key.addr.to_string())
        {
            request.headers_mut().insert(header::HOST, host);
        }
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(sender) => (sender, true),
                None => match self.connect().await {
                    Ok(sender) => (sender, false),
                    Err(cause) => {
                        return Err(SendError::NotSent {
                            request: Box::new(request),
                            cause,
                        });
                    }
                },
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    return Ok((
                        response,
                        Lease {
                            sender,
                            upstream: Arc::clone(self),
                        },
                    ));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => request = unsent,
                    Some(unsent) => {
                        let cause = error.into_error().to_string();
                        return Err(SendError::NotSent {
                            request: Box::new(unsent),
                            cause,
                        });
                    }
                    None => return Err(SendError::Failed(error.into_error())),
                },
            }
        }
    }

    /// The most recently used idle connection that is still open and fresh.
    fn checkout(&self) -> Option<http1::SendRequest<UpstreamBody>> {
        let mut idle = self
            .idle
            .here()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while let Some(connection) = idle.pop_back() {
            if connection.since.elapsed() < self.settings.idle_timeout
                && !connection.sender.is_closed()
                && connection.sender.is_ready()
            {
                return Some(connection.sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<http1::SendRequest<UpstreamBody>, String> {
        let addr = self.key.addr;
        let stream =
            match tokio::time::timeout(self.settings.connect_timeout, TcpStream::connect(addr))
                .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => return Err(format!("connecting to {addr}: {error}")),
                Err(_) => {
                    return Err(format!(
                        "connecting to {addr}: no answer within {}",
                        humantime::format_duration(self.settings.connect_timeout)
                    ));
                }
            };
        // Small requests and responses must not wait for Nagle's algorithm.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%addr, %error, "could not set TCP_NODELAY");
        }
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|error| format!("starting HTTP/1.1 with {addr}: {error}"))?;
        tokio::spawn(async move {
            // Upgrades are enabled on every connection so a 101 answer can hand it to a tunnel.
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%addr, %error, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    fn put_idle(&self, sender: http1::SendRequest<UpstreamBody>) {
        let mut idle = self
            .idle
            .here()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The oldest sit at the front: drop the expired ones so a quiet upstream holds nothing.
        while idle
            .front()
            .is_some_and(|connection| connection.since.elapsed() >= self.settings.idle_timeout)
        {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE_PER_UPSTREAM {
            idle.push_back(IdleConnection {
                sender,
                since: Instant::now(),
            });
        }
    }
}

/// The connection a response arrived on. [`Lease::release`] returns it to the pool once the
/// response body has been read whole; dropping the lease instead closes the connection after
/// the response (a body abandoned halfway leaves the connection in no state to reuse).
#[derive(Debug)]
pub(crate) struct Lease {
    sender: http1::SendRequest<UpstreamBody>,
    upstream: Arc<UpstreamState>,
}

impl Lease {
    /// The response body was read whole: the connection may carry another request once hyper
    /// has finished with this one, which is almost always already the case.
    pub(crate) fn release(self) {
        let Lease {
            mut sender,
            upstream,
        } = self;
        if sender.is_ready() {
            upstream.put_idle(sender);
            return;
        }
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                upstream.put_idle(sender);
            }
        });
    }
}

/// A request in flight to an upstream; dropping it ends the request.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<UpstreamState>);

impl InFlight {
    /// The upstream the request is in flight to.
    pub(crate) fn upstream(&self) -> &Arc<UpstreamState> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.became_idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Arc<UpstreamState> {
        let key = UpstreamKey {
            backend: BackendId::new("b").unwrap(),
            pool: PoolId::new("p").unwrap(),
            upstream: UpstreamId::new("u").unwrap(),
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

    #[test]
    fn enough_consecutive_failures_eject_and_a_success_resets_the_count() {
        let upstream = state();
        let ejection = PassiveEjection {
            consecutive_failures: 2,
            eject_for: Duration::from_secs(60),
        };
        upstream.record_connection_failure(&ejection);
        upstream.record_success();
        upstream.record_connection_failure(&ejection);
        assert!(
            upstream.is_available(now_millis()),
            "one failure after a success must not eject"
        );
        upstream.record_connection_failure(&ejection);
        assert!(!upstream.is_available(now_millis()));
        assert!(
            upstream.is_available(now_millis() + 61_000),
            "ejection ends after eject_for"
        );
    }

    #[tokio::test]
    async fn idle_resolves_when_the_last_request_ends() {
        let upstream = state();
        let first = upstream.begin();
        let second = upstream.begin();
        assert_eq!(upstream.in_flight(), 2);
        let waiter = tokio::spawn({
            let upstream = Arc::clone(&upstream);
            async move { upstream.idle().await }
        });
        drop(first);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
