//! Where `slipway db import` reads OSV records from: a directory of JSON files (searched
//! recursively), one of the per-ecosystem `all.zip` archives OSV publishes, or a single file.
//!
//! [`for_each_record`] hands each record's bytes to a callback with a [`Location`] that names it
//! in messages (`all.zip!GHSA-xxxx.json`). A record too large to be one is refused unread,
//! so a hostile archive cannot make the import hold gigabytes.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::IndexError;

/// The largest record read: the biggest real OSV records (long `versions` lists) are a few
/// megabytes.
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    file: PathBuf,
    /// The entry inside a zip archive.
    entry: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(entry) = &self.entry {
            write!(f, "!{entry}")?;
        }
        Ok(())
    }
}

/// What reading one record gave: its bytes, or why they could not be read.
pub(crate) type RecordBytes = Result<Vec<u8>, String>;

/// Calls `each` with every `.json` record under `source`, in a stable order.
pub(crate) fn for_each_record(
    source: &Path,
    each: &mut dyn FnMut(Location, RecordBytes) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let metadata = std::fs::metadata(source).map_err(|error| read_error(source, error))?;
    if metadata.is_dir() {
        from_directory(source, each)
    } else if source
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("zip"))
    {
        from_zip(source, each)
    } else {
        let location = Location {
            file: source.to_owned(),
            entry: None,
        };
        each(location, read_file(source))
    }
}

fn from_directory(
    dir: &Path,
    each: &mut dyn FnMut(Location, RecordBytes) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(dir).to_owned();
            read_error(&path, error.into())
        })?;
        let path = entry.path();
        let is_json = path
            .extension()
            .is_some_and(|extension| extension == "json");
        if entry.file_type().is_file() && is_json {
            let location = Location {
                file: path.to_owned(),
                entry: None,
            };
            each(location, read_file(path))?;
        } else if entry.file_type().is_file() && path.extension().is_some_and(|e| e == "zip") {
            from_zip(path, each)?;
        }
    }
    Ok(())
}

fn from_zip(
    path: &Path,
    each: &mut dyn FnMut(Location, RecordBytes) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let archive_error = |source: zip::result::ZipError| IndexError::Archive {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = File::open(path).map_err(|error| read_error(path, error))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(archive_error)?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(archive_error)?;
        let name = entry.name().map_err(archive_error)?.into_owned();
        if !entry.is_file() || !name.ends_with(".json") {
            continue;
        }
        let location = Location {
            file: path.to_owned(),
            entry: Some(name),
        };
        let bytes = if entry.size() > MAX_RECORD_BYTES {
            Err(too_large(entry.size()))
        } else {
            let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
            // The declared size may lie: read at most one byte more than the limit.
            match (&mut entry)
                .take(MAX_RECORD_BYTES + 1)
                .read_to_end(&mut bytes)
            {
                Ok(read) if read as u64 > MAX_RECORD_BYTES => Err(too_large(read as u64)),
                Ok(_) => Ok(bytes),
                Err(error) => Err(format!("cannot decompress it: {error}")),
            }
        };
        each(location, bytes)?;
    }
    Ok(())
}

fn read_file(path: &Path) -> RecordBytes {
    let file = File::open(path).map_err(|error| format!("cannot read it: {error}"))?;
    let mut bytes = Vec::new();
    let read = file
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read it: {error}"))?;
    if read as u64 > MAX_RECORD_BYTES {
        return Err(too_large(read as u64));
    }
    Ok(bytes)
}

fn too_large(size: u64) -> String {
    format!("{size} bytes is more than an OSV record can be ({MAX_RECORD_BYTES} bytes at most)")
}

fn read_error(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Read {
        path: path.to_owned(),
        source,
    }
}
