//! Each Dockerfile check: a Dockerfile that trips it (at the right line) and the fix that
//! clears it; and a well-kept multi-stage Dockerfile that trips none.

use slipway_scan::{CHECKS, check_dockerfile};

use crate::support::SECRETS;

/// The (check, line) pairs `text` trips.
fn trips(text: &str) -> Vec<(String, usize)> {
    check_dockerfile("Dockerfile", text, &SECRETS)
        .unwrap_or_else(|skipped| panic!("{skipped:?}"))
        .into_iter()
        .map(|found| (found.rule_id, found.line))
        .collect()
}

/// The lines of `text` that trip `id`.
fn lines_of(id: &str, text: &str) -> Vec<usize> {
    trips(text)
        .into_iter()
        .filter(|(rule, _)| rule == id)
        .map(|(_, line)| line)
        .collect()
}

/// No line at all.
const NONE: [usize; 0] = [];

/// A final stage that passes every check, to append to fragments under test.
const GOOD_TAIL: &str = "USER 10001\nHEALTHCHECK CMD [\"/app\", \"--check\"]\nCMD [\"/app\"]\n";
const PINNED: &str = "localhost/slipway/busybox:1.36@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn a_well_kept_dockerfile_trips_nothing() {
    let text = format!(
        "# syntax=docker/dockerfile:1\nARG VERSION=1\nFROM {PINNED} AS build\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\
         RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n\
         RUN curl -fsSL https://example.com/x | tar xz\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n\
         COPY src/ /src/\nADD https://example.com/file.tar.gz /opt/\nFROM {PINNED}\nCOPY --from=build /out /app\n{GOOD_TAIL}"
    );
    assert_eq!(trips(&text), Vec::<(String, usize)>::new());
}

#[test]
fn df001_root_in_the_final_stage() {
    assert_eq!(
        lines_of("DF001", &format!("FROM {PINNED}\nCMD [\"x\"]\n")),
        [1]
    );
    assert_eq!(
        lines_of("DF001", &format!("FROM {PINNED}\nUSER app\nUSER root\n")),
        [3]
    );
    assert_eq!(
        lines_of("DF001", &format!("FROM {PINNED}\nUSER 0:0\n")),
        [2]
    );
    // A USER of the stage the final stage builds on carries over; one in another stage does not.
    assert_eq!(
        lines_of(
            "DF001",
            &format!("FROM {PINNED} AS base\nUSER app\nFROM base\nCMD [\"x\"]\n")
        ),
        NONE
    );
    assert_eq!(
        lines_of(
            "DF001",
            &format!("FROM {PINNED} AS build\nUSER app\nFROM {PINNED}\n")
        ),
        [3]
    );
}

#[test]
fn df002_and_df003_base_image_pinning() {
    assert_eq!(lines_of("DF002", "FROM node\n"), [1]);
    assert_eq!(lines_of("DF002", "FROM node:latest\n"), [1]);
    assert_eq!(lines_of("DF003", "FROM node:22-slim\n"), [1]);
    assert_eq!(lines_of("DF002", "FROM node:22-slim\n"), NONE);
    assert_eq!(lines_of("DF003", &format!("FROM {PINNED}\n")), NONE);
    // scratch, earlier stages and variables are not pulled images.
    assert_eq!(
        lines_of("DF003", "ARG BASE=node:22\nFROM $BASE\nFROM scratch\n"),
        NONE
    );
    assert_eq!(
        lines_of("DF003", &format!("FROM {PINNED} AS a\nFROM a\n")),
        NONE
    );
}

#[test]
fn df004_and_df005_multi_stage_hygiene() {
    let unused = format!(
        "FROM {PINNED} AS deps\nRUN true\nFROM {PINNED} AS build\nFROM {PINNED}\nCOPY --from=build /a /a\n"
    );
    assert_eq!(lines_of("DF004", &unused), [1]);
    let by_number = format!("FROM {PINNED} AS build\nFROM {PINNED}\nCOPY --from=0 /a /a\n");
    assert_eq!(lines_of("DF005", &by_number), [3]);
    assert_eq!(lines_of("DF004", &by_number), NONE);
    let mounted = format!(
        "FROM {PINNED} AS cache\nFROM {PINNED}\nRUN --mount=type=bind,from=cache,target=/c true\n"
    );
    assert_eq!(lines_of("DF004", &mounted), NONE);
    // A stage used only by an unused stage is unused too.
    let chain =
        format!("FROM {PINNED} AS a\nFROM {PINNED} AS b\nCOPY --from=a / /\nFROM {PINNED}\n");
    assert_eq!(lines_of("DF004", &chain), [1, 2]);
}

#[test]
fn df006_healthcheck() {
    assert_eq!(lines_of("DF006", &format!("FROM {PINNED}\n")), [1]);
    assert_eq!(
        lines_of("DF006", &format!("FROM {PINNED}\nHEALTHCHECK NONE\n")),
        NONE
    );
}

#[test]
fn df007_secrets_in_env_and_arg() {
    assert_eq!(
        lines_of(
            "DF007",
            &format!("FROM {PINNED}\nENV DB_PASSWORD=hunter2\n")
        ),
        [2]
    );
    assert_eq!(
        lines_of("DF007", &format!("FROM {PINNED}\nARG NPM_TOKEN\n")),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF007",
            &format!("FROM {PINNED}\nENV GH={}\n", crate::support::github_token())
        ),
        [2]
    );
    // References, file paths and names of public things are fine.
    assert_eq!(
        lines_of(
            "DF007",
            &format!(
                "FROM {PINNED}\nENV API_KEY=$API_KEY PASSWORD_FILE=/run/secrets/pw TOKEN_URL=https://x\n"
            )
        ),
        NONE
    );
}

#[test]
fn df008_add_for_local_files() {
    assert_eq!(
        lines_of("DF008", &format!("FROM {PINNED}\nADD . /app\n")),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF008",
            &format!("FROM {PINNED}\nADD rootfs.tar.gz /\nADD https://x/y /y\n")
        ),
        NONE
    );
}

#[test]
fn df009_package_caches() {
    assert_eq!(
        lines_of(
            "DF009",
            &format!("FROM {PINNED}\nRUN apt-get update && apt-get install -y curl\n")
        ),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF009",
            &format!("FROM {PINNED}\nRUN apk add curl\nRUN apk add --no-cache curl\n")
        ),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF009",
            &format!(
                "FROM {PINNED}\nRUN pip install flask\nRUN dnf install -y x && dnf clean all\n"
            )
        ),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF009",
            &format!(
                "FROM {PINNED}\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y x\n"
            )
        ),
        NONE
    );
}

#[test]
fn df010_exec_form() {
    assert_eq!(
        lines_of(
            "DF010",
            &format!("FROM {PINNED}\nENTRYPOINT /app serve\nCMD node server.js\n")
        ),
        [2, 3]
    );
    // Only the final stage's commands run.
    assert_eq!(
        lines_of(
            "DF010",
            &format!("FROM {PINNED} AS a\nCMD x\nFROM a\nCMD [\"x\"]\n")
        ),
        NONE
    );
}

#[test]
fn df011_pipefail() {
    assert_eq!(
        lines_of("DF011", &format!("FROM {PINNED}\nRUN curl x | sh\n")),
        [2]
    );
    assert_eq!(
        lines_of(
            "DF011",
            &format!(
                "FROM {PINNED}\nRUN set -o pipefail && curl x | sh\nRUN a || b\nRUN echo 'a|b'\n"
            )
        ),
        NONE
    );
    assert_eq!(
        lines_of(
            "DF011",
            &format!(
                "FROM {PINNED}\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN a | b\n"
            )
        ),
        NONE
    );
    assert_eq!(
        lines_of(
            "DF011",
            &format!("FROM {PINNED}\nSHELL [\"/bin/ash\", \"-c\"]\nRUN a | b\n")
        ),
        [3]
    );
}

#[test]
fn every_check_is_exercised_by_these_tests() {
    let source = include_str!("dockerfile.rs");
    for check in CHECKS {
        assert!(
            source.contains(&format!("\"{}\"", check.id)),
            "{} has no test",
            check.id
        );
    }
}

#[test]
fn a_broken_dockerfile_is_skipped_with_its_position() {
    let skipped = check_dockerfile("web/Dockerfile", "FROM node\nFROB x\n", &SECRETS).unwrap_err();
    assert_eq!(
        (skipped.path.as_str(), skipped.line, skipped.column),
        ("web/Dockerfile", Some(2), Some(1))
    );
}
