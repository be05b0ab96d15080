//! `go.mod`: the `require` directives, with `replace` directives applied.
//!
//! `require path v1.2.3` and `require ( ... )` blocks list the modules the build uses (Go's
//! minimal version selection makes them the versions built with). A `replace old => new v1.0.0`
//! swaps in another module version; a replacement by a local directory (`=> ../fork`) leaves
//! nothing to look up, so the module is left out. Versions are reported without the leading
//! `v`, as OSV writes Go versions.

use std::collections::HashMap;

use super::{LockedPackage, ParseError};

/// A directive's module and version, as written.
struct Require<'a> {
    path: &'a str,
    version: &'a str,
    line: usize,
}

/// The target of a `replace`: another module version, or a local directory.
enum Replacement<'a> {
    Module { path: &'a str, version: &'a str },
    Directory,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let mut requires = Vec::new();
    // Keyed by (path, version); a replace without a version on its left applies to all.
    let mut replaces: HashMap<(&str, Option<&str>), Replacement<'_>> = HashMap::new();
    let mut block: Option<&str> = None;
    for (number, raw) in (1..).zip(text.lines()) {
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (verb, arguments) = match block {
            Some(_) if line == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb, line),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb);
                    continue;
                }
                (verb, rest)
            }
        };
        match verb {
            "require" => requires.push(require(arguments, number)?),
            "replace" => {
                let (from, to) = replace(arguments, number)?;
                replaces.insert(from, to);
            }
            "module" | "go" | "toolchain" | "exclude" | "retract" | "godebug" | "tool" => {}
            other => {
                return Err(ParseError::new(
                    number,
                    1,
                    format!("unknown directive `{other}`"),
                ));
            }
        }
    }
    if block.is_some() {
        return Err(ParseError::new(
            text.lines().count().max(1),
            1,
            "a `(` block is never closed",
        ));
    }
    Ok(requires
        .into_iter()
        .filter_map(|require| {
            let replacement = replaces
                .get(&(require.path, Some(require.version)))
                .or_else(|| replaces.get(&(require.path, None)));
            let (path, version) = match replacement {
                None => (require.path, require.version),
                Some(Replacement::Module { path, version }) => (*path, *version),
                Some(Replacement::Directory) => return None,
            };
            Some(LockedPackage {
                name: path.to_owned(),
                version: version.strip_prefix('v').unwrap_or(version).to_owned(),
                line: Some(require.line),
            })
        })
        .collect())
}

fn require(arguments: &str, line: usize) -> Result<Require<'_>, ParseError> {
    let mut words = arguments.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(path), Some(version), None) if version.starts_with('v') => Ok(Require {
            path: unquote(path),
            version,
            line,
        }),
        _ => Err(ParseError::new(
            line,
            1,
            format!("expected `MODULE vVERSION`, found `{arguments}`"),
        )),
    }
}

#[allow(clippy::type_complexity)] // A pair of plain tuples reads better than a named type here.
fn replace(
    arguments: &str,
    line: usize,
) -> Result<((&str, Option<&str>), Replacement<'_>), ParseError> {
    let error = || {
        ParseError::new(
            line,
            1,
            format!("expected `MODULE [VERSION] => TARGET [VERSION]`, found `{arguments}`"),
        )
    };
    let (from, to) = arguments.split_once("=>").ok_or_else(error)?;
    let from: Vec<&str> = from.split_whitespace().collect();
    let to: Vec<&str> = to.split_whitespace().collect();
    let from = match from.as_slice() {
        [path] => (unquote(path), None),
        [path, version] => (unquote(path), Some(*version)),
        _ => return Err(error()),
    };
    let to = match to.as_slice() {
        [_directory] => Replacement::Directory,
        [path, version] => Replacement::Module {
            path: unquote(path),
            version,
        },
        _ => return Err(error()),
    };
    Ok((from, to))
}

fn unquote(text: &str) -> &str {
    text.trim_matches('"')
}
