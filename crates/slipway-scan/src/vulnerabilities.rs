//! Matching an inventory against the advisory index, for directories and images alike.

use slipway_inventory::{Inventory, Package};
use slipway_vuln::{AdvisoryIndex, IndexError};

use crate::report::{AffectedPackage, Report, Skipped, Vulnerability};

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
    if advisories.is_empty()? {
        report.skipped.push(Skipped::new(
            advisories.path().display().to_string(),
            "the advisory index is empty, so no package was checked: import advisories with `slipway db import`",
        ));
        return Ok(());
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
