//! Building directory trees for tests, and reading tars back.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One entry of a tar, with everything the engine sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarEntry {
    pub(crate) path: String,
    pub(crate) kind: char,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: u64,
    pub(crate) link: Option<String>,
    pub(crate) content: Vec<u8>,
}

pub(crate) fn read_tar(bytes: &[u8]) -> Vec<TarEntry> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            TarEntry {
                path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                kind: char::from(header.entry_type().as_byte()),
                mode: header.mode().unwrap(),
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                mtime: header.mtime().unwrap(),
                link: entry
                    .link_name_bytes()
                    .map(|link| String::from_utf8_lossy(&link).into_owned()),
                content,
            }
        })
        .collect()
}

/// What to create: `dir/` for a directory, `path -> target` for a symlink, else a file holding
/// its own path.
pub(crate) fn make_tree(root: &Path, entries: &[&str]) {
    for entry in entries {
        if let Some((path, target)) = entry.split_once(" -> ") {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, path).unwrap();
        } else if let Some(dir) = entry.strip_suffix('/') {
            fs::create_dir_all(root.join(dir)).unwrap();
        } else {
            let path = root.join(entry);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, entry.as_bytes()).unwrap();
        }
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn paths(entries: &[TarEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.path.as_str()).collect()
}
