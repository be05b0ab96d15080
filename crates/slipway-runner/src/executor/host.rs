//! The host executor: steps run as processes on this machine, in the job's own workspace.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use indexmap::IndexMap;
use slipway_expr::Value;

use super::services::JobContainers;
use super::{Executor, ExecutorError, Place, StepCommand, Stop};
use crate::process::{self, Exit, ProcessGroups, ProcessSpec};
use crate::shell;

/// Runs steps as host processes; every process group a step started is killed when the job
/// ends, and the job's service containers, if it has any, are removed.
#[derive(Debug)]
pub(crate) struct HostExecutor {
    workspace: Place,
    temp: Place,
    groups: ProcessGroups,
    services: Option<JobContainers>,
    /// Programs looked up on `PATH`, so that a job's steps search it once.
    programs: Mutex<HashMap<String, Option<String>>>,
}

impl HostExecutor {
    /// An executor for a job whose workspace and temporary directory exist, with its service
    /// containers when it has some.
    pub(crate) fn new(
        workspace: Place,
        temp: Place,
        services: Option<JobContainers>,
    ) -> HostExecutor {
        HostExecutor {
            workspace,
            temp,
            groups: ProcessGroups::default(),
            services,
            programs: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl Executor for HostExecutor {
    fn workspace(&self) -> &Place {
        &self.workspace
    }

    fn temp(&self) -> &Place {
        &self.temp
    }

    async fn locate(&self, program: &str) -> Option<String> {
        let mut known = self.programs.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .entry(program.to_owned())
            .or_insert_with(|| {
                shell::locate(program, std::env::var_os("PATH").as_deref())
                    .map(|path| path.display().to_string())
            })
            .clone()
    }

    async fn stage(&self, dir: &Path) -> Result<String, ExecutorError> {
        Ok(dir.display().to_string())
    }

    async fn run(
        &self,
        command: &StepCommand,
        on_line: &mut (dyn FnMut(String) + Send),
        stop: &Stop,
    ) -> Result<Exit, ExecutorError> {
        let mut env = command.env.clone();
        if !command.path.is_empty() {
            let inherited = std::env::var("PATH").unwrap_or_default();
            let mut path = command.path.join(":");
            if !inherited.is_empty() {
                path.push(':');
                path.push_str(&inherited);
            }
            env.push(("PATH".to_owned(), path));
        }
        let spec = ProcessSpec {
            program: command.program.clone(),
            args: command.args.clone(),
            env,
            cwd: command.cwd.clone().into(),
        };
        process::run(&spec, &self.groups, on_line, stop.wait())
            .await
            .map_err(|source| ExecutorError::Spawn {
                program: command.program.clone(),
                source,
            })
    }

    fn container_context(&self) -> Value {
        Value::object(IndexMap::new())
    }

    async fn services_context(&self) -> Value {
        match &self.services {
            Some(services) => services.services_context().await,
            None => Value::object(IndexMap::new()),
        }
    }

    async fn shut_down(&self) -> Vec<String> {
        self.groups.kill_all();
        match &self.services {
            Some(services) => services.remove().await,
            None => Vec::new(),
        }
    }
}
