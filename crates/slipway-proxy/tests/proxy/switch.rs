//! The product's promise: switching the table under load drops nothing. A bounded client sends
//! 400 requests/s, each taking the upstream 20 ms (so several are always in flight), while the
//! table moves through six generations of upstreams (a canary step, then the full switch). Each
//! old generation is killed outright, connections and all, the moment its drain ends: any
//! request the drain missed would fail.

use std::time::{Duration, Instant};

use crate::support::{Load, TestProxy, TestUpstream, pool, single};

const GENERATIONS: usize = 6;
const REQUESTS_PER_SECOND: u32 = 400;

async fn generation(number: usize) -> Vec<TestUpstream> {
    vec![
        TestUpstream::start(&format!("g{number}-a")).await,
        TestUpstream::start(&format!("g{number}-b")).await,
    ]
}

fn generation_of(answer: &str) -> usize {
    answer
        .trim_start_matches('g')
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_pools_under_load_drops_nothing() {
    let proxy = TestProxy::start_with(|config| config.drain_timeout = Duration::from_secs(5)).await;
    let mut current = generation(0).await;
    proxy
        .apply(single(vec![pool("g0", 1, &[&current[0], &current[1]])]))
        .await;

    let started = Instant::now();
    let load = Load::start(
        proxy.proxy.listen_addr(),
        "/slow?ms=20",
        REQUESTS_PER_SECOND,
        Duration::from_secs(30),
    );
    // From each instant on, no request may be answered by a generation older than this.
    let mut oldest_allowed: Vec<(Instant, usize)> = Vec::new();
    for number in 1..=GENERATIONS {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let next = generation(number).await;
        let (old_pool, new_pool) = (format!("g{}", number - 1), format!("g{number}"));
        proxy
            .apply(single(vec![
                pool(&old_pool, 90, &[&current[0], &current[1]]),
                pool(&new_pool, 10, &[&next[0], &next[1]]),
            ]))
            .await;
        oldest_allowed.push((Instant::now(), number - 1));
        tokio::time::sleep(Duration::from_millis(150)).await;
        let applied = proxy
            .apply(single(vec![pool(&new_pool, 100, &[&next[0], &next[1]])]))
            .await;
        oldest_allowed.push((Instant::now(), number));
        let report = applied.drained().await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.retired_upstreams, 2);
        for upstream in std::mem::replace(&mut current, next) {
            upstream.kill().await;
        }
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let outcomes = load.finish().await;
    let elapsed = started.elapsed().as_secs_f64();

    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| outcome.result.as_ref().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed, first: {:?}",
        failures.len(),
        outcomes.len(),
        &failures[..failures.len().min(5)]
    );
    let rate = outcomes.len() as f64 / elapsed;
    assert!(
        rate >= 200.0,
        "the load was {rate:.0} requests/s, below the 200 the test promises"
    );

    let mut served = [0usize; GENERATIONS + 1];
    for outcome in &outcomes {
        let answered_by = generation_of(outcome.result.as_ref().unwrap());
        served[answered_by] += 1;
        let allowed = oldest_allowed
            .iter()
            .rev()
            .find(|(at, _)| *at <= outcome.sent)
            .map_or(0, |(_, oldest)| *oldest);
        assert!(
            answered_by >= allowed,
            "a request sent after generation {allowed} took over went to generation {answered_by}"
        );
    }
    assert!(
        served.iter().all(|&count| count > 0),
        "every generation served: {served:?}"
    );
    eprintln!(
        "{} requests in {elapsed:.1} s ({rate:.0}/s), per generation {served:?}, none failed",
        outcomes.len()
    );
}
