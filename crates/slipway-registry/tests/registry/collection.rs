//! Garbage collection and retention: what they remove, what they never remove, and property
//! tests over random pushes, tags, deletions and referrers after which every tagged image still
//! pulls completely.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use rand::Rng;
use rand::seq::IndexedRandom;
use slipway_registry::{
    DEFAULT_GRACE, Digest, GcOptions, RemovalTarget, RetentionPolicies, RetentionPolicy,
    RetentionRules,
};

use crate::support::*;

const DAY: Duration = Duration::from_secs(86_400);

/// Collects with no grace period: everything unreferenced goes.
fn eager() -> GcOptions {
    GcOptions {
        grace: Duration::ZERO,
        upload_expiry: DAY,
    }
}

/// Pulls the manifest `reference` and everything it references, checking every digest, and
/// returns the manifest's digest; fails the test if any part is missing or damaged.
pub(crate) async fn pull_completely(client: &Client, name: &str, reference: &str) -> Digest {
    try_pull(client, name, reference)
        .await
        .unwrap_or_else(|problem| panic!("{name}:{reference} does not pull: {problem}"))
}

/// [`pull_completely`], reporting what is missing instead of failing.
async fn try_pull(client: &Client, name: &str, reference: &str) -> Result<Digest, String> {
    let answer = client
        .get(&format!("/v2/{name}/manifests/{reference}"))
        .await;
    if answer.status != StatusCode::OK {
        return Err(format!("manifest {reference}: {}", answer.status));
    }
    let digest = Digest::sha256(&answer.body);
    let manifest = answer.json();
    let mut blobs: Vec<&serde_json::Value> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    blobs.extend(manifest.get("config"));
    for blob in blobs {
        let expected = blob["digest"].as_str().unwrap_or_default();
        let answer = client.get(&format!("/v2/{name}/blobs/{expected}")).await;
        if answer.status != StatusCode::OK || Digest::sha256(&answer.body).to_string() != expected {
            return Err(format!("blob {expected}: {}", answer.status));
        }
    }
    for child in manifest["manifests"].as_array().into_iter().flatten() {
        let child_digest = child["digest"].as_str().unwrap_or_default();
        Box::pin(try_pull(client, name, child_digest)).await?;
    }
    Ok(digest)
}

fn blob_count(registry: &TestRegistry) -> usize {
    let mut count = 0;
    let mut pending = vec![registry.dir.path().join("blobs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path())
            } else {
                count += 1
            }
        }
    }
    count
}

#[tokio::test]
async fn gc_removes_exactly_the_unreferenced_blobs() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let kept = client
        .push_image("gc/app", "kept", &[b"shared layer", b"kept layer"])
        .await;
    let dropped = client
        .push_image("gc/app", "dropped", &[b"shared layer", b"dropped layer"])
        .await;
    let stray = client
        .push_blob("gc/app", b"uploaded, never referenced")
        .await;
    client
        .delete(&format!("/v2/gc/app/manifests/{}", dropped.digest))
        .await
        .expect(StatusCode::ACCEPTED);

    let report = registry.registry.collect_garbage(&eager()).await.unwrap();

    // Gone: the stray blob, the dropped manifest, its config and its own layer.
    assert_eq!(report.blobs_removed, 4, "{report:?}");
    assert_eq!(report.manifests, 1);
    pull_completely(&client, "gc/app", "kept").await;
    for gone in [
        stray,
        dropped.digest,
        Digest::sha256(&dropped.config),
        Digest::sha256(b"dropped layer"),
    ] {
        client
            .head(&format!("/v2/gc/app/blobs/{gone}"))
            .await
            .expect(StatusCode::NOT_FOUND);
    }
    assert_eq!(Digest::sha256(&kept.manifest), kept.digest);
    let again = registry.registry.collect_garbage(&eager()).await.unwrap();
    assert_eq!(again.blobs_removed, 0, "{again:?}");
}

#[tokio::test]
async fn gc_keeps_what_indexes_and_referrers_reference() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let platform = client
        .push_image("gc/multi", "amd64", &[b"amd64 layer"])
        .await;
    let list = index(&[(OCI_MANIFEST, &platform.manifest)]);
    client
        .put_manifest("gc/multi", "latest", OCI_INDEX, &list)
        .await
        .expect(StatusCode::CREATED);
    client
        .delete("/v2/gc/multi/manifests/amd64")
        .await
        .expect(StatusCode::ACCEPTED);
    client.push_blob("gc/multi", b"{}").await;
    client.push_blob("gc/multi", b"signature").await;
    let signature = artifact(
        "application/vnd.example.signature",
        b"signature",
        &list,
        "signed",
    );
    client
        .put_manifest(
            "gc/multi",
            &Digest::sha256(&signature).to_string(),
            OCI_MANIFEST,
            &signature,
        )
        .await
        .expect(StatusCode::CREATED);

    let report = registry.registry.collect_garbage(&eager()).await.unwrap();

    assert_eq!(report.blobs_removed, 0, "{report:?}");
    pull_completely(&client, "gc/multi", "latest").await;
    pull_completely(&client, "gc/multi", &Digest::sha256(&signature).to_string()).await;
}

#[tokio::test]
async fn gc_spares_young_blobs_and_expires_idle_uploads() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let stray = client
        .push_blob("gc/young", b"a layer whose manifest is still coming")
        .await;
    let location = client.start_upload("gc/young").await;

    let gentle = GcOptions {
        grace: Duration::from_secs(3600),
        upload_expiry: Duration::from_secs(3600),
    };
    let report = registry.registry.collect_garbage(&gentle).await.unwrap();
    assert_eq!(
        (report.blobs_removed, report.uploads_expired),
        (0, 0),
        "{report:?}"
    );
    client
        .head(&format!("/v2/gc/young/blobs/{stray}"))
        .await
        .expect(StatusCode::OK);
    client.get(&location).await.expect(StatusCode::NO_CONTENT);

    let impatient = GcOptions {
        grace: Duration::from_secs(3600),
        upload_expiry: Duration::ZERO,
    };
    assert_eq!(
        registry
            .registry
            .collect_garbage(&impatient)
            .await
            .unwrap()
            .uploads_expired,
        1
    );
    client.get(&location).await.expect(StatusCode::NOT_FOUND);
}

/// The random workload of the property tests: pushes of images sharing layers from a small pool,
/// retags, tag and manifest deletions, indexes and referrers.
async fn random_workload(client: &Client, rng: &mut impl Rng, operations: usize) {
    let names = ["prop/a", "prop/b"];
    let layers: Vec<Vec<u8>> = (0..6)
        .map(|i| format!("pool layer {i}").into_bytes())
        .collect();
    let mut manifests: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for step in 0..operations {
        let name = *names.choose(rng).unwrap();
        let tag = format!("t{}", rng.random_range(0..6));
        match rng.random_range(0..10) {
            0..=3 => {
                let count = rng.random_range(0..3);
                let chosen: Vec<&[u8]> = (0..count)
                    .map(|_| layers.choose(rng).unwrap().as_slice())
                    .collect();
                let config = format!("{{\"step\": {step}}}").into_bytes();
                client.push_blob(name, &config).await;
                for layer in &chosen {
                    client.push_blob(name, layer).await;
                }
                let manifest = image_manifest(&config, &chosen, None);
                client
                    .put_manifest(name, &tag, OCI_MANIFEST, &manifest)
                    .await
                    .expect(StatusCode::CREATED);
                manifests.entry(name).or_default().push(manifest);
            }
            4 => {
                client.delete(&format!("/v2/{name}/manifests/{tag}")).await;
            }
            5 => {
                if let Some(manifest) = manifests.get(name).and_then(|all| all.choose(rng)) {
                    client
                        .delete(&format!(
                            "/v2/{name}/manifests/{}",
                            Digest::sha256(manifest)
                        ))
                        .await;
                }
            }
            6 => {
                if let Some(manifest) = manifests.get(name).and_then(|all| all.choose(rng)).cloned()
                {
                    let list = index(&[(OCI_MANIFEST, &manifest)]);
                    // Fails when the child was deleted meanwhile; either answer is fine.
                    let _ = client.put_manifest(name, &tag, OCI_INDEX, &list).await;
                }
            }
            7 => {
                if let Some(subject) = manifests.get(name).and_then(|all| all.choose(rng)).cloned()
                {
                    client.push_blob(name, b"{}").await;
                    let note = format!("signature {step}");
                    client.push_blob(name, note.as_bytes()).await;
                    let signature = artifact(
                        "application/vnd.example.signature",
                        note.as_bytes(),
                        &subject,
                        &note,
                    );
                    client
                        .put_manifest(
                            name,
                            &Digest::sha256(&signature).to_string(),
                            OCI_MANIFEST,
                            &signature,
                        )
                        .await
                        .expect(StatusCode::CREATED);
                }
            }
            _ => {
                if let Some(manifest) = manifests.get(name).and_then(|all| all.choose(rng)).cloned()
                {
                    let _ = client
                        .put_manifest(name, &tag, OCI_MANIFEST, &manifest)
                        .await;
                }
            }
        }
        if rng.random_range(0..5) == 0 {
            client
                .push_blob(name, format!("stray blob {step}").as_bytes())
                .await;
        }
    }
}

/// Every tag of every repository, and every referrer listed for what they point at.
async fn everything_tagged(client: &Client) -> Vec<(String, String)> {
    let mut references = Vec::new();
    for name in client
        .get("/v2/_catalog")
        .await
        .expect(StatusCode::OK)
        .json()["repositories"]
        .as_array()
        .unwrap()
    {
        let name = name.as_str().unwrap();
        let tags = client
            .get(&format!("/v2/{name}/tags/list"))
            .await
            .expect(StatusCode::OK)
            .json();
        for tag in tags["tags"].as_array().unwrap() {
            let tag = tag.as_str().unwrap();
            references.push((name.to_owned(), tag.to_owned()));
            let digest = Digest::sha256(
                &client
                    .get(&format!("/v2/{name}/manifests/{tag}"))
                    .await
                    .expect(StatusCode::OK)
                    .body,
            );
            let referrers = client
                .get(&format!("/v2/{name}/referrers/{digest}"))
                .await
                .expect(StatusCode::OK)
                .json();
            for referrer in referrers["manifests"].as_array().unwrap() {
                references.push((
                    name.to_owned(),
                    referrer["digest"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    references
}

#[tokio::test]
async fn after_random_work_and_gc_every_tagged_image_still_pulls_completely() {
    let mut rng = seeded_rng("after_random_work_and_gc_every_tagged_image_still_pulls_completely");
    for _round in 0..6 {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        random_workload(&client, &mut rng, 40).await;
        let before = everything_tagged(&client).await;
        // An index whose child was deleted by a client is broken before any collection; what
        // matters is that collection breaks nothing that was whole.
        let mut whole = Vec::new();
        for (name, reference) in &before {
            if try_pull(&client, name, reference).await.is_ok() {
                whole.push((name.clone(), reference.clone()));
            }
        }

        let report = registry.registry.collect_garbage(&eager()).await.unwrap();

        assert_eq!(
            everything_tagged(&client).await,
            before,
            "collection changes no tag or referrer"
        );
        for (name, reference) in &whole {
            pull_completely(&client, name, reference).await;
        }
        let second = registry.registry.collect_garbage(&eager()).await.unwrap();
        assert_eq!(
            second.blobs_removed, 0,
            "a second collection finds nothing left: {report:?} then {second:?}"
        );
        assert_eq!(second.blobs_kept, blob_count(&registry));
    }
}

fn policy(rules: RetentionRules) -> RetentionPolicies {
    RetentionPolicies::new(vec![
        RetentionPolicy::new(&RetentionRules {
            repositories: vec!["**".into()],
            ..rules
        })
        .unwrap(),
    ])
}

#[tokio::test]
async fn retention_keeps_the_last_tags_and_removes_old_untagged_manifests_with_their_referrers() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let mut images = Vec::new();
    for version in 1..=4 {
        images.push(
            client
                .push_image(
                    "ret/app",
                    &format!("v{version}"),
                    &[format!("layer {version}").as_bytes()],
                )
                .await,
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.push_blob("ret/app", b"{}").await;
    client.push_blob("ret/app", b"sbom").await;
    let sbom = artifact(
        "application/spdx+json",
        b"sbom",
        &images[0].manifest,
        "sbom of v1",
    );
    client
        .put_manifest(
            "ret/app",
            &Digest::sha256(&sbom).to_string(),
            OCI_MANIFEST,
            &sbom,
        )
        .await
        .expect(StatusCode::CREATED);
    let policies = policy(RetentionRules {
        keep_last: Some(2),
        delete_untagged_after: Some(30 * DAY),
        ..RetentionRules::default()
    });

    // Today nothing is old enough to go but the two oldest tags.
    let today = registry
        .registry
        .plan_retention(&policies, SystemTime::now())
        .await
        .unwrap();
    let tags: Vec<String> = today
        .removals
        .iter()
        .map(|removal| match &removal.target {
            RemovalTarget::Tag { tag, .. } => tag.to_string(),
            RemovalTarget::Manifest { digest } => panic!("{digest} is not old enough to go"),
        })
        .collect();
    assert_eq!(tags, ["v2", "v1"], "{today:?}");

    // Forty days on, their manifests and the SBOM of v1 go too.
    let later = registry
        .registry
        .plan_retention(&policies, SystemTime::now() + 40 * DAY)
        .await
        .unwrap();
    let manifests: BTreeSet<Digest> = later
        .removals
        .iter()
        .filter_map(|removal| match &removal.target {
            RemovalTarget::Manifest { digest } => Some(digest.clone()),
            RemovalTarget::Tag { .. } => None,
        })
        .collect();
    assert_eq!(
        manifests,
        [
            images[0].digest.clone(),
            images[1].digest.clone(),
            Digest::sha256(&sbom)
        ]
        .into_iter()
        .collect()
    );
    assert!(
        later
            .removals
            .iter()
            .any(|removal| removal.reason.contains("a referrer of")),
        "{later:?}"
    );

    let outcome = registry.registry.apply_retention(&later).await.unwrap();
    assert_eq!(
        (
            outcome.tags_removed,
            outcome.manifests_removed,
            outcome.skipped
        ),
        (2, 3, 0)
    );
    registry.registry.collect_garbage(&eager()).await.unwrap();

    let tags = client
        .get("/v2/ret/app/tags/list")
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(tags["tags"], serde_json::json!(["v3", "v4"]));
    pull_completely(&client, "ret/app", "v3").await;
    pull_completely(&client, "ret/app", "v4").await;
    client
        .get(&format!("/v2/ret/app/manifests/{}", images[0].digest))
        .await
        .expect(StatusCode::NOT_FOUND);
    client
        .head(&format!("/v2/ret/app/blobs/{}", Digest::sha256(b"layer 1")))
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retention_leaves_alone_what_changed_since_the_plan() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    client.push_image("ret/race", "old", &[b"old"]).await;
    client.push_image("ret/race", "new", &[b"new"]).await;
    let plan = registry
        .registry
        .plan_retention(
            &policy(RetentionRules {
                keep_last: Some(1),
                ..RetentionRules::default()
            }),
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(plan.removals.len(), 1);
    // The tag is pushed again, to another image, before the plan is applied.
    client
        .push_image("ret/race", "old", &[b"newer still"])
        .await;

    let outcome = registry.registry.apply_retention(&plan).await.unwrap();

    assert_eq!((outcome.tags_removed, outcome.skipped), (0, 1));
    pull_completely(&client, "ret/race", "old").await;
}

#[tokio::test]
async fn after_random_work_retention_and_gc_what_retention_keeps_still_pulls_completely() {
    let mut rng = seeded_rng(
        "after_random_work_retention_and_gc_what_retention_keeps_still_pulls_completely",
    );
    for _round in 0..6 {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        random_workload(&client, &mut rng, 40).await;
        let mut whole_before = Vec::new();
        for (name, reference) in everything_tagged(&client).await {
            if try_pull(&client, &name, &reference).await.is_ok() {
                whole_before.push((name, reference));
            }
        }
        let rules = RetentionRules {
            keep_last: rng.random_bool(0.7).then(|| rng.random_range(0..4)),
            keep_tags: if rng.random_bool(0.5) {
                vec!["t1".into()]
            } else {
                Vec::new()
            },
            keep_recent: None,
            delete_untagged_after: rng.random_bool(0.8).then_some(DAY),
            ..RetentionRules::default()
        };
        let policies = policy(rules.clone());
        let plan = registry
            .registry
            .plan_retention(&policies, SystemTime::now() + 2 * DAY)
            .await
            .unwrap();
        registry.registry.apply_retention(&plan).await.unwrap();
        registry.registry.collect_garbage(&eager()).await.unwrap();

        let survivors = everything_tagged(&client).await;
        for (name, reference) in &survivors {
            if whole_before.contains(&(name.clone(), reference.clone())) {
                pull_completely(&client, name, reference).await;
            }
        }
        for removal in &plan.removals {
            if let RemovalTarget::Manifest { digest } = &removal.target {
                client
                    .get(&format!("/v2/{}/manifests/{digest}", removal.repository))
                    .await
                    .expect(StatusCode::NOT_FOUND);
            }
        }
        if let Some(keep) = rules.keep_last.filter(|_| rules.keep_tags.is_empty()) {
            for name in ["prop/a", "prop/b"] {
                let tags = client.get(&format!("/v2/{name}/tags/list")).await;
                if tags.status == StatusCode::OK {
                    assert!(
                        tags.json()["tags"].as_array().unwrap().len() <= keep as usize,
                        "{rules:?}"
                    );
                }
            }
        }
    }
}

/// Sets the time every stored blob was last written back by `age`, as if it had been unused
/// that long.
fn age_blobs(registry: &TestRegistry, age: Duration) {
    let then = SystemTime::now() - age;
    let mut pending = vec![registry.dir.path().join("blobs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                std::fs::File::options()
                    .write(true)
                    .open(entry.path())
                    .unwrap()
                    .set_modified(then)
                    .unwrap();
            }
        }
    }
}

/// The collector runs round after round while three clients push and delete. The layers they
/// push were left unreferenced and older than the grace period beforehand, so the collector
/// races every push that uploads one of them again; the grace period is the default one, longer
/// than any push, which is what the collector requires. Nothing here depends on timing: each
/// push waits for a collection round that ended after the previous push, so collection and
/// pushes interleave however loaded the machine is.
#[tokio::test]
async fn collection_while_pushing_never_breaks_a_pushed_image() {
    let registry = TestRegistry::start().await;
    let layers: Vec<String> = (0..4).map(|n| format!("shared layer {n}")).collect();
    let abandoned = {
        let client = registry.client();
        let mut contents: Vec<&[u8]> = layers.iter().map(String::as_bytes).collect();
        contents.push(b"a layer nobody pushes again");
        let image = client.push_image("race/app", "abandoned", &contents).await;
        client
            .delete(&format!("/v2/race/app/manifests/{}", image.digest))
            .await
            .expect(StatusCode::ACCEPTED);
        image
    };
    age_blobs(&registry, 2 * DEFAULT_GRACE);

    let collector = Arc::clone(&registry.registry);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (rounds_sender, rounds) = tokio::sync::watch::channel(0_usize);
    let collecting = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut removed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let report = collector
                    .collect_garbage(&GcOptions::default())
                    .await
                    .unwrap();
                removed += report.blobs_removed;
                rounds_sender.send_modify(|rounds| *rounds += 1);
            }
            removed
        })
    };
    let pushers: Vec<_> = (0..3)
        .map(|pusher| {
            let client = registry.client();
            let layers = layers.clone();
            let mut rounds = rounds.clone();
            tokio::spawn(async move {
                let mut pushed = Vec::new();
                for step in 0..25 {
                    let tag = format!("p{pusher}-{step}");
                    let layer = &layers[step % layers.len()];
                    let image = client
                        .push_image("race/app", &tag, &[layer.as_bytes()])
                        .await;
                    pushed.push((tag, image.digest));
                    if step % 3 == 0 {
                        client
                            .delete(&format!("/v2/race/app/manifests/{}", pushed.remove(0).1))
                            .await;
                    }
                    // A round that ends after this push, before the next one.
                    rounds.borrow_and_update();
                    rounds.changed().await.unwrap();
                }
                (client, pushed)
            })
        })
        .collect();
    let mut results = Vec::new();
    for pusher in pushers {
        results.push(pusher.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let removed = collecting.await.unwrap();
    assert!(
        removed >= 2,
        "the collector took the abandoned config and layer during the pushes (removed {removed})"
    );
    let client = registry.client();
    for blob in [&abandoned.config, &abandoned.layers[4]] {
        let digest = Digest::sha256(blob);
        assert_eq!(
            client
                .get(&format!("/v2/race/app/blobs/{digest}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    registry.registry.collect_garbage(&eager()).await.unwrap();
    for (client, pushed) in &results {
        for (tag, digest) in pushed {
            assert_eq!(&pull_completely(client, "race/app", tag).await, digest);
        }
    }
}

#[tokio::test]
async fn maintenance_applies_retention_then_collects_on_its_schedule() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let old = client.push_image("sched/app", "v1", &[b"old layer"]).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    client.push_image("sched/app", "v2", &[b"new layer"]).await;
    let policies = policy(RetentionRules {
        keep_last: Some(1),
        delete_untagged_after: Some(Duration::ZERO),
        ..RetentionRules::default()
    });

    let maintenance = slipway_registry::spawn_maintenance(
        Arc::clone(&registry.registry),
        Duration::from_millis(100),
        policies,
        eager(),
    );

    // Rounds every 100 ms: the layer goes at one of them, however late a loaded machine runs it.
    let mut collected = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let gone = client
            .head(&format!(
                "/v2/sched/app/blobs/{}",
                Digest::sha256(b"old layer")
            ))
            .await
            .status
            == StatusCode::NOT_FOUND;
        if gone {
            collected = true;
            break;
        }
    }
    maintenance.abort();
    assert!(collected, "the old image's layer was collected on schedule");
    client
        .get(&format!("/v2/sched/app/manifests/{}", old.digest))
        .await
        .expect(StatusCode::NOT_FOUND);
    pull_completely(&client, "sched/app", "v2").await;
}
