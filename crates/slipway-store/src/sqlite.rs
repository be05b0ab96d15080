//! [`SqliteStore`]: the store as one SQLite file, `state.db`, in write-ahead-log mode.
//!
//! Opening sets up the connection (WAL, `synchronous=NORMAL`, foreign keys, a busy timeout) and
//! runs pending migrations (`migrations.rs`); each domain's queries live in their own module
//! (`builds.rs`, `runs.rs`). Every SQLite error is classified here into a [`StoreError`] that names the
//! file, so no `rusqlite` type leaves this module.

mod audit;
mod builds;
mod deliveries;
mod migrations;
mod projects;
mod queue;
mod registry_events;
mod releases;
mod runs;
mod scans;
mod tokens;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nix::unistd::AccessFlags;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use crate::{Cursor, Page, PageRequest, StoreError, private};

/// The database's file name inside the state directory.
const DATABASE_FILE: &str = "state.db";

/// How long a writer waits for another process's transaction before giving up with
/// [`StoreError::Busy`]. Transactions here last milliseconds; this leaves room for a slow disk
/// and a migration of a large database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The state store in a SQLite database.
///
/// Durability: WAL with `synchronous=NORMAL` means a committed transaction survives the process
/// being killed at any moment (SIGKILL, a panic, OOM); only a power loss or an operating-system
/// crash may lose the last few transactions, and even then the database stays consistent.
#[derive(Debug)]
pub struct SqliteStore {
    files: Files,
    // One connection behind a mutex: calls are short, and SQLite serializes writers anyway.
    connection: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens, or creates, the store in `dir` (created too if missing) and brings its schema up
    /// to date.
    ///
    /// Fails with [`StoreError::Unwritable`] when the directory or the database cannot be
    /// written, [`StoreError::NewerSchema`] when a newer slipway wrote the database, and
    /// [`StoreError::Corrupt`] when the file is not a database.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        ensure_writable(dir)?;
        let files = Files {
            dir: dir.to_owned(),
            database: dir.join(DATABASE_FILE),
        };
        ensure_private_files(&files)?;
        let connection = open_and_migrate(&files)?;
        Ok(SqliteStore {
            files,
            connection: Mutex::new(connection),
        })
    }

    /// Checks the whole database: SQLite's `integrity_check` (pages, indexes, constraints) and
    /// that every foreign key points at an existing row. Reads every page, so it takes time in
    /// proportion to the database's size.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let problems = self.read(|transaction| {
            let mut problems: Vec<String> = transaction
                .prepare("PRAGMA integrity_check")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            problems.retain(|problem| problem != "ok");
            let mut orphans = transaction.prepare("PRAGMA foreign_key_check")?;
            let orphans = orphans.query_map([], |row| {
                let (table, parent): (String, String) = (row.get(0)?, row.get(2)?);
                Ok(format!(
                    "a row of {table} points at a missing row of {parent}"
                ))
            })?;
            for orphan in orphans {
                problems.push(orphan?);
            }
            Ok(problems)
        })?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.files.database.clone(),
                detail: problems.join("; "),
            })
        }
    }

    /// Runs `work` in a write transaction and commits it.
    ///
    /// The transaction takes the write lock when it begins (`IMMEDIATE`), so a second writer
    /// waits in the busy handler there instead of failing later on a lock upgrade, which SQLite
    /// reports as "database is locked" without waiting.
    fn write<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.transaction(TransactionBehavior::Immediate, work)
    }

    /// Runs `work` in a read transaction, so it sees one snapshot across several queries.
    fn read<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.transaction(TransactionBehavior::Deferred, work)
    }

    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut connection = self.lock();
        let result = Transaction::new(&mut connection, behavior).and_then(|transaction| {
            let value = work(&transaction)?;
            transaction.commit()?;
            Ok(value)
        });
        result.map_err(|error| self.files.classify(error))
    }

    /// The connection. A thread that panicked while holding it poisons the mutex but cannot
    /// leave it broken: its open transaction was rolled back when the `Transaction` was dropped
    /// during unwinding, so the poison is ignored.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where the store lives, for opening it and for naming it in errors.
#[derive(Debug)]
struct Files {
    dir: PathBuf,
    database: PathBuf,
}

impl Files {
    /// Turns a SQLite error into the [`StoreError`] that names its cause.
    fn classify(&self, error: rusqlite::Error) -> StoreError {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
                path: self.database.clone(),
            },
            Some(ErrorCode::ReadOnly) => self.unwritable(io::ErrorKind::ReadOnlyFilesystem, error),
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                self.unwritable(io::ErrorKind::PermissionDenied, error)
            }
            Some(ErrorCode::DiskFull) => self.unwritable(io::ErrorKind::StorageFull, error),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => self.corrupt(&error),
            _ if is_unreadable_value(&error) => self.corrupt(&error),
            _ => StoreError::Sqlite {
                path: self.database.clone(),
                source: Box::new(error),
            },
        }
    }

    fn unwritable(&self, kind: io::ErrorKind, error: rusqlite::Error) -> StoreError {
        StoreError::Unwritable {
            dir: self.dir.clone(),
            source: io::Error::new(kind, error),
        }
    }

    fn corrupt(&self, error: &rusqlite::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.database.clone(),
            detail: error.to_string(),
        }
    }
}

/// Whether `error` says a stored value does not decode as its column's type. Only a damaged or
/// hand-edited database holds such values: the schema's types and CHECK constraints keep the
/// store's own writes decodable.
fn is_unreadable_value(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..)
    )
}

/// Creates `dir` if needed, private to its owner (tightening one that is not, with a warning),
/// and checks this process may create files in it, so that an unwritable directory is reported
/// with the operating system's reason before SQLite turns it into a vaguer "unable to open
/// database file".
fn ensure_writable(dir: &Path) -> Result<(), StoreError> {
    let unwritable = |source| StoreError::Unwritable {
        dir: dir.to_owned(),
        source,
    };
    if let Some(tightened) = private::create_dir(dir).map_err(unwritable)? {
        tracing::warn!("{tightened}");
    }
    // access(2) asks the kernel with this process's credentials, so it sees read-only mounts,
    // which permission bits alone do not show.
    nix::unistd::access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
        .map_err(|errno| unwritable(io::Error::from(errno)))
}

/// Makes the database and its WAL and shared-memory files `0600` before SQLite opens them:
/// SQLite creates the `-wal` and `-shm` files with the database file's permissions, so a
/// database created private keeps them private; files an older Slipway left readable are
/// tightened.
fn ensure_private_files(files: &Files) -> Result<(), StoreError> {
    let unwritable = |source| StoreError::Unwritable {
        dir: files.dir.clone(),
        source,
    };
    drop(private::open_append(&files.database).map_err(unwritable)?);
    for suffix in ["", "-wal", "-shm"] {
        let mut path = files.database.clone().into_os_string();
        path.push(suffix);
        if let Some(tightened) = private::restrict_file(Path::new(&path)).map_err(unwritable)? {
            tracing::warn!("{tightened}");
        }
    }
    Ok(())
}

/// Connects and migrates, retrying while another process holds the database.
///
/// The busy timeout covers ordinary transactions, but SQLite answers some steps of opening with
/// `SQLITE_BUSY` at once, without calling the busy handler: switching a new file to WAL while
/// another connection does the same, or reading the WAL index while another process rebuilds it.
/// Two processes creating the store at the same moment hit exactly that, so the whole opening is
/// retried, with short pauses, until the same deadline an ordinary writer would wait for.
fn open_and_migrate(files: &Files) -> Result<Connection, StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let attempt = connect(files).and_then(|mut connection| {
            migrations::migrate(&mut connection, files)?;
            Ok(connection)
        });
        match attempt {
            Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Opens the database and sets up the connection.
fn connect(files: &Files) -> Result<Connection, StoreError> {
    let connection = Connection::open(&files.database).map_err(|error| files.classify(error))?;
    // SQLite silently opens a write-protected file read-only; say so now, not at the first write.
    if connection
        .is_readonly("main")
        .map_err(|error| files.classify(error))?
    {
        return Err(StoreError::Unwritable {
            dir: files.dir.clone(),
            source: io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is read-only", files.database.display()),
            ),
        });
    }
    configure(&connection).map_err(|error| files.classify(error))?;
    let mode = enable_wal(&connection).map_err(|error| files.classify(error))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unwritable {
            dir: files.dir.clone(),
            source: io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "this file system cannot hold a write-ahead log (journal mode stays {mode})"
                ),
            ),
        });
    }
    Ok(connection)
}

/// Sets the connection's own settings, which SQLite does not keep in the file.
fn configure(connection: &Connection) -> rusqlite::Result<()> {
    // First, so that everything after it waits for another process's lock instead of failing.
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    // NORMAL under WAL syncs at checkpoints, not at every commit: a commit survives the process
    // being killed, which is the failure this store must survive; only power loss may lose the
    // latest commits. FULL would fsync every build record for no gain against a crash.
    connection.pragma_update(None, "synchronous", "NORMAL")
}

/// Switches the database to write-ahead logging and returns the journal mode it is in after.
///
/// WAL: readers never block the writer, and a commit is one append to the log. The mode is kept
/// in the file, so this is a no-op after the first open. SQLite answers with the old mode where
/// WAL is impossible (a file system without shared memory).
fn enable_wal(connection: &Connection) -> rusqlite::Result<String> {
    connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
}

/// A timestamp as the integer nanoseconds every table stores.
fn timestamp_ns(field: &'static str, at: jiff::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(at.as_nanosecond()).map_err(|_| StoreError::OutOfRange {
        field,
        value: at.to_string(),
    })
}

impl SqliteStore {
    /// The page `page` asks for of `table`'s rows, newest first by `id`, each read by `decode`
    /// from `columns`.
    fn newest_first<T>(
        &self,
        table: &str,
        columns: &str,
        page: &PageRequest,
        decode: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        id: impl Fn(&T) -> i64,
    ) -> Result<Page<T>, StoreError> {
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE id < :after ORDER BY id DESC LIMIT :limit"
        );
        let items = self.read(|transaction| {
            transaction
                .prepare_cached(&sql)?
                .query_map(
                    rusqlite::named_params! {
                        ":after": page.after.map_or(i64::MAX, |cursor| cursor.get()),
                        ":limit": i64::from(page.limit),
                    },
                    decode,
                )?
                .collect()
        })?;
        Ok(page_of(items, page.limit, id))
    }
}

/// A newest-first page of `items`, read with `limit`: a full page may have older entries after
/// it, so its last id is the next page's cursor.
fn page_of<T>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let full = usize::try_from(limit).is_ok_and(|limit| limit > 0 && items.len() == limit);
    let next = items
        .last()
        .filter(|_| full)
        .map(|last| Cursor::new(id(last)));
    Page { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BuildStore;
    use crate::sqlite::builds::tests::sample;

    #[test]
    fn a_writer_locked_out_past_the_timeout_gets_busy_not_a_half_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .lock()
            .busy_timeout(Duration::from_millis(50))
            .unwrap();
        let blocker = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let error = store.record_build(&sample("api")).unwrap_err();

        assert!(
            matches!(&error, StoreError::Busy { path } if path == &dir.path().join("state.db")),
            "{error:?}"
        );
        blocker.execute_batch("COMMIT").unwrap();
        assert_eq!(store.builds(&Default::default()).unwrap(), vec![]);
    }

    #[test]
    fn the_connection_uses_wal_normal_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let connection = store.lock();
        let journal_mode: String = connection.pragma_query_one(None, "journal_mode").unwrap();
        assert_eq!(journal_mode, "wal");
        let number = |name| connection.pragma_query_one::<i64>(None, name).unwrap();
        assert_eq!(number("synchronous"), 1, "1 is NORMAL");
        assert_eq!(number("foreign_keys"), 1);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join(DATABASE_FILE);
        std::fs::write(
            &database,
            "these are not the pages you are looking for".repeat(200),
        )
        .unwrap();

        let error = SqliteStore::open(dir.path()).unwrap_err();

        assert!(
            matches!(&error, StoreError::Corrupt { path, .. } if path == &database),
            "{error:?}"
        );
    }

    #[test]
    fn integrity_check_reports_a_row_whose_parent_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.record_build(&sample("api")).unwrap();
        {
            let connection = store.lock();
            connection
                .pragma_update(None, "foreign_keys", false)
                .unwrap();
            connection.execute("DELETE FROM builds", []).unwrap();
            connection
                .pragma_update(None, "foreign_keys", true)
                .unwrap();
        }

        let error = store.integrity_check().unwrap_err();

        assert!(
            matches!(&error, StoreError::Corrupt { detail, .. } if detail.contains("build_tags")),
            "{error:?}"
        );
    }
}
