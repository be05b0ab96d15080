//! Rows written at each schema version, for the upgrade tests.
//!
//! Each migration has a seed: `insert` writes rows with the SQL of that version, as a slipway of
//! that time would have; `check` reads them back through the API after the database was brought
//! to the latest schema and asserts they are whole. When a later migration changes how a record
//! reads (a new field and its default), the `check` of every earlier seed says what it reads as.
//!
//! Seeds use literal SQL, never the store's own insert code, which always writes the newest
//! schema. The upgrade test writes every seed up to a version, so each seed keeps to ids and
//! service names of its own (`v1-api`) and its checks see only its rows.

use std::time::Duration;

use rusqlite::Connection;

use crate::{
    Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildStore, GitSnapshot, NewBuild,
    SqliteStore,
};

/// The rows of one schema version.
pub(super) struct Seed {
    /// The version whose schema `insert` writes to.
    pub(super) version: u32,
    pub(super) insert: fn(&Connection) -> rusqlite::Result<()>,
    pub(super) check: fn(&SqliteStore),
}

/// One seed per migration, in order.
pub(super) const SEEDS: &[Seed] = &[Seed {
    version: 1,
    insert: insert_v1,
    check: check_v1,
}];

/// Schema 1: a succeeded build with tags, a failed one with most fields absent, a cancelled one.
fn insert_v1(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO builds (id, service, image_id, digest, size_bytes, layer_count, started_at_ns,
             duration_ns, git_commit, git_branch, git_dirty, outcome, failure_reason, target,
             platform, dockerfile, context)
         VALUES
             (101, 'v1-api', 'sha256:aaaa', 'sha256:bbbb', 52428800, 9, 1740823200000000001,
              61500000000, '1111111111111111111111111111111111111111', 'main', 0, 'succeeded',
              NULL, 'runtime', 'linux/amd64', 'Dockerfile', '.'),
             (102, 'v1-worker', NULL, NULL, NULL, NULL, 1740823260000000000, 2000000000, NULL, NULL,
              1, 'failed', 'RUN npm ci exited with 1', NULL, NULL, 'worker/Dockerfile', 'v1-worker'),
             (103, 'v1-api', NULL, NULL, NULL, NULL, 1740823320000000000, 0,
              '2222222222222222222222222222222222222222', NULL, 1, 'cancelled', NULL, NULL, NULL,
              'Dockerfile', '.');
         INSERT INTO build_tags (build_id, position, tag)
             VALUES (101, 0, 'v2.0.0'), (101, 1, 'main'), (101, 2, '1111111');
         INSERT INTO build_logs (build_id, log)
             VALUES (101, 'Step 1/9 : FROM node:22'), (102, 'npm ERR! missing lockfile'), (103, '');",
    )
}

fn check_v1(store: &SqliteStore) {
    let succeeded = Build {
        id: BuildId::new(101),
        record: NewBuild {
            service: "v1-api".to_owned(),
            image_id: Some("sha256:aaaa".to_owned()),
            digest: Some("sha256:bbbb".to_owned()),
            tags: vec!["v2.0.0".to_owned(), "main".to_owned(), "1111111".to_owned()],
            size_bytes: Some(52_428_800),
            layer_count: Some(9),
            started_at: "2025-03-01T10:00:00.000000001Z".parse().unwrap(),
            duration: Duration::from_millis(61_500),
            git: GitSnapshot {
                commit: Some("1".repeat(40)),
                branch: Some("main".to_owned()),
                dirty: false,
            },
            outcome: BuildOutcome::Succeeded,
            log: "Step 1/9 : FROM node:22".to_owned(),
            target: Some("runtime".to_owned()),
            platform: Some("linux/amd64".to_owned()),
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
        },
    };
    let failed = Build {
        id: BuildId::new(102),
        record: NewBuild {
            service: "v1-worker".to_owned(),
            image_id: None,
            digest: None,
            tags: vec![],
            size_bytes: None,
            layer_count: None,
            started_at: "2025-03-01T10:01:00Z".parse().unwrap(),
            duration: Duration::from_secs(2),
            git: GitSnapshot {
                commit: None,
                branch: None,
                dirty: true,
            },
            outcome: BuildOutcome::Failed {
                reason: "RUN npm ci exited with 1".to_owned(),
            },
            log: "npm ERR! missing lockfile".to_owned(),
            target: None,
            platform: None,
            dockerfile: "worker/Dockerfile".to_owned(),
            context: "v1-worker".to_owned(),
        },
    };
    let cancelled = Build {
        id: BuildId::new(103),
        record: NewBuild {
            service: "v1-api".to_owned(),
            image_id: None,
            digest: None,
            tags: vec![],
            size_bytes: None,
            layer_count: None,
            started_at: "2025-03-01T10:02:00Z".parse().unwrap(),
            duration: Duration::ZERO,
            git: GitSnapshot {
                commit: Some("2".repeat(40)),
                branch: None,
                dirty: true,
            },
            outcome: BuildOutcome::Cancelled,
            log: String::new(),
            target: None,
            platform: None,
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
        },
    };

    for build in [&succeeded, &failed, &cancelled] {
        assert_eq!(store.build(build.id).unwrap().as_ref(), Some(build));
    }
    let api = BuildQuery {
        service: Some("v1-api".to_owned()),
        ..BuildQuery::default()
    };
    assert_eq!(
        store.builds(&api).unwrap(),
        vec![cancelled, succeeded.clone()]
    );
    let api_successes = BuildQuery {
        status: Some(BuildStatus::Succeeded),
        ..api
    };
    assert_eq!(store.builds(&api_successes).unwrap(), vec![succeeded]);
    let worker = BuildQuery {
        service: Some("v1-worker".to_owned()),
        ..BuildQuery::default()
    };
    assert_eq!(store.builds(&worker).unwrap(), vec![failed]);
}
