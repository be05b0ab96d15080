//! [`ReleaseStore`] over SQLite: the `releases`, `release_steps`, `service_states` and
//! `deploy_events` tables.
//!
//! Every method is one transaction. Beginning a release checks for one in progress under the
//! write lock, so two controllers racing for the same service cannot both begin (the partial
//! unique index `releases_one_in_progress` backs this up). Advancing a finished release is
//! refused, which keeps finished records as they were.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, ToSql, Transaction, named_params};

use super::SqliteStore;
use super::builds::{timestamp, unreadable};
use crate::release::deploy_event_id;
use crate::{
    Artifact, Begun, DeployEvent, DeployEventId, DeployEventQuery, NewDeployEvent, NewRelease,
    NewStep, Release, ReleaseId, ReleaseOutcome, ReleaseQuery, ReleaseStatus, ReleaseStore,
    ReleaseUpdate, Revision, ServiceState, StoreError,
};

impl ReleaseStore for SqliteStore {
    fn begin_release(&self, release: &NewRelease, first: &NewStep) -> Result<Begun, StoreError> {
        let created_at = nanoseconds("created_at", release.created_at)?;
        let step_at = nanoseconds("step.at", first.at)?;
        self.write(|transaction| {
            let busy = transaction
                .prepare_cached(
                    "SELECT id FROM releases WHERE environment = ?1 AND service = ?2 AND outcome IS NULL",
                )?
                .query_row((&release.environment, &release.service), |row| row.get::<_, i64>(0))
                .optional()?;
            if let Some(id) = busy {
                let sql = format!("{SELECT_RELEASES} WHERE id = ?");
                if let Some(current) = select(transaction, &sql, &[&id])?.pop() {
                    return Ok(Begun::Busy(Box::new(current)));
                }
            }
            let id = insert(transaction, release, created_at)?;
            insert_step(transaction, id, first, step_at)?;
            Ok(Begun::Started(id))
        })
    }

    fn advance_release(&self, id: ReleaseId, update: &ReleaseUpdate) -> Result<(), StoreError> {
        let step_at = nanoseconds("step.at", update.step.at)?;
        let service = update
            .service_state
            .as_ref()
            .map(StateNumbers::of)
            .transpose()?;
        self.write(|transaction| {
            let (outcome, reason) = match &update.outcome {
                Some(outcome) => outcome_columns(outcome),
                None => (None, None),
            };
            let finished_at = update.outcome.as_ref().map(|_| step_at);
            let changed = transaction
                .prepare_cached(
                    "UPDATE releases SET phase = :phase, outcome = :outcome, \
                     outcome_reason = :reason, finished_at_ns = :finished_at, \
                     controller_pid = CASE WHEN :outcome IS NULL THEN controller_pid END \
                     WHERE id = :id AND outcome IS NULL",
                )?
                .execute(named_params! {
                    ":phase": update.phase,
                    ":outcome": outcome,
                    ":reason": reason,
                    ":finished_at": finished_at,
                    ":id": id.get(),
                })?;
            if changed == 0 {
                return Ok(false);
            }
            insert_step(transaction, id, &update.step, step_at)?;
            if let (Some(state), Some(numbers)) = (&update.service_state, &service) {
                upsert_state(transaction, state, numbers)?;
            }
            Ok(true)
        })?
        .then_some(())
        .ok_or(StoreError::ReleaseFinished { id: id.get() })
    }

    fn claim_release(
        &self,
        id: ReleaseId,
        expected: Option<u32>,
        controller: Option<u32>,
        step: &NewStep,
    ) -> Result<bool, StoreError> {
        let step_at = nanoseconds("step.at", step.at)?;
        let claimed = self.write(|transaction| {
            let in_progress = transaction
                .prepare_cached(
                    "SELECT controller_pid FROM releases WHERE id = ?1 AND outcome IS NULL",
                )?
                .query_row([id.get()], |row| row.get::<_, Option<u32>>(0))
                .optional()?;
            match in_progress {
                None => Ok(None),
                Some(current) if current != expected => Ok(Some(false)),
                Some(_) => {
                    transaction
                        .prepare_cached("UPDATE releases SET controller_pid = ?1 WHERE id = ?2")?
                        .execute((controller, id.get()))?;
                    insert_step(transaction, id, step, step_at)?;
                    Ok(Some(true))
                }
            }
        })?;
        claimed.ok_or(StoreError::ReleaseFinished { id: id.get() })
    }

    fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        self.read(|transaction| {
            let sql = format!("{SELECT_RELEASES} WHERE id = ?");
            Ok(select(transaction, &sql, &[&id.get()])?.pop())
        })
    }

    fn releases(&self, query: &ReleaseQuery) -> Result<Vec<Release>, StoreError> {
        let mut conditions = Vec::new();
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        if let Some(environment) = &query.environment {
            conditions.push("environment = ?");
            parameters.push(environment);
        }
        if let Some(service) = &query.service {
            conditions.push("service = ?");
            parameters.push(service);
        }
        let status = query.status.map(status_column);
        match &status {
            Some(None) => conditions.push("outcome IS NULL"),
            Some(Some(outcome)) => {
                conditions.push("outcome = ?");
                parameters.push(outcome);
            }
            None => {}
        }
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!("{SELECT_RELEASES} {filter} ORDER BY id DESC LIMIT ?");
        self.read(|transaction| select(transaction, &sql, &parameters))
    }

    fn service_state(
        &self,
        environment: &str,
        service: &str,
    ) -> Result<Option<ServiceState>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached(&format!(
                    "{SELECT_STATES} WHERE environment = ?1 AND service = ?2"
                ))?
                .query_row((environment, service), decode_state)
                .optional()
        })
    }

    fn service_states(&self, environment: Option<&str>) -> Result<Vec<ServiceState>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached(&format!(
                    "{SELECT_STATES} WHERE ?1 IS NULL OR environment = ?1 ORDER BY environment, service"
                ))?
                .query_map([environment], decode_state)?
                .collect()
        })
    }

    fn save_service_state(
        &self,
        state: &ServiceState,
        event: &NewDeployEvent,
    ) -> Result<DeployEventId, StoreError> {
        let numbers = StateNumbers::of(state)?;
        let event_at = nanoseconds("event.at", event.at)?;
        self.write(|transaction| {
            upsert_state(transaction, state, &numbers)?;
            insert_event(transaction, event, event_at)
        })
    }

    fn remove_service_state(
        &self,
        environment: &str,
        service: &str,
        event: &NewDeployEvent,
    ) -> Result<DeployEventId, StoreError> {
        let event_at = nanoseconds("event.at", event.at)?;
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "DELETE FROM service_states WHERE environment = ?1 AND service = ?2",
                )?
                .execute((environment, service))?;
            insert_event(transaction, event, event_at)
        })
    }

    fn record_deploy_event(&self, event: &NewDeployEvent) -> Result<DeployEventId, StoreError> {
        let event_at = nanoseconds("event.at", event.at)?;
        self.write(|transaction| insert_event(transaction, event, event_at))
    }

    fn deploy_events(&self, query: &DeployEventQuery) -> Result<Vec<DeployEvent>, StoreError> {
        let limit = query.limit.map_or(-1, i64::from);
        self.read(|transaction| {
            transaction
                .prepare_cached(
                    "SELECT id, at_ns, environment, service, kind, message, actor FROM deploy_events \
                     WHERE (:environment IS NULL OR environment = :environment) \
                     AND (:service IS NULL OR service = :service) \
                     AND (:kind IS NULL OR kind = :kind) \
                     ORDER BY id DESC LIMIT :limit",
                )?
                .query_map(
                    named_params! {
                        ":environment": query.environment,
                        ":service": query.service,
                        ":kind": query.kind,
                        ":limit": limit,
                    },
                    decode_event,
                )?
                .collect()
        })
    }
}

/// `at` in nanoseconds since the epoch, as stored; an i64 reaches from 1677 to 2262.
fn nanoseconds(field: &'static str, at: jiff::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(at.as_nanosecond()).map_err(|_| StoreError::OutOfRange {
        field,
        value: at.to_string(),
    })
}

fn insert(
    transaction: &Transaction<'_>,
    release: &NewRelease,
    created_at: i64,
) -> rusqlite::Result<ReleaseId> {
    let (kind, artifact, digest, working_dir) = match &release.artifact {
        Artifact::Image { reference, digest } => ("image", reference, digest, None),
        Artifact::Command {
            command,
            working_dir,
            hash,
        } => ("command", command, hash, Some(working_dir)),
    };
    transaction
        .prepare_cached(
            "INSERT INTO releases (environment, service, runtime, artifact_kind, artifact, \
             artifact_digest, working_dir, config_hash, spec, strategy, created_by, reason, \
             created_at_ns, restores, controller_pid, phase, git_commit, git_ref, git_dirty) \
             VALUES (:environment, :service, :runtime, :kind, :artifact, :digest, :working_dir, \
             :config_hash, :spec, :strategy, :created_by, :reason, :created_at, :restores, \
             :controller, :phase, :commit, :git_ref, :dirty)",
        )?
        .execute(named_params! {
            ":environment": release.environment,
            ":service": release.service,
            ":runtime": release.runtime,
            ":kind": kind,
            ":artifact": artifact,
            ":digest": digest,
            ":working_dir": working_dir,
            ":config_hash": release.config_hash,
            ":spec": release.spec,
            ":strategy": release.strategy,
            ":created_by": release.created_by,
            ":reason": release.reason,
            ":created_at": created_at,
            ":restores": release.restores.map(ReleaseId::get),
            ":controller": release.controller,
            ":phase": release.phase,
            ":commit": release.revision.as_ref().map(|revision| &revision.commit),
            ":git_ref": release.revision.as_ref().and_then(|revision| revision.git_ref.as_ref()),
            ":dirty": release.revision.as_ref().is_some_and(|revision| revision.dirty),
        })?;
    Ok(ReleaseId::new(transaction.last_insert_rowid()))
}

fn insert_step(
    transaction: &Transaction<'_>,
    release: ReleaseId,
    step: &NewStep,
    at: i64,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO release_steps (release_id, position, at_ns, name, detail) \
             SELECT ?1, COUNT(*), ?2, ?3, ?4 FROM release_steps WHERE release_id = ?1",
        )?
        .execute((release.get(), at, &step.name, &step.detail))?;
    Ok(())
}

/// The outcome and reason columns of an outcome.
fn outcome_columns(outcome: &ReleaseOutcome) -> (Option<&'static str>, Option<&str>) {
    let reason = match outcome {
        ReleaseOutcome::Succeeded => None,
        ReleaseOutcome::Failed { reason } | ReleaseOutcome::RolledBack { reason } => {
            Some(reason.as_str())
        }
    };
    (status_column(outcome.status()), reason)
}

/// The `outcome` column for a status: `None` (NULL) while in progress.
fn status_column(status: ReleaseStatus) -> Option<&'static str> {
    match status {
        ReleaseStatus::InProgress => None,
        finished => Some(finished.as_str()),
    }
}

const SELECT_RELEASES: &str = "SELECT id, environment, service, runtime, artifact_kind, artifact, \
     artifact_digest, working_dir, config_hash, spec, strategy, created_by, reason, created_at_ns, \
     restores, controller_pid, phase, outcome, outcome_reason, finished_at_ns, git_commit, git_ref, \
     git_dirty FROM releases";

fn select(
    transaction: &Transaction<'_>,
    sql: &str,
    parameters: &[&dyn ToSql],
) -> rusqlite::Result<Vec<Release>> {
    let mut releases = transaction
        .prepare_cached(sql)?
        .query_map(parameters, decode)?
        .collect::<rusqlite::Result<Vec<Release>>>()?;
    let mut steps = transaction.prepare_cached(
        "SELECT at_ns, name, detail FROM release_steps WHERE release_id = ?1 ORDER BY position",
    )?;
    for release in &mut releases {
        release.steps = steps
            .query_map([release.id.get()], |row| {
                Ok(NewStep {
                    at: timestamp(row, "at_ns")?,
                    name: row.get("name")?,
                    detail: row.get("detail")?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(releases)
}

fn decode(row: &Row<'_>) -> rusqlite::Result<Release> {
    let kind: String = row.get("artifact_kind")?;
    let artifact = match (kind.as_str(), row.get::<_, Option<String>>("working_dir")?) {
        ("image", None) => Artifact::Image {
            reference: row.get("artifact")?,
            digest: row.get("artifact_digest")?,
        },
        ("command", Some(working_dir)) => Artifact::Command {
            command: row.get("artifact")?,
            working_dir,
            hash: row.get("artifact_digest")?,
        },
        (kind, working_dir) => {
            let detail = format!("artifact kind {kind:?} with working dir {working_dir:?}");
            return Err(unreadable(row, "artifact_kind", Type::Text, &detail));
        }
    };
    let finished_at = match row.get::<_, Option<i64>>("finished_at_ns")? {
        Some(_) => Some(timestamp(row, "finished_at_ns")?),
        None => None,
    };
    Ok(Release {
        id: ReleaseId::new(row.get("id")?),
        record: NewRelease {
            environment: row.get("environment")?,
            service: row.get("service")?,
            runtime: row.get("runtime")?,
            artifact,
            revision: decode_revision(row)?,
            config_hash: row.get("config_hash")?,
            spec: row.get("spec")?,
            strategy: row.get("strategy")?,
            created_by: row.get("created_by")?,
            reason: row.get("reason")?,
            created_at: timestamp(row, "created_at_ns")?,
            restores: row.get::<_, Option<i64>>("restores")?.map(ReleaseId::new),
            controller: row.get("controller_pid")?,
            phase: row.get("phase")?,
        },
        outcome: decode_outcome(row)?,
        finished_at,
        steps: Vec::new(),
    })
}

fn decode_revision(row: &Row<'_>) -> rusqlite::Result<Option<Revision>> {
    let Some(commit) = row.get::<_, Option<String>>("git_commit")? else {
        return Ok(None);
    };
    Ok(Some(Revision {
        commit,
        git_ref: row.get("git_ref")?,
        dirty: row.get("git_dirty")?,
    }))
}

fn decode_outcome(row: &Row<'_>) -> rusqlite::Result<Option<ReleaseOutcome>> {
    let outcome: Option<String> = row.get("outcome")?;
    let reason: Option<String> = row.get("outcome_reason")?;
    match (outcome.as_deref(), reason) {
        (None, None) => Ok(None),
        (Some("succeeded"), None) => Ok(Some(ReleaseOutcome::Succeeded)),
        (Some("failed"), Some(reason)) => Ok(Some(ReleaseOutcome::Failed { reason })),
        (Some("rolled_back"), Some(reason)) => Ok(Some(ReleaseOutcome::RolledBack { reason })),
        (outcome, reason) => {
            let detail = format!("outcome {outcome:?} with reason {reason:?}");
            Err(unreadable(row, "outcome", Type::Text, &detail))
        }
    }
}

/// The numbers of a [`ServiceState`] as SQLite stores them.
struct StateNumbers {
    warm_until: Option<i64>,
    updated_at: i64,
}

impl StateNumbers {
    fn of(state: &ServiceState) -> Result<StateNumbers, StoreError> {
        Ok(StateNumbers {
            warm_until: state
                .warm_until
                .map(|at| nanoseconds("warm_until", at))
                .transpose()?,
            updated_at: nanoseconds("updated_at", state.updated_at)?,
        })
    }
}

fn upsert_state(
    transaction: &Transaction<'_>,
    state: &ServiceState,
    numbers: &StateNumbers,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO service_states (environment, service, current_release, previous, \
             warm_until_ns, replicas, updated_at_ns) \
             VALUES (:environment, :service, :current, :previous, :warm_until, :replicas, :updated_at) \
             ON CONFLICT (environment, service) DO UPDATE SET current_release = excluded.current_release, \
             previous = excluded.previous, warm_until_ns = excluded.warm_until_ns, \
             replicas = excluded.replicas, updated_at_ns = excluded.updated_at_ns",
        )?
        .execute(named_params! {
            ":environment": state.environment,
            ":service": state.service,
            ":current": state.current.get(),
            ":previous": state.previous.map(ReleaseId::get),
            ":warm_until": numbers.warm_until,
            ":replicas": state.replicas,
            ":updated_at": numbers.updated_at,
        })?;
    Ok(())
}

const SELECT_STATES: &str = "SELECT environment, service, current_release, previous, \
     warm_until_ns, replicas, updated_at_ns FROM service_states";

fn decode_state(row: &Row<'_>) -> rusqlite::Result<ServiceState> {
    let warm_until = match row.get::<_, Option<i64>>("warm_until_ns")? {
        Some(_) => Some(timestamp(row, "warm_until_ns")?),
        None => None,
    };
    Ok(ServiceState {
        environment: row.get("environment")?,
        service: row.get("service")?,
        current: ReleaseId::new(row.get("current_release")?),
        previous: row.get::<_, Option<i64>>("previous")?.map(ReleaseId::new),
        warm_until,
        replicas: row.get("replicas")?,
        updated_at: timestamp(row, "updated_at_ns")?,
    })
}

fn insert_event(
    transaction: &Transaction<'_>,
    event: &NewDeployEvent,
    at: i64,
) -> rusqlite::Result<DeployEventId> {
    transaction
        .prepare_cached(
            "INSERT INTO deploy_events (at_ns, environment, service, kind, message, actor) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            at,
            &event.environment,
            &event.service,
            &event.kind,
            &event.message,
            &event.actor,
        ))?;
    Ok(deploy_event_id(transaction.last_insert_rowid()))
}

fn decode_event(row: &Row<'_>) -> rusqlite::Result<DeployEvent> {
    Ok(DeployEvent {
        id: deploy_event_id(row.get("id")?),
        record: NewDeployEvent {
            at: timestamp(row, "at_ns")?,
            environment: row.get("environment")?,
            service: row.get("service")?,
            kind: row.get("kind")?,
            message: row.get("message")?,
            actor: row.get("actor")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_release(environment: &str, service: &str) -> NewRelease {
        NewRelease {
            environment: environment.to_owned(),
            service: service.to_owned(),
            runtime: "process".to_owned(),
            artifact: Artifact::Command {
                command: "node src/server.js".to_owned(),
                working_dir: "/srv/hello".to_owned(),
                hash: "sha256:abcd".to_owned(),
            },
            revision: None,
            config_hash: "sha256:cfg".to_owned(),
            spec: "{}".to_owned(),
            strategy: "blue-green".to_owned(),
            created_by: "alice".to_owned(),
            reason: Some("ship it".to_owned()),
            created_at: "2025-03-01T10:00:00Z".parse().unwrap(),
            restores: None,
            controller: Some(4242),
            phase: "{\"phase\":\"start\"}".to_owned(),
        }
    }

    #[test]
    fn a_release_that_cannot_decode_reads_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let step = NewStep {
            at: jiff::Timestamp::UNIX_EPOCH,
            name: "begun".to_owned(),
            detail: String::new(),
        };
        let Begun::Started(id) = store
            .begin_release(&sample_release("dev", "api"), &step)
            .unwrap()
        else {
            panic!("nothing was in progress");
        };
        store
            .lock()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON; UPDATE releases SET outcome = 'exploded'",
            )
            .unwrap();
        let error = store.release(id).unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { detail, .. } if detail.contains("exploded")),
            "{error:?}"
        );
    }
}
