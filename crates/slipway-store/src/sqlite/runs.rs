//! [`RunStore`] over SQLite: `runs`, `run_jobs`, `run_steps` and the tables of their outputs and
//! annotations.
//!
//! A run is one row in `runs`, a row per job, a row per step, and rows for their outputs and
//! annotations, all written in one transaction. Jobs and steps are keyed by their position, which
//! keeps their order. Numbers are checked to fit before anything is written.

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Row, ToSql, Transaction, named_params};

use super::SqliteStore;
use super::builds::{fit, timestamp, unreadable, unsigned};
use crate::{
    Annotation, AnnotationLevel, Conclusion, GitSnapshot, JobCounts, JobRecord, NewRun, Run, RunId,
    RunQuery, RunStore, RunSummary, StepRecord, StoreError,
};

impl RunStore for SqliteStore {
    fn record_run(&self, run: &NewRun) -> Result<RunId, StoreError> {
        let numbers = RunNumbers::of(run)?;
        self.write(|transaction| insert(transaction, run, &numbers))
    }

    fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        self.read(|transaction| {
            let sql = format!("{SELECT_RUNS} WHERE r.id = ?");
            let Some(summary) = select_summaries(transaction, &sql, &[&id.get()])?.pop() else {
                return Ok(None);
            };
            let jobs = select_jobs(transaction, id)?;
            Ok(Some(Run {
                id,
                record: NewRun {
                    workflow: summary.workflow,
                    name: summary.name,
                    run_number: summary.run_number,
                    event: summary.event,
                    git: summary.git,
                    git_ref: summary.git_ref,
                    started_at: summary.started_at,
                    duration: summary.duration,
                    conclusion: summary.conclusion,
                    jobs,
                },
            }))
        })
    }

    fn runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError> {
        let conclusion = query.conclusion.map(Conclusion::as_str);
        let mut conditions = Vec::new();
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        if let Some(workflow) = &query.workflow {
            conditions.push("r.workflow = ?");
            parameters.push(workflow);
        }
        if let Some(conclusion) = &conclusion {
            conditions.push("r.conclusion = ?");
            parameters.push(conclusion);
        }
        // SQLite reads a negative LIMIT as no limit.
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql =
            format!("{SELECT_RUNS} {filter} ORDER BY r.started_at_ns DESC, r.id DESC LIMIT ?");
        self.read(|transaction| select_summaries(transaction, &sql, &parameters))
    }

    fn latest_run_number(&self, workflow: &str) -> Result<Option<u64>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached("SELECT max(run_number) FROM runs WHERE workflow = ?1")?
                .query_row([workflow], |row| {
                    row.get::<_, Option<i64>>(0)?
                        .map(|number| unsigned(row, "max(run_number)", number))
                        .transpose()
                })
        })
    }
}

/// The numbers of a [`NewRun`] as the signed integers SQLite stores, checked before the
/// transaction starts so that nothing is half-written.
struct RunNumbers {
    run_number: i64,
    started_at_ns: i64,
    duration_ns: i64,
    jobs: Vec<Times>,
}

/// A job's times, and its steps'.
struct Times {
    started_at_ns: Option<i64>,
    duration_ns: i64,
    steps: Vec<(Option<i64>, i64)>,
}

impl RunNumbers {
    fn of(run: &NewRun) -> Result<RunNumbers, StoreError> {
        let jobs = run
            .jobs
            .iter()
            .map(|job| {
                let steps = job
                    .steps
                    .iter()
                    .map(|step| {
                        Ok((
                            step.started_at.map(nanoseconds).transpose()?,
                            fit("duration", step.duration.as_nanos())?,
                        ))
                    })
                    .collect::<Result<_, StoreError>>()?;
                Ok(Times {
                    started_at_ns: job.started_at.map(nanoseconds).transpose()?,
                    duration_ns: fit("duration", job.duration.as_nanos())?,
                    steps,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(RunNumbers {
            run_number: fit("run_number", run.run_number)?,
            started_at_ns: nanoseconds(run.started_at)?,
            duration_ns: fit("duration", run.duration.as_nanos())?,
            jobs,
        })
    }
}

/// Nanoseconds in an i64 reach from 1677 to 2262: every time a run can start at.
fn nanoseconds(at: jiff::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(at.as_nanosecond()).map_err(|_| StoreError::OutOfRange {
        field: "started_at",
        value: at.to_string(),
    })
}

fn insert(
    transaction: &Transaction<'_>,
    run: &NewRun,
    numbers: &RunNumbers,
) -> rusqlite::Result<RunId> {
    transaction
        .prepare_cached(
            "INSERT INTO runs (workflow, name, run_number, event, git_commit, git_branch, \
             git_dirty, git_ref, started_at_ns, duration_ns, conclusion) \
             VALUES (:workflow, :name, :run_number, :event, :git_commit, :git_branch, \
             :git_dirty, :git_ref, :started_at_ns, :duration_ns, :conclusion)",
        )?
        .execute(named_params! {
            ":workflow": run.workflow,
            ":name": run.name,
            ":run_number": numbers.run_number,
            ":event": run.event,
            ":git_commit": run.git.commit,
            ":git_branch": run.git.branch,
            ":git_dirty": run.git.dirty,
            ":git_ref": run.git_ref,
            ":started_at_ns": numbers.started_at_ns,
            ":duration_ns": numbers.duration_ns,
            ":conclusion": run.conclusion.as_str(),
        })?;
    let id = transaction.last_insert_rowid();
    for ((position, job), times) in (0_i64..).zip(&run.jobs).zip(&numbers.jobs) {
        insert_job(transaction, id, position, job, times)?;
    }
    Ok(RunId::new(id))
}

fn insert_job(
    transaction: &Transaction<'_>,
    run_id: i64,
    position: i64,
    job: &JobRecord,
    times: &Times,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO run_jobs (run_id, position, job_id, name, matrix, runs_on, conclusion, \
             started_at_ns, duration_ns, environment, environment_url, log) \
             VALUES (:run_id, :position, :job_id, :name, :matrix, :runs_on, :conclusion, \
             :started_at_ns, :duration_ns, :environment, :environment_url, :log)",
        )?
        .execute(named_params! {
            ":run_id": run_id,
            ":position": position,
            ":job_id": job.job_id,
            ":name": job.name,
            ":matrix": job.matrix,
            ":runs_on": job.runs_on,
            ":conclusion": job.conclusion.as_str(),
            ":started_at_ns": times.started_at_ns,
            ":duration_ns": times.duration_ns,
            ":environment": job.environment,
            ":environment_url": job.environment_url,
            ":log": job.log,
        })?;
    let mut output = transaction.prepare_cached(
        "INSERT INTO run_job_outputs (run_id, job_position, name, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (name, value) in &job.outputs {
        output.execute((run_id, position, name, value))?;
    }
    for ((step_position, step), (started_at_ns, duration_ns)) in
        (0_i64..).zip(&job.steps).zip(&times.steps)
    {
        let key = StepKey {
            run_id,
            job_position: position,
            step_position,
        };
        insert_step(transaction, key, step, *started_at_ns, *duration_ns)?;
    }
    Ok(())
}

/// Where a step sits in its run.
#[derive(Clone, Copy)]
struct StepKey {
    run_id: i64,
    job_position: i64,
    step_position: i64,
}

fn insert_step(
    transaction: &Transaction<'_>,
    key: StepKey,
    step: &StepRecord,
    started_at_ns: Option<i64>,
    duration_ns: i64,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO run_steps (run_id, job_position, position, name, step_id, outcome, \
             conclusion, exit_code, started_at_ns, duration_ns, log, summary) \
             VALUES (:run_id, :job_position, :position, :name, :step_id, :outcome, :conclusion, \
             :exit_code, :started_at_ns, :duration_ns, :log, :summary)",
        )?
        .execute(named_params! {
            ":run_id": key.run_id,
            ":job_position": key.job_position,
            ":position": key.step_position,
            ":name": step.name,
            ":step_id": step.step_id,
            ":outcome": step.outcome.as_str(),
            ":conclusion": step.conclusion.as_str(),
            ":exit_code": step.exit_code,
            ":started_at_ns": started_at_ns,
            ":duration_ns": duration_ns,
            ":log": step.log,
            ":summary": step.summary,
        })?;
    let mut output = transaction.prepare_cached(
        "INSERT INTO run_step_outputs (run_id, job_position, step_position, name, value) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (name, value) in &step.outputs {
        output.execute((key.run_id, key.job_position, key.step_position, name, value))?;
    }
    let mut annotation = transaction.prepare_cached(
        "INSERT INTO run_annotations (run_id, job_position, step_position, position, level, \
         message, title, file, line, end_line, col, end_col) \
         VALUES (:run_id, :job_position, :step_position, :position, :level, :message, :title, \
         :file, :line, :end_line, :col, :end_col)",
    )?;
    for (position, note) in (0_i64..).zip(&step.annotations) {
        annotation.execute(named_params! {
            ":run_id": key.run_id,
            ":job_position": key.job_position,
            ":step_position": key.step_position,
            ":position": position,
            ":level": note.level.as_str(),
            ":message": note.message,
            ":title": note.title,
            ":file": note.file,
            ":line": note.line,
            ":end_line": note.end_line,
            ":col": note.column,
            ":end_col": note.end_column,
        })?;
    }
    Ok(())
}

/// The columns [`decode_summary`] reads, to be followed by a WHERE clause on `r` (`runs`).
const SELECT_RUNS: &str = "SELECT r.id, r.workflow, r.name, r.run_number, r.event, \
     r.git_commit, r.git_branch, r.git_dirty, r.git_ref, r.started_at_ns, r.duration_ns, \
     r.conclusion, \
     (SELECT count(*) FROM run_jobs j WHERE j.run_id = r.id AND j.conclusion = 'success') AS jobs_success, \
     (SELECT count(*) FROM run_jobs j WHERE j.run_id = r.id AND j.conclusion = 'failure') AS jobs_failure, \
     (SELECT count(*) FROM run_jobs j WHERE j.run_id = r.id AND j.conclusion = 'cancelled') AS jobs_cancelled, \
     (SELECT count(*) FROM run_jobs j WHERE j.run_id = r.id AND j.conclusion = 'skipped') AS jobs_skipped \
     FROM runs r";

fn select_summaries(
    transaction: &Transaction<'_>,
    sql: &str,
    parameters: &[&dyn ToSql],
) -> rusqlite::Result<Vec<RunSummary>> {
    transaction
        .prepare_cached(sql)?
        .query_map(parameters, decode_summary)?
        .collect()
}

fn decode_summary(row: &Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: RunId::new(row.get("id")?),
        workflow: row.get("workflow")?,
        name: row.get("name")?,
        run_number: unsigned(row, "run_number", row.get("run_number")?)?,
        event: row.get("event")?,
        git: GitSnapshot {
            commit: row.get("git_commit")?,
            branch: row.get("git_branch")?,
            dirty: row.get("git_dirty")?,
        },
        git_ref: row.get("git_ref")?,
        started_at: timestamp(row, "started_at_ns")?,
        duration: duration(row, "duration_ns")?,
        conclusion: conclusion(row, "conclusion")?,
        jobs: JobCounts {
            success: row.get("jobs_success")?,
            failure: row.get("jobs_failure")?,
            cancelled: row.get("jobs_cancelled")?,
            skipped: row.get("jobs_skipped")?,
        },
    })
}

fn select_jobs(transaction: &Transaction<'_>, run: RunId) -> rusqlite::Result<Vec<JobRecord>> {
    let mut jobs = transaction
        .prepare_cached(
            "SELECT position, job_id, name, matrix, runs_on, conclusion, started_at_ns, \
             duration_ns, environment, environment_url, log \
             FROM run_jobs WHERE run_id = ?1 ORDER BY position",
        )?
        .query_map([run.get()], |row| {
            let position: i64 = row.get("position")?;
            let job = JobRecord {
                job_id: row.get("job_id")?,
                name: row.get("name")?,
                matrix: row.get("matrix")?,
                runs_on: row.get("runs_on")?,
                conclusion: conclusion(row, "conclusion")?,
                started_at: optional_timestamp(row, "started_at_ns")?,
                duration: duration(row, "duration_ns")?,
                environment: row.get("environment")?,
                environment_url: row.get("environment_url")?,
                outputs: BTreeMap::new(),
                log: row.get("log")?,
                steps: Vec::new(),
            };
            Ok((position, job))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut outputs = transaction.prepare_cached(
        "SELECT name, value FROM run_job_outputs WHERE run_id = ?1 AND job_position = ?2",
    )?;
    for (position, job) in &mut jobs {
        job.outputs = outputs
            .query_map((run.get(), *position), |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        job.steps = select_steps(transaction, run, *position)?;
    }
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

fn select_steps(
    transaction: &Transaction<'_>,
    run: RunId,
    job_position: i64,
) -> rusqlite::Result<Vec<StepRecord>> {
    let mut steps = transaction
        .prepare_cached(
            "SELECT position, name, step_id, outcome, conclusion, exit_code, started_at_ns, \
             duration_ns, log, summary \
             FROM run_steps WHERE run_id = ?1 AND job_position = ?2 ORDER BY position",
        )?
        .query_map((run.get(), job_position), |row| {
            let position: i64 = row.get("position")?;
            let step = StepRecord {
                name: row.get("name")?,
                step_id: row.get("step_id")?,
                outcome: conclusion(row, "outcome")?,
                conclusion: conclusion(row, "conclusion")?,
                exit_code: row.get("exit_code")?,
                started_at: optional_timestamp(row, "started_at_ns")?,
                duration: duration(row, "duration_ns")?,
                outputs: BTreeMap::new(),
                log: row.get("log")?,
                summary: row.get("summary")?,
                annotations: Vec::new(),
            };
            Ok((position, step))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut outputs = transaction.prepare_cached(
        "SELECT name, value FROM run_step_outputs \
         WHERE run_id = ?1 AND job_position = ?2 AND step_position = ?3",
    )?;
    let mut annotations = transaction.prepare_cached(
        "SELECT level, message, title, file, line, end_line, col, end_col FROM run_annotations \
         WHERE run_id = ?1 AND job_position = ?2 AND step_position = ?3 ORDER BY position",
    )?;
    for (position, step) in &mut steps {
        let key = (run.get(), job_position, *position);
        step.outputs = outputs
            .query_map(key, |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        step.annotations = annotations
            .query_map(key, decode_annotation)?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(steps.into_iter().map(|(_, step)| step).collect())
}

fn decode_annotation(row: &Row<'_>) -> rusqlite::Result<Annotation> {
    let level: String = row.get("level")?;
    let level = AnnotationLevel::from_name(&level)
        .ok_or_else(|| unreadable(row, "level", Type::Text, &format!("level {level:?}")))?;
    Ok(Annotation {
        level,
        message: row.get("message")?,
        title: row.get("title")?,
        file: row.get("file")?,
        line: row.get("line")?,
        end_line: row.get("end_line")?,
        column: row.get("col")?,
        end_column: row.get("end_col")?,
    })
}

fn conclusion(row: &Row<'_>, column: &str) -> rusqlite::Result<Conclusion> {
    let name: String = row.get(column)?;
    Conclusion::from_name(&name)
        .ok_or_else(|| unreadable(row, column, Type::Text, &format!("conclusion {name:?}")))
}

fn duration(row: &Row<'_>, column: &str) -> rusqlite::Result<Duration> {
    Ok(Duration::from_nanos(unsigned(
        row,
        column,
        row.get(column)?,
    )?))
}

fn optional_timestamp(row: &Row<'_>, column: &str) -> rusqlite::Result<Option<jiff::Timestamp>> {
    match row.get::<_, Option<i64>>(column)? {
        Some(_) => timestamp(row, column).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
pub(in crate::sqlite) mod tests {
    use super::*;

    /// A run with one job of two steps, every field set.
    pub(in crate::sqlite) fn sample(workflow: &str) -> NewRun {
        let step = StepRecord {
            name: "Run make test".to_owned(),
            step_id: Some("test".to_owned()),
            outcome: Conclusion::Failure,
            conclusion: Conclusion::Success,
            exit_code: Some(2),
            started_at: Some("2025-03-01T10:15:31Z".parse().unwrap()),
            duration: Duration::from_millis(1_250),
            outputs: BTreeMap::from([("coverage".to_owned(), "81%".to_owned())]),
            log: "make: *** [test] Error 2\n".to_owned(),
            summary: "## Tests\n".to_owned(),
            annotations: vec![Annotation {
                level: AnnotationLevel::Warning,
                message: "flaky".to_owned(),
                title: Some("retry".to_owned()),
                file: Some("src/lib.rs".to_owned()),
                line: Some(3),
                end_line: Some(4),
                column: Some(1),
                end_column: Some(9),
            }],
        };
        let skipped = StepRecord {
            name: "deploy".to_owned(),
            step_id: None,
            outcome: Conclusion::Skipped,
            conclusion: Conclusion::Skipped,
            exit_code: None,
            started_at: None,
            duration: Duration::ZERO,
            outputs: BTreeMap::new(),
            log: String::new(),
            summary: String::new(),
            annotations: vec![],
        };
        NewRun {
            workflow: workflow.to_owned(),
            name: "CI".to_owned(),
            run_number: 7,
            event: "push".to_owned(),
            git: GitSnapshot {
                commit: Some("0123abcdef0123abcdef0123abcdef0123abcdef".to_owned()),
                branch: Some("main".to_owned()),
                dirty: false,
            },
            git_ref: Some("refs/heads/main".to_owned()),
            started_at: "2025-03-01T10:15:30.123456789Z".parse().unwrap(),
            duration: Duration::from_secs(3),
            conclusion: Conclusion::Success,
            jobs: vec![JobRecord {
                job_id: "test".to_owned(),
                name: "test (18)".to_owned(),
                matrix: Some(r#"{"node":18}"#.to_owned()),
                runs_on: "host".to_owned(),
                conclusion: Conclusion::Success,
                started_at: Some("2025-03-01T10:15:30.5Z".parse().unwrap()),
                duration: Duration::from_secs(2),
                environment: Some("staging".to_owned()),
                environment_url: Some("https://staging.example.com".to_owned()),
                outputs: BTreeMap::from([("version".to_owned(), "1.2.3".to_owned())]),
                log: "set up job\n".to_owned(),
                steps: vec![step, skipped],
            }],
        }
    }

    #[test]
    fn a_conclusion_the_store_cannot_have_written_reads_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let id = store.record_run(&sample("ci.yml")).unwrap();
        store
            .lock()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON; UPDATE run_steps SET outcome = 'exploded'",
            )
            .unwrap();

        let error = store.run(id).unwrap_err();

        assert!(
            matches!(&error, StoreError::Corrupt { detail, .. } if detail.contains("exploded")),
            "{error:?}"
        );
    }

    #[test]
    fn a_run_number_beyond_i64_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let run = NewRun {
            run_number: u64::MAX,
            ..sample("ci.yml")
        };

        let error = store.record_run(&run).unwrap_err();

        assert!(
            matches!(
                &error,
                StoreError::OutOfRange {
                    field: "run_number",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(store.runs(&RunQuery::default()).unwrap(), vec![]);
    }
}
