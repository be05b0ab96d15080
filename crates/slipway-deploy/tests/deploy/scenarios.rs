//! The scenarios every runtime must pass, each taking a fresh [`Harness`] of its runtime:
//! `process.rs` and `container.rs` run them all.

use std::time::Duration;

use slipway_config::StrategyName;
use slipway_deploy::DeployResult;
use slipway_store::{ReleaseId, ReleaseStore};

use crate::support::{Harness, Load, assert_no_failures, eventually};

/// Requests per second of the steady load.
const RATE: u32 = 250;

pub(crate) async fn blue_green_switches_under_load_and_rolls_back_warm(harness: Harness) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    assert_eq!(
        first.result,
        DeployResult::Succeeded,
        "{}",
        harness.transcript()
    );
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    load.until_answered(RATE.into()).await;

    let second = harness.deploy(harness.hello(&[("APP_VERSION", "2")])).await;

    assert_eq!(
        second.result,
        DeployResult::Succeeded,
        "{}",
        harness.transcript()
    );
    let new = second.release.to_string();
    eventually("the new release answers", Duration::from_secs(5), || {
        load.snapshot()
            .recent
            .iter()
            .rev()
            .take(20)
            .all(|release| *release == new)
    })
    .await;
    let state = harness
        .store
        .service_state("dev", "hello")
        .unwrap()
        .unwrap();
    assert_eq!(state.current, second.release);
    assert_eq!(
        state.previous,
        Some(first.release),
        "the old release stays warm"
    );

    let rollback = harness
        .controller
        .rollback(&harness.key, None, Some("testing".to_owned()))
        .await
        .unwrap();

    assert!(rollback.warm);
    assert_eq!(rollback.to, first.release);
    assert!(
        rollback.took_ms < 1000,
        "a warm rollback took {}ms",
        rollback.took_ms
    );
    let old = first.release.to_string();
    eventually(
        "the old release answers again",
        Duration::from_secs(5),
        || {
            load.snapshot()
                .recent
                .iter()
                .rev()
                .take(20)
                .all(|release| *release == old)
        },
    )
    .await;
    let report = load.stop().await;
    assert_no_failures(&report, &harness.transcript());
    assert!(report.sent >= u64::from(RATE), "{report:?}");
    assert!(
        report.by_release.contains_key(&new) && report.by_release.contains_key(&old),
        "{report:?}"
    );
    let record = harness.store.release(second.release).unwrap().unwrap();
    let steps: Vec<&str> = record.steps.iter().map(|step| step.name.as_str()).collect();
    assert_eq!(
        steps,
        ["begun", "start", "await_healthy", "switch", "verify"]
    );
    harness.tear_down().await;
}

pub(crate) async fn a_release_that_fails_its_health_check_never_takes_traffic(harness: Harness) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    let mut broken = harness.hello(&[("FAIL_HEALTHCHECK", "1")]);
    broken.plan.health_timeout = Duration::from_secs(3);

    let report = harness.deploy(broken).await;

    let DeployResult::Failed { reason } = &report.result else {
        panic!("{report:?}\n{}", harness.transcript())
    };
    assert!(
        reason.contains("did not pass its health check within 3s"),
        "{reason}"
    );
    assert!(reason.contains("answered 503"), "{reason}");
    let loaded = load.stop().await;
    assert_no_failures(&loaded, &harness.transcript());
    assert_eq!(
        loaded.by_release.keys().collect::<Vec<_>>(),
        [&first.release.to_string()]
    );
    assert_eq!(
        harness
            .store
            .service_state("dev", "hello")
            .unwrap()
            .unwrap()
            .current,
        first.release
    );
    let left = harness.replicas_of(report.release).await;
    assert!(
        left.is_empty(),
        "the failed release's replicas are stopped: {left:?}"
    );
    harness.tear_down().await;
}

/// A replica of the release crashes while it serves all the traffic. The crash follows an event,
/// not a timer: the release's replicas exit once they have answered a request to `/`
/// (`CRASH_AFTER_REQUESTS=1`), and a light load sends requests throughout, so the first one the
/// new release answers after the switch crashes it, inside the verify window however slow the
/// machine. The requests a crash cuts are lost whatever a deploy tool does, so that load's
/// failures do not count. What is tested is that the traffic goes back to the warm release, and
/// that the record says why.
pub(crate) async fn a_replica_crashing_after_the_switch_rolls_back_to_the_warm_release(
    harness: Harness,
) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    let trigger = Load::start(harness.proxy(), &harness.key.public_host(), 20);
    let mut crashing = harness.hello(&[("APP_VERSION", "2"), ("CRASH_AFTER_REQUESTS", "1")]);
    // Ends early, at the crash: the window only has to outlast the first request after the switch.
    crashing.plan.verify = Duration::from_secs(120);

    let report = harness.deploy(crashing).await;

    let triggered = trigger.stop().await;
    let DeployResult::RolledBack { reason } = &report.result else {
        panic!("{report:?}\n{}", harness.transcript())
    };
    assert!(
        triggered
            .by_release
            .contains_key(&report.release.to_string()),
        "the crash followed a request the new release answered: {triggered:?}"
    );
    assert!(
        reason.contains("crashed") || reason.contains("exited") || reason.contains("in the proxy"),
        "{reason}"
    );
    let state = harness
        .store
        .service_state("dev", "hello")
        .unwrap()
        .unwrap();
    assert_eq!(state.current, first.release);
    assert!(harness.replicas_of(report.release).await.is_empty());
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    load.until_answered(RATE.into()).await;
    let after = load.stop().await;
    assert_no_failures(&after, &harness.transcript());
    assert_eq!(
        after.by_release.keys().collect::<Vec<_>>(),
        [&first.release.to_string()],
        "the warm release serves"
    );
    harness.tear_down().await;
}

pub(crate) async fn a_release_crashing_while_it_starts_never_takes_traffic(harness: Harness) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    // It answers its health check for half a second, then crashes: before the four passes in a
    // row (at 200 ms apart) that make it healthy.
    let mut crashing = harness.hello(&[("CRASH_AFTER_SECONDS", "0.5")]);
    crashing.health.healthy_threshold = 4;

    let report = harness.deploy(crashing).await;

    let DeployResult::Failed { reason } = &report.result else {
        panic!("{report:?}\n{}", harness.transcript())
    };
    assert!(
        reason.contains("crashed and was restarted") || reason.contains("exited"),
        "{reason}"
    );
    let loaded = load.stop().await;
    assert_no_failures(&loaded, &harness.transcript());
    assert_eq!(
        loaded.by_release.keys().collect::<Vec<_>>(),
        [&first.release.to_string()]
    );
    assert!(harness.replicas_of(report.release).await.is_empty());
    harness.tear_down().await;
}

pub(crate) async fn rolling_replaces_replicas_one_by_one_under_load(harness: Harness) {
    let mut three = harness.hello(&[("APP_VERSION", "1")]);
    three.replicas = 3;
    harness.deploy(three.clone()).await;
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    let mut next = harness.hello(&[("APP_VERSION", "2")]);
    next.replicas = 3;
    next.plan.strategy = StrategyName::Rolling;

    let report = harness.deploy(next).await;

    assert_eq!(
        report.result,
        DeployResult::Succeeded,
        "{}",
        harness.transcript()
    );
    let loaded = load.stop().await;
    assert_no_failures(&loaded, &harness.transcript());
    let record = harness.store.release(report.release).unwrap().unwrap();
    let rolls = record
        .steps
        .iter()
        .filter(|step| step.name == "roll")
        .count();
    assert_eq!(
        rolls, 7,
        "3 starts, 3 retirements, the finish: {:?}",
        record.steps
    );
    let state = harness
        .store
        .service_state("dev", "hello")
        .unwrap()
        .unwrap();
    assert_eq!((state.current, state.previous), (report.release, None));
    let old = harness
        .replicas_of(ReleaseId::new(report.release.get() - 1))
        .await;
    assert!(old.is_empty());
    harness.tear_down().await;
}

/// A canary plan: analysis at 20% for 3s, then a pause for a promotion at 50%.
fn canary(spec: &mut slipway_deploy::ReleaseSpec) {
    spec.plan.strategy = StrategyName::Canary;
    spec.plan.canary.steps = vec![
        slipway_config::CanaryStep {
            weight: 20,
            gate: slipway_config::CanaryGate::Analysis(Duration::from_secs(3)),
        },
        slipway_config::CanaryStep {
            weight: 50,
            gate: slipway_config::CanaryGate::Promotion,
        },
    ];
}

pub(crate) async fn a_canary_passes_analysis_pauses_and_is_promoted(harness: Harness) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    let mut next = harness.hello(&[("APP_VERSION", "2")]);
    canary(&mut next);

    let paused = harness.deploy(next).await;

    assert_eq!(
        paused.result,
        DeployResult::Paused { weight: 50 },
        "{}",
        harness.transcript()
    );
    let seen = load.snapshot();
    let canary_share = *seen
        .by_release
        .get(&paused.release.to_string())
        .unwrap_or(&0) as f64
        / seen.sent as f64;
    assert!(
        canary_share > 0.05 && canary_share < 0.6,
        "the canary had {canary_share} of {seen:?}"
    );
    let record = harness.store.release(paused.release).unwrap().unwrap();
    assert!(
        record
            .steps
            .iter()
            .any(|step| step.detail.starts_with("canary analysis at 20% passed")),
        "{:?}",
        record.steps
    );
    assert_eq!(
        record.record.controller, None,
        "a paused canary has no controller"
    );
    // A new deploy is refused while the canary waits.
    let error = harness
        .controller
        .deploy(crate::support::request(
            &harness.key,
            harness.hello(&[("APP_VERSION", "3")]),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            slipway_deploy::DeployError::Paused { weight: 50, .. }
        ),
        "{error:?}"
    );

    let promoted = harness.controller.promote(&harness.key).await.unwrap();

    assert_eq!(
        promoted,
        slipway_deploy::DeployReport {
            release: paused.release,
            result: DeployResult::Succeeded
        }
    );
    let new = paused.release.to_string();
    eventually(
        "the canary has all the traffic",
        Duration::from_secs(5),
        || {
            load.snapshot()
                .recent
                .iter()
                .rev()
                .take(20)
                .all(|release| *release == new)
        },
    )
    .await;
    let loaded = load.stop().await;
    assert_no_failures(&loaded, &harness.transcript());
    let state = harness
        .store
        .service_state("dev", "hello")
        .unwrap()
        .unwrap();
    assert_eq!(
        (state.current, state.previous),
        (paused.release, Some(first.release))
    );
    harness.tear_down().await;
}

pub(crate) async fn a_canary_failing_analysis_is_rolled_back(harness: Harness) {
    let first = harness.deploy(harness.hello(&[("APP_VERSION", "1")])).await;
    let load = Load::start(harness.proxy(), &harness.key.public_host(), RATE);
    let mut bad = harness.hello(&[("ERROR_RATE", "0.5")]);
    canary(&mut bad);

    let report = harness.deploy(bad).await;

    let DeployResult::RolledBack { reason } = &report.result else {
        panic!("{report:?}\n{}", harness.transcript())
    };
    assert!(
        reason.starts_with("canary analysis at 20% failed: error rate"),
        "{reason}"
    );
    let loaded = load.stop().await;
    assert_no_failures(&loaded, &harness.transcript());
    assert!(
        loaded.app_errors.values().sum::<u64>() > 0,
        "the canary's own errors reached the client: {loaded:?}"
    );
    let state = harness
        .store
        .service_state("dev", "hello")
        .unwrap()
        .unwrap();
    assert_eq!(state.current, first.release);
    let left = harness.replicas_of(report.release).await;
    assert!(left.is_empty(), "{left:?}");
    harness.tear_down().await;
}
