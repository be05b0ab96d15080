//! Pushes to a local bare repository, handed to the server by the repository's post-receive
//! hook (`slipway hooks install`) through a spool, so that none is lost while the server is down.
//!
//! The hook writes one file per push under `DATA/spool/`, atomically (written and synced under a
//! dot-name, then renamed), and then pokes the server by connecting to `DATA/poke.sock` and
//! waiting for it to close the connection. The server drains the spool when it starts and on
//! every poke, closing the poker's connection once done: each pushed ref becomes a `push` run,
//! recorded as a delivery of provider `local` (id: the spool file and the ref) in the same
//! transaction, and the file is removed once its refs are queued. A file drained twice (the
//! server died before removing it) queues nothing twice; one that cannot be read is set aside
//! as `.bad`.
//! A push made while no server runs waits in the spool until one starts.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use slipway_store::{DeliveryOutcome, NewDelivery, Recorded, Trigger};

use crate::ServerError;
use crate::audit::{self, Action};
use crate::error::ApiError;
use crate::state::AppState;

/// Who the audit trail and the run name as the actor of a pushed ref.
const ACTOR: &str = "post-receive";

/// One ref a push updated, as `post-receive` reads it on its input: `OLD NEW REF`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRef {
    /// The ref's commit before (all zeros when it was created).
    pub before: String,
    /// The ref's commit after (all zeros when it was deleted).
    pub after: String,
    /// The full ref: `refs/heads/main`.
    pub git_ref: String,
}

impl PushedRef {
    /// Reads a line of `post-receive`'s input; `None` when it is not `OLD NEW REF`.
    pub fn parse(line: &str) -> Option<PushedRef> {
        let mut fields = line.split_whitespace();
        let (before, after, git_ref) = (fields.next()?, fields.next()?, fields.next()?);
        fields.next().is_none().then(|| PushedRef {
            before: before.to_owned(),
            after: after.to_owned(),
            git_ref: git_ref.to_owned(),
        })
    }

    fn deleted(&self) -> bool {
        self.after.bytes().all(|b| b == b'0')
    }
}

/// One push, as spooled.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spooled {
    project: String,
    refs: Vec<PushedRef>,
}

/// `DATA/spool/`.
pub fn spool_dir(data: &Path) -> PathBuf {
    data.join("spool")
}

/// `DATA/poke.sock`: the server listens there; a connection means "drain the spool".
pub fn poke_socket(data: &Path) -> PathBuf {
    data.join("poke.sock")
}

/// Spools a push of `refs` to `project` and pokes the server of `data` if one runs. Returns
/// the spool file. The push is durable once this returns, whether or not a server runs.
pub fn hand_over(data: &Path, project: &str, refs: Vec<PushedRef>) -> Result<PathBuf, ServerError> {
    let dir = spool_dir(data);
    crate::create_private_dir(&dir)?;
    let spooled = Spooled {
        project: project.to_owned(),
        refs,
    };
    let name = format!(
        "{:020}-{}.json",
        jiff::Timestamp::now().as_nanosecond(),
        std::process::id()
    );
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}"));
    let spool_error = |source| ServerError::Spool {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(spool_error)?;
    // A struct of strings always serializes.
    let json = serde_json::to_vec(&spooled).unwrap_or_default();
    file.write_all(&json).map_err(spool_error)?;
    file.sync_all().map_err(spool_error)?;
    std::fs::rename(&partial, &path).map_err(spool_error)?;
    std::fs::File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(spool_error)?;
    poke(data);
    Ok(path)
}

/// How long a push waits for the server to take it: a server that hangs must not hang `git push`
/// (the push stays spooled either way).
const POKE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Pokes the server of `data` and waits until it has drained the spool (it closes the
/// connection then), so the push's runs are queued when `git push` returns. No server
/// listening is fine: the next one to start drains the spool.
fn poke(data: &Path) {
    use std::io::Read;
    if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(poke_socket(data)) {
        let _ = stream.set_read_timeout(Some(POKE_PATIENCE));
        let _ = stream.read_to_end(&mut Vec::new());
    }
}

/// Drains the spool, then listens on `DATA/poke.sock` and drains it on every poke until the
/// returned task is aborted. Returns once the first drain is done, so runs spooled while no
/// server ran are queued before the first request is answered.
pub(crate) async fn start(
    state: Arc<AppState>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let root = state.data.root().to_owned();
    crate::create_private_dir(&spool_dir(&root))?;
    let socket = poke_socket(&root);
    let bind_error = |source| ServerError::DataDir {
        path: socket.clone(),
        source,
    };
    // A socket left by a server that was killed: nothing listens on it any more.
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).map_err(bind_error)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(bind_error)?;
    drain(&state).await;
    Ok(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                // Dropped once drained: the poker waits for that.
                Ok((poker, _)) => {
                    drain(&state).await;
                    drop(poker);
                }
                Err(error) => tracing::warn!(%error, "accepting a poke failed"),
            }
        }
    }))
}

/// Queues every spooled push, oldest first, removing each file once its refs are queued.
async fn drain(state: &AppState) {
    let dir = spool_dir(state.data.root());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "json")
                    && !path
                        .file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(error) => {
            tracing::error!(dir = %dir.display(), %error, "reading the spool failed");
            return;
        }
    };
    files.sort();
    for file in files {
        let spooled = match read_spooled(&file) {
            Ok(spooled) => spooled,
            Err(error) => {
                tracing::error!(file = %file.display(), %error, "an unreadable spooled push is set aside as .bad");
                let _ = std::fs::rename(&file, file.with_extension("bad"));
                continue;
            }
        };
        match queue(state, &file, &spooled).await {
            Ok(()) => {
                if let Err(error) = std::fs::remove_file(&file) {
                    tracing::error!(file = %file.display(), %error, "removing a queued push from the spool failed");
                }
            }
            // Kept: the next poke or start tries again, and what was queued is not queued twice.
            Err(error) => {
                tracing::error!(file = %file.display(), ?error, "queueing a spooled push failed");
            }
        }
    }
}

fn read_spooled(file: &Path) -> Result<Spooled, String> {
    let text = std::fs::read(file).map_err(|error| error.to_string())?;
    serde_json::from_slice(&text).map_err(|error| error.to_string())
}

/// Queues a run per pushed ref, each recorded as a delivery of provider `local` whose id is the
/// spool file and the ref, in the same transaction: a file drained again after a crash (queued,
/// not yet removed) queues nothing twice.
async fn queue(state: &AppState, file: &Path, spooled: &Spooled) -> Result<(), ApiError> {
    let name = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    for pushed in spooled.refs.iter().filter(|pushed| !pushed.deleted()) {
        let now = jiff::Timestamp::now();
        let record = NewDelivery {
            provider: "local".to_owned(),
            delivery_id: format!("{name}/{}", pushed.git_ref),
            event: "push".to_owned(),
            received_at: now,
            remote_addr: None,
            body_bytes: 0,
            outcome: DeliveryOutcome::Accepted,
        };
        let trigger = trigger(&spooled.project, pushed);
        let (recorded, run) = state
            .blocking(move |store| store.accept_delivery(&record, &trigger, now))
            .await?;
        let (Recorded::New(_), Some(run)) = (recorded, run) else {
            continue;
        };
        state.wake.notify_waiters();
        state.deliveries.count(&DeliveryOutcome::Accepted);
        audit::record(
            state,
            Action {
                actor: ACTOR,
                action: "delivery.accept",
                target: &spooled.project,
                detail: format!("run {run} of {} at {}", pushed.git_ref, pushed.after),
                remote: None,
            },
        )
        .await;
    }
    Ok(())
}

/// The push trigger of a pushed ref: its payload carries `before`, so `paths:` filters see the
/// files the push changed.
fn trigger(project: &str, pushed: &PushedRef) -> Trigger {
    Trigger {
        project: project.to_owned(),
        workflow: None,
        event: "push".to_owned(),
        git_ref: pushed.git_ref.clone(),
        sha: Some(pushed.after.clone()),
        actor: ACTOR.to_owned(),
        inputs: std::collections::BTreeMap::new(),
        rerun_of: None,
        payload: Some(serde_json::json!({
            "ref": pushed.git_ref,
            "before": pushed.before,
            "after": pushed.after,
            "created": pushed.before.bytes().all(|b| b == b'0'),
            "deleted": false,
            "pusher": { "name": ACTOR },
            "sender": { "login": ACTOR },
        })),
        withhold_secrets: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_receive_line_is_old_new_ref_and_a_deletion_has_a_zero_new_commit() {
        let created = PushedRef::parse(
            "0000000000000000000000000000000000000000 1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c refs/heads/main",
        )
        .unwrap();
        assert_eq!(created.git_ref, "refs/heads/main");
        assert!(!created.deleted());
        let deleted = PushedRef::parse(&format!(
            "{} {} refs/tags/v1",
            created.after,
            "0".repeat(40)
        ))
        .unwrap();
        assert!(deleted.deleted());
        assert_eq!(PushedRef::parse("abc refs/heads/main"), None);
        assert_eq!(PushedRef::parse("a b c d"), None);
    }
}
