//! Building layers and images in the formats engines write.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

/// One entry of a layer.
pub(crate) enum Item<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    /// A file whose name is written into the header as is, `..` and all, as a hostile archive
    /// would.
    RawName(&'a str, &'a [u8]),
    Fifo(&'a str),
}

pub(crate) fn layer(items: &[Item<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        match item {
            Item::File(path, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, *data).unwrap();
            }
            Item::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .unwrap();
            }
            Item::Symlink(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            Item::HardLink(path, target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            Item::Fifo(path) => {
                header.set_entry_type(tar::EntryType::Fifo);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .unwrap();
            }
            Item::RawName(name, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                let field = &mut header.as_old_mut().name;
                field.fill(0);
                field[..name.len()].copy_from_slice(name.as_bytes());
                header.set_cksum();
                builder.append(&header, *data).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn config(user: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "User": user, "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": [] },
    }))
    .unwrap()
}

fn append(builder: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, data).unwrap();
}

/// A `docker save` archive of one image with `layers` (each stored as given, so compressed
/// layers stay compressed).
pub(crate) fn docker_archive(tag: &str, layers: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let config = config("app");
    let config_name = format!("{}.json", sha256(&config));
    append(&mut builder, &config_name, &config);
    let mut names = Vec::new();
    for layer in layers {
        let name = format!("{}/layer.tar", sha256(layer));
        append(&mut builder, &name, layer);
        names.push(name);
    }
    let manifest = json!([{ "Config": config_name, "RepoTags": [tag], "Layers": names }]);
    append(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    builder.into_inner().unwrap()
}

/// An image of an OCI layout: its ref name, its layers with their media types, its architecture.
pub(crate) type LayoutImage<'a> = (&'a str, Vec<(Vec<u8>, &'a str)>, &'a str);

/// An OCI layout in `dir` with one image per entry of `images`, listed directly or through a
/// nested index.
pub(crate) fn oci_layout(dir: &Path, images: &[LayoutImage<'_>], nested: bool) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    let mut descriptors = Vec::new();
    for (name, layers, architecture) in images {
        let (config_digest, config_size) = put(&config("1000"));
        let layer_descriptors: Vec<_> = layers
            .iter()
            .map(|(bytes, media_type)| {
                let (digest, size) = put(bytes);
                json!({ "mediaType": media_type, "digest": digest, "size": size })
            })
            .collect();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size },
            "layers": layer_descriptors,
        }))
        .unwrap();
        let (digest, size) = put(&manifest);
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": { "os": "linux", "architecture": architecture },
            "annotations": { "org.opencontainers.image.ref.name": name },
        }));
    }
    let top = if nested {
        let inner =
            serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": descriptors })).unwrap();
        let (digest, size) = put(&inner);
        vec![
            json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size }),
        ]
    } else {
        descriptors
    };
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion": "1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": top })).unwrap(),
    )
    .unwrap();
}

pub(crate) fn write_archive(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("image.tar");
    std::fs::write(&path, bytes).unwrap();
    path
}
