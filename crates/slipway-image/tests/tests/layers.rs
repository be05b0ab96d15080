//! Layers applied in order: whiteouts, opaque directories, replacement, links, and which files
//! a visitor's findings still belong to.

use std::io::Read;

use slipway_image::{EntryKind, FileVisitor, ImageReader};

use crate::support::{Item, docker_archive, layer, write_archive};

fn paths(image: &slipway_image::Image) -> Vec<String> {
    image
        .tree()
        .iter()
        .map(|(path, _)| path.to_owned())
        .collect()
}

#[test]
fn whiteouts_and_opaque_directories_hide_lower_layers() {
    let base = layer(&[
        Item::Dir("etc"),
        Item::File("etc/keep", b"keep"),
        Item::File("etc/gone", b"gone"),
        Item::Dir("var/cache"),
        Item::File("var/cache/a", b"a"),
        Item::File("var/cache/b", b"b"),
        Item::Dir("opt/tool"),
        Item::File("opt/tool/bin", b"bin"),
    ]);
    let upper = layer(&[
        Item::File("etc/.wh.gone", b""),
        Item::File("var/cache/c", b"c"),
        Item::File("var/cache/.wh..wh..opq", b""),
        Item::File("opt/.wh.tool", b""),
        Item::File("etc/keep", b"changed"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(dir.path(), &docker_archive("app:1", &[base, upper]));

    let image = ImageReader::new()
        .capture(|path| path.starts_with("etc/"))
        .open(&archive)
        .unwrap();

    // `opt` itself was never an entry: layers list what they write, not their parents.
    assert_eq!(
        paths(&image),
        ["etc", "etc/keep", "var/cache", "var/cache/c"]
    );
    assert_eq!(image.read_file("etc/keep"), Some(&b"changed"[..]));
    assert_eq!(image.tree().get("etc/keep").unwrap().layer, 1);
    assert!(image.problems().is_empty(), "{:?}", image.problems());
    assert_eq!(image.info().layers, 2);
    assert_eq!(image.info().tags, ["app:1"]);
    assert_eq!(image.info().user.as_deref(), Some("app"));
}

#[test]
fn a_file_over_a_directory_replaces_it_and_what_it_held() {
    let base = layer(&[Item::Dir("app"), Item::File("app/old.js", b"x")]);
    let upper = layer(&[Item::File("app", b"now a file")]);
    let dir = tempfile::tempdir().unwrap();
    let image = ImageReader::new()
        .open(&write_archive(
            dir.path(),
            &docker_archive("a:1", &[base, upper]),
        ))
        .unwrap();
    assert_eq!(paths(&image), ["app"]);
    assert_eq!(
        image.tree().get("app").unwrap().kind,
        EntryKind::File { size: 10 }
    );
}

#[test]
fn links_resolve_and_hard_links_copy_files_already_read() {
    let base = layer(&[
        Item::File("usr/lib/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        Item::Symlink("etc/os-release", "../usr/lib/os-release"),
        Item::File("bin/busybox", b"elf"),
        Item::HardLink("bin/sh", "bin/busybox"),
        Item::HardLink("bin/nothing", "bin/missing"),
        Item::Fifo("run/pipe"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let image = ImageReader::new()
        .capture(|path| path.ends_with("os-release") || path.starts_with("bin/"))
        .open(&write_archive(dir.path(), &docker_archive("a:1", &[base])))
        .unwrap();
    assert_eq!(
        image.read_file("etc/os-release").unwrap(),
        b"ID=debian\nVERSION_ID=\"12\"\n"
    );
    assert_eq!(image.read_file("bin/sh"), Some(&b"elf"[..]));
    assert!(image.tree().get("bin/nothing").is_none());
    assert_eq!(image.tree().get("run/pipe").unwrap().kind, EntryKind::Other);
    assert_eq!(image.read_file("run/pipe"), None);
}

/// Records what it is shown.
#[derive(Default)]
struct Seen(Vec<(usize, String, Vec<u8>)>);

impl FileVisitor for Seen {
    fn wants(&mut self, path: &str, _size: u64) -> bool {
        path.ends_with(".env")
    }

    fn visit(&mut self, layer: usize, path: &str, contents: &mut dyn Read) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        contents.read_to_end(&mut bytes)?;
        self.0.push((layer, path.to_owned(), bytes));
        Ok(())
    }
}

#[test]
fn a_visitor_sees_every_version_and_the_image_says_which_is_current() {
    let base = layer(&[
        Item::File("app/.env", b"v1"),
        Item::File("app/old.env", b"old"),
        Item::File("app/main.js", b"js"),
    ]);
    let upper = layer(&[
        Item::File("app/.env", b"v2"),
        Item::File("app/.wh.old.env", b""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let image = ImageReader::new()
        .visitor(&mut seen)
        .open(&write_archive(
            dir.path(),
            &docker_archive("a:1", &[base, upper]),
        ))
        .unwrap();
    let current: Vec<(&str, &[u8])> = seen
        .0
        .iter()
        .filter(|(layer, path, _)| image.is_current(path, *layer))
        .map(|(_, path, bytes)| (path.as_str(), bytes.as_slice()))
        .collect();
    assert_eq!(seen.0.len(), 3);
    assert_eq!(current, [("app/.env", &b"v2"[..])]);
}
