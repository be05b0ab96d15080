//! Property tests: no input makes a parser panic, and every error points inside the input.

use proptest::prelude::*;
use slipway_inventory::{LockfileKind, PackageDatabase};

fn any_kind() -> impl Strategy<Value = LockfileKind> {
    proptest::sample::select(LockfileKind::ALL.to_vec())
}

/// Text made of the pieces lockfiles are made of, so parsers get past their first line.
fn lockfile_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[package]]\n".to_owned()),
        Just("name = \"a\"\n".to_owned()),
        Just("version = \"1.0.0\"\n".to_owned()),
        Just("source = \"registry+https://github.com/rust-lang/crates.io-index\"\n".to_owned()),
        Just("packages:\n".to_owned()),
        Just("  /a@1.0.0:\n".to_owned()),
        Just("  version \"1\"\n".to_owned()),
        Just("a@^1:\n".to_owned()),
        Just("require (\n".to_owned()),
        Just(")\n".to_owned()),
        Just("GEM\n  specs:\n".to_owned()),
        Just("    a (1.0)\n".to_owned()),
        Just("{\"packages\": {".to_owned()),
        Just("}".to_owned()),
        Just("a==1.0\n".to_owned()),
        "\\PC{0,12}",
        "[ \n:\"'@/()=]{1,4}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn lockfile_parsers_never_panic_and_errors_point_inside(kind in any_kind(), text in lockfile_like()) {
        let lines = text.split('\n').count();
        match kind.parse(&text) {
            Ok(packages) => for package in packages {
                prop_assert!(!package.name.is_empty());
                if let Some(line) = package.line {
                    prop_assert!(line >= 1 && line <= lines, "{kind:?}: line {line} of {lines}");
                }
            },
            Err(error) => prop_assert!(error.line() >= 1 && error.line() <= lines && error.column() >= 1,
                "{kind:?}: {error} in {lines} lines"),
        }
    }

    #[test]
    fn package_databases_never_panic(text in "([PVAoSD]:[a-z0-9.~+-]{0,6}\n|Package: [a-z]{1,4}\n|Version: [0-9.]{1,4}\n|Status: install ok installed\n|\n| [a-z]{0,4}\n){0,20}") {
        for database in [PackageDatabase::Dpkg, PackageDatabase::Apk] {
            if let Ok(installed) = database.parse(&text) {
                for package in installed {
                    prop_assert!(!package.name.is_empty() || database == PackageDatabase::Apk);
                }
            }
        }
    }
}
