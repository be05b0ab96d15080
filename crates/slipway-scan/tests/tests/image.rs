//! Scanning images: archives made here with a dpkg or apk database listing known-vulnerable
//! versions, a Cargo.lock, and secrets (one deleted by a later layer); and an image built on the
//! real container engine from the local busybox base, exported, and scanned.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use slipway_scan::{ImageSource, ScanOptions, Scanners, scan_engine_image, scan_image};
use slipway_vuln::AdvisoryIndex;

use crate::support::{SECRETS, cargo_lock, github_token, rustsec_corpus, write};

const DPKG_STATUS: &str = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n";
const APK_INSTALLED: &str =
    "P:libcrypto3\nV:3.1.4-r1\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n";

/// The RustSec corpus plus distribution advisories written here (the real Debian and Alpine
/// feeds are not part of the shared data): openssl fixed in 3.0.13-1~deb12u1 on Debian 12, and
/// in 3.1.4-r5 on Alpine 3.19 (an `_rc` pre-release is still affected).
static ADVISORIES: LazyLock<(tempfile::TempDir, AdvisoryIndex)> = LazyLock::new(|| {
    let records = tempfile::tempdir().unwrap();
    let record = |id: &str, ecosystem: &str, fixed: &str, severity: &str| {
        format!(
            r#"{{"id": "{id}", "modified": "2024-02-01T00:00:00Z", "summary": "openssl: {id}",
                "database_specific": {{"severity": "{severity}"}},
                "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "openssl"}},
                               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
        )
    };
    write(
        records.path(),
        "DSA-5600-1.json",
        &record("DSA-5600-1", "Debian:12", "3.0.13-1~deb12u1", "high"),
    );
    write(
        records.path(),
        "ALPINE-CVE-2024-0727.json",
        &record("ALPINE-CVE-2024-0727", "Alpine:v3.19", "3.1.4-r5", "medium"),
    );
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    index.import(records.path(), &mut |_| {}).unwrap();
    index.import(&rustsec_corpus(), &mut |_| {}).unwrap();
    drop(records);
    (state, index)
});

fn options() -> ScanOptions<'static> {
    ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    }
}

fn tar_layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, text.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn docker_archive(dir: &Path, layers: &[Vec<u8>]) -> std::path::PathBuf {
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, data).unwrap();
    };
    let config = br#"{"architecture": "amd64", "os": "linux", "config": {"User": "1000"}}"#;
    append("config.json", config);
    let names: Vec<String> = (0..layers.len())
        .map(|index| format!("layer{index}/layer.tar"))
        .collect();
    for (name, layer) in names.iter().zip(layers) {
        append(name, layer);
    }
    let manifest =
        serde_json::json!([{ "Config": "config.json", "RepoTags": ["app:1"], "Layers": names }]);
    append("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let path = dir.join("app.tar");
    std::fs::write(&path, builder.into_inner().unwrap()).unwrap();
    path
}

fn ids(report: &slipway_scan::Report) -> BTreeSet<(String, String)> {
    report
        .vulnerabilities
        .iter()
        .map(|v| (v.id.clone(), v.package.name.clone()))
        .collect()
}

#[test]
fn a_debian_image_with_a_cargo_lock_and_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let base = tar_layer(&[
        (
            "usr/lib/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        ("var/lib/dpkg/status", DPKG_STATUS),
        ("tmp/build.env", &format!("TOKEN={}\n", github_token())),
    ]);
    let mut links = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    links
        .append_link(&mut header, "etc/os-release", "../usr/lib/os-release")
        .unwrap();
    let links = links.into_inner().unwrap();
    let app = tar_layer(&[
        ("app/Cargo.lock", &cargo_lock(&[("smallvec", "1.6.0")])),
        (
            "app/config.js",
            &format!("module.exports = {{ token: \"{}\" }};\n", github_token()),
        ),
        ("tmp/.wh.build.env", ""),
    ]);
    let archive = docker_archive(dir.path(), &[base, links, app]);

    let report = scan_image(
        ImageSource::Archive {
            path: &archive,
            image: None,
        },
        "app:1",
        &options(),
        Some(&ADVISORIES.1),
    )
    .unwrap();

    assert_eq!(report.os.as_ref().unwrap().id, "debian");
    assert_eq!(
        ids(&report),
        BTreeSet::from([
            ("DSA-5600-1".to_owned(), "libssl3".to_owned()),
            ("RUSTSEC-2021-0003".to_owned(), "smallvec".to_owned())
        ])
    );
    let openssl = report
        .vulnerabilities
        .iter()
        .find(|v| v.id == "DSA-5600-1")
        .unwrap();
    assert_eq!(openssl.package.path, "var/lib/dpkg/status");
    assert_eq!(
        openssl.package.purl,
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    let secrets: Vec<&str> = report.secrets.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        secrets,
        ["app/config.js"],
        "the secret in a file a later layer deleted is not in the image"
    );
    let image = report.target.image.as_ref().unwrap();
    assert_eq!(
        (image.layers, image.tags.as_slice()),
        (3, &["app:1".to_owned()][..])
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

#[test]
fn an_alpine_image_orders_rc_before_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let vulnerable = tar_layer(&[
        ("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
        ("lib/apk/db/installed", APK_INSTALLED),
    ]);
    let archive = docker_archive(dir.path(), &[vulnerable]);
    let report = scan_image(
        ImageSource::Archive {
            path: &archive,
            image: None,
        },
        "alpine-app",
        &options(),
        Some(&ADVISORIES.1),
    )
    .unwrap();
    assert_eq!(
        ids(&report),
        BTreeSet::from([("ALPINE-CVE-2024-0727".to_owned(), "libcrypto3".to_owned())])
    );

    let fixed = tar_layer(&[(
        "lib/apk/db/installed",
        &APK_INSTALLED.replace("3.1.4-r1", "3.1.4-r5"),
    )]);
    let rc = tar_layer(&[(
        "lib/apk/db/installed",
        &APK_INSTALLED.replace("3.1.4-r1", "3.1.4_rc2-r0"),
    )]);
    let base = tar_layer(&[("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")]);
    let patched = docker_archive(dir.path(), &[base.clone(), fixed]);
    let report = scan_image(
        ImageSource::Archive {
            path: &patched,
            image: None,
        },
        "fixed",
        &options(),
        Some(&ADVISORIES.1),
    )
    .unwrap();
    assert!(
        report.vulnerabilities.is_empty(),
        "{:?}",
        report.vulnerabilities
    );
    let candidate = docker_archive(dir.path(), &[base, rc]);
    let report = scan_image(
        ImageSource::Archive {
            path: &candidate,
            image: None,
        },
        "rc",
        &options(),
        Some(&ADVISORIES.1),
    )
    .unwrap();
    assert_eq!(
        report.vulnerabilities.len(),
        1,
        "3.1.4_rc2 comes before the fix 3.1.4-r5"
    );
}

#[test]
fn a_truncated_layer_is_skipped_and_the_rest_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = tar_layer(&[
        ("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        ("var/lib/dpkg/status", DPKG_STATUS),
    ]);
    let many: Vec<(String, String)> = (0..200)
        .map(|n| (format!("crate{n}"), "1.0.0".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many
        .iter()
        .map(|(name, version)| (name.as_str(), version.as_str()))
        .collect();
    let mut broken = tar_layer(&[("app/Cargo.lock", &cargo_lock(&many))]);
    broken.truncate(broken.len() / 2);
    let archive = docker_archive(dir.path(), &[good, broken]);
    let report = scan_image(
        ImageSource::Archive {
            path: &archive,
            image: None,
        },
        "app",
        &options(),
        Some(&ADVISORIES.1),
    )
    .unwrap();
    assert_eq!(
        ids(&report),
        BTreeSet::from([("DSA-5600-1".to_owned(), "libssl3".to_owned())])
    );
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(
        report.skipped[0].path.starts_with("layer 1: "),
        "{:?}",
        report.skipped
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_built_on_the_engine_is_exported_and_scanned() {
    use futures::StreamExt;
    use slipway_engine::testing::{TestScope, busybox_image, engine};
    use slipway_engine::{BuildEvent, BuildSpec, ContainerEngine};

    let engine = engine().await;
    let base = busybox_image(&engine, "slipway-test/busybox:1")
        .await
        .expect("the busybox base image");
    let scope = TestScope::new(&engine, "scan_image");
    let dockerfile = format!(
        "FROM {base}\nCOPY os-release /etc/os-release\nCOPY status /var/lib/dpkg/status\nCOPY Cargo.lock /app/Cargo.lock\nUSER nobody\n"
    );
    let files = [
        ("Dockerfile", dockerfile.as_str()),
        ("os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        ("status", DPKG_STATUS),
        (
            "Cargo.lock",
            &cargo_lock(&[("smallvec", "1.6.0"), ("time", "0.1.43")]),
        ),
    ];
    let mut context = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        context
            .append_data(&mut header, path, text.as_bytes())
            .unwrap();
    }
    let context = bytes::Bytes::from(context.into_inner().unwrap());
    let tag = format!("{}:1", scope.name("scanned"));
    let spec = BuildSpec::new().tag(&tag).labels(scope.labels());
    let mut build = engine.build_image(spec, futures::stream::iter([Ok(context)]).boxed());
    let mut output = String::new();
    while let Some(event) = build.next().await {
        match event {
            Ok(BuildEvent::Output(text)) => output.push_str(&text),
            Ok(BuildEvent::Built { .. }) => {}
            Err(error) => panic!("{error}\n{output}"),
        }
    }

    let report = scan_engine_image(&engine, &tag, &options(), Some(&ADVISORIES.1))
        .await
        .unwrap();

    let found = ids(&report);
    assert!(
        found.contains(&("DSA-5600-1".to_owned(), "libssl3".to_owned())),
        "{found:?}"
    );
    assert!(
        found.contains(&("RUSTSEC-2021-0003".to_owned(), "smallvec".to_owned())),
        "{found:?}"
    );
    assert!(
        found.contains(&("RUSTSEC-2020-0071".to_owned(), "time".to_owned())),
        "{found:?}"
    );
    assert!(
        report
            .target
            .image
            .as_ref()
            .unwrap()
            .id
            .starts_with("sha256:")
    );
    assert!(report.packages.len() >= 4);
    let missing =
        scan_engine_image(&engine, "slipway-test/no-such-image:1", &options(), None).await;
    assert!(
        matches!(missing, Err(slipway_scan::ScanError::Engine(_))),
        "{missing:?}"
    );
}
