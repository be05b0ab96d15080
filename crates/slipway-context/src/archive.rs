//! Walking the context directory and writing it as the tar the Docker CLI would send.
//!
//! Mirrors the CLI's `archive.TarWithOptions` (moby/go-archive), so the engine sees the same
//! entries and a rebuild of an unchanged tree hits the engine's cache:
//! - entries in lexical order, paths relative to the root, no entry for the root itself,
//!   directories with a trailing `/`;
//! - permission bits (and setuid, setgid, sticky) kept, uid and gid 0, no user or group names,
//!   modification times kept to the second;
//! - symlinks stored as symlinks, never followed; a file with several hard links inside the
//!   context is stored once and then as hard links to it;
//! - an excluded directory is not entered unless an exception pattern starts with its path, and
//!   is itself left out even then (its files that are re-included still go in);
//! - sockets, FIFOs and device nodes are left out (the CLI skips sockets; the others have no
//!   place in a build context).
//!
//! A generated Dockerfile ([`ContextOptions::with_generated_dockerfile`]) travels as the CLI sends
//! one read from standard input: as a file of its own at the root, named in the `.dockerignore`
//! sent so that no `COPY` puts it in the image, after the directory's entries.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use tar::{EntryType, Header};
use walkdir::WalkDir;

use crate::clean::clean;
use crate::dockerignore::{DockerIgnore, MatchInfo};
use crate::error::ContextError;

/// Where a generated Dockerfile travels in the context, and the path the engine must build from
/// (see [`ContextOptions::with_generated_dockerfile`]).
pub const GENERATED_DOCKERFILE: &str = ".slipway.Dockerfile";

const DOCKERIGNORE: &str = ".dockerignore";

/// What to put in the context besides the directory itself.
#[derive(Debug, Clone)]
pub struct ContextOptions {
    dockerfile: PathBuf,
    generated_dockerfile: Option<Vec<u8>>,
    always_excluded: Vec<String>,
    mtime: Option<u64>,
}

impl ContextOptions {
    /// `dockerfile` is relative to the context root (an absolute path must lie inside it).
    pub fn new(dockerfile: impl Into<PathBuf>) -> ContextOptions {
        ContextOptions {
            dockerfile: dockerfile.into(),
            generated_dockerfile: None,
            always_excluded: Vec::new(),
            mtime: None,
        }
    }

    /// Sends `contents` as [`GENERATED_DOCKERFILE`] at the root, for the engine to build from,
    /// and names that file in the `.dockerignore` sent (a line appended to it, or a
    /// `.dockerignore` made that names itself too when there is none), so that no `COPY` or `ADD`
    /// puts it in the image. The Dockerfile itself is sent as it is. Slipway uses it to add its
    /// labels as one instruction: an image that copies its whole context (`COPY . .`) gets the
    /// user's Dockerfile, and a change of label never changes what such a `COPY` reads, which
    /// would miss the engine's cache. A file of the directory named [`GENERATED_DOCKERFILE`] is
    /// left out.
    pub fn with_generated_dockerfile(mut self, contents: impl Into<Vec<u8>>) -> ContextOptions {
        self.generated_dockerfile = Some(contents.into());
        self
    }

    /// Leaves out what `patterns` (`.dockerignore` syntax) match, whatever the `.dockerignore`
    /// says: they are applied after its rules, so no `!` exception there brings them back.
    /// Bundles use it to keep `.git` and the state directory out.
    pub fn always_excluding(mut self, patterns: &[&str]) -> ContextOptions {
        self.always_excluded = patterns.iter().map(|&pattern| pattern.to_owned()).collect();
        self
    }

    /// Gives every entry the modification time `seconds` (since the epoch) instead of its
    /// file's, so that the same content always makes the same tar, wherever it was checked out.
    pub fn with_mtime(mut self, seconds: u64) -> ContextOptions {
        self.mtime = Some(seconds);
        self
    }

    pub fn dockerfile(&self) -> &Path {
        &self.dockerfile
    }
}

impl Default for ContextOptions {
    /// `Dockerfile` at the root of the context.
    fn default() -> ContextOptions {
        ContextOptions::new("Dockerfile")
    }
}

/// What was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextStats {
    /// Entries other than directories: files, symlinks and hard links.
    pub files: u64,
    /// Bytes of tar written, what `docker build` reports as "Sending build context".
    pub bytes: u64,
}

/// Writes the build context of `root` to `out` as a tar stream.
///
/// The `.dockerignore` at the root decides what is left out; the Dockerfile and the
/// `.dockerignore` are always included, as the Docker CLI does.
///
/// # Errors
///
/// [`ContextError`] for a missing Dockerfile or one outside `root`, an invalid `.dockerignore`,
/// an unreadable file or directory (named), a file that shrank while being read, or `out`
/// failing.
pub fn write_context(
    root: &Path,
    options: &ContextOptions,
    out: impl Write,
) -> Result<ContextStats, ContextError> {
    let dockerfile = dockerfile_in_context(root, options.dockerfile())?;
    let dockerignore = read_dockerignore(root)?;
    let ignore = ignore_rules(root, dockerignore.as_deref(), &options.always_excluded)?
        .keeping_build_files(&dockerfile);
    let mut writer = ContextWriter {
        builder: tar::Builder::new(CountingWriter {
            inner: out,
            count: 0,
        }),
        first_path_of_inode: HashMap::new(),
        files: 0,
        generated_dockerfile: options.generated_dockerfile.as_deref(),
        dockerignore: dockerignore.as_deref(),
        mtime: options.mtime,
    };
    let mut parents: Vec<MatchInfo> = Vec::new();
    let mut walk = WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|error| unreadable_walk(root, error))?;
        let relative = slash_path(entry.path().strip_prefix(root).unwrap_or(entry.path()));
        parents.truncate(entry.depth() - 1);
        let (excluded, applied) = ignore.decide(&relative, parents.last());
        let is_dir = entry.file_type().is_dir();
        if is_dir {
            parents.push(applied);
        }
        if excluded {
            if is_dir && !ignore.must_enter(&relative) {
                walk.skip_current_dir();
            }
            continue;
        }
        let metadata = entry
            .metadata()
            .map_err(|error| unreadable_walk(root, error))?;
        writer.append(entry.path(), &relative, &metadata)?;
    }
    writer.append_generated_files(&root.join(&dockerfile))?;
    let counting = writer.builder.into_inner().map_err(ContextError::Write)?;
    Ok(ContextStats {
        files: writer.files,
        bytes: counting.count,
    })
}

/// Checks that the Dockerfile is a file inside `root`; returns its cleaned slash path.
fn dockerfile_in_context(root: &Path, dockerfile: &Path) -> Result<String, ContextError> {
    let outside = || ContextError::DockerfileOutsideContext {
        dockerfile: dockerfile.to_owned(),
        root: root.to_owned(),
    };
    let relative = match dockerfile.strip_prefix(root) {
        Ok(relative) => relative,
        Err(_) if dockerfile.is_absolute() => return Err(outside()),
        Err(_) => dockerfile,
    };
    let cleaned = clean(&relative.to_string_lossy());
    if cleaned == ".." || cleaned.starts_with("../") || cleaned == "." {
        return Err(outside());
    }
    let path = root.join(&cleaned);
    let missing = || ContextError::MissingDockerfile { path: path.clone() };
    let unreadable = |source| ContextError::Unreadable {
        path: path.clone(),
        source,
    };
    let resolved = match fs::canonicalize(&path) {
        Ok(resolved) => resolved,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(missing()),
        Err(error) => return Err(unreadable(error)),
    };
    // A symlinked Dockerfile must stay inside the context: it is never followed out of it.
    let root = fs::canonicalize(root).map_err(|source| ContextError::Unreadable {
        path: root.to_owned(),
        source,
    })?;
    if !resolved.starts_with(&root) {
        return Err(outside());
    }
    if !resolved.is_file() {
        return Err(missing());
    }
    Ok(cleaned)
}

/// The `.dockerignore` of `root` (none is no rules), followed by `always_excluded`.
/// The bytes of the `.dockerignore` at `root`, read once: they decide what is left out, and with
/// a generated Dockerfile they are sent again with a line added.
fn read_dockerignore(root: &Path) -> Result<Option<Vec<u8>>, ContextError> {
    let path = root.join(DOCKERIGNORE);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ContextError::Unreadable { path, source }),
    }
}

/// The rules of `dockerignore` (the file's bytes, if any) with `always_excluded` added.
fn ignore_rules(
    root: &Path,
    dockerignore: Option<&[u8]>,
    always_excluded: &[String],
) -> Result<DockerIgnore, ContextError> {
    let mut text = String::from_utf8_lossy(dockerignore.unwrap_or_default()).into_owned();
    for pattern in always_excluded {
        text.push('\n');
        text.push_str(pattern);
    }
    DockerIgnore::parse(&text).map_err(|source| ContextError::Ignore {
        path: root.join(DOCKERIGNORE),
        source,
    })
}

/// A relative path with `/` separators, as Docker matches and stores it.
fn slash_path(path: &Path) -> String {
    let names: Vec<_> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy()),
            _ => None,
        })
        .collect();
    names.join("/")
}

fn unreadable_walk(root: &Path, error: walkdir::Error) -> ContextError {
    let path = error.path().map_or_else(|| root.to_owned(), Path::to_owned);
    ContextError::Unreadable {
        path,
        source: error.into(),
    }
}

/// The tar being written, and what is remembered between entries.
struct ContextWriter<'a, W: Write> {
    builder: tar::Builder<CountingWriter<W>>,
    /// For files with several links: the first path written for each (device, inode).
    first_path_of_inode: HashMap<(u64, u64), String>,
    files: u64,
    /// The Dockerfile to build from, sent as [`GENERATED_DOCKERFILE`].
    generated_dockerfile: Option<&'a [u8]>,
    /// The directory's `.dockerignore`, as read before the walk.
    dockerignore: Option<&'a [u8]>,
    /// The modification time every entry gets, when not its file's.
    mtime: Option<u64>,
}

impl<W: Write> ContextWriter<'_, W> {
    /// A header as go-archive writes it with `ChownOpts{0, 0}`.
    fn header(&self, metadata: &Metadata, entry_type: EntryType) -> Header {
        let mut header = Header::new_ustar();
        header.set_entry_type(entry_type);
        header.set_mode(metadata.mode() & 0o7777);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(
            self.mtime
                .unwrap_or_else(|| u64::try_from(metadata.mtime()).unwrap_or(0)),
        );
        header.set_size(0);
        header
    }

    fn append(
        &mut self,
        path: &Path,
        relative: &str,
        metadata: &Metadata,
    ) -> Result<(), ContextError> {
        let file_type = metadata.file_type();
        let write_error = ContextError::Write;
        if self.generated_dockerfile.is_some() && !file_type.is_dir() {
            match relative {
                GENERATED_DOCKERFILE => return Ok(()),
                DOCKERIGNORE => return self.append_dockerignore(metadata),
                _ => {}
            }
        }
        if file_type.is_dir() {
            let mut header = self.header(metadata, EntryType::Directory);
            return self
                .builder
                .append_data(&mut header, format!("{relative}/"), io::empty())
                .map_err(write_error);
        }
        if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(|source| ContextError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
            let mut header = self.header(metadata, EntryType::Symlink);
            self.builder
                .append_link(&mut header, relative, target)
                .map_err(write_error)?;
        } else if file_type.is_file() {
            self.append_file(path, relative, metadata)?;
        } else {
            return Ok(());
        }
        self.files += 1;
        Ok(())
    }

    /// The directory's `.dockerignore` (followed if a symlink), with a line naming the generated
    /// Dockerfile appended. A link to nothing is left out: one is made instead
    /// ([`Self::append_generated_files`]).
    fn append_dockerignore(&mut self, metadata: &Metadata) -> Result<(), ContextError> {
        let Some(dockerignore) = self.dockerignore else {
            return Ok(());
        };
        let mut contents = dockerignore.to_vec();
        contents.extend_from_slice(format!("\n{GENERATED_DOCKERFILE}\n").as_bytes());
        self.append_contents(DOCKERIGNORE, &contents, metadata)
    }

    /// The generated Dockerfile, if any, after a `.dockerignore` naming it when the directory
    /// had none (naming itself too, so that the image does not get it either). Both take their
    /// mode and time from the Dockerfile `like`.
    fn append_generated_files(&mut self, like: &Path) -> Result<(), ContextError> {
        let Some(contents) = self.generated_dockerfile else {
            return Ok(());
        };
        let metadata = fs::metadata(like).map_err(|source| ContextError::Unreadable {
            path: like.to_owned(),
            source,
        })?;
        if self.dockerignore.is_none() {
            let made = format!("{GENERATED_DOCKERFILE}\n{DOCKERIGNORE}\n");
            self.append_contents(DOCKERIGNORE, made.as_bytes(), &metadata)?;
        }
        self.append_contents(GENERATED_DOCKERFILE, contents, &metadata)
    }

    /// A regular file holding `contents`, with the mode and time of `metadata`.
    fn append_contents(
        &mut self,
        relative: &str,
        contents: &[u8],
        metadata: &Metadata,
    ) -> Result<(), ContextError> {
        let mut header = self.header(metadata, EntryType::Regular);
        header.set_size(contents.len() as u64);
        self.builder
            .append_data(&mut header, relative, contents)
            .map_err(ContextError::Write)?;
        self.files += 1;
        Ok(())
    }

    fn append_file(
        &mut self,
        path: &Path,
        relative: &str,
        metadata: &Metadata,
    ) -> Result<(), ContextError> {
        if metadata.nlink() > 1 {
            let inode = (metadata.dev(), metadata.ino());
            if let Some(first) = self.first_path_of_inode.get(&inode) {
                let mut header = self.header(metadata, EntryType::Link);
                return self
                    .builder
                    .append_link(&mut header, relative, first)
                    .map_err(ContextError::Write);
            }
            self.first_path_of_inode.insert(inode, relative.to_owned());
        }
        let file = File::open(path).map_err(|source| ContextError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let mut header = self.header(metadata, EntryType::Regular);
        header.set_size(metadata.len());
        let mut reader = TrackedReader {
            inner: file.take(metadata.len()),
            read: 0,
            failed: false,
        };
        match self.builder.append_data(&mut header, relative, &mut reader) {
            Err(source) if reader.failed => Err(ContextError::Unreadable {
                path: path.to_owned(),
                source,
            }),
            Err(source) => Err(ContextError::Write(source)),
            Ok(()) if reader.read != metadata.len() => Err(ContextError::Changed {
                path: path.to_owned(),
            }),
            Ok(()) => Ok(()),
        }
    }
}

/// Counts what a file read gave, and whether reading failed, to tell read errors from write
/// errors and catch a file that shrank.
struct TrackedReader<R> {
    inner: R,
    read: u64,
    failed: bool,
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buffer) {
            Ok(count) => {
                self.read += count as u64;
                Ok(count)
            }
            Err(error) => {
                self.failed = true;
                Err(error)
            }
        }
    }
}

/// Counts the bytes written, for [`ContextStats::bytes`].
struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer and the metadata of a 10-byte file, to pair with another path.
    fn ten_byte_file() -> (ContextWriter<'static, Vec<u8>>, tempfile::TempDir, Metadata) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("ten"), b"0123456789").unwrap();
        let metadata = fs::metadata(dir.path().join("ten")).unwrap();
        let writer = ContextWriter {
            builder: tar::Builder::new(CountingWriter {
                inner: Vec::new(),
                count: 0,
            }),
            first_path_of_inode: HashMap::new(),
            files: 0,
            generated_dockerfile: None,
            dockerignore: None,
            mtime: None,
        };
        (writer, dir, metadata)
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_named() {
        let (mut writer, dir, metadata) = ten_byte_file();
        let gone = dir.path().join("gone");
        let error = writer.append_file(&gone, "gone", &metadata).unwrap_err();
        assert!(
            matches!(&error, ContextError::Unreadable { path, .. } if *path == gone),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read {}: ", gone.display()))
        );
    }

    #[test]
    fn a_read_failure_is_told_apart_from_a_write_failure() {
        // Reading /proc/self/mem from offset 0 fails with EIO after a successful open.
        let (mut writer, _dir, metadata) = ten_byte_file();
        let mem = Path::new("/proc/self/mem");
        let error = writer.append_file(mem, "mem", &metadata).unwrap_err();
        assert!(
            matches!(&error, ContextError::Unreadable { path, .. } if path == mem),
            "{error:?}"
        );
    }

    #[test]
    fn a_file_that_shrank_is_reported() {
        let (mut writer, dir, metadata) = ten_byte_file();
        let short = dir.path().join("short");
        fs::write(&short, b"012").unwrap();
        let error = writer.append_file(&short, "short", &metadata).unwrap_err();
        assert!(
            matches!(&error, ContextError::Changed { path } if *path == short),
            "{error:?}"
        );
    }
}
