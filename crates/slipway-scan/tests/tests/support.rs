//! What the test modules share: the real RustSec corpus in an index, and scratch trees.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use slipway_scan::{Report, ScanOptions, Scanners, scan_directory};
use slipway_secrets::SecretScanner;
use slipway_vuln::AdvisoryIndex;

/// The RustSec advisories (CC0) kept in the repository's testdata/.
pub(crate) fn rustsec_corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rustsec-osv/crates");
    assert!(
        dir.is_dir(),
        "the RustSec corpus is missing at {}",
        dir.display()
    );
    dir
}

/// An index of the whole RustSec corpus, built once for the test binary.
pub(crate) static RUSTSEC: LazyLock<(tempfile::TempDir, AdvisoryIndex)> = LazyLock::new(|| {
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    index.import(&rustsec_corpus(), &mut |_| {}).unwrap();
    (state, index)
});

pub(crate) static SECRETS: LazyLock<SecretScanner> = LazyLock::new(SecretScanner::builtin);

pub(crate) fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Scans `root` with every scanner and the RustSec index.
pub(crate) fn scan(root: &Path) -> Report {
    let options = ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    };
    scan_directory(root, &options, Some(&RUSTSEC.1)).unwrap()
}

/// A Cargo.lock pinning `packages` from crates.io.
pub(crate) fn cargo_lock(packages: &[(&str, &str)]) -> String {
    let mut text = String::from("version = 4\n");
    for (name, version) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    text
}

/// A made-up GitHub token, assembled so no credential-looking literal is in the source.
pub(crate) fn github_token() -> String {
    ["gh", "p_", "R8xQ2mZ7vK4pL9wN3tY6bC1dF5gH0jS2aE7u"].concat()
}
