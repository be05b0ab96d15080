//! SARIF 2.1.0, as GitHub code scanning takes it.
//!
//! One run, tool `slipway`, with one rule per advisory, secret rule and Dockerfile check that
//! produced a result. GitHub reads three things beyond the schema: `properties.security-severity`
//! on rules (a CVSS-style score as a string, which it turns into its critical/high/medium/low),
//! a `level` on results, and a location with a relative `uri` and a `startLine` on every
//! result. Paths are relative to the scanned directory; for an image, to its root.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use slipway_vuln::Severity;

use crate::dockerfile;
use crate::report::{Report, SECRET_SEVERITY};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/slipway-dev/slipway";

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(report: &Report) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for vulnerability in &report.vulnerabilities {
        let score = vulnerability
            .cvss_score
            .unwrap_or_else(|| vulnerability.severity.representative_score());
        rules.entry(vulnerability.id.clone()).or_insert_with(|| {
            let help = if vulnerability.fixed_versions.is_empty() {
                "No fixed version is known yet.".to_owned()
            } else {
                format!("Upgrade to {}.", vulnerability.fixed_versions.join(" or "))
            };
            let references: Vec<String> = vulnerability.references.iter().map(|url| format!("- <{url}>")).collect();
            let mut tags = vec!["security".to_owned(), "vulnerability".to_owned()];
            tags.extend(vulnerability.aliases.iter().cloned());
            json!({
                    "id": vulnerability.id,
                    "name": "VulnerableDependency",
                    "shortDescription": { "text": text_or(&vulnerability.summary, &vulnerability.id) },
                    "fullDescription": { "text": text_or(&vulnerability.summary, &vulnerability.id) },
                    "help": {
                        "text": format!("{} {help}", text_or(&vulnerability.summary, &vulnerability.id)),
                        "markdown": format!("**{}**: {}\n\n{help}\n\n{}", vulnerability.id, vulnerability.summary, references.join("\n")),
                    },
                    "helpUri": vulnerability.references.first().cloned().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", vulnerability.id)),
                    "defaultConfiguration": { "level": level(vulnerability.severity) },
                    "properties": {
                        "security-severity": format!("{score:.1}"),
                        "tags": tags,
                        "precision": "very-high",
                    },
                })
        });
        let package = &vulnerability.package;
        let fixed = if vulnerability.fixed_versions.is_empty() {
            "no fix is known".to_owned()
        } else {
            format!("fixed in {}", vulnerability.fixed_versions.join(", "))
        };
        results.push(json!({
            "ruleId": vulnerability.id,
            "level": level(vulnerability.severity),
            "message": { "text": format!("{} {} ({}) is affected by {}: {} ({fixed}).", package.name, package.version, package.ecosystem, vulnerability.id, text_or(&vulnerability.summary, "no summary")) },
            "locations": [location(&package.path, package.line.unwrap_or(1), None)],
            "partialFingerprints": { "slipway/vulnerability/v1": format!("{}:{}:{}", vulnerability.id, package.purl, package.path) },
        }));
    }
    for secret in &report.secrets {
        rules.entry(secret.rule_id.clone()).or_insert_with(|| {
            json!({
                "id": secret.rule_id,
                "name": "CommittedSecret",
                "shortDescription": { "text": secret.description },
                "fullDescription": { "text": format!("{} committed to the repository or the image.", secret.description) },
                "help": {
                    "text": "Revoke the credential, issue a new one, and load it from a secret store at run time instead of the source tree.",
                    "markdown": "Revoke the credential, issue a new one, and load it from a secret store at run time instead of the source tree.",
                },
                "defaultConfiguration": { "level": level(SECRET_SEVERITY) },
                "properties": {
                    "security-severity": format!("{:.1}", SECRET_SEVERITY.representative_score()),
                    "tags": ["security", "secret"],
                    "precision": "high",
                },
            })
        });
        let commit = secret
            .commit
            .as_ref()
            .map(|commit| {
                format!(
                    " in commit {} by {}",
                    &commit.id[..commit.id.len().min(12)],
                    commit.author
                )
            })
            .unwrap_or_default();
        results.push(json!({
            "ruleId": secret.rule_id,
            "level": level(SECRET_SEVERITY),
            "message": { "text": format!("{} ({}){commit}.", secret.description, secret.redacted) },
            "locations": [location(&secret.path, secret.line, Some((secret.column, secret.end_line)))],
            "partialFingerprints": { "slipway/secret/v1": secret.fingerprint },
        }));
    }
    for misconfiguration in &report.misconfigurations {
        rules.entry(misconfiguration.rule_id.clone()).or_insert_with(|| {
            let help = dockerfile::check(&misconfiguration.rule_id).map_or("", |check| check.help);
            json!({
                    "id": misconfiguration.rule_id,
                    "name": "DockerfileCheck",
                    "shortDescription": { "text": misconfiguration.title },
                    "fullDescription": { "text": misconfiguration.title },
                    "help": { "text": help, "markdown": help },
                    "defaultConfiguration": { "level": level(misconfiguration.severity) },
                    "properties": {
                        "security-severity": format!("{:.1}", misconfiguration.severity.representative_score()),
                        "tags": ["security", "dockerfile"],
                        "precision": "very-high",
                    },
                })
        });
        results.push(json!({
            "ruleId": misconfiguration.rule_id,
            "level": level(misconfiguration.severity),
            "message": { "text": format!("{}: {}.", misconfiguration.title, misconfiguration.message) },
            "locations": [location(&misconfiguration.path, misconfiguration.line, None)],
        }));
    }
    let index: BTreeMap<String, usize> = rules.keys().cloned().zip(0..).collect();
    for result in &mut results {
        let position = result["ruleId"]
            .as_str()
            .and_then(|id| index.get(id))
            .copied();
        if let (Some(position), Some(object)) = (position, result.as_object_mut()) {
            object.insert("ruleIndex".to_owned(), json!(position));
        }
    }
    let rules: Vec<Value> = rules.into_values().collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "slipway",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                },
            },
            "automationDetails": { "id": format!("slipway/{}/", kind_name(report)) },
            "results": results,
        }],
    })
}

/// GitHub's levels: errors for high and critical, warnings for medium, notes below.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn location(path: &str, line: usize, span: Option<(usize, usize)>) -> Value {
    let mut region = json!({ "startLine": line.max(1) });
    if let Some((column, end_line)) = span {
        region["startColumn"] = json!(column.max(1));
        region["endLine"] = json!(end_line.max(line).max(1));
    }
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(path) },
            "region": region,
        },
    })
}

/// A relative URI reference: `/` separators, no leading `/`, characters outside a URI
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.trim_start_matches('/').bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

fn text_or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}

fn kind_name(report: &Report) -> &'static str {
    match report.target.kind {
        crate::report::TargetKind::Filesystem => "fs",
        crate::report::TargetKind::Image => "image",
        crate::report::TargetKind::Repository => "repository",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_uris() {
        assert_eq!(uri("/var/lib/dpkg/status"), "var/lib/dpkg/status");
        assert_eq!(uri("a b/c#d.txt"), "a%20b/c%23d.txt");
        assert_eq!(uri("é"), "%C3%A9");
    }
}
