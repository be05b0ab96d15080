//! Software bills of materials: CycloneDX 1.5 JSON and SPDX 2.3 JSON, both with package URLs.
//!
//! A package listed by two lockfiles is one component (one purl), with each place it was found
//! as a `slipway:location` property. CycloneDX also carries the report's vulnerabilities, each
//! pointing at its component, so one document serves as SBOM and vulnerability report.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use slipway_inventory::Package;
use slipway_vuln::Severity;

use crate::report::{Report, TargetKind};

/// The report as a CycloneDX 1.5 JSON document.
pub fn to_cyclonedx(report: &Report) -> Value {
    let components = unique_packages(&report.packages);
    let component_json: Vec<Value> = components
        .iter()
        .map(|(purl, places)| {
            let package = places[0];
            let mut properties = vec![
                json!({ "name": "slipway:ecosystem", "value": package.ecosystem.to_string() }),
            ];
            properties.extend(
                places
                    .iter()
                    .map(|place| json!({ "name": "slipway:location", "value": location(place) })),
            );
            if let Some(source) = &package.source_name {
                properties.push(json!({ "name": "slipway:source-package", "value": source }));
            }
            json!({
                "type": "library",
                "bom-ref": purl,
                "name": package.name,
                "version": package.version,
                "purl": purl,
                "properties": properties,
            })
        })
        .collect();
    let mut vulnerabilities: BTreeMap<&str, (Value, Vec<String>)> = BTreeMap::new();
    for vulnerability in &report.vulnerabilities {
        let entry = vulnerabilities.entry(vulnerability.id.as_str()).or_insert_with(|| {
            let mut rating = json!({ "severity": cyclonedx_severity(vulnerability.severity) });
            if let (Some(score), Some(vector)) = (vulnerability.cvss_score, &vulnerability.cvss_vector) {
                rating["score"] = json!(score);
                rating["vector"] = json!(vector);
                rating["method"] = json!(if vector.starts_with("CVSS:3.1") { "CVSSv31" } else { "CVSSv3" });
            }
            let mut value = json!({
                "bom-ref": format!("vulnerability:{}", vulnerability.id),
                "id": vulnerability.id,
                "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", vulnerability.id) },
                "ratings": [rating],
                "description": vulnerability.summary,
                "advisories": vulnerability.references.iter().map(|url| json!({ "url": url })).collect::<Vec<_>>(),
                "references": vulnerability.aliases.iter().map(|alias| json!({
                    "id": alias,
                    "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{alias}") },
                })).collect::<Vec<_>>(),
            });
            if !vulnerability.fixed_versions.is_empty() {
                value["recommendation"] = json!(format!("Upgrade to {}.", vulnerability.fixed_versions.join(" or ")));
            }
            (value, Vec::new())
        });
        if !entry.1.contains(&vulnerability.package.purl) {
            entry.1.push(vulnerability.package.purl.clone());
        }
    }
    let vulnerabilities: Vec<Value> = vulnerabilities
        .into_values()
        .map(|(mut value, affects)| {
            value["affects"] = json!(
                affects
                    .iter()
                    .map(|purl| json!({ "ref": purl }))
                    .collect::<Vec<_>>()
            );
            value
        })
        .collect();
    let mut document = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid(report)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(report),
            "tools": {
                "components": [{ "type": "application", "name": "slipway", "version": env!("CARGO_PKG_VERSION") }],
            },
            "component": {
                "type": if report.target.kind == TargetKind::Image { "container" } else { "application" },
                "bom-ref": "target",
                "name": report.target.name,
            },
        },
        "components": component_json,
        "dependencies": [{
            "ref": "target",
            "dependsOn": components.keys().collect::<Vec<_>>(),
        }],
    });
    if !vulnerabilities.is_empty() {
        document["vulnerabilities"] = json!(vulnerabilities);
    }
    document
}

/// The report's packages as an SPDX 2.3 JSON document.
pub fn to_spdx(report: &Report) -> Value {
    let components = unique_packages(&report.packages);
    let mut packages = vec![json!({
        "name": report.target.name,
        "SPDXID": "SPDXRef-Target",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": if report.target.kind == TargetKind::Image { "CONTAINER" } else { "SOURCE" },
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Target",
    })];
    for (index, (purl, places)) in components.iter().enumerate() {
        let package = places[0];
        let id = format!("SPDXRef-Package-{}", index + 1);
        packages.push(json!({
            "name": package.name,
            "SPDXID": id,
            "versionInfo": package.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "LIBRARY",
            "sourceInfo": format!("found in {}", places.iter().map(|place| location(place)).collect::<Vec<_>>().join(", ")),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl,
            }],
        }));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Target",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let name = report.target.name.replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
        "-",
    );
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": report.target.name,
        "documentNamespace": format!("https://slipway.dev/spdx/{name}-{}", uuid(report)),
        "creationInfo": {
            "created": timestamp(report),
            "creators": [concat!("Tool: slipway-", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

/// Packages by purl, each with every place it was found, in purl order.
fn unique_packages(packages: &[Package]) -> BTreeMap<&str, Vec<&Package>> {
    let mut unique: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
    for package in packages {
        unique
            .entry(package.purl.as_str())
            .or_default()
            .push(package);
    }
    unique
}

fn location(package: &Package) -> String {
    match package.line {
        Some(line) => format!("{}:{line}", package.path),
        None => package.path.clone(),
    }
}

fn cyclonedx_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Unknown => "unknown",
    }
}

/// The scan time in whole seconds, UTC, as both formats want it (`2024-01-02T03:04:05Z`).
fn timestamp(report: &Report) -> String {
    jiff::Timestamp::from_second(report.scanned_at.as_second())
        .unwrap_or(report.scanned_at)
        .to_string()
}

/// A version-4-shaped UUID derived from the target, the scan time and the packages: unique per
/// scan, stable for one report.
fn uuid(report: &Report) -> String {
    let mut hasher = Sha256::new();
    hasher.update(report.target.name.as_bytes());
    hasher.update(report.scanned_at.as_nanosecond().to_le_bytes());
    for package in &report.packages {
        hasher.update(package.purl.as_bytes());
    }
    let mut bytes: [u8; 16] = [0; 16];
    bytes.copy_from_slice(&hasher.finalize()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
