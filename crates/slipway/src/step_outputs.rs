//! Step outputs for GitHub Actions: when a stage runs as a workflow step (`GITHUB_OUTPUT` names
//! a file, as on GitHub and under `slipway run`), it sets outputs the later steps and jobs read
//! with `steps.ID.outputs.NAME`, the way actions such as docker/build-push-action do:
//! `slipway build` sets `image`, `references` and `digest`; `slipway deploy` sets `url` and
//! `release`. Outside a workflow this does nothing.

use std::io::Write as _;

use crate::report::Failure;

/// Appends `name=value` lines to the file `GITHUB_OUTPUT` names, if any.
pub(crate) fn set(outputs: &[(&str, &str)]) -> Result<(), Failure> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|path| !path.is_empty()) else {
        return Ok(());
    };
    let mut text = String::new();
    for (name, value) in outputs {
        // Values are single lines here (references, digests, URLs); a newline would end one.
        text.push_str(&format!("{name}={}\n", value.replace(['\n', '\r'], " ")));
    }
    let failed = |error: std::io::Error| {
        Failure::new(format!(
            "cannot write the step outputs to {}: {error}",
            std::path::Path::new(&path).display()
        ))
        .hint("GITHUB_OUTPUT must name a writable file, as the workflow runner sets it")
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}
