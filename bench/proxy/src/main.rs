//! Switch time of Slipway's proxy: eight upstreams, the proxy in front with a state file (so each
//! apply also saves the table, as in production), and 32 clients sending requests back to back
//! over keep-alive connections, as fast as the machine allows. Every 100 ms the table moves all
//! traffic to the next upstream in turn. For each switch it records how long `apply()` took from
//! call to return, how long until the first response came from the new upstream, and how many
//! requests sent after `apply()` returned were still answered by an older upstream (the promise
//! is none). Eight upstreams in turn keep "older" (the three before) apart from "newer": a
//! request that waits past later switches before the proxy reads it is rightly answered by a
//! later upstream.
//!
//! Usage: `slipway-proxy-bench [SWITCHES] [--no-state-file]` (default 100 switches; without a
//! state file, `apply()` is the in-memory swap alone). Prints one line of figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_proxy::{
    Backend, BackendId, ControlEndpoint, Pool, PoolId, Proxy, ProxyConfig, Route, RoutingTable,
    Upstream, UpstreamId,
};
use tokio::net::TcpListener;

const CLIENTS: usize = 32;
const PAUSE: Duration = Duration::from_millis(100);
const NAMES: [&str; 8] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let without_state_file = arguments
        .iter()
        .any(|argument| argument == "--no-state-file");
    let switches: usize = arguments
        .iter()
        .find(|argument| !argument.starts_with("--"))
        .map_or(Ok(100), |text| text.parse())?;
    let mut upstreams = [SocketAddr::from(([127, 0, 0, 1], 0)); NAMES.len()];
    for (addr, name) in upstreams.iter_mut().zip(NAMES) {
        *addr = upstream(name).await?;
    }
    let dir = tempfile::tempdir()?;
    let mut config = ProxyConfig::new(
        "127.0.0.1:0".parse()?,
        ControlEndpoint::unix(dir.path().join("control.sock")),
    );
    if !without_state_file {
        config.state_file = Some(dir.path().join("routes.json"));
    }
    let proxy = Proxy::start(config).await?;
    proxy.apply(table(&upstreams, 0)?).await?;

    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(proxy.listen_addr(), Arc::clone(&running))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut switched = Vec::with_capacity(switches);
    for round in 1..=switches {
        tokio::time::sleep(PAUSE).await;
        let called = Instant::now();
        proxy.apply(table(&upstreams, round % NAMES.len())?).await?;
        switched.push((called, Instant::now(), round % NAMES.len()));
    }
    tokio::time::sleep(PAUSE).await;
    running.store(false, Ordering::Relaxed);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await??);
    }
    answers.sort_by_key(|(sent, _, _)| *sent);
    report(&switched, &answers);
    proxy.shutdown().await;
    Ok(())
}

/// Upstream `upstreams[serving]` gets all traffic.
fn table(upstreams: &[SocketAddr; NAMES.len()], serving: usize) -> Result<RoutingTable, Failure> {
    let name = NAMES[serving];
    let pool = Pool {
        id: PoolId::new(name)?,
        weight: 1,
        upstreams: vec![Upstream {
            id: UpstreamId::new(name)?,
            addr: upstreams[serving],
        }],
    };
    let web = BackendId::new("web")?;
    Ok(RoutingTable::new(
        vec![Backend::new(web.clone(), vec![pool])],
        vec![Route {
            host: None,
            path_prefix: Default::default(),
            backend: web,
        }],
    )?)
}

/// A server answering its name.
async fn upstream(name: &'static str) -> Result<SocketAddr, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service =
                    service_fn(move |_request: Request<hyper::body::Incoming>| async move {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(name.as_bytes()),
                        )))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Sends requests one after another until told to stop; returns (sent, answered, upstream).
async fn client(
    proxy: SocketAddr,
    running: Arc<AtomicBool>,
) -> Result<Vec<(Instant, Instant, String)>, Failure> {
    let http: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut answers = Vec::new();
    while running.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let response = http
            .request(Request::get(format!("http://{proxy}/")).body(Full::default())?)
            .await?;
        if !response.status().is_success() {
            return Err(format!("the proxy answered {}", response.status()).into());
        }
        let body = response.into_body().collect().await?.to_bytes();
        answers.push((
            sent,
            Instant::now(),
            String::from_utf8_lossy(&body).into_owned(),
        ));
    }
    Ok(answers)
}

fn report(switched: &[(Instant, Instant, usize)], answers: &[(Instant, Instant, String)]) {
    let mut apply = Vec::new();
    let mut first_answer = Vec::new();
    let mut stale = 0;
    for (index, (called, returned, serving)) in switched.iter().enumerate() {
        apply.push(*returned - *called);
        let next_switch = switched.get(index + 1).map(|(called, _, _)| *called);
        let after: Vec<_> = answers
            .iter()
            .filter(|(sent, _, _)| sent >= returned && next_switch.is_none_or(|next| *sent < next))
            .collect();
        let older: Vec<&str> = (1..=3)
            .map(|back| NAMES[(serving + NAMES.len() - back) % NAMES.len()])
            .collect();
        stale += after
            .iter()
            .filter(|(_, _, by)| older.contains(&by.as_str()))
            .count();
        let new = NAMES[*serving];
        if let Some((_, answered, _)) = answers
            .iter()
            .find(|(_, answered, by)| answered >= called && by == new)
        {
            first_answer.push(*answered - *called);
        }
    }
    println!(
        "{} switches under {} requests ({CLIENTS} clients): apply() p50 {:?} p99 {:?} max {:?}; \
         first answer from the new upstream p50 {:?} p99 {:?}; requests sent after apply() returned \
         but answered by an older upstream: {stale}",
        switched.len(),
        answers.len(),
        percentile(&mut apply, 0.50),
        percentile(&mut apply, 0.99),
        percentile(&mut apply, 1.0),
        percentile(&mut first_answer, 0.50),
        percentile(&mut first_answer, 0.99),
    );
}

fn percentile(values: &mut [Duration], q: f64) -> Duration {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(index).copied().unwrap_or_default()
}
