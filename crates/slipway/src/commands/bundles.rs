//! Bundles on the way to a process release: `slipway deploy --runtime process --image REF`
//! reads the bundle `REF` names from the embedded registry (or, when `REF` names a registry
//! host, from that registry, with the credentials `slipway push` would use) and unpacks it into
//! the state directory, once per digest, so the release runs content that no later edit can
//! change.

use std::path::{Path, PathBuf};

use slipway_registry::{BundleError, PulledBundle, Reference, Registry};

use super::push::{embedded_repository, host_and_path, split_reference};
use super::registry::Setup;
use crate::cli::GlobalArgs;
use crate::project;
use crate::report::Failure;

/// Where bundles are unpacked, under the state directory.
const BUNDLES_DIR: &str = "bundles";

/// A bundle unpacked on disk.
pub(crate) struct Unpacked {
    /// The directory the service's command runs in.
    pub(crate) dir: PathBuf,
    /// The bundle manifest's digest: what the release records.
    pub(crate) digest: String,
    /// The manifest's annotations: the labels of the build that made it.
    pub(crate) annotations: std::collections::BTreeMap<String, String>,
}

/// Unpacks the bundle `reference` (`localhost/shop/web:TAG`, `shop/web:TAG` or
/// `shop/web@sha256:...`) into `state_dir`, unless it already is.
pub(crate) async fn unpack(
    global: &GlobalArgs,
    state_dir: &Path,
    reference: &str,
) -> Result<Unpacked, Failure> {
    let bundle = match external_host(reference) {
        Some(host) => pull_external(global, host, reference).await?,
        None => pull_embedded(global, reference).await?,
    };
    let dir = state_dir.join(BUNDLES_DIR).join(bundle.digest.hex());
    if !dir.is_dir() {
        let tar = bundle.tar.clone();
        let into = dir.clone();
        tokio::task::spawn_blocking(move || unpack_atomically(&tar, &into))
            .await
            .map_err(|error| Failure::new(format!("unpacking the bundle panicked: {error}")))?
            .map_err(|error| {
                Failure::new(format!("cannot unpack the bundle into {}", dir.display()))
                    .cause(error.to_string())
                    .hint("check the state directory is writable and has room (`slipway doctor`)")
            })?;
    }
    Ok(Unpacked {
        dir,
        digest: bundle.digest.to_string(),
        annotations: bundle.annotations,
    })
}

/// The bundle from the embedded registry.
async fn pull_embedded(global: &GlobalArgs, reference: &str) -> Result<PulledBundle, Failure> {
    let (repository, reference) = parse(reference)?;
    let registry: Registry = Setup::load(global, None)?.open()?;
    registry
        .pull_bundle(&repository, &reference)
        .await
        .map_err(|error| match error {
            BundleError::Registry(error) => Failure::from(error).hint(format!(
                "build and push the bundle first: `slipway build --runtime process --push` ({repository}:TAG)"
            )),
            not_a_bundle @ BundleError::NotABundle { .. } => Failure::bad_input(not_a_bundle.to_string())
                .hint("an image runs on the container runtime: deploy it with --runtime container"),
        })
}

/// The bundle from the registry `host`, which `reference` names.
async fn pull_external(
    global: &GlobalArgs,
    host: &str,
    reference: &str,
) -> Result<PulledBundle, Failure> {
    let config = project::load_config(global)?;
    let (_, path) = host_and_path(reference);
    let (repository, tag_or_digest) = parse(path)?;
    let client = super::push::registry_client(&config, host, repository.as_str()).await?;
    client
        .pull_bundle(&repository, &tag_or_digest)
        .await
        .map_err(|error| super::push::client_failure(error, host, config.registry().insecure))
}

/// The registry host `reference` starts with (`registry.example.com/team/web:1`), if any:
/// `localhost/...` is the embedded registry's.
fn external_host(reference: &str) -> Option<&str> {
    let (first, _) = reference.split_once('/')?;
    (first != "localhost" && (first.contains('.') || first.contains(':'))).then_some(first)
}

/// The repository and the tag or digest of a bundle reference.
fn parse(reference: &str) -> Result<(slipway_registry::RepositoryName, Reference), Failure> {
    let invalid = |error: String| {
        Failure::bad_input(format!("--image {reference}: {error}")).hint(
            "name a bundle as REPOSITORY:TAG or REPOSITORY@DIGEST, e.g. localhost/shop/web:1.4.0",
        )
    };
    let (repository, reference) = match reference.split_once('@') {
        Some((repository, digest)) => (
            repository,
            Reference::Digest(
                digest
                    .parse()
                    .map_err(|error| invalid(format!("{error}")))?,
            ),
        ),
        None => {
            let (repository, tag) = split_reference(reference);
            (
                repository,
                Reference::Tag(tag.parse().map_err(|error| invalid(format!("{error}")))?),
            )
        }
    };
    Ok((embedded_repository(repository)?, reference))
}

/// Unpacks `tar` into a sibling of `dir` and renames it into place, so that `dir` either holds
/// the whole bundle or does not exist, even when the command is killed halfway.
fn unpack_atomically(tar: &[u8], dir: &Path) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(parent)?;
    // `unpack` refuses entries that would land outside the directory (`..`, absolute paths,
    // writes through symbolic links).
    tar::Archive::new(tar).unpack(staging.path())?;
    match std::fs::rename(staging.path(), dir) {
        Ok(()) => {
            // Renamed away: nothing is left for the guard to delete.
            let _ = staging.keep();
            Ok(())
        }
        // Another deploy unpacked the same digest first: same content.
        Err(_) if dir.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}
