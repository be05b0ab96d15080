//! Running the binary in scratch projects.
//!
//! Every [`Project`] has a project name of its own, so parallel tests never share image tags
//! (`localhost/NAME/SERVICE`) or container names, and its drop removes the images its builds made
//! (found by the project label `slipway build` gives them): a test leaves nothing in the engine.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use slipway_build::labels::keys::PROJECT as PROJECT_LABEL;
use slipway_engine::{ContainerEngine, DockerEngine, EndpointChoice, ImageFilter, ImageRemoval};

/// A scratch directory to run `slipway` in, with its own state directory and project name.
pub(crate) struct Project {
    dir: tempfile::TempDir,
    name: String,
    /// The project's own advisory database (the user's is shared), outside the repository so
    /// importing into it never makes the tree dirty.
    advisories: tempfile::TempDir,
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
            name: unique_name(),
            advisories: tempfile::tempdir().unwrap(),
        }
    }

    /// A git repository holding a copy of `examples/hello` under the project's own name,
    /// committed on `main`.
    pub(crate) fn example() -> Project {
        let project = Project::empty();
        copy_dir(&example_dir(), project.path());
        let config = project.read("slipway.toml");
        let renamed = config.replace("name = \"hello\"", &format!("name = \"{}\"", project.name));
        assert_ne!(
            renamed, config,
            "the example's slipway.toml names its project"
        );
        project.write("slipway.toml", &renamed);
        // The image never reads slipway.toml, and kept out of the build context the name that
        // differs from test to test leaves the build stage's `COPY . .` the same: builds share
        // its cached layers instead of each leaving new untagged ones behind.
        let ignored = project.read(".dockerignore");
        project.write(".dockerignore", &format!("{ignored}slipway.toml\n"));
        project.git(&["init", "-q", "-b", "main"]);
        project.commit_all("the example");
        project
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The project name: `[project] name` in the example's slipway.toml, and what a test writing
    /// its own slipway.toml should use when it builds.
    pub(crate) fn name(&self) -> &str {
        &self.name
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

    /// Imports one advisory, about a package nothing holds, for every ecosystem the example's
    /// tree and image can hold: scans then check what they find, and pass on the findings alone.
    /// For tests whose subject is not the advisory database.
    pub(crate) fn cover_every_ecosystem(&self) {
        let records = tempfile::tempdir().unwrap();
        let alpine = (0..=30).map(|minor| format!("Alpine:v3.{minor}"));
        let debian = (9..=14).map(|release| format!("Debian:{release}"));
        let ecosystems = ["crates.io", "npm", "PyPI", "Go", "RubyGems", "Packagist"]
            .into_iter()
            .map(str::to_owned)
            .chain(alpine)
            .chain(debian);
        for (number, ecosystem) in ecosystems.enumerate() {
            let record = serde_json::json!({
                "id": format!("SLIPWAY-TEST-COVER-{number}"),
                "modified": "2025-01-01T00:00:00Z",
                "affected": [{
                    "package": {"ecosystem": ecosystem, "name": "slipway-test-no-such-package"},
                    "versions": ["0.0.1"]
                }]
            });
            std::fs::write(
                records.path().join(format!("{number}.json")),
                record.to_string(),
            )
            .unwrap();
        }
        let records = records.path().display().to_string();
        self.slipway(&["db", "import", &records]).success();
    }

    /// Runs `slipway ARGS` in the project, without colour, with its state in `.slipway/`.
    pub(crate) fn slipway(&self, args: &[&str]) -> Run {
        self.slipway_with(args, &[])
    }

    /// Starts `slipway ARGS` (a server told to listen on port 0) and waits for the line saying
    /// where it serves.
    pub(crate) fn serve(&self, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_HOME")
            .env_remove("SLIPWAY_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (report, reported) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = serving_address(&line) {
                    let _ = report.send(addr);
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut served = Served {
            child,
            stderr: Some(reader),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        // Ends early, with the output, when the server exits before saying where it serves.
        match reported.recv_timeout(SERVER_PATIENCE) {
            Ok(addr) => served.addr = addr,
            Err(error) => {
                let _ = served.child.kill();
                let output = served.stderr.take().unwrap().join().unwrap();
                panic!("slipway {args:?} never said where it serves ({error}):\n{output}");
            }
        }
        served
    }

    pub(crate) fn slipway_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_HOME")
            // The advisory database is the user's; each test project gets its own.
            .env("SLIPWAY_ADVISORY_DB", self.advisories.path());
        command.env_remove("SLIPWAY_CONFIG").env_remove("RUST_LOG");
        for (key, value) in env {
            command.env(key, value);
        }
        Run::from(command.output().unwrap())
    }
}

/// A `slipway` server (`proxy`, `registry serve`) running in the background on port 0, at the
/// address it reported: no port is picked, released and bound again, so none can be taken by
/// another test in between. Killed if the test fails before it stops it.
pub(crate) struct Served {
    child: Child,
    /// Everything it writes to stderr, once it exits.
    stderr: Option<JoinHandle<String>>,
    /// Where it serves.
    pub(crate) addr: SocketAddr,
}

/// How long a server may take to start or stop, even on a loaded machine.
const SERVER_PATIENCE: Duration = Duration::from_secs(60);

impl Served {
    /// Sends SIGTERM and waits for the exit; its status and everything it wrote to stderr.
    pub(crate) fn terminate(mut self) -> (ExitStatus, String) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let deadline = Instant::now() + SERVER_PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "it did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stderr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in a "... serving http://ADDR ..." line.
fn serving_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line
        .split_once("serving http://")
        .or_else(|| line.split_once("serving https://"))?;
    rest.split_whitespace().next()?.parse().ok()
}

impl Drop for Project {
    /// Removes the images the project's builds made. Nothing to do without an engine: then
    /// nothing was built. Failures are reported, never raised, since the test may be unwinding.
    fn drop(&mut self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                return eprintln!("cannot remove the images of {}: {error}", self.name);
            }
        };
        if let Err(error) = runtime.block_on(remove_images(&self.name)) {
            eprintln!("cannot remove the images of {}: {error}", self.name);
        }
    }
}

/// Removes the tag `reference` from its image, leaving the image and its other tags.
pub(crate) fn untag(reference: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = connect_engine().await.unwrap();
        let removal = ImageRemoval {
            force: false,
            no_prune: true,
        };
        engine.remove_image(reference, removal).await.unwrap();
    });
}

async fn connect_engine() -> Result<DockerEngine, slipway_engine::EngineError> {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    DockerEngine::connect(EndpointChoice::Discover { docker_host }).await
}

/// Removes every image labelled as built for the project `name`.
async fn remove_images(name: &str) -> Result<(), slipway_engine::EngineError> {
    let Ok(engine) = connect_engine().await else {
        return Ok(());
    };
    let built = engine
        .list_images(&ImageFilter::new().label(PROJECT_LABEL, name))
        .await?;
    for image in built {
        // Its untagged parents are the layer cache every build of the example shares: pruning
        // them could pull a cached step from under a build running in parallel.
        let removal = ImageRemoval {
            force: true,
            no_prune: true,
        };
        match engine.remove_image(image.id.as_str(), removal).await {
            Ok(()) | Err(slipway_engine::EngineError::ImageNotFound { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A project name no other test, in this run or a parallel one, uses: a DNS label.
fn unique_name() -> String {
    static PROJECTS: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!(
        "t{}-{}-{nanos:x}",
        std::process::id(),
        PROJECTS.fetch_add(1, Ordering::Relaxed)
    )
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
