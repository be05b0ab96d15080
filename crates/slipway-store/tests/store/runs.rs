//! Recording workflow runs and reading them back: jobs and steps in order with their outputs and
//! annotations, the listing's counts and filters, run numbers, the JSON the CLI prints.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_store::{
    Annotation, AnnotationLevel, Conclusion, GitSnapshot, JobCounts, JobRecord, NewRun, RunId,
    RunQuery, RunStore, SqliteStore, StepRecord,
};

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

fn step(name: &str, conclusion: Conclusion) -> StepRecord {
    StepRecord {
        name: name.to_owned(),
        step_id: None,
        outcome: conclusion,
        conclusion,
        exit_code: (conclusion != Conclusion::Skipped).then_some(0),
        started_at: None,
        duration: Duration::from_millis(5),
        outputs: BTreeMap::new(),
        log: format!("{name} says hello\n"),
        summary: String::new(),
        annotations: vec![],
    }
}

fn job(id: &str, conclusion: Conclusion, steps: Vec<StepRecord>) -> JobRecord {
    JobRecord {
        job_id: id.to_owned(),
        name: id.to_owned(),
        matrix: None,
        runs_on: "host".to_owned(),
        conclusion,
        started_at: Some("2025-05-01T08:00:01Z".parse().unwrap()),
        duration: Duration::from_secs(1),
        environment: None,
        environment_url: None,
        outputs: BTreeMap::new(),
        log: String::new(),
        steps,
    }
}

fn run(workflow: &str, number: u64, started_at: &str, conclusion: Conclusion) -> NewRun {
    NewRun {
        workflow: workflow.to_owned(),
        name: workflow.trim_end_matches(".yml").to_owned(),
        run_number: number,
        event: "push".to_owned(),
        git: GitSnapshot {
            commit: Some("a".repeat(40)),
            branch: Some("main".to_owned()),
            dirty: true,
        },
        git_ref: Some("refs/heads/main".to_owned()),
        started_at: started_at.parse().unwrap(),
        duration: Duration::from_millis(1_500),
        conclusion,
        jobs: vec![],
    }
}

#[test]
fn a_run_reads_back_with_its_jobs_and_steps_in_order() {
    let (_dir, store) = open();
    let mut first = step("checkout", Conclusion::Success);
    first.step_id = Some("co".to_owned());
    first.outputs = BTreeMap::from([
        ("sha".to_owned(), "abc".to_owned()),
        ("multi".to_owned(), "line 1\nline 2".to_owned()),
    ]);
    first.annotations = vec![
        Annotation {
            level: AnnotationLevel::Notice,
            message: "first".to_owned(),
            title: None,
            file: None,
            line: None,
            end_line: None,
            column: None,
            end_column: None,
        },
        Annotation {
            level: AnnotationLevel::Error,
            message: "second".to_owned(),
            title: Some("Oops".to_owned()),
            file: Some("a.rs".to_owned()),
            line: Some(u32::MAX),
            end_line: Some(2),
            column: Some(0),
            end_column: Some(4),
        },
    ];
    first.summary = "# Summary\n| a | b |\n".to_owned();
    first.exit_code = Some(-1);
    let mut build = job(
        "build",
        Conclusion::Failure,
        vec![
            first,
            step("compile", Conclusion::Failure),
            step("z-last", Conclusion::Skipped),
        ],
    );
    build.outputs = BTreeMap::from([("image".to_owned(), "app:1".to_owned())]);
    build.matrix = Some(r#"{"os":"linux"}"#.to_owned());
    build.environment = Some("prod".to_owned());
    let mut skipped = job("deploy", Conclusion::Skipped, vec![]);
    skipped.started_at = None;
    skipped.runs_on = "-".to_owned();
    let mut record = run(
        ".github/workflows/ci.yml",
        1,
        "2025-05-01T08:00:00Z",
        Conclusion::Failure,
    );
    record.jobs = vec![build, skipped, job("a-lint", Conclusion::Success, vec![])];

    let id = store.record_run(&record).unwrap();

    let read = store.run(id).unwrap().unwrap();
    assert_eq!(read.id, id);
    assert_eq!(read.record, record);
    assert_eq!(store.run(RunId::new(id.get() + 1)).unwrap(), None);
}

#[test]
fn listing_counts_jobs_filters_and_orders_newest_first() {
    let (_dir, store) = open();
    let mut old = run("ci.yml", 1, "2025-05-01T08:00:00Z", Conclusion::Success);
    old.jobs = vec![
        job("a", Conclusion::Success, vec![]),
        job("b", Conclusion::Success, vec![]),
    ];
    let mut new = run("ci.yml", 2, "2025-05-02T08:00:00Z", Conclusion::Failure);
    new.jobs = vec![
        job("a", Conclusion::Success, vec![]),
        job("b", Conclusion::Failure, vec![]),
        job("c", Conclusion::Skipped, vec![]),
        job("d", Conclusion::Cancelled, vec![]),
    ];
    let other = run(
        "deploy.yml",
        1,
        "2025-05-03T08:00:00Z",
        Conclusion::Cancelled,
    );
    let old_id = store.record_run(&old).unwrap();
    let new_id = store.record_run(&new).unwrap();
    let other_id = store.record_run(&other).unwrap();

    let all = store.runs(&RunQuery::default()).unwrap();
    let ids: Vec<RunId> = all.iter().map(|summary| summary.id).collect();
    assert_eq!(ids, vec![other_id, new_id, old_id]);
    assert_eq!(
        all[1].jobs,
        JobCounts {
            success: 1,
            failure: 1,
            cancelled: 1,
            skipped: 1
        }
    );
    assert_eq!(all[1].run_number, 2);
    assert_eq!(all[1].git_ref.as_deref(), Some("refs/heads/main"));

    let ci = RunQuery {
        workflow: Some("ci.yml".to_owned()),
        ..RunQuery::default()
    };
    assert_eq!(store.runs(&ci).unwrap().len(), 2);
    let failed_ci = RunQuery {
        conclusion: Some(Conclusion::Failure),
        ..ci.clone()
    };
    let failed: Vec<RunId> = store
        .runs(&failed_ci)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(failed, vec![new_id]);
    let newest = RunQuery {
        limit: Some(1),
        ..RunQuery::default()
    };
    assert_eq!(store.runs(&newest).unwrap()[0].id, other_id);
}

#[test]
fn run_numbers_count_per_workflow() {
    let (_dir, store) = open();
    assert_eq!(store.latest_run_number("ci.yml").unwrap(), None);
    store
        .record_run(&run(
            "ci.yml",
            4,
            "2025-05-01T08:00:00Z",
            Conclusion::Success,
        ))
        .unwrap();
    store
        .record_run(&run(
            "ci.yml",
            9,
            "2025-05-01T07:00:00Z",
            Conclusion::Success,
        ))
        .unwrap();
    store
        .record_run(&run(
            "other.yml",
            30,
            "2025-05-01T09:00:00Z",
            Conclusion::Success,
        ))
        .unwrap();
    assert_eq!(store.latest_run_number("ci.yml").unwrap(), Some(9));
    assert_eq!(store.latest_run_number("other.yml").unwrap(), Some(30));
}

#[test]
fn json_uses_github_words_and_milliseconds() {
    let (_dir, store) = open();
    let mut record = run("ci.yml", 1, "2025-05-01T08:00:00Z", Conclusion::Failure);
    let mut failing = step("compile", Conclusion::Failure);
    failing.outcome = Conclusion::Failure;
    failing.conclusion = Conclusion::Success;
    record.jobs = vec![job("build", Conclusion::Success, vec![failing])];
    let id = store.record_run(&record).unwrap();

    let json = serde_json::to_value(store.run(id).unwrap().unwrap()).unwrap();

    assert_eq!(json["id"], id.get());
    assert_eq!(json["conclusion"], "failure");
    assert_eq!(json["duration_ms"], 1_500);
    assert_eq!(json["jobs"][0]["steps"][0]["outcome"], "failure");
    assert_eq!(json["jobs"][0]["steps"][0]["conclusion"], "success");
    assert_eq!(json["jobs"][0]["steps"][0]["duration_ms"], 5);
    let summary = serde_json::to_value(&store.runs(&RunQuery::default()).unwrap()[0]).unwrap();
    assert_eq!(summary["jobs"]["success"], 1);
}
