//! Builds and images against the real engine.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use slipway_engine::testing::{TestScope, engine};
use slipway_engine::{BuildSpec, ContainerEngine, EngineError, ImageFilter, ImageRemoval, Port};

use crate::support::{BASE, base, build, context, run};

fn multi_stage_dockerfile() -> String {
    format!(
        "FROM {BASE} AS base\n\
         ARG GREETING=hello\n\
         RUN echo \"$GREETING from base\" > /greeting\n\
         CMD [\"cat\", \"/greeting\"]\n\
         \n\
         FROM base AS final\n\
         ARG FLAVOUR=plain\n\
         RUN echo \"$FLAVOUR\" > /flavour && cat /greeting\n\
         COPY message.txt /message.txt\n\
         EXPOSE 8080\n\
         ENV MODE=production\n\
         WORKDIR /srv\n\
         LABEL stage=final\n\
         HEALTHCHECK --interval=5s CMD [\"cat\", \"/message.txt\"]\n\
         CMD [\"cat\", \"/message.txt\"]\n"
    )
}

#[tokio::test]
async fn multi_stage_build_with_args_target_labels_and_cache() {
    let engine = engine().await;
    base(&engine).await;
    let scope = TestScope::new(&engine, "multi_stage_build");
    let dockerfile = multi_stage_dockerfile();
    let files = [
        ("Dockerfile", dockerfile.as_str()),
        ("message.txt", "the message\n"),
    ];
    let (first_tag, second_tag) = (
        format!("{}:1", scope.name("app")),
        format!("{}:latest", scope.name("app")),
    );
    let spec = BuildSpec::new()
        .tag(&first_tag)
        .tag(&second_tag)
        .build_arg("GREETING", "hi")
        .build_arg("FLAVOUR", "spicy")
        // One label only: Podman decodes labels into a Go map and applies them as LABEL steps in
        // that map's order, which changes between builds, so two labels would make the cache
        // check below flaky. The tags carry the scope's name, which is how the scope cleans up.
        .label("dev.slipway.test", "build");

    let first = build(&engine, spec.clone(), context(&files)).await;
    let image_id = first
        .result
        .unwrap_or_else(|error| panic!("{error}\n{}", first.output));
    assert!(
        first.output.contains("hi from base"),
        "the final stage's RUN printed the base stage's file:\n{}",
        first.output
    );

    let details = engine
        .inspect_image(&first_tag)
        .await
        .unwrap()
        .expect("the built image");
    assert_eq!(details.id, image_id);
    assert!(
        details.tags.contains(&first_tag) && details.tags.contains(&second_tag),
        "{:?}",
        details.tags
    );
    assert_eq!(
        details.labels.get("stage").map(String::as_str),
        Some("final")
    );
    assert_eq!(
        details.labels.get("dev.slipway.test").map(String::as_str),
        Some("build")
    );
    assert_eq!(details.config.cmd, ["cat", "/message.txt"]);
    assert_eq!(
        details.config.env.get("MODE").map(String::as_str),
        Some("production")
    );
    assert_eq!(details.config.working_dir.as_deref(), Some("/srv"));
    assert_eq!(details.config.exposed_ports, [Port::tcp(8080)]);
    assert!(details.config.healthcheck.is_some(), "{:?}", details.config);
    assert!(
        details.layer_count >= 2 && details.size_bytes > 0,
        "{details:?}"
    );
    assert_eq!(details.os, "linux");
    assert!(details.created.is_some());

    // The build args reached the build: the image holds what they made.
    let (exit_code, flavour) = run(&engine, &scope, &first_tag, &["cat", "/flavour"]).await;
    assert_eq!((exit_code, flavour.as_str()), (0, "spicy\n"));

    // The same build again is served from the cache, and makes the same image.
    let second = build(&engine, spec.clone(), context(&files)).await;
    assert_eq!(second.result.unwrap(), image_id, "{}", second.output);
    assert!(second.output.contains("Using cache"), "{}", second.output);

    // Stopping at the first stage makes that stage's image.
    let target_tag = format!("{}:base", scope.name("app"));
    let target_spec = BuildSpec::new()
        .tag(&target_tag)
        .target("base")
        .labels(scope.labels());
    let base_stage = build(&engine, target_spec, context(&files)).await;
    let base_id = base_stage
        .result
        .unwrap_or_else(|error| panic!("{error}\n{}", base_stage.output));
    assert_ne!(base_id, image_id);
    let base_details = engine.inspect_image(&target_tag).await.unwrap().unwrap();
    assert_eq!(base_details.config.cmd, ["cat", "/greeting"]);
    assert!(!base_details.labels.contains_key("stage"));
}

#[tokio::test]
async fn a_failing_run_is_a_build_failure_carrying_its_output() {
    let engine = engine().await;
    base(&engine).await;
    let scope = TestScope::new(&engine, "failing_run");
    let dockerfile = format!("FROM {BASE}\nRUN echo about-to-fail && echo details >&2 && exit 3\n");
    let spec = BuildSpec::new()
        .tag(format!("{}:1", scope.name("broken")))
        .labels(scope.labels());
    let failed = build(&engine, spec, context(&[("Dockerfile", &dockerfile)])).await;
    match failed.result {
        Err(EngineError::BuildFailed { message, output }) => {
            assert!(message.contains("exit 3"), "{message}");
            assert!(
                output.contains("about-to-fail") && output.contains("details"),
                "{output}"
            );
        }
        other => panic!("expected BuildFailed, got {other:?}\n{}", failed.output),
    }
    assert!(failed.output.contains("about-to-fail"), "{}", failed.output);
}

#[tokio::test]
async fn a_context_that_cannot_be_read_is_an_io_error() {
    let engine = engine().await;
    let unreadable = futures::stream::iter([
        Ok(Bytes::from_static(&[0; 512])),
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "src/secret.key: permission denied",
        )),
    ])
    .boxed();
    let failed = build(&engine, BuildSpec::new(), unreadable).await;
    match failed.result {
        Err(EngineError::Io { during, source }) => {
            assert_eq!(during, "reading the build context");
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
            assert_eq!(source.to_string(), "src/secret.key: permission denied");
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[tokio::test]
async fn tag_inspect_list_and_remove() {
    let engine = engine().await;
    base(&engine).await;
    let scope = TestScope::new(&engine, "tag_inspect_list");
    let built_tag = format!("{}:1", scope.name("img"));
    let spec = BuildSpec::new()
        .tag(&built_tag)
        .labels(scope.labels())
        .label("role", "listed");
    let dockerfile = format!("FROM {BASE}\nRUN echo built > /built\n");
    let built = build(&engine, spec, context(&[("Dockerfile", &dockerfile)])).await;
    let image_id = built
        .result
        .unwrap_or_else(|error| panic!("{error}\n{}", built.output));

    let other_tag = format!("{}:other", scope.name("img"));
    engine.tag_image(&built_tag, &other_tag).await.unwrap();
    let details = engine.inspect_image(&other_tag).await.unwrap().unwrap();
    assert_eq!(details.id, image_id);
    assert!(engine.image_exists(image_id.as_str()).await.unwrap());

    let (key, value) = scope.label();
    let listed = engine
        .list_images(&ImageFilter::new().label(key, value).label("role", "listed"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, image_id);
    let mut tags = listed[0].tags.clone();
    tags.sort();
    assert_eq!(tags, [built_tag.clone(), other_tag.clone()]);
    assert!(
        engine
            .list_images(&ImageFilter::new().label(key, value).label("role", "other"))
            .await
            .unwrap()
            .is_empty()
    );
    let by_reference = engine
        .list_images(&ImageFilter::new().reference(&other_tag))
        .await
        .unwrap();
    assert_eq!(
        by_reference
            .iter()
            .map(|image| &image.id)
            .collect::<Vec<_>>(),
        [&image_id]
    );

    // Removing one tag of two only untags; force removes the image and every tag.
    engine
        .remove_image(&other_tag, ImageRemoval::default())
        .await
        .unwrap();
    assert!(engine.inspect_image(&other_tag).await.unwrap().is_none());
    assert!(engine.image_exists(&built_tag).await.unwrap());
    engine.tag_image(&built_tag, &other_tag).await.unwrap();
    engine
        .remove_image(
            image_id.as_str(),
            ImageRemoval {
                force: true,
                // Parents are build cache that parallel tests share: keep them.
                no_prune: true,
            },
        )
        .await
        .unwrap();
    assert!(!engine.image_exists(&built_tag).await.unwrap());
    assert!(!engine.image_exists(&other_tag).await.unwrap());

    match engine
        .remove_image(&built_tag, ImageRemoval::default())
        .await
    {
        Err(EngineError::ImageNotFound { reference }) => assert_eq!(reference, built_tag),
        other => panic!("expected ImageNotFound, got {other:?}"),
    }
    match engine
        .tag_image("slipway-test/no-such-image:1", &other_tag)
        .await
    {
        Err(EngineError::ImageNotFound { reference }) => {
            assert_eq!(reference, "slipway-test/no-such-image:1")
        }
        other => panic!("expected ImageNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn saved_images_load_back_as_they_were() {
    let engine = engine().await;
    base(&engine).await;
    let scope = TestScope::new(&engine, "save_load");
    let tag = format!("{}:1", scope.name("saved"));
    let dockerfile = format!("FROM {BASE}\nRUN echo saved > /saved\n");
    let spec = BuildSpec::new().tag(&tag).labels(scope.labels());
    let built = build(&engine, spec, context(&[("Dockerfile", &dockerfile)])).await;
    let image_id = built
        .result
        .unwrap_or_else(|error| panic!("{error}\n{}", built.output));

    let archive: Vec<u8> = engine
        .export_image(&tag)
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .unwrap();
    let mut entries = tar::Archive::new(archive.as_slice());
    let names: Vec<String> = entries
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names.iter().any(|name| name == "manifest.json"),
        "{names:?}"
    );

    engine
        .remove_image(
            &tag,
            ImageRemoval {
                force: true,
                // Parents are build cache that parallel tests share: keep them.
                no_prune: true,
            },
        )
        .await
        .unwrap();
    assert!(!engine.image_exists(&tag).await.unwrap());
    let loaded = engine
        .load_image(futures::stream::iter([Ok(Bytes::from(archive))]).boxed())
        .await
        .unwrap();
    assert_eq!(loaded, std::slice::from_ref(&tag));
    assert_eq!(
        engine.inspect_image(&tag).await.unwrap().unwrap().id,
        image_id
    );

    let missing: Result<Vec<Bytes>, _> = engine
        .export_image("slipway-test/no-such-image:1")
        .try_collect()
        .await;
    assert!(
        matches!(missing, Err(EngineError::ImageNotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_root_filesystem_imports_as_a_tagged_image() {
    let engine = engine().await;
    let scope = TestScope::new(&engine, "import");
    let tag = format!("{}:1", scope.name("imported"));
    let rootfs = crate::support::context(&[("hello.txt", "hello\n")]);
    let image_id = engine.import_image(rootfs, &tag).await.unwrap();
    let details = engine
        .inspect_image(&tag)
        .await
        .unwrap()
        .expect("the imported image");
    assert_eq!(details.id, image_id);
    assert_eq!(details.layer_count, 1);
    assert!(details.tags.contains(&tag), "{:?}", details.tags);
}

#[tokio::test]
async fn push_and_pull_report_an_unreachable_registry() {
    let engine = engine().await;
    base(&engine).await;
    let scope = TestScope::new(&engine, "push_pull");
    // Port 9 on the loopback: nothing listens there.
    let remote = format!("127.0.0.1:9/{}:1", scope.name("pushed"));
    engine.tag_image(BASE, &remote).await.unwrap();
    for (action, result) in [
        ("push", engine.push_image(&remote, None).await),
        (
            "pull",
            engine
                .pull_image("127.0.0.1:9/slipway-test/absent:1", None)
                .await,
        ),
    ] {
        match result {
            Err(error @ (EngineError::Failed { .. } | EngineError::Api { .. })) => {
                assert!(
                    error.to_string().contains("127.0.0.1:9"),
                    "{action}: {error}"
                );
            }
            other => panic!("{action}: expected the engine's failure, got {other:?}"),
        }
    }
    engine
        .remove_image(&remote, ImageRemoval::default())
        .await
        .unwrap();
}

/// Podman 4.3 answers an inspection with a 500 naming another image ("image not known") when
/// some image is removed at that moment; `inspect_image` asks again. Here images are made and
/// removed without pause while another image is inspected over and over: every inspection must
/// find it.
#[tokio::test]
async fn inspections_find_the_image_while_other_images_are_removed() {
    let engine = engine().await;
    let base = base(&engine).await;
    let scope = TestScope::new(&engine, "inspect_while_removing");
    const IMAGES: usize = 15;
    let remover = {
        let engine = engine.clone();
        let tag = scope.name("churn");
        tokio::spawn(async move {
            for number in 0..IMAGES {
                let reference = format!("{tag}:{number}");
                let rootfs = context(&[("number", &number.to_string())]);
                let id = engine.import_image(rootfs, &reference).await.unwrap();
                let removal = ImageRemoval {
                    force: true,
                    no_prune: false,
                };
                engine.remove_image(id.as_str(), removal).await.unwrap();
            }
        })
    };
    let mut inspections = 0;
    while !remover.is_finished() {
        let details = engine.inspect_image(&base).await.unwrap();
        assert!(details.is_some(), "{base} went missing from an inspection");
        inspections += 1;
    }
    remover.await.unwrap();
    assert!(inspections > 0);
}
