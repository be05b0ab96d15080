//! Every way an image arrives: `docker save` archives, OCI layouts (directory or tar, gzip,
//! zstd or plain layers, nested indexes, several platforms), and a registry's blobs.

use std::collections::HashMap;
use std::io::Read;

use slipway_image::{BlobStore, ImageError, ImageReader};

use crate::support::{Item, docker_archive, gzip, layer, oci_layout, sha256, write_archive};

const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const PLAIN: &str = "application/vnd.oci.image.layer.v1.tar";

fn os_release(id: &str) -> Vec<u8> {
    layer(&[Item::File(
        "etc/os-release",
        format!("ID={id}\n").as_bytes(),
    )])
}

fn read_id(image: &slipway_image::Image) -> String {
    String::from_utf8_lossy(image.read_file("etc/os-release").unwrap()).into_owned()
}

fn capture_os_release() -> ImageReader<'static> {
    ImageReader::new().capture(|path| path == "etc/os-release")
}

#[test]
fn a_docker_archive_with_compressed_and_plain_layers() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        &docker_archive(
            "web:2",
            &[
                gzip(&os_release("debian")),
                layer(&[Item::File("app/x", b"x")]),
            ],
        ),
    );
    let image = capture_os_release().open(&archive).unwrap();
    assert_eq!(read_id(&image), "ID=debian\n");
    assert!(image.info().id.starts_with("sha256:") && image.info().id.len() == 71);
    assert_eq!(image.info().manifest_digest, None);
    assert_eq!(image.info().os.as_deref(), Some("linux"));
}

#[test]
fn an_oci_layout_with_gzip_zstd_and_plain_layers() {
    let dir = tempfile::tempdir().unwrap();
    let zstd = ruzstd::encoding::compress_to_vec(
        layer(&[Item::File("etc/os-release", b"ID=alpine\n")]).as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let layers = vec![
        (gzip(&os_release("debian")), GZIP),
        (zstd, ZSTD),
        (layer(&[Item::File("srv/a", b"a")]), PLAIN),
    ];
    oci_layout(dir.path(), &[("1.0", layers, "amd64")], false);
    let image = capture_os_release().open(dir.path()).unwrap();
    assert_eq!(
        read_id(&image),
        "ID=alpine\n",
        "the zstd layer applies over the gzip one"
    );
    assert!(
        image
            .info()
            .manifest_digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(image.info().tags, ["1.0"]);
    assert!(image.tree().get("srv/a").is_some());
}

#[test]
fn a_nested_index_picks_this_machines_platform_or_the_named_image() {
    let dir = tempfile::tempdir().unwrap();
    let host = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    };
    let other = if host == "amd64" { "arm64" } else { "amd64" };
    oci_layout(
        dir.path(),
        &[
            ("v1-host", vec![(gzip(&os_release("host")), GZIP)], host),
            ("v1-other", vec![(gzip(&os_release("other")), GZIP)], other),
        ],
        true,
    );
    assert_eq!(
        read_id(&capture_os_release().open(dir.path()).unwrap()),
        "ID=host\n"
    );
    assert_eq!(
        read_id(
            &capture_os_release()
                .name("v1-other")
                .open(dir.path())
                .unwrap()
        ),
        "ID=other\n"
    );
}

#[test]
fn several_images_without_a_choice_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    oci_layout(
        dir.path(),
        &[("a", vec![], "amd64"), ("b", vec![], "amd64")],
        false,
    );
    let error = ImageReader::new().open(dir.path()).unwrap_err();
    assert!(
        matches!(&error, ImageError::Ambiguous { count: 2, names, .. } if names == &["a", "b"]),
        "{error}"
    );
}

#[test]
fn an_oci_layout_in_a_tar_reads_like_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    oci_layout(
        &layout,
        &[("1.0", vec![(gzip(&os_release("tarred")), GZIP)], "amd64")],
        false,
    );
    let archive = dir.path().join("layout.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    builder.append_dir_all(".", &layout).unwrap();
    builder.finish().unwrap();
    drop(builder);
    assert_eq!(
        read_id(&capture_os_release().open(&archive).unwrap()),
        "ID=tarred\n"
    );
}

#[test]
fn what_is_not_an_image_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let error = ImageReader::new().open(dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("neither manifest.json"),
        "{error}"
    );
    let missing = ImageReader::new()
        .open(&dir.path().join("nope.tar"))
        .unwrap_err();
    assert!(matches!(missing, ImageError::Read { .. }));
    std::fs::write(dir.path().join("manifest.json"), "{not json").unwrap();
    let broken = ImageReader::new().open(dir.path()).unwrap_err();
    assert!(
        broken.to_string().contains(": manifest.json: ") && broken.to_string().contains("line 1"),
        "{broken}"
    );
}

/// Blobs in memory, as a registry's storage would hand them over.
struct Memory(HashMap<String, Vec<u8>>);

impl BlobStore for Memory {
    fn open_blob(&self, digest: &str) -> std::io::Result<Box<dyn Read + '_>> {
        match self.0.get(digest) {
            Some(bytes) => Ok(Box::new(bytes.as_slice())),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                digest.to_owned(),
            )),
        }
    }
}

#[test]
fn a_registrys_blobs_read_from_the_manifest() {
    let config = crate::support::config("1000");
    let layer = gzip(&os_release("pushed"));
    let digest = |bytes: &[u8]| format!("sha256:{}", sha256(bytes));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest(&config), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest(&layer), "size": layer.len() }],
    }))
    .unwrap();
    let store = Memory(HashMap::from([
        (digest(&config), config.clone()),
        (digest(&layer), layer),
    ]));
    let image = capture_os_release()
        .from_blobs("registry/app:1", &store, &manifest)
        .unwrap();
    assert_eq!(read_id(&image), "ID=pushed\n");
    assert_eq!(
        image.info().manifest_digest.as_deref(),
        Some(digest(&manifest).as_str())
    );
    assert_eq!(image.info().id, digest(&config));
}
