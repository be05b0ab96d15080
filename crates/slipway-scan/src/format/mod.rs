//! Machine-readable renderings of a [`Report`](crate::Report): SARIF for code scanning,
//! CycloneDX and SPDX for bills of materials. JSON of the report itself is its `Serialize`
//! impl.

mod sarif;
mod sbom;

pub use sarif::to_sarif;
pub use sbom::{to_cyclonedx, to_spdx};
