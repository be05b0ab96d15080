//! The control plane's domains: projects, tokens and the run queue.

use std::collections::BTreeMap;

use slipway_store::{
    ClaimLimits, Conclusion, NewToken, OnRestart, Project, ProjectStore, QueueQuery, QueueStore,
    Role, RunStatus, SqliteStore, StoreError, TokenStore, Trigger,
};

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

fn project(name: &str) -> Project {
    Project {
        name: name.to_owned(),
        repository: format!("/srv/git/{name}.git"),
        default_branch: "main".to_owned(),
        webhook_secret_file: None,
        poll_interval: None,
        created_at: at(0),
    }
}

fn trigger(project: &str) -> Trigger {
    Trigger {
        project: project.to_owned(),
        workflow: Some(".github/workflows/ci.yml".to_owned()),
        event: "workflow_dispatch".to_owned(),
        git_ref: "refs/heads/main".to_owned(),
        sha: None,
        actor: "alice".to_owned(),
        inputs: BTreeMap::from([("level".to_owned(), "debug".to_owned())]),
        rerun_of: None,
        payload: None,
        withhold_secrets: false,
    }
}

const LIMITS: ClaimLimits = ClaimLimits {
    global: 2,
    per_project: 1,
};

#[test]
fn a_project_name_is_unique_and_a_removed_project_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.add_project(&project("web")).unwrap();

    let error = store.add_project(&project("web")).unwrap_err();

    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "project", name } if name == "web"),
        "{error:?}"
    );
    assert_eq!(store.projects().unwrap(), vec![project("web")]);
    assert!(store.remove_project("web").unwrap());
    assert!(!store.remove_project("web").unwrap());
    assert_eq!(store.project("web").unwrap(), None);
}

#[test]
fn a_token_is_found_by_its_hash_until_it_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let new = NewToken {
        name: "ci".to_owned(),
        role: Role::Developer,
        hash: [7; 32],
        created_at: at(0),
    };
    store.add_token(&new).unwrap();
    assert!(matches!(
        store.add_token(&NewToken {
            hash: [8; 32],
            ..new.clone()
        }),
        Err(StoreError::AlreadyExists { kind: "token", .. })
    ));

    let used = store.use_token(&[7; 32], at(5)).unwrap().unwrap();
    assert_eq!((used.name.as_str(), used.role), ("ci", Role::Developer));
    assert_eq!(used.last_used_at, Some(at(5)));
    assert_eq!(store.use_token(&[9; 32], at(5)).unwrap(), None);

    assert!(store.revoke_token("ci", at(6)).unwrap());
    assert_eq!(store.use_token(&[7; 32], at(7)).unwrap(), None);
    assert_eq!(store.tokens().unwrap()[0].revoked_at, Some(at(6)));
}

#[test]
fn claims_take_the_oldest_run_within_the_global_and_per_project_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let web1 = store.enqueue_run(&trigger("web"), at(1)).unwrap();
    let web2 = store.enqueue_run(&trigger("web"), at(2)).unwrap();
    let api = store.enqueue_run(&trigger("api"), at(3)).unwrap();
    let docs = store.enqueue_run(&trigger("docs"), at(4)).unwrap();

    let first = store.claim_run(LIMITS, at(10)).unwrap().unwrap();
    let second = store.claim_run(LIMITS, at(11)).unwrap().unwrap();
    let third = store.claim_run(LIMITS, at(12)).unwrap();

    // web2 waits for web1 (per project), docs for a free slot (global).
    assert_eq!((first.id, second.id, third), (web1, api, None));
    assert_eq!(first.status, RunStatus::InProgress);
    assert_eq!(first.started_at, Some(at(10)));
    assert_eq!(first.trigger, trigger("web"));

    assert!(
        store
            .complete_run(web1, Conclusion::Success, None, at(20))
            .unwrap()
    );
    assert!(
        !store
            .complete_run(web1, Conclusion::Failure, None, at(21))
            .unwrap()
    );
    assert_eq!(store.claim_run(LIMITS, at(22)).unwrap().unwrap().id, web2);
    assert!(store.claim_run(LIMITS, at(23)).unwrap().is_none());
    let counts = store.queue_counts().unwrap();
    assert_eq!(
        (counts.queued, counts.in_progress, counts.success),
        (1, 2, 1)
    );
    assert!(
        !store.cancel_queued(web2, at(24)).unwrap(),
        "in progress: only its worker stops it"
    );
    assert!(store.cancel_queued(docs, at(24)).unwrap());
    let cancelled = store.queued_run(docs).unwrap().unwrap();
    assert_eq!(cancelled.conclusion, Some(Conclusion::Cancelled));
}

#[test]
fn a_webhook_payload_and_the_no_secrets_flag_are_kept_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let payload = serde_json::json!({
        "action": "opened",
        "pull_request": { "head": { "repo": { "fork": true } } },
    });
    let from_fork = Trigger {
        event: "pull_request".to_owned(),
        payload: Some(payload.clone()),
        withhold_secrets: true,
        ..trigger("web")
    };
    let queued = store.enqueue_run(&from_fork, at(1)).unwrap();
    let dispatched = store.enqueue_run(&trigger("web"), at(2)).unwrap();

    let read = store.queued_run(queued).unwrap().unwrap();
    assert_eq!(read.trigger.payload, Some(payload));
    assert!(read.trigger.withhold_secrets);
    let read = store.queued_run(dispatched).unwrap().unwrap();
    assert_eq!(read.trigger.payload, None);
    assert!(!read.trigger.withhold_secrets);
}

#[test]
fn concurrent_claims_never_take_one_run_twice_nor_break_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(dir.path()).unwrap());
    for n in 0..20 {
        store
            .enqueue_run(&trigger(&format!("p{}", n % 5)), at(n))
            .unwrap();
    }
    let limits = ClaimLimits {
        global: 3,
        per_project: 1,
    };

    let claimed: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| store.claim_run(limits, at(100)).unwrap()))
            .collect();
        workers
            .into_iter()
            .filter_map(|worker| worker.join().unwrap())
            .collect()
    });

    assert_eq!(claimed.len(), 3);
    let mut projects: Vec<_> = claimed
        .iter()
        .map(|run| run.trigger.project.clone())
        .collect();
    projects.sort();
    projects.dedup();
    assert_eq!(projects.len(), 3, "{projects:?}");
}

#[test]
fn listings_page_newest_first_by_cursor_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let ids: Vec<_> = (0..5)
        .map(|n| {
            store
                .enqueue_run(&trigger(if n % 2 == 0 { "web" } else { "api" }), at(n))
                .unwrap()
        })
        .collect();

    let page = |before, project: Option<&str>| {
        store
            .queued_runs(&QueueQuery {
                project: project.map(str::to_owned),
                before,
                limit: Some(2),
                ..QueueQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|run| run.id)
            .collect::<Vec<_>>()
    };

    assert_eq!(page(None, None), vec![ids[4], ids[3]]);
    assert_eq!(page(Some(ids[3]), None), vec![ids[2], ids[1]]);
    assert_eq!(page(Some(ids[1]), None), vec![ids[0]]);
    assert_eq!(page(None, Some("web")), vec![ids[4], ids[2]]);
}

#[test]
fn runs_a_dead_server_left_in_progress_are_requeued_or_failed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let running = store.enqueue_run(&trigger("web"), at(1)).unwrap();
    let waiting = store.enqueue_run(&trigger("web"), at(2)).unwrap();
    store.claim_run(LIMITS, at(3)).unwrap();

    assert_eq!(
        store
            .recover_interrupted(OnRestart::Requeue, at(4))
            .unwrap(),
        vec![running]
    );
    let requeued = store.queued_run(running).unwrap().unwrap();
    assert_eq!(
        (requeued.status, requeued.started_at),
        (RunStatus::Queued, None)
    );
    assert!(requeued.detail.unwrap().contains("interrupted"));

    store.claim_run(LIMITS, at(5)).unwrap();
    assert_eq!(
        store.recover_interrupted(OnRestart::Fail, at(6)).unwrap(),
        vec![running]
    );
    let failed = store.queued_run(running).unwrap().unwrap();
    assert_eq!(failed.conclusion, Some(Conclusion::Failure));
    assert_eq!(
        store.queued_run(waiting).unwrap().unwrap().status,
        RunStatus::Queued
    );
}
