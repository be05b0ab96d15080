//! Importing into the index from each kind of source, skipping broken records with a reason,
//! keeping newer records, removing withdrawn ones, and matching distribution packages.

use std::io::Write;
use std::path::Path;

use slipway_vuln::{AdvisoryIndex, Ecosystem, IndexError, PackageQuery, Severity};

fn record(id: &str, modified: &str, ecosystem: &str, name: &str, events: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "{modified}", "summary": "{id} summary",
            "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "{name}"}},
                           "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

fn ids(index: &AdvisoryIndex, ecosystem: &Ecosystem, name: &str, version: &str) -> Vec<String> {
    let findings = index
        .find(&[PackageQuery {
            ecosystem,
            name,
            version,
        }])
        .unwrap();
    findings
        .matches
        .iter()
        .map(|found| found.advisory.id.clone())
        .collect()
}

#[test]
fn a_directory_imports_recursively_and_broken_records_are_listed_not_fatal() {
    let source = tempfile::tempdir().unwrap();
    write(
        source.path(),
        "debian/DSA-1.json",
        &record(
            "DSA-1",
            "2024-01-01T00:00:00Z",
            "Debian:12",
            "openssl",
            r#"[{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]"#,
        ),
    );
    write(
        source.path(),
        "alpine/ALPINE-1.json",
        &record(
            "ALPINE-1",
            "2024-01-01T00:00:00Z",
            "Alpine:v3.19",
            "openssl",
            r#"[{"introduced": "0"}, {"fixed": "3.1.4-r5"}]"#,
        ),
    );
    write(
        source.path(),
        "broken/two.json",
        r#"{"id": "BAD-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}"#,
    );
    write(
        source.path(),
        "broken/truncated.json",
        r#"{"id": "BAD-2", "modif"#,
    );
    write(source.path(), "README.md", "not a record");
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();

    let summary = index.import(source.path(), &mut |_| {}).unwrap();

    assert_eq!(summary.imported, 2);
    let skipped: Vec<(String, String)> = summary
        .skipped
        .iter()
        .map(|skipped| (skipped.location.clone(), skipped.reason.clone()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].0.ends_with("broken/truncated.json"),
        "{skipped:?}"
    );
    assert!(
        skipped[0].1.contains("EOF while parsing") && skipped[0].1.contains("line 1"),
        "{skipped:?}"
    );
    assert!(skipped[1].0.ends_with("broken/two.json"), "{skipped:?}");
    assert!(
        skipped[1]
            .1
            .starts_with("at affected[0].ranges[0]: events[0]: an event holds more than one"),
        "{skipped:?}"
    );

    let bookworm = Ecosystem::Debian("12".to_owned());
    assert_eq!(
        ids(&index, &bookworm, "openssl", "3.0.11-1~deb12u2"),
        ["DSA-1"]
    );
    assert!(ids(&index, &bookworm, "openssl", "3.0.13-1~deb12u1").is_empty());
    // Another Debian release is another ecosystem.
    assert!(
        ids(
            &index,
            &Ecosystem::Debian("11".to_owned()),
            "openssl",
            "1.1.1"
        )
        .is_empty()
    );
    let alpine = Ecosystem::Alpine("3.19".to_owned());
    assert_eq!(ids(&index, &alpine, "openssl", "3.1.4-r4"), ["ALPINE-1"]);
    assert_eq!(
        ids(&index, &alpine, "openssl", "3.1.4_rc1-r0"),
        ["ALPINE-1"]
    );
    assert!(ids(&index, &alpine, "openssl", "3.1.4-r5").is_empty());
}

#[test]
fn an_osv_zip_imports_like_a_directory() {
    let source = tempfile::tempdir().unwrap();
    let archive = source.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (id, fixed) in [("PYSEC-1", "2.0"), ("PYSEC-2", "3.0rc1")] {
        zip.start_file(format!("{id}.json"), options).unwrap();
        zip.write_all(
            record(
                id,
                "2024-01-01T00:00:00Z",
                "PyPI",
                "Django",
                &format!(r#"[{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]"#),
            )
            .as_bytes(),
        )
        .unwrap();
    }
    zip.start_file("PYSEC-3.json", options).unwrap();
    zip.write_all(b"[]").unwrap();
    zip.finish().unwrap();
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();

    let summary = index.import(&archive, &mut |_| {}).unwrap();

    assert_eq!(summary.imported, 2);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(
        summary.skipped[0].location,
        format!("{}!PYSEC-3.json", archive.display())
    );
    // PyPI names are normalized on both sides, and 3.0rc1 is a pre-release of 3.0.
    assert_eq!(
        ids(&index, &Ecosystem::PyPI, "django", "1.11"),
        ["PYSEC-1", "PYSEC-2"]
    );
    assert_eq!(
        ids(&index, &Ecosystem::PyPI, "Django", "2.2.post1"),
        ["PYSEC-2"]
    );
    assert!(ids(&index, &Ecosystem::PyPI, "django", "3.0").is_empty());
}

#[test]
fn a_corrupt_zip_is_an_error_and_leaves_the_index_as_it_was() {
    let source = tempfile::tempdir().unwrap();
    write(
        source.path(),
        "one.json",
        &record(
            "GHSA-1",
            "2024-01-01T00:00:00Z",
            "npm",
            "left-pad",
            r#"[{"introduced": "0"}]"#,
        ),
    );
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    index
        .import(&source.path().join("one.json"), &mut |_| {})
        .unwrap();
    let archive = source.path().join("npm.zip");
    std::fs::write(&archive, b"PK\x03\x04 this is not really a zip").unwrap();

    let error = index.import(&archive, &mut |_| {}).unwrap_err();

    assert!(
        matches!(&error, IndexError::Archive { path, .. } if *path == archive),
        "{error:?}"
    );
    assert_eq!(index.status().unwrap().advisories, 1);
    let missing = index
        .import(&source.path().join("nope"), &mut |_| {})
        .unwrap_err();
    assert!(matches!(missing, IndexError::Read { .. }), "{missing:?}");
}

#[test]
fn a_newer_record_is_kept_and_a_withdrawn_one_is_removed() {
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    let source = tempfile::tempdir().unwrap();
    let events = r#"[{"introduced": "0"}, {"fixed": "2.0.0"}]"#;
    write(
        source.path(),
        "new/GHSA-1.json",
        &record("GHSA-1", "2024-06-01T00:00:00Z", "npm", "a", events),
    );
    write(
        source.path(),
        "old/GHSA-1.json",
        &record("GHSA-1", "2023-01-01T00:00:00Z", "npm", "b", events),
    );
    write(
        source.path(),
        "gone/GHSA-1.json",
        &record("GHSA-1", "2025-01-01T00:00:00Z", "npm", "a", events).replacen(
            '{',
            r#"{"withdrawn": "2025-01-01T00:00:00Z", "#,
            1,
        ),
    );

    index
        .import(&source.path().join("new"), &mut |_| {})
        .unwrap();
    let old = index
        .import(&source.path().join("old"), &mut |_| {})
        .unwrap();

    assert_eq!((old.imported, old.kept_newer), (0, 1));
    assert_eq!(ids(&index, &Ecosystem::Npm, "a", "1.0.0"), ["GHSA-1"]);
    assert!(ids(&index, &Ecosystem::Npm, "b", "1.0.0").is_empty());

    let gone = index
        .import(&source.path().join("gone"), &mut |_| {})
        .unwrap();

    assert_eq!(gone.withdrawn, 1);
    assert!(ids(&index, &Ecosystem::Npm, "a", "1.0.0").is_empty());
    assert_eq!(index.status().unwrap().advisories, 0);
    assert!(index.is_empty().unwrap());
}

#[test]
fn an_unorderable_version_is_reported_unchecked_with_the_reason() {
    let source = tempfile::tempdir().unwrap();
    write(
        source.path(),
        "x.json",
        &record(
            "GHSA-9",
            "2024-01-01T00:00:00Z",
            "npm",
            "pkg",
            r#"[{"introduced": "0"}, {"fixed": "1.0.0"}]"#,
        ),
    );
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    index.import(source.path(), &mut |_| {}).unwrap();
    let npm = Ecosystem::Npm;

    let findings = index
        .find(&[
            PackageQuery {
                ecosystem: &npm,
                name: "pkg",
                version: "0.5.0",
            },
            PackageQuery {
                ecosystem: &npm,
                name: "pkg",
                version: "github:user/pkg#main",
            },
        ])
        .unwrap();

    assert_eq!(findings.matches.len(), 1);
    assert_eq!(findings.matches[0].package, 0);
    assert_eq!(findings.matches[0].advisory.severity, Severity::Unknown);
    assert_eq!(findings.unchecked.len(), 1);
    assert_eq!(findings.unchecked[0].package, 1);
    assert!(
        findings.unchecked[0]
            .reason
            .contains("not a SemVer version"),
        "{:?}",
        findings.unchecked
    );
}

#[test]
fn an_index_from_a_newer_slipway_is_refused() {
    let state = tempfile::tempdir().unwrap();
    drop(AdvisoryIndex::open(state.path()).unwrap());
    rusqlite_free_bump(&state.path().join(AdvisoryIndex::FILE_NAME));

    let error = AdvisoryIndex::open(state.path()).unwrap_err();

    assert!(
        matches!(
            error,
            IndexError::NewerFormat {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{error:?}"
    );
}

/// Sets the file's `user_version` to 99 by writing the header field directly (offset 60, big
/// endian), as a newer slipway would have: the test needs no SQLite library of its own.
fn rusqlite_free_bump(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}
