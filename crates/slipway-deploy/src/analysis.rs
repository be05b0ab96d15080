//! Canary analysis: the canary's error rate and p95 latency over a window, judged against
//! thresholds and against the stable release's, from the proxy's per-pool metrics.

use std::time::Duration;

use slipway_config::CanaryPlan;
use slipway_proxy::PoolStats;

/// Latencies below this count as this much when p95s are compared: a ratio between two fast
/// answers (1 ms against 3 ms) says nothing about a release.
const LATENCY_FLOOR: Duration = Duration::from_millis(5);

/// What an analysis concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The canary did as well as required.
    Pass(String),
    /// Too few canary requests to judge; the step passes and says so.
    Inconclusive(String),
    /// The canary did worse than allowed.
    Fail(String),
}

/// Judges `canary` (its figures over the window) against the plan's thresholds and, for
/// latency, against `stable` (the stable release's figures over the same window).
pub fn judge(canary: &PoolStats, stable: Option<&PoolStats>, plan: &CanaryPlan) -> Verdict {
    if canary.requests < plan.min_requests {
        return Verdict::Inconclusive(format!(
            "only {} canary requests (fewer than {}): nothing to judge",
            canary.requests, plan.min_requests
        ));
    }
    let errors = canary.responses.server_error + canary.proxy_errors;
    let error_rate = canary.error_rate().unwrap_or(0.0);
    if error_rate > plan.max_error_rate {
        return Verdict::Fail(format!(
            "error rate {} ({errors} of {} requests) is above the limit of {}",
            percent(error_rate),
            canary.requests,
            percent(plan.max_error_rate)
        ));
    }
    let canary_p95 = canary.latency.quantile(0.95);
    let stable_p95 = stable
        .filter(|stable| stable.requests >= plan.min_requests)
        .and_then(|stable| stable.latency.quantile(0.95));
    let mut summary = format!(
        "error rate {} over {} requests",
        percent(error_rate),
        canary.requests
    );
    if let (Some(canary_p95), Some(stable_p95)) = (canary_p95, stable_p95) {
        let ratio = canary_p95.max(LATENCY_FLOOR).as_secs_f64()
            / stable_p95.max(LATENCY_FLOOR).as_secs_f64();
        if ratio > plan.max_p95_ratio {
            return Verdict::Fail(format!(
                "p95 latency {} is {ratio:.1}x the stable release's {} (limit {:.1}x)",
                millis(canary_p95),
                millis(stable_p95),
                plan.max_p95_ratio
            ));
        }
        summary.push_str(&format!(
            ", p95 {} against {}",
            millis(canary_p95),
            millis(stable_p95)
        ));
    }
    Verdict::Pass(summary)
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn millis(duration: Duration) -> String {
    format!("{:.1}ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_config::{CanaryGate, CanaryStep};

    fn plan() -> CanaryPlan {
        CanaryPlan {
            steps: vec![CanaryStep {
                weight: 10,
                gate: CanaryGate::Promotion,
            }],
            max_error_rate: 0.05,
            max_p95_ratio: 2.0,
            min_requests: 20,
        }
    }

    /// Figures of `requests` requests, `errors` of them 5xx; latencies are not recorded.
    fn stats(requests: u64, errors: u64) -> PoolStats {
        PoolStats {
            requests,
            responses: slipway_proxy::StatusClasses {
                success: requests - errors,
                server_error: errors,
                ..slipway_proxy::StatusClasses::default()
            },
            ..PoolStats::default()
        }
    }

    #[test]
    fn too_few_requests_judge_nothing() {
        assert!(matches!(
            judge(&stats(19, 19), None, &plan()),
            Verdict::Inconclusive(_)
        ));
    }

    #[test]
    fn the_error_rate_limit_is_inclusive() {
        assert!(matches!(
            judge(&stats(100, 5), None, &plan()),
            Verdict::Pass(_)
        ));
        match judge(&stats(100, 6), None, &plan()) {
            Verdict::Fail(reason) => assert_eq!(
                reason,
                "error rate 6.0% (6 of 100 requests) is above the limit of 5.0%"
            ),
            other => panic!("{other:?}"),
        }
    }

    /// Figures of `requests` successful requests, all with latencies in the bucket ending at
    /// `bound`.
    fn timed(requests: u64, bound: Duration) -> PoolStats {
        let bounds: Vec<Duration> = slipway_proxy::LatencyHistogram::bounds().collect();
        let index = bounds.iter().position(|upper| *upper >= bound).unwrap();
        let mut counts = vec![0_u64; bounds.len() + 1];
        counts[index] = requests;
        let latency = serde_json::from_value(serde_json::json!({
            "counts": counts,
            "sum_micros": requests * u64::try_from(bound.as_micros()).unwrap(),
        }))
        .unwrap();
        PoolStats {
            latency,
            ..stats(requests, 0)
        }
    }

    #[test]
    fn a_slow_canary_fails_on_its_p95_against_the_stable_release() {
        let stable = timed(100, Duration::from_millis(20));
        let slow = timed(100, Duration::from_millis(100));
        match judge(&slow, Some(&stable), &plan()) {
            Verdict::Fail(reason) => assert!(reason.starts_with("p95 latency"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let alike = timed(100, Duration::from_millis(30));
        assert!(matches!(
            judge(&alike, Some(&stable), &plan()),
            Verdict::Pass(_)
        ));
    }

    #[test]
    fn fast_answers_are_not_judged_by_their_ratio() {
        // 3 ms against 1 ms is three times as slow, and means nothing.
        let stable = timed(100, Duration::from_millis(1));
        let canary = timed(100, Duration::from_millis(3));
        assert!(matches!(
            judge(&canary, Some(&stable), &plan()),
            Verdict::Pass(_)
        ));
    }

    #[test]
    fn proxy_errors_count_as_errors() {
        let mut canary = stats(100, 0);
        canary.proxy_errors = 10;
        assert!(matches!(judge(&canary, None, &plan()), Verdict::Fail(_)));
    }
}
