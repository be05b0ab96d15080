//! `slipway deploy` where the environment sets `require_scan`: an image never scanned, whose
//! newest scan failed its gate, could not be checked (no advisories for what it holds), or was
//! not judged by the environment's scan policy, is refused before the daemon starts or a release
//! is recorded; an image whose scan passed that policy (here with its finding accepted in an
//! ignore file) deploys, and `deploy --build` scans what it built. The image is the example's
//! with a vulnerable Cargo.lock inside, judged against the shared RustSec advisories.

use crate::deploy::{Cleanup, json, project, slipway};
use crate::scan::{VULNERABLE_LOCK, corpus};
use crate::support::{Project, require_engine};

/// The example on the container runtime, requiring in dev a scan that passed at critical (its
/// image holds files the secret rules flag, rated high), built with smallvec
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
        &format!(
            "{config}\n[environments.dev.services.hello.deploy]\nrequire_scan = true\n\n\
             [environments.dev.scan]\nfail_on = \"critical\"\n"
        ),
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
        )) && unscanned.stderr.contains(" --env dev` records the verdict")
            && unscanned.stderr.contains(
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
            .contains("--env dev`; or set `require_scan = false`"),
        "{}",
        failed.stderr
    );
    assert_nothing_deployed(&project);
}

#[test]
fn a_scan_judged_by_the_environments_policy_lets_the_image_deploy() {
    let project = vulnerable_build();
    let _cleanup = Cleanup(&project);
    project.write(
        ".slipway-ignore.toml",
        "[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"insert_many is never called\"\nexpires = 2999-01-01\n",
    );
    let scan = |extra: &[&str], env: &[(&str, &str)]| {
        let image = image(&project);
        let mut args = vec!["scan", "image", image.as_str(), "--format", "json"];
        args.extend_from_slice(extra);
        project.slipway_with(&args, env)
    };

    // Judged against an advisory database that knows nothing about crates.io, the image's
    // Cargo.lock was not checked: the scan says so, and the deploy refuses it.
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap();
    let unchecked = scan(&["--env", "dev"], &[("SLIPWAY_ADVISORY_DB", empty)]).failure(1);
    let unchecked: serde_json::Value = serde_json::from_str(&unchecked.stdout).unwrap();
    assert_eq!(unchecked["verdict"]["outcome"], "not_checked");
    assert_eq!(
        unchecked["advisories"]["missing_ecosystems"],
        serde_json::json!(["crates.io"])
    );
    let refused = slipway(&project, &["deploy", "dev"]).failure(1);
    assert!(
        refused.stderr.contains("could not check its packages")
            && refused.stderr.contains("holds nothing about crates.io")
            && refused.stderr.contains("hint: run `slipway db update`"),
        "{}",
        refused.stderr
    );
    assert_nothing_deployed(&project);

    let unjudged = scan(&[], &[]);
    let report: serde_json::Value = serde_json::from_str(&unjudged.success().stdout).unwrap();
    assert_eq!(report["verdict"]["outcome"], "passed");
    let refused = slipway(&project, &["deploy", "dev"]).failure(2);
    assert!(
        refused
            .stderr
            .contains("passed, but was not judged by dev's scan policy (fail_on = \"critical\")"),
        "a scan without a threshold does not satisfy require_scan: {}",
        refused.stderr
    );
    assert_nothing_deployed(&project);

    // `--build` scans what it built, by dev's policy, before deploying it.
    let deployed = slipway(&project, &["deploy", "dev", "--build"]).success();
    let output = format!("{}\n{}", deployed.stdout, deployed.stderr);
    assert!(
        output.contains("release 1 of hello serves dev") && output.contains(" for dev: passed"),
        "{output}"
    );
}
