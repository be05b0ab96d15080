//! `slipway audit`: lists the trail and proves it whole; a row changed with sqlite3 fails --verify.

use std::process::Command;

use slipway_store::{AuditStore, NewAuditEntry, SqliteStore};

use crate::support::Project;

fn appended(project: &Project, data: &str, count: usize) {
    let store = SqliteStore::open(&project.path().join(data)).unwrap();
    for n in 1..=count {
        store
            .append_audit(&NewAuditEntry {
                at: jiff::Timestamp::now(),
                actor: "admin-token".to_owned(),
                action: "project.add".to_owned(),
                target: format!("shop-{n}"),
                detail: format!("repository https://git.example.com/shop-{n}.git"),
                remote_addr: Some("192.0.2.10".to_owned()),
            })
            .unwrap();
    }
}

#[test]
fn audit_lists_newest_first_and_verifies() {
    let project = Project::empty();
    appended(&project, "data", 3);
    let listed = project
        .slipway(&["audit", "--data", "data", "--json", "--limit", "2"])
        .success();
    let page: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let targets: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["shop-3", "shop-2"]);
    assert_eq!(page["next"], 2);

    let table = project.slipway(&["audit", "--data", "data"]).success();
    assert!(table.stdout.contains("project.add"), "{}", table.stdout);
    assert!(table.stdout.contains("192.0.2.10"), "{}", table.stdout);

    let verified = project
        .slipway(&["audit", "--data", "data", "--verify"])
        .success();
    assert!(
        verified.stdout.contains("audit trail intact: 3 entries"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_row_changed_with_sqlite3_fails_verify_naming_it() {
    let project = Project::empty();
    appended(&project, "data", 4);
    let database = project.path().join("data/state.db");
    let status = Command::new("sqlite3")
        .arg(&database)
        .arg("UPDATE audit_entries SET actor = 'someone-else' WHERE id = 2;")
        .status()
        .expect("sqlite3 must be installed for this test");
    assert!(status.success());

    let broken = project
        .slipway(&["audit", "--data", "data", "--verify"])
        .failure(1);
    assert!(
        broken.stderr.contains("audit entry 2 is broken"),
        "{}",
        broken.stderr
    );
    let json = project
        .slipway(&["audit", "--data", "data", "--verify", "--json"])
        .failure(1);
    let check: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(check["status"], "broken");
    assert_eq!(check["id"], 2);
}

#[test]
fn a_directory_without_a_store_is_refused_not_created() {
    let project = Project::empty();
    let run = project
        .slipway(&["audit", "--data", "nothing-here"])
        .failure(2);
    assert!(run.stderr.contains("no state store in"), "{}", run.stderr);
    assert!(!project.path().join("nothing-here").exists());
}
