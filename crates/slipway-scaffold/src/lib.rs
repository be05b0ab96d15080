//! `slipway init`: the files a service needs to build and ship with Slipway.
//!
//! A [`Template`] (Node.js or Rust) renders into a [`Plan`]: `slipway.toml`, a multi-stage
//! `Dockerfile`, `.dockerignore` and `.github/workflows/slipway.yml`. [`Plan::write`] writes all of
//! them or none: when any already exists and `force` is not set, nothing is touched and the error
//! lists every file in the way. Each file is written to a temporary file and renamed into place, so
//! an interrupted `init` never leaves half a file.
//!
//! ```no_run
//! use slipway_scaffold::{Plan, Template};
//! let dir = std::path::Path::new(".");
//! let template = Template::detect(dir).unwrap_or(Template::Node);
//! let plan = Plan::new(template, dir, "orders");
//! let written = plan.write(false)?;
//! # Ok::<(), slipway_scaffold::ScaffoldError>(())
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Files exist that the plan would overwrite.
    #[error("{} already exist{}: {}", count(.0.len()), if .0.len() == 1 { "s" } else { "" }, list(.0))]
    WouldOverwrite(Vec<PathBuf>),
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "a file".to_owned()
    } else {
        format!("{n} files")
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kinds of service `init` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A Node.js service: `npm ci`, a build stage, an Alpine runtime stage.
    Node,
    /// A Rust service: a static binary in a `FROM scratch` image.
    Rust,
}

impl Template {
    /// The template that fits the project in `dir`: `package.json` means Node.js, `Cargo.toml`
    /// Rust; `None` when neither is there.
    pub fn detect(dir: &Path) -> Option<Template> {
        if dir.join("package.json").is_file() {
            Some(Template::Node)
        } else if dir.join("Cargo.toml").is_file() {
            Some(Template::Rust)
        } else {
            None
        }
    }

    /// Every template, for help texts.
    pub const ALL: [Template; 2] = [Template::Node, Template::Rust];

    /// The template's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Template::Node => "node",
            Template::Rust => "rust",
        }
    }

    /// The test job's steps after the checkout, in the workflow every template shares.
    fn test_steps(self) -> &'static str {
        match self {
            Template::Node => include_str!("../templates/node/test-steps.yml"),
            Template::Rust => include_str!("../templates/rust/test-steps.yml"),
        }
    }

    fn sources(self) -> [(&'static str, &'static str); 4] {
        match self {
            Template::Node => [
                (
                    "slipway.toml",
                    include_str!("../templates/node/slipway.toml"),
                ),
                ("Dockerfile", include_str!("../templates/node/Dockerfile")),
                (
                    ".dockerignore",
                    include_str!("../templates/node/dockerignore"),
                ),
                (".github/workflows/slipway.yml", WORKFLOW),
            ],
            Template::Rust => [
                (
                    "slipway.toml",
                    include_str!("../templates/rust/slipway.toml"),
                ),
                ("Dockerfile", include_str!("../templates/rust/Dockerfile")),
                (
                    ".dockerignore",
                    include_str!("../templates/rust/dockerignore"),
                ),
                (".github/workflows/slipway.yml", WORKFLOW),
            ],
        }
    }
}

/// The workflow of every template: Slipway's stages as steps, the test job's steps filled in.
const WORKFLOW: &str = include_str!("../templates/workflow.yml");

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One file of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Where it goes.
    pub path: PathBuf,
    /// What it holds.
    pub contents: String,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It did not exist.
    Created,
    /// It existed and `force` replaced it.
    Overwritten,
}

/// The files a template renders to, not yet written.
#[derive(Debug, Clone)]
pub struct Plan {
    files: Vec<PlannedFile>,
}

impl Plan {
    /// Renders `template` for the service `name` into the project directory `dir`. The Rust
    /// template's binary is the package name in `dir/Cargo.toml`, else `name`.
    pub fn new(template: Template, dir: &Path, name: &str) -> Plan {
        let binary = cargo_package_name(dir).unwrap_or_else(|| name.to_owned());
        let files = template
            .sources()
            .into_iter()
            .map(|(relative, source)| PlannedFile {
                path: dir.join(relative),
                contents: source
                    .replace("{{test_steps}}", template.test_steps())
                    .replace("{{name}}", name)
                    .replace("{{binary}}", &binary),
            })
            .collect();
        Plan { files }
    }

    /// The files, in the order they are written.
    pub fn files(&self) -> &[PlannedFile] {
        &self.files
    }

    /// Writes every file, or none when any exists and `force` is false.
    pub fn write(&self, force: bool) -> Result<Vec<(PathBuf, Action)>, ScaffoldError> {
        let existing: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|file| file.path.exists())
            .map(|file| file.path.clone())
            .collect();
        if !force && !existing.is_empty() {
            return Err(ScaffoldError::WouldOverwrite(existing));
        }
        self.files
            .iter()
            .map(|file| {
                let action = if existing.contains(&file.path) {
                    Action::Overwritten
                } else {
                    Action::Created
                };
                write_atomically(&file.path, &file.contents).map(|()| (file.path.clone(), action))
            })
            .collect()
    }
}

/// The `[package] name` of `dir/Cargo.toml`, found with a line scan: a scaffold need not parse TOML
/// to read one key, and a file it cannot read simply has no name.
fn cargo_package_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

fn write_atomically(path: &Path, contents: &str) -> Result<(), ScaffoldError> {
    let error = |source| ScaffoldError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(error)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir).map_err(error)?;
    temporary.write_all(contents.as_bytes()).map_err(error)?;
    temporary
        .persist(path)
        .map_err(|persist| error(persist.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_by_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Template::detect(dir.path()), None);
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        assert_eq!(Template::detect(dir.path()), Some(Template::Rust));
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        assert_eq!(Template::detect(dir.path()), Some(Template::Node));
    }

    #[test]
    fn the_rust_template_names_the_binary_after_the_package() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"orders_svc\"\nversion = \"0.1.0\"\n\n[dependencies]\nname = \"x\"\n",
        )
        .unwrap();
        let plan = Plan::new(Template::Rust, dir.path(), "orders");
        let dockerfile = &plan.files()[1];
        assert!(
            dockerfile
                .contents
                .contains("cp target/release/orders_svc /service")
        );
        assert!(plan.files()[0].contents.contains("[services.orders]"));
    }

    #[test]
    fn write_creates_all_then_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::new(Template::Node, dir.path(), "web");
        let written = plan.write(false).unwrap();
        assert_eq!(written.len(), 4);
        assert!(written.iter().all(|(_, action)| *action == Action::Created));
        assert!(dir.path().join(".github/workflows/slipway.yml").is_file());

        std::fs::write(dir.path().join("Dockerfile"), "FROM mine\n").unwrap();
        let error = plan.write(false).unwrap_err();
        assert!(matches!(&error, ScaffoldError::WouldOverwrite(paths) if paths.len() == 4));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
            "FROM mine\n"
        );

        let forced = plan.write(true).unwrap();
        assert!(
            forced
                .iter()
                .all(|(_, action)| *action == Action::Overwritten)
        );
        assert!(
            std::fs::read_to_string(dir.path().join("Dockerfile"))
                .unwrap()
                .contains("AS runtime")
        );
    }

    #[test]
    fn nothing_is_written_when_one_file_is_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "mine\n").unwrap();
        let error = Plan::new(Template::Rust, dir.path(), "api")
            .write(false)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "a file already exists: {}",
                dir.path().join(".dockerignore").display()
            )
        );
        assert!(!dir.path().join("slipway.toml").exists());
        assert!(!dir.path().join("Dockerfile").exists());
    }
}
