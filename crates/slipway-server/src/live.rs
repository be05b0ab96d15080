//! Live logs: the lines of runs in progress, kept and broadcast to followers, and
//! `GET /api/v1/runs/{id}/logs[?follow=1]` as Server-Sent Events.
//!
//! A follower first gets every line printed so far (from the store once the run is recorded,
//! else from the run's buffer here), then each line as a step prints it, then an `end` event
//! with the run's conclusion. Lines arrive masked: the runner masks every event it sends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use slipway_runner::{Observer, RunEvent};
use slipway_store::{QueuedRun, QueuedRunId, RunStatus, Store, StoreError};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::api::no_run;
use crate::error::ApiError;
use crate::state::AppState;

/// How many lines a slow follower may fall behind before it is told it missed some.
const FOLLOWER_BACKLOG: usize = 4096;

/// One line of a run's log.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogLine {
    job: String,
    step: Option<String>,
    text: String,
}

struct LiveRun {
    lines: Vec<LogLine>,
    sender: broadcast::Sender<LogLine>,
}

/// The logs of the runs in progress (and of queued runs someone follows).
#[derive(Default)]
pub(crate) struct LiveLogs {
    runs: Mutex<HashMap<QueuedRunId, LiveRun>>,
}

impl std::fmt::Debug for LiveLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLogs").finish_non_exhaustive()
    }
}

impl LiveLogs {
    /// The lines so far and a receiver of the ones to come, registering the run if needed.
    fn follow(&self, id: QueuedRunId) -> (Vec<LogLine>, broadcast::Receiver<LogLine>) {
        let mut runs = self.lock();
        let run = runs.entry(id).or_insert_with(new_run);
        (run.lines.clone(), run.sender.subscribe())
    }

    /// Appends a line and sends it to the followers.
    fn push(&self, id: QueuedRunId, line: LogLine) {
        let mut runs = self.lock();
        let run = runs.entry(id).or_insert_with(new_run);
        // No follower is not an error: the line is kept for later ones.
        let _ = run.sender.send(line.clone());
        run.lines.push(line);
    }

    /// The run is recorded and completed: followers' streams end, later ones read the store.
    pub(crate) fn finish(&self, id: QueuedRunId) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<QueuedRunId, LiveRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn new_run() -> LiveRun {
    LiveRun {
        lines: Vec::new(),
        sender: broadcast::channel(FOLLOWER_BACKLOG).0,
    }
}

/// The observer a worker gives the runner: each line goes to the run's live log, each finished
/// job to the metrics.
pub(crate) struct LiveObserver {
    pub(crate) id: QueuedRunId,
    pub(crate) state: Arc<AppState>,
}

impl Observer for LiveObserver {
    fn event(&self, event: RunEvent) {
        match event {
            RunEvent::Line { job, step, text } => {
                let line = LogLine {
                    job: job.to_string(),
                    step: step.map(|step| step.to_string()),
                    text,
                };
                self.state.live.push(self.id, line);
            }
            RunEvent::JobFinished {
                conclusion,
                duration,
                ..
            } => self.state.metrics.job_finished(conclusion, duration),
            _ => {}
        }
    }
}

/// The query of the logs route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsQuery {
    /// `1` or `true`: keep the stream open until the run completes.
    follow: Option<String>,
}

/// `GET /api/v1/runs/{id}/logs[?follow=1]`.
pub(crate) async fn logs(
    State(state): State<Arc<AppState>>,
    Path(id): Path<QueuedRunId>,
    Query(query): Query<LogsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let follow = matches!(query.follow.as_deref(), Some("1" | "true"));
    let run = find(&state, id).await?;
    let stream = if run.status == RunStatus::Completed {
        stored(&state, run).await?.boxed()
    } else {
        let (lines, receiver) = state.live.follow(id);
        // The run may have completed, and its live log gone, between the lookup and the
        // subscription: then this subscription would never end, and the store has it all.
        let run = find(&state, id).await?;
        if run.status == RunStatus::Completed {
            state.live.finish(id);
            stored(&state, run).await?.boxed()
        } else if follow {
            live(&state, id, lines, receiver).boxed()
        } else {
            stream::iter(lines.into_iter().map(line_event)).boxed()
        }
    };
    Ok(Sse::new(stream.map(Ok)).keep_alive(KeepAlive::default()))
}

async fn find(state: &AppState, id: QueuedRunId) -> Result<QueuedRun, ApiError> {
    state
        .blocking(move |store| store.queued_run(id))
        .await?
        .ok_or_else(|| no_run(id))
}

/// The lines so far, each line as it comes, then the end once the run has completed.
fn live(
    state: &Arc<AppState>,
    id: QueuedRunId,
    lines: Vec<LogLine>,
    receiver: broadcast::Receiver<LogLine>,
) -> impl Stream<Item = Event> + use<> {
    let coming = BroadcastStream::new(receiver).map(|line| match line {
        Ok(line) => line_event(line),
        Err(BroadcastStreamRecvError::Lagged(missed)) => Event::default().event("missed").data(
            format!("{missed} lines were dropped because this follower fell behind"),
        ),
    });
    let state = state.clone();
    let end = stream::once(async move {
        match find(&state, id).await {
            Ok(run) => end_event(&run),
            Err(_) => Event::default().event("end").data("{}"),
        }
    });
    stream::iter(lines.into_iter().map(line_event))
        .chain(coming)
        .chain(end)
}

/// Every stored line of a completed run, then its end.
async fn stored(
    state: &AppState,
    run: QueuedRun,
) -> Result<impl Stream<Item = Event> + use<>, ApiError> {
    let ids = run.runs.clone();
    let lines = state
        .blocking(move |store| stored_lines(store, &ids))
        .await?;
    let end = end_event(&run);
    Ok(stream::iter(
        lines
            .into_iter()
            .map(line_event)
            .chain(std::iter::once(end)),
    ))
}

fn stored_lines(
    store: &dyn Store,
    runs: &[slipway_store::RunId],
) -> Result<Vec<LogLine>, StoreError> {
    let mut lines = Vec::new();
    for id in runs {
        let Some(run) = store.run(*id)? else { continue };
        for job in run.record.jobs {
            let text_lines = |text: &str, step: Option<&str>| {
                text.lines()
                    .map(|text| LogLine {
                        job: job.name.clone(),
                        step: step.map(str::to_owned),
                        text: text.to_owned(),
                    })
                    .collect::<Vec<_>>()
            };
            lines.extend(text_lines(&job.log, None));
            for step in &job.steps {
                lines.extend(text_lines(&step.log, Some(&step.name)));
            }
        }
    }
    Ok(lines)
}

fn line_event(line: LogLine) -> Event {
    Event::default()
        .event("line")
        .json_data(&line)
        .unwrap_or_else(|_| Event::default().event("line").data(line.text))
}

fn end_event(run: &QueuedRun) -> Event {
    let body = serde_json::json!({ "status": run.status, "conclusion": run.conclusion });
    Event::default().event("end").data(body.to_string())
}
