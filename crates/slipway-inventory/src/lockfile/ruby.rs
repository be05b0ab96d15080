//! `Gemfile.lock`: the `specs:` of its `GEM` sections.
//!
//! Gems from rubygems.org are listed four spaces in as `name (version)` under `GEM` / `specs:`;
//! their own dependencies follow six spaces in. Gems from `GIT` and `PATH` sections are not
//! registry versions and are left out. A platform-specific gem carries its platform after the
//! version (`nokogiri (1.15.4-x86_64-linux)`), which is not part of the version.

use super::{LockedPackage, ParseError};

/// Platform names Bundler appends to versions, by their first word.
const PLATFORMS: [&str; 9] = [
    "x86_64",
    "x86",
    "x64",
    "aarch64",
    "arm64",
    "arm",
    "universal",
    "java",
    "jruby",
];

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let mut found = Vec::new();
    let mut in_gem_section = false;
    let mut in_specs = false;
    for (number, line) in (1..).zip(text.lines()) {
        let line = line.trim_end();
        if !line.starts_with(' ') {
            in_gem_section = line == "GEM";
            in_specs = false;
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = in_gem_section;
            continue;
        }
        let Some(spec) = line
            .strip_prefix("    ")
            .filter(|spec| in_specs && !spec.starts_with(' '))
        else {
            continue;
        };
        let Some((name, version)) = spec
            .split_once(" (")
            .and_then(|(name, rest)| Some((name, rest.strip_suffix(')')?)))
        else {
            return Err(ParseError::new(
                number,
                5,
                format!("expected `name (version)`, found `{spec}`"),
            ));
        };
        found.push(LockedPackage {
            name: name.to_owned(),
            version: without_platform(version).to_owned(),
            line: Some(number),
        });
    }
    Ok(found)
}

fn without_platform(version: &str) -> &str {
    match version.split_once('-') {
        Some((number, platform)) if PLATFORMS.iter().any(|known| platform.starts_with(known)) => {
            number
        }
        _ => version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_not_part_of_the_version() {
        assert_eq!(without_platform("1.15.4-x86_64-linux"), "1.15.4");
        assert_eq!(without_platform("9.4.3.0-java"), "9.4.3.0");
        assert_eq!(without_platform("1.0.0-rc1"), "1.0.0-rc1");
    }
}
