//! [`QueueStore`] over SQLite: the `run_queue` and `queued_run_records` tables.

use std::collections::BTreeMap;

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, ToSql, Transaction, named_params};

use super::SqliteStore;
use super::builds::{fit, timestamp, unreadable};
use super::tokens::optional_timestamp;
use crate::{
    ClaimLimits, Conclusion, OnRestart, QueueQuery, QueueStore, QueuedRun, QueuedRunId, RunId,
    RunStatus, StatusCounts, StoreError, Trigger,
};

impl QueueStore for SqliteStore {
    fn enqueue_run(
        &self,
        trigger: &Trigger,
        at: jiff::Timestamp,
    ) -> Result<QueuedRunId, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        self.write(|transaction| enqueue_in(transaction, trigger, at_ns))
    }

    fn claim_run(
        &self,
        limits: ClaimLimits,
        at: jiff::Timestamp,
    ) -> Result<Option<QueuedRun>, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        // One statement in a write transaction: the counts and the update see the same state,
        // and no other writer runs in between.
        self.write(|transaction| {
            let claimed: Option<i64> = transaction
                .prepare_cached(
                    "UPDATE run_queue SET status = 'in_progress', started_at_ns = :at
                     WHERE id = (
                         SELECT queued.id FROM run_queue AS queued
                         WHERE queued.status = 'queued'
                           AND (SELECT count(*) FROM run_queue WHERE status = 'in_progress')
                               < :global
                           AND (SELECT count(*) FROM run_queue AS running
                                WHERE running.status = 'in_progress'
                                  AND running.project = queued.project) < :per_project
                         ORDER BY queued.id LIMIT 1)
                     RETURNING id",
                )?
                .query_row(
                    named_params! {
                        ":at": at_ns,
                        ":global": limits.global,
                        ":per_project": limits.per_project,
                    },
                    |row| row.get(0),
                )
                .optional()?;
            claimed
                .map(|id| select_one(transaction, QueuedRunId::new(id)))
                .transpose()
                .map(Option::flatten)
        })
    }

    fn link_run(&self, id: QueuedRunId, run: RunId) -> Result<(), StoreError> {
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO queued_run_records (queued_id, run_id) VALUES (?1, ?2)",
                )?
                .execute((id.get(), run.get()))?;
            Ok(())
        })
    }

    fn complete_run(
        &self,
        id: QueuedRunId,
        conclusion: Conclusion,
        detail: Option<&str>,
        at: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        self.write(|transaction| {
            let completed = transaction
                .prepare_cached(
                    "UPDATE run_queue SET status = 'completed', conclusion = :conclusion,
                         detail = coalesce(:detail, detail), finished_at_ns = :at,
                         started_at_ns = coalesce(started_at_ns, :at)
                     WHERE id = :id AND status != 'completed'",
                )?
                .execute(named_params! {
                    ":conclusion": conclusion.as_str(),
                    ":detail": detail,
                    ":at": at_ns,
                    ":id": id.get(),
                })?;
            if completed > 0 && conclusion == Conclusion::Skipped {
                // The delivery that queued a run which ran nothing was, in the end, skipped.
                transaction
                    .prepare_cached(
                        "UPDATE deliveries SET outcome = 'skipped',
                             reason = (SELECT detail FROM run_queue WHERE id = :id)
                         WHERE id = (SELECT delivery FROM run_queue WHERE id = :id)",
                    )?
                    .execute(named_params! { ":id": id.get() })?;
            }
            Ok(completed > 0)
        })
    }

    fn cancel_queued(&self, id: QueuedRunId, at: jiff::Timestamp) -> Result<bool, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        self.write(|transaction| {
            let cancelled = transaction
                .prepare_cached(
                    "UPDATE run_queue SET status = 'completed', conclusion = 'cancelled',
                         started_at_ns = ?2, finished_at_ns = ?2, detail = 'cancelled while queued'
                     WHERE id = ?1 AND status = 'queued'",
                )?
                .execute((id.get(), at_ns))?;
            Ok(cancelled > 0)
        })
    }

    fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError> {
        self.read(|transaction| select_one(transaction, id))
    }

    fn queued_runs(&self, query: &QueueQuery) -> Result<Vec<QueuedRun>, StoreError> {
        let status = query.status.map(RunStatus::as_str);
        let before = query.before.map(QueuedRunId::get);
        let mut conditions = Vec::new();
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        if let Some(project) = &query.project {
            conditions.push("project = ?");
            parameters.push(project);
        }
        if let Some(status) = &status {
            conditions.push("status = ?");
            parameters.push(status);
        }
        if let Some(before) = &before {
            conditions.push("id < ?");
            parameters.push(before);
        }
        // SQLite reads a negative LIMIT as no limit.
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!("SELECT {COLUMNS} FROM run_queue {filter} ORDER BY id DESC LIMIT ?");
        self.read(|transaction| {
            let mut runs: Vec<QueuedRun> = transaction
                .prepare_cached(&sql)?
                .query_map(parameters.as_slice(), decode)?
                .collect::<rusqlite::Result<_>>()?;
            for run in &mut runs {
                run.runs = linked_runs(transaction, run.id)?;
            }
            Ok(runs)
        })
    }

    fn queue_counts(&self) -> Result<StatusCounts, StoreError> {
        self.read(|transaction| {
            let mut counts = StatusCounts::default();
            let mut statement = transaction.prepare_cached(
                "SELECT status, coalesce(conclusion, ''), count(*) FROM run_queue \
                 GROUP BY status, conclusion",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let (status, conclusion, count): (String, String, i64) =
                    (row.get(0)?, row.get(1)?, row.get(2)?);
                let count = u64::try_from(count).unwrap_or_default();
                let slot = match (status.as_str(), conclusion.as_str()) {
                    ("queued", _) => &mut counts.queued,
                    ("in_progress", _) => &mut counts.in_progress,
                    (_, "success") => &mut counts.success,
                    (_, "failure") => &mut counts.failure,
                    (_, "cancelled") => &mut counts.cancelled,
                    _ => &mut counts.skipped,
                };
                *slot += count;
            }
            Ok(counts)
        })
    }

    fn recover_interrupted(
        &self,
        policy: OnRestart,
        at: jiff::Timestamp,
    ) -> Result<Vec<QueuedRunId>, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        let sql = match policy {
            OnRestart::Requeue => {
                "UPDATE run_queue SET status = 'queued', started_at_ns = NULL,
                     detail = 'interrupted by a server restart; queued again'
                 WHERE status = 'in_progress' RETURNING id"
            }
            OnRestart::Fail => {
                "UPDATE run_queue SET status = 'completed', conclusion = 'failure',
                     finished_at_ns = :at, detail = 'interrupted by a server restart'
                 WHERE status = 'in_progress' RETURNING id"
            }
        };
        self.write(|transaction| {
            let mut statement = transaction.prepare_cached(sql)?;
            let ids = match policy {
                OnRestart::Requeue => statement.query_map([], queued_run_id)?,
                OnRestart::Fail => {
                    statement.query_map(named_params! { ":at": at_ns }, queued_run_id)?
                }
            };
            ids.collect()
        })
    }
}

const COLUMNS: &str = "id, project, workflow, event, git_ref, sha, actor, inputs, status, \
                       conclusion, queued_at_ns, started_at_ns, finished_at_ns, detail, rerun_of, \
                       payload, withhold_secrets";

fn queued_run_id(row: &Row<'_>) -> rusqlite::Result<QueuedRunId> {
    row.get(0).map(QueuedRunId::new)
}

fn select_one(
    transaction: &Transaction<'_>,
    id: QueuedRunId,
) -> rusqlite::Result<Option<QueuedRun>> {
    let run = transaction
        .prepare_cached(&format!("SELECT {COLUMNS} FROM run_queue WHERE id = ?1"))?
        .query_row([id.get()], decode)
        .optional()?;
    run.map(|mut run| {
        run.runs = linked_runs(transaction, id)?;
        Ok(run)
    })
    .transpose()
}

fn linked_runs(transaction: &Transaction<'_>, id: QueuedRunId) -> rusqlite::Result<Vec<RunId>> {
    transaction
        .prepare_cached(
            "SELECT run_id FROM queued_run_records WHERE queued_id = ?1 ORDER BY run_id",
        )?
        .query_map([id.get()], |row| row.get(0).map(RunId::new))?
        .collect()
}

fn decode(row: &Row<'_>) -> rusqlite::Result<QueuedRun> {
    let status: String = row.get("status")?;
    let status = RunStatus::from_name(&status)
        .ok_or_else(|| unreadable(row, "status", Type::Text, &status))?;
    let conclusion = match row.get::<_, Option<String>>("conclusion")? {
        None => None,
        Some(name) => Some(
            Conclusion::from_name(&name)
                .ok_or_else(|| unreadable(row, "conclusion", Type::Text, &name))?,
        ),
    };
    let inputs: String = row.get("inputs")?;
    let inputs = parse_inputs(&inputs)
        .ok_or_else(|| unreadable(row, "inputs", Type::Text, "not a JSON object of strings"))?;
    let payload = match row.get::<_, Option<String>>("payload")? {
        None => None,
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|_| unreadable(row, "payload", Type::Text, "not JSON"))?,
        ),
    };
    Ok(QueuedRun {
        id: QueuedRunId::new(row.get("id")?),
        trigger: Trigger {
            project: row.get("project")?,
            workflow: row.get("workflow")?,
            event: row.get("event")?,
            git_ref: row.get("git_ref")?,
            sha: row.get("sha")?,
            actor: row.get("actor")?,
            inputs,
            rerun_of: row.get::<_, Option<i64>>("rerun_of")?.map(QueuedRunId::new),
            payload,
            withhold_secrets: row.get("withhold_secrets")?,
        },
        status,
        conclusion,
        queued_at: timestamp(row, "queued_at_ns")?,
        started_at: optional_timestamp(row, "started_at_ns")?,
        finished_at: optional_timestamp(row, "finished_at_ns")?,
        detail: row.get("detail")?,
        runs: Vec::new(),
    })
}

/// The inputs as the JSON object the `inputs` column holds.
fn inputs_json(inputs: &BTreeMap<String, String>) -> String {
    // A map of strings always serializes.
    serde_json::to_string(inputs).unwrap_or_else(|_| String::from("{}"))
}

fn parse_inputs(json: &str) -> Option<BTreeMap<String, String>> {
    serde_json::from_str(json).ok()
}

/// Inserts a queued run of `trigger` in `transaction`: the queue's one insert, shared by
/// [`QueueStore::enqueue_run`] and a webhook's acceptance.
pub(super) fn enqueue_in(
    transaction: &Transaction<'_>,
    trigger: &Trigger,
    at_ns: i64,
) -> rusqlite::Result<QueuedRunId> {
    let inputs = inputs_json(&trigger.inputs);
    let payload = trigger.payload.as_ref().map(ToString::to_string);
    transaction
        .prepare_cached(
            "INSERT INTO run_queue (project, workflow, event, git_ref, sha, actor, inputs, \
                     status, queued_at_ns, rerun_of, payload, withhold_secrets) VALUES \
                     (:project, :workflow, :event, :git_ref, :sha, :actor, :inputs, 'queued', \
                     :at, :rerun_of, :payload, :withhold_secrets)",
        )?
        .execute(named_params! {
            ":project": trigger.project,
            ":workflow": trigger.workflow,
            ":event": trigger.event,
            ":git_ref": trigger.git_ref,
            ":sha": trigger.sha,
            ":actor": trigger.actor,
            ":inputs": inputs,
            ":at": at_ns,
            ":rerun_of": trigger.rerun_of.map(QueuedRunId::get),
            ":payload": payload,
            ":withhold_secrets": trigger.withhold_secrets,
        })?;
    Ok(QueuedRunId::new(transaction.last_insert_rowid()))
}
