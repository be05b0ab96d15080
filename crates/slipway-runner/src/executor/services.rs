//! A job's containers on the engine: its network, its service containers, and the guard that
//! removes them whatever happens.
//!
//! Every container and network carries the labels `dev.slipway.run` (the run's id) and
//! `dev.slipway.runner-pid`, so that a later run can find and remove what a killed Slipway left
//! behind ([`sweep_orphans`]). A service is ready when Slipway's own check passes: its
//! `--health-cmd` run with `exec` in the container until it succeeds (the engine's health status
//! is never read: Podman only runs health checks from systemd timers), else a TCP connection to
//! each published port, else its process running.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indexmap::IndexMap;
use slipway_engine::{
    ContainerEngine, ContainerFilter, ContainerId, ContainerSpec, ExecSpec, NetworkFilter,
    PortBinding,
};
use slipway_expr::Value;
use tokio::sync::Mutex;

use super::ExecutorError;
use super::options::ContainerOptions;
use crate::process::StopReason;

/// The label naming the run a container or network belongs to.
pub(crate) const RUN_LABEL: &str = "dev.slipway.run";
/// The label holding the process id of the Slipway that made it.
pub(crate) const PID_LABEL: &str = "dev.slipway.runner-pid";

/// How long a service without a health command may take to accept connections.
const PORT_PROBE_LIMIT: Duration = Duration::from_secs(60);
/// Docker's defaults for a health check, used where `options:` sets none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// How long a container gets to stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A container to start: a service, or the job container.
#[derive(Debug, Clone)]
pub(crate) struct ContainerPlan {
    /// The service's key under `services:` (its name on the network), or `job`.
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) ports: Vec<PortBinding>,
    pub(crate) options: ContainerOptions,
}

/// A started container.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub(crate) name: String,
    pub(crate) id: ContainerId,
    /// Container port (`5432`) to the host port it is published on.
    pub(crate) ports: BTreeMap<String, String>,
}

/// The containers and the network of one job.
#[derive(Debug)]
pub(crate) struct JobContainers {
    engine: Arc<dyn ContainerEngine>,
    network: String,
    labels: BTreeMap<String, String>,
    started: Mutex<Vec<Started>>,
    /// [`JobContainers::remove`] ran: the network is gone too.
    removed: AtomicBool,
}

impl JobContainers {
    /// Creates the job's network, named after the run and job.
    pub(crate) async fn new(
        engine: Arc<dyn ContainerEngine>,
        run_key: &str,
        job_slug: &str,
    ) -> Result<JobContainers, ExecutorError> {
        let network = format!("slipway-{run_key}-{job_slug}");
        let labels = BTreeMap::from([
            (RUN_LABEL.to_owned(), run_key.to_owned()),
            (PID_LABEL.to_owned(), std::process::id().to_string()),
        ]);
        engine.create_network(&network, &labels).await?;
        Ok(JobContainers {
            engine,
            network,
            labels,
            started: Mutex::new(Vec::new()),
            removed: AtomicBool::new(false),
        })
    }

    pub(crate) fn engine(&self) -> &Arc<dyn ContainerEngine> {
        &self.engine
    }

    pub(crate) fn network(&self) -> &str {
        &self.network
    }

    /// Creates and starts a container on the job's network, answering to its name there.
    /// `spec` is completed with the network, labels and name.
    pub(crate) async fn start(
        &self,
        plan: &ContainerPlan,
        spec: ContainerSpec,
    ) -> Result<Started, ExecutorError> {
        let mut spec = spec
            .name(format!("{}-{}", self.network, plan.name))
            .network(self.network.clone(), [plan.name.clone()]);
        for (key, value) in &self.labels {
            spec = spec.label(key.clone(), value.clone());
        }
        for (name, value) in plan.env.iter().chain(&plan.options.env) {
            spec = spec.env(name.clone(), value.clone());
        }
        for binding in &plan.ports {
            spec = spec.publish(*binding);
        }
        if let Some(user) = &plan.options.user {
            spec = spec.user(user.clone());
        }
        if let Some(entrypoint) = &plan.options.entrypoint {
            spec = spec.entrypoint([entrypoint.clone()]);
        }
        let id = self.engine.create_container(&spec).await?;
        // Remembered before starting, so a container that fails to start is removed too.
        let mut started = Started {
            name: plan.name.clone(),
            id: id.clone(),
            ports: BTreeMap::new(),
        };
        self.started.lock().await.push(started.clone());
        self.engine.start_container(id.as_str()).await?;
        let details = self
            .engine
            .inspect_container(id.as_str())
            .await?
            .ok_or_else(|| {
                ExecutorError::NotReady(format!("container {} vanished after starting", plan.name))
            })?;
        for binding in &plan.ports {
            if let Some(host) = details.host_port(binding.container_port) {
                started.ports.insert(
                    binding.container_port.number.to_string(),
                    host.port().to_string(),
                );
            }
        }
        let mut all = self.started.lock().await;
        if let Some(entry) = all.iter_mut().find(|s| s.id == id) {
            *entry = started.clone();
        }
        Ok(started)
    }

    /// Waits until a started service is ready (see the module docs), or says why it is not.
    pub(crate) async fn wait_ready(
        &self,
        plan: &ContainerPlan,
        started: &Started,
        stop: impl std::future::Future<Output = StopReason>,
    ) -> Result<(), ExecutorError> {
        tokio::select! {
            ready = self.readiness(plan, started) => ready,
            _ = stop => Err(ExecutorError::NotReady(format!("stopped while waiting for service {}", plan.name))),
        }
    }

    async fn readiness(
        &self,
        plan: &ContainerPlan,
        started: &Started,
    ) -> Result<(), ExecutorError> {
        let options = &plan.options;
        if let Some(command) = &options.health_cmd {
            if let Some(period) = options.health_start_period {
                tokio::time::sleep(period).await;
            }
            let interval = options.health_interval.unwrap_or(DEFAULT_INTERVAL);
            let timeout = options.health_timeout.unwrap_or(DEFAULT_TIMEOUT);
            let retries = options.health_retries.unwrap_or(DEFAULT_RETRIES).max(1);
            let mut failures = 0;
            loop {
                let check = self.engine.exec(
                    started.id.as_str(),
                    ExecSpec::new(["sh", "-c", command.as_str()]),
                );
                match tokio::time::timeout(timeout, check).await {
                    Ok(Ok(output)) if output.exit_code == 0 => return Ok(()),
                    Ok(Err(error)) => return Err(error.into()),
                    _ => failures += 1,
                }
                if failures >= retries {
                    return Err(ExecutorError::NotReady(format!(
                        "service {} is unhealthy: `{command}` failed {failures} times",
                        plan.name
                    )));
                }
                self.ensure_running(plan, started).await?;
                tokio::time::sleep(interval).await;
            }
        }
        let deadline = tokio::time::Instant::now() + PORT_PROBE_LIMIT;
        for host_port in started.ports.values() {
            let address = format!("127.0.0.1:{host_port}");
            loop {
                if tokio::net::TcpStream::connect(&address).await.is_ok() {
                    break;
                }
                self.ensure_running(plan, started).await?;
                if tokio::time::Instant::now() >= deadline {
                    return Err(ExecutorError::NotReady(format!(
                        "service {} accepted no connection on {address} within {}s",
                        plan.name,
                        PORT_PROBE_LIMIT.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.ensure_running(plan, started).await
    }

    async fn ensure_running(
        &self,
        plan: &ContainerPlan,
        started: &Started,
    ) -> Result<(), ExecutorError> {
        let details = self.engine.inspect_container(started.id.as_str()).await?;
        match details {
            Some(details) if details.state.running => Ok(()),
            Some(details) => Err(ExecutorError::NotReady(format!(
                "container {} exited with code {}",
                plan.name,
                details.state.exit_code.unwrap_or(-1)
            ))),
            None => Err(ExecutorError::NotReady(format!(
                "container {} is gone",
                plan.name
            ))),
        }
    }

    /// `job.services`: each service's `id`, `network` and `ports`, `job` excluded.
    pub(crate) async fn services_context(&self) -> Value {
        let started = self.started.lock().await;
        let services = started
            .iter()
            .filter(|s| s.name != super::container::JOB_CONTAINER)
            .map(|s| {
                let ports = s
                    .ports
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect::<IndexMap<_, _>>();
                let service = IndexMap::from([
                    ("id".to_owned(), Value::from(s.id.as_str())),
                    ("network".to_owned(), Value::from(self.network.clone())),
                    ("ports".to_owned(), Value::object(ports)),
                ]);
                (s.name.clone(), Value::object(service))
            })
            .collect();
        Value::object(services)
    }

    /// The last lines a container printed, for a service that did not become ready.
    pub(crate) async fn last_logs(&self, id: &ContainerId) -> Vec<String> {
        use futures::StreamExt;
        let options = slipway_engine::LogOptions {
            follow: false,
            since: None,
            tail: Some(20),
        };
        let mut logs = self.engine.container_logs(id.as_str(), options);
        let mut lines = Vec::new();
        while let Some(Ok(line)) = logs.next().await {
            lines.push(line.text.trim_end().to_owned());
        }
        lines
    }

    /// Removes every container and the network, and says what was removed.
    pub(crate) async fn remove(&self) -> Vec<String> {
        self.removed.store(true, Ordering::SeqCst);
        let mut notes = Vec::new();
        let started = std::mem::take(&mut *self.started.lock().await);
        for container in started.iter().rev() {
            let _ = self
                .engine
                .stop_container(container.id.as_str(), STOP_GRACE)
                .await;
            match self
                .engine
                .remove_container(container.id.as_str(), true)
                .await
            {
                Ok(()) => notes.push(format!("removed container {}", container.name)),
                Err(error) => notes.push(format!(
                    "could not remove container {}: {error}",
                    container.name
                )),
            }
        }
        if let Err(error) = self.engine.remove_network(&self.network).await {
            notes.push(format!(
                "could not remove network {}: {error}",
                self.network
            ));
        }
        notes
    }
}

/// The guard: containers and a network still there when the job's containers are dropped
/// without [`JobContainers::remove`] (a panicking job) are removed by a task of their own.
impl Drop for JobContainers {
    fn drop(&mut self) {
        let started = std::mem::take(self.started.get_mut());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if started.is_empty() && self.removed.load(Ordering::SeqCst) {
            return;
        }
        let engine = self.engine.clone();
        let network = self.network.clone();
        runtime.spawn(async move {
            for container in started {
                let _ = engine.remove_container(container.id.as_str(), true).await;
            }
            let _ = engine.remove_network(&network).await;
        });
    }
}

/// Removes containers and networks left by Slipway processes that are gone (killed before they
/// could clean up). Best effort: what cannot be listed or removed stays for the next sweep.
pub(crate) async fn sweep_orphans(engine: &dyn ContainerEngine) -> usize {
    let alive = |labels: &BTreeMap<String, String>| {
        labels
            .get(PID_LABEL)
            .and_then(|pid| pid.parse::<i32>().ok())
            .is_some_and(|pid| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            })
    };
    let mut removed = 0;
    if let Ok(containers) = engine
        .list_containers(&ContainerFilter::all().has_label(PID_LABEL))
        .await
    {
        for container in containers.iter().filter(|c| !alive(&c.labels)) {
            if engine
                .remove_container(container.id.as_str(), true)
                .await
                .is_ok()
            {
                removed += 1;
            }
        }
    }
    if let Ok(networks) = engine
        .list_networks(&NetworkFilter::new().has_label(PID_LABEL))
        .await
    {
        for network in networks.iter().filter(|n| !alive(&n.labels)) {
            if engine.remove_network(&network.name).await.is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
