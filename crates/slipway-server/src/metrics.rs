//! `GET /metrics` in Prometheus' text format: queue depth and runs by status from the store,
//! job durations counted as jobs finish, webhook deliveries by outcome.

use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use slipway_store::Conclusion;

use crate::error::ApiError;
use crate::state::AppState;

/// Upper bounds of the job-duration histogram's buckets, in seconds.
const BUCKETS: [f64; 10] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// What the server counts itself (the rest is read from the store when scraped).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    jobs: Mutex<JobDurations>,
}

#[derive(Debug, Default)]
struct JobDurations {
    /// Jobs at or under each bucket's bound, by index into [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
    by_conclusion: [u64; 4],
}

impl Metrics {
    pub(crate) fn job_finished(&self, conclusion: Conclusion, duration: Duration) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let seconds = duration.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(jobs.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        jobs.count += 1;
        jobs.sum_seconds += seconds;
        jobs.by_conclusion[conclusion_index(conclusion)] += 1;
    }
}

fn conclusion_index(conclusion: Conclusion) -> usize {
    match conclusion {
        Conclusion::Success => 0,
        Conclusion::Failure => 1,
        Conclusion::Cancelled => 2,
        Conclusion::Skipped => 3,
    }
}

const CONCLUSIONS: [Conclusion; 4] = [
    Conclusion::Success,
    Conclusion::Failure,
    Conclusion::Cancelled,
    Conclusion::Skipped,
];

/// `GET /metrics`.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
) -> Result<impl IntoResponse, ApiError> {
    let counts = state.blocking(|store| store.queue_counts()).await?;
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        text,
        "# HELP slipway_queue_depth Runs waiting for a worker.\n\
         # TYPE slipway_queue_depth gauge\n\
         slipway_queue_depth {}",
        counts.queued
    );
    let _ = writeln!(
        text,
        "# HELP slipway_runs Runs by status (completed ones by conclusion).\n\
         # TYPE slipway_runs gauge"
    );
    for (status, count) in [
        ("queued", counts.queued),
        ("in_progress", counts.in_progress),
        ("success", counts.success),
        ("failure", counts.failure),
        ("cancelled", counts.cancelled),
        ("skipped", counts.skipped),
    ] {
        let _ = writeln!(text, "slipway_runs{{status=\"{status}\"}} {count}");
    }
    let jobs = state
        .metrics
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let _ = writeln!(
        text,
        "# HELP slipway_job_duration_seconds How long jobs ran, since the server started.\n\
         # TYPE slipway_job_duration_seconds histogram"
    );
    for (bound, count) in BUCKETS.iter().zip(jobs.buckets) {
        let _ = writeln!(
            text,
            "slipway_job_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        text,
        "slipway_job_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
         slipway_job_duration_seconds_sum {sum}\n\
         slipway_job_duration_seconds_count {count}",
        count = jobs.count,
        sum = jobs.sum_seconds
    );
    let _ = writeln!(
        text,
        "# HELP slipway_jobs_finished Jobs finished since the server started, by conclusion.\n\
         # TYPE slipway_jobs_finished counter"
    );
    for conclusion in CONCLUSIONS {
        let _ = writeln!(
            text,
            "slipway_jobs_finished{{conclusion=\"{conclusion}\"}} {}",
            jobs.by_conclusion[conclusion_index(conclusion)]
        );
    }
    let _ = writeln!(
        text,
        "# HELP slipway_webhook_deliveries Webhook deliveries since the server started, by outcome.\n\
         # TYPE slipway_webhook_deliveries counter"
    );
    for (outcome, count) in state.deliveries.by_outcome() {
        let _ = writeln!(
            text,
            "slipway_webhook_deliveries{{outcome=\"{outcome}\"}} {count}"
        );
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    ))
}
