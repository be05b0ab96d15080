//! Where credentials are looked up, in which order, and what a broken file says.

use serde_json::json;
use slipway_registry_client::{Secret, Source, find_credentials};

use crate::support::{Homes, basic_auth, write_json};

fn password_of(secret: &Secret) -> &str {
    match secret {
        Secret::Basic { password, .. } => password,
        other => panic!("not basic: {other:?}"),
    }
}

#[tokio::test]
async fn files_are_consulted_in_the_documented_order() {
    let homes = Homes::new();
    let host = "registry.example.com";
    let entry =
        |password: &str| json!({ "auths": { host: { "auth": basic_auth("u", password) } } });
    let home_auth = write_json(
        &homes.path("home/.config/containers/auth.json"),
        &entry("from-home-auth-json"),
    );
    let found = |homes: &Homes| {
        let environment = homes.environment();
        async move {
            find_credentials(&environment, host, "team/web")
                .await
                .unwrap()
                .unwrap()
        }
    };
    let credentials = found(&homes).await;
    assert_eq!(password_of(credentials.secret()), "from-home-auth-json");
    assert_eq!(
        credentials.source(),
        &Source::File {
            path: home_auth,
            key: host.to_owned()
        }
    );

    write_json(
        &homes.path("runtime/containers/auth.json"),
        &entry("from-runtime-auth-json"),
    );
    assert_eq!(
        password_of(found(&homes).await.secret()),
        "from-runtime-auth-json"
    );

    let explicit = write_json(
        &homes.path("explicit.json"),
        &entry("from-registry-auth-file"),
    );
    let mut environment = homes.environment();
    environment.registry_auth_file = Some(explicit);
    let credentials = find_credentials(&environment, host, "team/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(password_of(credentials.secret()), "from-registry-auth-file");

    homes.docker_config(&entry("from-docker-config"));
    let credentials = find_credentials(&environment, host, "team/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(password_of(credentials.secret()), "from-docker-config");

    assert!(
        find_credentials(&environment, "elsewhere.example.com", "team/web")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn docker_hub_and_token_entries_are_read_as_docker_writes_them() {
    let homes = Homes::new();
    homes.docker_config(&json!({
        "auths": {
            "https://index.docker.io/v1/": { "identitytoken": "id-token" },
            "ghcr.io": { "registrytoken": "bearer-token" },
            "quay.io": { "username": "me", "password": "pw" },
        }
    }));
    let environment = homes.environment();
    let lookup = |host: &'static str| {
        let environment = environment.clone();
        async move {
            find_credentials(&environment, host, "library/nginx")
                .await
                .unwrap()
                .unwrap()
        }
    };
    for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
        assert_eq!(
            lookup(host).await.secret(),
            &Secret::IdentityToken {
                token: "id-token".to_owned()
            }
        );
    }
    assert_eq!(
        lookup("ghcr.io").await.secret(),
        &Secret::RegistryToken {
            token: "bearer-token".to_owned()
        }
    );
    assert_eq!(password_of(lookup("QUAY.io").await.secret()), "pw");
}

#[tokio::test]
async fn a_helper_answering_token_as_user_gives_an_identity_token() {
    let homes = Homes::new();
    homes.helper(
        "acr",
        r#"read -r server; printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-%s"}' "$server" "$server""#,
    );
    let config = homes.docker_config(&json!({
        "credHelpers": { "https://myacr.azurecr.io": "acr", "docker.io": "acr" }
    }));
    let environment = homes.environment();
    let credentials = find_credentials(&environment, "myacr.azurecr.io", "team/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        credentials.secret(),
        &Secret::IdentityToken {
            token: "refresh-myacr.azurecr.io".to_owned()
        }
    );
    assert_eq!(
        credentials.source(),
        &Source::Helper {
            name: "acr".to_owned(),
            named_in: config
        }
    );
    // Docker Hub is asked for by its historical server URL.
    let hub = find_credentials(&environment, "index.docker.io", "library/nginx")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        hub.secret(),
        &Secret::IdentityToken {
            token: "refresh-https://index.docker.io/v1/".to_owned()
        }
    );
}

#[tokio::test]
async fn broken_files_and_helpers_say_where_and_why_without_secrets() {
    let homes = Homes::new();
    let config = homes.path("docker/config.json");
    std::fs::write(&config, "{\n  \"auths\": {\n    \"x\": 42\n  }\n}\n").unwrap();
    let error = find_credentials(&homes.environment(), "x", "a")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:3:11: not a credential file", config.display())),
        "{error}"
    );

    homes.docker_config(&json!({ "auths": { "x": { "auth": "bm8tY29sb24=" } } }));
    let error = find_credentials(&homes.environment(), "x", "a")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: auths[\"x\"]: `auth` does not decode to `user:password`",
            config.display()
        )
    );

    homes.helper("broken", r#"echo 'keychain locked' >&2; exit 3"#);
    homes.docker_config(&json!({ "credsStore": "broken" }));
    let error = find_credentials(&homes.environment(), "x", "a")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "docker-credential-broken (named in {}): it exited with exit status: 3: keychain locked",
            config.display()
        )
    );

    homes.helper("leaky", r#"echo 'not json: SECRET-VALUE'"#);
    homes.docker_config(&json!({ "credsStore": "leaky" }));
    let error = find_credentials(&homes.environment(), "x", "a")
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("SECRET-VALUE"), "{error}");
}
