//! [`BuildStore`] over SQLite: the `builds`, `build_tags` and `build_logs` tables.
//!
//! A build is one row in each of `builds` and `build_logs` plus a row per tag, all written in
//! one transaction. Numbers are checked to fit SQLite's signed 64-bit integers before anything
//! is written; values read back are checked again, and one that does not decode reports the
//! database corrupt.

use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Row, ToSql, Transaction, named_params};

use super::SqliteStore;
use crate::{
    Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildStore, BuildSummary, GitSnapshot,
    LogOmitted, NewBuild, StoreError,
};

impl BuildStore for SqliteStore {
    fn record_build(&self, build: &NewBuild) -> Result<BuildId, StoreError> {
        let numbers = Numbers::of(build)?;
        self.write(|transaction| insert(transaction, build, &numbers))
    }

    fn build(&self, id: BuildId) -> Result<Option<Build>, StoreError> {
        self.read(|transaction| {
            let sql = format!(
                "SELECT {BUILD_COLUMNS}, l.log FROM builds b \
                 LEFT JOIN build_logs l ON l.build_id = b.id WHERE b.id = ?"
            );
            Ok(select(transaction, &sql, &[&id.get()], |row| row.get("log"))?.pop())
        })
    }

    fn builds(&self, query: &BuildQuery) -> Result<Vec<BuildSummary>, StoreError> {
        let status = query.status.map(status_name);
        let mut conditions = Vec::new();
        let mut parameters: Vec<&dyn ToSql> = Vec::new();
        if let Some(service) = &query.service {
            conditions.push("b.service = ?");
            parameters.push(service);
        }
        if let Some(status) = &status {
            conditions.push("b.outcome = ?");
            parameters.push(status);
        }
        // SQLite reads a negative LIMIT as no limit.
        let limit = query.limit.map_or(-1, i64::from);
        parameters.push(&limit);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        // No log: a listing never shows one, and logs are the bulk of the database.
        let sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b {filter} \
             ORDER BY b.started_at_ns DESC, b.id DESC LIMIT ?"
        );
        self.read(|transaction| select(transaction, &sql, &parameters, |_| Ok(LogOmitted)))
    }
}

/// The numbers of a [`NewBuild`] as the signed integers SQLite stores.
struct Numbers {
    size_bytes: Option<i64>,
    started_at_ns: i64,
    duration_ns: i64,
}

impl Numbers {
    fn of(build: &NewBuild) -> Result<Numbers, StoreError> {
        let size_bytes = build
            .size_bytes
            .map(|size| fit("size_bytes", size))
            .transpose()?;
        // Nanoseconds in an i64 reach from 1677 to 2262: every time a build can start at.
        let started_at = build.started_at.as_nanosecond();
        let started_at_ns = i64::try_from(started_at).map_err(|_| StoreError::OutOfRange {
            field: "started_at",
            value: build.started_at.to_string(),
        })?;
        let duration_ns = fit("duration", build.duration.as_nanos())?;
        Ok(Numbers {
            size_bytes,
            started_at_ns,
            duration_ns,
        })
    }
}

/// `value` as an i64, or the error naming `field`.
pub(super) fn fit<T: TryInto<i64> + ToString + Copy>(
    field: &'static str,
    value: T,
) -> Result<i64, StoreError> {
    value.try_into().map_err(|_| StoreError::OutOfRange {
        field,
        value: value.to_string(),
    })
}

fn insert(
    transaction: &Transaction<'_>,
    build: &NewBuild,
    numbers: &Numbers,
) -> rusqlite::Result<BuildId> {
    let failure_reason = match &build.outcome {
        BuildOutcome::Failed { reason } => Some(reason),
        BuildOutcome::Succeeded | BuildOutcome::Cancelled => None,
    };
    transaction
        .prepare_cached(
            "INSERT INTO builds (service, image_id, digest, size_bytes, layer_count, \
             started_at_ns, duration_ns, git_commit, git_branch, git_dirty, outcome, \
             failure_reason, target, platform, dockerfile, context) \
             VALUES (:service, :image_id, :digest, :size_bytes, :layer_count, :started_at_ns, \
             :duration_ns, :git_commit, :git_branch, :git_dirty, :outcome, :failure_reason, \
             :target, :platform, :dockerfile, :context)",
        )?
        .execute(named_params! {
            ":service": build.service,
            ":image_id": build.image_id,
            ":digest": build.digest,
            ":size_bytes": numbers.size_bytes,
            ":layer_count": build.layer_count,
            ":started_at_ns": numbers.started_at_ns,
            ":duration_ns": numbers.duration_ns,
            ":git_commit": build.git.commit,
            ":git_branch": build.git.branch,
            ":git_dirty": build.git.dirty,
            ":outcome": status_name(build.outcome.status()),
            ":failure_reason": failure_reason,
            ":target": build.target,
            ":platform": build.platform,
            ":dockerfile": build.dockerfile,
            ":context": build.context,
        })?;
    let id = transaction.last_insert_rowid();
    transaction
        .prepare_cached("INSERT INTO build_logs (build_id, log) VALUES (?1, ?2)")?
        .execute((id, &build.log))?;
    let mut insert_tag = transaction
        .prepare_cached("INSERT INTO build_tags (build_id, position, tag) VALUES (?1, ?2, ?3)")?;
    for (position, tag) in (0_i64..).zip(&build.tags) {
        insert_tag.execute((id, position, tag))?;
    }
    Ok(BuildId::new(id))
}

/// The columns of `builds` (as `b`) that [`decode`] reads.
///
/// [`BuildStore::build`] adds the log with a LEFT JOIN, so that a build whose log row is missing
/// fails to decode (the database is damaged) instead of reading as no build.
const BUILD_COLUMNS: &str = "b.id, b.service, b.image_id, b.digest, b.size_bytes, \
     b.layer_count, b.started_at_ns, b.duration_ns, b.git_commit, b.git_branch, b.git_dirty, \
     b.outcome, b.failure_reason, b.target, b.platform, b.dockerfile, b.context";

/// The builds `sql` selects, with their tags and the log `read_log` reads from each row.
fn select<Log>(
    transaction: &Transaction<'_>,
    sql: &str,
    parameters: &[&dyn ToSql],
    read_log: impl Fn(&Row<'_>) -> rusqlite::Result<Log>,
) -> rusqlite::Result<Vec<Build<Log>>> {
    let mut builds = transaction
        .prepare_cached(sql)?
        .query_map(parameters, |row| decode(row, read_log(row)?))?
        .collect::<rusqlite::Result<Vec<Build<Log>>>>()?;
    let mut tags = transaction
        .prepare_cached("SELECT tag FROM build_tags WHERE build_id = ?1 ORDER BY position")?;
    for build in &mut builds {
        build.record.tags = tags
            .query_map([build.id.get()], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(builds)
}

/// One row of [`BUILD_COLUMNS`] as a [`Build`] with `log`, without its tags (a separate query
/// reads them).
fn decode<Log>(row: &Row<'_>, log: Log) -> rusqlite::Result<Build<Log>> {
    Ok(Build {
        id: BuildId::new(row.get("id")?),
        record: NewBuild {
            service: row.get("service")?,
            image_id: row.get("image_id")?,
            digest: row.get("digest")?,
            tags: Vec::new(),
            size_bytes: row
                .get::<_, Option<i64>>("size_bytes")?
                .map(|size| unsigned(row, "size_bytes", size))
                .transpose()?,
            layer_count: row.get("layer_count")?,
            started_at: timestamp(row, "started_at_ns")?,
            duration: Duration::from_nanos(unsigned(row, "duration_ns", row.get("duration_ns")?)?),
            git: GitSnapshot {
                commit: row.get("git_commit")?,
                branch: row.get("git_branch")?,
                dirty: row.get("git_dirty")?,
            },
            outcome: decode_outcome(row)?,
            log,
            target: row.get("target")?,
            platform: row.get("platform")?,
            dockerfile: row.get("dockerfile")?,
            context: row.get("context")?,
        },
    })
}

fn decode_outcome(row: &Row<'_>) -> rusqlite::Result<BuildOutcome> {
    let outcome: String = row.get("outcome")?;
    let reason: Option<String> = row.get("failure_reason")?;
    match (outcome.as_str(), reason) {
        ("succeeded", None) => Ok(BuildOutcome::Succeeded),
        ("failed", Some(reason)) => Ok(BuildOutcome::Failed { reason }),
        ("cancelled", None) => Ok(BuildOutcome::Cancelled),
        (outcome, reason) => {
            let detail = format!("outcome {outcome:?} with failure reason {reason:?}");
            Err(unreadable(row, "outcome", Type::Text, &detail))
        }
    }
}

/// `value`, read from `column`, as the unsigned number it must be.
pub(super) fn unsigned(row: &Row<'_>, column: &str, value: i64) -> rusqlite::Result<u64> {
    u64::try_from(value).map_err(|_| unreadable(row, column, Type::Integer, "negative"))
}

/// The time in `column`, in nanoseconds since the Unix epoch.
pub(super) fn timestamp(row: &Row<'_>, column: &str) -> rusqlite::Result<jiff::Timestamp> {
    let nanoseconds: i64 = row.get(column)?;
    jiff::Timestamp::from_nanosecond(nanoseconds.into())
        .map_err(|error| unreadable(row, column, Type::Integer, &error.to_string()))
}

/// The error for a stored value that does not decode; the store reports it as corruption.
pub(super) fn unreadable(
    row: &Row<'_>,
    column: &str,
    stored: Type,
    detail: &str,
) -> rusqlite::Error {
    match row.as_ref().column_index(column) {
        Ok(index) => rusqlite::Error::FromSqlConversionFailure(
            index,
            stored,
            format!("{column}: {detail}").into(),
        ),
        Err(error) => error,
    }
}

/// How a status is spelled in the `outcome` column.
fn status_name(status: BuildStatus) -> &'static str {
    match status {
        BuildStatus::Succeeded => "succeeded",
        BuildStatus::Failed => "failed",
        BuildStatus::Cancelled => "cancelled",
    }
}

#[cfg(test)]
pub(in crate::sqlite) mod tests {
    use super::*;

    /// A build with every field set, for tests that need one.
    pub(in crate::sqlite) fn sample(service: &str) -> NewBuild {
        NewBuild {
            service: service.to_owned(),
            image_id: Some("sha256:4f1c".to_owned()),
            digest: Some("sha256:9a0e".to_owned()),
            tags: vec!["v1.2.3".to_owned(), "main".to_owned(), "0123abc".to_owned()],
            size_bytes: Some(48_123_456),
            layer_count: Some(7),
            started_at: "2025-03-01T10:15:30.123456789Z".parse().unwrap(),
            duration: Duration::from_nanos(83_000_000_001),
            git: GitSnapshot {
                commit: Some("0123abcdef0123abcdef0123abcdef0123abcdef".to_owned()),
                branch: Some("main".to_owned()),
                dirty: false,
            },
            outcome: BuildOutcome::Succeeded,
            log: "Step 1/9 : FROM node:22\n".to_owned(),
            target: Some("runtime".to_owned()),
            platform: Some("linux/amd64".to_owned()),
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
        }
    }

    #[test]
    fn a_size_beyond_i64_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let build = NewBuild {
            size_bytes: Some(u64::MAX),
            ..sample("api")
        };

        let error = store.record_build(&build).unwrap_err();

        assert!(
            matches!(&error, StoreError::OutOfRange { field: "size_bytes", value } if value == "18446744073709551615"),
            "{error:?}"
        );
        assert_eq!(store.builds(&BuildQuery::default()).unwrap(), vec![]);
    }

    #[test]
    fn a_start_time_beyond_i64_nanoseconds_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let build = NewBuild {
            started_at: "2300-01-01T00:00:00Z".parse().unwrap(),
            ..sample("api")
        };

        let error = store.record_build(&build).unwrap_err();

        assert!(
            matches!(
                &error,
                StoreError::OutOfRange {
                    field: "started_at",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn an_outcome_the_store_cannot_have_written_reads_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let id = store.record_build(&sample("api")).unwrap();
        // A hand edit past the CHECK constraints: nothing the API writes looks like this.
        store
            .lock()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON; UPDATE builds SET outcome = 'exploded'",
            )
            .unwrap();

        let error = store.build(id).unwrap_err();

        assert!(
            matches!(&error, StoreError::Corrupt { detail, .. } if detail.contains("exploded")),
            "{error:?}"
        );
    }

    #[test]
    fn a_build_without_its_log_row_reads_as_corrupt_not_missing_and_listings_never_read_logs() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let id = store.record_build(&sample("api")).unwrap();
        store.lock().execute("DELETE FROM build_logs", []).unwrap();

        let error = store.build(id).unwrap_err();

        assert!(matches!(&error, StoreError::Corrupt { .. }), "{error:?}");
        let listed = store.builds(&BuildQuery::default()).unwrap();
        assert_eq!(
            listed,
            [sample("api").without_log()].map(|record| Build { id, record })
        );
    }
}
