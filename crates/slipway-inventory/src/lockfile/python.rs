//! Python lockfiles: `requirements.txt` (pinned lines only), `poetry.lock`, `Pipfile.lock` and
//! `uv.lock`.
//!
//! In `requirements.txt` only `name==version` (or `===`) pins a version; ranges, URLs, editable
//! installs and options (`-r`, `--hash`, `-e`) name none and are left out. Continuation lines
//! (`\` at the end) are joined first, comments and environment markers dropped.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{LockedPackage, ParseError};
use crate::text::JsonLines;

pub(super) fn parse_requirements(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let mut found = Vec::new();
    let mut logical = String::new();
    let mut start = 0;
    for (number, line) in (1..).zip(text.lines()) {
        if logical.is_empty() {
            start = number;
        }
        match line.strip_suffix('\\') {
            Some(continued) => {
                logical.push_str(continued);
                logical.push(' ');
            }
            None => {
                logical.push_str(line);
                if let Some(package) = pinned(&logical, start)? {
                    found.push(package);
                }
                logical.clear();
            }
        }
    }
    if let Some(package) = pinned(&logical, start)? {
        found.push(package);
    }
    Ok(found)
}

/// The pin on one logical line of a requirements file, if it has one.
fn pinned(line: &str, number: usize) -> Result<Option<LockedPackage>, ParseError> {
    // ` #` starts a comment; a `#` inside a URL fragment does not.
    let line = match line.find(" #") {
        Some(comment) => &line[..comment],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let requirement = line.split(';').next().unwrap_or_default();
    // Options after the requirement (`--hash=...`).
    let requirement = requirement.split(" --").next().unwrap_or_default().trim();
    if requirement.is_empty() || requirement.starts_with('-') || requirement.contains("://") {
        return Ok(None);
    }
    let Some((name, version)) = requirement.split_once("==") else {
        return Ok(None);
    };
    let name = name.split('[').next().unwrap_or_default().trim();
    let version = version.trim_start_matches('=').trim();
    let valid_name = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !valid_name(name) {
        return Err(ParseError::new(
            number,
            1,
            format!("{name:?} is not a package name"),
        ));
    }
    if version.is_empty() || version.contains(['<', '>', '!', '~', ',', '*', ' ']) {
        return Ok(None);
    }
    Ok(Some(LockedPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        line: Some(number),
    }))
}

/// `poetry.lock` and `uv.lock` share the shape: `[[package]]` with `name` and `version`.
#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct TomlPackage {
    name: Spanned<String>,
    version: Option<String>,
    source: Option<toml::Value>,
}

fn toml_packages(
    text: &str,
    from_registry: impl Fn(Option<&toml::Value>) -> bool,
) -> Result<Vec<LockedPackage>, ParseError> {
    let lock: TomlLock = toml::from_str(text).map_err(|error| ParseError::toml(text, &error))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|package| from_registry(package.source.as_ref()))
        .filter_map(|package| {
            Some(LockedPackage {
                line: Some(crate::text::line_column(text, package.name.span().start).0),
                version: package.version?,
                name: package.name.into_inner(),
            })
        })
        .collect())
}

/// Poetry marks git, directory, file and URL packages with a `[package.source]` whose `type`
/// is not `legacy` (an alternative index); packages from PyPI have none.
pub(super) fn parse_poetry(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    toml_packages(text, |source| {
        source
            .is_none_or(|source| source.get("type").and_then(toml::Value::as_str) == Some("legacy"))
    })
}

/// uv marks each package's source: `registry` for an index, `editable`, `virtual`,
/// `directory`, `path`, `git` or `url` otherwise.
pub(super) fn parse_uv(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    toml_packages(text, |source| {
        source.is_some_and(|source| source.get("registry").is_some())
    })
}

#[derive(Deserialize)]
struct Pipfile {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<String>,
}

/// `Pipfile.lock`: `default` and `develop` map names to `{"version": "==1.2.3"}`; git and path
/// entries have no version.
pub(super) fn parse_pipfile(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let lock: Pipfile = serde_json::from_str(text).map_err(|error| ParseError::json(&error))?;
    let lines = JsonLines::new(text);
    Ok(lock
        .default
        .into_iter()
        .chain(lock.develop)
        .filter_map(|(name, entry)| {
            let version = entry.version?.strip_prefix("==")?.to_owned();
            Some(LockedPackage {
                line: lines.key(&name),
                name,
                version,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String, usize)> {
        parse_requirements(text)
            .unwrap()
            .into_iter()
            .map(|package| (package.name, package.version, package.line.unwrap()))
            .collect()
    }

    #[test]
    fn only_exact_pins_count() {
        let text = "# comment\nDjango==4.2.1  # LTS\nrequests>=2.0\nurllib3[secure]==1.26.5 ; python_version >= \"3\"\n\
                    -r other.txt\n-e git+https://x/y#egg=z\nflask==\\\n    2.0.1 \\\n    --hash=sha256:abc\nhttps://x/pkg.whl\nnumpy===1.24.0\n";
        assert_eq!(
            pins(text),
            [
                ("Django".to_owned(), "4.2.1".to_owned(), 2),
                ("urllib3".to_owned(), "1.26.5".to_owned(), 4),
                ("flask".to_owned(), "2.0.1".to_owned(), 7),
                ("numpy".to_owned(), "1.24.0".to_owned(), 11),
            ]
        );
    }

    #[test]
    fn a_broken_name_is_an_error_with_its_line() {
        let error = parse_requirements("ok==1\nbad name==2\n").unwrap_err();
        assert_eq!(
            (error.line(), error.message()),
            (2, "\"bad name\" is not a package name")
        );
    }
}
