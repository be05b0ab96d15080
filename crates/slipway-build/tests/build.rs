//! Builds through the real container engine and the real store: labels, targets, build arguments,
//! failures and cancellation, as recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use slipway_build::{BuildError, BuildRequest, labels::keys};
use slipway_config::Config;
use slipway_engine::testing::{TestScope, busybox_image, engine};
use slipway_engine::{ContainerEngine, EngineError, ImageRemoval};
use slipway_store::{BuildId, BuildOutcome, SqliteStore, Store};

/// A committed project whose Dockerfile starts from the test busybox image.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(slipway_toml: &str, dockerfile: &str) -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("slipway.toml", slipway_toml);
        project.write("Dockerfile", dockerfile);
        project.git(&["init", "-q", "-b", "main"]);
        project.git(&["remote", "add", "origin", "https://example.com/shop.git"]);
        project.git(&["add", "-A"]);
        project.git(&["commit", "-q", "-m", "init"]);
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path().join(relative), text).unwrap();
    }

    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn config(&self) -> Config {
        Config::load(&self.path().join("slipway.toml")).unwrap()
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.path().join(".slipway")).unwrap())
    }
}

/// A project name unique to the test, so parallel tests never share image tags.
fn slipway_toml(scope: &TestScope, extra: &str) -> String {
    format!(
        "[project]\nname = \"{}\"\n[services.web]\nversion = \"2.0.0\"\n{extra}",
        scope.name("p").to_lowercase()
    )
}

async fn remove_images(engine: &dyn ContainerEngine, references: &[String]) {
    for reference in references {
        let _ = engine
            .remove_image(
                reference,
                // Parents stay: they are build cache that parallel tests' builds share.
                ImageRemoval {
                    force: true,
                    no_prune: true,
                },
            )
            .await;
    }
}

#[tokio::test]
async fn labels_tags_and_the_record_describe_the_commit() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "labels");
    let base = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let project = Project::new(
        &slipway_toml(&scope, ""),
        &format!("FROM {base}\nRUN echo built > /built\n"),
    );
    let commit = project.git(&["rev-parse", "HEAD"]);
    let commit_time: i64 = project
        .git(&["show", "-s", "--format=%ct", "HEAD"])
        .parse()
        .unwrap();

    let prepared = slipway_build::prepare(&project.config(), BuildRequest::default()).unwrap();
    let store = project.store();
    let built = prepared
        .run(
            Arc::new(engine.clone()),
            store.clone(),
            |_| {},
            std::future::pending(),
        )
        .await
        .unwrap();

    let labels = &built.image.labels;
    assert_eq!(labels[keys::REVISION], commit);
    assert_eq!(labels[keys::VERSION], "2.0.0");
    assert_eq!(labels[keys::SOURCE], "https://example.com/shop.git");
    assert_eq!(labels[keys::TITLE], "web");
    assert_eq!(
        labels[keys::CREATED],
        jiff::Timestamp::from_second(commit_time)
            .unwrap()
            .to_string()
    );
    assert!(!labels.contains_key(keys::DIRTY));
    for reference in &built.references {
        let image = engine
            .inspect_image(reference)
            .await
            .unwrap()
            .expect(reference);
        assert_eq!(image.id, built.image.id, "{reference}");
    }

    let record = store.build(built.build_id).unwrap().unwrap().record;
    assert_eq!(record.outcome, BuildOutcome::Succeeded);
    assert_eq!(record.image_id.as_deref(), Some(built.image.id.as_str()));
    assert_eq!(record.tags, built.references);
    assert_eq!(record.git.commit.as_deref(), Some(commit.as_str()));
    assert_eq!(record.layer_count, Some(built.image.layer_count as u32));
    assert!(record.log.contains("RUN echo built"), "{}", record.log);
    remove_images(&engine, &built.references).await;
}

#[tokio::test]
async fn target_and_build_args_reach_the_engine() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "target");
    let base = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let dockerfile = format!(
        "FROM {base} AS first\nARG GREETING=unset\nARG FROM_CONFIG=unset\n\
         RUN echo \"$GREETING $FROM_CONFIG\" > /greeting\nFROM {base} AS second\nRUN echo second > /second\n"
    );
    let project = Project::new(
        &slipway_toml(
            &scope,
            "build_args = { FROM_CONFIG = \"config\", GREETING = \"x\" }\n",
        ),
        &dockerfile,
    );
    let request = BuildRequest {
        target: Some("first".to_owned()),
        build_args: [("GREETING".to_owned(), "hello".to_owned())].into(),
        ..BuildRequest::default()
    };
    let prepared = slipway_build::prepare(&project.config(), request).unwrap();
    let built = prepared
        .run(
            Arc::new(engine.clone()),
            project.store(),
            |_| {},
            std::future::pending(),
        )
        .await
        .unwrap();

    let scope_label = scope.label();
    let spec = slipway_engine::ContainerSpec::new(built.image.id.as_str())
        .name(scope.name("check"))
        .label(scope_label.0, scope_label.1)
        .cmd(["cat", "/greeting"]);
    let container = engine.create_container(&spec).await.unwrap();
    engine.start_container(container.as_str()).await.unwrap();
    assert_eq!(engine.wait_container(container.as_str()).await.unwrap(), 0);
    let logs: Vec<_> = futures::StreamExt::collect::<Vec<_>>(
        engine.container_logs(container.as_str(), slipway_engine::LogOptions::default()),
    )
    .await;
    let text: String = logs.into_iter().map(|line| line.unwrap().text).collect();
    assert_eq!(
        text.trim(),
        "hello config",
        "--build-arg overrides slipway.toml's build_args"
    );
    remove_images(&engine, &built.references).await;
}

/// Builds `project` with `request`, returning the build and the output it printed.
async fn build(
    engine: &slipway_engine::DockerEngine,
    project: &Project,
    store: &Arc<dyn Store>,
    request: BuildRequest,
) -> (slipway_build::BuiltImage, String) {
    let prepared = slipway_build::prepare(&project.config(), request).unwrap();
    let mut output = String::new();
    let built = prepared
        .run(
            Arc::new(engine.clone()),
            store.clone(),
            |text| output.push_str(text),
            std::future::pending(),
        )
        .await
        .unwrap();
    (built, output)
}

#[tokio::test]
async fn unchanged_inputs_reuse_the_image_and_any_changed_input_builds_again() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "reuse");
    let busybox = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let base = format!(
        "localhost/slipway-test/{}:base",
        scope.name("b").to_lowercase()
    );
    engine.tag_image(&busybox, &base).await.unwrap();
    let project = Project::new(
        &slipway_toml(&scope, &format!("build_args = {{ BASE = \"{base}\" }}\n")),
        "ARG BASE\nFROM ${BASE}\nARG MESSAGE=one\nCOPY app.txt /app.txt\n\
         RUN echo $MESSAGE > /message\n",
    );
    project.write("app.txt", "v1\n");
    project.write(".gitignore", ".slipway/\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "app"]);
    let store = project.store();

    let (first, _) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(!first.reused);
    assert!(first.image.labels[keys::FINGERPRINT].starts_with("sha256:"));

    // The same inputs, even with a file's modification time changed and a tag gone: reused, and
    // every tag points at it again.
    let touched = std::fs::File::options()
        .write(true)
        .open(project.path().join("app.txt"))
        .unwrap();
    touched
        .set_modified(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .unwrap();
    engine
        .remove_image(
            &first.references[1],
            ImageRemoval {
                force: false,
                no_prune: true,
            },
        )
        .await
        .unwrap();
    let (second, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(second.reused, "{output}");
    assert_eq!(second.image.id, first.image.id);
    assert!(output.contains("Reusing"), "{output}");
    assert!(engine.image_exists(&first.references[1]).await.unwrap());
    let builds = store.builds(&Default::default()).unwrap();
    assert_eq!(builds.len(), 2, "a reused build is recorded too");
    let newest = builds.iter().max_by_key(|build| build.id.get()).unwrap();
    let newest = store.build(newest.id).unwrap().unwrap();
    assert_eq!(newest.record.outcome, BuildOutcome::Succeeded);
    assert!(
        newest.record.log.contains("Reusing"),
        "{}",
        newest.record.log
    );

    // A build argument, `--no-cache` and a different base image each build again.
    let request = BuildRequest {
        build_args: [("MESSAGE".to_owned(), "two".to_owned())].into(),
        ..BuildRequest::default()
    };
    let (with_argument, _) = build(&engine, &project, &store, request).await;
    assert!(!with_argument.reused);
    assert_ne!(with_argument.image.id, first.image.id);
    let request = BuildRequest {
        no_cache: true,
        ..BuildRequest::default()
    };
    let (uncached, _) = build(&engine, &project, &store, request).await;
    assert!(!uncached.reused);
    engine
        .tag_image(first.image.id.as_str(), &base)
        .await
        .unwrap();
    let (new_base, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(!new_base.reused, "{output}");
    assert_ne!(
        new_base.image.labels[keys::FINGERPRINT],
        first.image.labels[keys::FINGERPRINT]
    );

    remove_images(&engine, &new_base.references).await;
    engine
        .remove_image(
            &base,
            ImageRemoval {
                force: false,
                no_prune: true,
            },
        )
        .await
        .unwrap();
    for image in [&first, &with_argument, &uncached] {
        remove_images(&engine, &[image.image.id.to_string()]).await;
    }
}

/// The text of one step of a build's output: from its `STEP` line to the next.
fn step_output<'a>(output: &'a str, instruction: &str) -> &'a str {
    let start = output
        .find(instruction)
        .unwrap_or_else(|| panic!("no {instruction} in {output}"));
    let rest = &output[start..];
    &rest[..rest[1..].find("STEP").map_or(rest.len(), |end| end + 1)]
}

#[tokio::test]
async fn an_image_that_copies_its_whole_context_gets_the_users_dockerfile_and_keeps_its_cache() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "copyall");
    let busybox = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    // The image fails to build unless its copy of the Dockerfile is the user's, byte for byte,
    // and neither Slipway's labelled Dockerfile nor the `.dockerignore` made for it went in.
    let dockerfile = format!(
        "FROM {busybox}\nCOPY . /context\n\
         RUN cmp /context/Dockerfile /context/expected && \
         test ! -e /context/.slipway.Dockerfile && test ! -e /context/.dockerignore\n"
    );
    let project = Project::new(&slipway_toml(&scope, ""), &dockerfile);
    project.write("expected", &dockerfile);
    project.write(".gitignore", ".slipway/\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "expected"]);
    let store = project.store();

    let (first, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(!first.reused, "{output}");

    // A new fingerprint (here from a build argument nothing uses) changes the labels and
    // nothing the COPY reads: the engine's cache serves it.
    let request = BuildRequest {
        build_args: [("UNUSED".to_owned(), "x".to_owned())].into(),
        ..BuildRequest::default()
    };
    let (second, output) = build(&engine, &project, &store, request).await;
    assert!(!second.reused, "{output}");
    assert_ne!(
        second.image.labels[keys::FINGERPRINT],
        first.image.labels[keys::FINGERPRINT]
    );
    let copy = step_output(&output, "COPY . /context");
    assert!(copy.contains("Using cache"), "{copy}\n---\n{output}");

    remove_images(&engine, &second.references).await;
    remove_images(&engine, &[first.image.id.to_string()]).await;
}

#[tokio::test]
async fn an_unchanged_dirty_tree_reuses_its_image_and_an_edit_builds_again() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "dirty");
    let busybox = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let project = Project::new(
        &slipway_toml(&scope, ""),
        &format!("FROM {busybox}\nCOPY app.txt /app.txt\n"),
    );
    project.write("app.txt", "v1\n");
    project.write(".gitignore", ".slipway/\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "app"]);
    project.write("app.txt", "v2, not committed\n");
    let store = project.store();

    let (first, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(!first.reused, "{output}");
    assert!(
        first.references[0].ends_with("-dirty"),
        "{:?}",
        first.references
    );
    assert_eq!(first.image.labels[keys::DIRTY], "true");

    // Its `created` label is the moment of each build, yet nothing that goes into the image
    // changed: the image is reused.
    let (second, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(second.reused, "{output}");
    assert_eq!(second.image.id, first.image.id);

    project.write("app.txt", "v3, not committed either\n");
    let (third, output) = build(&engine, &project, &store, BuildRequest::default()).await;
    assert!(!third.reused, "{output}");
    assert_ne!(third.image.id, first.image.id);

    remove_images(&engine, &third.references).await;
    remove_images(&engine, &[first.image.id.to_string()]).await;
}

#[tokio::test]
async fn a_failing_step_is_recorded_as_failed_with_its_output() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "failing");
    let base = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let project = Project::new(
        &slipway_toml(&scope, ""),
        &format!("FROM {base}\nRUN echo about to fail && exit 3\n"),
    );
    let prepared = slipway_build::prepare(&project.config(), BuildRequest::default()).unwrap();
    let store = project.store();
    let mut streamed = String::new();
    let error = prepared
        .run(
            Arc::new(engine.clone()),
            store.clone(),
            |text| streamed.push_str(text),
            std::future::pending(),
        )
        .await
        .unwrap_err();
    match &error {
        BuildError::Engine(EngineError::BuildFailed { output, .. }) => {
            assert!(output.contains("about to fail"), "{output}");
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }
    assert!(
        streamed.contains("about to fail"),
        "output streams live: {streamed}"
    );
    let builds = store.builds(&Default::default()).unwrap();
    assert_eq!(builds.len(), 1);
    let build = store.build(builds[0].id).unwrap().unwrap();
    let record = &build.record;
    assert!(
        matches!(&record.outcome, BuildOutcome::Failed { reason } if reason.contains("failed")),
        "{:?}",
        record.outcome
    );
    assert!(record.log.contains("about to fail"));
    assert_eq!(record.image_id, None);
    assert!(record.tags.is_empty(), "a failed build tags nothing");
}

#[tokio::test]
async fn a_cancelled_build_is_recorded_as_cancelled() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "cancel");
    let base = busybox_image(&engine, "slipway-test/busybox:build")
        .await
        .unwrap();
    let project = Project::new(
        &slipway_toml(&scope, ""),
        &format!("FROM {base}\nRUN echo started && sleep 60\n"),
    );
    let prepared = slipway_build::prepare(&project.config(), BuildRequest::default()).unwrap();
    let store = project.store();
    // Cancelled once the step has printed that it started: on the event, not after a guess of
    // how long the engine takes to get there.
    let (step_started, cancel) = tokio::sync::oneshot::channel();
    let mut step_started = Some(step_started);
    let on_output = move |line: &str| {
        if line.trim() == "started"
            && let Some(step_started) = step_started.take()
        {
            let _ = step_started.send(());
        }
    };
    let started = std::time::Instant::now();
    let error = prepared
        .run(Arc::new(engine.clone()), store.clone(), on_output, async {
            let _ = cancel.await;
        })
        .await
        .unwrap_err();
    assert!(matches!(error, BuildError::Cancelled), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "cancellation must not wait for the step"
    );
    let record = store.build(BuildId::new(1)).unwrap().unwrap().record;
    assert_eq!(record.outcome, BuildOutcome::Cancelled);
}

#[test]
fn dirty_trees_and_detached_heads_shape_the_tags() {
    let project = Project::new(
        "[project]\nname = \"shop\"\n[services.web]\nversion = \"2.0.0\"\n",
        "FROM scratch\n",
    );
    let commit = project.git(&["rev-parse", "HEAD"]);
    let short = project.git(&["rev-parse", "--short", "HEAD"]);
    project.git(&["checkout", "-q", "--detach"]);
    project.write("untracked.txt", "x");

    let prepared = slipway_build::prepare(&project.config(), BuildRequest::default()).unwrap();
    assert_eq!(
        prepared.references(),
        [
            format!("localhost/shop/web:{commit}-dirty"),
            format!("localhost/shop/web:{short}-dirty"),
            "localhost/shop/web:2.0.0-dirty".to_owned(),
        ]
    );
    assert_eq!(prepared.labels()[keys::DIRTY], "true");
}

#[tokio::test]
async fn a_bundle_holds_the_context_without_ignored_files_and_is_recorded() {
    let project = Project::new(
        "[project]\nname = \"shop\"\n[services.web]\nversion = \"2.0.0\"\ncommand = \"sh run.sh\"\n",
        "FROM scratch\n",
    );
    project.write(".dockerignore", "secrets/\n*.log\n");
    project.write("run.sh", "echo serving\n");
    project.write(".gitignore", ".slipway/\n");
    std::fs::create_dir(project.path().join("secrets")).unwrap();
    project.write("secrets/key", "hunter2");
    project.write("debug.log", "noise");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "files"]);
    let commit = project.git(&["rev-parse", "HEAD"]);
    let store = project.store();

    let prepared = slipway_build::prepare(&project.config(), BuildRequest::default()).unwrap();
    let bundle = prepared.bundle(Arc::clone(&store)).await.unwrap();

    let mut names: Vec<String> = tar::Archive::new(bundle.tar.as_slice())
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".dockerignore",
            ".gitignore",
            "Dockerfile",
            "run.sh",
            "slipway.toml"
        ]
    );
    assert_eq!(bundle.files, 5);
    assert!(
        bundle
            .references
            .contains(&format!("localhost/shop/web:{commit}"))
    );
    let record = store.build(bundle.build_id).unwrap().unwrap().record;
    assert_eq!(record.outcome, BuildOutcome::Succeeded);
    assert_eq!(
        record.image_id.as_deref(),
        Some(bundle.content_digest.as_str())
    );
    assert_eq!(record.layer_count, Some(1));
    assert_eq!(record.tags, bundle.references);
    assert!(record.log.contains("bundled 5 files"), "{}", record.log);

    // The same commit checked out again, every file newer: the same bundle.
    let again = tempfile::tempdir().unwrap();
    let clone = Command::new("git")
        .args(["clone", "-q"])
        .arg(project.path())
        .arg(again.path())
        .status()
        .unwrap();
    assert!(clone.success());
    std::fs::write(again.path().join(".dockerignore"), "secrets/\n*.log\n").unwrap();
    let config = Config::load(&again.path().join("slipway.toml")).unwrap();
    let prepared = slipway_build::prepare(&config, BuildRequest::default()).unwrap();
    let rebuilt = prepared.bundle(store).await.unwrap();
    assert_eq!(rebuilt.content_digest, bundle.content_digest);
}
