//! What can go wrong in the store, with what a person needs to fix it.
//!
//! Each variant is one cause the binary can put a hint to: an unwritable directory (point the
//! store elsewhere), a newer schema (upgrade slipway), corruption (restore or move the file), a
//! lock held too long (another slipway is busy). Backend errors are carried as boxed sources so no
//! backend type appears in the API.

use std::path::PathBuf;

/// An error from the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The state directory, or the database in it, cannot be created or written: permission
    /// denied, a read-only file system, a full disk, or a path through a regular file.
    #[error("cannot write the state directory {}", dir.display())]
    Unwritable {
        /// The state directory.
        dir: PathBuf,
        /// Why, as the operating system or the database reported it.
        #[source]
        source: std::io::Error,
    },

    /// The database was written by a newer slipway, whose schema this binary does not know.
    #[error(
        "{} was written by a newer slipway (schema {found}, this binary knows {supported}); upgrade slipway",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version in the file.
        found: u32,
        /// The newest schema version this binary knows.
        supported: u32,
    },

    /// The database file is damaged or is not a database at all.
    #[error("{} is corrupt: {detail}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong, as the integrity check or the database reported it.
        detail: String,
    },

    /// Another process held the database locked for longer than the store waits.
    #[error("{} stayed locked by another process for too long", path.display())]
    Busy {
        /// The database file.
        path: PathBuf,
    },

    /// A value is outside what the store can keep: a size or a duration beyond 2^63, a time
    /// outside the years 1677 to 2262.
    #[error("{field} is out of the range the store keeps: {value}")]
    OutOfRange {
        /// The field, as named in the record type.
        field: &'static str,
        /// The value that did not fit, as text.
        value: String,
    },

    /// A schema migration failed; the database was left at the version before it.
    #[error("upgrading {} failed in migration {migration}", path.display())]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The migration's name, such as `0002_runs`.
        migration: String,
        /// What the database reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A finished release was to be changed; its record is final.
    #[error("release {id} is finished; its record no longer changes")]
    ReleaseFinished {
        /// The release.
        id: i64,
    },

    /// A record with this name exists already: names of projects and tokens are unique.
    #[error("a {kind} named {name:?} exists already")]
    AlreadyExists {
        /// What kind of record (`project`, `token`).
        kind: &'static str,
        /// The name that is taken.
        name: String,
    },

    /// Any other failure of the SQLite backend.
    #[error("state database {} failed", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
