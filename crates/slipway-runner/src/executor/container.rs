//! The container executor: the job's steps run with `exec` in one long-lived container of the
//! job's image, the workspace and temporary directory mounted as GitHub mounts them
//! (`/__w/<repo>/<repo>` and `/__w/_temp`).
//!
//! The container's main process waits forever (`tail -f /dev/null`); each step is an `exec`
//! wrapped so that it first writes its process id to the temporary directory. Stopping a step
//! signals that process from a second `exec`: `SIGINT`, then `SIGTERM`, then `SIGKILL`, with the
//! same grace periods as on the host.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use slipway_engine::{BindMount, ContainerId, ContainerSpec, ExecEvent, ExecSpec};
use slipway_expr::Value;
use tokio::sync::Mutex;

use super::services::{ContainerPlan, JobContainers};
use super::{Executor, ExecutorError, Place, StepCommand, Stop};
use crate::process::{Exit, StopReason};

/// The name the job container has on the job's network.
pub(crate) const JOB_CONTAINER: &str = "job";
/// Where the job's temporary directory is mounted.
const TEMP_MOUNT: &str = "/__w/_temp";
/// The grace periods of a stopped step, as on the host.
const INTERRUPT_GRACE: Duration = Duration::from_millis(7_500);
const TERMINATE_GRACE: Duration = Duration::from_millis(2_500);

/// Runs steps in the job container.
#[derive(Debug)]
pub(crate) struct ContainerExecutor {
    containers: JobContainers,
    id: ContainerId,
    workspace: Place,
    temp: Place,
    /// The image's `PATH`, which `$GITHUB_PATH` entries go in front of.
    path: String,
    programs: Mutex<HashMap<String, Option<String>>>,
}

impl ContainerExecutor {
    /// Starts the job container from `plan` on the network of `containers`, with the host
    /// directories `workspace` and `temp` mounted; `repository` names the workspace mount.
    pub(crate) async fn start(
        containers: JobContainers,
        plan: &ContainerPlan,
        workspace: &Path,
        temp: &Path,
        repository: &str,
    ) -> Result<ContainerExecutor, (JobContainers, ExecutorError)> {
        let name = repository.rsplit('/').next().unwrap_or(repository);
        let workspace = Place {
            host: workspace.to_owned(),
            seen: format!("/__w/{name}/{name}"),
        };
        let temp = Place {
            host: temp.to_owned(),
            seen: TEMP_MOUNT.to_owned(),
        };
        let image_path = match containers.engine().inspect_image(&plan.image).await {
            Ok(Some(details)) => details.config.env.get("PATH").cloned(),
            Ok(None) => {
                let error = ExecutorError::NotReady(format!(
                    "image {} is not on this machine, and Slipway does not pull images; build or load it first",
                    plan.image
                ));
                return Err((containers, error));
            }
            Err(error) => return Err((containers, error.into())),
        };
        let mut spec = ContainerSpec::new(plan.image.clone())
            .entrypoint(["tail"])
            .cmd(["-f", "/dev/null"])
            .working_dir(
                plan.options
                    .workdir
                    .clone()
                    .unwrap_or_else(|| workspace.seen.clone()),
            )
            .bind(BindMount {
                host_path: workspace.host.clone(),
                container_path: workspace.seen.clone(),
                read_only: false,
            })
            .bind(BindMount {
                host_path: temp.host.clone(),
                container_path: temp.seen.clone(),
                read_only: false,
            });
        let mut job_plan = plan.clone();
        // `--entrypoint` would replace the waiting process; the job container keeps its own.
        job_plan.options.entrypoint = None;
        if let Some(user) = &plan.options.user {
            spec = spec.user(user.clone());
        }
        let started = match containers.start(&job_plan, spec).await {
            Ok(started) => started,
            Err(error) => return Err((containers, error)),
        };
        Ok(ContainerExecutor {
            containers,
            id: started.id,
            workspace,
            temp,
            path: image_path.unwrap_or_else(|| {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()
            }),
            programs: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `signal` to the step whose process id is in `pid_file`.
    async fn signal(&self, pid_file: &str, signal: &str) {
        let script = format!("kill -s {signal} $(cat {pid_file}) 2>/dev/null");
        let _ = self
            .containers
            .engine()
            .exec(
                self.id.as_str(),
                ExecSpec::new(["sh", "-c", script.as_str()]),
            )
            .await;
    }
}

#[async_trait]
impl Executor for ContainerExecutor {
    fn workspace(&self) -> &Place {
        &self.workspace
    }

    fn temp(&self) -> &Place {
        &self.temp
    }

    async fn locate(&self, program: &str) -> Option<String> {
        if let Some(known) = self.programs.lock().await.get(program) {
            return known.clone();
        }
        let script = format!("command -v '{}'", program.replace('\'', ""));
        let found = self
            .containers
            .engine()
            .exec(
                self.id.as_str(),
                ExecSpec::new(["sh", "-c", script.as_str()]),
            )
            .await
            .ok()
            .filter(|output| output.exit_code == 0)
            .map(|output| output.stdout.trim().to_owned())
            .filter(|path| !path.is_empty());
        self.programs
            .lock()
            .await
            .insert(program.to_owned(), found.clone());
        found
    }

    async fn stage(&self, dir: &Path) -> Result<String, ExecutorError> {
        let digest = hex::encode(Sha256::digest(dir.as_os_str().as_encoded_bytes()));
        let target = self.temp.join(&format!("_actions/{}", &digest[..16]));
        if !target.host.exists() {
            copy_dir(dir, &target.host).map_err(|source| ExecutorError::Io {
                path: target.host.clone(),
                source,
            })?;
        }
        Ok(target.seen)
    }

    async fn run(
        &self,
        command: &StepCommand,
        on_line: &mut (dyn FnMut(String) + Send),
        stop: &Stop,
    ) -> Result<Exit, ExecutorError> {
        // A job's steps run one at a time, so one file holds the running step's process id.
        let pid_file = format!("{}/_step.pid", self.temp.seen);
        let wrapper = format!("echo $$ > {pid_file}; exec \"$@\"");
        let mut argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            wrapper,
            "sh".to_owned(),
            command.program.clone(),
        ];
        argv.extend(command.args.iter().cloned());
        let mut spec = ExecSpec::new(argv).working_dir(command.cwd.clone());
        for (name, value) in &command.env {
            spec = spec.env(name.clone(), value.clone());
        }
        let mut path = command.path.clone();
        path.push(self.path.clone());
        spec = spec.env("PATH", path.join(":"));
        let mut events = self.containers.engine().exec_stream(self.id.as_str(), spec);
        let mut pending = String::new();
        let stop_wait = stop.wait();
        tokio::pin!(stop_wait);
        let outcome = loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(ExecEvent::Output(line))) => push_lines(&mut pending, &line.text, on_line),
                    Some(Ok(ExecEvent::Exited { exit_code })) => {
                        break Exit::Code(i32::try_from(exit_code).unwrap_or(-1));
                    }
                    Some(Err(error)) => return Err(error.into()),
                    None => break Exit::Code(-1),
                },
                reason = &mut stop_wait => {
                    break self.stop_step(&pid_file, reason, &mut events).await;
                }
            }
        };
        if !pending.is_empty() {
            on_line(pending.trim_end_matches('\r').to_owned());
        }
        Ok(outcome)
    }

    fn container_context(&self) -> Value {
        Value::object(IndexMap::from([
            ("id".to_owned(), Value::from(self.id.as_str())),
            ("network".to_owned(), Value::from(self.containers.network())),
        ]))
    }

    async fn services_context(&self) -> Value {
        self.containers.services_context().await
    }

    async fn shut_down(&self) -> Vec<String> {
        self.containers.remove().await
    }
}

impl ContainerExecutor {
    async fn stop_step(
        &self,
        pid_file: &str,
        reason: StopReason,
        events: &mut futures::stream::BoxStream<
            'static,
            Result<ExecEvent, slipway_engine::EngineError>,
        >,
    ) -> Exit {
        for (signal, grace) in [
            ("INT", INTERRUPT_GRACE),
            ("TERM", TERMINATE_GRACE),
            ("KILL", Duration::from_secs(5)),
        ] {
            self.signal(pid_file, signal).await;
            let ended = tokio::time::timeout(grace, async {
                while let Some(event) = events.next().await {
                    if matches!(event, Ok(ExecEvent::Exited { .. }) | Err(_)) {
                        break;
                    }
                }
            })
            .await;
            if ended.is_ok() {
                break;
            }
        }
        Exit::Stopped(reason)
    }
}

/// Adds `text` to `pending` and hands every complete line to `on_line`: exec output arrives in
/// chunks that need not end at a line's end.
fn push_lines(pending: &mut String, text: &str, on_line: &mut (dyn FnMut(String) + Send)) {
    pending.push_str(text);
    while let Some(end) = pending.find('\n') {
        let line: String = pending.drain(..=end).collect();
        on_line(line.trim_end_matches(['\n', '\r']).to_owned());
    }
}

/// Copies a directory tree.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(std::io::Error::other)?;
        let Ok(relative) = entry.path().strip_prefix(from) else {
            continue;
        };
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
