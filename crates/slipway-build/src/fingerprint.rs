//! The fingerprint of a build's inputs, so that a rebuild of unchanged inputs reuses the image it
//! made last time instead of sending the context to the engine again.
//!
//! An image is determined by what goes into it: the context as sent (file contents, paths and
//! modes, the Dockerfile with Slipway's labels), the build arguments, the target stage, the
//! platform, and the images it starts from or copies out of. The fingerprint is a SHA-256 over
//! all of them and travels with the image as a label ([`keys::FINGERPRINT`]); when the image
//! tagged with the commit already carries the fingerprint of this build, the engine would only
//! replay its cache to arrive at that same image, so the build retags it and is done.
//!
//! What is left out on purpose: modification times (a fresh checkout of the same commit is the
//! same input; the engine's cache ignores them too), and the `created` label (the commit's time,
//! which the revision label pins already, or for a dirty tree the build's own time, which would
//! make every fingerprint of a dirty tree new). What makes a fingerprint impossible, so the
//! engine always builds: a base image that is not in the engine yet (it would be pulled), a
//! reference that cannot be expanded for certain, and inputs that live outside the context and
//! can change without any of the above changing (`ADD` of a URL or a git repository,
//! `RUN --mount=from=`).
//!
//! [`keys::FINGERPRINT`]: crate::labels::keys::FINGERPRINT

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use slipway_context::ContextOptions;
use slipway_dockerfile::{Dockerfile, InstructionKind};
use slipway_engine::ContainerEngine;

use crate::BuildError;

/// Bumped whenever what the fingerprint covers changes, so old labels never match.
const SCHEME: &str = "slipway-build-fingerprint-v2";

/// What a build is made from, as far as the fingerprint is concerned.
pub(crate) struct Inputs<'a> {
    pub context_dir: PathBuf,
    /// The context's options (Dockerfile path and the contents sent for it).
    pub context: ContextOptions,
    pub dockerfile: &'a Dockerfile,
    pub build_args: &'a BTreeMap<String, String>,
    pub target: Option<&'a str>,
    pub platform: Option<&'a str>,
}

/// The fingerprint (`sha256:<hex>`) of `inputs`, or `None` when the inputs cannot be pinned down
/// (see the module's documentation).
pub(crate) async fn compute(
    engine: &dyn ContainerEngine,
    inputs: Inputs<'_>,
) -> Result<Option<String>, BuildError> {
    let Some(images) = external_images(inputs.dockerfile, inputs.build_args) else {
        return Ok(None);
    };
    let mut image_ids = Vec::with_capacity(images.len());
    for image in images {
        match engine.inspect_image(&image).await? {
            Some(details) => image_ids.push((image, details.id.to_string())),
            None => return Ok(None),
        }
    }
    let context = context_digest(inputs.context_dir, inputs.context).await?;

    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &str| {
        for part in [name, "=", value, "\n"] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
    };
    field("scheme", SCHEME);
    field("context", &context);
    for (name, value) in inputs.build_args {
        field(&format!("build-arg {name}"), value);
    }
    field("target", inputs.target.unwrap_or_default());
    field("platform", inputs.platform.unwrap_or_default());
    for (image, id) in &image_ids {
        field(&format!("image {image}"), id);
    }
    Ok(Some(format!("sha256:{:x}", hasher.finalize())))
}

/// The SHA-256 of the context as it would be sent, with every modification time set to zero.
async fn context_digest(root: PathBuf, options: ContextOptions) -> Result<String, BuildError> {
    let options = options.with_mtime(0);
    tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256::new();
        slipway_context::write_context(&root, &options, &mut hasher)?;
        Ok(format!("{:x}", hasher.finalize()))
    })
    .await
    .map_err(|error| BuildError::Internal(format!("hashing the build context panicked: {error}")))?
}

/// The images outside the Dockerfile that a build reads (bases, `COPY --from=IMAGE`), expanded
/// with the global `ARG`s and `build_args`; `None` when one cannot be known for certain or the
/// build reads something else outside the context.
fn external_images(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Option<Vec<String>> {
    let escape = dockerfile.directives().escape();
    let globals = global_arg_values(dockerfile, build_args)?;
    let lookup = |name: &str| globals.get(name).cloned();
    let mut stage_names: Vec<&str> = Vec::new();
    let mut images = Vec::new();
    for stage in dockerfile.stages() {
        let base = slipway_dockerfile::expand_variables(stage.base().raw(), escape, &lookup)?;
        let is_earlier_stage = stage_names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(&base));
        if !is_earlier_stage && !base.eq_ignore_ascii_case("scratch") {
            images.push(base);
        }
        for instruction in dockerfile.stage_instructions(stage) {
            match &instruction.kind {
                InstructionKind::Copy(copy) => {
                    if let Some(from) = &copy.from {
                        if from.contains('$') {
                            return None;
                        }
                        let is_stage = from.parse::<usize>().is_ok()
                            || stage_names
                                .iter()
                                .any(|name| name.eq_ignore_ascii_case(from));
                        if !is_stage {
                            images.push(from.clone());
                        }
                    }
                }
                InstructionKind::Add(add) if add.files.sources.iter().any(|s| is_remote(s)) => {
                    return None;
                }
                InstructionKind::Run(run) if run.mounts.iter().any(|m| m.contains("from=")) => {
                    return None;
                }
                _ => {}
            }
        }
        if let Some(name) = stage.name() {
            stage_names.push(name);
        }
    }
    images.sort();
    images.dedup();
    Some(images)
}

/// The values of the `ARG`s before the first `FROM`: the build argument where one is given, else
/// the default (which may use the arguments declared before it).
fn global_arg_values(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let escape = dockerfile.directives().escape();
    let mut values = BTreeMap::new();
    for instruction in dockerfile.global_args() {
        let InstructionKind::Arg(declarations) = &instruction.kind else {
            continue;
        };
        for declaration in declarations {
            let value = match (build_args.get(&declaration.name), &declaration.default) {
                (Some(given), _) => given.clone(),
                (None, Some(default)) => {
                    slipway_dockerfile::expand_variables(default, escape, &|name: &str| {
                        values.get(name).cloned()
                    })?
                }
                (None, None) => continue,
            };
            values.insert(declaration.name.clone(), value);
        }
    }
    Some(values)
}

/// Whether an `ADD` source is fetched from elsewhere (a URL or a git repository).
fn is_remote(source: &str) -> bool {
    source.contains("://") || source.starts_with("git@")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(text: &str, args: &[(&str, &str)]) -> Option<Vec<String>> {
        let dockerfile = slipway_dockerfile::parse(text).unwrap();
        let args = args
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        external_images(&dockerfile, &args)
    }

    #[test]
    fn bases_are_expanded_with_global_args_and_build_args() {
        let text = "ARG REGISTRY=localhost\nARG NODE=${REGISTRY}/node:20\n\
                    FROM $NODE AS deps\nFROM \"${NODE}\" AS build\nFROM deps\nFROM scratch\n";
        assert_eq!(images(text, &[]).unwrap(), ["localhost/node:20"]);
        assert_eq!(
            images(text, &[("REGISTRY", "example.com")]).unwrap(),
            ["example.com/node:20"]
        );
        assert_eq!(images(text, &[("NODE", "node:22")]).unwrap(), ["node:22"]);
    }

    #[test]
    fn images_copied_from_count_and_stages_do_not() {
        let text = "FROM alpine AS build\nFROM busybox\nCOPY --from=build /a /a\n\
                    COPY --from=0 /b /b\nCOPY --from=tools:1 /c /c\n";
        assert_eq!(images(text, &[]).unwrap(), ["alpine", "busybox", "tools:1"]);
    }

    #[test]
    fn inputs_from_outside_the_context_make_no_fingerprint() {
        for text in [
            "FROM alpine\nADD https://example.com/a.tgz /a\n",
            "FROM alpine\nADD git@github.com:o/r.git /r\n",
            "FROM alpine\nRUN --mount=type=bind,from=tools,target=/t true\n",
            "FROM alpine\nCOPY --from=${TOOLS} /a /a\n",
            "FROM ${BASE#x}\n",
        ] {
            assert_eq!(images(text, &[]), None, "{text}");
        }
        assert!(images("FROM alpine\nADD local.tgz /a\n", &[]).is_some());
    }
}
