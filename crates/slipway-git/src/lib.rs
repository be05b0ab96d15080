//! The git state of a repository: root, commit, branch, dirty tree, nearest tag, remote.
//!
//! [`Repository::discover`] finds the repository holding a directory; [`Repository::snapshot`] reads
//! what builds and runs record about it in one go ([`Snapshot`]). Everything goes through the `git`
//! command, which every Slipway user has and which understands every repository layout (worktrees,
//! submodules, `safe.directory`) better than a reimplementation would.
//!
//! Commands run with a fixed environment (`LC_ALL=C`, no pager, no prompts) so their output can be
//! parsed, and with `GIT_OPTIONAL_LOCKS=0` so that reading state never takes the index lock a user's
//! own `git` might be holding.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, PoisonError};

/// What went wrong asking git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` command is not installed.
    #[error("the `git` command was not found: {0}")]
    NotInstalled(std::io::Error),
    /// The directory is not inside a git repository.
    #[error("{} is not inside a git repository", .0.display())]
    NotARepository(PathBuf),
    /// The repository has no commits yet, so there is nothing to name a build after.
    #[error("the repository at {} has no commits yet", .0.display())]
    NoCommits(PathBuf),
    /// git ran and failed.
    #[error("`git {args}` failed: {message}")]
    Failed {
        /// The arguments given to git.
        args: String,
        /// What git printed on stderr.
        message: String,
    },
}

/// A git repository, found from a directory inside it.
#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
}

/// What a build or run records about the repository at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The full commit id of HEAD.
    pub commit: String,
    /// The abbreviated commit id (`git rev-parse --short`, at least 7 characters).
    pub short_commit: String,
    /// When HEAD was committed, in seconds since the Unix epoch (the committer date).
    pub commit_time: i64,
    /// The branch HEAD is on; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// Whether tracked files differ from HEAD, or untracked files that are not ignored exist.
    pub dirty: bool,
}

impl Repository {
    /// The repository holding `dir`.
    pub fn discover(dir: &Path) -> Result<Repository, GitError> {
        let output = git(dir, ["rev-parse", "--show-toplevel"])?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("not a git repository") {
                return Err(GitError::NotARepository(dir.to_path_buf()));
            }
            return Err(failed(["rev-parse", "--show-toplevel"], &output));
        }
        Ok(Repository {
            root: PathBuf::from(stdout_line(&output)),
        })
    }

    /// The bare repository at `dir` (a mirror): worktrees of its commits can be added with
    /// [`Repository::add_worktree`], serialised with every other worktree change of this process.
    pub fn bare(dir: &Path) -> Result<Repository, GitError> {
        let output = git(dir, ["rev-parse", "--is-bare-repository"])?;
        if output.status.success() && stdout_line(&output) == "true" {
            Ok(Repository {
                root: dir.to_path_buf(),
            })
        } else {
            Err(GitError::NotARepository(dir.to_path_buf()))
        }
    }

    /// The top directory of the working tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Commit, branch and dirty state, read together: two `git` processes, run at once.
    pub fn snapshot(&self) -> Result<Snapshot, GitError> {
        let status = start(&self.root, STATUS_ARGS)?;
        // Both run at once; `status` is collected whatever happens to the other, never left
        // running.
        let head = start(&self.root, HEAD_ARGS).and_then(finish);
        let status = parse_status(&self.root, &finish(status)?)?;
        let head = head?;
        let Some(commit) = status.commit else {
            return Err(GitError::NoCommits(self.root.clone()));
        };
        if !head.status.success() {
            return Err(failed(HEAD_ARGS, &head));
        }
        let line = stdout_line(&head);
        let (short_commit, commit_time) = line
            .split_once(' ')
            .and_then(|(short, time)| Some((short.to_owned(), time.parse().ok()?)))
            .ok_or_else(|| GitError::Failed {
                args: HEAD_ARGS.join(" "),
                message: format!("expected an abbreviated commit and a Unix time, got `{line}`"),
            })?;
        Ok(Snapshot {
            commit,
            short_commit,
            commit_time,
            branch: status.branch,
            dirty: status.dirty,
        })
    }

    /// The full commit id of HEAD.
    pub fn head_commit(&self) -> Result<String, GitError> {
        let output = git(
            &self.root,
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        )?;
        if output.status.success() {
            Ok(stdout_line(&output))
        } else {
            Err(GitError::NoCommits(self.root.clone()))
        }
    }

    /// The branch HEAD is on, or `None` when it is detached.
    pub fn branch(&self) -> Result<Option<String>, GitError> {
        Ok(self.status()?.branch)
    }

    /// Whether the working tree differs from HEAD (untracked files that are not ignored count).
    pub fn is_dirty(&self) -> Result<bool, GitError> {
        Ok(self.status()?.dirty)
    }

    fn status(&self) -> Result<Status, GitError> {
        parse_status(&self.root, &git(&self.root, STATUS_ARGS)?)
    }

    /// The nearest tag reachable from HEAD, or `None` when there is none.
    pub fn nearest_tag(&self) -> Result<Option<String>, GitError> {
        let output = git(&self.root, ["describe", "--tags", "--abbrev=0"])?;
        if output.status.success() {
            return Ok(Some(stdout_line(&output)));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No names found") || stderr.contains("No tags can describe") {
            return Ok(None);
        }
        if stderr.contains("Not a valid object name HEAD") || stderr.contains("bad revision") {
            return Err(GitError::NoCommits(self.root.clone()));
        }
        Err(failed(["describe", "--tags", "--abbrev=0"], &output))
    }

    /// The URL of the remote `origin`, or `None` when there is no such remote.
    pub fn origin_url(&self) -> Result<Option<String>, GitError> {
        let output = git(&self.root, ["config", "--get", "remote.origin.url"])?;
        // `git config --get` exits 1 when the key is unset.
        match output.status.code() {
            Some(0) => Ok(Some(stdout_line(&output))),
            Some(1) => Ok(None),
            _ => Err(failed(["config", "--get", "remote.origin.url"], &output)),
        }
    }

    /// The full commit id `rev` (a branch, tag, or commit) names, or `None` when it names no commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let output = git(
            &self.root,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
        )?;
        // `--verify --quiet` exits 1 without a message when the name resolves to nothing.
        match output.status.code() {
            Some(0) => Ok(Some(stdout_line(&output))),
            Some(1) => Ok(None),
            _ => Err(failed(["rev-parse", "--verify", "--quiet", &spec], &output)),
        }
    }

    /// The first parent of `commit`, or `None` for a root commit.
    pub fn parent(&self, commit: &str) -> Result<Option<String>, GitError> {
        self.resolve_commit(&format!("{commit}^"))
    }

    /// The paths that differ between two commits, relative to the root, renames as their new path.
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        self.read_paths(["diff", "--name-only", "--no-renames", "-z", from, to, "--"])
    }

    /// Every file in `commit`, relative to the root: what a root commit changes.
    pub fn files_at(&self, commit: &str) -> Result<Vec<String>, GitError> {
        self.read_paths(["ls-tree", "-r", "--name-only", "-z", commit])
    }

    /// The paths in the working tree that differ from HEAD, untracked files that are not ignored included.
    pub fn uncommitted_paths(&self) -> Result<Vec<String>, GitError> {
        let mut paths =
            self.read_paths(["diff", "--name-only", "--no-renames", "-z", "HEAD", "--"])?;
        paths.extend(self.read_paths(["ls-files", "--others", "--exclude-standard", "-z"])?);
        Ok(paths)
    }

    /// The tags pointing at `commit`, sorted by name.
    pub fn tags_at(&self, commit: &str) -> Result<Vec<String>, GitError> {
        let tags = self.read(["tag", "--points-at", commit, "--sort=refname"])?;
        Ok(tags.lines().map(str::to_owned).collect())
    }

    /// Checks `commit` out, detached, in a new worktree at `path` (which must not exist or be empty): a
    /// second working tree sharing this repository's objects, cheap to make and to throw away.
    pub fn add_worktree(&self, path: &Path, commit: &str) -> Result<(), GitError> {
        let _admin = WORKTREE_ADMIN
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let output = git(
            &self.root,
            [
                OsStr::new("worktree"),
                "add".as_ref(),
                "--detach".as_ref(),
                "--quiet".as_ref(),
                path.as_os_str(),
                commit.as_ref(),
            ],
        )?;
        if output.status.success() {
            Ok(())
        } else {
            Err(failed(
                [
                    "worktree",
                    "add",
                    "--detach",
                    &path.display().to_string(),
                    commit,
                ],
                &output,
            ))
        }
    }

    /// Fetches every ref of `origin` into this repository, pruning the ones it deleted (a
    /// mirror's update). Serialised with worktree changes: a fetch reads the worktrees'
    /// administrative files, and one being written makes it fail.
    pub fn fetch_origin(&self) -> Result<(), GitError> {
        let _admin = WORKTREE_ADMIN
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let args = ["fetch", "--prune", "--quiet", "origin"];
        let output = git(&self.root, args)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(failed(args, &output))
        }
    }

    /// Removes the worktree at `path`, with whatever changes it holds, and forgets it.
    pub fn remove_worktree(&self, path: &Path) -> Result<(), GitError> {
        let _admin = WORKTREE_ADMIN
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let output = git(
            &self.root,
            [
                OsStr::new("worktree"),
                "remove".as_ref(),
                "--force".as_ref(),
                path.as_os_str(),
            ],
        )?;
        if !output.status.success() {
            return Err(failed(
                ["worktree", "remove", "--force", &path.display().to_string()],
                &output,
            ));
        }
        // Worktrees whose directory vanished (a killed run) are forgotten too.
        self.read(["worktree", "prune"]).map(drop)
    }

    fn read_paths<const N: usize>(&self, args: [&str; N]) -> Result<Vec<String>, GitError> {
        let output = git(&self.root, args)?;
        if !output.status.success() {
            return Err(failed(args, &output));
        }
        Ok(output
            .stdout
            .split(|&b| b == 0)
            .filter(|path| !path.is_empty())
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .collect())
    }

    fn read<const N: usize>(&self, args: [&str; N]) -> Result<String, GitError> {
        let output = git(&self.root, args)?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_owned())
        } else {
            Err(failed(args, &output))
        }
    }
}

/// `git status` in the form [`parse_status`] reads: the branch headers (without counting commits
/// ahead of or behind the upstream, which can take long and is not needed), then one entry per
/// change, untracked files that are not ignored included.
/// Held while git changes `.git/worktrees`: two `git worktree add` for paths with the same last
/// component (every job's `workspace`) race for one administrative directory there, and one fails
/// with "failed to read .git/worktrees/workspace/commondir". Jobs run in one process, so one lock
/// serialises them; each change takes milliseconds.
static WORKTREE_ADMIN: Mutex<()> = Mutex::new(());

const STATUS_ARGS: [&str; 5] = [
    "status",
    "--porcelain=v2",
    "--branch",
    "--no-ahead-behind",
    "-z",
];

/// HEAD's abbreviated commit id (abbreviated as `rev-parse --short` does) and committer date.
const HEAD_ARGS: [&str; 5] = [
    "show",
    "-s",
    "--no-show-signature",
    "--format=%h %ct",
    "HEAD",
];

/// What `git status` says about HEAD and the working tree.
struct Status {
    /// HEAD's commit; `None` before the first commit.
    commit: Option<String>,
    branch: Option<String>,
    dirty: bool,
}

/// Reads `git status` run with [`STATUS_ARGS`]: NUL-terminated records, headers first
/// (`# branch.oid <commit>|(initial)`, `# branch.head <name>|(detached)`), then the changes.
fn parse_status(root: &Path, output: &Output) -> Result<Status, GitError> {
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("not a git repository") {
            return Err(GitError::NotARepository(root.to_path_buf()));
        }
        return Err(failed(STATUS_ARGS, output));
    }
    let mut status = Status {
        commit: None,
        branch: None,
        dirty: false,
    };
    for record in output.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        if let Some(oid) = record.strip_prefix("# branch.oid ") {
            status.commit = (oid != "(initial)").then(|| oid.to_owned());
        } else if let Some(head) = record.strip_prefix("# branch.head ") {
            status.branch = (head != "(detached)").then(|| head.to_owned());
        } else if !record.starts_with("# ") {
            status.dirty = true;
        }
    }
    Ok(status)
}

fn git<I, S>(dir: &Path, args: I) -> Result<Output, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    finish(start(dir, args)?)
}

/// Starts git in `dir`, its output captured, so that several can run at once.
fn start<I, S>(dir: &Path, args: I) -> Result<Child, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .env("GIT_PAGER", "cat")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::NotInstalled)
}

/// Waits for a git [`start`]ed and collects its output.
fn finish(child: Child) -> Result<Output, GitError> {
    child.wait_with_output().map_err(GitError::NotInstalled)
}

fn stdout_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

fn failed<const N: usize>(args: [&str; N], output: &Output) -> GitError {
    GitError::Failed {
        args: args.join(" "),
        message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch repository with a fixed identity, so tests never depend on the user's git config.
    struct Scratch {
        dir: tempfile::TempDir,
    }

    impl Scratch {
        fn new() -> Scratch {
            let scratch = Scratch {
                dir: tempfile::tempdir().unwrap(),
            };
            scratch.git(&["init", "-q", "-b", "main"]);
            scratch
        }

        fn path(&self) -> &Path {
            self.dir.path()
        }

        fn git(&self, args: &[&str]) -> String {
            let output = Command::new("git")
                .arg("-C")
                .arg(self.path())
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@example.com",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }

        fn commit(&self, file: &str, text: &str) -> String {
            std::fs::write(self.path().join(file), text).unwrap();
            self.git(&["add", file]);
            self.git(&["commit", "-q", "-m", file]);
            self.git(&["rev-parse", "HEAD"])
        }

        fn repo(&self) -> Repository {
            Repository::discover(self.path()).unwrap()
        }
    }

    #[test]
    fn snapshot_of_a_clean_branch() {
        let scratch = Scratch::new();
        let commit = scratch.commit("a.txt", "a");
        let snapshot = scratch.repo().snapshot().unwrap();
        assert_eq!(snapshot.commit, commit);
        assert_eq!(snapshot.commit.len(), 40);
        assert!(commit.starts_with(&snapshot.short_commit));
        assert!(snapshot.short_commit.len() >= 7);
        assert_eq!(snapshot.branch.as_deref(), Some("main"));
        assert!(!snapshot.dirty);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (now - snapshot.commit_time).abs() < 600,
            "commit time {} is not now",
            snapshot.commit_time
        );
    }

    #[test]
    fn snapshot_abbreviates_as_rev_parse_does_and_sees_changes() {
        let scratch = Scratch::new();
        scratch.commit("a.txt", "a");
        scratch.git(&["config", "core.abbrev", "12"]);
        let repo = scratch.repo();
        let snapshot = repo.snapshot().unwrap();
        assert_eq!(
            snapshot.short_commit,
            scratch.git(&["rev-parse", "--short", "HEAD"])
        );
        assert_eq!(snapshot.short_commit.len(), 12);
        assert!(!snapshot.dirty);
        scratch.git(&["mv", "a.txt", "# renamed.txt"]);
        assert!(repo.snapshot().unwrap().dirty, "a staged rename");
        scratch.git(&["mv", "# renamed.txt", "a.txt"]);
        std::fs::write(scratch.path().join("a.txt"), "changed").unwrap();
        assert!(repo.snapshot().unwrap().dirty, "a modified file");
        scratch.git(&["checkout", "-q", "--", "a.txt"]);
        std::fs::write(scratch.path().join("new.txt"), "x").unwrap();
        assert!(repo.snapshot().unwrap().dirty, "an untracked file");
    }

    #[test]
    fn discover_from_a_subdirectory_finds_the_root() {
        let scratch = Scratch::new();
        scratch.commit("a.txt", "a");
        std::fs::create_dir_all(scratch.path().join("deep/er")).unwrap();
        let repo = Repository::discover(&scratch.path().join("deep/er")).unwrap();
        assert_eq!(
            repo.root().canonicalize().unwrap(),
            scratch.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn modified_and_untracked_files_make_the_tree_dirty_but_ignored_ones_do_not() {
        let scratch = Scratch::new();
        scratch.commit(".gitignore", "*.log\n");
        let repo = scratch.repo();
        std::fs::write(scratch.path().join("build.log"), "x").unwrap();
        assert!(!repo.is_dirty().unwrap());
        std::fs::write(scratch.path().join("new.txt"), "x").unwrap();
        assert!(repo.is_dirty().unwrap());
        std::fs::remove_file(scratch.path().join("new.txt")).unwrap();
        std::fs::write(scratch.path().join(".gitignore"), "changed\n").unwrap();
        assert!(repo.is_dirty().unwrap());
    }

    #[test]
    fn detached_head_has_no_branch() {
        let scratch = Scratch::new();
        let first = scratch.commit("a.txt", "a");
        scratch.commit("b.txt", "b");
        scratch.git(&["checkout", "-q", "--detach", &first]);
        let snapshot = scratch.repo().snapshot().unwrap();
        assert_eq!(snapshot.branch, None);
        assert_eq!(snapshot.commit, first);
    }

    #[test]
    fn branches_with_slashes_keep_their_name() {
        let scratch = Scratch::new();
        scratch.commit("a.txt", "a");
        scratch.git(&["checkout", "-q", "-b", "feature/Login-Page"]);
        assert_eq!(
            scratch.repo().branch().unwrap().as_deref(),
            Some("feature/Login-Page")
        );
    }

    #[test]
    fn nearest_tag() {
        let scratch = Scratch::new();
        scratch.commit("a.txt", "a");
        let repo = scratch.repo();
        assert_eq!(repo.nearest_tag().unwrap(), None);
        scratch.git(&["tag", "v1.0.0"]);
        scratch.commit("b.txt", "b");
        scratch.git(&["tag", "-a", "v1.1.0", "-m", "release"]);
        scratch.commit("c.txt", "c");
        assert_eq!(repo.nearest_tag().unwrap().as_deref(), Some("v1.1.0"));
    }

    #[test]
    fn a_repository_without_commits_says_so() {
        let scratch = Scratch::new();
        let repo = scratch.repo();
        assert!(matches!(repo.snapshot(), Err(GitError::NoCommits(_))));
        assert_eq!(repo.nearest_tag().unwrap(), None);
        assert_eq!(repo.branch().unwrap().as_deref(), Some("main"));
    }

    #[test]
    fn a_plain_directory_is_not_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let error = Repository::discover(dir.path()).unwrap_err();
        assert!(matches!(error, GitError::NotARepository(_)), "{error}");
    }

    #[test]
    fn changed_paths_between_commits_and_in_the_working_tree() {
        let scratch = Scratch::new();
        let first = scratch.commit("a.txt", "a");
        std::fs::create_dir_all(scratch.path().join("src")).unwrap();
        let second = scratch.commit("src/b.rs", "b");
        let repo = scratch.repo();
        assert_eq!(
            repo.parent(&second).unwrap().as_deref(),
            Some(first.as_str())
        );
        assert_eq!(repo.parent(&first).unwrap(), None);
        assert_eq!(
            repo.changed_paths(&first, &second).unwrap(),
            vec!["src/b.rs"]
        );
        assert_eq!(repo.files_at(&second).unwrap(), vec!["a.txt", "src/b.rs"]);
        std::fs::write(scratch.path().join("a.txt"), "changed").unwrap();
        std::fs::write(scratch.path().join("new file.txt"), "new").unwrap();
        assert_eq!(
            repo.uncommitted_paths().unwrap(),
            vec!["a.txt", "new file.txt"]
        );
    }

    #[test]
    fn commits_resolve_from_names_and_tags_point_at_them() {
        let scratch = Scratch::new();
        let commit = scratch.commit("a.txt", "a");
        scratch.git(&["tag", "v2"]);
        scratch.git(&["tag", "-a", "v1", "-m", "one"]);
        let repo = scratch.repo();
        assert_eq!(
            repo.resolve_commit("v1").unwrap().as_deref(),
            Some(commit.as_str())
        );
        assert_eq!(
            repo.resolve_commit("main").unwrap().as_deref(),
            Some(commit.as_str())
        );
        assert_eq!(repo.resolve_commit("no-such-branch").unwrap(), None);
        assert_eq!(repo.tags_at(&commit).unwrap(), vec!["v1", "v2"]);
        scratch.commit("b.txt", "b");
        assert!(repo.tags_at("HEAD").unwrap().is_empty());
    }

    #[test]
    fn worktrees_check_a_commit_out_elsewhere_and_go_away() {
        let scratch = Scratch::new();
        let first = scratch.commit("a.txt", "first");
        scratch.commit("a.txt", "second");
        let repo = scratch.repo();
        let place = tempfile::tempdir().unwrap();
        let tree = place.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        repo.add_worktree(&tree, &first).unwrap();
        assert_eq!(
            std::fs::read_to_string(tree.join("a.txt")).unwrap(),
            "first"
        );
        assert!(
            !repo.is_dirty().unwrap(),
            "a worktree does not touch the main working tree"
        );
        std::fs::write(tree.join("scratch.txt"), "x").unwrap();
        repo.remove_worktree(&tree).unwrap();
        assert!(!tree.exists());
        assert!(!scratch.git(&["worktree", "list"]).contains("tree"));
        let error = repo
            .add_worktree(&place.path().join("x"), "no-such-commit")
            .unwrap_err();
        assert!(matches!(error, GitError::Failed { .. }), "{error}");
    }

    #[test]
    fn origin_url() {
        let scratch = Scratch::new();
        scratch.commit("a.txt", "a");
        let repo = scratch.repo();
        assert_eq!(repo.origin_url().unwrap(), None);
        scratch.git(&["remote", "add", "origin", "https://example.com/shop.git"]);
        assert_eq!(
            repo.origin_url().unwrap().as_deref(),
            Some("https://example.com/shop.git")
        );
    }
}
