//! Matching an inventory against the advisory index, for directories and images alike.

use std::collections::BTreeSet;

use slipway_inventory::{Inventory, Package};
use slipway_vuln::{AdvisoryIndex, Ecosystem, IndexError};

use crate::report::{AdvisoryCoverage, AffectedPackage, Report, Skipped, Vulnerability};

/// Moves `inventory` into `report`, with the vulnerabilities `advisories` knows of in its
/// packages. What could not be read or checked goes to the report's skipped list.
pub(crate) fn record(
    report: &mut Report,
    inventory: Inventory,
    advisories: Option<&AdvisoryIndex>,
) -> Result<(), IndexError> {
    report.os = inventory.os;
    report
        .skipped
        .extend(inventory.problems.into_iter().map(|problem| Skipped {
            path: problem.path,
            line: problem.line,
            column: problem.column,
            reason: problem.message,
        }));
    report.packages = inventory.packages;
    let Some(advisories) = advisories else {
        return Ok(());
    };
    if report.packages.is_empty() {
        return Ok(());
    }
    let coverage = coverage(advisories, &report.packages)?;
    let missing = coverage.missing_ecosystems.clone();
    report.advisories = Some(coverage);
    if !missing.is_empty() {
        report.skipped.push(Skipped::new(
            advisories.path().display().to_string(),
            format!(
                "the advisory database holds nothing about {}, so their packages were not checked: run `slipway db update`",
                missing.join(", ")
            ),
        ));
    }
    let queries: Vec<_> = report.packages.iter().map(Package::query).collect();
    let findings = advisories.find(&queries)?;
    for found in findings.matches {
        let package = &report.packages[found.package];
        let advisory = &found.advisory;
        report.vulnerabilities.push(Vulnerability {
            id: advisory.id.clone(),
            aliases: advisory.aliases.clone(),
            summary: advisory.summary.clone(),
            severity: advisory.severity,
            cvss_score: advisory.cvss_score,
            cvss_vector: advisory.cvss_vector.clone(),
            fixed_versions: found.fixed_versions,
            references: advisory.references.clone(),
            package: affected_package(package),
        });
    }
    for unchecked in findings.unchecked {
        let package = &report.packages[unchecked.package];
        report.skipped.push(Skipped {
            path: package.path.clone(),
            line: package.line,
            column: None,
            reason: format!(
                "{} {} was not checked against {}: {}",
                package.name, package.version, unchecked.advisory, unchecked.reason
            ),
        });
    }
    Ok(())
}

/// What the database can vouch for about `packages`: its age, and the ecosystems it knows
/// nothing about.
fn coverage(
    advisories: &AdvisoryIndex,
    packages: &[Package],
) -> Result<AdvisoryCoverage, IndexError> {
    let ecosystems: BTreeSet<&Ecosystem> =
        packages.iter().map(|package| &package.ecosystem).collect();
    let mut missing_ecosystems = Vec::new();
    for ecosystem in ecosystems {
        if !advisories.holds(ecosystem)? {
            missing_ecosystems.push(ecosystem.to_string());
        }
    }
    Ok(AdvisoryCoverage {
        database: advisories.path().display().to_string(),
        updated_at: advisories.updated_at()?,
        missing_ecosystems,
    })
}

fn affected_package(package: &Package) -> AffectedPackage {
    AffectedPackage {
        name: package.name.clone(),
        version: package.version.clone(),
        ecosystem: package.ecosystem.to_string(),
        purl: package.purl.clone(),
        path: package.path.clone(),
        line: package.line,
    }
}
