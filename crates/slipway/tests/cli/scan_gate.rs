//! `slipway deploy` where the environment sets `require_scan`: an image never scanned, or whose
//! newest scan failed its gate, is refused before the daemon starts or a release is recorded;
//! an image whose scan passed (here with its finding accepted in an ignore file) deploys. The
//! image is the example's with a vulnerable Cargo.lock inside, judged against the shared RustSec
//! advisories.

use crate::deploy::{Cleanup, json, project, slipway};
use crate::scan::{VULNERABLE_LOCK, corpus};
use crate::support::{Project, require_engine};

/// The example on the container runtime, requiring a passing scan in dev, built with smallvec
/// 1.6.0 (RUSTSEC-2021-0003, critical) in its image, and the RustSec advisories imported.
fn vulnerable_build() -> Project {
    require_engine();
    let project = project();
    project.write("Cargo.lock", VULNERABLE_LOCK);
    let dockerfile = project.read("Dockerfile").replace(
        "COPY --chown=node:node package.json ./",
        "COPY --chown=node:node package.json Cargo.lock ./",
    );
    project.write("Dockerfile", &dockerfile);
    let config = project
        .read("slipway.toml")
        .replace("port = 3000", "port = 3000\nruntime = \"container\"");
    project.write(
        "slipway.toml",
        &format!("{config}\n[environments.dev.services.hello.deploy]\nrequire_scan = true\n"),
    );
    project.commit_all("a vulnerable lockfile in the image; dev requires a scan");
    project.slipway(&["build", "--quiet"]).success();
    project.slipway(&["db", "import", &corpus()]).success();
    project
}

/// The tag of the build on `main`.
fn image(project: &Project) -> String {
    format!("localhost/{}/hello:main", project.name())
}

/// Asserts that nothing was deployed: no daemon was started and no release was recorded.
#[track_caller]
fn assert_nothing_deployed(project: &Project) {
    slipway(project, &["daemon", "status"]).failure(1);
    let releases = json(slipway(project, &["releases", "dev", "--json"]));
    assert_eq!(releases, serde_json::json!([]), "no release is recorded");
}

#[test]
fn an_image_without_a_passing_scan_is_refused_before_anything_runs() {
    let project = vulnerable_build();
    let _cleanup = Cleanup(&project);
    let repository = format!("localhost/{}/hello:", project.name());

    let unscanned = slipway(&project, &["deploy", "dev"]).failure(2);
    assert!(
        unscanned
            .stderr
            .contains(&format!("error: refusing to deploy {repository}"))
            && unscanned
                .stderr
                .contains(": dev requires a passing scan, and sha256:"),
        "{}",
        unscanned.stderr
    );
    assert!(
        unscanned.stderr.contains(&format!(
            "hint: scan it first: `slipway scan image {repository}"
        )) && unscanned.stderr.contains(
            "or set `require_scan = false` under [environments.dev.services.hello.deploy]"
        ),
        "{}",
        unscanned.stderr
    );
    assert_nothing_deployed(&project);

    project
        .slipway(&["scan", "image", &image(&project), "--fail-on", "critical"])
        .failure(1);
    let failed = slipway(&project, &["deploy", "dev"]).failure(1);
    assert!(
        failed
            .stderr
            .contains("its latest scan (#1) failed the gate"),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("cause: 1 finding at critical or above (--fail-on critical)")
            && failed.stderr.contains(": 1 critical, "),
        "the gate's reason and the counts: {}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("--fail-on high`; or set `require_scan = false`"),
        "{}",
        failed.stderr
    );
    assert_nothing_deployed(&project);
}

#[test]
fn a_passing_scan_lets_the_image_deploy() {
    let project = vulnerable_build();
    let _cleanup = Cleanup(&project);
    project.write(
        "accepted.toml",
        "[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"insert_many is never called\"\nexpires = 2999-01-01\n",
    );
    project
        .slipway(&[
            "scan",
            "image",
            &image(&project),
            "--fail-on",
            "critical",
            "--ignore-file",
            "accepted.toml",
        ])
        .success();

    let deployed = slipway(&project, &["deploy", "dev"]).success();

    assert!(
        deployed.stdout.contains("release 1 of hello serves dev"),
        "{}\n{}",
        deployed.stdout,
        deployed.stderr
    );
}
