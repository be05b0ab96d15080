//! Against Debian's `docker-registry` with htpasswd (Basic) auth: credentials from a Docker
//! config, a credential helper and a containers auth.json push and pull bundles, and wrong ones
//! are refused with the registry and the source named, never the secret.

use serde_json::json;
use slipway_registry::{Reference, RepositoryName, Tag};
use slipway_registry_client::{
    ClientError, Environment, RegistryClient, Source, Transport, find_credentials,
};

use crate::support::{Distribution, Homes, annotations, basic_auth, bundle_tar, write_json};

const USER: &str = "ci";
const PASSWORD: &str = "s3cret-pa55";

fn repository(name: &str) -> RepositoryName {
    name.parse().unwrap()
}

fn tag(name: &str) -> Tag {
    name.parse().unwrap()
}

/// Looks up credentials for `name` on `registry` in `environment`, then pushes a bundle there
/// under `1.0` and pulls it back.
async fn push_and_pull(
    environment: &Environment,
    registry: &Distribution,
    name: &str,
) -> Result<Source, ClientError> {
    let credentials = find_credentials(environment, &registry.host, name)
        .await?
        .expect("credentials were found");
    let source = credentials.source().clone();
    let client = RegistryClient::new(&registry.host, Transport::Http, Some(credentials))?;
    let tar = bundle_tar("echo hello\n");
    let pushed = client
        .push_bundle(
            &repository(name),
            &[tag("1.0")],
            tar.clone(),
            &annotations(),
        )
        .await?;
    let pulled = client
        .pull_bundle(&repository(name), &Reference::Tag(tag("1.0")))
        .await?;
    assert_eq!(pulled.digest, pushed);
    assert_eq!(pulled.tar, tar);
    let by_digest = client
        .pull_bundle(&repository(name), &Reference::Digest(pushed.clone()))
        .await?;
    assert_eq!(by_digest.tar, tar);
    Ok(source)
}

#[tokio::test]
async fn docker_config_auths_push_and_pull_a_bundle() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let homes = Homes::new();
    // Written as older clients write keys: with a scheme and an API path.
    let key = format!("http://{}/v2/", registry.host);
    let config = homes.docker_config(&json!({
        "auths": { &key: { "auth": basic_auth(USER, PASSWORD) } },
        "HttpHeaders": { "User-Agent": "Docker-Client" }
    }));
    let source = push_and_pull(&homes.environment(), &registry, "team/web")
        .await
        .unwrap();
    assert_eq!(source, Source::File { path: config, key });
}

#[tokio::test]
async fn wrong_credentials_are_refused_naming_the_registry_and_the_source_not_the_secret() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let homes = Homes::new();
    let wrong = "not-the-password-42";
    let config = homes.docker_config(&json!({
        "auths": { &registry.host: { "username": USER, "password": wrong } }
    }));
    let error = push_and_pull(&homes.environment(), &registry, "team/web")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unauthorized { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "registry {host} refused the credentials from auths[\"{host}\"] in {config} (401 Unauthorized)",
            host = registry.host,
            config = config.display()
        )
    );
    assert!(!format!("{message} {error:?}").contains(wrong));

    let anonymous = RegistryClient::new(&registry.host, Transport::Http, None).unwrap();
    let error = anonymous
        .pull_bundle(&repository("team/web"), &Reference::Tag(tag("1.0")))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs credentials (401 Unauthorized), and none were found"),
        "{error}"
    );
}

#[tokio::test]
async fn a_credential_helper_on_path_supplies_the_credentials() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let homes = Homes::new();
    // The helper answers only for the server it is asked about on stdin, as real ones do.
    homes.helper(
        "slipwaytest",
        &format!(
            r#"[ "$1" = get ] || exit 2
read -r server
if [ "$server" = "{host}" ]; then
  printf '{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi"#,
            host = registry.host
        ),
    );
    let config = homes.docker_config(&json!({
        "auths": { "other.example.com": { "auth": basic_auth("fallback", "pw") } },
        "credsStore": "slipwaytest"
    }));
    let source = push_and_pull(&homes.environment(), &registry, "team/web")
        .await
        .unwrap();
    assert_eq!(
        source,
        Source::Helper {
            name: "slipwaytest".to_owned(),
            named_in: config.clone()
        }
    );
    // A host the store does not know falls back to `auths`.
    let fallback = find_credentials(&homes.environment(), "other.example.com", "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fallback.source(),
        &Source::File {
            path: config.clone(),
            key: "other.example.com".to_owned()
        }
    );
    // Without the helper's directory on PATH, the lookup says which helper is missing.
    let mut environment = homes.environment();
    environment.path = Some("/usr/bin:/bin".into());
    let error = find_credentials(&environment, &registry.host, "team/web")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "docker-credential-slipwaytest (named in {}): it is not on PATH; install it or remove it from the file",
            config.display()
        )
    );
}

#[tokio::test]
async fn an_auth_json_in_registry_auth_file_with_a_namespace_key() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let homes = Homes::new();
    let auth_file = write_json(
        &homes.path("elsewhere/auth.json"),
        &json!({ "auths": {
            registry.host.clone(): { "auth": basic_auth(USER, "wrong-for-the-host") },
            format!("{}/team", registry.host): { "auth": basic_auth(USER, PASSWORD) },
        }}),
    );
    let mut environment = homes.environment();
    environment.registry_auth_file = Some(auth_file.clone());
    let source = push_and_pull(&environment, &registry, "team/web")
        .await
        .unwrap();
    assert_eq!(
        source,
        Source::File {
            path: auth_file.clone(),
            key: format!("{}/team", registry.host)
        }
    );
    // Outside the namespace the host's (wrong) entry applies.
    let error = push_and_pull(&environment, &registry, "other/web")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(&format!(
            "auths[\"{}\"] in {}",
            registry.host,
            auth_file.display()
        )),
        "{error}"
    );
}
