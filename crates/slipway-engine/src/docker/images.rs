//! Images over the Docker Engine API: inspect, list, tag, remove, save, load, import, push, pull.

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::{ImageInspect, ImageSummary as ApiImageSummary};
use bollard::query_parameters::{
    CreateImageOptions, ImportImageOptions, ListImagesOptions, PushImageOptions,
    RemoveImageOptions, TagImageOptions,
};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::convert::{env_map, health_check, label_map, list_filters, timestamp, unix_timestamp};
use super::errors::{Doing, translate};
use super::upload::Upload;
use crate::engine::ByteStream;
use crate::error::EngineError;
use crate::image::{
    ImageConfig, ImageDetails, ImageFilter, ImageId, ImageRemoval, ImageSummary,
    RegistryCredentials, RegistrySecret, familiar_reference, split_tag,
};

/// How many times an inspection is made while Podman answers [`is_lookup_race`].
const INSPECT_ATTEMPTS: usize = 3;

pub(crate) async fn inspect(
    docker: &Docker,
    reference: &str,
) -> Result<Option<ImageDetails>, EngineError> {
    let doing = Doing::new("inspecting an image").image(reference);
    let mut attempt = 1;
    loop {
        match docker.inspect_image(reference).await {
            Ok(image) => return image_details(image, doing).map(Some),
            Err(error) => match translate(error, doing) {
                EngineError::ImageNotFound { .. } => return Ok(None),
                race if is_lookup_race(&race) && attempt < INSPECT_ATTEMPTS => attempt += 1,
                other => return Err(other),
            },
        }
    }
}

/// Whether an inspection failed only because another client removed some image meanwhile:
/// Podman 4.3 then answers 500 "IMAGE: image not known", naming an image other than the one
/// asked for, and the same request made again answers properly. (A missing image is a 404.)
fn is_lookup_race(error: &EngineError) -> bool {
    matches!(error, EngineError::Api { status: 500, message, .. } if message.contains("image not known"))
}

fn image_details(image: ImageInspect, doing: Doing<'_>) -> Result<ImageDetails, EngineError> {
    let id = image.id.ok_or_else(|| EngineError::Protocol {
        during: doing.to_string(),
        message: "the image has no id".to_owned(),
    })?;
    let config = image.config.unwrap_or_default();
    Ok(ImageDetails {
        id: ImageId::new(id),
        tags: familiar_tags(image.repo_tags.unwrap_or_default()),
        digests: image
            .repo_digests
            .unwrap_or_default()
            .iter()
            .map(|digest| familiar_reference(digest))
            .collect(),
        size_bytes: image
            .size
            .and_then(|size| u64::try_from(size).ok())
            .unwrap_or(0),
        layer_count: image
            .root_fs
            .and_then(|root_fs| root_fs.layers)
            .map_or(0, |layers| layers.len()),
        labels: label_map(config.labels),
        created: image.created.as_deref().and_then(timestamp),
        os: image.os.unwrap_or_default(),
        architecture: image.architecture.unwrap_or_default(),
        config: ImageConfig {
            user: config.user.filter(|user| !user.is_empty()),
            cmd: config.cmd.unwrap_or_default(),
            entrypoint: config.entrypoint.unwrap_or_default(),
            env: env_map(config.env.unwrap_or_default()),
            working_dir: config.working_dir.filter(|dir| !dir.is_empty()),
            exposed_ports: config
                .exposed_ports
                .unwrap_or_default()
                .iter()
                .filter_map(|port| port.parse().ok())
                .collect(),
            healthcheck: config.healthcheck.and_then(health_check),
            stop_signal: config.stop_signal.filter(|signal| !signal.is_empty()),
        },
    })
}

/// Tags in Docker's familiar form, without the `<none>:<none>` Docker lists for untagged images.
fn familiar_tags(tags: Vec<String>) -> Vec<String> {
    tags.iter()
        .filter(|tag| *tag != "<none>:<none>")
        .map(|tag| familiar_reference(tag))
        .collect()
}

pub(crate) async fn list(
    docker: &Docker,
    filter: &ImageFilter,
) -> Result<Vec<ImageSummary>, EngineError> {
    let filters = list_filters(
        &filter.labels,
        filter
            .reference
            .as_deref()
            .map(|reference| ("reference", reference)),
    );
    let options = ListImagesOptions {
        all: filter.include_intermediate,
        filters: Some(filters),
        ..ListImagesOptions::default()
    };
    let images = docker
        .list_images(Some(options))
        .await
        .map_err(|error| translate(error, Doing::new("listing images")))?;
    Ok(images
        .into_iter()
        .map(image_summary)
        .filter(|image| filter.labels.matches(&image.labels))
        .collect())
}

fn image_summary(image: ApiImageSummary) -> ImageSummary {
    ImageSummary {
        id: ImageId::new(image.id),
        tags: familiar_tags(image.repo_tags),
        labels: image.labels.into_iter().collect(),
        size_bytes: u64::try_from(image.size).unwrap_or(0),
        created: unix_timestamp(image.created),
    }
}

pub(crate) async fn tag(docker: &Docker, source: &str, target: &str) -> Result<(), EngineError> {
    let (repo, tag) = split_tag(target);
    let options = TagImageOptions {
        repo: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
    };
    docker
        .tag_image(source, Some(options))
        .await
        .map_err(|error| translate(error, Doing::new("tagging an image").image(source)))
}

pub(crate) async fn remove(
    docker: &Docker,
    reference: &str,
    removal: ImageRemoval,
) -> Result<(), EngineError> {
    let options = RemoveImageOptions {
        force: removal.force,
        noprune: removal.no_prune,
        platforms: None,
    };
    docker
        .remove_image(reference, Some(options), None)
        .await
        .map(drop)
        .map_err(|error| translate(error, Doing::new("removing an image").image(reference)))
}

pub(crate) fn export(
    docker: &Docker,
    reference: &str,
) -> BoxStream<'static, Result<Bytes, EngineError>> {
    let reference = reference.to_owned();
    docker
        .export_image(&reference)
        .map_err(move |error| translate(error, Doing::new("saving an image").image(&reference)))
        .boxed()
}

pub(crate) async fn load(docker: &Docker, archive: ByteStream) -> Result<Vec<String>, EngineError> {
    let upload = Upload::default();
    let mut loaded = Vec::new();
    let mut messages =
        docker.import_image_stream(ImportImageOptions::default(), upload.watch(archive), None);
    while let Some(message) = messages.next().await {
        let message = message.map_err(|error| {
            upload
                .failure("reading the image archive")
                .unwrap_or_else(|| translate(error, Doing::new("loading an image archive")))
        })?;
        loaded.extend(
            message
                .stream
                .as_deref()
                .map(loaded_images)
                .unwrap_or_default(),
        );
    }
    Ok(loaded)
}

/// What a `docker load` output line reports as loaded: a tag ("Loaded image: app:1") or, for an
/// untagged image, its id ("Loaded image ID: sha256:…"). Podman lists several tags on one line,
/// separated by commas.
fn loaded_images(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("Loaded image ID: ")
                .or_else(|| line.strip_prefix("Loaded image(s): "))
                .or_else(|| line.strip_prefix("Loaded image: "))
        })
        .flat_map(|loaded| loaded.split(','))
        .map(|reference| familiar_reference(reference.trim()))
        .filter(|reference| !reference.is_empty())
        .collect()
}

pub(crate) async fn import(
    docker: &Docker,
    rootfs: ByteStream,
    reference: &str,
) -> Result<ImageId, EngineError> {
    let doing = Doing::new("importing a root filesystem").image(reference);
    let upload = Upload::default();
    // No repo or tag here: Podman ignores the tag and names the image `repo:latest`. The image
    // is tagged separately below, which both engines do alike.
    let options = CreateImageOptions {
        from_src: Some("-".to_owned()),
        ..CreateImageOptions::default()
    };
    let body = bollard::body_try_stream(upload.watch(rootfs));
    let mut messages = docker.create_image(Some(options), Some(body), None);
    let mut image_id = None;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|error| {
            upload
                .failure("reading the root filesystem")
                .unwrap_or_else(|| translate(error, doing))
        })?;
        if let Some(id) = message
            .status
            .filter(|status| status.starts_with("sha256:"))
        {
            image_id = Some(ImageId::new(id));
        }
    }
    let image_id = image_id.ok_or_else(|| EngineError::Protocol {
        during: doing.to_string(),
        message: "the engine did not report the id of the imported image".to_owned(),
    })?;
    tag(docker, image_id.as_str(), reference).await?;
    Ok(image_id)
}

pub(crate) async fn push(
    docker: &Docker,
    reference: &str,
    credentials: Option<&RegistryCredentials>,
) -> Result<(), EngineError> {
    let (repo, tag) = split_tag(reference);
    let options = PushImageOptions {
        tag: Some(tag.to_owned()),
        platform: None,
    };
    docker
        .push_image(repo, Some(options), credentials.map(docker_credentials))
        .try_for_each(|progress| async move {
            tracing::debug!(
                status = progress.status.as_deref().unwrap_or_default(),
                "push"
            );
            Ok(())
        })
        .await
        .map_err(|error| translate(error, Doing::new("pushing an image").image(reference)))
}

pub(crate) async fn pull(
    docker: &Docker,
    reference: &str,
    credentials: Option<&RegistryCredentials>,
) -> Result<(), EngineError> {
    let (repo, tag) = split_tag(reference);
    let options = CreateImageOptions {
        from_image: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
        ..CreateImageOptions::default()
    };
    docker
        .create_image(Some(options), None, credentials.map(docker_credentials))
        .try_for_each(|progress| async move {
            tracing::debug!(
                status = progress.status.as_deref().unwrap_or_default(),
                "pull"
            );
            Ok(())
        })
        .await
        .map_err(|error| translate(error, Doing::new("pulling an image").image(reference)))
}

fn docker_credentials(credentials: &RegistryCredentials) -> DockerCredentials {
    let server = Some(credentials.server.clone());
    match &credentials.secret {
        RegistrySecret::Password { username, password } => DockerCredentials {
            username: Some(username.clone()),
            password: Some(password.clone()),
            serveraddress: server,
            ..DockerCredentials::default()
        },
        RegistrySecret::IdentityToken(token) => DockerCredentials {
            identitytoken: Some(token.clone()),
            serveraddress: server,
            ..DockerCredentials::default()
        },
        RegistrySecret::RegistryToken(token) => DockerCredentials {
            registrytoken: Some(token.clone()),
            serveraddress: server,
            ..DockerCredentials::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_carries_passwords_identity_and_registry_tokens() {
        let password = docker_credentials(&RegistryCredentials::new("r.example.com", "ci", "pw"));
        assert_eq!(
            (
                password.username.as_deref(),
                password.password.as_deref(),
                password.identitytoken,
                password.serveraddress.as_deref()
            ),
            (Some("ci"), Some("pw"), None, Some("r.example.com"))
        );
        let identity =
            docker_credentials(&RegistryCredentials::identity_token("acr.io", "refresh"));
        assert_eq!(
            (identity.identitytoken.as_deref(), identity.password),
            (Some("refresh"), None)
        );
        let bearer = docker_credentials(&RegistryCredentials::registry_token("ghcr.io", "t"));
        assert_eq!(
            (bearer.registrytoken.as_deref(), bearer.username),
            (Some("t"), None)
        );
    }

    #[test]
    fn reads_what_load_reports() {
        assert_eq!(loaded_images("Loaded image: app:1\n"), vec!["app:1"]);
        assert_eq!(
            loaded_images("Loaded image ID: sha256:abc\n"),
            vec!["sha256:abc"]
        );
        assert_eq!(
            loaded_images("Loaded image(s): docker.io/library/app:1,localhost/app:2\n"),
            vec!["app:1", "localhost/app:2"]
        );
        assert_eq!(
            loaded_images("Loading layer 1/2\nLoaded image: docker.io/team/app:1\n"),
            vec!["team/app:1"]
        );
        assert!(loaded_images("Getting image source signatures\n").is_empty());
    }

    #[test]
    fn only_podmans_500_image_not_known_is_a_lookup_race() {
        let api = |status, message: &str| EngineError::Api {
            during: "inspecting an image".to_owned(),
            status,
            message: message.to_owned(),
        };
        assert!(is_lookup_race(&api(500, "3f2a9c0b1d4e: image not known")));
        assert!(!is_lookup_race(&api(500, "database is locked")));
        assert!(!is_lookup_race(&api(400, "image not known")));
        assert!(!is_lookup_race(&EngineError::ImageNotFound {
            reference: "app:1".to_owned()
        }));
    }
}
