//! The JSON API under `/api/v1/`: projects, dispatch, runs (with cancel and rerun) and tokens.
//! Handlers only parse, call the store through its traits or the state's `enqueue`, and answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use slipway_store::{QueueQuery, QueuedRun, QueuedRunId, Role, Run, RunStatus, Token, Trigger};

use crate::audit::{self, Remote};
use crate::auth::{Caller, create_token as make_token};
use crate::error::ApiError;
use crate::projects::{NewProject, add};
use crate::state::AppState;

type Shared = State<Arc<AppState>>;

/// `GET /healthz`.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /api/v1/projects`.
pub(crate) async fn list_projects(
    State(state): Shared,
) -> Result<Json<Vec<slipway_store::Project>>, ApiError> {
    Ok(Json(state.blocking(|store| store.projects()).await?))
}

/// `POST /api/v1/projects` with a [`NewProject`].
pub(crate) async fn add_project(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Json(project): Json<NewProject>,
) -> Result<(StatusCode, Json<slipway_store::Project>), ApiError> {
    let project = project.validate().map_err(ApiError::bad_request)?;
    let added = state.blocking(move |store| add(store, project)).await?;
    let detail = format!("repository {}", added.repository);
    audit::by(&state, &caller, remote, "project.add", &added.name, detail).await;
    Ok((StatusCode::CREATED, Json(added)))
}

/// `GET /api/v1/projects/{name}`.
pub(crate) async fn show_project(
    State(state): Shared,
    Path(name): Path<String>,
) -> Result<Json<slipway_store::Project>, ApiError> {
    Ok(Json(project(&state, name).await?))
}

/// `DELETE /api/v1/projects/{name}`.
pub(crate) async fn remove_project(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let lookup = name.clone();
    if state
        .blocking(move |store| store.remove_project(&lookup))
        .await?
    {
        audit::by(
            &state,
            &caller,
            remote,
            "project.remove",
            &name,
            String::new(),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_project(&name))
    }
}

async fn project(state: &AppState, name: String) -> Result<slipway_store::Project, ApiError> {
    let lookup = name.clone();
    state
        .blocking(move |store| store.project(&lookup))
        .await?
        .ok_or_else(|| no_project(&name))
}

fn no_project(name: &str) -> ApiError {
    ApiError::not_found(format!("no project named {name:?}"))
        .hint("list projects with `slipway projects list`")
}

/// The body of `POST /api/v1/projects/{name}/dispatch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dispatch {
    /// The workflow file, relative to the repository (`.github/workflows/deploy.yml`).
    workflow: String,
    /// A branch, tag or full ref; the project's default branch when absent.
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    /// The `workflow_dispatch` inputs; typed and checked against the workflow when it runs.
    #[serde(default)]
    inputs: BTreeMap<String, serde_json::Value>,
}

/// What a trigger answers: the queued run.
#[derive(Debug, Serialize)]
pub(crate) struct Queued {
    id: QueuedRunId,
    url: String,
}

impl Queued {
    fn of(id: QueuedRunId) -> Queued {
        Queued {
            id,
            url: format!("/api/v1/runs/{id}"),
        }
    }
}

/// `POST /api/v1/projects/{name}/dispatch`: a `workflow_dispatch` run of one workflow.
pub(crate) async fn dispatch(
    State(state): Shared,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Json(request): Json<Dispatch>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let project = project(&state, name).await?;
    if !request.workflow.starts_with(".github/workflows/") || request.workflow.contains("..") {
        return Err(ApiError::bad_request(format!(
            "workflow {:?} is not a file under .github/workflows/",
            request.workflow
        ))
        .hint("name the file as in the repository: .github/workflows/deploy.yml"));
    }
    let inputs = request
        .inputs
        .into_iter()
        .map(|(name, value)| input_text(&name, value).map(|text| (name, text)))
        .collect::<Result<_, _>>()?;
    let git_ref = full_ref(
        request
            .git_ref
            .as_deref()
            .unwrap_or(&project.default_branch),
    );
    let detail = format!("of {} at {git_ref}", request.workflow);
    let id = state
        .enqueue(Trigger {
            project: project.name.clone(),
            workflow: Some(request.workflow),
            event: "workflow_dispatch".to_owned(),
            git_ref,
            sha: None,
            actor: caller.name.clone(),
            inputs,
            rerun_of: None,
            payload: None,
            withhold_secrets: false,
        })
        .await?;
    let detail = format!("run {id} {detail}");
    audit::by(
        &state,
        &caller,
        remote,
        "run.dispatch",
        &project.name,
        detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(Queued::of(id))))
}

/// An input as the text the runner types: strings as they are, booleans and numbers spelled out.
fn input_text(name: &str, value: serde_json::Value) -> Result<String, ApiError> {
    match value {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        other => Err(ApiError::bad_request(format!(
            "input {name:?} is {other}; inputs are strings, booleans or numbers"
        ))),
    }
}

/// `main` → `refs/heads/main`; a full ref stays as it is.
fn full_ref(git_ref: &str) -> String {
    if git_ref.starts_with("refs/") {
        git_ref.to_owned()
    } else {
        format!("refs/heads/{git_ref}")
    }
}

/// The filters and cursor of `GET /api/v1/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunsQuery {
    project: Option<String>,
    status: Option<String>,
    /// The `next` of the previous page.
    cursor: Option<QueuedRunId>,
    limit: Option<u32>,
}

/// A page of runs and the cursor of the next one.
#[derive(Debug, Serialize)]
pub(crate) struct RunsPage {
    runs: Vec<QueuedRun>,
    next: Option<QueuedRunId>,
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// `GET /api/v1/runs?project=&status=&cursor=&limit=`, newest first.
pub(crate) async fn list_runs(
    State(state): Shared,
    Query(query): Query<RunsQuery>,
) -> Result<Json<RunsPage>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|name| {
            [
                RunStatus::Queued,
                RunStatus::InProgress,
                RunStatus::Completed,
            ]
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status {name:?}: expected queued, in_progress or completed"
                ))
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let store_query = QueueQuery {
        project: query.project,
        status,
        before: query.cursor,
        limit: Some(limit),
    };
    let runs = state
        .blocking(move |store| store.queued_runs(&store_query))
        .await?;
    let next = (runs.len() == limit as usize)
        .then(|| runs.last().map(|run| run.id))
        .flatten();
    Ok(Json(RunsPage { runs, next }))
}

/// A run with the workflow runs it produced, each with its jobs and steps.
#[derive(Debug, Serialize)]
pub(crate) struct RunDetail {
    #[serde(flatten)]
    run: QueuedRun,
    workflow_runs: Vec<Run>,
}

/// `GET /api/v1/runs/{id}`.
pub(crate) async fn show_run(
    State(state): Shared,
    Path(id): Path<QueuedRunId>,
) -> Result<Json<RunDetail>, ApiError> {
    let detail = state
        .blocking(move |store| {
            let Some(run) = store.queued_run(id)? else {
                return Ok(None);
            };
            let mut workflow_runs = Vec::new();
            for run_id in &run.runs {
                workflow_runs.extend(store.run(*run_id)?);
            }
            Ok(Some(RunDetail { run, workflow_runs }))
        })
        .await?
        .ok_or_else(|| no_run(id))?;
    Ok(Json(detail))
}

pub(crate) fn no_run(id: QueuedRunId) -> ApiError {
    ApiError::not_found(format!("no run {id}")).hint("list runs with GET /api/v1/runs")
}

/// `POST /api/v1/runs/{id}/cancel`: a queued run is completed as cancelled; a running one is
/// interrupted as Ctrl-C interrupts `slipway run`, and completes when its steps have stopped.
pub(crate) async fn cancel_run(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Path(id): Path<QueuedRunId>,
) -> Result<StatusCode, ApiError> {
    let cancelled = |detail: &'static str| {
        let state = state.clone();
        async move {
            let target = id.to_string();
            audit::by(
                &state,
                &caller,
                remote,
                "run.cancel",
                &target,
                detail.to_owned(),
            )
            .await;
            Ok(StatusCode::ACCEPTED)
        }
    };
    if state
        .blocking(move |store| store.cancel_queued(id, jiff::Timestamp::now()))
        .await?
    {
        // Nobody runs it, so nobody else would end its followers' streams.
        state.live.finish(id);
        return cancelled("was queued").await;
    }
    if state.interrupt(id) {
        return cancelled("was running: interrupted").await;
    }
    let run = state
        .blocking(move |store| store.queued_run(id))
        .await?
        .ok_or_else(|| no_run(id))?;
    Err(ApiError::conflict(format!(
        "run {id} is {}; only a queued or running run can be cancelled",
        run.conclusion.map_or(run.status.as_str(), |c| c.as_str())
    )))
}

/// `POST /api/v1/runs/{id}/rerun`: queues the same trigger again, at the commit the run ran.
pub(crate) async fn rerun(
    State(state): Shared,
    Path(id): Path<QueuedRunId>,
    Extension(caller): Extension<Caller>,
    remote: Remote,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let (run, commit) = state
        .blocking(move |store| {
            let Some(run) = store.queued_run(id)? else {
                return Ok(None);
            };
            let commit = match run.runs.first() {
                Some(first) => store
                    .run(*first)?
                    .and_then(|recorded| recorded.record.git.commit),
                None => None,
            };
            Ok(Some((run, commit)))
        })
        .await?
        .ok_or_else(|| no_run(id))?;
    if run.status != RunStatus::Completed {
        return Err(ApiError::conflict(format!(
            "run {id} is {}; rerun it once it has completed",
            run.status
        )));
    }
    let trigger = Trigger {
        sha: run.trigger.sha.or(commit),
        actor: caller.name.clone(),
        rerun_of: Some(id),
        ..run.trigger
    };
    let project = trigger.project.clone();
    let rerun = state.enqueue(trigger).await?;
    let detail = format!("run {rerun} runs {id} again");
    audit::by(&state, &caller, remote, "run.rerun", &project, detail).await;
    Ok((StatusCode::CREATED, Json(Queued::of(rerun))))
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTokenRequest {
    name: String,
    role: Role,
}

/// A token just made: shown once.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedTokenBody {
    #[serde(flatten)]
    token: Token,
    secret: String,
}

/// `GET /api/v1/tokens`.
pub(crate) async fn list_tokens(State(state): Shared) -> Result<Json<Vec<Token>>, ApiError> {
    Ok(Json(state.blocking(|store| store.tokens()).await?))
}

/// `POST /api/v1/tokens`.
pub(crate) async fn create_token(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Json(request): Json<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedTokenBody>), ApiError> {
    crate::projects::check_name("token", &request.name).map_err(ApiError::bad_request)?;
    let created = state
        .blocking(move |store| make_token(store, &request.name, request.role))
        .await?;
    let detail = format!("role {}", created.token.role);
    let target = created.token.name.clone();
    audit::by(&state, &caller, remote, "token.create", &target, detail).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenBody {
            token: created.token,
            secret: created.secret,
        }),
    ))
}

/// `DELETE /api/v1/tokens/{name}`.
pub(crate) async fn revoke_token(
    State(state): Shared,
    Extension(caller): Extension<Caller>,
    remote: Remote,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let lookup = name.clone();
    if state
        .blocking(move |store| store.revoke_token(&lookup, jiff::Timestamp::now()))
        .await?
    {
        audit::by(
            &state,
            &caller,
            remote,
            "token.revoke",
            &name,
            String::new(),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no live token named {name:?}")))
    }
}
