//! The role matrix: every route of the route table, called with no token, a wrong token, and a
//! token of every role; webhook routes with a missing, a wrong and a right signature.

use slipway_server::routes::{Access, ROUTES};
use slipway_store::Role;

use crate::support::TestServer;

/// The route's path with its parameters filled in with names and ids that do not exist, so an
/// allowed call changes nothing.
fn concrete(path: &str) -> String {
    path.replace("{name}", "nothing-here")
        .replace("{id}", "999999")
}

#[tokio::test]
async fn every_route_answers_401_without_a_token_and_403_below_its_role() {
    let server = TestServer::start().await;
    crate::hooks::add_hooked_project(&server).await;
    assert!(ROUTES.len() >= 15, "the table lists every route");

    for route in ROUTES {
        let path = concrete(route.path);
        let method = route.method.as_str();
        let body = (method == "POST").then(|| serde_json::json!({}));

        if route.access == Access::Signature {
            signature_only(&server, &path).await;
            continue;
        }
        let anonymous = server.request(method, &path, None, body.clone()).await;
        let forged = server
            .request(method, &path, Some("slipway_0000"), body.clone())
            .await;
        match route.access {
            Access::Public => {
                assert_eq!(anonymous.status(), 200, "{method} {path}");
                continue;
            }
            Access::Signature => unreachable!("checked above"),
            Access::Role(_) => {
                assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
                assert_eq!(
                    forged.status(),
                    401,
                    "{method} {path} with an unknown token"
                );
            }
        }
        let Access::Role(needed) = route.access else {
            unreachable!()
        };
        for role in Role::ALL {
            let (status, answer) = server.call(role, method, &path, body.clone()).await;
            if role < needed {
                assert_eq!(status, 403, "{method} {path} as {role}: {answer}");
                assert!(answer["error"].as_str().unwrap().contains(needed.as_str()));
            } else {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {role} answered {status}: {answer}"
                );
            }
        }
    }
    server.stop().await;
}

/// A webhook route: a delivery (a branch deletion, which changes nothing) is refused with 401
/// when unsigned or signed with another secret, whatever token comes with it, and accepted
/// without a token when signed with the project's secret.
async fn signature_only(server: &TestServer, path: &str) {
    let provider = path.trim_start_matches("/hooks/");
    let commits = (
        "1111111111111111111111111111111111111111",
        "0000000000000000000000000000000000000000",
    );
    let url = format!("file://localhost{}", server.repo_path());
    let (mut headers, body) = crate::hooks::push(provider, &url, "matrix", commits, &[], "wrong");
    let (status, answer) = server.post_raw(path, &headers, body.clone()).await;
    assert_eq!(
        status, 401,
        "POST {path} signed with another secret: {answer}"
    );
    for role in Role::ALL {
        let mut with_token = headers.clone();
        with_token.push((
            "authorization".to_owned(),
            format!("Bearer {}", server.token(role)),
        ));
        let (status, _) = server.post_raw(path, &with_token, body.clone()).await;
        assert_eq!(
            status, 401,
            "POST {path} with a {role} token and a wrong signature"
        );
    }
    headers.retain(|(name, _)| !name.contains("signature") && name != "x-gitlab-token");
    let (status, answer) = server.post_raw(path, &headers, body).await;
    assert_eq!(status, 401, "POST {path} unsigned: {answer}");
    let (headers, body) =
        crate::hooks::push(provider, &url, "matrix", commits, &[], crate::hooks::SECRET);
    let (status, answer) = server.post_raw(path, &headers, body).await;
    assert_eq!(status, 200, "POST {path} signed, without a token: {answer}");
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_an_admin_manages_tokens_and_projects() {
    let server = TestServer::start().await;
    let (status, created) = server
        .post(
            Role::Admin,
            "/api/v1/tokens",
            serde_json::json!({ "name": "ci", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("slipway_") && secret.len() == 8 + 64);
    let listed = server.get(Role::Admin, "/api/v1/tokens").await.1;
    assert!(
        !listed.to_string().contains(&secret),
        "listings never show a token"
    );

    let seen = server
        .request("GET", "/api/v1/projects", Some(&secret), None)
        .await;
    assert_eq!(seen.status(), 200);
    let (status, _) = server
        .call(Role::Admin, "DELETE", "/api/v1/tokens/ci", None)
        .await;
    assert_eq!(status, 204);
    let refused = server
        .request("GET", "/api/v1/projects", Some(&secret), None)
        .await;
    assert_eq!(refused.status(), 401);

    let again = serde_json::json!({ "name": "web", "repository": server.repo_path() });
    let (status, answer) = server.post(Role::Admin, "/api/v1/projects", again).await;
    assert_eq!(status, 409, "{answer}");
    let bad = serde_json::json!({ "name": "../x", "repository": "/r" });
    let (status, answer) = server.post(Role::Admin, "/api/v1/projects", bad).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("project name"),
        "{answer}"
    );
    let (status, project) = server.get(Role::Viewer, "/api/v1/projects/web").await;
    assert_eq!(
        (status, project["default_branch"].as_str()),
        (200, Some("main"))
    );
    server.stop().await;
}
