//! The real RustSec advisory database in OSV format (testdata/rustsec-osv at the repository root, CC0): it
//! imports whole, known vulnerable versions match, and every range boundary in the corpus is
//! honoured: each `introduced` version is affected, each `fixed` version is not.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::LazyLock;

use slipway_vuln::{AdvisoryIndex, Ecosystem, PackageQuery, Severity};

/// The corpus kept in the repository's testdata/.
pub(crate) fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rustsec-osv/crates");
    assert!(
        dir.is_dir(),
        "the RustSec corpus is missing at {}",
        dir.display()
    );
    dir
}

/// One index of the whole corpus, shared by the tests of this module.
static INDEX: LazyLock<(tempfile::TempDir, AdvisoryIndex)> = LazyLock::new(|| {
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    let summary = index.import(&corpus(), &mut |_| {}).unwrap();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    (state, index)
});

fn advisories_for(name: &str, version: &str) -> BTreeSet<String> {
    let crates_io = Ecosystem::CratesIo;
    let query = [PackageQuery {
        ecosystem: &crates_io,
        name,
        version,
    }];
    let findings = INDEX.1.find(&query).unwrap();
    assert!(findings.unchecked.is_empty(), "{:?}", findings.unchecked);
    findings
        .matches
        .iter()
        .map(|found| found.advisory.id.clone())
        .collect()
}

#[test]
fn the_whole_corpus_imports_and_withdrawn_records_are_left_out() {
    let files = std::fs::read_dir(corpus()).unwrap().count() as u64;
    let withdrawn = std::fs::read_dir(corpus())
        .unwrap()
        .filter(|entry| {
            std::fs::read_to_string(entry.as_ref().unwrap().path())
                .unwrap()
                .contains("\"withdrawn\"")
        })
        .count() as u64;
    let status = INDEX.1.status().unwrap();
    assert!(
        withdrawn > 0,
        "the corpus has withdrawn advisories to leave out"
    );
    assert_eq!(status.advisories, files - withdrawn);
    assert_eq!(status.ecosystems.len(), 1);
    assert_eq!(status.ecosystems[0].ecosystem, "crates.io");
    assert_eq!(
        status.last_import.as_ref().unwrap().records,
        files - withdrawn
    );
    assert!(status.newest_modified.unwrap() > "2025-01-01T00:00:00Z".parse().unwrap());
}

#[test]
fn known_vulnerable_versions_match_with_their_fixes() {
    assert!(advisories_for("openssl", "0.8.3").contains("RUSTSEC-2016-0001"));
    assert!(!advisories_for("openssl", "0.9.0").contains("RUSTSEC-2016-0001"));
    assert_eq!(
        advisories_for("smallvec", "1.6.0"),
        BTreeSet::from(["RUSTSEC-2021-0003".to_owned()])
    );
    assert!(advisories_for("smallvec", "1.6.1").is_empty());
    // time 0.2.7-0 opens a range again after a gap of fixed 0.2.x versions.
    assert!(advisories_for("time", "0.1.43").contains("RUSTSEC-2020-0071"));
    assert!(!advisories_for("time", "0.2.6").contains("RUSTSEC-2020-0071"));
    assert!(advisories_for("time", "0.2.22").contains("RUSTSEC-2020-0071"));

    let crates_io = Ecosystem::CratesIo;
    let query = [PackageQuery {
        ecosystem: &crates_io,
        name: "smallvec",
        version: "1.5.0",
    }];
    let findings = INDEX.1.find(&query).unwrap();
    let found = &findings.matches[0];
    assert_eq!(found.fixed_versions, ["0.6.14", "1.6.1"]);
    assert_eq!(found.advisory.severity, Severity::Critical);
    assert_eq!(found.advisory.cvss_score, Some(9.8));
    assert!(
        found
            .advisory
            .aliases
            .contains(&"CVE-2021-25900".to_owned())
    );
    assert!(found.advisory.references[0].contains("rustsec.org"));
}

#[test]
fn every_range_boundary_in_the_corpus_is_honoured() {
    let mut checked = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if record.get("withdrawn").is_some() {
            continue;
        }
        let id = record["id"].as_str().unwrap();
        for affected in record["affected"].as_array().unwrap() {
            let name = affected["package"]["name"].as_str().unwrap();
            for range in affected["ranges"].as_array().unwrap() {
                let events = range["events"].as_array().unwrap();
                // `introduced: X` with `fixed: X` is an empty range (RUSTSEC-2022-0012 has one).
                let fixes: Vec<&str> = events
                    .iter()
                    .filter_map(|event| event["fixed"].as_str())
                    .collect();
                for event in events {
                    if let Some(introduced) = event["introduced"]
                        .as_str()
                        .filter(|version| !fixes.contains(version))
                    {
                        assert!(
                            advisories_for(name, introduced).contains(id),
                            "{id}: {name} {introduced} is where the range starts but is not affected"
                        );
                    }
                    if let Some(fixed) = event["fixed"].as_str() {
                        assert!(
                            !advisories_for(name, fixed).contains(id),
                            "{id}: {name} {fixed} is the fix but is reported affected"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 2_000, "only {checked} events checked");
}
