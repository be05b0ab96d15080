//! What can go wrong opening, filling or querying the advisory index.
//!
//! Problems with single records are not errors of the index: an import skips them and lists
//! them in its [`ImportSummary`](crate::ImportSummary). These are the failures that stop an
//! operation: an unreadable source, a damaged archive, a database that cannot be written.

use std::path::PathBuf;

/// An error of the advisory index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The import source cannot be read (missing, permission denied).
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// The import source is a `.zip` that cannot be read as one.
    #[error("{} is not a readable zip archive", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What the zip reader reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The index database cannot be opened, written or read.
    #[error("the advisory index {} failed", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The index was written by a newer slipway.
    #[error(
        "the advisory index {} was written by a newer slipway (format {found}, this binary knows {supported})",
        path.display()
    )]
    NewerFormat {
        /// The database file.
        path: PathBuf,
        /// The format version in the file.
        found: u32,
        /// The format version this binary writes.
        supported: u32,
    },
}
