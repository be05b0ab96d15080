//! Running the binary in scratch projects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory to run `slipway` in, with its own state directory.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

/// What a run of the binary did.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn success(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn failure(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Project {
    pub(crate) fn empty() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A git repository holding a copy of `examples/hello`, committed on `main`.
    pub(crate) fn example() -> Project {
        let project = Project::empty();
        copy_dir(&example_dir(), project.path());
        project.git(&["init", "-q", "-b", "main"]);
        project.commit_all("the example");
        project
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
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

    pub(crate) fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Runs `slipway ARGS` in the project, without colour, with its state in `.slipway/`.
    pub(crate) fn slipway(&self, args: &[&str]) -> Run {
        self.slipway_with(args, &[])
    }

    pub(crate) fn slipway_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_HOME");
        command.env_remove("SLIPWAY_CONFIG").env_remove("RUST_LOG");
        for (key, value) in env {
            command.env(key, value);
        }
        Run::from(command.output().unwrap())
    }
}

pub(crate) fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "node_modules" || name == ".slipway" || name == "dist" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The engine's endpoint, or a failure telling how to start one: tests that need an engine never
/// skip.
pub(crate) fn require_engine() {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/run/podman/podman.sock".to_owned());
    assert!(
        Path::new(&socket).exists() || Path::new("/var/run/docker.sock").exists(),
        "no container engine socket (DOCKER_HOST={:?}); run scripts/setup-engine and scripts/base-images",
        std::env::var("DOCKER_HOST").ok()
    );
}
