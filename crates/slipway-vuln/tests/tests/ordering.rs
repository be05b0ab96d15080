//! Version ordering, per scheme: tables of versions in ascending order taken from each
//! ecosystem's own documentation and tools, equalities the scheme defines, versions it rejects,
//! and property tests that the order is total, antisymmetric and transitive.

use std::cmp::Ordering;

use proptest::prelude::*;
use slipway_vuln::VersionScheme;

/// Asserts that `ascending` is strictly increasing under `scheme`, comparing every pair (so a
/// table of n versions checks n² orderings, not n).
#[track_caller]
fn check_ascending(scheme: VersionScheme, ascending: &[&str]) {
    let parsed: Vec<_> = ascending
        .iter()
        .map(|text| scheme.parse(text).unwrap_or_else(|error| panic!("{error}")))
        .collect();
    for (i, left) in parsed.iter().enumerate() {
        for (j, right) in parsed.iter().enumerate() {
            assert_eq!(left.cmp(right), i.cmp(&j), "{scheme}: {left} vs {right}");
        }
    }
}

#[track_caller]
fn check_equal(scheme: VersionScheme, pairs: &[(&str, &str)]) {
    for (left, right) in pairs {
        assert_eq!(
            scheme.compare(left, right),
            Ok(Ordering::Equal),
            "{scheme}: {left} == {right}"
        );
    }
}

#[track_caller]
fn check_rejected(scheme: VersionScheme, texts: &[&str]) {
    for text in texts {
        assert!(scheme.parse(text).is_err(), "{scheme} accepted {text:?}");
    }
}

#[test]
fn semver_follows_the_specification_examples() {
    // semver.org, item 11, and the precedence of numbers over text.
    check_ascending(
        VersionScheme::SemVer,
        &[
            "0.0.0-0",
            "0.0.0",
            "0.9.0",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "1.10.0",
            "2.0.0",
            "18446744073709551616.0.0",
        ],
    );
    check_equal(
        VersionScheme::SemVer,
        &[
            ("1.0.0+build.1", "1.0.0+other"),
            ("v1.2.3", "1.2.3"),
            ("1.2", "1.2.0"),
            ("1", "1.0.0"),
        ],
    );
    // Go pseudo-versions are pre-releases of the next patch.
    check_ascending(
        VersionScheme::SemVer,
        &[
            "v0.0.0-20190101000000-abcdefabcdef",
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.0.1",
        ],
    );
    check_rejected(
        VersionScheme::SemVer,
        &[
            "",
            "latest",
            "1.2.3.4",
            "1.x",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0-ä",
        ],
    );
}

#[test]
fn pep_440_follows_the_pep_examples() {
    // The ordering example of PEP 440 ("Summary of permitted suffixes and relative ordering").
    check_ascending(
        VersionScheme::Pep440,
        &[
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "2!0.1",
        ],
    );
    check_equal(
        VersionScheme::Pep440,
        &[
            ("1.0", "1.0.0"),
            ("1.0a1", "1.0alpha1"),
            ("1.0b2", "1.0-beta.2"),
            ("1.0rc1", "1.0c1"),
            ("1.0rc1", "1.0pre1"),
            ("1.0.post1", "1.0-1"),
            ("1.0.post1", "1.0rev1"),
            ("1.0.dev0", "1.0-dev"),
            ("v1.0", "1.0"),
            ("1.0RC1", "1.0rc1"),
            ("0!1.0", "1.0"),
        ],
    );
    check_rejected(VersionScheme::Pep440, &["", "latest", "  ", "dev-main"]);
}

#[test]
fn pep_440_orders_invalid_versions_before_valid_ones_as_legacy_versions() {
    // `packaging` 21's `LegacyVersion` (setuptools' scheme before PEP 440) is the reference: a
    // version that is not PEP 440 sorts before every one that is, and among its kind by words
    // (before numbers), with `dev` lowest and `-` opening a post-release.
    check_ascending(
        VersionScheme::Pep440,
        &[
            "French-1.0",
            "0.1dev-r1234",
            "0.6a9dev-r41475",
            "1.0+abc!",
            "1.0+",
            "1.0-beta-gamma",
            "1.0final",
            "1.0-final",
            "1.0-1-1",
            "1.0.x",
            "2004d",
            // Valid from here on.
            "0!0.0.dev0",
            "0.6a9",
            "1.0",
            "99999.0",
            "1!0.0.dev0",
            "1!1.0",
            "2!0.1",
        ],
    );
    check_equal(
        VersionScheme::Pep440,
        &[
            ("1.0-beta-gamma", "1.0.0-beta-gamma"),
            ("1.0.x", "1.0x"),
            ("1..0", "1.."),
            ("2004D", "2004d"),
            ("1.0pre1-x", "1.0rc1-x"),
            ("1.0preview1-x", "1.0c1-x"),
            ("1.0-rc1-x", "1.0rc1-x"),
        ],
    );
}

#[test]
fn rubygems_follows_gem_version() {
    // Gem::Version's own tests: prereleases (any letter) sort before the release.
    check_ascending(
        VersionScheme::RubyGems,
        &[
            "0.9",
            "1.0.a",
            "1.0.a.2",
            "1.0.b1",
            "1.0.rc1",
            "1.0",
            "1.0.1",
            "1.1.pre",
            "1.1",
            "1.9.3",
            "1.10",
            "2.0.0-rc1",
            "2.0.0",
        ],
    );
    check_equal(
        VersionScheme::RubyGems,
        &[
            ("1.0", "1.0.0"),
            ("1.0.0-rc1", "1.0.0.pre.rc1"),
            ("1.0.a", "1.a"),
            ("", "0"),
            (" 1.2 ", "1.2"),
        ],
    );
    check_rejected(VersionScheme::RubyGems, &["junk", "1..0", "1.0 2", "-1"]);
}

#[test]
fn dpkg_follows_debian_policy() {
    // Debian Policy 5.6.12: `~` sorts before everything, even the end; letters before
    // non-letters (`1.0a < 1.0+b1 < 1.0.1`); epochs trump everything.
    check_ascending(
        VersionScheme::Dpkg,
        &[
            "1.0~~",
            "1.0~~a",
            "1.0~",
            "1.0~rc1",
            "1.0",
            "1.0-1",
            "1.0-1ubuntu0.1",
            "1.0-1ubuntu1",
            "1.0-2",
            "1.0a",
            "1.0+b1",
            "1.0+dfsg",
            "1.0.1",
            "1.1",
            "1.10",
            "1:0.1",
            "2:0.1",
        ],
    );
    check_equal(
        VersionScheme::Dpkg,
        &[("1.0", "1.00"), ("0:1.0", "1.0"), ("1.0-0", "1.0")],
    );
    // What openssl on Debian looks like.
    check_ascending(
        VersionScheme::Dpkg,
        &[
            "3.0.11-1~deb12u1",
            "3.0.11-1~deb12u2",
            "3.0.13-1~deb12u1",
            "3.0.15-1~deb12u1",
        ],
    );
    check_rejected(
        VersionScheme::Dpkg,
        &["", "a1.0", "x:1.0", "1.0-", "1.0-r@v", "1.0 2"],
    );
}

#[test]
fn apk_follows_apk_tools() {
    // Pre-release suffixes before the release (trivy issue 245), post-release ones after the
    // revision, and letters after the plain number.
    check_ascending(
        VersionScheme::Apk,
        &[
            "1.2.3_alpha",
            "1.2.3_alpha2",
            "1.2.3_beta1",
            "1.2.3_pre1",
            "1.2.3_rc1",
            "1.2.3_rc2",
            "1.2.3",
            "1.2.3-r0",
            "1.2.3-r1",
            "1.2.3-r10",
            "1.2.3_cvs",
            "1.2.3_git20240101",
            "1.2.3_p1",
            "1.2.3_p1-r1",
            "1.2.3a",
            "1.2.3b-r2",
            "1.2.4_rc1",
            "1.2.4",
            "1.10",
        ],
    );
    // apk reads digits after a dot with leading zeros as a fraction.
    check_ascending(VersionScheme::Apk, &["1.001", "1.01", "1.05", "1.1", "1.5"]);
    // What OpenSSL on Alpine looks like.
    check_ascending(
        VersionScheme::Apk,
        &["3.1.4-r0", "3.1.4-r1", "3.1.4-r5", "3.1.7-r0"],
    );
    check_equal(
        VersionScheme::Apk,
        &[("1.2.3", "1.2.3"), ("1.2.3-r0", "1.2.3-r00")],
    );
    check_rejected(
        VersionScheme::Apk,
        &[
            "",
            "a1",
            "1.2.3-1",
            "1.2.3_foo",
            "1.2ab",
            "1.2-r1.3",
            "1.2.",
            "1.2_",
            "1.2-r",
            "1.2.3_rc1.4",
        ],
    );
}

#[test]
fn composer_follows_its_stabilities() {
    check_ascending(
        VersionScheme::Composer,
        &[
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-alpha2",
            "1.0.0-beta1-dev",
            "1.0.0-beta1",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.1",
            "1.0.10",
            "2.0",
        ],
    );
    check_equal(
        VersionScheme::Composer,
        &[
            ("v1.2", "1.2.0.0"),
            ("1.0.0-b2", "1.0.0-beta2"),
            ("1.0.0-pl1", "1.0.0-patch1"),
        ],
    );
    check_rejected(
        VersionScheme::Composer,
        &["dev-main", "", "1..2", "1.0.0-gamma"],
    );
}

/// Versions of `scheme` built from its grammar, to exercise the order on valid input.
fn valid_version(scheme: VersionScheme) -> BoxedStrategy<String> {
    let number = prop_oneof![Just("0".to_owned()), "[0-9]{1,3}", "0[0-9]{1,2}"].boxed();
    let numbers = proptest::collection::vec(number.clone(), 1..4).prop_map(|parts| parts.join("."));
    match scheme {
        VersionScheme::SemVer => (
            numbers,
            proptest::option::of("[0-9a-z-]{1,4}(\\.[0-9a-z-]{1,4}){0,2}"),
            proptest::option::of("[0-9a-z]{1,4}"),
        )
            .prop_map(|(core, pre, build)| {
                let mut text = core;
                if let Some(pre) = pre {
                    text.push('-');
                    text.push_str(&pre);
                }
                if let Some(build) = build {
                    text.push('+');
                    text.push_str(&build);
                }
                text
            })
            .boxed(),
        // Legacy versions (not PEP 440, ordered before it) are PyPI versions too.
        VersionScheme::Pep440 => prop_oneof![3 => (
            proptest::option::of("[0-9]{1,2}"),
            numbers,
            proptest::option::of(("(a|b|rc|alpha|c|pre)", "[0-9]{0,2}")),
            proptest::option::of("[0-9]{1,2}"),
            proptest::option::of("[0-9]{0,2}"),
            proptest::option::of("[a-z0-9]{1,3}(\\.[a-z0-9]{1,3}){0,2}"),
        )
            .prop_map(|(epoch, release, pre, post, dev, local)| {
                let mut text = epoch.map(|epoch| format!("{epoch}!")).unwrap_or_default();
                text.push_str(&release);
                if let Some((letter, number)) = pre {
                    text.push_str(&format!("{letter}{number}"));
                }
                if let Some(post) = post {
                    text.push_str(&format!(".post{post}"));
                }
                if let Some(dev) = dev {
                    text.push_str(&format!(".dev{dev}"));
                }
                if let Some(local) = local {
                    text.push_str(&format!("+{local}"));
                }
                text
            }),
            1 => "[a-z]{0,3}[0-9][0-9a-z.+_!-]{0,8}",
        ]
        .boxed(),
        VersionScheme::RubyGems => (
            numbers,
            proptest::collection::vec("[0-9a-z]{1,3}", 0..3),
            proptest::option::of("[0-9a-z]{1,3}"),
        )
            .prop_map(|(core, more, pre)| {
                let mut text = core;
                for part in more {
                    text.push('.');
                    text.push_str(&part);
                }
                if let Some(pre) = pre {
                    text.push('-');
                    text.push_str(&pre);
                }
                text
            })
            .boxed(),
        VersionScheme::Dpkg => (
            proptest::option::of("[0-9]{1,2}"),
            "[0-9][0-9a-z.+~]{0,6}",
            proptest::option::of("[0-9a-z.+~]{1,5}"),
        )
            .prop_map(|(epoch, upstream, revision)| {
                let mut text = epoch.map(|epoch| format!("{epoch}:")).unwrap_or_default();
                text.push_str(&upstream);
                if let Some(revision) = revision {
                    text.push('-');
                    text.push_str(&revision);
                }
                text
            })
            .boxed(),
        VersionScheme::Apk => (
            numbers,
            proptest::option::of("[a-z]"),
            proptest::collection::vec(("(alpha|beta|pre|rc|cvs|svn|git|hg|p)", "[0-9]{0,2}"), 0..3),
            proptest::option::of("[0-9]{1,2}"),
        )
            .prop_map(|(core, letter, suffixes, revision)| {
                let mut text = core;
                if let Some(letter) = letter {
                    text.push_str(&letter);
                }
                for (suffix, number) in suffixes {
                    text.push_str(&format!("_{suffix}{number}"));
                }
                if let Some(revision) = revision {
                    text.push_str(&format!("-r{revision}"));
                }
                text
            })
            .boxed(),
        VersionScheme::Composer => (
            numbers,
            proptest::option::of(("(dev|alpha|a|beta|b|RC|patch|pl|p|stable)", "[0-9]{0,2}")),
            any::<bool>(),
        )
            .prop_map(|(core, stability, dev)| {
                let mut text = core;
                if let Some((word, number)) = stability {
                    text.push_str(&format!("-{word}{number}"));
                    if dev && word != "dev" {
                        text.push_str("-dev");
                    }
                }
                text
            })
            .boxed(),
    }
}

fn three_of(
    scheme: VersionScheme,
) -> impl Strategy<Value = (VersionScheme, String, String, String)> {
    (
        Just(scheme),
        valid_version(scheme),
        valid_version(scheme),
        valid_version(scheme),
    )
}

fn any_scheme() -> impl Strategy<Value = VersionScheme> {
    proptest::sample::select(VersionScheme::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn generated_versions_parse(
        (scheme, text) in any_scheme().prop_flat_map(|scheme| (Just(scheme), valid_version(scheme)))
    ) {
        prop_assert!(scheme.parse(&text).is_ok(), "{scheme} rejected {text:?}: {:?}", scheme.parse(&text));
    }

    #[test]
    fn the_order_is_total_antisymmetric_and_transitive(
        (scheme, a, b, c) in any_scheme().prop_flat_map(three_of)
    ) {
        let (Ok(a), Ok(b), Ok(c)) = (scheme.parse(&a), scheme.parse(&b), scheme.parse(&c)) else {
            return Err(TestCaseError::fail(format!("{scheme}: a generated version did not parse: {a:?} {b:?} {c:?}")));
        };
        // Antisymmetric, and equality agrees with the order.
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        // Transitive.
        if a <= b && b <= c {
            prop_assert!(a <= c, "{a} <= {b} <= {c} but not {a} <= {c}");
        }
        if a >= b && b >= c {
            prop_assert!(a >= c, "{a} >= {b} >= {c} but not {a} >= {c}");
        }
        // Sorting any permutation gives one order: sort is consistent.
        let mut forward = [a.clone(), b.clone(), c.clone()];
        let mut backward = [c, b, a];
        forward.sort();
        backward.sort();
        for (x, y) in forward.iter().zip(&backward) {
            prop_assert_eq!(x.cmp(y), Ordering::Equal);
        }
    }

    #[test]
    fn no_text_makes_a_parser_panic(scheme in any_scheme(), text in "\\PC{0,24}") {
        let _ = scheme.parse(&text);
    }
}
