//! Whether a version is affected, exactly as the OSV schema's evaluation rules say.
//!
//! A version is affected when the `versions` list names it, or when any range includes it. A
//! range's events are sorted by version (`introduced: "0"` first) and walked in order: an
//! `introduced` at or below the version switches "affected" on, a `fixed` at or below it, or a
//! `last_affected` below it, switches it off. `limit` events bound the range from above. `SEMVER`
//! ranges are ordered by SemVer whatever the ecosystem; `ECOSYSTEM` ranges by the ecosystem's
//! own scheme.

use std::cmp::Ordering;

use crate::osv::{AffectedPackage, Event, RangeKind};
use crate::version::{Version, VersionError, VersionScheme};

/// Why a version is affected, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Affected {
    /// The `fixed` versions of the ranges that include the version: upgrade to one of these.
    pub(crate) fixed: Vec<String>,
}

/// Decides whether `version` of the package `affected` describes is affected.
///
/// `scheme` is the ecosystem's ordering, `None` when Slipway has none: then only the `versions`
/// list and `SEMVER` ranges can match.
///
/// # Errors
///
/// A [`VersionError`] when `version`, or an event of a range it must be compared with, does not
/// parse under the range's scheme; the caller reports the package as not checked rather than
/// guessing.
pub(crate) fn affected(
    affected: &AffectedPackage,
    scheme: Option<VersionScheme>,
    version: &str,
) -> Result<Option<Affected>, VersionError> {
    let listed = affected.versions.iter().any(|listed| {
        listed == version
            || scheme.is_some_and(|scheme| {
                matches!(scheme.compare(listed, version), Ok(Ordering::Equal))
            })
    });
    let mut included = listed;
    let mut fixed = Vec::new();
    for range in &affected.ranges {
        let range_scheme = match range.kind {
            RangeKind::SemVer => VersionScheme::SemVer,
            RangeKind::Ecosystem => match scheme {
                Some(scheme) => scheme,
                None => continue,
            },
        };
        let version = range_scheme.parse(version)?;
        if range_includes(&range.events, range_scheme, &version)? {
            included = true;
            fixed.extend(range.events.iter().filter_map(|event| match event {
                Event::Fixed(fixed) => Some(fixed.clone()),
                _ => None,
            }));
        }
    }
    fixed.dedup();
    Ok(included.then_some(Affected { fixed }))
}

/// One range's verdict for `version`, by the schema's algorithm.
fn range_includes(
    events: &[Event],
    scheme: VersionScheme,
    version: &Version,
) -> Result<bool, VersionError> {
    // `introduced: "0"` means "from the beginning" and is not a version of any scheme.
    let mut sorted: Vec<(Option<Version>, &Event)> = events
        .iter()
        .map(|event| match event {
            Event::Introduced(zero) if zero == "0" => Ok((None, event)),
            event => scheme
                .parse(event.version())
                .map(|parsed| (Some(parsed), event)),
        })
        .collect::<Result<_, _>>()?;
    // Stable: events at the same version keep the record's order.
    sorted.sort_by(|(left, _), (right, _)| left.cmp(right));

    let mut affected = false;
    let mut limits = Vec::new();
    for (at, event) in &sorted {
        let at_or_below = at.as_ref().is_none_or(|at| at <= version);
        match event {
            Event::Introduced(_) if at_or_below => affected = true,
            Event::Fixed(_) if at_or_below => affected = false,
            Event::LastAffected(_) if at.as_ref().is_some_and(|at| at < version) => {
                affected = false;
            }
            Event::Limit(_) => limits.push(at),
            _ => {}
        }
    }
    let under_a_limit = limits.is_empty()
        || limits
            .iter()
            .any(|limit| limit.as_ref().is_some_and(|limit| version < limit));
    Ok(affected && under_a_limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Range;

    fn package(ranges: Vec<(RangeKind, Vec<Event>)>, versions: &[&str]) -> AffectedPackage {
        AffectedPackage {
            ecosystem: "test".to_owned(),
            name: "p".to_owned(),
            ranges: ranges
                .into_iter()
                .map(|(kind, events)| Range { kind, events })
                .collect(),
            versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn introduced(v: &str) -> Event {
        Event::Introduced(v.to_owned())
    }
    fn fixed(v: &str) -> Event {
        Event::Fixed(v.to_owned())
    }
    fn last(v: &str) -> Event {
        Event::LastAffected(v.to_owned())
    }
    fn limit(v: &str) -> Event {
        Event::Limit(v.to_owned())
    }

    /// Checks each `(version, affected?)` against `package` under `scheme`.
    fn check(package: &AffectedPackage, scheme: VersionScheme, table: &[(&str, bool)]) {
        for (version, expected) in table {
            let verdict = affected(package, Some(scheme), version).unwrap();
            assert_eq!(verdict.is_some(), *expected, "{version}");
        }
    }

    #[test]
    fn introduced_and_fixed_bound_a_half_open_range() {
        let p = package(
            vec![(RangeKind::SemVer, vec![introduced("1.0.0"), fixed("1.4.2")])],
            &[],
        );
        check(
            &p,
            VersionScheme::SemVer,
            &[
                ("0.9.9", false),
                ("1.0.0-rc.1", false),
                ("1.0.0", true),
                ("1.4.2-beta", true),
                ("1.4.1", true),
                ("1.4.2", false),
                ("2.0.0", false),
            ],
        );
        assert_eq!(
            affected(&p, Some(VersionScheme::SemVer), "1.2.0").unwrap(),
            Some(Affected {
                fixed: vec!["1.4.2".to_owned()]
            })
        );
    }

    #[test]
    fn last_affected_includes_its_own_version() {
        let p = package(
            vec![(RangeKind::Ecosystem, vec![introduced("0"), last("2.1")])],
            &[],
        );
        check(
            &p,
            VersionScheme::Pep440,
            &[
                ("0.1", true),
                ("2.1", true),
                ("2.1.0", true),
                ("2.1.1", false),
            ],
        );
    }

    #[test]
    fn several_introduced_fixed_pairs_leave_gaps() {
        // Events out of order in the record: sorting puts them right.
        let p = package(
            vec![(
                RangeKind::Ecosystem,
                vec![
                    fixed("1.2.3-r1"),
                    introduced("2.0"),
                    introduced("1.0"),
                    fixed("2.1_rc1"),
                ],
            )],
            &[],
        );
        check(
            &p,
            VersionScheme::Apk,
            &[
                ("0.9", false),
                ("1.0", true),
                ("1.2.3", true),
                ("1.2.3-r1", false),
                ("1.9", false),
                ("2.0", true),
                ("2.1_beta2", true),
                ("2.1_rc1", false),
                ("2.1", false),
            ],
        );
    }

    #[test]
    fn limit_cuts_the_range_from_above() {
        let p = package(
            vec![(RangeKind::SemVer, vec![introduced("0"), limit("3.0.0")])],
            &[],
        );
        check(
            &p,
            VersionScheme::SemVer,
            &[("0.0.1", true), ("2.9.9", true), ("3.0.0", false)],
        );
    }

    #[test]
    fn the_versions_list_matches_without_ranges_and_without_a_scheme() {
        let p = package(vec![], &["1.0", "1.1"]);
        assert!(affected(&p, None, "1.1").unwrap().is_some());
        assert!(affected(&p, None, "1.2").unwrap().is_none());
        // Under PEP 440, 1.1.0 is 1.1.
        assert!(
            affected(&p, Some(VersionScheme::Pep440), "1.1.0")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn ecosystem_ranges_need_a_scheme_and_semver_ranges_do_not() {
        let p = package(
            vec![
                (RangeKind::Ecosystem, vec![introduced("0")]),
                (RangeKind::SemVer, vec![introduced("2.0.0")]),
            ],
            &[],
        );
        assert!(affected(&p, None, "1.0.0").unwrap().is_none());
        assert!(affected(&p, None, "2.0.0").unwrap().is_some());
    }

    #[test]
    fn an_unparseable_version_is_an_error_not_a_guess() {
        let p = package(
            vec![(RangeKind::SemVer, vec![introduced("0"), fixed("1.0.0")])],
            &[],
        );
        assert!(affected(&p, Some(VersionScheme::SemVer), "latest").is_err());
        let broken = package(
            vec![(RangeKind::SemVer, vec![introduced("0"), fixed("one")])],
            &[],
        );
        assert!(affected(&broken, Some(VersionScheme::SemVer), "0.5.0").is_err());
    }

    #[test]
    fn rustsec_introduced_zero_prerelease_covers_everything_before_the_fix() {
        // RustSec writes `introduced: 0.0.0-0`, the lowest SemVer version.
        let p = package(
            vec![(
                RangeKind::SemVer,
                vec![introduced("0.0.0-0"), fixed("0.9.0")],
            )],
            &[],
        );
        check(
            &p,
            VersionScheme::SemVer,
            &[
                ("0.0.0", true),
                ("0.1.0-alpha", true),
                ("0.8.99", true),
                ("0.9.0", false),
            ],
        );
    }
}
