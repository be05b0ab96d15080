//! The process runtime's CPU and memory limits: the cgroup protocol against a directory tree laid
//! out as cgroupfs, and against this machine's own hierarchy, whatever it is.

use std::path::Path;
use std::time::Duration;

use slipway_runtime::{
    CgroupHierarchy, Labels, ProcessLimits, ProcessRuntime, ReplicaSpec, Resources, Runtime,
    Workload,
};

use crate::support::eventually;

const PATIENCE: Duration = Duration::from_secs(20);

/// A replica that prints what it finds in `procs` when it starts (or `-` when there is none), its
/// own process id, then waits to be stopped.
fn reporting(name: &str, procs: &Path) -> ReplicaSpec {
    let command = format!(
        "echo \"procs:$(cat '{}' 2>/dev/null || echo -)\"; echo \"pid:$$\"; exec sleep 600",
        procs.display()
    );
    ReplicaSpec::new(
        name,
        Workload::Command {
            command,
            working_dir: "/".into(),
        },
        3000,
    )
    .unwrap()
    .resources(Resources {
        cpus: Some(0.25),
        memory_bytes: Some(96 << 20),
    })
}

/// The replica's output once it has printed its process id.
async fn started_output(runtime: &ProcessRuntime, name: &str) -> String {
    let id = slipway_runtime::ReplicaId::new(name);
    let output = || async {
        let lines = runtime.logs(&id, None).await.unwrap();
        lines
            .into_iter()
            .map(|line| line.text + "\n")
            .collect::<String>()
    };
    eventually("the replica printed its pid", PATIENCE, || async {
        output().await.contains("pid:")
    })
    .await;
    output().await
}

#[tokio::test]
async fn a_replica_enters_its_cgroup_before_its_program_runs() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("cgroup.controllers"), "cpu memory").unwrap();
    let group = root.path().join("slipway.scope");
    std::fs::create_dir(&group).unwrap();
    std::fs::write(group.join("cgroup.controllers"), "cpu io memory").unwrap();
    std::fs::write(group.join("cgroup.subtree_control"), "").unwrap();
    let hierarchy = CgroupHierarchy::new(root.path(), Some("/slipway.scope".to_owned()));
    let state = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open_in(state.path(), &hierarchy)
        .await
        .unwrap();
    assert_eq!(
        runtime.limits(),
        &ProcessLimits::Enforced {
            base: group.clone()
        }
    );

    let cgroup = group.join("replica-limited-1");
    let replica = runtime
        .start(&reporting("limited-1", &cgroup.join("cgroup.procs")))
        .await
        .unwrap();
    let output = started_output(&runtime, "limited-1").await;
    // On cgroupfs, writing 0 moves the writer; here it stays in the file for the program to see.
    assert!(output.contains("procs:0\n"), "{output}");
    let read = |file: &str| std::fs::read_to_string(cgroup.join(file)).unwrap();
    assert_eq!(read("cpu.max"), "25000 100000");
    assert_eq!(read("memory.max"), (96u64 << 20).to_string());

    // The kernel's interface files vanish with the group; the fake's are real files.
    for file in ["cpu.max", "memory.max", "cgroup.procs"] {
        std::fs::remove_file(cgroup.join(file)).unwrap();
    }
    runtime.stop(&replica.id, Duration::ZERO).await.unwrap();
    assert!(!cgroup.exists(), "the group outlived its replica");
}

#[tokio::test]
async fn a_replica_without_a_cgroup_runs_its_command_as_before() {
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open_in(state.path(), &CgroupHierarchy::new(root.path(), None))
        .await
        .unwrap();
    assert!(!runtime.limits().enforced());
    let procs = root.path().join("replica-plain-1/cgroup.procs");
    runtime.start(&reporting("plain-1", &procs)).await.unwrap();
    let output = started_output(&runtime, "plain-1").await;
    assert!(output.contains("procs:-\n"), "{output}");
    assert!(!procs.exists());
    assert!(runtime.list(&Labels::new()).await.unwrap().len() == 1);
}

/// This machine's own hierarchy: where it is cgroup v2 and delegated, a replica really runs in its
/// group under its limits; where not, the runtime says why, and the reason matches the machine.
#[tokio::test]
async fn this_machine_confines_replicas_or_says_why_not() {
    let state = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(state.path()).await.unwrap();
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").is_file();
    match runtime.limits() {
        ProcessLimits::NotEnforced { reason, fix } => {
            eprintln!("this machine does not confine process replicas: {reason}");
            assert!(fix.contains("runtime = \"container\""), "{fix}");
            if !unified {
                assert!(
                    reason.contains("cgroup v1") || reason.contains("hybrid"),
                    "/sys/fs/cgroup is not cgroup v2, yet: {reason}"
                );
            }
        }
        ProcessLimits::Enforced { base } => {
            eprintln!(
                "this machine confines process replicas under {}",
                base.display()
            );
            assert!(unified, "enforced without a cgroup v2 mount");
            let cgroup = base.join("replica-machine-1");
            let replica = runtime
                .start(&reporting("machine-1", &cgroup.join("cgroup.procs")))
                .await
                .unwrap();
            let output = started_output(&runtime, "machine-1").await;
            let pid = output
                .lines()
                .find_map(|line| line.strip_prefix("pid:"))
                .unwrap();
            let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            assert!(own.trim_end().ends_with("/replica-machine-1"), "{own}");
            let read = |file: &str| std::fs::read_to_string(cgroup.join(file)).unwrap();
            assert_eq!(read("memory.max").trim(), (96u64 << 20).to_string());
            assert_eq!(read("cpu.max").trim(), "25000 100000");
            runtime.stop(&replica.id, Duration::ZERO).await.unwrap();
            assert!(!cgroup.exists(), "the group outlived its replica");
        }
    }
}
