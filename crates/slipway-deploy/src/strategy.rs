//! The strategies as explicit state machines: [`Phase`] is where a release's deploy stands,
//! [`Phase::next`] is the only way it moves on, and the controller saves every phase in the store
//! before doing its work, so a controller killed at any moment leaves a phase that says what was
//! underway.
//!
//! The machines are pure: the controller does the work a phase names (start replicas, wait for
//! health, set weights, analyse, switch) and reports how it went as an [`Event`]; [`Phase::next`]
//! says where that leads. Blue-green, canary and rolling share the start and the end:
//!
//! ```text
//! blue-green: Start → AwaitHealthy → [Smoke] → Switch → Verify → Done
//! canary:     Start → AwaitHealthy → [Smoke] → Canary{0} → … → Canary{n-1} → Switch → Verify → Done
//!                                                 ↘ Paused{i} (waits for `slipway promote`) ↗
//! rolling:    Roll{old: N, new: 0} → Roll{…} → … → Roll{old: 0, new: N} → Switch → Verify → Done
//! any failure: → RollBack{reason, took_traffic} → Done
//! ```

use serde::{Deserialize, Serialize};
use slipway_config::{CanaryGate, DeployPlan, RollingPlan, StrategyName};
use slipway_store::ReleaseId;

/// Where a release's deploy stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Start every replica of the new release (blue-green and canary).
    Start,
    /// Wait for every new replica to pass its health check.
    AwaitHealthy,
    /// Ask the smoke path of every new replica.
    Smoke,
    /// The canary has the weight of step `step`; its gate (pause or analysis) runs.
    Canary {
        /// The step, counted from 0.
        step: usize,
    },
    /// The canary has the weight of step `step` and waits for `slipway promote`.
    Paused {
        /// The step, counted from 0.
        step: usize,
    },
    /// Rolling: `old` replicas of the previous release and `new` of this one are in service.
    Roll {
        /// Replicas of the previous release still serving.
        old: u32,
        /// Replicas of this release serving.
        new: u32,
    },
    /// Give this release all the traffic and make it current.
    Switch,
    /// Watch this release, serving all traffic, for crashes and failed health checks.
    Verify,
    /// Put the traffic back on the previous release and stop this one.
    RollBack {
        /// Why, for the record.
        reason: String,
        /// Whether this release had taken traffic (it then ends rolled back, else failed).
        took_traffic: bool,
    },
    /// Nothing left to do.
    Done,
}

/// How the work of a phase went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// It was done.
    Done,
    /// It failed, for this reason.
    Failed(String),
    /// A canary step's gate is a promotion: the deploy waits for a person.
    AwaitPromotion,
}

/// What the controller's state remembers beside the phase: what the deploy replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    /// The release serving when the deploy began, if any.
    pub replaces: Option<ReleaseId>,
    /// How many replicas it had (rolling puts that many back if it rolls back).
    pub replaced_replicas: u32,
    /// Where the deploy stands.
    #[serde(flatten)]
    pub phase: Phase,
}

impl ControllerState {
    /// The state as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored state.
    pub fn from_json(text: &str) -> Result<ControllerState, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// What a rolling step does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollingAction {
    /// Start this many new replicas (and wait until they are healthy and in service).
    Start(u32),
    /// Take this many old replicas out of service and stop them.
    Retire(u32),
    /// Every replica is new.
    Finish,
}

/// The next rolling action with `old` and `new` replicas in service, `wanted` in all.
///
/// New replicas are started while the total stays within `wanted + max_surge`; old ones are
/// retired while it stays at least `wanted - max_unavailable`; `batch` bounds both. With
/// `max_surge + max_unavailable >= 1` (the config insists) some action is always possible.
pub fn rolling_action(plan: &RollingPlan, wanted: u32, old: u32, new: u32) -> RollingAction {
    if new >= wanted && old == 0 {
        return RollingAction::Finish;
    }
    let total = old + new;
    let room = (wanted + plan.max_surge).saturating_sub(total);
    if new < wanted && room > 0 {
        return RollingAction::Start(plan.batch.min(room).min(wanted - new));
    }
    let floor = wanted.saturating_sub(plan.max_unavailable);
    let spare = total.saturating_sub(floor).min(old);
    if spare > 0 {
        return RollingAction::Retire(plan.batch.min(spare));
    }
    // Out of room and nothing to retire: only possible when max_surge and max_unavailable are
    // both 0, which the config refuses. Make room anyway rather than stall forever.
    RollingAction::Retire(old.min(1))
}

impl Phase {
    /// The first phase of a deploy with `strategy`, replacing `old` replicas (rolling needs a
    /// serving release to roll from; without one it deploys blue-green).
    pub fn first(strategy: StrategyName, old: u32) -> Phase {
        match strategy {
            StrategyName::Rolling if old > 0 => Phase::Roll { old, new: 0 },
            _ => Phase::Start,
        }
    }

    /// Whether this release serves traffic in this phase (so undoing it is a rollback, not
    /// just a failure).
    pub fn takes_traffic(&self) -> bool {
        match self {
            Phase::Canary { .. } | Phase::Paused { .. } | Phase::Switch | Phase::Verify => true,
            Phase::Roll { new, .. } => *new > 0,
            Phase::Start
            | Phase::AwaitHealthy
            | Phase::Smoke
            | Phase::RollBack { .. }
            | Phase::Done => false,
        }
    }

    /// A short name for people and step records.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::AwaitHealthy => "await_healthy",
            Phase::Smoke => "smoke",
            Phase::Canary { .. } => "canary",
            Phase::Paused { .. } => "paused",
            Phase::Roll { .. } => "roll",
            Phase::Switch => "switch",
            Phase::Verify => "verify",
            Phase::RollBack { .. } => "roll_back",
            Phase::Done => "done",
        }
    }

    /// Where `event`, the outcome of this phase's work under `plan` with `wanted` replicas,
    /// leads.
    pub fn next(&self, plan: &DeployPlan, wanted: u32, event: Event) -> Phase {
        let failed = |reason: String, took_traffic| Phase::RollBack {
            reason,
            took_traffic,
        };
        match (self, event) {
            (Phase::Done, _) => Phase::Done,
            (Phase::RollBack { .. }, _) => Phase::Done,
            (phase, Event::Failed(reason)) => failed(reason, phase.takes_traffic()),
            (Phase::Start, _) => Phase::AwaitHealthy,
            (Phase::AwaitHealthy, _) if plan.smoke_path.is_some() => Phase::Smoke,
            (Phase::AwaitHealthy | Phase::Smoke, _) => after_checks(plan),
            (Phase::Canary { step }, Event::AwaitPromotion) => Phase::Paused { step: *step },
            (Phase::Canary { step } | Phase::Paused { step }, _) => {
                if step + 1 < plan.canary.steps.len() {
                    Phase::Canary { step: step + 1 }
                } else {
                    Phase::Switch
                }
            }
            (Phase::Roll { old, new }, _) => {
                match rolling_action(&plan.rolling, wanted, *old, *new) {
                    RollingAction::Start(count) => Phase::Roll {
                        old: *old,
                        new: new + count,
                    },
                    RollingAction::Retire(count) => Phase::Roll {
                        old: old - count,
                        new: *new,
                    },
                    RollingAction::Finish => Phase::Switch,
                }
            }
            (Phase::Switch, _) if plan.verify.is_zero() => Phase::Done,
            (Phase::Switch, _) => Phase::Verify,
            (Phase::Verify, _) => Phase::Done,
        }
    }

    /// The weight a canary has in this phase, if it is a canary phase.
    pub fn canary_weight(&self, plan: &DeployPlan) -> Option<u32> {
        match self {
            Phase::Canary { step } | Phase::Paused { step } => {
                plan.canary.steps.get(*step).map(|step| step.weight)
            }
            _ => None,
        }
    }

    /// The gate of a canary phase.
    pub fn canary_gate<'a>(&self, plan: &'a DeployPlan) -> Option<&'a CanaryGate> {
        match self {
            Phase::Canary { step } | Phase::Paused { step } => {
                plan.canary.steps.get(*step).map(|step| &step.gate)
            }
            _ => None,
        }
    }
}

/// Where a release goes once its replicas passed their checks.
fn after_checks(plan: &DeployPlan) -> Phase {
    match plan.strategy {
        StrategyName::Canary if !plan.canary.steps.is_empty() => Phase::Canary { step: 0 },
        _ => Phase::Switch,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use slipway_config::{CanaryPlan, CanaryStep};

    use super::*;

    fn plan(strategy: StrategyName) -> DeployPlan {
        DeployPlan {
            strategy,
            keep_previous: Duration::from_secs(300),
            health_timeout: Duration::from_secs(60),
            smoke_path: None,
            verify: Duration::from_secs(5),
            stop_grace: Duration::from_secs(10),
            canary: CanaryPlan {
                steps: vec![
                    CanaryStep {
                        weight: 10,
                        gate: CanaryGate::Analysis(Duration::from_secs(30)),
                    },
                    CanaryStep {
                        weight: 50,
                        gate: CanaryGate::Promotion,
                    },
                ],
                max_error_rate: 0.05,
                max_p95_ratio: 2.0,
                min_requests: 20,
            },
            rolling: RollingPlan {
                batch: 1,
                max_surge: 1,
                max_unavailable: 0,
            },
            require_scan: false,
        }
    }

    /// Runs the machine from `first`, answering each phase with the event `answer` gives,
    /// and returns the phases it went through (the last is `Done`).
    fn walk(
        plan: &DeployPlan,
        wanted: u32,
        first: Phase,
        answer: impl Fn(&Phase) -> Event,
    ) -> Vec<Phase> {
        let mut phases = vec![first];
        while phases.last() != Some(&Phase::Done) {
            assert!(phases.len() < 100, "the machine does not end: {phases:?}");
            let phase = phases.last().cloned().unwrap_or(Phase::Done);
            phases.push(phase.next(plan, wanted, answer(&phase)));
        }
        phases
    }

    #[test]
    fn blue_green_starts_checks_switches_verifies() {
        let plan = plan(StrategyName::BlueGreen);
        let phases = walk(&plan, 2, Phase::first(plan.strategy, 2), |_| Event::Done);
        assert_eq!(
            phases,
            [
                Phase::Start,
                Phase::AwaitHealthy,
                Phase::Switch,
                Phase::Verify,
                Phase::Done
            ]
        );
    }

    #[test]
    fn blue_green_with_a_smoke_check_and_no_verification() {
        let plan = DeployPlan {
            smoke_path: Some("/version".to_owned()),
            verify: Duration::ZERO,
            ..plan(StrategyName::BlueGreen)
        };
        let phases = walk(&plan, 1, Phase::Start, |_| Event::Done);
        assert_eq!(
            phases,
            [
                Phase::Start,
                Phase::AwaitHealthy,
                Phase::Smoke,
                Phase::Switch,
                Phase::Done
            ]
        );
    }

    #[test]
    fn an_unhealthy_release_fails_without_having_taken_traffic() {
        let plan = plan(StrategyName::BlueGreen);
        let phases = walk(&plan, 2, Phase::Start, |phase| match phase {
            Phase::AwaitHealthy => Event::Failed("never healthy".to_owned()),
            _ => Event::Done,
        });
        assert_eq!(
            &phases[2..],
            [
                Phase::RollBack {
                    reason: "never healthy".to_owned(),
                    took_traffic: false
                },
                Phase::Done
            ]
        );
    }

    #[test]
    fn a_crash_while_verifying_rolls_back_a_release_that_took_traffic() {
        let plan = plan(StrategyName::BlueGreen);
        let phases = walk(&plan, 2, Phase::Start, |phase| match phase {
            Phase::Verify => Event::Failed("replica crashed".to_owned()),
            _ => Event::Done,
        });
        assert_eq!(
            phases[phases.len() - 2],
            Phase::RollBack {
                reason: "replica crashed".to_owned(),
                took_traffic: true
            }
        );
    }

    #[test]
    fn a_canary_walks_its_steps_and_pauses_for_a_promotion() {
        let plan = plan(StrategyName::Canary);
        let first_run = walk(&plan, 2, Phase::Start, |phase| match phase {
            Phase::Canary { step: 1 } => Event::AwaitPromotion,
            // A person never promotes in this walk: the paused phase is where it stops.
            Phase::Paused { .. } => Event::Failed("aborted".to_owned()),
            _ => Event::Done,
        });
        assert_eq!(
            &first_run[..6],
            [
                Phase::Start,
                Phase::AwaitHealthy,
                Phase::Canary { step: 0 },
                Phase::Canary { step: 1 },
                Phase::Paused { step: 1 },
                Phase::RollBack {
                    reason: "aborted".to_owned(),
                    took_traffic: true
                },
            ]
        );
        assert_eq!(Phase::Paused { step: 1 }.canary_weight(&plan), Some(50));
        // Promoted at the last step: all traffic.
        assert_eq!(
            Phase::Paused { step: 1 }.next(&plan, 2, Event::Done),
            Phase::Switch
        );
    }

    #[test]
    fn failing_analysis_rolls_a_canary_back() {
        let plan = plan(StrategyName::Canary);
        let phases = walk(&plan, 2, Phase::Start, |phase| match phase {
            Phase::Canary { step: 0 } => Event::Failed("error rate 30%".to_owned()),
            _ => Event::Done,
        });
        assert_eq!(
            phases[3],
            Phase::RollBack {
                reason: "error rate 30%".to_owned(),
                took_traffic: true
            }
        );
    }

    #[test]
    fn rolling_replaces_one_at_a_time_with_one_surge() {
        let plan = plan(StrategyName::Rolling);
        let phases = walk(&plan, 3, Phase::first(StrategyName::Rolling, 3), |_| {
            Event::Done
        });
        let counts: Vec<(u32, u32)> = phases
            .iter()
            .filter_map(|phase| match phase {
                Phase::Roll { old, new } => Some((*old, *new)),
                _ => None,
            })
            .collect();
        assert_eq!(
            counts,
            [(3, 0), (3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)]
        );
        assert!(
            counts
                .iter()
                .all(|(old, new)| old + new >= 3 && old + new <= 4)
        );
        assert_eq!(
            &phases[phases.len() - 3..],
            [Phase::Switch, Phase::Verify, Phase::Done]
        );
    }

    #[test]
    fn rolling_without_surge_goes_below_and_never_above() {
        let rolling = RollingPlan {
            batch: 2,
            max_surge: 0,
            max_unavailable: 2,
        };
        let plan = DeployPlan {
            rolling,
            ..plan(StrategyName::Rolling)
        };
        let phases = walk(&plan, 4, Phase::first(StrategyName::Rolling, 4), |_| {
            Event::Done
        });
        let counts: Vec<(u32, u32)> = phases
            .iter()
            .filter_map(|phase| match phase {
                Phase::Roll { old, new } => Some((*old, *new)),
                _ => None,
            })
            .collect();
        assert_eq!(counts, [(4, 0), (2, 0), (2, 2), (0, 2), (0, 4)]);
        assert!(
            counts
                .iter()
                .all(|(old, new)| old + new >= 2 && old + new <= 4)
        );
    }

    #[test]
    fn rolling_actions_respect_every_bound() {
        for batch in 1..4 {
            for max_surge in 0..3 {
                for max_unavailable in 0..3 {
                    if max_surge + max_unavailable == 0 {
                        continue;
                    }
                    let rolling = RollingPlan {
                        batch,
                        max_surge,
                        max_unavailable,
                    };
                    let plan = DeployPlan {
                        rolling,
                        ..plan(StrategyName::Rolling)
                    };
                    for wanted in 1..6 {
                        let phases = walk(
                            &plan,
                            wanted,
                            Phase::first(StrategyName::Rolling, wanted),
                            |_| Event::Done,
                        );
                        for phase in &phases {
                            if let Phase::Roll { old, new } = phase {
                                assert!(
                                    old + new <= wanted + max_surge,
                                    "{rolling:?} {wanted}: {phase:?}"
                                );
                                assert!(
                                    old + new >= wanted.saturating_sub(max_unavailable),
                                    "{rolling:?} {wanted}: {phase:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rolling_failure_after_new_replicas_served_is_a_rollback() {
        let plan = plan(StrategyName::Rolling);
        let next =
            Phase::Roll { old: 2, new: 1 }.next(&plan, 3, Event::Failed("unhealthy".to_owned()));
        assert_eq!(
            next,
            Phase::RollBack {
                reason: "unhealthy".to_owned(),
                took_traffic: true
            }
        );
        let first =
            Phase::Roll { old: 3, new: 0 }.next(&plan, 3, Event::Failed("unhealthy".to_owned()));
        assert!(matches!(
            first,
            Phase::RollBack {
                took_traffic: false,
                ..
            }
        ));
    }

    #[test]
    fn rolling_without_a_serving_release_deploys_blue_green() {
        assert_eq!(Phase::first(StrategyName::Rolling, 0), Phase::Start);
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let state = ControllerState {
            replaces: Some(ReleaseId::new(4)),
            replaced_replicas: 2,
            phase: Phase::Roll { old: 1, new: 2 },
        };
        let text = state.to_json();
        assert!(text.contains("\"phase\":\"roll\""), "{text}");
        assert_eq!(ControllerState::from_json(&text).unwrap(), state);
    }
}
