//! `slipway push [IMAGE]`, and the push `slipway build --push` makes: every tag of a built image
//! to the project's registry.
//!
//! With `[registry] url` in `slipway.toml`, each tag is retagged under that registry and pushed
//! by the container engine (`localhost/shop/web:1.2.0` becomes `registry.example.com/team/web:1.2.0`).
//! Without it the image goes to the embedded registry: the engine exports it and the registry
//! stores it straight from the archive (`shop/web:1.2.0` in the storage `slipway registry serve`
//! serves). No server is needed for that, and none of the engine's registry settings: Podman
//! will not push over plain HTTP to loopback without them, Docker would.
//!
//! Credentials for an external registry are `[registry] username` and `password_env` when set,
//! else those the user already keeps for it (Docker's config.json and credential helpers, the
//! containers auth.json: `slipway-registry-client` finds them). The engine gets them in
//! `X-Registry-Auth`; bundles, which the engine cannot push, go to the registry through
//! `slipway-registry-client` directly.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use slipway_build::BuiltBundle;
use slipway_config::Config;
use slipway_engine::{ContainerEngine, ImageRemoval, RegistryCredentials};
use slipway_registry::{RepositoryName, Tag};
use slipway_registry_client::{
    ClientError, Credentials, Environment, RegistryClient, Secret, Source, Transport,
};
use slipway_store::{BuildQuery, BuildStatus};

use super::registry::Setup;
use crate::cli::{GlobalArgs, PushArgs};
use crate::output::{self, Status, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &PushArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let config = project::load_config(global)?;
    let engine = project::connect_engine().await?;
    let references = match &args.image {
        Some(image) if image.contains(':') || image.contains('/') => {
            tags_of(engine.as_ref(), image).await?
        }
        service => latest_build(global, &config, service.as_deref())?,
    };
    let pushed = push(global, &config, engine, &references, status).await?;
    if args.json {
        print_json(&pushed)?;
    } else {
        for image in &pushed.images {
            print_line(&image.reference);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a push did.
#[derive(Debug, Serialize)]
pub(crate) struct Pushed {
    /// `embedded`, or the registry's URL.
    registry: String,
    images: Vec<PushedImage>,
    #[serde(skip)]
    external: bool,
}

impl Pushed {
    /// Where the images can be pulled from, when they went to a registry `[registry] url` names
    /// (the embedded registry's references are the local ones).
    pub(crate) fn external_references(&self) -> Option<Vec<String>> {
        self.external.then(|| {
            self.images
                .iter()
                .map(|image| image.reference.clone())
                .collect()
        })
    }
}

#[derive(Debug, Serialize)]
struct PushedImage {
    /// Where the image can be pulled from now.
    reference: String,
    /// Its manifest digest, when the registry reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
}

/// Pushes `references` (tags of local images) to the project's registry.
pub(crate) async fn push(
    global: &GlobalArgs,
    config: &Config,
    engine: Arc<dyn ContainerEngine>,
    references: &[String],
    status: Status,
) -> Result<Pushed, Failure> {
    match &config.registry().url {
        Some(url) => push_external(config, url, engine.as_ref(), references, status).await,
        None => push_embedded(global, engine.as_ref(), references, status).await,
    }
}

/// Through the engine, to `url`.
async fn push_external(
    config: &Config,
    url: &str,
    engine: &dyn ContainerEngine,
    references: &[String],
    status: Status,
) -> Result<Pushed, Failure> {
    let mut images = Vec::new();
    for reference in references {
        let remote = remote_reference(url, reference);
        let (host, repository) = host_and_path(split_reference(&remote).0);
        let credentials = credentials(config, host, repository).await?;
        status.line(format!("pushing {remote}"));
        let retagged = remote != *reference;
        if retagged {
            engine.tag_image(reference, &remote).await?;
        }
        let pushed = engine
            .push_image(
                &remote,
                credentials.as_ref().map(engine_credentials).as_ref(),
            )
            .await;
        if retagged {
            // The extra tag only named the image for the push.
            engine
                .remove_image(&remote, ImageRemoval::default())
                .await?;
        }
        pushed.map_err(|error| {
            Failure::from(error).hint(if config.registry().insecure {
                "a plain-HTTP registry must also be insecure for the engine (Docker's daemon.json, Podman's registries.conf)".to_owned()
            } else {
                login_hint(host, credentials.as_ref().map(Credentials::source))
            })
        })?;
        images.push(PushedImage {
            reference: remote,
            digest: None,
        });
    }
    Ok(Pushed {
        registry: url.to_owned(),
        images,
        external: true,
    })
}

/// The credentials for `repository` on the registry `host`: `username` and the password in
/// `password_env` when `[registry]` sets them, else those the user keeps for the registry
/// (Docker's config.json and credential helpers, the containers auth.json).
pub(crate) async fn credentials(
    config: &Config,
    host: &str,
    repository: &str,
) -> Result<Option<Credentials>, Failure> {
    let registry = config.registry();
    let named_in_config = registry
        .url
        .as_deref()
        .is_some_and(|url| host_and_path(url).0 == host);
    match (&registry.username, &registry.password_env) {
        // Those are for the registry `url` names, never sent to another.
        (Some(_), Some(_)) | (None, None) if !named_in_config => {
            find_stored_credentials(host, repository).await
        }
        (Some(user), Some(variable)) => {
            let password = std::env::var(variable).map_err(|_| {
                Failure::bad_input(format!("`{variable}` is not set"))
                    .hint("it holds the registry password ([registry] password_env)")
            })?;
            let secret = Secret::Basic {
                username: user.clone(),
                password,
            };
            let source = Source::Given(format!(
                "[registry] username and password_env (`{variable}`) in slipway.toml"
            ));
            Ok(Some(Credentials::new(host, secret, source)))
        }
        (None, None) => find_stored_credentials(host, repository).await,
        _ => Err(Failure::bad_input(
            "[registry] needs both `username` and `password_env`, or neither",
        )),
    }
}

/// The credentials the user keeps for `host` (Docker's config.json and credential helpers, the
/// containers auth.json).
pub(crate) async fn find_stored_credentials(
    host: &str,
    repository: &str,
) -> Result<Option<Credentials>, Failure> {
    slipway_registry_client::find_credentials(&Environment::from_process(), host, repository)
        .await
        .map_err(|error| {
            Failure::bad_input(error.to_string()).hint(
                "fix or remove that entry, or log in again to rewrite it (`docker login`, `podman login`)",
            )
        })
}

/// The same credentials as the engine takes them, for `X-Registry-Auth`.
fn engine_credentials(credentials: &Credentials) -> RegistryCredentials {
    let server = credentials.server();
    match credentials.secret() {
        Secret::Basic { username, password } => {
            RegistryCredentials::new(server, username, password)
        }
        Secret::IdentityToken { token } => RegistryCredentials::identity_token(server, token),
        Secret::RegistryToken { token } => RegistryCredentials::registry_token(server, token),
    }
}

/// What to do when `host` refuses the credentials from `source` (or wants some).
fn login_hint(host: &str, source: Option<&Source>) -> String {
    match source {
        Some(Source::Given(_)) => {
            "check [registry] in slipway.toml and the password in the variable `password_env` names"
                .to_owned()
        }
        Some(source) => format!(
            "the credentials came from {source}: log in again (`docker login {host}` or `podman login {host}`), or set [registry] username and password_env in slipway.toml, which take precedence"
        ),
        None => format!(
            "log in (`docker login {host}` or `podman login {host}`), or set [registry] username and password_env in slipway.toml"
        ),
    }
}

/// A registry client's error as a failure with a hint at the fix.
pub(crate) fn client_failure(error: ClientError, host: &str, insecure: bool) -> Failure {
    let message = error.to_string();
    match error {
        ClientError::Unauthorized {
            credentials_from, ..
        } => Failure::new(message).hint(login_hint(host, credentials_from.as_ref())),
        ClientError::Credentials(_) => Failure::bad_input(message).hint(
            "fix or remove that entry, or log in again to rewrite it (`docker login`, `podman login`)",
        ),
        ClientError::Unreachable { .. } if !insecure => Failure::new(message)
            .hint("check [registry] url in slipway.toml; a plain-HTTP registry needs `insecure = true`"),
        ClientError::Unreachable { .. } => {
            Failure::new(message).hint("check [registry] url in slipway.toml and that the registry runs")
        }
        _ => Failure::new(message),
    }
}

/// A client for `host` as `[registry]` says to reach it, with the credentials for
/// `repository`.
pub(crate) async fn registry_client(
    config: &Config,
    host: &str,
    repository: &str,
) -> Result<RegistryClient, Failure> {
    let insecure = insecure(config, host);
    let transport = if insecure {
        Transport::Http
    } else {
        Transport::Https
    };
    let credentials = credentials(config, host, repository).await?;
    RegistryClient::new(host, transport, credentials)
        .map_err(|error| client_failure(error, host, insecure))
}

/// Whether `host` is the registry `[registry] url` names, reached over plain HTTP.
pub(crate) fn insecure(config: &Config, host: &str) -> bool {
    config.registry().insecure
        && config
            .registry()
            .url
            .as_deref()
            .is_some_and(|url| host_and_path(url).0 == host)
}

/// `host[:port]/path` split at the first slash.
pub(crate) fn host_and_path(reference: &str) -> (&str, &str) {
    reference.split_once('/').unwrap_or((reference, ""))
}

/// Into the embedded registry's storage, from the engine's export of each image.
async fn push_embedded(
    global: &GlobalArgs,
    engine: &dyn ContainerEngine,
    references: &[String],
    status: Status,
) -> Result<Pushed, Failure> {
    let setup = Setup::load(global, None)?;
    let registry = setup.open()?;
    let mut images = Vec::new();
    for (local, tags) in by_repository(references)? {
        let repository = embedded_repository(&local)?;
        let first = tags
            .first()
            .map_or_else(|| local.clone(), |tag| format!("{local}:{tag}"));
        let (imported, verb) =
            match already_stored(engine, &registry, &repository, &tags, &first).await? {
                Some(imported) => (imported, "already there:"),
                None => {
                    status.line(format!(
                        "pushing {first} to the embedded registry as {repository}"
                    ));
                    let archive = engine.export_image(&first).map_err(std::io::Error::other);
                    let imported = registry
                        .import_archive(&repository, &tags, archive.boxed())
                        .await?;
                    (imported, "pushed")
                }
            };
        status.line(format!(
            "{} {repository} {} ({} layers, {})",
            output::ok(verb),
            imported.digest,
            imported.layers,
            output::bytes(imported.size)
        ));
        for tag in &tags {
            images.push(PushedImage {
                reference: format!("{repository}:{tag}"),
                digest: Some(imported.digest.to_string()),
            });
        }
    }
    Ok(Pushed {
        registry: format!("embedded ({})", setup.storage().display()),
        images,
        external: false,
    })
}

/// The image `reference` names when the embedded registry holds it already under `tags[0]`
/// (found by its id, the digest of its config), with all of `tags` pointing at it: then nothing
/// needs exporting from the engine.
async fn already_stored(
    engine: &dyn ContainerEngine,
    registry: &slipway_registry::Registry,
    repository: &RepositoryName,
    tags: &[Tag],
    reference: &str,
) -> Result<Option<slipway_registry::ImportedImage>, Failure> {
    let Some(image) = engine.inspect_image(reference).await? else {
        return Ok(None);
    };
    let Ok(config) = image.id.as_str().parse::<slipway_registry::Digest>() else {
        return Ok(None);
    };
    Ok(registry.retag_image(repository, tags, &config).await?)
}

/// A bundle into the embedded registry (or the one `[registry] url` names) under each of its
/// tags, annotated with the build's OCI labels (revision, version, created). The process
/// runtime deploys from there.
pub(crate) async fn push_bundle(
    global: &GlobalArgs,
    config: &Config,
    built: &BuiltBundle,
    labels: BTreeMap<String, String>,
    status: Status,
) -> Result<Pushed, Failure> {
    let annotations: BTreeMap<String, String> = labels
        .into_iter()
        .filter(|(key, _)| key.starts_with("org.opencontainers.image."))
        .collect();
    if let Some(url) = &config.registry().url {
        return push_bundle_external(config, url, built, &annotations, status).await;
    }
    let setup = Setup::load(global, None)?;
    let registry = setup.open()?;
    let mut images = Vec::new();
    for (local, tags) in by_repository(&built.references)? {
        let repository = embedded_repository(&local)?;
        let tar = bytes::Bytes::from(built.tar.clone());
        let digest = registry
            .push_bundle(&repository, &tags, tar, annotations.clone())
            .await?;
        status.line(format!(
            "{} bundle {repository} {digest}",
            output::ok("pushed")
        ));
        for tag in &tags {
            images.push(PushedImage {
                reference: format!("{repository}:{tag}"),
                digest: Some(digest.to_string()),
            });
        }
    }
    Ok(Pushed {
        registry: format!("embedded ({})", setup.storage().display()),
        images,
        external: false,
    })
}

/// A bundle to the registry `url` names, through the registry client (the engine pushes images
/// only).
async fn push_bundle_external(
    config: &Config,
    url: &str,
    built: &BuiltBundle,
    annotations: &BTreeMap<String, String>,
    status: Status,
) -> Result<Pushed, Failure> {
    let insecure = config.registry().insecure;
    let mut images = Vec::new();
    for (local, tags) in by_repository(&built.references)? {
        let remote = remote_reference(url, &local);
        let (host, path) = host_and_path(&remote);
        let repository: RepositoryName =
            path.parse()
                .map_err(|error: slipway_registry::name::NameError| {
                    Failure::bad_input(format!("{remote}: {error}"))
                        .hint("fix [registry] url in slipway.toml (host[:port]/namespace)")
                })?;
        let client = registry_client(config, host, path).await?;
        status.line(format!("pushing bundle {remote}"));
        let tar = bytes::Bytes::from(built.tar.clone());
        let digest = client
            .push_bundle(&repository, &tags, tar, annotations)
            .await
            .map_err(|error| client_failure(error, host, insecure))?;
        status.line(format!("{} bundle {remote} {digest}", output::ok("pushed")));
        for tag in &tags {
            images.push(PushedImage {
                reference: format!("{remote}:{tag}"),
                digest: Some(digest.to_string()),
            });
        }
    }
    Ok(Pushed {
        registry: url.to_owned(),
        images,
        external: true,
    })
}

/// The references grouped by repository, each with its tags.
fn by_repository(references: &[String]) -> Result<BTreeMap<String, Vec<Tag>>, Failure> {
    let mut grouped: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
    for reference in references {
        let (repository, tag) = split_reference(reference);
        let tag = tag
            .parse::<Tag>()
            .map_err(|error| Failure::bad_input(error.to_string()))?;
        grouped.entry(repository.to_owned()).or_default().push(tag);
    }
    Ok(grouped)
}

/// `repository:tag` split at the tag's colon (a registry's port is not a tag); `latest` when
/// there is no tag.
pub(crate) fn split_reference(reference: &str) -> (&str, &str) {
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => (
            &reference[..name_start + colon],
            &reference[name_start + colon + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// A local repository without its registry host: `localhost/shop/web` is `shop/web`.
pub(crate) fn embedded_repository(local: &str) -> Result<RepositoryName, Failure> {
    let without_host = match local.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => local,
    };
    without_host
        .parse()
        .map_err(|error: slipway_registry::name::NameError| Failure::bad_input(error.to_string()))
}

/// The reference to push `local` as under the registry `url`: `localhost/PROJECT/IMAGE:TAG`
/// becomes `URL/IMAGE:TAG`; a reference naming another registry is pushed as it is.
fn remote_reference(url: &str, local: &str) -> String {
    match local.strip_prefix("localhost/") {
        Some(rest) => {
            let image = rest.split_once('/').map_or(rest, |(_project, image)| image);
            format!("{}/{image}", url.trim_end_matches('/'))
        }
        None => local.to_owned(),
    }
}

/// Every tag of the image `reference` names, in the same repository.
async fn tags_of(engine: &dyn ContainerEngine, reference: &str) -> Result<Vec<String>, Failure> {
    let details = engine.inspect_image(reference).await?.ok_or_else(|| {
        Failure::bad_input(format!("no image {reference}"))
            .hint("build it first with `slipway build`")
    })?;
    let (repository, _) = split_reference(reference);
    let mut tags: Vec<String> = details
        .tags
        .into_iter()
        .filter(|tag| split_reference(tag).0 == repository)
        .collect();
    if tags.is_empty() {
        tags.push(reference.to_owned());
    }
    Ok(tags)
}

/// The tags of the latest successful build of `service` (or of the only service).
fn latest_build(
    global: &GlobalArgs,
    config: &Config,
    service: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let service = match service {
        Some(service) => config.base_service(service)?.name,
        None => {
            let names: Vec<&str> = config.service_names().collect();
            match names.as_slice() {
                [only] => (*only).to_owned(),
                _ => {
                    return Err(Failure::bad_input("which service? name it, or an image")
                        .hint(format!("services: {}", names.join(", "))));
                }
            }
        }
    };
    let store = project::open_store(global, &project::config_root(config)?)?;
    let query = BuildQuery {
        service: Some(service.clone()),
        status: Some(BuildStatus::Succeeded),
        limit: Some(1),
    };
    let build = store.builds(&query)?.into_iter().next().ok_or_else(|| {
        Failure::bad_input(format!("{service} has no successful build"))
            .hint("run `slipway build` first")
    })?;
    Ok(build.record.tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag_not_the_port() {
        assert_eq!(
            split_reference("localhost:5000/shop/web:1.0"),
            ("localhost:5000/shop/web", "1.0")
        );
        assert_eq!(
            split_reference("localhost:5000/shop/web"),
            ("localhost:5000/shop/web", "latest")
        );
        assert_eq!(split_reference("web:main"), ("web", "main"));
    }

    #[test]
    fn local_images_map_to_the_registry() {
        assert_eq!(
            remote_reference("registry.example.com/team", "localhost/shop/web:1.2.0"),
            "registry.example.com/team/web:1.2.0"
        );
        assert_eq!(
            remote_reference("r.example.com/", "localhost/web:1"),
            "r.example.com/web:1"
        );
        assert_eq!(
            remote_reference("r.example.com", "ghcr.io/acme/web:1"),
            "ghcr.io/acme/web:1"
        );
        assert_eq!(
            embedded_repository("localhost/shop/web").unwrap().as_str(),
            "shop/web"
        );
        assert_eq!(
            embedded_repository("shop/web").unwrap().as_str(),
            "shop/web"
        );
        assert!(embedded_repository("localhost/Shop").is_err());
    }
}
