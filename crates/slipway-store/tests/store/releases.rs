//! Releases, service states and deploy events through the public API.

use slipway_store::{
    Artifact, Begun, DeployEventQuery, NewDeployEvent, NewRelease, NewStep, ReleaseId,
    ReleaseOutcome, ReleaseQuery, ReleaseStatus, ReleaseStore, ReleaseUpdate, Revision,
    ServiceState, SqliteStore, StoreError,
};

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_740_823_200 + seconds).unwrap()
}

fn release(environment: &str, service: &str, created: i64) -> NewRelease {
    NewRelease {
        environment: environment.to_owned(),
        service: service.to_owned(),
        runtime: "container".to_owned(),
        artifact: Artifact::Image {
            reference: "hello:1.4.0".to_owned(),
            digest: "sha256:1234".to_owned(),
        },
        revision: Some(Revision {
            commit: "c0ffee".repeat(6) + "c0ff",
            git_ref: Some("main".to_owned()),
            dirty: false,
        }),
        config_hash: "sha256:cfg".to_owned(),
        spec: "{\"replicas\":2}".to_owned(),
        strategy: "blue-green".to_owned(),
        created_by: "alice".to_owned(),
        reason: None,
        created_at: at(created),
        restores: None,
        controller: Some(4242),
        phase: "start".to_owned(),
    }
}

fn step(seconds: i64, name: &str) -> NewStep {
    NewStep {
        at: at(seconds),
        name: name.to_owned(),
        detail: format!("{name} happened"),
    }
}

fn begin(store: &SqliteStore, release: &NewRelease) -> ReleaseId {
    match store.begin_release(release, &step(0, "begun")).unwrap() {
        Begun::Started(id) => id,
        Begun::Busy(other) => panic!("release {} is in progress", other.id),
    }
}

fn state(current: ReleaseId, previous: Option<ReleaseId>) -> ServiceState {
    ServiceState {
        environment: "dev".to_owned(),
        service: "hello".to_owned(),
        current,
        previous,
        warm_until: previous.map(|_| at(600)),
        replicas: 2,
        updated_at: at(30),
    }
}

#[test]
fn a_release_gathers_steps_switches_state_and_then_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let first = begin(&store, &release("dev", "hello", 0));
    store
        .advance_release(
            first,
            &ReleaseUpdate {
                phase: "done".to_owned(),
                step: step(10, "switched"),
                service_state: Some(state(first, None)),
                outcome: Some(ReleaseOutcome::Succeeded),
            },
        )
        .unwrap();

    let second = begin(&store, &release("dev", "hello", 20));
    store
        .advance_release(
            second,
            &ReleaseUpdate {
                phase: "healthy".to_owned(),
                step: step(25, "healthy"),
                service_state: None,
                outcome: None,
            },
        )
        .unwrap();
    assert_eq!(
        store.service_state("dev", "hello").unwrap(),
        Some(state(first, None)),
        "untouched until switched"
    );
    store
        .advance_release(
            second,
            &ReleaseUpdate {
                phase: "done".to_owned(),
                step: step(30, "switched"),
                service_state: Some(state(second, Some(first))),
                outcome: Some(ReleaseOutcome::Succeeded),
            },
        )
        .unwrap();

    let record = store.release(second).unwrap().unwrap();
    assert_eq!(record.status(), ReleaseStatus::Succeeded);
    assert_eq!(record.finished_at, Some(at(30)));
    assert_eq!(record.record.phase, "done");
    assert_eq!(
        record.record.controller, None,
        "a finished release has no controller"
    );
    assert_eq!(
        record
            .steps
            .iter()
            .map(|step| step.name.as_str())
            .collect::<Vec<_>>(),
        ["begun", "healthy", "switched"]
    );
    assert_eq!(
        store.service_state("dev", "hello").unwrap(),
        Some(state(second, Some(first)))
    );

    let late = ReleaseUpdate {
        phase: "tampered".to_owned(),
        step: step(40, "late"),
        service_state: Some(state(first, None)),
        outcome: Some(ReleaseOutcome::RolledBack {
            reason: "too late".to_owned(),
        }),
    };
    let error = store.advance_release(second, &late).unwrap_err();
    assert!(
        matches!(error, StoreError::ReleaseFinished { id } if id == second.get()),
        "{error:?}"
    );
    assert_eq!(
        store.release(second).unwrap().unwrap(),
        record,
        "a finished record is final"
    );
    assert_eq!(
        store.service_state("dev", "hello").unwrap(),
        Some(state(second, Some(first)))
    );
    let error = store
        .claim_release(second, None, Some(1), &step(41, "claimed"))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::ReleaseFinished { .. }),
        "{error:?}"
    );
}

#[test]
fn one_release_per_service_and_environment_is_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let running = begin(&store, &release("dev", "hello", 0));
    // Other services and environments are not held up.
    begin(&store, &release("prod", "hello", 1));
    begin(&store, &release("dev", "orders", 2));

    match store
        .begin_release(&release("dev", "hello", 3), &step(3, "begun"))
        .unwrap()
    {
        Begun::Busy(other) => assert_eq!(other.id, running),
        Begun::Started(id) => panic!("release {id} began beside {running}"),
    }
    assert_eq!(
        store.releases(&ReleaseQuery::default()).unwrap().len(),
        3,
        "nothing written"
    );

    let failed = ReleaseUpdate {
        phase: "failed".to_owned(),
        step: step(5, "unhealthy"),
        service_state: None,
        outcome: Some(ReleaseOutcome::Failed {
            reason: "never healthy".to_owned(),
        }),
    };
    store.advance_release(running, &failed).unwrap();
    let next = begin(&store, &release("dev", "hello", 6));
    assert!(next > running);
}

#[test]
fn a_controller_claims_a_release_and_queries_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let paused = begin(&store, &release("dev", "hello", 0));
    assert!(
        store
            .claim_release(paused, Some(4242), None, &step(1, "paused"))
            .unwrap()
    );
    assert_eq!(
        store.release(paused).unwrap().unwrap().record.controller,
        None
    );
    assert!(
        store
            .claim_release(paused, None, Some(999), &step(2, "resumed"))
            .unwrap()
    );
    assert_eq!(
        store.release(paused).unwrap().unwrap().record.controller,
        Some(999)
    );
    // A second taker expecting the old controller loses, and writes nothing.
    assert!(
        !store
            .claim_release(paused, None, Some(1000), &step(3, "also resumed"))
            .unwrap()
    );
    let record = store.release(paused).unwrap().unwrap();
    assert_eq!(record.record.controller, Some(999));
    assert_eq!(record.steps.last().unwrap().name, "resumed");

    let other = begin(&store, &release("prod", "hello", 3));
    store
        .advance_release(
            other,
            &ReleaseUpdate {
                phase: "x".to_owned(),
                step: step(4, "aborted"),
                service_state: None,
                outcome: Some(ReleaseOutcome::RolledBack {
                    reason: "aborted by bob".to_owned(),
                }),
            },
        )
        .unwrap();

    let in_progress = ReleaseQuery {
        status: Some(ReleaseStatus::InProgress),
        ..ReleaseQuery::default()
    };
    let found: Vec<ReleaseId> = store
        .releases(&in_progress)
        .unwrap()
        .iter()
        .map(|release| release.id)
        .collect();
    assert_eq!(found, [paused]);
    let rolled_back = ReleaseQuery {
        status: Some(ReleaseStatus::RolledBack),
        ..ReleaseQuery::default()
    };
    assert_eq!(store.releases(&rolled_back).unwrap()[0].id, other);
    let prod = ReleaseQuery {
        environment: Some("prod".to_owned()),
        limit: Some(5),
        ..ReleaseQuery::default()
    };
    assert_eq!(store.releases(&prod).unwrap().len(), 1);
    let newest = ReleaseQuery {
        limit: Some(1),
        ..ReleaseQuery::default()
    };
    assert_eq!(
        store.releases(&newest).unwrap()[0].id,
        other,
        "newest first"
    );
}

#[test]
fn service_states_and_events_are_written_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let first = begin(&store, &release("dev", "hello", 0));
    let event = |kind: &str, seconds| NewDeployEvent {
        at: at(seconds),
        environment: "dev".to_owned(),
        service: "hello".to_owned(),
        kind: kind.to_owned(),
        message: format!("{kind} for a test"),
        actor: "alice".to_owned(),
    };
    let scaled = ServiceState {
        replicas: 5,
        ..state(first, None)
    };
    store
        .save_service_state(&scaled, &event("scale", 10))
        .unwrap();
    store.record_deploy_event(&event("autoscale", 11)).unwrap();
    assert_eq!(
        store.service_states(Some("dev")).unwrap(),
        vec![scaled.clone()]
    );
    assert_eq!(store.service_states(None).unwrap(), vec![scaled]);
    assert!(store.service_states(Some("prod")).unwrap().is_empty());

    store
        .remove_service_state("dev", "hello", &event("stop", 12))
        .unwrap();
    assert_eq!(store.service_state("dev", "hello").unwrap(), None);
    let kinds: Vec<String> = store
        .deploy_events(&DeployEventQuery::default())
        .unwrap()
        .into_iter()
        .map(|event| event.record.kind)
        .collect();
    assert_eq!(kinds, ["stop", "autoscale", "scale"]);
    let scales = DeployEventQuery {
        kind: Some("scale".to_owned()),
        ..DeployEventQuery::default()
    };
    assert_eq!(store.deploy_events(&scales).unwrap().len(), 1);
}

#[test]
fn a_command_release_keeps_its_directory_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let command = NewRelease {
        runtime: "process".to_owned(),
        artifact: Artifact::Command {
            command: "node src/server.js".to_owned(),
            working_dir: "/srv/hello".to_owned(),
            hash: "sha256:files".to_owned(),
        },
        restores: None,
        ..release("dev", "hello", 0)
    };
    let id = begin(&store, &command);
    assert_eq!(store.release(id).unwrap().unwrap().record, command);
}

#[test]
fn a_release_keeps_its_revision_dirty_or_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let dirty = NewRelease {
        revision: Some(Revision {
            commit: "a".repeat(40),
            git_ref: None,
            dirty: true,
        }),
        ..release("dev", "hello", 0)
    };
    let unknown = NewRelease {
        revision: None,
        ..release("dev", "worker", 0)
    };
    for record in [dirty, unknown] {
        let id = begin(&store, &record);
        assert_eq!(store.release(id).unwrap().unwrap().record, record);
    }
}
