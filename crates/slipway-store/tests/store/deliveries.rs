//! Deliveries: recorded once per provider and id, listed newest first by cursor, outcome updated.

use std::sync::Arc;

use slipway_store::{
    DeliveryId, DeliveryOutcome, DeliveryStore, NewDelivery, PageRequest, Recorded, SqliteStore,
};

fn delivery(provider: &str, id: &str) -> NewDelivery {
    NewDelivery {
        provider: provider.to_owned(),
        delivery_id: id.to_owned(),
        event: "push".to_owned(),
        received_at: "2026-12-07T20:00:00Z".parse().unwrap(),
        remote_addr: Some("140.82.115.1".to_owned()),
        body_bytes: 7_345,
        outcome: DeliveryOutcome::Accepted,
    }
}

#[test]
fn a_second_record_of_the_same_id_is_a_duplicate_of_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let Recorded::New(first) = store.record_delivery(&delivery("github", "d-1")).unwrap() else {
        panic!("the first record is new")
    };
    let mut again = delivery("github", "d-1");
    again.remote_addr = Some("198.51.100.7".to_owned());
    again.outcome = DeliveryOutcome::Refused("bad signature".to_owned());
    assert_eq!(
        store.record_delivery(&again).unwrap(),
        Recorded::Duplicate(first.clone())
    );
    // The same id from another provider is another delivery.
    assert!(matches!(
        store.record_delivery(&delivery("gitea", "d-1")).unwrap(),
        Recorded::New(_)
    ));
    let page = store
        .deliveries(&PageRequest {
            after: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.items.len(), 2, "the duplicate wrote nothing");
}

#[test]
fn threads_recording_one_delivery_at_once_get_exactly_one_new_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let outcomes: Vec<Recorded> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                scope.spawn(move || store.record_delivery(&delivery("github", "burst")).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let new: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Recorded::New(d) => Some(d),
            Recorded::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 1);
    for outcome in &outcomes {
        if let Recorded::Duplicate(first) = outcome {
            assert_eq!(first, new[0]);
        }
    }
}

#[test]
fn pages_run_newest_first_and_end_with_no_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let ids: Vec<DeliveryId> = (0..5)
        .map(|n| {
            match store
                .record_delivery(&delivery("github", &format!("p-{n}")))
                .unwrap()
            {
                Recorded::New(d) => d.id,
                Recorded::Duplicate(d) => panic!("{d:?}"),
            }
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.deliveries(&PageRequest { after, limit: 2 }).unwrap();
        seen.extend(page.items.iter().map(|d| d.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let newest_first: Vec<DeliveryId> = ids.into_iter().rev().collect();
    assert_eq!(seen, newest_first);
}

#[test]
fn the_outcome_is_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let Recorded::New(recorded) = store.record_delivery(&delivery("gitlab", "u-1")).unwrap() else {
        panic!("new")
    };
    let skipped =
        DeliveryOutcome::Skipped("no workflow runs on push to refs/heads/docs".to_owned());
    assert!(
        store
            .update_delivery_outcome(recorded.id, &skipped)
            .unwrap()
    );
    assert!(
        !store
            .update_delivery_outcome(DeliveryId::new(recorded.id.get() + 100), &skipped)
            .unwrap()
    );
    let page = store
        .deliveries(&PageRequest {
            after: None,
            limit: 1,
        })
        .unwrap();
    assert_eq!(page.items[0].record.outcome, skipped);
    // A redelivery now finds the updated first record.
    assert_eq!(
        store.record_delivery(&delivery("gitlab", "u-1")).unwrap(),
        Recorded::Duplicate(page.items[0].clone())
    );
}

#[test]
fn a_refused_delivery_is_handled_afresh_when_redelivered() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut refused = delivery("github", "r-1");
    refused.outcome = DeliveryOutcome::Refused("the signature does not match".to_owned());
    let Recorded::New(first) = store.record_delivery(&refused).unwrap() else {
        panic!("new")
    };
    let retry = delivery("github", "r-1");
    assert_eq!(
        store.record_delivery(&retry).unwrap(),
        Recorded::New(slipway_store::Delivery {
            id: first.id,
            record: retry.clone()
        })
    );
    // Accepted now: a further redelivery is a duplicate.
    assert!(matches!(
        store.record_delivery(&retry).unwrap(),
        Recorded::Duplicate(_)
    ));
    let page = store
        .deliveries(&PageRequest {
            after: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn an_accepted_delivery_and_its_queued_run_are_written_together_and_a_duplicate_queues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let trigger = slipway_store::Trigger {
        project: "web".to_owned(),
        workflow: None,
        event: "push".to_owned(),
        git_ref: "refs/heads/main".to_owned(),
        sha: Some("1f2e3d4c".to_owned()),
        actor: "octocat".to_owned(),
        inputs: Default::default(),
        rerun_of: None,
        payload: Some(serde_json::json!({ "before": "0a1b", "after": "1f2e3d4c" })),
        withhold_secrets: false,
    };
    let at = "2026-12-07T20:00:01Z".parse().unwrap();

    let (recorded, queued) = store
        .accept_delivery(&delivery("github", "d-1"), &trigger, at)
        .unwrap();
    assert!(matches!(recorded, Recorded::New(_)));
    let queued = queued.expect("a new delivery queues its run");
    let run = slipway_store::QueueStore::queued_run(&store, queued)
        .unwrap()
        .unwrap();
    assert_eq!(run.trigger, trigger);

    let (again, none) = store
        .accept_delivery(&delivery("github", "d-1"), &trigger, at)
        .unwrap();
    assert!(matches!(again, Recorded::Duplicate(_)));
    assert_eq!(none, None);
    let all = slipway_store::QueueStore::queued_runs(&store, &slipway_store::QueueQuery::default())
        .unwrap();
    assert_eq!(all.len(), 1, "one run for one delivery");

    // The run ran nothing: the delivery is recorded as skipped, with the reason.
    let completed = slipway_store::QueueStore::complete_run(
        &store,
        queued,
        slipway_store::Conclusion::Skipped,
        Some("no workflow runs on push"),
        at,
    )
    .unwrap();
    assert!(completed);
    let page = store
        .deliveries(&PageRequest {
            after: None,
            limit: 1,
        })
        .unwrap();
    assert_eq!(
        page.items[0].record.outcome,
        DeliveryOutcome::Skipped("no workflow runs on push".to_owned())
    );
}
