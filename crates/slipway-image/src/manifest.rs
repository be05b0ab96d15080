//! Finding an image's config and layers: `docker save`'s `manifest.json`, or an OCI layout's
//! `index.json` down to one image manifest (through nested indexes, picking the platform).

use std::io::Read;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::archive::ImageFiles;

/// The largest JSON part read (manifests, indexes, configs are kilobytes).
const MAX_JSON_BYTES: u64 = 16 << 20;
/// How deep indexes may nest.
const MAX_INDEX_DEPTH: usize = 4;

const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// What a manifest says: where the config and the layers are.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The config's name in the image files.
    pub(crate) config: String,
    /// The layers' names, base first.
    pub(crate) layers: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) manifest_digest: Option<String>,
}

/// A manifest problem: the part and what is wrong with it.
pub(crate) type PartError = (String, String);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    os: String,
    architecture: String,
}

#[derive(Deserialize)]
struct OciManifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Reads part `name` as JSON of type `T`.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    files: &dyn ImageFiles,
    name: &str,
) -> Result<(T, Vec<u8>), PartError> {
    let bytes = read_part(files, name)?;
    let value =
        serde_json::from_slice(&bytes).map_err(|error| (name.to_owned(), error.to_string()))?;
    Ok((value, bytes))
}

/// Reads part `name` whole, refusing more than a JSON part can reasonably be.
pub(crate) fn read_part(files: &dyn ImageFiles, name: &str) -> Result<Vec<u8>, PartError> {
    let reader = files
        .open(name)
        .map_err(|error| (name.to_owned(), error.to_string()))?;
    let mut bytes = Vec::new();
    reader
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| (name.to_owned(), error.to_string()))?;
    if bytes.len() as u64 > MAX_JSON_BYTES {
        return Err((
            name.to_owned(),
            format!("larger than {MAX_JSON_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// What to do when an archive holds several images.
pub(crate) enum Choice<'a> {
    /// The one whose tag (or OCI ref name) is this.
    Named(&'a str),
    /// The only one, or the one for this machine's platform.
    Only,
}

/// Several images and no way to choose.
pub(crate) struct Ambiguous(pub(crate) Vec<String>);

/// `docker save`'s `manifest.json`.
pub(crate) fn docker_archive(
    files: &dyn ImageFiles,
    choice: &Choice<'_>,
) -> Result<Result<Located, Ambiguous>, PartError> {
    let (manifests, _) = read_json::<Vec<DockerManifest>>(files, "manifest.json")?;
    let chosen = match choice {
        Choice::Named(name) => manifests.iter().position(|manifest| {
            manifest
                .repo_tags
                .iter()
                .flatten()
                .any(|tag| tag_matches(tag, name))
        }),
        Choice::Only if manifests.len() == 1 => Some(0),
        Choice::Only => None,
    };
    let Some(index) = chosen else {
        let names = manifests
            .iter()
            .map(|manifest| {
                manifest
                    .repo_tags
                    .iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        return Ok(Err(Ambiguous(names)));
    };
    let manifest = &manifests[index];
    // Docker 25 and later write an OCI index beside manifest.json: it has the manifest digest.
    let manifest_digest = (manifests.len() == 1)
        .then(|| read_json::<OciIndex>(files, "index.json").ok())
        .flatten()
        .and_then(|(index, _)| {
            (index.manifests.len() == 1).then(|| index.manifests[0].digest.clone())
        });
    Ok(Ok(Located {
        config: manifest.config.clone(),
        layers: manifest.layers.clone(),
        tags: manifest.repo_tags.clone().unwrap_or_default(),
        manifest_digest,
    }))
}

/// An OCI layout's `index.json`, down to one image manifest.
pub(crate) fn oci_layout(
    files: &dyn ImageFiles,
    choice: &Choice<'_>,
) -> Result<Result<Located, Ambiguous>, PartError> {
    let (index, _) = read_json::<OciIndex>(files, "index.json")?;
    let mut candidates: Vec<(Descriptor, Vec<String>)> = Vec::new();
    flatten(files, index, 0, &mut candidates)?;
    let chosen = match choice {
        Choice::Named(name) => candidates
            .iter()
            .position(|(_, names)| names.iter().any(|tag| tag_matches(tag, name))),
        Choice::Only if candidates.len() == 1 => Some(0),
        Choice::Only => {
            let here = host_platform();
            let matching: Vec<usize> = candidates
                .iter()
                .enumerate()
                .filter(|(_, (descriptor, _))| {
                    descriptor.platform.as_ref().is_some_and(|platform| {
                        (platform.os.as_str(), platform.architecture.as_str()) == here
                    })
                })
                .map(|(position, _)| position)
                .collect();
            (matching.len() == 1).then(|| matching[0])
        }
    };
    let Some(position) = chosen else {
        return Ok(Err(Ambiguous(
            candidates
                .iter()
                .map(|(descriptor, names)| {
                    names
                        .first()
                        .cloned()
                        .unwrap_or_else(|| descriptor.digest.clone())
                })
                .collect(),
        )));
    };
    let (descriptor, names) = candidates.swap_remove(position);
    let located = image_manifest(
        files,
        &blob_name(&descriptor.digest),
        Some(descriptor.digest.clone()),
    )?;
    Ok(Ok(Located {
        tags: names,
        ..located
    }))
}

/// An image manifest: config and layers as blob names.
pub(crate) fn image_manifest(
    files: &dyn ImageFiles,
    name: &str,
    digest: Option<String>,
) -> Result<Located, PartError> {
    let (manifest, bytes) = read_json::<OciManifest>(files, name)?;
    parse_image_manifest(manifest, digest.or_else(|| Some(digest_of(&bytes))))
}

/// An image manifest given as bytes (a registry's push).
pub(crate) fn image_manifest_bytes(bytes: &[u8]) -> Result<Located, PartError> {
    let manifest: OciManifest = serde_json::from_slice(bytes)
        .map_err(|error| ("manifest".to_owned(), error.to_string()))?;
    parse_image_manifest(manifest, Some(digest_of(bytes)))
}

fn parse_image_manifest(
    manifest: OciManifest,
    digest: Option<String>,
) -> Result<Located, PartError> {
    Ok(Located {
        config: blob_name(&manifest.config.digest),
        layers: manifest
            .layers
            .iter()
            .map(|layer| blob_name(&layer.digest))
            .collect(),
        tags: Vec::new(),
        manifest_digest: digest,
    })
}

/// Collects the image manifests an index leads to, with their ref names.
fn flatten(
    files: &dyn ImageFiles,
    index: OciIndex,
    depth: usize,
    into: &mut Vec<(Descriptor, Vec<String>)>,
) -> Result<(), PartError> {
    for descriptor in index.manifests {
        let names: Vec<String> = descriptor
            .annotations
            .iter()
            .filter(|(key, _)| {
                key.as_str() == "org.opencontainers.image.ref.name"
                    || key.as_str() == "io.containerd.image.name"
            })
            .map(|(_, value)| value.clone())
            .collect();
        let nested = descriptor
            .media_type
            .as_deref()
            .is_some_and(|media| INDEX_MEDIA_TYPES.contains(&media));
        if nested {
            if depth >= MAX_INDEX_DEPTH {
                return Err((
                    blob_name(&descriptor.digest),
                    "indexes nest too deep".to_owned(),
                ));
            }
            let (inner, _) = read_json::<OciIndex>(files, &blob_name(&descriptor.digest))?;
            let start = into.len();
            flatten(files, inner, depth + 1, into)?;
            // Names given to an index name what it holds.
            for (_, inner_names) in &mut into[start..] {
                if inner_names.is_empty() {
                    inner_names.extend(names.iter().cloned());
                }
            }
        } else {
            into.push((descriptor, names));
        }
    }
    Ok(())
}

/// `sha256:<hex>` → `blobs/sha256/<hex>`.
pub(crate) fn blob_name(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("blobs/{algorithm}/{hex}"),
        None => format!("blobs/{digest}"),
    }
}

pub(crate) fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Whether tag `tag` (`repo:tag`, or a bare OCI ref name like `1.0`) is what `name` asks for;
/// a name without a tag means `latest`, as `docker` reads it.
fn tag_matches(tag: &str, name: &str) -> bool {
    let with_latest = |reference: &str| {
        let last = reference.rsplit('/').next().unwrap_or(reference);
        if last.contains(':') {
            reference.to_owned()
        } else {
            format!("{reference}:latest")
        }
    };
    tag == name
        || with_latest(tag) == with_latest(name)
        || tag
            .strip_prefix("localhost/")
            .is_some_and(|tag| with_latest(tag) == with_latest(name))
}

/// This machine's platform in OCI's words: `(os, architecture)`, what an index is read for.
pub fn host_platform() -> (&'static str, &'static str) {
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    ("linux", architecture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_as_docker_reads_names() {
        assert!(tag_matches("app:1.0", "app:1.0"));
        assert!(tag_matches("app:latest", "app"));
        assert!(tag_matches("localhost/app:latest", "app"));
        assert!(tag_matches("registry:5000/app:latest", "registry:5000/app"));
        assert!(!tag_matches("app:1.0", "app"));
        assert_eq!(blob_name("sha256:ab"), "blobs/sha256/ab");
    }
}
