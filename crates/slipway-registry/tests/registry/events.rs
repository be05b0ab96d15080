//! The push hook and the events in the state store: one call and one event per manifest pushed,
//! events for deletions and collections, nothing for a push that failed.

use std::sync::{Arc, Mutex};

use http::StatusCode;
use slipway_registry::{Digest, GcOptions, PushHook, PushedManifest, RegistryOptions};
use slipway_store::{RegistryEventKind, RegistryEventQuery, RegistryEventStore, SqliteStore};

use crate::support::*;

/// Remembers every push it hears of.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<PushedManifest>>);

impl PushHook for Recorder {
    fn manifest_pushed(&self, push: &PushedManifest) {
        self.0.lock().unwrap().push(push.clone());
    }
}

#[tokio::test]
async fn the_push_hook_fires_once_per_pushed_manifest_and_events_are_recorded() {
    let state = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(state.path()).unwrap());
    let recorder = Arc::new(Recorder::default());
    let options = RegistryOptions {
        events: Some(store.clone()),
        hooks: vec![recorder.clone()],
    };
    let registry = TestRegistry::start_with(options, None, 64).await;
    let client = registry.client();

    let image = client.push_image("hook/app", "v1", &[b"layer"]).await;
    client
        .put_manifest("hook/app", "latest", OCI_MANIFEST, &image.manifest)
        .await
        .expect(StatusCode::CREATED);
    client
        .put_manifest(
            "hook/app",
            &image.digest.to_string(),
            OCI_MANIFEST,
            &image.manifest,
        )
        .await
        .expect(StatusCode::CREATED);
    client.push_blob("hook/app", b"{}").await;
    client.push_blob("hook/app", b"sig").await;
    let signature = artifact(
        "application/vnd.example.signature",
        b"sig",
        &image.manifest,
        "signed",
    );
    client
        .put_manifest(
            "hook/app",
            &Digest::sha256(&signature).to_string(),
            OCI_MANIFEST,
            &signature,
        )
        .await
        .expect(StatusCode::CREATED);
    // A push that fails calls nothing.
    client
        .put_manifest(
            "hook/app",
            "broken",
            OCI_MANIFEST,
            &image_manifest(b"absent", &[], None),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);

    let pushes = recorder.0.lock().unwrap().clone();
    let summary: Vec<(Option<String>, Digest, Option<Digest>)> = pushes
        .iter()
        .map(|push| {
            (
                push.tag.as_ref().map(ToString::to_string),
                push.digest.clone(),
                push.subject.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some("v1".to_owned()), image.digest.clone(), None),
            (Some("latest".to_owned()), image.digest.clone(), None),
            (None, image.digest.clone(), None),
            (None, Digest::sha256(&signature), Some(image.digest.clone())),
        ]
    );
    assert!(
        pushes
            .iter()
            .all(|push| push.repository.as_str() == "hook/app" && push.media_type == OCI_MANIFEST)
    );

    client
        .delete("/v2/hook/app/manifests/latest")
        .await
        .expect(StatusCode::ACCEPTED);
    registry
        .registry
        .collect_garbage(&GcOptions::default())
        .await
        .unwrap();
    let events = store
        .registry_events(&RegistryEventQuery::default())
        .unwrap();
    let kinds: Vec<RegistryEventKind> =
        events.iter().rev().map(|event| event.record.kind).collect();
    use RegistryEventKind::{Delete, Gc, Push};
    assert_eq!(kinds, [Push, Push, Push, Push, Delete, Gc]);
    let deletion = &events[1].record;
    assert_eq!(
        (
            deletion.repository.as_deref(),
            deletion.tag.as_deref(),
            deletion.detail.as_str()
        ),
        (Some("hook/app"), Some("latest"), "tag")
    );
    assert!(
        events[0].record.detail.starts_with("removed 0 blobs"),
        "{:?}",
        events[0]
    );
    let pushes = store
        .registry_events(&RegistryEventQuery {
            kind: Some(Push),
            ..RegistryEventQuery::default()
        })
        .unwrap();
    assert_eq!(
        pushes.last().unwrap().record.digest.as_deref(),
        Some(image.digest.to_string().as_str())
    );
}
