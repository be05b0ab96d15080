//! Real servers on 127.0.0.1 for the proxy to route to, a proxy started in a scratch directory,
//! an HTTP client, and a bounded load generator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_proxy::{
    Applied, Backend, BackendId, ControlEndpoint, Pool, PoolId, Proxy, ProxyConfig, Route,
    RoutingTable, Upstream, UpstreamId,
};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// Every wait in these tests ends by this.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// A small HTTP/1.1 server standing in for an application replica. Every answer names it.
///
/// Paths: `/` answers its name; `/healthz` answers the status set by [`TestUpstream::set_health`]
/// (not counted as a hit); `/headers` answers the request headers as JSON; `/echo` answers the
/// request body; `/status/NNN` answers that status; `/slow?ms=N` answers after N ms; `/fail`
/// closes the connection without answering; `/ws` with `Upgrade: echo` switches protocols and
/// echoes bytes.
pub(crate) struct TestUpstream {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    state: Arc<UpstreamState>,
    task: JoinHandle<()>,
}

struct UpstreamState {
    name: String,
    hits: AtomicUsize,
    connections: AtomicUsize,
    health: AtomicU16,
}

impl TestUpstream {
    pub(crate) async fn start(name: &str) -> TestUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(UpstreamState {
            name: name.to_owned(),
            hits: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            health: AtomicU16::new(200),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        TestUpstream {
            name: name.to_owned(),
            addr,
            state,
            task,
        }
    }

    /// Requests served, health checks excluded.
    pub(crate) fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Connections accepted.
    pub(crate) fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// What `/healthz` answers from now on.
    pub(crate) fn set_health(&self, status: u16) {
        self.state.health.store(status, Ordering::SeqCst);
    }

    /// This server as an upstream of a routing table.
    pub(crate) fn upstream(&self) -> Upstream {
        Upstream {
            id: UpstreamId::new(&self.name).unwrap(),
            addr: self.addr,
        }
    }

    /// Stops as a killed process does: every connection closes at once, answered or not.
    pub(crate) async fn kill(self) {
        self.task.abort();
        // Aborting drops the set of connection tasks, which aborts each of them.
        assert!(self.task.await.unwrap_err().is_cancelled());
    }
}

async fn serve(listener: TcpListener, state: Arc<UpstreamState>) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        state.connections.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = service_fn(move |request| respond(Arc::clone(&state), request));
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let _ = connection.await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn respond(
    state: Arc<UpstreamState>,
    mut request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path().to_owned();
    if path == "/healthz" {
        let status = StatusCode::from_u16(state.health.load(Ordering::SeqCst)).unwrap();
        return Ok(answer(status, "health"));
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    let response = match path.as_str() {
        "/fail" => return Err(std::io::Error::other("closing without an answer, as asked")),
        "/headers" => {
            let headers: BTreeMap<String, String> = request
                .headers()
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
                .collect();
            answer(StatusCode::OK, &serde_json::to_string(&headers).unwrap())
        }
        "/echo" => {
            let body = request
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?
                .to_bytes();
            Response::new(Full::new(body))
        }
        "/slow" => {
            let millis: u64 = request
                .uri()
                .query()
                .and_then(|query| query.strip_prefix("ms="))
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(millis)).await;
            answer(StatusCode::OK, &state.name)
        }
        "/ws" => {
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    let (mut reader, mut writer) = tokio::io::split(TokioIo::new(upgraded));
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                }
            });
            let mut response = answer(StatusCode::SWITCHING_PROTOCOLS, "");
            response
                .headers_mut()
                .insert(header::CONNECTION, "upgrade".parse().unwrap());
            response
                .headers_mut()
                .insert(header::UPGRADE, "echo".parse().unwrap());
            response
        }
        status if status.starts_with("/status/") => answer(
            StatusCode::from_u16(status["/status/".len()..].parse().unwrap()).unwrap(),
            &state.name,
        ),
        _ => answer(StatusCode::OK, &state.name),
    };
    Ok(response)
}

fn answer(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
}

/// A port nothing listens on: connecting to it is refused.
pub(crate) async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A proxy on 127.0.0.1 with its control socket in a scratch directory.
pub(crate) struct TestProxy {
    pub(crate) proxy: Proxy,
    pub(crate) dir: tempfile::TempDir,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl TestProxy {
    pub(crate) async fn start() -> TestProxy {
        TestProxy::start_with(|_| {}).await
    }

    /// A proxy whose configuration `adjust` changes first.
    pub(crate) async fn start_with(adjust: impl FnOnce(&mut ProxyConfig)) -> TestProxy {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ProxyConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            ControlEndpoint::unix(dir.path().join("control.sock")),
        );
        adjust(&mut config);
        let proxy = Proxy::start(config).await.unwrap();
        TestProxy {
            proxy,
            dir,
            http: http_client(),
        }
    }

    pub(crate) async fn apply(&self, table: RoutingTable) -> Applied {
        self.proxy.apply(table).await.unwrap()
    }

    /// `GET path` with `Host: host`.
    pub(crate) async fn get(&self, host: &str, path: &str) -> Answer {
        self.send(
            Request::get(path)
                .header(header::HOST, host)
                .body(Full::default())
                .unwrap(),
        )
        .await
    }

    /// Sends `request` to the proxy (its URI is a path; the proxy's address is added).
    pub(crate) async fn send(&self, mut request: Request<Full<Bytes>>) -> Answer {
        let uri = format!("http://{}{}", self.proxy.listen_addr(), request.uri());
        *request.uri_mut() = uri.parse().unwrap();
        let response = tokio::time::timeout(PATIENCE, self.http.request(request))
            .await
            .unwrap()
            .unwrap();
        read(response).await
    }
}

pub(crate) async fn read(response: Response<Incoming>) -> Answer {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub(crate) fn http_client() -> HttpClient<HttpConnector, Full<Bytes>> {
    HttpClient::builder(TokioExecutor::new()).build_http()
}

/// A pool of these upstreams.
pub(crate) fn pool(id: &str, weight: u32, upstreams: &[&TestUpstream]) -> Pool {
    Pool {
        id: PoolId::new(id).unwrap(),
        weight,
        upstreams: upstreams
            .iter()
            .map(|upstream| upstream.upstream())
            .collect(),
    }
}

/// A route; `host` `None` answers every host.
pub(crate) fn route(host: Option<&str>, prefix: &str, backend: &str) -> Route {
    Route {
        host: host.map(|host| host.parse().unwrap()),
        path_prefix: prefix.parse().unwrap(),
        backend: BackendId::new(backend).unwrap(),
    }
}

pub(crate) fn backend(id: &str, pools: Vec<Pool>) -> Backend {
    Backend::new(BackendId::new(id).unwrap(), pools)
}

/// One backend `web` with these pools, answering every host and path.
pub(crate) fn single(pools: Vec<Pool>) -> RoutingTable {
    RoutingTable::new(vec![backend("web", pools)], vec![route(None, "/", "web")]).unwrap()
}

/// Polls `condition` every 20 ms until it holds, failing after [`PATIENCE`].
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request of a load run: when it was sent, and the answering upstream's name or what
/// went wrong.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) sent: Instant,
    pub(crate) result: Result<String, String>,
}

/// Requests at a steady rate through the proxy until stopped (or `limit` passes), as many in
/// flight as needed, at most 256.
pub(crate) struct Load {
    stop: CancellationToken,
    task: JoinHandle<Vec<Outcome>>,
    answers: Answers,
}

/// How many requests each upstream answered so far, by the name it answered with.
type Answers = Arc<std::sync::Mutex<BTreeMap<String, usize>>>;

impl Load {
    /// Sends `GET path` to `addr`.
    pub(crate) fn start(addr: SocketAddr, path: &str, per_second: u32, limit: Duration) -> Load {
        let stop = CancellationToken::new();
        let url = format!("http://{addr}{path}");
        let answers = Answers::default();
        let task = tokio::spawn(generate(
            url,
            per_second,
            limit,
            stop.clone(),
            Arc::clone(&answers),
        ));
        Load {
            stop,
            task,
            answers,
        }
    }

    /// How many requests so far got an answer from an upstream whose name starts with `prefix`:
    /// what a test waits on instead of a time.
    pub(crate) fn answered_by(&self, prefix: &str) -> usize {
        let answers = self.answers.lock().unwrap();
        answers
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, count)| count)
            .sum()
    }

    /// Stops sending and waits for the answers.
    pub(crate) async fn finish(self) -> Vec<Outcome> {
        self.stop.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

async fn generate(
    url: String,
    per_second: u32,
    limit: Duration,
    stop: CancellationToken,
    answers: Answers,
) -> Vec<Outcome> {
    let client = http_client();
    let slots = Arc::new(tokio::sync::Semaphore::new(256));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / per_second);
    let mut requests = JoinSet::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(deadline) => break,
        }
        let slot = Arc::clone(&slots).acquire_owned().await.unwrap();
        let client = client.clone();
        let url = url.clone();
        let answers = Arc::clone(&answers);
        requests.spawn(async move {
            let sent = Instant::now();
            let request = Request::get(url).body(Full::default()).unwrap();
            let result =
                match tokio::time::timeout(Duration::from_secs(5), client.request(request)).await {
                    Err(_) => Err("no answer within 5 s".to_owned()),
                    Ok(Err(error)) => Err(format!("connection error: {error:?}")),
                    Ok(Ok(response)) => {
                        let answer = read(response).await;
                        if answer.status == StatusCode::OK {
                            Ok(answer.body)
                        } else {
                            Err(format!(
                                "{} {:?}: {}",
                                answer.status,
                                answer.headers.get("slipway-proxy-error"),
                                answer.body
                            ))
                        }
                    }
                };
            drop(slot);
            if let Ok(name) = &result {
                *answers.lock().unwrap().entry(name.clone()).or_default() += 1;
            }
            Outcome { sent, result }
        });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = requests.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    outcomes.sort_by_key(|outcome| outcome.sent);
    outcomes
}
