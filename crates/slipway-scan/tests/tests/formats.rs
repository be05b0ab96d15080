//! SARIF and CycloneDX output validated against their published schemas (vendored under
//! tests/data/schemas, see NOTICE.md there), plus what GitHub code scanning requires beyond the
//! schema; SPDX checked for the fields SPDX 2.3 requires.

use std::path::PathBuf;

use serde_json::Value;
use slipway_scan::{Report, to_cyclonedx, to_sarif, to_spdx};

use crate::support::{cargo_lock, github_token, scan, write};

fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A report with every kind of finding.
fn report() -> Report {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/Cargo.lock",
        &cargo_lock(&[
            ("smallvec", "1.6.0"),
            ("time", "0.1.43"),
            ("serde", "1.0.200"),
        ]),
    );
    write(
        dir.path(),
        "app/package-lock.json",
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/@babel/core\": {\n      \"version\": \"7.12.3\"\n    }\n  }\n}\n",
    );
    write(
        dir.path(),
        "app/secrets dir/app.env",
        &format!("TOKEN={}\n", github_token()),
    );
    write(dir.path(), "app/Dockerfile", "FROM node\nRUN curl x | sh\n");
    scan(dir.path())
}

#[track_caller]
fn assert_valid(validator: &jsonschema::Validator, document: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(document).unwrap()
    );
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let validator = jsonschema::validator_for(&schema("sarif-2.1.0-rtm.5.json")).unwrap();
    let report = report();
    let sarif = to_sarif(&report);
    assert_valid(&validator, &sarif);
    // An empty report is valid too.
    let empty = scan(tempfile::tempdir().unwrap().path());
    assert_valid(&validator, &to_sarif(&empty));
    // And the validator does reject a broken log: the test can fail.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_carries_what_github_code_scanning_reads() {
    let report = report();
    let sarif = to_sarif(&report);
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        report.vulnerabilities.len() + report.secrets.len() + report.misconfigurations.len()
    );
    for rule in rules {
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score), "{rule}");
    }
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && !uri.contains(' '), "{uri}");
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let smallvec = rules
        .iter()
        .find(|rule| rule["id"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert_eq!(smallvec["properties"]["security-severity"], "9.8");
    let secret = results
        .iter()
        .find(|result| result["ruleId"] == "github-pat")
        .unwrap();
    assert_eq!(
        secret["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/secrets%20dir/app.env"
    );
    assert!(!sarif.to_string().contains(&github_token()));
}

#[test]
fn cyclonedx_is_valid_against_the_cyclonedx_1_5_schema() {
    // The CycloneDX schema refers to two others by URI: they are given here, never fetched.
    let registry = jsonschema::Registry::new()
        .add(
            "http://cyclonedx.org/schema/spdx.schema.json",
            schema("spdx.schema.json"),
        )
        .unwrap()
        .add(
            "http://cyclonedx.org/schema/jsf-0.82.schema.json",
            schema("jsf-0.82.schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&schema("bom-1.5.schema.json"))
        .unwrap();
    let report = report();
    let bom = to_cyclonedx(&report);

    assert_valid(&validator, &bom);
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:cargo/serde@1.0.200",
            "pkg:cargo/smallvec@1.6.0",
            "pkg:cargo/time@0.1.43",
            "pkg:npm/%40babel/core@7.12.3"
        ]
    );
    let vulnerability = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert_eq!(
        vulnerability["affects"][0]["ref"],
        "pkg:cargo/smallvec@1.6.0"
    );
    assert_eq!(vulnerability["ratings"][0]["severity"], "critical");
    let mut broken = bom.clone();
    broken["specVersion"] = Value::from(1.5);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn spdx_has_what_spdx_2_3_requires() {
    let report = report();
    let spdx = to_spdx(&report);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["dataLicense"], "CC0-1.0");
    assert!(
        spdx["documentNamespace"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let created = spdx["creationInfo"]["created"].as_str().unwrap();
    assert!(created.len() == 20 && created.ends_with('Z'), "{created}");
    let packages = spdx["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1 + 4);
    for package in packages {
        let id = package["SPDXID"].as_str().unwrap();
        assert!(
            id.starts_with("SPDXRef-")
                && id[8..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
        assert_eq!(package["downloadLocation"], "NOASSERTION");
    }
    assert_eq!(
        packages[2]["externalRefs"][0]["referenceLocator"],
        "pkg:cargo/smallvec@1.6.0"
    );
    let contains = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .count();
    assert_eq!(contains, 4);
}
