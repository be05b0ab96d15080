//! Retention and garbage collection on a schedule, while the registry serves.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use crate::gc::GcOptions;
use crate::registry::Registry;
use crate::retention::RetentionPolicies;

/// Every `every`, applies `policies` (when there are any) and then collects garbage, until the
/// returned task is aborted. A failed round is logged and the next one runs as scheduled.
pub fn spawn_maintenance(
    registry: Arc<Registry>,
    every: Duration,
    policies: RetentionPolicies,
    gc: GcOptions,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if !policies.is_empty() {
                let applied = match registry.plan_retention(&policies, SystemTime::now()).await {
                    Ok(plan) => registry.apply_retention(&plan).await,
                    Err(error) => Err(error),
                };
                match applied {
                    Ok(outcome) => tracing::info!(?outcome, "retention applied"),
                    Err(error) => tracing::warn!(%error, "retention failed"),
                }
            }
            if let Err(error) = registry.collect_garbage(&gc).await {
                tracing::warn!(%error, "garbage collection failed");
            }
        }
    })
}
