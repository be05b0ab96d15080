//! Worker threads: each runs its own single-threaded tokio runtime and serves the client
//! connections handed to it end to end, as nginx's worker processes and Envoy's worker threads do.
//!
//! A request's client connection, the upstream connection it is sent on and the task returning
//! that connection to the pool all live on one thread, so a request never waits for another
//! thread to be woken: on a busy machine that wait, not the work, is what limits a proxy. One
//! acceptor (on the caller's runtime) hands accepted connections to the workers in turn; the
//! listening socket stays exclusive, so a second proxy on the same address fails to start
//! instead of silently sharing the port. Upstream connection pools are kept per worker (see
//! [`current`]), so a pooled connection is reused on the thread that drives it.

use std::cell::Cell;
use std::sync::Arc;

use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::forward::ClientConnection;
use crate::proxy::Shared;
use crate::server;

thread_local! {
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the worker thread running the caller, or `None` off the workers (the control
/// API and health checks run on the caller's runtime).
pub(crate) fn current() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// One `T` per worker thread, plus one for every other thread, each on cache lines of its own:
/// counters a worker updates on every request stay in its core's cache instead of bouncing
/// between cores.
#[derive(Debug)]
pub(crate) struct PerWorker<T> {
    slots: Box<[Padded<T>]>,
}

/// 128 bytes: a cache line, and the pair of lines adjacent-line prefetching pulls in together.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T: Default> PerWorker<T> {
    pub(crate) fn new(workers: usize) -> PerWorker<T> {
        PerWorker {
            slots: (0..=workers).map(|_| Padded::default()).collect(),
        }
    }
}

impl<T> PerWorker<T> {
    /// The calling thread's slot.
    pub(crate) fn here(&self) -> &T {
        let others = self.slots.len() - 1;
        &self.slots[current().map_or(others, |index| index.min(others))].0
    }

    /// Every slot, to add them up.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().map(|slot| &slot.0)
    }
}

/// An accepted connection on its way to a worker.
#[derive(Debug)]
pub(crate) struct Handoff {
    pub(crate) stream: std::net::TcpStream,
    pub(crate) connection: Arc<ClientConnection>,
}

/// Where the acceptor hands connections.
pub(crate) type Queue = mpsc::UnboundedSender<Handoff>;

/// Starts `count` worker threads; returns their queues and the threads, to join at shutdown.
pub(crate) fn start(
    count: usize,
    builder: Arc<auto::Builder<TokioExecutor>>,
    shared: &Arc<Shared>,
) -> std::io::Result<(Vec<Queue>, Vec<std::thread::JoinHandle<()>>)> {
    let mut queues = Vec::with_capacity(count);
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (queue, handoffs) = mpsc::unbounded_channel();
        let shared = Arc::clone(shared);
        let builder = Arc::clone(&builder);
        let thread = std::thread::Builder::new()
            .name(format!("slipway-proxy-{index}"))
            .spawn(move || run(index, &runtime, handoffs, &shared, &builder))?;
        queues.push(queue);
        threads.push(thread);
    }
    Ok((queues, threads))
}

/// Serves what the acceptor hands over until the proxy closes; dropping the runtime then drops
/// the connections left.
fn run(
    index: usize,
    runtime: &tokio::runtime::Runtime,
    mut handoffs: mpsc::UnboundedReceiver<Handoff>,
    shared: &Arc<Shared>,
    builder: &Arc<auto::Builder<TokioExecutor>>,
) {
    WORKER.with(|worker| worker.set(Some(index)));
    runtime.block_on(async {
        let signals = shared.signals().child();
        loop {
            let handoff = tokio::select! {
                handoff = handoffs.recv() => handoff,
                () = signals.closing.cancelled() => return,
            };
            // The acceptor stopped: let the connections finish until the proxy closes.
            let Some(handoff) = handoff else { break };
            match TcpStream::from_std(handoff.stream) {
                Ok(stream) => {
                    tokio::spawn(server::serve_connection(
                        Arc::clone(builder),
                        stream,
                        handoff.connection,
                        Arc::clone(shared),
                        signals.clone(),
                    ));
                }
                Err(error) => tracing::warn!(%error, "a worker could not take a connection"),
            }
        }
        signals.closing.cancelled().await;
    });
}
