//! Hostile images: paths that climb out, links that point out or loop, decompression bombs,
//! truncated archives and layers. None of them writes anything, hangs, or stops the rest.

use std::time::{Duration, Instant};

use slipway_image::{ImageReader, Limits};

use crate::support::{Item, docker_archive, gzip, layer, write_archive};

#[test]
fn member_paths_that_climb_out_are_refused_and_reported() {
    let hostile = layer(&[
        Item::RawName("../../../../tmp/slipway-escape", b"pwned"),
        Item::RawName("a/../../etc/cron.d/x", b"pwned"),
        Item::File("ok/file", b"fine"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let image = ImageReader::new()
        .capture(|_| true)
        .open(&write_archive(
            dir.path(),
            &docker_archive("a:1", &[hostile]),
        ))
        .unwrap();
    let paths: Vec<&str> = image.tree().iter().map(|(path, _)| path).collect();
    assert_eq!(paths, ["ok/file"]);
    assert_eq!(image.problems().len(), 2);
    assert!(
        image.problems()[0].message.contains("climbs out"),
        "{:?}",
        image.problems()
    );
    assert!(!std::path::Path::new("/tmp/slipway-escape").exists());
}

#[test]
fn links_never_leave_the_image_and_loops_end() {
    let base = layer(&[
        Item::Symlink("data/passwd", "/../../../../etc/passwd"),
        Item::Symlink("a", "b"),
        Item::Symlink("b", "a"),
        Item::HardLink("stolen", "../../../../etc/shadow"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let image = ImageReader::new()
        .capture(|_| true)
        .open(&write_archive(dir.path(), &docker_archive("a:1", &[base])))
        .unwrap();
    // The host's /etc/passwd exists; the image's does not: nothing is read from the host.
    assert_eq!(
        image.tree().resolve("data/passwd").as_deref(),
        Some("etc/passwd")
    );
    assert_eq!(image.read_file("data/passwd"), None);
    assert_eq!(image.read_file("a"), None);
    assert!(image.tree().get("stolen").is_none());
    assert!(
        image
            .problems()
            .iter()
            .any(|problem| problem.path == "stolen"),
        "{:?}",
        image.problems()
    );
}

#[test]
fn a_decompression_bomb_stops_at_the_limit_and_later_layers_still_apply() {
    // 64 MiB of zeros in a file: a few kilobytes compressed.
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&layer(&[Item::File("bomb", &zeros)]));
    assert!(bomb.len() < 1 << 20);
    let after = layer(&[Item::File("etc/os-release", b"ID=alpine\n")]);
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(dir.path(), &docker_archive("a:1", &[bomb, after]));
    let limits = Limits {
        max_layer_bytes: 8 << 20,
        ..Limits::default()
    };

    let started = Instant::now();
    let image = ImageReader::new()
        .capture(|_| true)
        .limits(limits)
        .open(&archive)
        .unwrap();

    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(image.problems().len(), 1);
    assert_eq!(image.problems()[0].layer, Some(0));
    assert!(
        image.problems()[0]
            .message
            .contains("expands to more than 8388608 bytes"),
        "{:?}",
        image.problems()
    );
    assert_eq!(image.read_file("etc/os-release"), Some(&b"ID=alpine\n"[..]));
}

#[test]
fn a_file_too_large_to_capture_is_reported_not_read() {
    let big = vec![b'x'; 3 << 20];
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        &docker_archive("a:1", &[layer(&[Item::File("var/lib/dpkg/status", &big)])]),
    );
    let limits = Limits {
        max_captured_file: 1 << 20,
        ..Limits::default()
    };
    let image = ImageReader::new()
        .capture(|_| true)
        .limits(limits)
        .open(&archive)
        .unwrap();
    assert_eq!(image.read_file("var/lib/dpkg/status"), None);
    assert!(
        image.problems()[0].message.contains("was not read"),
        "{:?}",
        image.problems()
    );
}

#[test]
fn a_truncated_archive_keeps_what_came_before_the_damage() {
    let first = layer(&[Item::File("etc/os-release", b"ID=debian\n")]);
    let second = layer(&[Item::File("big", &vec![7u8; 1 << 20])]);
    let full = docker_archive("a:1", &[first, second]);
    // manifest.json is written last: move it first so the truncation hits the second layer.
    let dir = tempfile::tempdir().unwrap();
    let reordered = manifest_first(&full);
    let cut = &reordered[..reordered.len() - (600 << 10)];
    let archive = write_archive(dir.path(), cut);

    let image = ImageReader::new().capture(|_| true).open(&archive).unwrap();

    assert_eq!(image.read_file("etc/os-release"), Some(&b"ID=debian\n"[..]));
    let messages: Vec<String> = image
        .problems()
        .iter()
        .map(|problem| format!("{:?} {} {}", problem.layer, problem.path, problem.message))
        .collect();
    assert!(
        messages
            .iter()
            .any(|message| message.starts_with("Some(1)")),
        "{messages:?}"
    );
}

/// The same archive with manifest.json and the config moved before the layers.
fn manifest_first(archive: &[u8]) -> Vec<u8> {
    let mut members: Vec<(String, Vec<u8>)> = tar::Archive::new(archive)
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            (name, data)
        })
        .collect();
    members.sort_by_key(|(name, _)| !(name == "manifest.json" || name.ends_with(".json")));
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}
