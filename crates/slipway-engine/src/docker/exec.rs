//! Running a command in a running container (`docker exec`), for the workflow runner's
//! `container:` jobs.
//!
//! The engine streams the command's output over the hijacked connection; its exit code is read
//! afterwards from the exec's state, which may lag the end of the output by a moment.

use std::time::Duration;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::containers::log_line;
use super::convert::env_list;
use super::errors::{Doing, translate};
use crate::container::{ExecEvent, ExecSpec};
use crate::error::EngineError;

/// How often, and how many times, to look for the exit code once the output ended.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(50);
const EXIT_POLL_ATTEMPTS: u32 = 100;

/// Runs `spec` in `container`; `docker` should have a long request timeout.
pub(crate) fn exec_stream(
    docker: Docker,
    container: String,
    spec: ExecSpec,
) -> BoxStream<'static, Result<ExecEvent, EngineError>> {
    Box::pin(async_stream::stream! {
        let doing = Doing::new("running a command in a container").container(&container);
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(spec.cmd),
            env: Some(env_list(&spec.env)),
            working_dir: spec.working_dir,
            user: spec.user,
            ..ExecConfig::default()
        };
        let exec_id = match docker.create_exec(&container, config).await {
            Ok(created) => created.id,
            Err(error) => {
                yield Err(translate(error, doing));
                return;
            }
        };
        let started = docker.start_exec(&exec_id, Some(StartExecOptions { detach: false, tty: false, output_capacity: None })).await;
        // The input half is held until the output ends: the command gets no input, but
        // dropping it early could close the connection.
        let (mut output, _input) = match started {
            Ok(StartExecResults::Attached { output, input }) => (output, input),
            Ok(StartExecResults::Detached) => {
                yield Err(EngineError::Protocol { during: doing.to_string(), message: "the engine detached the command".to_owned() });
                return;
            }
            Err(error) => {
                yield Err(translate(error, doing));
                return;
            }
        };
        while let Some(chunk) = output.next().await {
            match chunk {
                Ok(chunk) => {
                    if let Some(line) = log_line(chunk) {
                        yield Ok(ExecEvent::Output(line));
                    }
                }
                Err(error) => {
                    yield Err(translate(error, doing));
                    return;
                }
            }
        }
        yield exit_code(&docker, &exec_id, doing).await.map(|exit_code| ExecEvent::Exited { exit_code });
    })
}

async fn exit_code(docker: &Docker, exec_id: &str, doing: Doing<'_>) -> Result<i64, EngineError> {
    for _ in 0..EXIT_POLL_ATTEMPTS {
        let state = docker
            .inspect_exec(exec_id)
            .await
            .map_err(|error| translate(error, doing))?;
        if state.running != Some(true)
            && let Some(exit_code) = state.exit_code
        {
            return Ok(exit_code);
        }
        tokio::time::sleep(EXIT_POLL_INTERVAL).await;
    }
    Err(EngineError::Protocol {
        during: doing.to_string(),
        message: "the command's output ended but the engine never reported its exit code"
            .to_owned(),
    })
}
