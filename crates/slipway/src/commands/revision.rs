//! The source a release is made from: the commit and ref a deploy records and tells replicas.
//!
//! An image or a bundle carries its own: `slipway build` labels it with the commit
//! (`org.opencontainers.image.revision`) and a dirty mark, and those say what it holds whatever
//! the working tree is now. A release made from the working tree as it is (a process release
//! without `--image`) is the repository's current state. The ref (a branch or a tag) is read from
//! the repository: the branch when HEAD is the commit, else a tag pointing at it.

use std::collections::BTreeMap;
use std::path::Path;

use slipway_build::labels::keys;
use slipway_git::Repository;
use slipway_store::Revision;

/// The revision of an image or a bundle with `labels`, its ref looked up in the repository at
/// `root`. `None` for an artifact Slipway did not build (no revision label): the working tree
/// says nothing about what it holds.
pub(super) fn of_labels(root: &Path, labels: &BTreeMap<String, String>) -> Option<Revision> {
    let commit = labels.get(keys::REVISION)?.clone();
    let git_ref = Repository::discover(root)
        .ok()
        .and_then(|repository| ref_of(&repository, &commit));
    Some(Revision {
        dirty: labels.get(keys::DIRTY).is_some_and(|dirty| dirty == "true"),
        git_ref,
        commit,
    })
}

/// The revision of the working tree at `root`; `None` outside a repository or before its first
/// commit.
pub(super) fn of_working_tree(root: &Path) -> Option<Revision> {
    let repository = Repository::discover(root)
        .inspect_err(|error| tracing::debug!(%error, "the release records no commit"))
        .ok()?;
    let snapshot = repository
        .snapshot()
        .inspect_err(|error| tracing::debug!(%error, "the release records no commit"))
        .ok()?;
    let git_ref = snapshot
        .branch
        .or_else(|| first_tag(&repository, &snapshot.commit));
    Some(Revision {
        commit: snapshot.commit,
        git_ref,
        dirty: snapshot.dirty,
    })
}

/// The branch HEAD is on when HEAD is `commit`, else the first tag pointing at `commit`.
fn ref_of(repository: &Repository, commit: &str) -> Option<String> {
    let head = repository.head_commit().ok();
    let branch = match head.as_deref() {
        Some(head) if head == commit => repository.branch().ok().flatten(),
        _ => None,
    };
    branch.or_else(|| first_tag(repository, commit))
}

fn first_tag(repository: &Repository, commit: &str) -> Option<String> {
    repository.tags_at(commit).ok()?.into_iter().next()
}
