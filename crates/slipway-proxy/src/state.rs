//! The state file: the last applied routing table, written atomically before every switch and
//! read at start, so a restarted proxy serves what it served before.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ProxyError;
use crate::table::VersionedTable;

/// Reads the saved table; `None` when there is no file yet.
pub(crate) async fn load(path: &Path) -> Result<Option<VersionedTable>, ProxyError> {
    let failed = |cause: String| ProxyError::StateFile {
        path: path.to_path_buf(),
        cause,
    };
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(failed(error.to_string())),
    };
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer)
        .map(Some)
        .map_err(|error| {
            let at = error.path().to_string();
            let inner = error.into_inner();
            failed(format!(
                "line {} column {}, at `{at}`: {inner}",
                inner.line(),
                inner.column()
            ))
        })
}

/// Replaces `path` with `table` atomically: written to a temporary file beside it, then renamed
/// over it, so a crash at any moment leaves the old table or the new one. Once this returns, the
/// new table survives the proxy being killed. Flushing it to disk (so it also survives a power
/// cut) takes the disk's time, often tens of milliseconds under load; that runs in the
/// background, after the switch, instead of delaying it.
pub(crate) async fn save(path: PathBuf, table: &VersionedTable) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(table).map_err(std::io::Error::other)?;
    let written =
        tokio::task::spawn_blocking(move || replace(&path, &text).map(|file| (path, file)))
            .await
            .map_err(std::io::Error::other)??;
    tokio::task::spawn_blocking(move || {
        let (path, file) = written;
        if let Err(error) = flush(&path, &file) {
            tracing::warn!(path = %path.display(), %error, "the routing table was saved but not flushed to disk");
        }
    });
    Ok(())
}

/// Writes `bytes` to a temporary file and renames it over `path`; returns the file, to flush.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temporary = dir.join(name);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    std::fs::rename(&temporary, path)?;
    Ok(file)
}

/// Flushes the renamed file's contents, then the directory entry that names it.
fn flush(path: &Path, file: &File) -> std::io::Result<()> {
    file.sync_all()?;
    File::open(parent(path))?.sync_all()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{RoutingTable, TableVersion};

    #[tokio::test]
    async fn a_saved_table_reads_back_and_a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/routes.json");
        assert!(load(&path).await.unwrap().is_none());
        let table = VersionedTable {
            version: TableVersion::new(7),
            table: RoutingTable::empty(),
        };
        save(path.clone(), &table).await.unwrap();
        assert_eq!(load(&path).await.unwrap(), Some(table));
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn a_damaged_file_is_reported_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("routes.json");
        std::fs::write(
            &path,
            "{\"version\": 1, \"table\": {\"routes\": [{\"backend\": \"x\"}]}}",
        )
        .unwrap();
        let error = load(&path).await.unwrap_err().to_string();
        assert!(error.contains("routes.json"), "{error}");
        assert!(error.contains("not declared"), "{error}");
    }
}
