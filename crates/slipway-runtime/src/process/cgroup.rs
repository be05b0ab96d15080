//! CPU and memory limits for process replicas, through cgroup v2 where this process may use it.
//!
//! [`CgroupHierarchy`] says where the cgroup file system is and which group this process is in;
//! [`ProcessLimits::detect`] decides, once, whether limits can be enforced, and says why not when
//! they cannot. Where they can, the protocol is the kernel's documented one
//! (Documentation/admin-guide/cgroup-v2.rst):
//!
//! - the *base* is this process's own group (or its parent, when this process already moved
//!   itself into [`SUPERVISOR_LEAF`] on an earlier start); it must offer `cpu` and `memory` in
//!   `cgroup.controllers` and be writable by this user;
//! - controllers are enabled for the base's children in `cgroup.subtree_control`. A group with
//!   controllers enabled there may hold no process itself ("no internal processes"), so this
//!   process first moves itself into the leaf [`SUPERVISOR_LEAF`];
//! - each replica with limits gets the child `replica-NAME`, with `cpu.max`, `memory.max` and,
//!   where the kernel accounts swap, `memory.swap.max` written before its program starts; the
//!   program enters it before `exec` (see `supervisor.rs`), and the group is removed once nothing
//!   of the replica runs.
//!
//! The root is a parameter so that tests can lay out a directory tree as cgroupfs.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::spec::Resources;

/// Where cgroup v2 is mounted on every Linux Slipway runs on.
const SYSTEM_ROOT: &str = "/sys/fs/cgroup";
/// The leaf this process moves itself into, so that its own group may have controllers enabled
/// for its children.
pub(super) const SUPERVISOR_LEAF: &str = "slipway-supervisor";
/// What a replica's group is named after: `replica-NAME`.
const REPLICA_PREFIX: &str = "replica-";
/// The period `cpu.max` is given in, in microseconds (the kernel's default).
const CPU_PERIOD_MICROS: u64 = 100_000;
/// The smallest quota the kernel accepts in `cpu.max`, in microseconds.
const MIN_CPU_QUOTA_MICROS: u64 = 1_000;
/// The fix when the machine itself cannot confine processes.
const FIX_HOST: &str =
    "use runtime = \"container\", or boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1)";
/// The fix when cgroup v2 is there but this process may not use it.
const FIX_DELEGATION: &str = "use runtime = \"container\", or run the daemon in a cgroup with cpu and memory delegated to its user (systemd: `systemd-run --user -p Delegate=yes`)";

/// Where the cgroup file system is mounted and which group this process belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupHierarchy {
    root: PathBuf,
    own: Option<String>,
}

impl CgroupHierarchy {
    /// The machine's: `/sys/fs/cgroup`, and this process's group as `/proc/self/cgroup` names it
    /// (its `0::PATH` line; none on a machine without cgroup v2).
    pub fn system() -> CgroupHierarchy {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| unified_group(&text));
        CgroupHierarchy::new(SYSTEM_ROOT, own)
    }

    /// A hierarchy mounted at `root`, this process being in group `own` (a path from the root,
    /// `/` for the root itself; `None`: in no cgroup v2 group).
    pub fn new(root: impl Into<PathBuf>, own: Option<String>) -> CgroupHierarchy {
        CgroupHierarchy {
            root: root.into(),
            own,
        }
    }

    /// The directory of the group at `path` (a path from the root).
    fn group(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

/// The group of the `0::PATH` line of a `/proc/PID/cgroup` file: the process's cgroup v2 group.
fn unified_group(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::to_owned)
}

/// Whether the process runtime confines its replicas to their CPU and memory limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessLimits {
    /// Each replica with limits runs in its own cgroup under `base`.
    Enforced {
        /// The group whose children the replicas' groups are.
        base: PathBuf,
    },
    /// Limits are measured against but not enforced.
    NotEnforced {
        /// Why, e.g. "/sys/fs/cgroup is cgroup v1".
        reason: String,
        /// What would make them enforced.
        fix: String,
    },
}

impl fmt::Display for ProcessLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessLimits::Enforced { base } => {
                write!(
                    f,
                    "limits applied to process replicas (cgroup v2, under {})",
                    base.display()
                )
            }
            ProcessLimits::NotEnforced { reason, fix } => {
                write!(f, "limits not applied to process replicas: {reason}; {fix}")
            }
        }
    }
}

impl ProcessLimits {
    /// Finds out whether replicas can be confined in `hierarchy`, and prepares it when they can:
    /// moves this process into [`SUPERVISOR_LEAF`] and enables `cpu` and `memory` for the
    /// base's children. Never fails: what stands in the way is the reason it gives.
    pub fn detect(hierarchy: &CgroupHierarchy) -> ProcessLimits {
        match prepare(hierarchy) {
            Ok(base) => ProcessLimits::Enforced { base },
            Err((reason, fix)) => ProcessLimits::NotEnforced {
                reason,
                fix: fix.to_owned(),
            },
        }
    }

    /// Whether limits are enforced.
    pub fn enforced(&self) -> bool {
        matches!(self, ProcessLimits::Enforced { .. })
    }
}

/// The base group, ready for replicas' groups; or why there is none and the fix.
fn prepare(hierarchy: &CgroupHierarchy) -> Result<PathBuf, (String, &'static str)> {
    let root = &hierarchy.root;
    if !root.join("cgroup.controllers").is_file() {
        let reason = if root.join("unified").join("cgroup.controllers").is_file() {
            format!(
                "{} is a hybrid hierarchy (cpu and memory are cgroup v1 controllers)",
                root.display()
            )
        } else if root.is_dir() {
            format!("{} is cgroup v1", root.display())
        } else {
            format!("no cgroup file system at {}", root.display())
        };
        return Err((reason, FIX_HOST));
    }
    let Some(own) = &hierarchy.own else {
        return Err((
            "this process is in no cgroup v2 group (/proc/self/cgroup has no `0::` line)"
                .to_owned(),
            FIX_HOST,
        ));
    };
    let own = hierarchy.group(own);
    let base = match own.parent() {
        Some(parent) if own.file_name().is_some_and(|name| name == SUPERVISOR_LEAF) => {
            parent.to_owned()
        }
        _ => own,
    };
    let offered = read_words(&base.join("cgroup.controllers")).map_err(|error| {
        (
            cannot("read", &base.join("cgroup.controllers"), &error),
            FIX_DELEGATION,
        )
    })?;
    let missing: Vec<&str> = ["cpu", "memory"]
        .into_iter()
        .filter(|controller| !offered.iter().any(|offer| offer == controller))
        .collect();
    if !missing.is_empty() {
        return Err((
            format!(
                "the {} controller{} not delegated to {}",
                missing.join(" and "),
                if missing.len() == 1 { " is" } else { "s are" },
                base.display()
            ),
            FIX_DELEGATION,
        ));
    }
    if nix::unistd::access(&base, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err((
            format!("{} is not writable by this user", base.display()),
            FIX_DELEGATION,
        ));
    }
    enable_controllers(&base).map_err(|reason| (reason, FIX_DELEGATION))?;
    Ok(base)
}

/// Enables `cpu` and `memory` for `base`'s children, moving this process out of `base` into
/// [`SUPERVISOR_LEAF`] first, since a group that hands controllers to its children may hold no
/// process itself.
fn enable_controllers(base: &Path) -> Result<(), String> {
    let subtree = base.join("cgroup.subtree_control");
    let enabled = read_words(&subtree).map_err(|error| cannot("read", &subtree, &error))?;
    if ["cpu", "memory"]
        .iter()
        .all(|controller| enabled.iter().any(|on| on == controller))
    {
        return Ok(());
    }
    let leaf = base.join(SUPERVISOR_LEAF);
    ensure_dir(&leaf).map_err(|error| cannot("create", &leaf, &error))?;
    let procs = leaf.join("cgroup.procs");
    std::fs::write(&procs, std::process::id().to_string())
        .map_err(|error| cannot("move this process into", &procs, &error))?;
    std::fs::write(&subtree, "+cpu +memory").map_err(|error| {
        format!(
            "{} (other processes share {}?)",
            cannot("enable cpu and memory in", &subtree, &error),
            base.display()
        )
    })
}

fn cannot(what: &str, path: &Path, error: &io::Error) -> String {
    format!("cannot {what} {}: {error}", path.display())
}

/// The whitespace-separated words of a cgroup interface file.
fn read_words(path: &Path) -> io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// Creates `dir`; one that exists already (left by an earlier supervisor) will do.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => Err(error),
        _ => Ok(()),
    }
}

/// One replica's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReplicaCgroup {
    dir: PathBuf,
}

impl ReplicaCgroup {
    /// The group of replica `name` under `limits`' base, with `resources` written to it; `None`
    /// when limits are not enforced or the replica has none.
    pub(super) fn create(
        limits: &ProcessLimits,
        name: &str,
        resources: Resources,
    ) -> Result<Option<ReplicaCgroup>, RuntimeError> {
        let ProcessLimits::Enforced { base } = limits else {
            return Ok(None);
        };
        if resources.cpus.is_none() && resources.memory_bytes.is_none() {
            return Ok(None);
        }
        let dir = base.join(format!("{REPLICA_PREFIX}{name}"));
        let failed = |path: &Path| {
            let path = path.to_owned();
            let replica = name.to_owned();
            move |source| RuntimeError::Cgroup {
                replica,
                path,
                source,
            }
        };
        ensure_dir(&dir).map_err(failed(&dir))?;
        for (file, value) in settings(resources) {
            let path = dir.join(file);
            // Where the kernel does not account swap there is no swap file, and nothing to limit.
            if file == "memory.swap.max" && !path.exists() {
                continue;
            }
            std::fs::write(&path, value).map_err(failed(&path))?;
        }
        Ok(Some(ReplicaCgroup { dir }))
    }

    /// The file a process writes `0` to in order to enter the group.
    pub(super) fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Removes the group, once no process is left in it. A group that cannot be removed (a
    /// process escaped the replica's process group and still runs) is only logged: the next
    /// start of the replica reuses it.
    pub(super) fn remove(&self) {
        match std::fs::remove_dir(&self.dir) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(cgroup = %self.dir.display(), %error, "cannot remove a replica's cgroup");
            }
            _ => {}
        }
    }
}

/// The interface files a replica's limits are written to, and their values.
///
/// Without a CPU limit, `cpu.max` is `max` (unlimited), likewise memory. Swap is limited to none
/// whenever memory is limited: otherwise a replica past `memory.max` swaps instead of being held
/// to its limit, and the limit would limit RAM rather than the memory the service may use.
fn settings(resources: Resources) -> Vec<(&'static str, String)> {
    let cpu = resources.cpus.map_or_else(
        || format!("max {CPU_PERIOD_MICROS}"),
        |cpus| {
            let quota = (cpus * CPU_PERIOD_MICROS as f64).round() as u64;
            format!("{} {CPU_PERIOD_MICROS}", quota.max(MIN_CPU_QUOTA_MICROS))
        },
    );
    let memory = resources
        .memory_bytes
        .map_or_else(|| "max".to_owned(), |bytes| bytes.to_string());
    let swap = if resources.memory_bytes.is_some() {
        "0"
    } else {
        "max"
    };
    vec![
        ("cpu.max", cpu),
        ("memory.max", memory),
        ("memory.swap.max", swap.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory tree laid out as a cgroup v2 mount whose group `/user/app` offers `offered`.
    fn unified(offered: &str) -> (tempfile::TempDir, CgroupHierarchy) {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.controllers"), "cpu io memory pids").unwrap();
        let group = root.path().join("user/app");
        std::fs::create_dir_all(&group).unwrap();
        std::fs::write(group.join("cgroup.controllers"), offered).unwrap();
        std::fs::write(group.join("cgroup.subtree_control"), "").unwrap();
        std::fs::write(group.join("cgroup.procs"), "").unwrap();
        let hierarchy = CgroupHierarchy::new(root.path(), Some("/user/app".to_owned()));
        (root, hierarchy)
    }

    fn reason(limits: &ProcessLimits) -> &str {
        match limits {
            ProcessLimits::NotEnforced { reason, .. } => reason,
            ProcessLimits::Enforced { base } => panic!("enforced under {}", base.display()),
        }
    }

    #[test]
    fn the_unified_group_is_the_zero_line() {
        let text = "4:memory:/process_api/x\n1:cpu:/\n0::/user.slice/app.scope\n";
        assert_eq!(
            unified_group(text).as_deref(),
            Some("/user.slice/app.scope")
        );
        assert_eq!(unified_group("4:memory:/x\n1:cpu:/\n"), None);
    }

    #[test]
    fn cgroup_v1_and_hybrid_mounts_are_named_with_the_fix() {
        let v1 = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(v1.path().join("memory")).unwrap();
        let limits = ProcessLimits::detect(&CgroupHierarchy::new(v1.path(), None));
        assert_eq!(
            reason(&limits),
            format!("{} is cgroup v1", v1.path().display())
        );
        assert!(
            limits.to_string().contains("use runtime = \"container\""),
            "{limits}"
        );

        std::fs::create_dir_all(v1.path().join("unified")).unwrap();
        std::fs::write(v1.path().join("unified/cgroup.controllers"), "").unwrap();
        let limits = ProcessLimits::detect(&CgroupHierarchy::new(v1.path(), Some("/".into())));
        assert!(reason(&limits).contains("hybrid hierarchy"), "{limits}");

        let missing = ProcessLimits::detect(&CgroupHierarchy::new(v1.path().join("none"), None));
        assert!(
            reason(&missing).starts_with("no cgroup file system at"),
            "{missing}"
        );
    }

    #[test]
    fn controllers_that_are_not_delegated_are_named() {
        let (_root, hierarchy) = unified("io pids");
        let limits = ProcessLimits::detect(&hierarchy);
        assert!(
            reason(&limits).starts_with("the cpu and memory controllers are not delegated to"),
            "{limits}"
        );
        let (_root, hierarchy) = unified("cpu pids");
        let limits = ProcessLimits::detect(&hierarchy);
        assert!(
            reason(&limits).starts_with("the memory controller is not delegated to"),
            "{limits}"
        );
        let (root, _) = unified("cpu memory");
        let outside = CgroupHierarchy::new(root.path(), None);
        assert!(reason(&ProcessLimits::detect(&outside)).contains("no cgroup v2 group"));
    }

    #[test]
    fn enabling_moves_this_process_into_a_leaf_and_hands_controllers_to_children() {
        let (root, hierarchy) = unified("cpu memory pids");
        let base = root.path().join("user/app");
        let limits = ProcessLimits::detect(&hierarchy);
        assert_eq!(limits, ProcessLimits::Enforced { base: base.clone() });
        let read = |path: &str| std::fs::read_to_string(base.join(path)).unwrap();
        assert_eq!(
            read("slipway-supervisor/cgroup.procs"),
            std::process::id().to_string()
        );
        assert_eq!(read("cgroup.subtree_control"), "+cpu +memory");

        // A later supervisor, started in the leaf, uses the same base.
        let again = CgroupHierarchy::new(root.path(), Some("/user/app/slipway-supervisor".into()));
        assert_eq!(ProcessLimits::detect(&again), limits);
    }

    #[test]
    fn a_replica_group_gets_its_limits_and_is_removed() {
        let (root, hierarchy) = unified("cpu memory");
        let limits = ProcessLimits::detect(&hierarchy);
        let dir = root.path().join("user/app/replica-web-1");
        // The kernel makes the swap file where it accounts swap: the fake makes it beforehand.
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("memory.swap.max"), "max").unwrap();
        let resources = Resources {
            cpus: Some(0.5),
            memory_bytes: Some(64 << 20),
        };
        let cgroup = ReplicaCgroup::create(&limits, "web-1", resources)
            .unwrap()
            .unwrap();
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("memory.max"), (64u64 << 20).to_string());
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(cgroup.procs(), dir.join("cgroup.procs"));

        // The kernel's interface files vanish with the group; the fake's are real files.
        for file in ["cpu.max", "memory.max", "memory.swap.max"] {
            std::fs::remove_file(dir.join(file)).unwrap();
        }
        cgroup.remove();
        assert!(!dir.exists());
        cgroup.remove();
    }

    #[test]
    fn only_replicas_with_limits_under_enforced_limits_get_a_group() {
        let (_root, hierarchy) = unified("cpu memory");
        let enforced = ProcessLimits::detect(&hierarchy);
        let none = ReplicaCgroup::create(&enforced, "web-1", Resources::default()).unwrap();
        assert_eq!(none, None);
        let not_enforced = ProcessLimits::NotEnforced {
            reason: "r".into(),
            fix: "f".into(),
        };
        let cpus = Resources {
            cpus: Some(1.0),
            memory_bytes: None,
        };
        assert_eq!(
            ReplicaCgroup::create(&not_enforced, "web-1", cpus).unwrap(),
            None
        );
    }

    #[test]
    fn settings_follow_the_kernel_formats() {
        let tiny = settings(Resources {
            cpus: Some(0.001),
            memory_bytes: None,
        });
        assert_eq!(
            tiny,
            [
                ("cpu.max", "1000 100000".to_owned()),
                ("memory.max", "max".to_owned()),
                ("memory.swap.max", "max".to_owned()),
            ]
        );
        let two = settings(Resources {
            cpus: Some(2.0),
            memory_bytes: Some(1 << 30),
        });
        assert_eq!(two[0].1, "200000 100000");
        assert_eq!(two[2].1, "0");
    }
}
