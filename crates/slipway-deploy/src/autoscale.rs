//! Autoscaling decisions: from a measure per replica and its target, how many replicas a service
//! should run, held back by a stabilisation window (for scaling down) and a cooldown (between any
//! two changes). Pure: the daemon measures, calls [`Autoscaler::decide`], scales, and records
//! every decision with its reason.
//!
//! The wanted count is `ceil(replicas × measure / target)`, within `min..=max`, and unchanged
//! while the measure is within 10% of the target, so a service hovering at its target does not
//! flap. A scale-down goes to the highest count asked for during the stabilisation window, so a
//! short lull does not take away replicas a burst will need again.

use std::collections::VecDeque;
use std::time::Duration;

use slipway_config::{Autoscale, ScaleTarget};
use tokio::time::Instant;

/// A measure within this share of its target counts as on target.
const TOLERANCE: f64 = 0.1;

/// What the autoscaler decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Change the replica count.
    Scale {
        /// The new count.
        to: u32,
        /// Why, for the event.
        reason: String,
    },
    /// A change is wanted but held back.
    Hold {
        /// Why, for the event.
        reason: String,
    },
    /// The count is right.
    Steady,
}

/// One service's autoscaling state.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    config: Autoscale,
    /// Counts asked for during the stabilisation window, oldest first.
    recommendations: VecDeque<(Instant, u32)>,
    last_change: Option<Instant>,
    last_decision: Option<Instant>,
}

impl Autoscaler {
    /// An autoscaler with `config`.
    pub fn new(config: Autoscale) -> Autoscaler {
        Autoscaler {
            config,
            recommendations: VecDeque::new(),
            last_change: None,
            last_decision: None,
        }
    }

    /// Its settings.
    pub fn config(&self) -> &Autoscale {
        &self.config
    }

    /// Whether a decision is due at `now` (the interval has passed since the last one).
    pub fn due(&self, now: Instant) -> bool {
        self.last_decision
            .is_none_or(|last| now.saturating_duration_since(last) >= self.config.interval)
    }

    /// Decides at `now`, with `replicas` running and the measure at `measured` per replica.
    pub fn decide(&mut self, now: Instant, replicas: u32, measured: f64) -> Decision {
        self.last_decision = Some(now);
        let wanted = wanted(&self.config, replicas, measured);
        self.recommendations.push_back((now, wanted));
        let window = self.config.stabilization;
        while self
            .recommendations
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > window)
        {
            self.recommendations.pop_front();
        }
        let why = format!(
            "{} per replica against a target of {}",
            describe(self.config.target, measured),
            describe(self.config.target, target_value(self.config.target))
        );
        let to = if wanted > replicas {
            wanted
        } else {
            let stabilized = self
                .recommendations
                .iter()
                .map(|(_, count)| *count)
                .max()
                .unwrap_or(wanted);
            if stabilized >= replicas {
                return if wanted < replicas {
                    Decision::Hold {
                        reason: format!(
                            "{why}: {replicas} → {wanted} wanted, held for the {} stabilisation window (it asked for {stabilized})",
                            seconds(window)
                        ),
                    }
                } else {
                    Decision::Steady
                };
            }
            stabilized
        };
        if let Some(last) = self.last_change {
            let since = now.saturating_duration_since(last);
            if since < self.config.cooldown {
                return Decision::Hold {
                    reason: format!(
                        "{why}: {replicas} → {to} wanted, held by the {} cooldown ({} left)",
                        seconds(self.config.cooldown),
                        seconds(self.config.cooldown - since)
                    ),
                };
            }
        }
        self.last_change = Some(now);
        Decision::Scale {
            to,
            reason: format!("{why}: {replicas} → {to} replicas"),
        }
    }
}

/// The replica count `config` wants with `replicas` running at `measured` per replica.
pub fn wanted(config: &Autoscale, replicas: u32, measured: f64) -> u32 {
    let clamp = |count: u32| count.clamp(config.min, config.max);
    if replicas == 0 || !measured.is_finite() {
        return clamp(replicas);
    }
    let ratio = measured / target_value(config.target);
    if (ratio - 1.0).abs() <= TOLERANCE {
        return clamp(replicas);
    }
    let wanted = (f64::from(replicas) * ratio).ceil();
    clamp(if wanted >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        wanted.max(0.0) as u32
    })
}

fn target_value(target: ScaleTarget) -> f64 {
    match target {
        ScaleTarget::CpuPercent(value)
        | ScaleTarget::MemoryPercent(value)
        | ScaleTarget::RequestsPerSecond(value) => value,
    }
}

fn describe(target: ScaleTarget, value: f64) -> String {
    match target {
        ScaleTarget::CpuPercent(_) => format!("CPU {value:.1}%"),
        ScaleTarget::MemoryPercent(_) => format!("memory {value:.1}%"),
        ScaleTarget::RequestsPerSecond(_) => format!("{value:.1} requests/s"),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Autoscale {
        Autoscale {
            min: 1,
            max: 6,
            target: ScaleTarget::CpuPercent(50.0),
            interval: Duration::from_secs(10),
            stabilization: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }

    #[test]
    fn the_wanted_count_follows_the_measure_within_bounds() {
        let config = config();
        assert_eq!(wanted(&config, 2, 100.0), 4);
        assert_eq!(wanted(&config, 2, 54.0), 2, "within 10% of the target");
        assert_eq!(wanted(&config, 2, 51.0), 2);
        assert_eq!(wanted(&config, 2, 60.0), 3, "rounded up");
        assert_eq!(wanted(&config, 4, 10.0), 1);
        assert_eq!(wanted(&config, 4, 0.0), 1, "never below min");
        assert_eq!(wanted(&config, 4, 1000.0), 6, "never above max");
        assert_eq!(wanted(&config, 9, 50.0), 6, "out of bounds comes back in");
        assert_eq!(wanted(&config, 2, f64::NAN), 2);
    }

    #[test]
    fn scaling_up_is_immediate_then_cooled_down() {
        let mut autoscaler = Autoscaler::new(config());
        let start = Instant::now();
        assert!(autoscaler.due(start));
        let decision = autoscaler.decide(start, 2, 100.0);
        assert_eq!(
            decision,
            Decision::Scale {
                to: 4,
                reason: "CPU 100.0% per replica against a target of CPU 50.0%: 2 → 4 replicas"
                    .to_owned()
            }
        );
        assert!(!autoscaler.due(start + Duration::from_secs(5)));
        let held = autoscaler.decide(start + Duration::from_secs(10), 4, 100.0);
        assert!(
            matches!(&held, Decision::Hold { reason } if reason.contains("cooldown (20s left)")),
            "{held:?}"
        );
        let later = autoscaler.decide(start + Duration::from_secs(31), 4, 100.0);
        assert!(matches!(later, Decision::Scale { to: 6, .. }), "{later:?}");
    }

    #[test]
    fn scaling_down_waits_out_the_stabilisation_window() {
        let mut autoscaler = Autoscaler::new(config());
        let start = Instant::now();
        assert_eq!(autoscaler.decide(start, 4, 50.0), Decision::Steady);
        // Load falls: the window still remembers asking for 4.
        let held = autoscaler.decide(start + Duration::from_secs(10), 4, 10.0);
        assert!(
            matches!(&held, Decision::Hold { reason } if reason.contains("stabilisation window")),
            "{held:?}"
        );
        let held = autoscaler.decide(start + Duration::from_secs(50), 4, 10.0);
        assert!(matches!(held, Decision::Hold { .. }));
        // The recommendation for 4 leaves the window: down to the highest asked since.
        let scaled = autoscaler.decide(start + Duration::from_secs(61), 4, 10.0);
        assert!(
            matches!(scaled, Decision::Scale { to: 1, .. }),
            "{scaled:?}"
        );
    }

    #[test]
    fn a_short_lull_does_not_scale_down() {
        let mut autoscaler = Autoscaler::new(config());
        let start = Instant::now();
        autoscaler.decide(start, 3, 50.0);
        autoscaler.decide(start + Duration::from_secs(10), 3, 5.0);
        assert_eq!(
            autoscaler.decide(start + Duration::from_secs(20), 3, 50.0),
            Decision::Steady
        );
    }

    #[test]
    fn requests_per_second_read_as_such() {
        let mut config = config();
        config.target = ScaleTarget::RequestsPerSecond(100.0);
        let mut autoscaler = Autoscaler::new(config);
        let decision = autoscaler.decide(Instant::now(), 1, 250.0);
        assert!(
            matches!(&decision, Decision::Scale { to: 3, reason } if reason.starts_with("250.0 requests/s")),
            "{decision:?}"
        );
    }
}
