//! Recording builds and reading them back: every field, the order of tags, the query filters,
//! the JSON the CLI prints.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use slipway_store::{
    Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildStore, GitSnapshot, NewBuild,
    SqliteStore, Store,
};

use crate::support::generated;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

fn bare(service: &str, started_at: &str, outcome: BuildOutcome) -> NewBuild {
    NewBuild {
        service: service.to_owned(),
        image_id: None,
        digest: None,
        tags: vec![],
        size_bytes: None,
        layer_count: None,
        started_at: started_at.parse().unwrap(),
        duration: Duration::ZERO,
        git: GitSnapshot {
            commit: None,
            branch: None,
            dirty: false,
        },
        outcome,
        log: String::new(),
        target: None,
        platform: None,
        dockerfile: "Dockerfile".to_owned(),
        context: ".".to_owned(),
    }
}

#[test]
fn a_build_reads_back_exactly_as_recorded() {
    let (_dir, store) = open();
    let full = generated(42, 10_000);
    let empty = bare("api", "2025-01-01T00:00:00Z", BuildOutcome::Cancelled);

    let full_id = store.record_build(&full).unwrap();
    let empty_id = store.record_build(&empty).unwrap();

    assert_eq!(
        store.build(full_id).unwrap(),
        Some(Build {
            id: full_id,
            record: full
        })
    );
    assert_eq!(
        store.build(empty_id).unwrap(),
        Some(Build {
            id: empty_id,
            record: empty
        })
    );
}

#[test]
fn tags_keep_the_order_they_were_applied_in() {
    let (_dir, store) = open();
    let tags = ["v2.0.0", "main", "a1b2c3d", "latest", "main"]
        .map(str::to_owned)
        .to_vec();
    let build = NewBuild {
        tags: tags.clone(),
        ..generated(1, 10)
    };

    let id = store.record_build(&build).unwrap();

    assert_eq!(store.build(id).unwrap().unwrap().record.tags, tags);
}

#[test]
fn an_unknown_id_reads_as_none() {
    let (_dir, store) = open();
    store.record_build(&generated(1, 10)).unwrap();

    assert_eq!(store.build(BuildId::new(999)).unwrap(), None);
}

#[test]
fn ids_are_new_for_every_build_and_read_as_plain_numbers() {
    let (_dir, store) = open();
    let first = store.record_build(&generated(1, 10)).unwrap();
    let second = store.record_build(&generated(2, 10)).unwrap();

    assert!(second > first);
    assert_eq!(second.to_string(), second.get().to_string());
    assert_eq!(second.to_string().parse::<BuildId>().unwrap(), second);
    assert!("seven".parse::<BuildId>().is_err());
}

#[test]
fn builds_list_newest_first_by_start_time_with_filters() {
    let (_dir, store) = open();
    let failed = || BuildOutcome::Failed {
        reason: "exit 1".to_owned(),
    };
    // Recorded out of start order: a long build started first may finish last.
    let api_old = store
        .record_build(&bare(
            "api",
            "2025-01-01T10:00:00Z",
            BuildOutcome::Succeeded,
        ))
        .unwrap();
    let api_new = store
        .record_build(&bare("api", "2025-01-03T10:00:00Z", failed()))
        .unwrap();
    let web = store
        .record_build(&bare("web", "2025-01-02T10:00:00Z", failed()))
        .unwrap();
    let api_mid = store
        .record_build(&bare(
            "api",
            "2025-01-02T10:00:00Z",
            BuildOutcome::Cancelled,
        ))
        .unwrap();
    let ids = |query: BuildQuery| -> Vec<BuildId> {
        store
            .builds(&query)
            .unwrap()
            .into_iter()
            .map(|build| build.id)
            .collect()
    };
    let api = || Some("api".to_owned());

    // Same start time: the later id first.
    assert_eq!(ids(BuildQuery::default()), [api_new, api_mid, web, api_old]);
    assert_eq!(
        ids(BuildQuery {
            service: api(),
            ..BuildQuery::default()
        }),
        [api_new, api_mid, api_old]
    );
    assert_eq!(
        ids(BuildQuery {
            status: Some(BuildStatus::Failed),
            ..BuildQuery::default()
        }),
        [api_new, web]
    );
    assert_eq!(
        ids(BuildQuery {
            service: api(),
            status: Some(BuildStatus::Succeeded),
            limit: None
        }),
        [api_old]
    );
    assert_eq!(
        ids(BuildQuery {
            limit: Some(2),
            ..BuildQuery::default()
        }),
        [api_new, api_mid]
    );
    assert_eq!(
        ids(BuildQuery {
            limit: Some(0),
            ..BuildQuery::default()
        }),
        []
    );
    assert_eq!(
        ids(BuildQuery {
            service: Some("nope".to_owned()),
            ..BuildQuery::default()
        }),
        []
    );
}

#[test]
fn builds_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let id = SqliteStore::open(dir.path())
        .unwrap()
        .record_build(&generated(7, 100))
        .unwrap();

    let reopened = SqliteStore::open(dir.path()).unwrap();

    assert_eq!(
        reopened.build(id).unwrap(),
        Some(Build {
            id,
            record: generated(7, 100)
        })
    );
}

#[test]
fn a_build_serializes_flat_with_milliseconds_and_rfc3339_times() {
    let (_dir, store) = open();
    let record = NewBuild {
        service: "api".to_owned(),
        image_id: Some("sha256:abc".to_owned()),
        digest: None,
        tags: vec!["v1".to_owned(), "main".to_owned()],
        size_bytes: Some(1_000),
        layer_count: Some(3),
        started_at: "2025-03-01T10:15:30.5Z".parse().unwrap(),
        duration: Duration::from_micros(83_250_900),
        git: GitSnapshot {
            commit: Some("f".repeat(40)),
            branch: None,
            dirty: true,
        },
        outcome: BuildOutcome::Failed {
            reason: "RUN make exited with 2".to_owned(),
        },
        log: "make: *** [all] Error 2\n".to_owned(),
        target: Some("runtime".to_owned()),
        platform: None,
        dockerfile: "Dockerfile".to_owned(),
        context: ".".to_owned(),
    };
    let id = store.record_build(&record).unwrap();
    let build = store.build(id).unwrap().unwrap();

    assert_eq!(
        serde_json::to_value(&build).unwrap(),
        serde_json::json!({
            "id": id.get(),
            "service": "api",
            "image_id": "sha256:abc",
            "digest": null,
            "tags": ["v1", "main"],
            "size_bytes": 1000,
            "layer_count": 3,
            "started_at": "2025-03-01T10:15:30.5Z",
            "duration_ms": 83_250,
            "git": { "commit": "f".repeat(40), "branch": null, "dirty": true },
            "outcome": { "status": "failed", "reason": "RUN make exited with 2" },
            "log": "make: *** [all] Error 2\n",
            "target": "runtime",
            "platform": null,
            "dockerfile": "Dockerfile",
            "context": ".",
        })
    );
    let cancelled = serde_json::to_value(BuildOutcome::Cancelled).unwrap();
    assert_eq!(cancelled, serde_json::json!({ "status": "cancelled" }));

    // A listing is the same object without the log, which it never read.
    let listed = store.builds(&BuildQuery::default()).unwrap();
    let mut expected = serde_json::to_value(&build).unwrap();
    expected.as_object_mut().unwrap().remove("log");
    assert_eq!(serde_json::to_value(&listed[0]).unwrap(), expected);
    assert_eq!(listed, [build.summary()]);
}

#[test]
fn one_store_shared_across_threads_records_every_build() {
    let (_dir, store) = open();
    let store: Arc<dyn Store> = Arc::new(store);
    let threads: Vec<_> = (0..4_u64)
        .map(|thread| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for sequence in thread * 100..thread * 100 + 25 {
                    store.record_build(&generated(sequence, 100)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }

    assert_eq!(store.builds(&BuildQuery::default()).unwrap().len(), 100);
}

fn any_build() -> impl Strategy<Value = NewBuild> {
    let text = || any::<String>();
    let optional = || proptest::option::of(any::<String>());
    let outcome = prop_oneof![
        Just(BuildOutcome::Succeeded),
        text().prop_map(|reason| BuildOutcome::Failed { reason }),
        Just(BuildOutcome::Cancelled),
    ];
    let git =
        (optional(), optional(), any::<bool>()).prop_map(|(commit, branch, dirty)| GitSnapshot {
            commit,
            branch,
            dirty,
        });
    // Every time and duration the store accepts: nanoseconds in an i64.
    let started_at =
        any::<i64>().prop_map(|ns| jiff::Timestamp::from_nanosecond(ns.into()).unwrap());
    let duration = (0..=i64::MAX as u64).prop_map(Duration::from_nanos);
    let size = proptest::option::of(0..=i64::MAX as u64);
    (
        (
            text(),
            optional(),
            optional(),
            proptest::collection::vec(text(), 0..6),
            size,
        ),
        (any::<Option<u32>>(), started_at, duration, git, outcome),
        (text(), optional(), optional(), text(), text()),
    )
        .prop_map(
            |(
                (service, image_id, digest, tags, size_bytes),
                (layer_count, started_at, duration, git, outcome),
                (log, target, platform, dockerfile, context),
            )| NewBuild {
                service,
                image_id,
                digest,
                tags,
                size_bytes,
                layer_count,
                started_at,
                duration,
                git,
                outcome,
                log,
                target,
                platform,
                dockerfile,
                context,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_representable_build_round_trips(build in any_build()) {
        let (_dir, store) = open();
        let id = store.record_build(&build).unwrap();
        prop_assert_eq!(store.build(id).unwrap(), Some(Build { id, record: build }));
    }
}
