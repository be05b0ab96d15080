//! The files an image is stored as: members of a tar archive (`docker save`, or an OCI layout
//! tarred), files of a directory (an OCI layout), or blobs a registry holds.
//!
//! A tar archive is indexed once: each member's name, data offset and size, so a layer is read
//! by seeking to it instead of reading the archive from the start again. Links between members
//! (`docker save`'s legacy format links identical layers) are followed within the archive,
//! never to the file system, and a member name can never reach outside the archive or the
//! directory: names with `..` or an absolute path are refused.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Where an image's parts are read from, by their name in the image (`manifest.json`,
/// `blobs/sha256/<hex>`).
pub(crate) trait ImageFiles {
    /// Opens a part for reading.
    ///
    /// # Errors
    ///
    /// `NotFound` when there is no such part; any I/O error reading it.
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>>;

    /// Whether the part exists.
    fn exists(&self, name: &str) -> bool;
}

/// Blobs by digest, as a registry keeps them. Any `BlobStore` is an [`ImageFiles`] whose parts
/// are named `blobs/<algorithm>/<hex>`, the OCI layout's names.
pub trait BlobStore {
    /// Opens the blob with `digest` (`sha256:<hex>`).
    ///
    /// # Errors
    ///
    /// `NotFound` when the store has no such blob; any I/O error reading it.
    fn open_blob(&self, digest: &str) -> io::Result<Box<dyn Read + '_>>;
}

/// Adapts a [`BlobStore`] to [`ImageFiles`].
pub(crate) struct Blobs<'a>(pub(crate) &'a dyn BlobStore);

impl ImageFiles for Blobs<'_> {
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        match name
            .strip_prefix("blobs/")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((algorithm, hex)) => self.0.open_blob(&format!("{algorithm}:{hex}")),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} is not a blob"),
            )),
        }
    }

    fn exists(&self, _name: &str) -> bool {
        false
    }
}

/// The name of a part as a relative path inside the image, or `None` when it would leave it.
pub(crate) fn clean_name(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    (!parts.is_empty() && !name.starts_with('/')).then(|| parts.join("/"))
}

/// The parts of an OCI layout (or an extracted docker-archive) in a directory.
pub(crate) struct DirectoryFiles {
    pub(crate) root: PathBuf,
}

impl DirectoryFiles {
    fn path(&self, name: &str) -> io::Result<PathBuf> {
        clean_name(name)
            .map(|clean| self.root.join(clean))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name:?} would leave the image"),
                )
            })
    }
}

impl ImageFiles for DirectoryFiles {
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        let path = self.path(name)?;
        // A part that is a symbolic link could point anywhere on this machine.
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{name} is a symbolic link"),
            ));
        }
        Ok(Box::new(File::open(path)?))
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name).is_ok_and(|path| path.is_file())
    }
}

/// A member of an indexed tar archive.
#[derive(Debug, Clone)]
enum Member {
    Data {
        offset: u64,
        size: u64,
    },
    /// A symbolic or hard link to another member.
    Link {
        target: String,
    },
}

/// The parts of a tar archive, indexed.
pub(crate) struct TarFiles {
    path: PathBuf,
    members: HashMap<String, Member>,
    /// Where reading the archive stopped early (truncated), if it did.
    pub(crate) truncated: Option<String>,
}

impl TarFiles {
    /// Indexes the tar archive at `path`. A truncated archive keeps the members read before the
    /// damage and says where it stopped.
    pub(crate) fn index(path: &Path) -> io::Result<TarFiles> {
        let file = File::open(path)?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let mut truncated = None;
        let entries = archive.entries_with_seek()?;
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    truncated = Some(error.to_string());
                    break;
                }
            };
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = clean_name(&name) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let member = if kind.is_symlink() || kind.is_hard_link() {
                let Ok(Some(target)) = entry.link_name() else {
                    continue;
                };
                let target = target.to_string_lossy();
                // A symbolic link is relative to its own directory; a hard link to the root.
                let target = if kind.is_symlink() {
                    match name.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{target}"),
                        None => target.into_owned(),
                    }
                } else {
                    target.into_owned()
                };
                match resolve_dots(&target) {
                    Some(target) => Member::Link { target },
                    None => continue,
                }
            } else if kind.is_file() {
                Member::Data {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                }
            } else {
                continue;
            };
            members.insert(name, member);
        }
        Ok(TarFiles {
            path: path.to_owned(),
            members,
            truncated,
        })
    }

    /// The data member `name` stands for, following links (at most 8).
    fn data(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = clean_name(name)?;
        for _ in 0..8 {
            match self.members.get(&name)? {
                Member::Data { offset, size } => return Some((*offset, *size)),
                Member::Link { target } => name = target.clone(),
            }
        }
        None
    }
}

impl ImageFiles for TarFiles {
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        let (offset, size) = self.data(name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} is not in {}", self.path.display()),
            )
        })?;
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(Exactly {
            inner: file.take(size),
            remaining: size,
        }))
    }

    fn exists(&self, name: &str) -> bool {
        self.data(name).is_some()
    }
}

/// A reader of exactly `remaining` bytes: running out early is an error, not a short member.
pub(crate) struct Exactly<R> {
    pub(crate) inner: R,
    pub(crate) remaining: u64,
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if read == 0 && self.remaining > 0 && !buffer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends {} bytes before this member does",
                    self.remaining
                ),
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

/// Resolves `.` and `..` in a relative path; `None` if it climbs above its start.
fn resolve_dots(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_image() {
        assert_eq!(
            clean_name("./blobs/sha256/ab"),
            Some("blobs/sha256/ab".to_owned())
        );
        assert_eq!(clean_name("a//b/./c"), Some("a/b/c".to_owned()));
        assert_eq!(clean_name("../etc/passwd"), None);
        assert_eq!(clean_name("/etc/passwd"), None);
        assert_eq!(clean_name(""), None);
        assert_eq!(resolve_dots("a/../b"), Some("b".to_owned()));
        assert_eq!(resolve_dots("a/../../b"), None);
    }
}
