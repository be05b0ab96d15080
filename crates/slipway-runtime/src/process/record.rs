//! The file a supervised replica leaves behind: `<state dir>/<replica>/replica.json`.
//!
//! It says what runs (the spec), where (the port), as which process group, since when and how
//! often it restarted. A supervisor that starts after a crash reads these files to find the
//! replicas it must adopt. The file is replaced by rename, so a reader sees the old record or the
//! new one, never half of one.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::replica::ReplicaState;
use crate::spec::ReplicaSpec;

/// What is known about one supervised replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) spec: ReplicaSpec,
    /// The loopback port it listens on; kept across restarts so its address never changes.
    pub(super) port: u16,
    /// Its process group while something runs; `None` between an exit and a restart.
    pub(super) pgid: Option<i32>,
    pub(super) started_at: jiff::Timestamp,
    pub(super) restarts: u32,
    pub(super) state: ReplicaState,
}

/// The files of one replica.
#[derive(Debug, Clone)]
pub(super) struct Paths {
    pub(super) dir: PathBuf,
}

/// The record's file name in a replica's directory.
const RECORD_FILE: &str = "replica.json";
/// The output's file name in a replica's directory.
const LOG_FILE: &str = "output.log";

impl Paths {
    pub(super) fn new(state_dir: &Path, name: &str) -> Paths {
        Paths {
            dir: state_dir.join(name),
        }
    }

    pub(super) fn record(&self) -> PathBuf {
        self.dir.join(RECORD_FILE)
    }

    pub(super) fn log(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The environment entry that marks this replica's processes (see
    /// [`processes_marked`](super::procfs::processes_marked)).
    pub(super) fn marker(&self) -> String {
        format!("{MARKER_VARIABLE}={}", self.dir.display())
    }

    /// Writes `record`, replacing the previous one atomically.
    pub(super) fn save(&self, record: &Record) -> Result<(), RuntimeError> {
        let path = self.record();
        let failed = |source| RuntimeError::State {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(record).map_err(|error| failed(error.into()))?;
        let staging = self.dir.join(format!("{RECORD_FILE}.new"));
        let mut file = std::fs::File::create(&staging).map_err(failed)?;
        file.write_all(&text).map_err(failed)?;
        file.sync_data().map_err(failed)?;
        std::fs::rename(&staging, &path).map_err(failed)
    }

    /// Reads the record; `None` when there is none (a directory left by a supervisor that died
    /// before writing it).
    pub(super) fn load(&self) -> Result<Option<Record>, RuntimeError> {
        let path = self.record();
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|error| RuntimeError::State {
                        path,
                        source: io::Error::new(io::ErrorKind::InvalidData, error),
                    })
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RuntimeError::State { path, source }),
        }
    }

    /// Removes the replica's directory, output included.
    pub(super) fn remove(&self) -> Result<(), RuntimeError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RuntimeError::State {
                path: self.dir.clone(),
                source,
            }),
        }
    }
}

/// The variable every child carries, set to its replica's directory.
pub(super) const MARKER_VARIABLE: &str = "SLIPWAY_REPLICA_DIR";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Workload;

    #[test]
    fn a_record_round_trips_and_missing_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), "web-1");
        std::fs::create_dir_all(&paths.dir).unwrap();
        assert_eq!(paths.load().unwrap(), None);
        let record = Record {
            spec: ReplicaSpec::new(
                "web-1",
                Workload::Command {
                    command: "true".to_owned(),
                    working_dir: "/".into(),
                },
                3000,
            )
            .unwrap(),
            port: 41000,
            pgid: Some(123),
            started_at: jiff::Timestamp::UNIX_EPOCH,
            restarts: 2,
            state: ReplicaState::Running,
        };
        paths.save(&record).unwrap();
        assert_eq!(paths.load().unwrap(), Some(record));

        std::fs::write(paths.record(), "{ half a rec").unwrap();
        assert!(matches!(paths.load(), Err(RuntimeError::State { .. })));
        paths.remove().unwrap();
        assert!(!paths.dir.exists());
    }
}
