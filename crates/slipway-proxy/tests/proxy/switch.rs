//! The product's promise: switching the table under load drops nothing. A client sends 400
//! requests/s, each taking the upstream 20 ms (so several are always in flight), while the table
//! moves through six generations of upstreams (a canary step, then the full switch). Each old
//! generation is killed outright, connections and all, the moment its drain ends: any request the
//! drain missed would fail. Each step waits for the traffic it needs (answers from the generation
//! in service), never for a time, so a slow machine makes the run longer, not different; how fast
//! a switch is belongs to bench/proxy.

use std::time::{Duration, Instant};

use crate::support::{Load, PATIENCE, TestProxy, TestUpstream, eventually, pool, single};

const GENERATIONS: usize = 6;
const REQUESTS_PER_SECOND: u32 = 400;
/// Answers a generation gives before its canary starts, and after the full switch to it.
const ANSWERS_PER_GENERATION: usize = 40;
/// Answers the canary's 10% gives before the full switch.
const CANARY_ANSWERS: usize = 4;

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

    // Stopped once the last generation has served; the limit only bounds a hung run.
    let load = Load::start(
        proxy.proxy.listen_addr(),
        "/slow?ms=20",
        REQUESTS_PER_SECOND,
        PATIENCE * GENERATIONS as u32,
    );
    // From each instant on, no request may be answered by a generation older than this.
    let mut oldest_allowed: Vec<(Instant, usize)> = Vec::new();
    for number in 1..=GENERATIONS {
        let serving = format!("g{}-", number - 1);
        let served_before = load.answered_by(&serving);
        eventually(
            &format!("generation {} answered requests", number - 1),
            || load.answered_by(&serving) >= served_before + ANSWERS_PER_GENERATION,
        )
        .await;
        let next = generation(number).await;
        let (old_pool, new_pool) = (format!("g{}", number - 1), format!("g{number}"));
        proxy
            .apply(single(vec![
                pool(&old_pool, 90, &[&current[0], &current[1]]),
                pool(&new_pool, 10, &[&next[0], &next[1]]),
            ]))
            .await;
        oldest_allowed.push((Instant::now(), number - 1));
        let canary = format!("g{number}-");
        eventually(
            &format!("the canary of generation {number} answered"),
            || load.answered_by(&canary) >= CANARY_ANSWERS,
        )
        .await;
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
    let last = format!("g{GENERATIONS}-");
    let served_before = load.answered_by(&last);
    eventually("the last generation answered requests", || {
        load.answered_by(&last) >= served_before + ANSWERS_PER_GENERATION
    })
    .await;
    let outcomes = load.finish().await;

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
        "{} requests, per generation {served:?}, none failed",
        outcomes.len()
    );
}
