//! Where a build's version comes from: `slipway.toml`, else `package.json` or `Cargo.toml` in the
//! build context, else the nearest git tag.

use std::fmt;
use std::path::{Path, PathBuf};

use slipway_git::{GitError, Repository};

/// A version and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The version text.
    pub text: String,
    /// Where it came from.
    pub source: VersionSource,
}

/// Where a [`Version`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    /// `version` in `slipway.toml`.
    Config,
    /// The `version` field of this `package.json`.
    PackageJson(PathBuf),
    /// The package version in this `Cargo.toml`.
    CargoToml(PathBuf),
    /// The nearest git tag (a leading `v` before a digit dropped).
    GitTag(String),
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSource::Config => f.write_str("slipway.toml"),
            VersionSource::PackageJson(path) | VersionSource::CargoToml(path) => {
                write!(f, "{}", path.display())
            }
            VersionSource::GitTag(tag) => write!(f, "git tag {tag}"),
        }
    }
}

/// Why a version could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// A manifest exists but is not valid.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// The version of the service whose build context is `context`: the first of `configured`, the
/// context's `package.json`, its `Cargo.toml`, and the repository's nearest tag. `None` when none
/// of them has one.
pub fn detect(
    configured: Option<&str>,
    context: &Path,
    repository: &Repository,
) -> Result<Option<Version>, VersionError> {
    if let Some(text) = configured {
        return Ok(Some(Version {
            text: text.to_owned(),
            source: VersionSource::Config,
        }));
    }
    let package_json = context.join("package.json");
    if let Some(text) = read_package_json(&package_json)? {
        return Ok(Some(Version {
            text,
            source: VersionSource::PackageJson(package_json),
        }));
    }
    let cargo_toml = context.join("Cargo.toml");
    if let Some(text) = read_cargo_toml(&cargo_toml, repository.root())? {
        return Ok(Some(Version {
            text,
            source: VersionSource::CargoToml(cargo_toml),
        }));
    }
    Ok(repository.nearest_tag()?.map(|tag| Version {
        text: strip_v(&tag).to_owned(),
        source: VersionSource::GitTag(tag),
    }))
}

/// `v1.2.3` → `1.2.3`; `version-2` stays.
fn strip_v(tag: &str) -> &str {
    match tag.strip_prefix('v').or_else(|| tag.strip_prefix('V')) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => tag,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, VersionError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(manifest_error(path, error.to_string())),
    }
}

fn manifest_error(path: &Path, message: String) -> VersionError {
    VersionError::Manifest {
        path: path.to_path_buf(),
        message,
    }
}

fn read_package_json(path: &Path) -> Result<Option<String>, VersionError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| manifest_error(path, format!("not valid JSON: {error}")))?;
    match value.get("version") {
        None => Ok(None),
        Some(serde_json::Value::String(version)) if !version.trim().is_empty() => {
            Ok(Some(version.trim().to_owned()))
        }
        Some(_) => Err(manifest_error(
            path,
            "`version` must be a non-empty string".to_owned(),
        )),
    }
}

/// The `[package] version`, following `version.workspace = true` to the workspace root's
/// `[workspace.package] version` (looked for from the manifest's directory up to `stop_at`).
fn read_cargo_toml(path: &Path, stop_at: &Path) -> Result<Option<String>, VersionError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let manifest: toml::Table = toml::from_str(&text)
        .map_err(|error| manifest_error(path, format!("not valid TOML: {}", error.message())))?;
    let Some(package) = manifest.get("package").and_then(toml::Value::as_table) else {
        // A virtual workspace manifest has no package of its own.
        return Ok(None);
    };
    match package.get("version") {
        None => Ok(None),
        Some(toml::Value::String(version)) => Ok(Some(version.clone())),
        Some(toml::Value::Table(inherit))
            if inherit.get("workspace") == Some(&toml::Value::Boolean(true)) =>
        {
            workspace_version(path, stop_at)
        }
        Some(_) => Err(manifest_error(
            path,
            "`package.version` must be a string".to_owned(),
        )),
    }
}

fn workspace_version(member: &Path, stop_at: &Path) -> Result<Option<String>, VersionError> {
    let mut dir = member.parent().and_then(Path::parent);
    while let Some(current) = dir {
        let candidate = current.join("Cargo.toml");
        if let Some(text) = read_optional(&candidate)? {
            let manifest: toml::Table = toml::from_str(&text).map_err(|error| {
                manifest_error(&candidate, format!("not valid TOML: {}", error.message()))
            })?;
            if let Some(workspace) = manifest.get("workspace") {
                let version = workspace
                    .get("package")
                    .and_then(|package| package.get("version"))
                    .and_then(toml::Value::as_str);
                return match version {
                    Some(version) => Ok(Some(version.to_owned())),
                    None => Err(manifest_error(
                        member,
                        format!(
                            "inherits its version, but {} sets no [workspace.package] version",
                            candidate.display()
                        ),
                    )),
                };
            }
        }
        if current == stop_at {
            break;
        }
        dir = current.parent();
    }
    Err(manifest_error(
        member,
        "inherits its version from a workspace that was not found".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn repo_in(dir: &Path) -> Repository {
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(dir)
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
                status.status.success(),
                "{}",
                String::from_utf8_lossy(&status.stderr)
            );
        };
        git(&["init", "-q"]);
        git(&["commit", "-q", "--allow-empty", "-m", "init"]);
        Repository::discover(dir).unwrap()
    }

    #[test]
    fn the_config_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"version":"1.0.0"}"#).unwrap();
        let version = detect(Some("9.9.9"), dir.path(), &repo_in(dir.path()))
            .unwrap()
            .unwrap();
        assert_eq!(
            version,
            Version {
                text: "9.9.9".into(),
                source: VersionSource::Config
            }
        );
    }

    #[test]
    fn package_json_then_cargo_toml_then_tag() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo_in(dir.path());
        assert_eq!(detect(None, dir.path(), &repo).unwrap(), None);

        let status = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["tag", "v2.1.0"])
            .status()
            .unwrap();
        assert!(status.success());
        let version = detect(None, dir.path(), &repo).unwrap().unwrap();
        assert_eq!(version.text, "2.1.0");
        assert_eq!(version.source, VersionSource::GitTag("v2.1.0".into()));

        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\nversion = \"0.3.0\"\n",
        )
        .unwrap();
        assert_eq!(
            detect(None, dir.path(), &repo).unwrap().unwrap().text,
            "0.3.0"
        );

        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"x","version":" 1.4.0 "}"#,
        )
        .unwrap();
        let version = detect(None, dir.path(), &repo).unwrap().unwrap();
        assert_eq!(version.text, "1.4.0");
        assert_eq!(
            version.source,
            VersionSource::PackageJson(dir.path().join("package.json"))
        );
    }

    #[test]
    fn a_package_json_without_version_falls_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"name":"x"}"#).unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nversion = \"0.3.0\"\n",
        )
        .unwrap();
        assert_eq!(
            detect(None, dir.path(), &repo_in(dir.path()))
                .unwrap()
                .unwrap()
                .text,
            "0.3.0"
        );
    }

    #[test]
    fn cargo_workspace_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo_in(dir.path());
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\n[workspace.package]\nversion = \"5.0.1\"\n",
        )
        .unwrap();
        let member = dir.path().join("crates/api");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname = \"api\"\nversion.workspace = true\n",
        )
        .unwrap();
        assert_eq!(detect(None, &member, &repo).unwrap().unwrap().text, "5.0.1");
    }

    #[test]
    fn broken_manifests_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo_in(dir.path());
        std::fs::write(dir.path().join("package.json"), "{ not json").unwrap();
        let error = detect(None, dir.path(), &repo).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "{}: not valid JSON",
                dir.path().join("package.json").display()
            )),
            "{error}"
        );

        std::fs::write(dir.path().join("package.json"), r#"{"version": 3}"#).unwrap();
        let error = detect(None, dir.path(), &repo).unwrap_err().to_string();
        assert!(
            error.ends_with("`version` must be a non-empty string"),
            "{error}"
        );
    }

    #[test]
    fn strip_v_only_before_a_digit() {
        assert_eq!(strip_v("v1.2.3"), "1.2.3");
        assert_eq!(strip_v("V10"), "10");
        assert_eq!(strip_v("version-2"), "version-2");
        assert_eq!(strip_v("1.0"), "1.0");
    }
}
