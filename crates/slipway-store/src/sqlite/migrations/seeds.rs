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

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::Connection;

use crate::{
    Annotation, AnnotationLevel, Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildStore,
    Conclusion, GitSnapshot, JobCounts, JobRecord, NewBuild, NewRun, Run, RunId, RunQuery,
    RunStore, SqliteStore, StepRecord,
};
use crate::{
    Artifact, DeployEventQuery, NewRelease, NewStep, Release, ReleaseId, ReleaseOutcome,
    ReleaseQuery, ReleaseStatus, ReleaseStore, Revision, ServiceState,
};
use crate::{
    AuditCheck, AuditStore, Cursor, DeliveryOutcome, DeliveryStore, NewDelivery, PageRequest,
};
use crate::{
    NewRegistryEvent, RegistryEvent, RegistryEventId, RegistryEventKind, RegistryEventQuery,
    RegistryEventStore,
};
use crate::{NewScan, ScanGate, ScanId, ScanQuery, ScanStore, ScanVerdict, SeverityCounts};
use crate::{ProjectStore, QueueStore, QueuedRunId, Role, RunStatus, TokenStore};

/// The rows of one schema version.
pub(super) struct Seed {
    /// The version whose schema `insert` writes to.
    pub(super) version: u32,
    pub(super) insert: fn(&Connection) -> rusqlite::Result<()>,
    pub(super) check: fn(&SqliteStore),
}

/// One seed per migration, in order.
pub(super) const SEEDS: &[Seed] = &[
    Seed {
        version: 1,
        insert: insert_v1,
        check: check_v1,
    },
    Seed {
        version: 2,
        insert: insert_v2,
        check: check_v2,
    },
    Seed {
        version: 3,
        insert: insert_v3,
        check: check_v3,
    },
    Seed {
        version: 4,
        insert: insert_v4,
        check: check_v4,
    },
    Seed {
        version: 5,
        insert: insert_v5,
        check: check_v5,
    },
    Seed {
        version: 6,
        insert: insert_v6,
        check: check_v6,
    },
    Seed {
        version: 7,
        insert: insert_v7,
        check: check_v7,
    },
    Seed {
        version: 8,
        insert: insert_v8,
        check: check_v8,
    },
    Seed {
        version: 9,
        insert: insert_v9,
        check: check_v9,
    },
    Seed {
        version: 10,
        insert: insert_v10,
        check: check_v10,
    },
];

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
        vec![cancelled.summary(), succeeded.clone().summary()]
    );
    let api_successes = BuildQuery {
        status: Some(BuildStatus::Succeeded),
        ..api
    };
    assert_eq!(
        store.builds(&api_successes).unwrap(),
        vec![succeeded.summary()]
    );
    let worker = BuildQuery {
        service: Some("v1-worker".to_owned()),
        ..BuildQuery::default()
    };
    assert_eq!(store.builds(&worker).unwrap(), vec![failed.summary()]);
}

/// Schema 2: a failed push run with a job of two steps (outputs, an annotation, a skipped step),
/// and a cancelled dispatch run whose only job never started.
fn insert_v2(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO runs (id, workflow, name, run_number, event, git_commit, git_branch, git_dirty,
             git_ref, started_at_ns, duration_ns, conclusion)
         VALUES
             (201, 'v2/ci.yml', 'CI', 3, 'push', '3333333333333333333333333333333333333333', 'main',
              0, 'refs/heads/main', 1740823200000000000, 4000000000, 'failure'),
             (202, 'v2/deploy.yml', 'Deploy', 1, 'workflow_dispatch', NULL, NULL, 1, NULL,
              1740823300000000000, 1000000, 'cancelled');
         INSERT INTO run_jobs (run_id, position, job_id, name, matrix, runs_on, conclusion,
             started_at_ns, duration_ns, environment, environment_url, log)
         VALUES
             (201, 0, 'test', 'test (18)', '{\"node\":18}', 'host', 'failure', 1740823200500000000,
              3000000000, 'staging', 'https://staging.example.com', 'set up job'),
             (202, 0, 'deploy', 'deploy', NULL, '-', 'cancelled', NULL, 0, NULL, NULL, '');
         INSERT INTO run_job_outputs (run_id, job_position, name, value)
             VALUES (201, 0, 'version', '1.2.3');
         INSERT INTO run_steps (run_id, job_position, position, name, step_id, outcome, conclusion,
             exit_code, started_at_ns, duration_ns, log, summary)
         VALUES
             (201, 0, 0, 'Run make test', 'test', 'failure', 'failure', 2, 1740823200600000000,
              2000000000, 'make: *** [test] Error 2', '## Tests'),
             (201, 0, 1, 'deploy', NULL, 'skipped', 'skipped', NULL, NULL, 0, '', '');
         INSERT INTO run_step_outputs (run_id, job_position, step_position, name, value)
             VALUES (201, 0, 0, 'coverage', '81%');
         INSERT INTO run_annotations (run_id, job_position, step_position, position, level, message,
             title, file, line, end_line, col, end_col)
             VALUES (201, 0, 0, 0, 'error', 'tests failed', NULL, 'src/lib.rs', 3, NULL, 7, NULL);",
    )
}

fn check_v2(store: &SqliteStore) {
    let failed = Run {
        id: RunId::new(201),
        record: NewRun {
            workflow: "v2/ci.yml".to_owned(),
            name: "CI".to_owned(),
            run_number: 3,
            event: "push".to_owned(),
            git: GitSnapshot {
                commit: Some("3".repeat(40)),
                branch: Some("main".to_owned()),
                dirty: false,
            },
            git_ref: Some("refs/heads/main".to_owned()),
            started_at: "2025-03-01T10:00:00Z".parse().unwrap(),
            duration: Duration::from_secs(4),
            conclusion: Conclusion::Failure,
            jobs: vec![JobRecord {
                job_id: "test".to_owned(),
                name: "test (18)".to_owned(),
                matrix: Some(r#"{"node":18}"#.to_owned()),
                runs_on: "host".to_owned(),
                conclusion: Conclusion::Failure,
                started_at: Some("2025-03-01T10:00:00.5Z".parse().unwrap()),
                duration: Duration::from_secs(3),
                environment: Some("staging".to_owned()),
                environment_url: Some("https://staging.example.com".to_owned()),
                outputs: BTreeMap::from([("version".to_owned(), "1.2.3".to_owned())]),
                log: "set up job".to_owned(),
                steps: vec![
                    StepRecord {
                        name: "Run make test".to_owned(),
                        step_id: Some("test".to_owned()),
                        outcome: Conclusion::Failure,
                        conclusion: Conclusion::Failure,
                        exit_code: Some(2),
                        started_at: Some("2025-03-01T10:00:00.6Z".parse().unwrap()),
                        duration: Duration::from_secs(2),
                        outputs: BTreeMap::from([("coverage".to_owned(), "81%".to_owned())]),
                        log: "make: *** [test] Error 2".to_owned(),
                        summary: "## Tests".to_owned(),
                        annotations: vec![Annotation {
                            level: AnnotationLevel::Error,
                            message: "tests failed".to_owned(),
                            title: None,
                            file: Some("src/lib.rs".to_owned()),
                            line: Some(3),
                            end_line: None,
                            column: Some(7),
                            end_column: None,
                        }],
                    },
                    StepRecord {
                        name: "deploy".to_owned(),
                        step_id: None,
                        outcome: Conclusion::Skipped,
                        conclusion: Conclusion::Skipped,
                        exit_code: None,
                        started_at: None,
                        duration: Duration::ZERO,
                        outputs: BTreeMap::new(),
                        log: String::new(),
                        summary: String::new(),
                        annotations: vec![],
                    },
                ],
            }],
        },
    };
    assert_eq!(store.run(failed.id).unwrap().as_ref(), Some(&failed));

    let dispatch = RunQuery {
        workflow: Some("v2/deploy.yml".to_owned()),
        ..RunQuery::default()
    };
    let listed = store.runs(&dispatch).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, RunId::new(202));
    assert_eq!(listed[0].conclusion, Conclusion::Cancelled);
    assert_eq!(listed[0].git.commit, None);
    assert_eq!(
        listed[0].jobs,
        JobCounts {
            cancelled: 1,
            ..JobCounts::default()
        }
    );
    assert_eq!(store.latest_run_number("v2/ci.yml").unwrap(), Some(3));
}

/// Schema 3: a registry push with a tag, and a garbage collection with no repository.
fn insert_v3(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO registry_events (id, at_ns, kind, repository, tag, digest, detail)
         VALUES
             (301, 1740823200000000000, 'push', 'v3/web', 'v1.0.0',
              'sha256:3333333333333333333333333333333333333333333333333333333333333333', 'manifest'),
             (302, 1740823260000000000, 'gc', NULL, NULL, NULL, 'removed 2 blobs (10 bytes)');",
    )
}

fn check_v3(store: &SqliteStore) {
    let pushes = store
        .registry_events(&RegistryEventQuery {
            repository: Some("v3/web".to_owned()),
            ..RegistryEventQuery::default()
        })
        .unwrap();
    assert_eq!(
        pushes,
        [RegistryEvent {
            id: RegistryEventId::new(301),
            record: NewRegistryEvent {
                at: "2025-03-01T10:00:00Z".parse().unwrap(),
                kind: RegistryEventKind::Push,
                repository: Some("v3/web".to_owned()),
                tag: Some("v1.0.0".to_owned()),
                digest: Some(format!("sha256:{}", "3".repeat(64))),
                detail: "manifest".to_owned(),
            },
        }]
    );
    let collections = store
        .registry_events(&RegistryEventQuery {
            kind: Some(RegistryEventKind::Gc),
            ..RegistryEventQuery::default()
        })
        .unwrap();
    assert_eq!(collections.len(), 1);
    assert_eq!(collections[0].record.detail, "removed 2 blobs (10 bytes)");
}

/// Schema 4: a succeeded image release serving with a warm previous one (a failed command
/// release), the state pointing at them, and an event.
fn insert_v4(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO releases (id, environment, service, runtime, artifact_kind, artifact,
             artifact_digest, working_dir, config_hash, spec, strategy, created_by, reason,
             created_at_ns, restores, controller_pid, phase, outcome, outcome_reason, finished_at_ns)
         VALUES
             (401, 'v4-env', 'v4-api', 'process', 'command', 'node src/server.js', 'sha256:aaaa',
              '/srv/api', 'sha256:c1', '{}', 'blue-green', 'alice', NULL, 1740823200000000000,
              NULL, NULL, '{\"phase\":\"failed\"}', 'failed', 'never healthy', 1740823260000000000),
             (402, 'v4-env', 'v4-api', 'container', 'image', 'api:2', 'sha256:bbbb', NULL,
              'sha256:c2', '{}', 'canary', 'bob', 'new checkout', 1740823300000000000, 401, 77,
              '{\"phase\":\"done\"}', 'succeeded', NULL, 1740823360000000000);
         INSERT INTO release_steps (release_id, position, at_ns, name, detail)
             VALUES (401, 0, 1740823200000000000, 'begun', 'deploy asked for'),
                    (402, 0, 1740823300000000000, 'begun', 'deploy asked for'),
                    (402, 1, 1740823360000000000, 'switched', 'all traffic on #402');
         INSERT INTO service_states (environment, service, current_release, previous,
             warm_until_ns, replicas, updated_at_ns)
             VALUES ('v4-env', 'v4-api', 402, 401, 1740823960000000000, 2, 1740823360000000000);
         INSERT INTO deploy_events (id, at_ns, environment, service, kind, message, actor)
             VALUES (401, 1740823400000000000, 'v4-env', 'v4-api', 'scale', '2 -> 3', 'alice');",
    )
}

fn check_v4(store: &SqliteStore) {
    let at = |text: &str| -> jiff::Timestamp { text.parse().unwrap() };
    let succeeded = Release {
        id: ReleaseId::new(402),
        record: NewRelease {
            environment: "v4-env".to_owned(),
            service: "v4-api".to_owned(),
            runtime: "container".to_owned(),
            artifact: Artifact::Image {
                reference: "api:2".to_owned(),
                digest: "sha256:bbbb".to_owned(),
            },
            revision: None,
            config_hash: "sha256:c2".to_owned(),
            spec: "{}".to_owned(),
            strategy: "canary".to_owned(),
            created_by: "bob".to_owned(),
            reason: Some("new checkout".to_owned()),
            created_at: at("2025-03-01T10:01:40Z"),
            restores: Some(ReleaseId::new(401)),
            controller: Some(77),
            phase: "{\"phase\":\"done\"}".to_owned(),
        },
        outcome: Some(ReleaseOutcome::Succeeded),
        finished_at: Some(at("2025-03-01T10:02:40Z")),
        steps: vec![
            NewStep {
                at: at("2025-03-01T10:01:40Z"),
                name: "begun".to_owned(),
                detail: "deploy asked for".to_owned(),
            },
            NewStep {
                at: at("2025-03-01T10:02:40Z"),
                name: "switched".to_owned(),
                detail: "all traffic on #402".to_owned(),
            },
        ],
    };
    assert_eq!(store.release(ReleaseId::new(402)).unwrap(), Some(succeeded));
    let failed = store.release(ReleaseId::new(401)).unwrap().unwrap();
    assert_eq!(
        failed.record.artifact,
        Artifact::Command {
            command: "node src/server.js".to_owned(),
            working_dir: "/srv/api".to_owned(),
            hash: "sha256:aaaa".to_owned(),
        }
    );
    assert_eq!(
        failed.outcome,
        Some(ReleaseOutcome::Failed {
            reason: "never healthy".to_owned()
        })
    );
    let query = ReleaseQuery {
        service: Some("v4-api".to_owned()),
        status: Some(ReleaseStatus::Failed),
        ..ReleaseQuery::default()
    };
    assert_eq!(store.releases(&query).unwrap(), vec![failed]);
    assert_eq!(
        store.service_state("v4-env", "v4-api").unwrap(),
        Some(ServiceState {
            environment: "v4-env".to_owned(),
            service: "v4-api".to_owned(),
            current: ReleaseId::new(402),
            previous: Some(ReleaseId::new(401)),
            warm_until: Some(at("2025-03-01T10:12:40Z")),
            replicas: 2,
            updated_at: at("2025-03-01T10:02:40Z"),
        })
    );
    let events = store
        .deploy_events(&DeployEventQuery {
            service: Some("v4-api".to_owned()),
            ..DeployEventQuery::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].record.kind.as_str(),
            events[0].record.actor.as_str()
        ),
        ("scale", "alice")
    );
}

/// Schema 5: a failed scan with two reasons and a passed rescan of the same image, and a scan
/// known only by its image id.
fn insert_v5(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO scans (id, digest, image_id, reference, scanned_at_ns, passed, critical, high,
             medium, low, unknown)
         VALUES
             (501, 'sha256:v5m', 'sha256:v5c', 'v5-app:1', 1740823200000000000, 0, 1, 2, 0, 3, 0),
             (502, 'sha256:v5m', 'sha256:v5c', 'v5-app:1', 1740823260000000000, 1, 0, 0, 0, 3, 0),
             (503, 'sha256:v5solo', NULL, 'v5-solo.tar', 1740823320000000000, 1, 0, 0, 0, 0, 0);
         INSERT INTO scan_reasons (scan_id, position, reason)
             VALUES (501, 0, '1 finding at critical or above'), (501, 1, 'policy p.rego: no root');
         INSERT INTO scan_reports (scan_id, report)
             VALUES (501, '{\"v\":1}'), (502, '{\"v\":2}'), (503, '{}');",
    )
}

fn check_v5(store: &SqliteStore) {
    let failed = store.scan(ScanId::new(501)).unwrap().unwrap();
    assert_eq!(
        failed.record,
        NewScan {
            digest: "sha256:v5m".to_owned(),
            image_id: Some("sha256:v5c".to_owned()),
            reference: "v5-app:1".to_owned(),
            scanned_at: "2025-03-01T10:00:00Z".parse().unwrap(),
            verdict: ScanVerdict::Failed {
                reasons: vec![
                    "1 finding at critical or above".to_owned(),
                    "policy p.rego: no root".to_owned()
                ],
            },
            // Schema 5 did not keep the gate: such a scan satisfies no policy.
            judged_with: None,
            counts: SeverityCounts {
                critical: 1,
                high: 2,
                medium: 0,
                low: 3,
                unknown: 0
            },
            report: "{\"v\":1}".to_owned(),
        }
    );
    let latest = store.latest_scan("sha256:v5c").unwrap().unwrap();
    assert_eq!(
        (latest.id, latest.record.verdict.passed()),
        (ScanId::new(502), true)
    );
    assert_eq!(
        store.latest_scan("sha256:v5solo").unwrap().unwrap().id,
        ScanId::new(503)
    );
    let query = ScanQuery {
        digest: Some("sha256:v5m".to_owned()),
        limit: None,
    };
    assert_eq!(store.scans(&query).unwrap().len(), 2);
}

/// Schema 6: a scan that was not checked (its reason kept), one that passed under a threshold,
/// and one judged without a threshold.
fn insert_v6(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO scans (id, digest, image_id, reference, scanned_at_ns, passed, outcome,
             fail_on, max_advisory_age_s, critical, high, medium, low, unknown)
         VALUES
             (601, 'sha256:v6m', NULL, 'v6-app:1', 1740823200000000000, 0, 'not_checked',
              'high', 604800, 0, 0, 0, 0, 0),
             (602, 'sha256:v6m', NULL, 'v6-app:1', 1740823260000000000, 1, 'passed',
              'critical', 86400, 0, 0, 1, 0, 0),
             (603, 'sha256:v6bare', NULL, 'v6-bare:1', 1740823320000000000, 1, 'passed',
              NULL, 604800, 0, 0, 0, 0, 0);
         INSERT INTO scan_reasons (scan_id, position, reason)
             VALUES (601, 0, 'the advisory database holds nothing about Debian:12');
         INSERT INTO scan_reports (scan_id, report)
             VALUES (601, '{}'), (602, '{}'), (603, '{}');",
    )
}

fn check_v6(store: &SqliteStore) {
    let not_checked = store.scan(ScanId::new(601)).unwrap().unwrap();
    assert_eq!(
        not_checked.record.verdict,
        ScanVerdict::NotChecked {
            reasons: vec!["the advisory database holds nothing about Debian:12".to_owned()]
        }
    );
    assert_eq!(
        not_checked.record.judged_with,
        Some(ScanGate {
            fail_on: Some("high".to_owned()),
            max_advisory_age_s: 604_800
        })
    );
    let latest = store.latest_scan("sha256:v6m").unwrap().unwrap();
    assert_eq!(
        (latest.id, latest.record.verdict.passed()),
        (ScanId::new(602), true)
    );
    assert_eq!(
        latest.record.judged_with.and_then(|gate| gate.fail_on),
        Some("critical".to_owned())
    );
    let bare = store.latest_scan("sha256:v6bare").unwrap().unwrap();
    assert_eq!(
        bare.record.judged_with,
        Some(ScanGate {
            fail_on: None,
            max_advisory_age_s: 604_800
        })
    );
}

/// Schema 7: a release from a dirty tree on a branch, and one from a commit with no known ref.
fn insert_v7(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO releases (id, environment, service, runtime, artifact_kind, artifact,
             artifact_digest, working_dir, config_hash, spec, strategy, created_by, reason,
             created_at_ns, restores, controller_pid, phase, outcome, outcome_reason, finished_at_ns,
             git_commit, git_ref, git_dirty)
         VALUES
             (701, 'v7-env', 'v7-api', 'process', 'command', 'node app.js', 'sha256:7a',
              '/srv/v7', 'sha256:c7', '{}', 'blue-green', 'carol', NULL, 1740823200000000000,
              NULL, NULL, '{}', 'succeeded', NULL, 1740823260000000000,
              '6666666666666666666666666666666666666666', 'main', 1),
             (702, 'v7-env', 'v7-api', 'container', 'image', 'api:7', 'sha256:7b', NULL,
              'sha256:c7', '{}', 'blue-green', 'carol', NULL, 1740823300000000000, NULL, 9,
              '{}', NULL, NULL, NULL, '7777777777777777777777777777777777777777', NULL, 0);",
    )
}

fn check_v7(store: &SqliteStore) {
    let dirty = store.release(ReleaseId::new(701)).unwrap().unwrap();
    assert_eq!(
        dirty.record.revision,
        Some(Revision {
            commit: "6".repeat(40),
            git_ref: Some("main".to_owned()),
            dirty: true,
        })
    );
    let detached = store.release(ReleaseId::new(702)).unwrap().unwrap();
    assert_eq!(
        detached.record.revision,
        Some(Revision {
            commit: "7".repeat(40),
            git_ref: None,
            dirty: false,
        })
    );
    assert_eq!(detached.status(), ReleaseStatus::InProgress);
}

/// Schema 8: a project, a revoked token, and a completed queued run linked to a workflow run.
fn insert_v8(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO projects (name, repository, default_branch, webhook_secret_file,
             poll_interval_ns, created_at_ns)
         VALUES ('v8-web', '/srv/git/web.git', 'main', '/etc/slipway/web.secret', 60000000000,
             1740823200000000000);
         INSERT INTO tokens (id, name, role, hash, created_at_ns, revoked_at_ns, last_used_at_ns)
         VALUES (801, 'v8-ci', 'developer', zeroblob(32), 1740823200000000000,
             1740823300000000000, NULL);
         INSERT INTO runs (id, workflow, name, run_number, event, git_commit, git_branch,
             git_dirty, git_ref, started_at_ns, duration_ns, conclusion)
         VALUES (801, '.github/workflows/v8.yml', 'v8', 1, 'workflow_dispatch', NULL, NULL, 0,
             'refs/heads/main', 1740823210000000000, 1000000000, 'success');
         INSERT INTO run_queue (id, project, workflow, event, git_ref, sha, actor, inputs,
             status, conclusion, queued_at_ns, started_at_ns, finished_at_ns, detail, rerun_of)
         VALUES (801, 'v8-web', '.github/workflows/v8.yml', 'workflow_dispatch',
             'refs/heads/main', NULL, 'v8-ci', '{\"level\":\"debug\"}', 'completed', 'success',
             1740823200000000000, 1740823210000000000, 1740823220000000000, NULL, NULL);
         INSERT INTO queued_run_records (queued_id, run_id) VALUES (801, 801);",
    )
}

fn check_v8(store: &SqliteStore) {
    let project = store.project("v8-web").unwrap().unwrap();
    assert_eq!(project.repository, "/srv/git/web.git");
    assert_eq!(project.poll_interval, Some(Duration::from_secs(60)));
    let token = store
        .tokens()
        .unwrap()
        .into_iter()
        .find(|token| token.name == "v8-ci")
        .unwrap();
    assert_eq!(token.role, Role::Developer);
    assert!(token.revoked_at.is_some());
    let run = store.queued_run(QueuedRunId::new(801)).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.conclusion, Some(Conclusion::Success));
    assert_eq!(run.trigger.inputs["level"], "debug");
    assert_eq!(run.runs, vec![RunId::new(801)]);
}

/// Schema 9: an accepted and a refused delivery, and a two-entry audit chain whose hashes a
/// slipway of that version computed.
fn insert_v9(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO deliveries (id, provider, delivery_id, event, received_at_ns, remote_addr,
             body_bytes, outcome, reason)
         VALUES
             (901, 'github', 'v9-a', 'push', 1740823200000000000, '203.0.113.9', 7100,
              'accepted', NULL),
             (902, 'gitlab', 'v9-b', 'Push Hook', 1740823260000000000, NULL, 12,
              'refused', 'bad signature');",
    )?;
    // Hashes computed outside Rust (Python's hashlib over the documented encoding), so the
    // check below also proves the encoding never changes.
    let first_hash = "4e86f1a70b6a4f9b966b09c70448df15b67118f9405a097c9a2d9ab462d8a141";
    let second_hash = "ad3b286ada78a7fc27448d4ef62f7b3e1533bfbead43539df1b8406203f89edf";
    connection.execute(
        "INSERT INTO audit_entries (id, at_ns, actor, action, target, detail, remote_addr,
             prev_hash, hash)
         VALUES (1, 1740823200000000000, 'admin', 'project.add', 'v9-shop', '', '192.0.2.1',
                 ?1, ?2),
                (2, 1740823200000000000, 'admin', 'token.create', 'v9-shop', '', '192.0.2.1',
                 ?2, ?3)",
        (crate::GENESIS_HASH, first_hash, second_hash),
    )?;
    Ok(())
}

fn check_v9(store: &SqliteStore) {
    let page = store
        .deliveries(&PageRequest {
            after: Some(Cursor::new(903)),
            limit: 2,
        })
        .unwrap();
    let [refused, accepted] = page.items.as_slice() else {
        panic!("{page:?}")
    };
    assert_eq!(
        accepted.record,
        NewDelivery {
            provider: "github".to_owned(),
            delivery_id: "v9-a".to_owned(),
            event: "push".to_owned(),
            received_at: "2025-03-01T10:00:00Z".parse().unwrap(),
            remote_addr: Some("203.0.113.9".to_owned()),
            body_bytes: 7100,
            outcome: DeliveryOutcome::Accepted,
        }
    );
    assert_eq!(
        refused.record.outcome,
        DeliveryOutcome::Refused("bad signature".to_owned())
    );
    assert!(matches!(
        store.verify_audit().unwrap(),
        AuditCheck::Intact { entries: 2, .. }
    ));
}

/// Schema 10: a queued pull-request run from a fork, with its payload.
fn insert_v10(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "INSERT INTO run_queue (id, project, workflow, event, git_ref, sha, actor, inputs,
             status, conclusion, queued_at_ns, started_at_ns, finished_at_ns, detail, rerun_of,
             payload, withhold_secrets)
         VALUES (1001, 'v10-web', NULL, 'pull_request', 'refs/pull/7/merge', 'abc123',
             'octocat', '{}', 'queued', NULL, 1740823200000000000, NULL, NULL, NULL, NULL,
             '{\"action\":\"opened\",\"number\":7}', 1);",
    )
}

fn check_v10(store: &SqliteStore) {
    let run = store.queued_run(QueuedRunId::new(1001)).unwrap().unwrap();
    assert_eq!(run.trigger.event, "pull_request");
    assert_eq!(
        run.trigger.payload,
        Some(serde_json::json!({ "action": "opened", "number": 7 }))
    );
    assert!(run.trigger.withhold_secrets);
}
