//! Image builds: `slipway build`.
//!
//! A build has two phases, so that everything that can be wrong with the input is found before
//! anything is sent to the engine:
//!
//! 1. [`prepare`] reads the config, the git state and the Dockerfile, and computes the tags
//!    ([`tags`]), the version ([`version`]) and the labels ([`labels`]). It touches neither the
//!    engine nor the store; its errors are the user's to fix.
//! 2. [`PreparedBuild::run`] fingerprints the inputs ([`fingerprint`]): when the image tagged
//!    with the commit was built from the very same inputs, it is retagged and nothing is sent.
//!    Otherwise it streams the build context to the engine, passes the engine's output on as it
//!    arrives, and inspects the result. Either way it records the build in the store, whatever
//!    the outcome: a failed or cancelled build is recorded with its log.
//!
//! [`PreparedBuild::bundle`] is the second phase for the process runtime, where no engine runs:
//! the same context, `.dockerignore` applied, becomes a tar (a bundle) that the registry keeps as
//! an OCI artifact, recorded as a build just the same.
//!
//! Both the engine and the store are reached through their traits only.

mod bundle;
mod error;
mod fingerprint;
pub mod labels;
mod log;
pub mod tags;
pub mod version;

pub use bundle::BuiltBundle;
pub use error::BuildError;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use futures::StreamExt;
use slipway_config::{Config, Service};
use slipway_context::{ContextError, ContextOptions, ContextStats};
use slipway_dockerfile::Dockerfile;
use slipway_engine::{BuildEvent, BuildSpec, ContainerEngine, EngineError, ImageDetails};
use slipway_git::{Repository, Snapshot};
use slipway_store::{BuildId, BuildOutcome, GitSnapshot, NewBuild, Store};

use crate::log::BuildLog;
use crate::version::Version;

/// Slipway's state directory at the root of a project. It never belongs in an image or a bundle,
/// and it changes with every build, so a context holding it would never be the same twice.
const STATE_DIRECTORY: &str = ".slipway";

/// What to build, as the command line says it.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The service; `None` means the only one the config declares.
    pub service: Option<String>,
    /// A stage to build instead of the one configured (or the last).
    pub target: Option<String>,
    /// Build arguments added to (and overriding) the configured ones.
    pub build_args: BTreeMap<String, String>,
    /// Ignore the engine's build cache.
    pub no_cache: bool,
    /// The platform to build for, where the engine supports it.
    pub platform: Option<String>,
}

/// A build whose inputs are all known and valid, ready to run.
#[derive(Debug, Clone)]
pub struct PreparedBuild {
    service: Service,
    context_dir: PathBuf,
    dockerfile: PathBuf,
    /// The Dockerfile as written, and parsed.
    dockerfile_text: String,
    parsed: Dockerfile,
    snapshot: Snapshot,
    version: Option<Version>,
    references: Vec<String>,
    labels: BTreeMap<String, String>,
    request: BuildRequest,
}

/// A successful build.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The record in the store.
    pub build_id: BuildId,
    /// The image as the engine describes it.
    pub image: ImageDetails,
    /// The references it was tagged with (`localhost/shop/web:1.4.0`, ...).
    pub references: Vec<String>,
    /// How long the build took.
    pub duration: Duration,
    /// Whether the image was already there, built from the same inputs, and only retagged.
    pub reused: bool,
}

/// Reads the config, git state and Dockerfile for `request`, and computes tags and labels.
pub fn prepare(config: &Config, request: BuildRequest) -> Result<PreparedBuild, BuildError> {
    let service = select_service(config, request.service.as_deref())?;
    let root = std::path::absolute(config.root()).map_err(|source| BuildError::Io {
        path: config.root().to_path_buf(),
        source,
    })?;
    let context_dir = normalized_join(&root, &service.context);
    if !context_dir.is_dir() {
        return Err(BuildError::ContextMissing {
            path: context_dir,
            service: service.name,
        });
    }
    let dockerfile = normalized_join(&context_dir, &service.dockerfile);
    let target = request.target.clone().or_else(|| service.target.clone());
    let (dockerfile_text, parsed) = read_dockerfile(&dockerfile, &service.name, target.as_deref())?;

    let repository = Repository::discover(&context_dir)?;
    let snapshot = repository.snapshot()?;
    let version = version::detect(service.version.as_deref(), &context_dir, &repository)?;
    let repository_name = image_repository(&config.project_name(), &service.image);
    let references = tags::compute(&snapshot, version.as_ref().map(|v| v.text.as_str()))
        .into_iter()
        .map(|tag| format!("{repository_name}:{tag}"))
        .collect();
    let source = match config.file().project.source.clone() {
        Some(source) => Some(source),
        None => repository.origin_url()?,
    };
    let labels = labels::compute(&labels::LabelInputs {
        project: &config.project_name(),
        service: &service.name,
        commit: &snapshot.commit,
        commit_time: jiff::Timestamp::from_second(snapshot.commit_time)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        dirty: snapshot.dirty,
        version: version.as_ref().map(|v| v.text.as_str()),
        source: source.as_deref(),
        now: jiff::Timestamp::now(),
    });
    let request = BuildRequest { target, ..request };
    Ok(PreparedBuild {
        service,
        context_dir,
        dockerfile,
        dockerfile_text,
        parsed,
        snapshot,
        version,
        references,
        labels,
        request,
    })
}

/// `base` joined with the relative `path`, without `.` components (config validation has already
/// refused paths that climb out with `..`).
fn normalized_join(base: &Path, path: &Path) -> PathBuf {
    let mut joined = base.to_path_buf();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                joined.pop();
            }
            other => joined.push(other),
        }
    }
    joined
}

/// The service a build is for: the one named, or the only one declared. Builds use the service's
/// own settings, not an environment's: an image is built once and deployed everywhere.
fn select_service(config: &Config, name: Option<&str>) -> Result<Service, BuildError> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => {
            let names: Vec<&str> = config.service_names().collect();
            match names.as_slice() {
                [only] => (*only).to_owned(),
                [] => {
                    return Err(BuildError::NoServices {
                        config: config.origin().to_path_buf(),
                    });
                }
                _ => {
                    return Err(BuildError::WhichService {
                        services: names.iter().map(|n| (*n).to_owned()).collect(),
                    });
                }
            }
        }
    };
    Ok(config.base_service(&name)?)
}

/// Reads and parses the Dockerfile, and checks that `target` names one of its stages.
fn read_dockerfile(
    path: &Path,
    service: &str,
    target: Option<&str>,
) -> Result<(String, Dockerfile), BuildError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(BuildError::DockerfileMissing {
                path: path.to_path_buf(),
                service: service.to_owned(),
            });
        }
        Err(source) => {
            return Err(BuildError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let dockerfile =
        slipway_dockerfile::parse(&text).map_err(|error| BuildError::DockerfileInvalid {
            path: path.to_path_buf(),
            error,
        })?;
    if let Some(target) = target
        && dockerfile.stage(target).is_none()
    {
        let stages = dockerfile
            .stages()
            .iter()
            .map(|stage| {
                stage
                    .name()
                    .map_or_else(|| stage.index().to_string(), str::to_owned)
            })
            .collect();
        return Err(BuildError::UnknownTarget {
            path: path.to_path_buf(),
            target: target.to_owned(),
            stages,
        });
    }
    Ok((text, dockerfile))
}

/// Where a service's images live in the engine: as configured when the name carries a registry
/// host, else under `localhost/PROJECT/`, so that two projects' `web` services never share tags
/// and no local build is mistaken for an image on Docker Hub.
pub fn image_repository(project: &str, image: &str) -> String {
    let has_host = image.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    });
    if has_host {
        image.to_owned()
    } else {
        format!("localhost/{project}/{image}")
    }
}

impl PreparedBuild {
    /// The service being built.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The version, and where it came from; `None` when no source had one.
    pub fn version(&self) -> Option<&Version> {
        self.version.as_ref()
    }

    /// The git state the build is of.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The references the image will be tagged with.
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// The labels the image will carry.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The Dockerfile.
    pub fn dockerfile(&self) -> &Path {
        &self.dockerfile
    }

    /// Runs the build on `engine`, passing each chunk of output to `on_output` as it arrives, and
    /// records it in `store`. When `cancelled` completes first, the build stops and is recorded as
    /// cancelled.
    pub async fn run(
        self,
        engine: Arc<dyn ContainerEngine>,
        store: Arc<dyn Store>,
        mut on_output: impl FnMut(&str) + Send,
        cancelled: impl Future<Output = ()> + Send,
    ) -> Result<BuiltImage, BuildError> {
        let started_at = jiff::Timestamp::now();
        let clock = Instant::now();
        let mut log = BuildLog::default();
        let outcome = tokio::select! {
            result = self.drive(engine.as_ref(), &mut log, &mut on_output) => result,
            () = cancelled => Err(BuildError::Cancelled),
        };
        let duration = clock.elapsed();
        let record = self.record(
            started_at,
            duration,
            outcome
                .as_ref()
                .ok()
                .map(|(image, _)| Produced::image(image)),
            outcome_of(&outcome),
            log.into_text(),
        );
        let build_id = spawn_record(store, record).await?;
        let (image, reused) = outcome?;
        Ok(BuiltImage {
            build_id,
            image,
            references: self.references,
            duration,
            reused,
        })
    }

    /// Reuses the image built from the same inputs, or builds it on the engine; `true` with the
    /// image when it was reused.
    async fn drive(
        &self,
        engine: &dyn ContainerEngine,
        log: &mut BuildLog,
        on_output: &mut (impl FnMut(&str) + Send),
    ) -> Result<(ImageDetails, bool), BuildError> {
        let fingerprint = self.fingerprint(engine).await?;
        if let Some(fingerprint) = &fingerprint
            && !self.request.no_cache
            && let Some(image) = self.reusable_image(engine, fingerprint).await?
        {
            let message = format!(
                "Reusing {}: it was built from the same context, Dockerfile, build arguments and \
                 base images, so nothing is sent to the engine (--no-cache builds it again)\n",
                image.id
            );
            log.push(&message);
            on_output(&message);
            return Ok((image, true));
        }
        let fingerprint = fingerprint.as_deref();
        let image = match self
            .build_on_engine(engine, fingerprint, log, on_output)
            .await
        {
            Err(BuildError::Engine(lost)) if lost.is_build_lost_to_concurrent_removal() => {
                // Not the build's fault: another client removed an image meanwhile (see
                // `is_build_lost_to_concurrent_removal`). Once more, from a context sent afresh.
                let message = format!(
                    "The engine lost this build to an image removed at the same moment ({lost}); \
                     building again\n"
                );
                log.push(&message);
                on_output(&message);
                self.build_on_engine(engine, fingerprint, log, on_output)
                    .await?
            }
            built => built?,
        };
        Ok((image, false))
    }

    /// The fingerprint of this build's inputs (see [`fingerprint`]), or `None` when they cannot
    /// be pinned down.
    async fn fingerprint(
        &self,
        engine: &dyn ContainerEngine,
    ) -> Result<Option<String>, BuildError> {
        let build_args = self.build_args();
        // The creation time is left out: a clean tree's is its commit's, which the revision label
        // already pins, and a dirty tree's is the moment of the build, which would make every
        // fingerprint new and an unchanged dirty tree never reuse its image.
        let mut labels = self.labels.clone();
        labels.remove(labels::keys::CREATED);
        fingerprint::compute(
            engine,
            fingerprint::Inputs {
                context_dir: self.context_dir.clone(),
                context: self.context_options_with(&labels),
                dockerfile: &self.parsed,
                build_args: &build_args,
                target: self.request.target.as_deref(),
                platform: self.request.platform.as_deref(),
            },
        )
        .await
    }

    /// The image tagged with the commit, when it carries `fingerprint`, with every reference of
    /// this build pointing at it.
    async fn reusable_image(
        &self,
        engine: &dyn ContainerEngine,
        fingerprint: &str,
    ) -> Result<Option<ImageDetails>, BuildError> {
        let Some(commit_reference) = self.references.first() else {
            return Ok(None);
        };
        let Some(mut image) = engine.inspect_image(commit_reference).await? else {
            return Ok(None);
        };
        if image
            .labels
            .get(labels::keys::FINGERPRINT)
            .map(String::as_str)
            != Some(fingerprint)
        {
            return Ok(None);
        }
        for reference in &self.references {
            if !image.tags.contains(reference) {
                engine.tag_image(image.id.as_str(), reference).await?;
                image.tags.push(reference.clone());
            }
        }
        Ok(Some(image))
    }

    /// The context sent: the directory, and the Dockerfile the engine builds from: the user's
    /// with the labels (and the fingerprint, once known), as a file of its own so that the
    /// user's Dockerfile goes into the image unchanged (see [`Self::spec`]).
    fn context_options(&self, fingerprint: Option<&str>) -> ContextOptions {
        let mut labels = self.labels.clone();
        if let Some(fingerprint) = fingerprint {
            labels.insert(labels::keys::FINGERPRINT.to_owned(), fingerprint.to_owned());
        }
        self.context_options_with(&labels)
    }

    /// The context with the user's Dockerfile carrying `labels`.
    fn context_options_with(&self, labels: &BTreeMap<String, String>) -> ContextOptions {
        let dockerfile = labels::dockerfile_with_labels(
            &self.dockerfile_text,
            &self.parsed,
            self.request.target.as_deref(),
            labels,
        );
        ContextOptions::new(&self.dockerfile)
            .with_generated_dockerfile(dockerfile)
            .always_excluding(&[STATE_DIRECTORY])
    }

    /// The configured build arguments, overridden by those of the request.
    fn build_args(&self) -> BTreeMap<String, String> {
        let mut build_args = self.service.build_args.clone();
        build_args.extend(self.request.build_args.clone());
        build_args
    }

    /// Sends the context, follows the engine's output, and inspects the image built.
    async fn build_on_engine(
        &self,
        engine: &dyn ContainerEngine,
        fingerprint: Option<&str>,
        log: &mut BuildLog,
        on_output: &mut (impl FnMut(&str) + Send),
    ) -> Result<ImageDetails, BuildError> {
        let options = self.context_options(fingerprint);
        let (context, walk) = slipway_context::context_stream(self.context_dir.clone(), options);
        let mut events = engine.build_image(self.spec(), context);
        let mut image_id = None;
        while let Some(event) = events.next().await {
            match event {
                Ok(BuildEvent::Output(text)) => {
                    log.push(&text);
                    on_output(&text);
                }
                Ok(BuildEvent::Built { image_id: id }) => image_id = Some(id),
                Err(error) => {
                    // Dropping the request stops the walk. A file that could not be read explains
                    // the failure better than the engine can: it only saw a truncated upload.
                    drop(events);
                    context_walked(walk).await?;
                    return Err(BuildError::from_engine(error, log));
                }
            }
        }
        context_walked(walk).await?;
        let image_id = image_id.ok_or_else(|| {
            BuildError::Engine(EngineError::BuildFailed {
                message: "the engine ended the build without naming an image".to_owned(),
                output: log.tail(),
            })
        })?;
        engine
            .inspect_image(image_id.as_str())
            .await?
            .ok_or_else(|| {
                BuildError::Engine(EngineError::ImageNotFound {
                    reference: image_id.to_string(),
                })
            })
    }

    /// What the engine is asked to build: from the labelled Dockerfile the context carries
    /// (see [`Self::context_options`]).
    fn spec(&self) -> BuildSpec {
        let mut spec = BuildSpec::new()
            .dockerfile(slipway_context::GENERATED_DOCKERFILE)
            .no_cache(self.request.no_cache);
        for reference in &self.references {
            spec = spec.tag(reference.clone());
        }
        for (name, value) in self.build_args() {
            spec = spec.build_arg(name, value);
        }
        if let Some(target) = &self.request.target {
            spec = spec.target(target.clone());
        }
        if let Some(platform) = &self.request.platform {
            spec = spec.platform(platform.clone());
        }
        spec
    }

    fn record(
        &self,
        started_at: jiff::Timestamp,
        duration: Duration,
        produced: Option<Produced>,
        outcome: BuildOutcome,
        log: String,
    ) -> NewBuild {
        NewBuild {
            service: self.service.name.clone(),
            tags: produced
                .as_ref()
                .map(|_| self.references.clone())
                .unwrap_or_default(),
            image_id: produced.as_ref().map(|produced| produced.id.clone()),
            digest: produced
                .as_ref()
                .and_then(|produced| produced.digest.clone()),
            size_bytes: produced.as_ref().map(|produced| produced.size),
            layer_count: produced.as_ref().map(|produced| produced.layers),
            started_at,
            duration,
            git: GitSnapshot {
                commit: Some(self.snapshot.commit.clone()),
                branch: self.snapshot.branch.clone(),
                dirty: self.snapshot.dirty,
            },
            outcome,
            log,
            target: self.request.target.clone(),
            platform: self.request.platform.clone(),
            dockerfile: self.dockerfile.display().to_string(),
            context: self.context_dir.display().to_string(),
        }
    }
}

/// Waits for the context walk; a failure to read the context is an error, a walk cut short because
/// the engine stopped reading is not (the engine's own error says why).
async fn context_walked(
    walk: JoinHandle<Result<ContextStats, ContextError>>,
) -> Result<(), BuildError> {
    match walk.await {
        Ok(Ok(_)) | Ok(Err(ContextError::Write(_))) => Ok(()),
        Ok(Err(error)) => Err(BuildError::Context(error)),
        Err(error) => Err(BuildError::Internal(format!(
            "the build context walk panicked: {error}"
        ))),
    }
}

/// What a successful build made, as its record describes it: an image, or a bundle.
struct Produced {
    id: String,
    digest: Option<String>,
    size: u64,
    layers: u32,
}

impl Produced {
    fn image(image: &ImageDetails) -> Produced {
        Produced {
            id: image.id.to_string(),
            digest: image.digests.first().cloned(),
            size: image.size_bytes,
            layers: u32::try_from(image.layer_count).unwrap_or(u32::MAX),
        }
    }
}

/// How a build ended, for its record.
fn outcome_of<T>(result: &Result<T, BuildError>) -> BuildOutcome {
    match result {
        Ok(_) => BuildOutcome::Succeeded,
        Err(BuildError::Cancelled) => BuildOutcome::Cancelled,
        Err(error) => BuildOutcome::Failed {
            reason: error.to_string(),
        },
    }
}

/// Writes the record on a blocking thread: the store's API is synchronous.
async fn spawn_record(store: Arc<dyn Store>, record: NewBuild) -> Result<BuildId, BuildError> {
    tokio::task::spawn_blocking(move || store.record_build(&record))
        .await
        .map_err(|error| BuildError::Internal(format!("recording the build panicked: {error}")))?
        .map_err(BuildError::Store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_images_live_under_localhost_and_the_project() {
        assert_eq!(image_repository("shop", "web"), "localhost/shop/web");
        assert_eq!(
            image_repository("shop", "team/web"),
            "localhost/shop/team/web"
        );
        assert_eq!(
            image_repository("shop", "registry.example.com/web"),
            "registry.example.com/web"
        );
        assert_eq!(
            image_repository("shop", "localhost:5000/web"),
            "localhost:5000/web"
        );
        assert_eq!(image_repository("shop", "localhost/web"), "localhost/web");
    }
}
