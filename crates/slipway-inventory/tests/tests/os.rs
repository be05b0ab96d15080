//! OS package databases (dpkg's status and status.d, apk's installed) and the inventory built
//! from a root file system's files: source packages, ecosystems from os-release, purls, and
//! problems for what cannot be read.

use slipway_inventory::{FileRole, Inventory, InventoryBuilder, PackageDatabase};
use slipway_vuln::Ecosystem;

pub(crate) const DPKG_STATUS: &str = "Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6000
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34)
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols.

Package: removed-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libgnutls30
Status: install ok installed
Architecture: amd64
Source: gnutls28 (3.7.9-2)
Version: 3.7.9-2+b1

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
";

pub(crate) const APK_INSTALLED: &str = "C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
o:musl
m:Timo Teräs <timo.teras@iki.fi>
F:lib
R:ld-musl-x86_64.so.1

C:Q1def=
P:libcrypto3
V:3.1.4-r1
A:x86_64
o:openssl
t:1700000000
";

fn build(files: &[(&str, &str)]) -> Inventory {
    let mut builder = InventoryBuilder::new();
    for (path, text) in files {
        let role =
            FileRole::classify(path).unwrap_or_else(|| panic!("{path} is not an inventory file"));
        builder.add(path, role, text.as_bytes());
    }
    builder.finish()
}

#[test]
fn dpkg_keeps_installed_packages_with_their_sources() {
    let installed = PackageDatabase::Dpkg.parse(DPKG_STATUS).unwrap();
    let summary: Vec<_> = installed
        .iter()
        .map(|package| {
            (
                package.name.as_str(),
                package.version.as_str(),
                package.source_name.as_deref(),
                package.source_version.as_deref(),
                package.line,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("libssl3", "3.0.11-1~deb12u2", Some("openssl"), None, 1),
            (
                "libgnutls30",
                "3.7.9-2+b1",
                Some("gnutls28"),
                Some("3.7.9-2"),
                21
            ),
            ("base-files", "12.4+deb12u5", None, None, 27),
        ]
    );
    let error = PackageDatabase::Dpkg
        .parse("Package: x\nStatus: install ok installed\n")
        .unwrap_err();
    assert_eq!(
        (error.line(), error.message()),
        (1, "the package x has no Version field")
    );
    let error = PackageDatabase::Dpkg
        .parse("Package: a\nVersion: 1\n\nVersion: 2\n")
        .unwrap_err();
    assert_eq!(error.line(), 4);
}

#[test]
fn apk_keeps_packages_with_their_origin() {
    let installed = PackageDatabase::Apk.parse(APK_INSTALLED).unwrap();
    let summary: Vec<_> = installed
        .iter()
        .map(|package| {
            (
                package.name.as_str(),
                package.version.as_str(),
                package.source_name.as_deref(),
                package.arch.as_deref(),
                package.line,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("musl", "1.2.4_git20230717-r4", None, Some("x86_64"), 1),
            (
                "libcrypto3",
                "3.1.4-r1",
                Some("openssl"),
                Some("x86_64"),
                13
            )
        ]
    );
    let error = PackageDatabase::Apk.parse("P:x\nA:x86_64\n").unwrap_err();
    assert!(error.message().contains("no V:"), "{error}");
}

#[test]
fn a_debian_root_gives_debian_packages_queried_by_source() {
    let inventory = build(&[
        ("var/lib/dpkg/status", DPKG_STATUS),
        (
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        ("usr/lib/os-release", "ID=somethingelse\n"),
        (
            "var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        ),
    ]);
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
    assert_eq!(inventory.os.as_ref().unwrap().id, "debian");
    let bookworm = Ecosystem::Debian("12".to_owned());
    let gnutls = &inventory.packages[1];
    assert_eq!(gnutls.ecosystem, bookworm);
    let query = gnutls.query();
    assert_eq!((query.name, query.version), ("gnutls28", "3.7.9-2"));
    assert_eq!(
        gnutls.purl,
        "pkg:deb/debian/libgnutls30@3.7.9-2+b1?arch=amd64&distro=debian-12&upstream=gnutls28"
    );
    assert_eq!(inventory.packages.len(), 4);
    assert_eq!(inventory.packages[3].path, "var/lib/dpkg/status.d/tzdata");
}

#[test]
fn an_alpine_root_gives_alpine_packages() {
    let inventory = build(&[
        ("lib/apk/db/installed", APK_INSTALLED),
        (
            "etc/os-release",
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
        ),
    ]);
    let crypto = &inventory.packages[1];
    assert_eq!(crypto.ecosystem, Ecosystem::Alpine("3.19".to_owned()));
    assert_eq!(crypto.query().name, "openssl");
    assert_eq!(
        crypto.purl,
        "pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    );
}

#[test]
fn packages_of_an_unknown_release_are_kept_with_a_problem() {
    let inventory = build(&[("var/lib/dpkg/status", DPKG_STATUS)]);
    assert_eq!(inventory.packages.len(), 3);
    assert_eq!(
        inventory.packages[0].ecosystem,
        Ecosystem::Other("unknown".to_owned())
    );
    assert_eq!(inventory.problems.len(), 1);
    assert!(
        inventory.problems[0].message.contains("cannot be matched"),
        "{:?}",
        inventory.problems
    );
}

#[test]
fn unreadable_files_are_problems_and_the_rest_still_counts() {
    let mut builder = InventoryBuilder::new();
    builder.add(
        "a/Cargo.lock",
        FileRole::classify("a/Cargo.lock").unwrap(),
        b"[[package]\n",
    );
    builder.add(
        "b/go.mod",
        FileRole::classify("b/go.mod").unwrap(),
        b"\xff\xfe",
    );
    builder.add(
        "c/go.mod",
        FileRole::classify("c/go.mod").unwrap(),
        b"module c\nrequire github.com/a/b v1.0.0\n",
    );
    builder.unreadable("d/yarn.lock", "permission denied".to_owned());
    let inventory = builder.finish();

    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(
        inventory.packages[0].purl,
        "pkg:golang/github.com/a/b@v1.0.0"
    );
    let problems: Vec<_> = inventory
        .problems
        .iter()
        .map(|problem| (problem.path.as_str(), problem.line))
        .collect();
    assert_eq!(
        problems,
        [
            ("a/Cargo.lock", Some(1)),
            ("b/go.mod", None),
            ("d/yarn.lock", None)
        ]
    );
}
