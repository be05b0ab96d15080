//! [`ProjectStore`] over SQLite: the `projects` table.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{ErrorCode, OptionalExtension, Row, named_params};

use super::SqliteStore;
use super::builds::{fit, timestamp, unreadable};
use crate::{Project, ProjectStore, StoreError};

impl ProjectStore for SqliteStore {
    fn add_project(&self, project: &Project) -> Result<(), StoreError> {
        let created_at_ns = fit("created_at", project.created_at.as_nanosecond())?;
        let poll_interval_ns = project
            .poll_interval
            .map(|interval| fit("poll_interval", interval.as_nanos()))
            .transpose()?;
        let secret_file = project
            .webhook_secret_file
            .as_ref()
            .map(|path| path.to_string_lossy().into_owned());
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO projects (name, repository, default_branch, webhook_secret_file, \
                     poll_interval_ns, created_at_ns) VALUES (:name, :repository, \
                     :default_branch, :webhook_secret_file, :poll_interval_ns, :created_at_ns)",
                )?
                .execute(named_params! {
                    ":name": project.name,
                    ":repository": project.repository,
                    ":default_branch": project.default_branch,
                    ":webhook_secret_file": secret_file,
                    ":poll_interval_ns": poll_interval_ns,
                    ":created_at_ns": created_at_ns,
                })?;
            Ok(())
        })
        .map_err(|error| already_exists(error, "project", &project.name))
    }

    fn project(&self, name: &str) -> Result<Option<Project>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached(&format!("{SELECT} WHERE name = ?1"))?
                .query_row([name], decode)
                .optional()
        })
    }

    fn projects(&self) -> Result<Vec<Project>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached(&format!("{SELECT} ORDER BY name"))?
                .query_map([], decode)?
                .collect()
        })
    }

    fn remove_project(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|transaction| {
            let removed = transaction
                .prepare_cached("DELETE FROM projects WHERE name = ?1")?
                .execute([name])?;
            Ok(removed > 0)
        })
    }
}

const SELECT: &str = "SELECT name, repository, default_branch, webhook_secret_file, \
                      poll_interval_ns, created_at_ns FROM projects";

fn decode(row: &Row<'_>) -> rusqlite::Result<Project> {
    let poll_interval_ns: Option<i64> = row.get("poll_interval_ns")?;
    let poll_interval = poll_interval_ns
        .map(|ns| {
            u64::try_from(ns)
                .map(Duration::from_nanos)
                .map_err(|_| unreadable(row, "poll_interval_ns", Type::Integer, "negative"))
        })
        .transpose()?;
    Ok(Project {
        name: row.get("name")?,
        repository: row.get("repository")?,
        default_branch: row.get("default_branch")?,
        webhook_secret_file: row
            .get::<_, Option<String>>("webhook_secret_file")?
            .map(PathBuf::from),
        poll_interval,
        created_at: timestamp(row, "created_at_ns")?,
    })
}

/// Turns a uniqueness violation into [`StoreError::AlreadyExists`] for `kind` named `name`.
pub(super) fn already_exists(error: StoreError, kind: &'static str, name: &str) -> StoreError {
    match &error {
        StoreError::Sqlite { source, .. }
            if source
                .downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                == Some(ErrorCode::ConstraintViolation) =>
        {
            StoreError::AlreadyExists {
                kind,
                name: name.to_owned(),
            }
        }
        _ => error,
    }
}
