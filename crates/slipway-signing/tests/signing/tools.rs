//! Running the peer verifiers from their own prefix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests: a panic is the report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where `scripts/install-signing-test-tools` installed the verifiers.
fn prefix() -> PathBuf {
    std::env::var_os("SLIPWAY_SIGNING_TOOLS").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/slipway/signing-tools")
        },
        PathBuf::from,
    )
}

fn require(path: &Path) {
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-signing-test-tools (or scripts/install-test-tools)",
        path.display()
    );
}

/// Runs `script` with Python, the verifiers' modules importable, and `args`.
pub(crate) fn python(script: &str, args: &[&Path]) -> Output {
    let modules = prefix().join("python");
    require(&modules.join("securesystemslib"));
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONPATH", modules)
        .output()
        .expect("python3 runs")
}

/// Runs `script` with Node.js, resolving modules from the verifiers' prefix.
pub(crate) fn node(script: &str, args: &[&str]) -> Output {
    let modules = prefix().join("node/node_modules");
    require(&modules.join("@sigstore/verify"));
    Command::new("node")
        .arg("-e")
        .arg(script)
        .arg("--")
        .args(args)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs")
}

/// Asserts the peer succeeded, showing what it said when it did not.
#[track_caller]
pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "peer failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts the peer refused, and that it did so for a verification reason rather than crashing
/// on its own input handling.
#[track_caller]
pub(crate) fn assert_refused(output: &Output, because: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "peer accepted what it should refuse"
    );
    assert!(
        stderr.contains(because),
        "peer refused for another reason: {stderr}"
    );
}
