//! Scan reports in the state store: recorded against the image's digest, the clearance deploys
//! ask for, and the registry's push hook scanning every pushed image at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_registry::{FsBlobStore, Registry, RegistryOptions, RepositoryName, Tag};
use slipway_scan::{
    Clearance, Gate, IgnoreFile, ImageSource, RequiredGate, ScanOnPush, ScanOptions, Scanners,
    clearance, record_report, scan_image,
};
use slipway_secrets::SecretScanner;
use slipway_store::{ScanGate, ScanVerdict, SqliteStore, Store};
use slipway_vuln::{AdvisoryIndex, Severity};

use crate::support::{SECRETS, cargo_lock, rustsec_corpus};

/// A `docker save` archive of an image with a vulnerable Cargo.lock.
fn archive_bytes() -> Vec<u8> {
    let layer = {
        let mut builder = tar::Builder::new(Vec::new());
        let lock = cargo_lock(&[("smallvec", "1.6.0")]);
        let mut header = tar::Header::new_gnu();
        header.set_size(lock.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "app/Cargo.lock", lock.as_bytes())
            .unwrap();
        builder.into_inner().unwrap()
    };
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, data).unwrap();
    };
    append("config.json", br#"{"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}"#);
    append("layer0/layer.tar", &layer);
    append(
        "manifest.json",
        br#"[{"Config": "config.json", "RepoTags": ["app:1"], "Layers": ["layer0/layer.tar"]}]"#,
    );
    builder.into_inner().unwrap()
}

#[test]
fn an_image_report_is_kept_against_its_digest_and_gives_the_clearance() {
    let state = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(state.path()).unwrap();
    let advisories = AdvisoryIndex::open(state.path()).unwrap();
    advisories.import(&rustsec_corpus(), &mut |_| {}).unwrap();
    let archive = state.path().join("app.tar");
    std::fs::write(&archive, archive_bytes()).unwrap();
    let options = ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    };
    let scan = || {
        scan_image(
            ImageSource::Archive {
                path: &archive,
                image: None,
            },
            "app:1",
            &options,
            Some(&advisories),
        )
        .unwrap()
    };
    let today: jiff::Zoned = "2025-06-01T12:00:00[UTC]".parse().unwrap();
    let required = RequiredGate {
        fail_on: Severity::High,
        max_advisory_age: Duration::from_secs(7 * 24 * 3600),
    };

    let mut report = scan();
    let digest = report.target.image.as_ref().unwrap().digest().to_owned();
    assert_eq!(
        clearance(&store, &digest, &required).unwrap(),
        Clearance::Missing
    );
    Gate {
        fail_on: Some(Severity::Critical),
        ..Gate::default()
    }
    .apply(&mut report, &today);
    let id = record_report(&store, &report).unwrap().unwrap();

    let Clearance::Failed(failed) = clearance(&store, &digest, &required).unwrap() else {
        panic!("the critical smallvec advisory fails the gate")
    };
    assert_eq!(failed.id, id);
    assert!(
        matches!(&failed.record.verdict, ScanVerdict::Failed { reasons } if reasons[0].contains("--fail-on critical"))
    );
    assert_eq!(failed.record.counts.critical, 1);
    let stored: serde_json::Value = serde_json::from_str(&failed.record.report).unwrap();
    assert_eq!(stored["vulnerabilities"][0]["id"], "RUSTSEC-2021-0003");

    let mut unjudged = scan();
    Gate::default().apply(&mut unjudged, &today);
    record_report(&store, &unjudged).unwrap().unwrap();
    assert!(
        matches!(clearance(&store, &digest, &required).unwrap(), Clearance::NotJudged(scan) if scan.record.verdict.passed()),
        "a pass without a threshold does not satisfy a policy"
    );

    let accepted = IgnoreFile::parse(
        "accepted.toml".as_ref(),
        "[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"never called\"\nexpires = 2999-01-01\n",
    )
    .unwrap();
    let mut rescan = scan();
    Gate {
        fail_on: Some(Severity::Critical),
        ignore_file: Some(accepted),
        ..Gate::default()
    }
    .apply(&mut rescan, &today);
    record_report(&store, &rescan).unwrap().unwrap();
    let lenient = clearance(&store, &digest, &required).unwrap();
    assert!(
        matches!(&lenient, Clearance::NotJudged(scan) if scan.record.judged_with == Some(ScanGate { fail_on: Some("critical".to_owned()), max_advisory_age_s: 7 * 24 * 3600 })),
        "judged at critical, where the policy asks for high: {lenient:?}"
    );
    let as_strict = RequiredGate {
        fail_on: Severity::Critical,
        ..required
    };
    assert!(
        clearance(&store, &digest, &as_strict)
            .unwrap()
            .allows_deploy(),
        "the newest scan decides, judged as strictly as the policy asks"
    );

    let directory = crate::support::scan(tempfile::tempdir().unwrap().path());
    assert!(
        record_report(&store, &directory).is_none(),
        "only images are kept against a digest"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_image_pushed_to_the_registry_is_scanned_and_recorded() {
    let state = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(state.path()).unwrap());
    AdvisoryIndex::open(state.path())
        .unwrap()
        .import(&rustsec_corpus(), &mut |_| {})
        .unwrap();
    let storage = state.path().join("registry");
    let blobs = Arc::new(FsBlobStore::open(&storage).unwrap());
    let hook = ScanOnPush::new(
        blobs,
        Arc::clone(&store),
        state.path().to_owned(),
        Arc::new(SecretScanner::builtin()),
        Gate {
            fail_on: Some(Severity::High),
            ..Gate::default()
        },
        tokio::runtime::Handle::current(),
    );
    let registry = Registry::open(
        &storage,
        RegistryOptions {
            events: None,
            hooks: vec![Arc::new(hook)],
        },
    )
    .unwrap();
    let repository: RepositoryName = "team/app".parse().unwrap();
    let tag: Tag = "1.0".parse().unwrap();
    let archive = futures::stream::iter([Ok(bytes::Bytes::from(archive_bytes()))]);

    let imported = registry
        .import_archive(&repository, &[tag], Box::pin(archive))
        .await
        .unwrap();

    let digest = imported.digest.to_string();
    let started = Instant::now();
    let scan = loop {
        if let Some(scan) = store.latest_scan(&digest).unwrap() {
            break scan;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no scan was recorded for {digest}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(scan.record.reference, "team/app:1.0");
    assert!(!scan.record.verdict.passed());
    assert_eq!(scan.record.counts.critical, 1);
    let required = RequiredGate {
        fail_on: Severity::Critical,
        max_advisory_age: Duration::from_secs(3600),
    };
    assert!(
        !clearance(store.as_ref(), &digest, &required)
            .unwrap()
            .allows_deploy()
    );
}

#[test]
fn a_policy_is_satisfied_only_by_a_gate_at_least_as_strict() {
    let required = RequiredGate {
        fail_on: Severity::High,
        max_advisory_age: Duration::from_secs(86_400),
    };
    let gate = |fail_on: Option<&str>, age: u64| ScanGate {
        fail_on: fail_on.map(str::to_owned),
        max_advisory_age_s: age,
    };
    for (judged, satisfies) in [
        (Some(gate(Some("high"), 86_400)), true),
        (Some(gate(Some("medium"), 3_600)), true),
        (Some(gate(Some("low"), 86_400)), true),
        (Some(gate(Some("critical"), 86_400)), false),
        (Some(gate(Some("high"), 86_401)), false),
        (Some(gate(None, 60)), false),
        (None, false),
    ] {
        assert_eq!(
            required.satisfied_by(judged.as_ref()),
            satisfies,
            "{judged:?}"
        );
    }
}
