//! [`AdvisoryIndex`]: OSV advisories in a SQLite file in the state directory, looked up by
//! package.
//!
//! The index is a cache of the OSV files it was filled from: `advisories` holds what reports
//! show, `affected` one row per (advisory, package) with its ranges and versions as compact JSON,
//! indexed by `(ecosystem, name)` so matching a lockfile costs one indexed lookup per package.
//! An import runs in one transaction: a failed or interrupted import leaves the index as it was.
//! A record already present is replaced only by one modified later, so importing an old
//! snapshot over a new one loses nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::IndexError;
use crate::ecosystem::Ecosystem;
use crate::matching;
use crate::osv::{self, Advisory, AffectedPackage, OsvError, Range};
use crate::source::{self, Location};

/// The format this binary writes; an older file is rebuilt, a newer one refused.
const FORMAT_VERSION: u32 = 1;

/// How often an import reports progress, in records.
const PROGRESS_EVERY: usize = 1_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS advisories (
    id          TEXT PRIMARY KEY,
    modified_s  INTEGER NOT NULL,
    data        TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS affected (
    advisory_id TEXT NOT NULL REFERENCES advisories (id) ON DELETE CASCADE,
    ecosystem   TEXT NOT NULL,
    name        TEXT NOT NULL,
    ranges      TEXT NOT NULL,
    versions    TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS affected_by_package ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_by_advisory ON affected (advisory_id);
CREATE TABLE IF NOT EXISTS imports (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    records     INTEGER NOT NULL,
    skipped     INTEGER NOT NULL
) STRICT;
";

/// The advisory index of one state directory.
#[derive(Debug)]
pub struct AdvisoryIndex {
    path: PathBuf,
    connection: Mutex<Connection>,
}

/// A package to look up: its ecosystem, name and installed version.
#[derive(Debug, Clone, Copy)]
pub struct PackageQuery<'a> {
    pub ecosystem: &'a Ecosystem,
    pub name: &'a str,
    pub version: &'a str,
}

/// An advisory that affects one of the queried packages.
#[derive(Debug, Clone)]
pub struct AdvisoryMatch {
    /// The position of the package in the slice given to [`AdvisoryIndex::find`].
    pub package: usize,
    pub advisory: Arc<Advisory>,
    /// Versions that fix it, from the ranges that include the installed version; empty when no
    /// fix is known.
    pub fixed_versions: Vec<String>,
}

/// A package that could not be checked, and why (a version its ecosystem cannot order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchecked {
    /// The position of the package in the slice given to [`AdvisoryIndex::find`].
    pub package: usize,
    /// The advisory whose ranges could not be evaluated.
    pub advisory: String,
    pub reason: String,
}

/// What [`AdvisoryIndex::find`] found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub matches: Vec<AdvisoryMatch>,
    pub unchecked: Vec<Unchecked>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The file or directory imported.
    pub source: PathBuf,
    /// Records added or updated.
    pub imported: usize,
    /// Records already in the index with a later `modified`, left as they were.
    pub kept_newer: usize,
    /// Withdrawn records, removed from the index.
    pub withdrawn: usize,
    /// Records that could not be read, with the reason.
    pub skipped: Vec<SkippedRecord>,
}

/// A record an import skipped.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedRecord {
    /// The file, or `archive.zip!entry.json`.
    pub location: String,
    /// Why, with the line, column or JSON path.
    pub reason: String,
}

/// What `slipway db status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStatus {
    /// The index file.
    pub path: PathBuf,
    /// Advisories in the index.
    pub advisories: u64,
    /// Advisories per ecosystem, by name.
    pub ecosystems: Vec<EcosystemCount>,
    /// When the newest advisory was last modified.
    pub newest_modified: Option<jiff::Timestamp>,
    /// The last import, if any.
    pub last_import: Option<ImportRecord>,
}

/// The number of advisories of one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemCount {
    pub ecosystem: String,
    pub advisories: u64,
}

/// One past import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRecord {
    pub source: String,
    pub imported_at: jiff::Timestamp,
    pub records: u64,
    pub skipped: u64,
}

impl AdvisoryIndex {
    /// The index's file name in the state directory.
    pub const FILE_NAME: &'static str = "advisories.db";

    /// Opens the index in `state_dir`, creating the directory and an empty index if needed.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the file cannot be opened or created,
    /// [`IndexError::NewerFormat`] when a newer slipway wrote it.
    pub fn open(state_dir: &Path) -> Result<AdvisoryIndex, IndexError> {
        // Switching a new file to WAL answers SQLITE_BUSY at once, without the busy handler,
        // while another process does the same: two scans starting together both create the
        // index. The schema is idempotent, so the whole opening is simply tried again.
        let deadline = std::time::Instant::now() + OPEN_RETRY_FOR;
        loop {
            match Self::open_once(state_dir) {
                Err(error) if is_busy(&error) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }

    fn open_once(state_dir: &Path) -> Result<AdvisoryIndex, IndexError> {
        let path = state_dir.join(Self::FILE_NAME);
        let database = |source: rusqlite::Error| database_error(&path, source);
        std::fs::create_dir_all(state_dir).map_err(|source| IndexError::Database {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let connection = Connection::open(&path).map_err(database)?;
        connection
            .busy_timeout(Duration::from_secs(30))
            .map_err(database)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(database)?;
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(database)?;
        let version: u32 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(database)?;
        if version > FORMAT_VERSION {
            return Err(IndexError::NewerFormat {
                path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < FORMAT_VERSION {
            connection
                .execute_batch(&format!(
                    "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {FORMAT_VERSION}; COMMIT;"
                ))
                .map_err(database)?;
        }
        Ok(AdvisoryIndex {
            path,
            connection: Mutex::new(connection),
        })
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Imports every OSV record under `source` (a directory, an OSV `.zip`, or one `.json`),
    /// calling `progress` with the number of records read so far now and then.
    ///
    /// Records that break the schema are skipped and listed in the summary; the rest are
    /// imported in one transaction.
    ///
    /// # Errors
    ///
    /// [`IndexError::Read`] or [`IndexError::Archive`] when the source cannot be read at all,
    /// [`IndexError::Database`] when the index cannot be written. The index is then unchanged.
    pub fn import(
        &self,
        source: &Path,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ImportSummary, IndexError> {
        let mut connection = self.lock();
        let database = |error: rusqlite::Error| database_error(&self.path, error);
        let transaction = connection.transaction().map_err(database)?;
        let summary = self.import_in(&transaction, source, progress)?;
        transaction.commit().map_err(database)?;
        Ok(summary)
    }

    /// Replaces everything the index holds with the records of `sources` (as [`import`] reads
    /// them), in one transaction: when a source cannot be read, the index is left as it was, so
    /// readers see the old advisories or the new ones, never a mix.
    ///
    /// [`import`]: AdvisoryIndex::import
    ///
    /// # Errors
    ///
    /// As [`AdvisoryIndex::import`]; the index is then unchanged.
    pub fn replace_all(
        &self,
        sources: &[PathBuf],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<ImportSummary>, IndexError> {
        let mut connection = self.lock();
        let database = |error: rusqlite::Error| database_error(&self.path, error);
        let transaction = connection.transaction().map_err(database)?;
        transaction
            .execute_batch("DELETE FROM affected; DELETE FROM advisories;")
            .map_err(database)?;
        let summaries = sources
            .iter()
            .map(|source| self.import_in(&transaction, source, progress))
            .collect::<Result<Vec<_>, _>>()?;
        transaction.commit().map_err(database)?;
        Ok(summaries)
    }

    /// Records that `source` was checked and had nothing new: the index is as fresh as that
    /// check, though no record changed.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be written.
    pub fn record_check(&self, source: &str) -> Result<(), IndexError> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO imports (source, imported_at, records, skipped) VALUES (?1, ?2, 0, 0)",
                params![source, jiff::Timestamp::now().to_string()],
            )
            .map_err(|error| database_error(&self.path, error))?;
        Ok(())
    }

    fn import_in(
        &self,
        transaction: &Transaction<'_>,
        source: &Path,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ImportSummary, IndexError> {
        let database = |error: rusqlite::Error| database_error(&self.path, error);
        let mut summary = ImportSummary {
            source: source.to_owned(),
            imported: 0,
            kept_newer: 0,
            withdrawn: 0,
            skipped: Vec::new(),
        };
        let mut seen = 0;
        source::for_each_record(source, &mut |location: Location, bytes| {
            seen += 1;
            if seen % PROGRESS_EVERY == 0 {
                progress(seen);
            }
            let record = bytes.and_then(|bytes| {
                osv::parse_record(&bytes).map_err(|error: OsvError| error.to_string())
            });
            match record {
                Ok(record) => {
                    let outcome = store_record(transaction, &record).map_err(database)?;
                    match outcome {
                        Stored::Imported => summary.imported += 1,
                        Stored::KeptNewer => summary.kept_newer += 1,
                        Stored::Withdrawn => summary.withdrawn += 1,
                    }
                }
                Err(reason) => summary.skipped.push(SkippedRecord {
                    location: location.to_string(),
                    reason,
                }),
            }
            Ok(())
        })?;
        progress(seen);
        transaction
            .execute(
                "INSERT INTO imports (source, imported_at, records, skipped) VALUES (?1, ?2, ?3, ?4)",
                params![
                    source.display().to_string(),
                    jiff::Timestamp::now().to_string(),
                    i64::try_from(summary.imported).unwrap_or(i64::MAX),
                    i64::try_from(summary.skipped.len()).unwrap_or(i64::MAX),
                ],
            )
            .map_err(database)?;
        Ok(summary)
    }

    /// Whether the index holds no advisory at all (cheaper than [`AdvisoryIndex::status`]).
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be read.
    pub fn is_empty(&self) -> Result<bool, IndexError> {
        let connection = self.lock();
        let any: Option<i64> = connection
            .query_row("SELECT 1 FROM advisories LIMIT 1", [], |row| row.get(0))
            .optional()
            .map_err(|error| database_error(&self.path, error))?;
        Ok(any.is_none())
    }

    /// Whether the index holds any advisory about `ecosystem`: a scan of packages from an
    /// ecosystem it knows nothing about checked nothing, whatever it found. One indexed lookup.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be read.
    pub fn holds(&self, ecosystem: &Ecosystem) -> Result<bool, IndexError> {
        let connection = self.lock();
        let any: Option<i64> = connection
            .query_row(
                "SELECT 1 FROM affected WHERE ecosystem = ?1 LIMIT 1",
                [ecosystem.key()],
                |row| row.get(0),
            )
            .optional()
            .map_err(|error| database_error(&self.path, error))?;
        Ok(any.is_some())
    }

    /// When the index was last filled (the newest import's time), `None` when never: how old
    /// what it knows may be.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be read.
    pub fn updated_at(&self) -> Result<Option<jiff::Timestamp>, IndexError> {
        let connection = self.lock();
        let at: Option<String> = connection
            .query_row(
                "SELECT imported_at FROM imports ORDER BY id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|error| database_error(&self.path, error))?;
        Ok(at.and_then(|at| at.parse().ok()))
    }

    /// Counts and age of what the index holds.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be read.
    pub fn status(&self) -> Result<IndexStatus, IndexError> {
        let connection = self.lock();
        let read = || -> rusqlite::Result<IndexStatus> {
            let advisories: i64 =
                connection.query_row("SELECT count(*) FROM advisories", [], |row| row.get(0))?;
            let mut statement = connection.prepare(
                "SELECT ecosystem, count(DISTINCT advisory_id) FROM affected GROUP BY ecosystem ORDER BY ecosystem",
            )?;
            let ecosystems = statement
                .query_map([], |row| {
                    Ok(EcosystemCount {
                        ecosystem: row.get(0)?,
                        advisories: row.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let newest: Option<i64> =
                connection.query_row("SELECT max(modified_s) FROM advisories", [], |row| {
                    row.get(0)
                })?;
            let last_import = connection
                .query_row(
                    "SELECT source, imported_at, records, skipped FROM imports ORDER BY id DESC LIMIT 1",
                    [],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            Ok(IndexStatus {
                path: self.path.clone(),
                advisories: advisories.try_into().unwrap_or(0),
                ecosystems,
                newest_modified: newest
                    .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok()),
                last_import: last_import.and_then(|(source, at, records, skipped)| {
                    Some(ImportRecord {
                        source,
                        imported_at: at.parse().ok()?,
                        records: records.try_into().unwrap_or(0),
                        skipped: skipped.try_into().unwrap_or(0),
                    })
                }),
            })
        };
        read().map_err(|error| database_error(&self.path, error))
    }

    /// Looks every package up and returns the advisories that affect its version.
    ///
    /// # Errors
    ///
    /// [`IndexError::Database`] when the index cannot be read. A package whose version cannot be
    /// compared is not an error: it is listed in [`Findings::unchecked`].
    pub fn find(&self, packages: &[PackageQuery<'_>]) -> Result<Findings, IndexError> {
        let mut connection = self.lock();
        let database = |error: rusqlite::Error| database_error(&self.path, error);
        // One snapshot for the whole lookup, even if an import commits meanwhile.
        let transaction = connection.transaction().map_err(database)?;
        let mut findings = Findings::default();
        let mut advisories: HashMap<String, Arc<Advisory>> = HashMap::new();
        for (position, package) in packages.iter().enumerate() {
            let scheme = package.ecosystem.version_scheme();
            let name = package.ecosystem.normalize_name(package.name);
            for (advisory_id, affected) in
                affected_rows(&transaction, &package.ecosystem.key(), &name).map_err(database)?
            {
                match matching::affected(&affected, scheme, package.version) {
                    Ok(None) => {}
                    Ok(Some(verdict)) => {
                        let advisory = match advisories.get(&advisory_id) {
                            Some(advisory) => Arc::clone(advisory),
                            None => {
                                let advisory = Arc::new(
                                    load_advisory(&transaction, &advisory_id).map_err(database)?,
                                );
                                advisories.insert(advisory_id, Arc::clone(&advisory));
                                advisory
                            }
                        };
                        findings.matches.push(AdvisoryMatch {
                            package: position,
                            advisory,
                            fixed_versions: verdict.fixed,
                        });
                    }
                    Err(error) => findings.unchecked.push(Unchecked {
                        package: position,
                        advisory: advisory_id,
                        reason: error.to_string(),
                    }),
                }
            }
        }
        Ok(findings)
    }

    /// The connection. A panic while it was held rolled its transaction back as it unwound, so
    /// the poison is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What storing one record did.
enum Stored {
    Imported,
    KeptNewer,
    Withdrawn,
}

fn store_record(transaction: &Transaction<'_>, record: &osv::Record) -> rusqlite::Result<Stored> {
    let advisory = &record.advisory;
    let modified = advisory
        .modified
        .parse::<jiff::Timestamp>()
        .map(|time| time.as_second())
        .unwrap_or(0);
    let existing: Option<i64> = transaction
        .prepare_cached("SELECT modified_s FROM advisories WHERE id = ?1")?
        .query_row([&advisory.id], |row| row.get(0))
        .optional()?;
    if existing.is_some_and(|existing| existing > modified) {
        return Ok(Stored::KeptNewer);
    }
    transaction
        .prepare_cached("DELETE FROM advisories WHERE id = ?1")?
        .execute([&advisory.id])?;
    if record.withdrawn {
        return Ok(Stored::Withdrawn);
    }
    let data = serde_json::to_string(advisory).map_err(json_error)?;
    transaction
        .prepare_cached("INSERT INTO advisories (id, modified_s, data) VALUES (?1, ?2, ?3)")?
        .execute(params![advisory.id, modified, data])?;
    let mut insert = transaction.prepare_cached(
        "INSERT INTO affected (advisory_id, ecosystem, name, ranges, versions) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for affected in &record.affected {
        insert.execute(params![
            advisory.id,
            affected.ecosystem,
            affected.name,
            serde_json::to_string(&affected.ranges).map_err(json_error)?,
            serde_json::to_string(&affected.versions).map_err(json_error)?,
        ])?;
    }
    Ok(Stored::Imported)
}

fn affected_rows(
    transaction: &Transaction<'_>,
    ecosystem: &str,
    name: &str,
) -> rusqlite::Result<Vec<(String, AffectedPackage)>> {
    let mut statement = transaction.prepare_cached(
        "SELECT advisory_id, ranges, versions FROM affected WHERE ecosystem = ?1 AND name = ?2",
    )?;
    let rows = statement.query_map([ecosystem, name], |row| {
        let ranges: String = row.get(1)?;
        let versions: String = row.get(2)?;
        let ranges: Vec<Range> = serde_json::from_str(&ranges).map_err(json_error)?;
        let versions: Vec<String> = serde_json::from_str(&versions).map_err(json_error)?;
        Ok((
            row.get(0)?,
            AffectedPackage {
                ecosystem: ecosystem.to_owned(),
                name: name.to_owned(),
                ranges,
                versions,
            },
        ))
    })?;
    rows.collect()
}

fn load_advisory(transaction: &Transaction<'_>, id: &str) -> rusqlite::Result<Advisory> {
    let data: String = transaction
        .prepare_cached("SELECT data FROM advisories WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?;
    serde_json::from_str(&data).map_err(json_error)
}

/// JSON the index wrote itself and cannot read back: the file was damaged.
fn json_error(error: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

/// How long opening the index retries while another process creates it.
const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);

fn is_busy(error: &IndexError) -> bool {
    let IndexError::Database { source, .. } = error else {
        return false;
    };
    source
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        .is_some_and(|code| {
            matches!(
                code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        })
}

fn database_error(path: &Path, source: rusqlite::Error) -> IndexError {
    IndexError::Database {
        path: path.to_owned(),
        source: Box::new(source),
    }
}
