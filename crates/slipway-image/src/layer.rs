//! Applying one layer to the file tree: decompression, whiteouts, links, and limits.
//!
//! A layer is a tar stream, compressed with gzip or zstd or not at all (told apart by magic
//! bytes, since media types lie in practice). Entries apply in order: a `.wh.NAME` file deletes
//! NAME from the layers below, `.wh..wh..opq` hides everything the layers below had in its
//! directory, a hard link copies the file it names (which must already be in the tree), and a
//! file over a directory replaces the directory with everything in it.
//!
//! Every layer is read through a counter: a layer that expands past its limit (a decompression
//! bomb) stops there, with a problem reported, instead of filling memory or time.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use crate::archive::Exactly;
use crate::error::ImageProblem;
use crate::tree::{Entry, EntryKind, FileTree, normalize};

/// Bounds on what reading an image may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed bytes of one layer.
    pub max_layer_bytes: u64,
    /// Uncompressed bytes of all layers together.
    pub max_total_bytes: u64,
    /// Entries of all layers together.
    pub max_entries: u64,
    /// The largest file whose contents are kept in memory.
    pub max_captured_file: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_layer_bytes: 32 << 30,
            max_total_bytes: 128 << 30,
            max_entries: 4_000_000,
            max_captured_file: 256 << 20,
        }
    }
}

/// Sees the contents of regular files as their layers are read, without the image holding
/// them: the secret scanner reads every file of an image this way.
pub trait FileVisitor {
    /// Whether to be shown the file at `path`, of `size` bytes.
    fn wants(&mut self, path: &str, size: u64) -> bool;

    /// The contents of the file at `path` in `layer`. A later layer may delete or replace it:
    /// ask [`Image::is_current`](crate::Image::is_current) once the image is read.
    ///
    /// # Errors
    ///
    /// An error reading `contents` (a truncated layer); it is reported as a problem of the layer.
    fn visit(&mut self, layer: usize, path: &str, contents: &mut dyn Read) -> io::Result<()>;
}

/// What applying layers has built so far.
pub(crate) struct Applier<'v> {
    pub(crate) tree: FileTree,
    /// Captured contents, by path, with the layer they came from.
    pub(crate) captured: HashMap<String, (usize, Vec<u8>)>,
    pub(crate) problems: Vec<ImageProblem>,
    pub(crate) capture: Box<dyn Fn(&str) -> bool + 'v>,
    pub(crate) visitor: Option<&'v mut dyn FileVisitor>,
    pub(crate) limits: Limits,
    total_bytes: u64,
    entries: u64,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

impl<'v> Applier<'v> {
    pub(crate) fn new(
        capture: Box<dyn Fn(&str) -> bool + 'v>,
        visitor: Option<&'v mut dyn FileVisitor>,
        limits: Limits,
    ) -> Applier<'v> {
        Applier {
            tree: FileTree::default(),
            captured: HashMap::new(),
            problems: Vec::new(),
            capture,
            visitor,
            limits,
            total_bytes: 0,
            entries: 0,
        }
    }

    /// Applies layer number `layer`, read from `raw` (`name` names it in problems). A damaged
    /// layer applies as far as it can be read, and the damage becomes a problem.
    pub(crate) fn apply(&mut self, layer: usize, name: &str, raw: Box<dyn Read + '_>) {
        let remaining_total = self.limits.max_total_bytes.saturating_sub(self.total_bytes);
        let limit = self.limits.max_layer_bytes.min(remaining_total);
        let mut read_bytes = 0;
        let outcome = decompressed(raw).and_then(|stream| {
            let counted = Counted {
                inner: stream,
                read: &mut read_bytes,
                limit,
            };
            self.apply_tar(layer, counted)
        });
        self.total_bytes += read_bytes;
        if let Err(error) = outcome {
            self.problems.push(ImageProblem {
                layer: Some(layer),
                path: name.to_owned(),
                message: format!("the layer could not be read to its end ({error}); the files before that point are scanned"),
            });
        }
    }

    fn apply_tar(&mut self, layer: usize, stream: impl Read) -> io::Result<()> {
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries()? {
            let mut entry = entry?;
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(io::Error::other(format!(
                    "the image has more than {} entries",
                    self.limits.max_entries
                )));
            }
            let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalize(&raw_path).filter(|path| !path.is_empty()) else {
                if !matches!(raw_path.as_str(), "." | "./" | "/") {
                    self.problems.push(ImageProblem {
                        layer: Some(layer),
                        path: raw_path,
                        message: "the entry's path climbs out of the image's root; it was left out"
                            .to_owned(),
                    });
                }
                continue;
            };
            let (dir, file_name) = match path.rsplit_once('/') {
                Some((dir, file_name)) => (dir, file_name),
                None => ("", path.as_str()),
            };
            if file_name == ".wh..wh..opq" {
                self.tree.remove_children(dir, layer);
                continue;
            }
            if let Some(hidden) = file_name.strip_prefix(".wh.") {
                let hidden = if dir.is_empty() {
                    hidden.to_owned()
                } else {
                    format!("{dir}/{hidden}")
                };
                self.tree.remove_below(&hidden, layer);
                continue;
            }
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644);
            let kind = header.entry_type();
            let entry_kind = if kind.is_dir() {
                EntryKind::Directory
            } else if kind.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .map(|target| String::from_utf8_lossy(&target).into_owned())
                    .unwrap_or_default();
                EntryKind::Symlink { target }
            } else if kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|target| String::from_utf8_lossy(&target).into_owned())
                    .unwrap_or_default();
                self.hard_link(layer, path, &target, mode);
                continue;
            } else if kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse() {
                EntryKind::File { size: entry.size() }
            } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                EntryKind::Other
            } else {
                continue;
            };
            let is_file = matches!(entry_kind, EntryKind::File { .. });
            self.place(
                path.clone(),
                Entry {
                    kind: entry_kind,
                    mode,
                    layer,
                },
            );
            if is_file {
                self.read_contents(layer, &path, &mut entry)?;
            }
        }
        Ok(())
    }

    /// Puts `entry` at `path`; a non-directory over a directory removes what was in it.
    fn place(&mut self, path: String, entry: Entry) {
        let replaces_directory = self
            .tree
            .get(&path)
            .is_some_and(|old| matches!(old.kind, EntryKind::Directory));
        if replaces_directory && !matches!(entry.kind, EntryKind::Directory) {
            self.tree.remove_children(&path, entry.layer + 1);
        }
        self.tree.insert(path, entry);
    }

    /// A hard link: a copy of the regular file it names, which an earlier entry must have
    /// written. A link to anything else (a directory, a path not in the tree) is left out.
    fn hard_link(&mut self, layer: usize, path: String, target: &str, mode: u32) {
        let Some(target) = normalize(target) else {
            self.problems.push(ImageProblem {
                layer: Some(layer),
                path,
                message: "the hard link's target climbs out of the image's root; it was left out"
                    .to_owned(),
            });
            return;
        };
        let Some(Entry {
            kind: EntryKind::File { size },
            ..
        }) = self.tree.get(&target)
        else {
            return;
        };
        let size = *size;
        if let Some((_, contents)) = self.captured.get(&target).filter(|_| (self.capture)(&path)) {
            let contents = contents.clone();
            self.captured.insert(path.clone(), (layer, contents));
        }
        self.place(
            path,
            Entry {
                kind: EntryKind::File { size },
                mode,
                layer,
            },
        );
    }

    /// Keeps the contents of a captured file, and shows it to the visitor.
    fn read_contents(
        &mut self,
        layer: usize,
        path: &str,
        entry: &mut tar::Entry<'_, impl Read>,
    ) -> io::Result<()> {
        let size = entry.size();
        // A layer cut short ends a member early without an error from the tar reader: half a
        // file must not pass for the whole of it.
        let mut entry = Exactly {
            inner: entry,
            remaining: size,
        };
        if (self.capture)(path) {
            if size > self.limits.max_captured_file {
                self.problems.push(ImageProblem {
                    layer: Some(layer),
                    path: path.to_owned(),
                    message: format!(
                        "{size} bytes is more than the {} read for inspection; it was not read",
                        self.limits.max_captured_file
                    ),
                });
                return Ok(());
            }
            let mut contents = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            entry.read_to_end(&mut contents)?;
            if let Some(visitor) = self.visitor.as_deref_mut()
                && visitor.wants(path, size)
            {
                visitor.visit(layer, path, &mut contents.as_slice())?;
            }
            self.captured.insert(path.to_owned(), (layer, contents));
        } else if let Some(visitor) = self.visitor.as_deref_mut()
            && visitor.wants(path, size)
        {
            visitor.visit(layer, path, &mut entry)?;
        }
        Ok(())
    }

    /// Drops captured contents that later layers deleted or replaced.
    pub(crate) fn settle(&mut self) {
        let tree = &self.tree;
        self.captured
            .retain(|path, (layer, _)| tree.get(path).is_some_and(|entry| entry.layer == *layer));
    }
}

/// The layer's tar stream, decompressed as its first bytes say.
fn decompressed<'a>(raw: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(256 << 10, raw);
    let head = buffered.fill_buf()?;
    Ok(if head.starts_with(&GZIP_MAGIC) {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&ZSTD_MAGIC) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(buffered).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a zstd stream: {error}"),
            )
        })?;
        Box::new(decoder)
    } else {
        Box::new(buffered)
    })
}

/// Counts what passes and fails once `limit` bytes have.
struct Counted<'c, R> {
    inner: R,
    read: &'c mut u64,
    limit: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        *self.read += read as u64;
        if *self.read > self.limit {
            return Err(io::Error::other(format!(
                "it expands to more than {} bytes",
                self.limit
            )));
        }
        Ok(read)
    }
}
