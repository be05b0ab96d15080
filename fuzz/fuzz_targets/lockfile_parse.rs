//! Fuzzes the lockfile and OS package database parsers: any text parses or is rejected with a
//! position inside it, and every package found has a name and a line inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_inventory::{LockfileKind, PackageDatabase};

fuzz_target!(|input: (u8, &str)| {
    let (selector, text) = input;
    let lines = text.split('\n').count();
    let kinds = LockfileKind::ALL;
    let selector = usize::from(selector);
    if selector < kinds.len() {
        match kinds[selector].parse(text) {
            Ok(packages) => {
                for package in packages {
                    assert!(!package.name.is_empty());
                    assert!(package.line.is_none_or(|line| line >= 1 && line <= lines));
                }
            }
            Err(error) => assert!(error.line() >= 1 && error.line() <= lines && error.column() >= 1, "{error}"),
        }
    } else {
        let database = if selector % 2 == 0 { PackageDatabase::Dpkg } else { PackageDatabase::Apk };
        match database.parse(text) {
            Ok(installed) => {
                for package in installed {
                    assert!(package.line >= 1 && package.line <= lines);
                }
            }
            Err(error) => assert!(error.line() >= 1 && error.line() <= lines, "{error}"),
        }
    }
});
