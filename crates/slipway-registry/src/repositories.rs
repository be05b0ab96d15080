//! What each repository holds: links to blobs, manifest revisions, tags, referrers and pull times.
//!
//! Blobs are stored once ([`crate::storage`]); a repository holds them through links, small files
//! under its directory. Layout under `repositories/<name>/`:
//!
//! ```text
//! _layers/sha256/<hex>                      a blob pushed or mounted here (empty file)
//! _manifests/revisions/sha256/<hex>         a manifest pushed here: RevisionRecord (JSON)
//! _manifests/tags/<tag>                     TagRecord (JSON): the digest and when it was pushed
//! _manifests/pulls/sha256/<hex>             its modification time is the manifest's last pull
//! _referrers/sha256/<subject hex>/<sha256-hex>   a manifest here whose subject is that digest
//! _lock                                     serializes changes to tags and revisions
//! ```
//!
//! Every file is written atomically ([`crate::files`]). Changes that touch several files (a
//! manifest push writes its revision, its referrer link and its tag) take the repository's lock,
//! an advisory file lock, so that a `slipway registry gc` or `retention` in another process and
//! the server never interleave them. Reads take no lock: each file is whole.
//!
//! Everything here blocks; the registry calls it on tokio's blocking pool.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::digest::{Algorithm, Digest};
use crate::files;
use crate::name::{RepositoryName, Tag};
use crate::storage::StorageError;

/// A pull is recorded at most this often per manifest, so that pulls do not turn into writes.
const PULL_RESOLUTION: Duration = Duration::from_secs(60);

/// A tag: what it points at and when it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TagRecord {
    /// The manifest it points at.
    pub(crate) digest: Digest,
    /// When it was last pushed (set to this digest).
    pub(crate) pushed_at: jiff::Timestamp,
}

/// A manifest pushed to a repository: what the registry needs without reading the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RevisionRecord {
    /// Its media type (the `Content-Type` it is served with).
    pub(crate) media_type: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// When it was pushed.
    pub(crate) pushed_at: jiff::Timestamp,
    /// The artifact type the referrers API reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) artifact_type: Option<String>,
    /// The manifest it refers to, if it is a referrer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<Digest>,
    /// The manifests it lists, if it is an index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) manifests: Vec<Digest>,
    /// Its annotations, reported by the referrers API.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

/// The repositories under one storage root.
#[derive(Debug, Clone)]
pub(crate) struct Repositories {
    root: PathBuf,
    tmp_dir: PathBuf,
}

/// Held while a repository's tags and revisions change; released on drop.
#[derive(Debug)]
pub(crate) struct RepositoryLock {
    _file: File,
}

impl Repositories {
    /// The repositories of the storage at `storage_root`.
    pub(crate) fn new(storage_root: &Path) -> Repositories {
        Repositories {
            root: storage_root.join("repositories"),
            tmp_dir: storage_root.join("tmp"),
        }
    }

    /// The storage root, which holds `repositories/` and `tmp/`.
    fn storage_root(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    fn dir(&self, name: &RepositoryName) -> PathBuf {
        let mut dir = self.root.clone();
        dir.extend(name.components());
        dir
    }

    fn layer_path(&self, name: &RepositoryName, digest: &Digest) -> PathBuf {
        digest_path(&self.dir(name).join("_layers"), digest)
    }

    fn revision_path(&self, name: &RepositoryName, digest: &Digest) -> PathBuf {
        digest_path(&self.dir(name).join("_manifests/revisions"), digest)
    }

    fn tags_dir(&self, name: &RepositoryName) -> PathBuf {
        self.dir(name).join("_manifests/tags")
    }

    fn pull_path(&self, name: &RepositoryName, digest: &Digest) -> PathBuf {
        digest_path(&self.dir(name).join("_manifests/pulls"), digest)
    }

    fn referrers_dir(&self, name: &RepositoryName, subject: &Digest) -> PathBuf {
        digest_path(&self.dir(name).join("_referrers"), subject)
    }

    /// Takes the repository's lock, waiting for another holder (in this process or another).
    pub(crate) fn lock(&self, name: &RepositoryName) -> Result<RepositoryLock, StorageError> {
        let dir = self.dir(name);
        files::create_dir_all(&dir)?;
        let path = dir.join("_lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StorageError::io(&path, "opening", source))?;
        file.lock()
            .map_err(|source| StorageError::io(&path, "locking", source))?;
        Ok(RepositoryLock { _file: file })
    }

    /// Whether the repository exists: anything was ever pushed or mounted to it.
    pub(crate) fn exists(&self, name: &RepositoryName) -> bool {
        let dir = self.dir(name);
        dir.join("_manifests").is_dir() || dir.join("_layers").is_dir()
    }

    // Blob links.

    /// Links a blob into the repository. The link is written afresh even when one exists, so
    /// its time says when the repository last received the blob (see
    /// [`Repositories::remove_stale_link`]).
    pub(crate) fn link_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), StorageError> {
        files::write_atomic(&self.tmp_dir, &self.layer_path(name, digest), b"")
    }

    /// Removes the repository's link to a blob that is no longer stored, unless the link was
    /// written at or after `cutoff`. Like a blob sweep, the link is moved aside before its time
    /// is read, so a client linking the blob again meanwhile (after uploading it anew) keeps
    /// its link. `true` if the link was removed.
    pub(crate) fn remove_stale_link(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool, StorageError> {
        let path = self.layer_path(name, digest);
        let Some(aside) = files::move_aside(self.storage_root(), &self.tmp_dir, &path)? else {
            return Ok(false);
        };
        let written = fs::metadata(&aside)
            .and_then(|metadata| metadata.modified())
            .map_err(|source| StorageError::io(&aside, "reading", source))?;
        if written >= cutoff {
            fs::rename(&aside, &path)
                .map_err(|source| StorageError::io(&path, "putting back", source))?;
            return Ok(false);
        }
        files::remove_file(&aside)
    }

    /// Whether the repository holds the blob.
    pub(crate) fn has_blob(&self, name: &RepositoryName, digest: &Digest) -> bool {
        self.layer_path(name, digest).is_file()
    }

    /// Removes the repository's link to a blob; `false` if it had none.
    pub(crate) fn unlink_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, StorageError> {
        files::remove_file(&self.layer_path(name, digest))
    }

    /// The blobs the repository links.
    pub(crate) fn blob_links(&self, name: &RepositoryName) -> Result<Vec<Digest>, StorageError> {
        list_digests(&self.dir(name).join("_layers"))
    }

    // Manifest revisions.

    /// Records a manifest pushed to the repository.
    pub(crate) fn put_revision(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        record: &RevisionRecord,
    ) -> Result<(), StorageError> {
        let path = self.revision_path(name, digest);
        files::write_atomic(&self.tmp_dir, &path, &to_json(&path, record)?)
    }

    /// The manifest revision with `digest`, if the repository holds it.
    pub(crate) fn revision(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<RevisionRecord>, StorageError> {
        read_json(&self.revision_path(name, digest))
    }

    /// Every manifest revision the repository holds.
    pub(crate) fn revisions(
        &self,
        name: &RepositoryName,
    ) -> Result<Vec<(Digest, RevisionRecord)>, StorageError> {
        let mut revisions = Vec::new();
        for digest in list_digests(&self.dir(name).join("_manifests/revisions"))? {
            // A revision deleted while listing is simply not listed.
            if let Some(record) = self.revision(name, &digest)? {
                revisions.push((digest, record));
            }
        }
        Ok(revisions)
    }

    /// Removes a manifest revision and its pull record; `false` if there was none.
    pub(crate) fn remove_revision(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, StorageError> {
        files::remove_file(&self.pull_path(name, digest))?;
        files::remove_file(&self.revision_path(name, digest))
    }

    // Tags.

    /// Points `tag` at `digest`.
    pub(crate) fn set_tag(
        &self,
        name: &RepositoryName,
        tag: &Tag,
        record: &TagRecord,
    ) -> Result<(), StorageError> {
        let path = self.tags_dir(name).join(tag.as_str());
        files::write_atomic(&self.tmp_dir, &path, &to_json(&path, record)?)
    }

    /// What `tag` points at.
    pub(crate) fn tag(
        &self,
        name: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<TagRecord>, StorageError> {
        read_json(&self.tags_dir(name).join(tag.as_str()))
    }

    /// Removes a tag; `false` if there was none.
    pub(crate) fn remove_tag(
        &self,
        name: &RepositoryName,
        tag: &Tag,
    ) -> Result<bool, StorageError> {
        files::remove_file(&self.tags_dir(name).join(tag.as_str()))
    }

    /// Every tag with its record, in the spec's lexical order (case-insensitive, then by bytes).
    pub(crate) fn tags(
        &self,
        name: &RepositoryName,
    ) -> Result<Vec<(Tag, TagRecord)>, StorageError> {
        let dir = self.tags_dir(name);
        let mut tags = Vec::new();
        for file_name in files::list_dir(&dir)? {
            let Ok(tag) = file_name.parse::<Tag>() else {
                continue; // Not a tag of ours.
            };
            if let Some(record) = read_json(&dir.join(&file_name))? {
                tags.push((tag, record));
            }
        }
        tags.sort_by(|(a, _), (b, _)| tag_order(a, b));
        Ok(tags)
    }

    // Referrers.

    /// Records that `referrer` in this repository has `subject` as its subject.
    pub(crate) fn add_referrer(
        &self,
        name: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), StorageError> {
        files::touch_link(
            &self.tmp_dir,
            &self.referrers_dir(name, subject).join(link_name(referrer)),
        )
    }

    /// Forgets that `referrer` refers to `subject`.
    pub(crate) fn remove_referrer(
        &self,
        name: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), StorageError> {
        let dir = self.referrers_dir(name, subject);
        files::remove_file(&dir.join(link_name(referrer)))?;
        files::prune_empty_dirs(&self.dir(name), &dir);
        Ok(())
    }

    /// The manifests in this repository whose subject is `subject`.
    pub(crate) fn referrers(
        &self,
        name: &RepositoryName,
        subject: &Digest,
    ) -> Result<Vec<Digest>, StorageError> {
        Ok(files::list_dir(&self.referrers_dir(name, subject))?
            .iter()
            .filter_map(|link| link.replacen('-', ":", 1).parse().ok())
            .collect())
    }

    // Pulls.

    /// Records that the manifest was pulled now, unless a pull was recorded in the last minute.
    pub(crate) fn record_pull(
        &self,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), StorageError> {
        let path = self.pull_path(name, digest);
        let now = SystemTime::now();
        match fs::metadata(&path).and_then(|metadata| metadata.modified()) {
            Ok(last) if now.duration_since(last).unwrap_or_default() < PULL_RESOLUTION => Ok(()),
            Ok(_) => File::open(&path)
                .and_then(|file| file.set_modified(now))
                .map_err(|source| StorageError::io(&path, "recording a pull in", source)),
            // A pull time is a hint for retention, not worth a flush to disk: an empty file made
            // in place is whole however a crash cuts it.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let parent = path.parent().unwrap_or(&self.root);
                files::create_dir_all(parent)?;
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map(drop)
                    .map_err(|source| StorageError::io(&path, "recording a pull in", source))
            }
            Err(source) => Err(StorageError::io(&path, "reading", source)),
        }
    }

    /// When the manifest was last pulled, if ever.
    pub(crate) fn last_pull(&self, name: &RepositoryName, digest: &Digest) -> Option<SystemTime> {
        fs::metadata(self.pull_path(name, digest))
            .and_then(|metadata| metadata.modified())
            .ok()
    }

    // The catalog.

    /// Every repository, sorted by name.
    pub(crate) fn names(&self) -> Result<Vec<RepositoryName>, StorageError> {
        let mut names = Vec::new();
        collect_repositories(&self.root, &mut Vec::new(), &mut names)?;
        names.sort();
        Ok(names)
    }
}

/// Walks `dir` (the repository named by `components`, if any), collecting every repository: a
/// directory holding `_manifests` or `_layers`. Directories starting with `_` are the
/// repositories' own; no name component can start with one.
fn collect_repositories(
    dir: &Path,
    components: &mut Vec<String>,
    names: &mut Vec<RepositoryName>,
) -> Result<(), StorageError> {
    let entries = files::list_dir(dir)?;
    if !components.is_empty()
        && entries
            .iter()
            .any(|entry| entry == "_manifests" || entry == "_layers")
        && let Ok(name) = components.join("/").parse()
    {
        names.push(name);
    }
    for entry in entries {
        if entry.starts_with('_') || !dir.join(&entry).is_dir() {
            continue;
        }
        components.push(entry);
        collect_repositories(
            &dir.join(components.last().map_or("", String::as_str)),
            components,
            names,
        )?;
        components.pop();
    }
    Ok(())
}

/// `<dir>/<algorithm>/<hex>`.
fn digest_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join(digest.algorithm().name()).join(digest.hex())
}

/// `sha256-<hex>`: a digest as one file name.
fn link_name(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().name(), digest.hex())
}

/// The digests of the files under `<dir>/<algorithm>/`.
fn list_digests(dir: &Path) -> Result<Vec<Digest>, StorageError> {
    let mut digests = Vec::new();
    for algorithm in Algorithm::ALL {
        for hex in files::list_dir(&dir.join(algorithm.name()))? {
            if let Ok(digest) = format!("{}:{hex}", algorithm.name()).parse() {
                digests.push(digest);
            }
        }
    }
    Ok(digests)
}

/// The spec's tag order: case-insensitive, ties broken by bytes so the order is total.
pub(crate) fn tag_order(a: &Tag, b: &Tag) -> std::cmp::Ordering {
    a.as_str()
        .to_ascii_lowercase()
        .cmp(&b.as_str().to_ascii_lowercase())
        .then_with(|| a.cmp(b))
}

fn to_json(path: &Path, value: &impl Serialize) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|error| StorageError::Damaged {
        path: path.to_path_buf(),
        detail: error.to_string(),
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StorageError> {
    let Some(bytes) = files::read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| StorageError::Damaged {
            path: path.to_path_buf(),
            detail: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repositories() -> (tempfile::TempDir, Repositories) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let repositories = Repositories::new(dir.path());
        (dir, repositories)
    }

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    #[test]
    fn the_catalog_finds_nested_repositories_and_nothing_else() {
        let (_dir, repositories) = repositories();
        let digest = Digest::sha256(b"x");
        for repository in ["shop/web", "shop", "a/b/c"] {
            repositories.link_blob(&name(repository), &digest).unwrap();
        }
        repositories.lock(&name("locked/only")).unwrap();
        let names: Vec<String> = repositories
            .names()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["a/b/c", "shop", "shop/web"]);
    }

    #[test]
    fn tags_sort_case_insensitively() {
        let (_dir, repositories) = repositories();
        let record = TagRecord {
            digest: Digest::sha256(b"m"),
            pushed_at: jiff::Timestamp::now(),
        };
        for tag in ["b", "A", "a", "C"] {
            repositories
                .set_tag(&name("r"), &tag.parse().unwrap(), &record)
                .unwrap();
        }
        let tags: Vec<String> = repositories
            .tags(&name("r"))
            .unwrap()
            .iter()
            .map(|(tag, _)| tag.to_string())
            .collect();
        assert_eq!(tags, ["A", "a", "b", "C"]);
    }

    #[test]
    fn referrers_are_listed_per_subject_and_removed() {
        let (_dir, repositories) = repositories();
        let (subject, first, second) = (
            Digest::sha256(b"s"),
            Digest::sha256(b"1"),
            Digest::sha256(b"2"),
        );
        repositories
            .add_referrer(&name("r"), &subject, &first)
            .unwrap();
        repositories
            .add_referrer(&name("r"), &subject, &second)
            .unwrap();
        let mut listed = repositories.referrers(&name("r"), &subject).unwrap();
        listed.sort();
        let mut expected = vec![first.clone(), second.clone()];
        expected.sort();
        assert_eq!(listed, expected);
        repositories
            .remove_referrer(&name("r"), &subject, &first)
            .unwrap();
        assert_eq!(
            repositories.referrers(&name("r"), &subject).unwrap(),
            [second]
        );
    }

    #[test]
    fn pulls_are_recorded() {
        let (_dir, repositories) = repositories();
        let digest = Digest::sha256(b"m");
        assert_eq!(repositories.last_pull(&name("r"), &digest), None);
        repositories.record_pull(&name("r"), &digest).unwrap();
        let first = repositories.last_pull(&name("r"), &digest).unwrap();
        repositories.record_pull(&name("r"), &digest).unwrap();
        assert_eq!(
            repositories.last_pull(&name("r"), &digest),
            Some(first),
            "a second pull within a minute writes nothing"
        );
    }
}
