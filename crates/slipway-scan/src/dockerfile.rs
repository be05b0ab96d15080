//! Dockerfile checks, read off `slipway-dockerfile`'s syntax tree.
//!
//! Each check has an id, a title, a severity and a line of documentation ([`CHECKS`]); SARIF
//! output carries them as rule metadata. The checks read typed fields (the final stage, a
//! `FROM`'s tag and digest, `COPY --from`, exec versus shell form), never re-parse text, except
//! inside shell commands, which the parser rightly leaves as text.
//!
//! | id | checks |
//! |---|---|
//! | DF001 | the final stage runs as a non-root user |
//! | DF002 | base images name a tag other than `latest` |
//! | DF003 | base images are pinned by digest |
//! | DF004 | every stage is used by the final image |
//! | DF005 | `COPY --from` names a stage rather than its number |
//! | DF006 | the final stage has a `HEALTHCHECK` |
//! | DF007 | no secret in `ENV` or `ARG` |
//! | DF008 | `COPY` rather than `ADD` for local files |
//! | DF009 | package manager caches are removed in the `RUN` that fills them |
//! | DF010 | `CMD` and `ENTRYPOINT` use the exec form |
//! | DF011 | `set -o pipefail` (or a `SHELL` with it) before a piped `RUN` |

use std::sync::LazyLock;

use regex::Regex;
use slipway_dockerfile::{Command, Dockerfile, Healthcheck, Instruction, InstructionKind, Stage};
use slipway_secrets::{FileOutcome, SecretScanner};
use slipway_vuln::Severity;

use crate::report::{Misconfiguration, Skipped};

/// A Dockerfile check's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Why it matters and what to do, in one line.
    pub help: &'static str,
}

/// Every check, in id order.
pub const CHECKS: &[Check] = &[
    Check {
        id: "DF001",
        title: "The final stage runs as root",
        severity: Severity::High,
        help: "Add `USER <name or uid>` to the final stage: a process that is compromised then holds no root privileges in the container.",
    },
    Check {
        id: "DF002",
        title: "A base image is untagged or tagged `latest`",
        severity: Severity::Medium,
        help: "Name a version tag (`node:22.11-slim`): `latest` changes under you, so two builds of one commit differ.",
    },
    Check {
        id: "DF003",
        title: "A base image is not pinned by digest",
        severity: Severity::Low,
        help: "Add the digest (`node:22.11-slim@sha256:...`): a tag can be moved to other content; a digest cannot.",
    },
    Check {
        id: "DF004",
        title: "A build stage is never used",
        severity: Severity::Low,
        help: "Remove the stage, or use it from a later stage (`FROM` or `COPY --from`): BuildKit skips it, so it is dead code that still has to be maintained.",
    },
    Check {
        id: "DF005",
        title: "`COPY --from` names a stage by number",
        severity: Severity::Low,
        help: "Name the stage (`FROM ... AS build`, `COPY --from=build`): numbers silently point elsewhere when a stage is added.",
    },
    Check {
        id: "DF006",
        title: "The final stage has no HEALTHCHECK",
        severity: Severity::Low,
        help: "Add `HEALTHCHECK CMD ...` (or `HEALTHCHECK NONE` to say there is none on purpose) so orchestrators can tell a hung service from a healthy one.",
    },
    Check {
        id: "DF007",
        title: "A secret is set with ENV or ARG",
        severity: Severity::High,
        help: "Pass secrets with `RUN --mount=type=secret` or at run time: ENV values and build arguments are stored in the image and its history.",
    },
    Check {
        id: "DF008",
        title: "ADD is used to copy local files",
        severity: Severity::Low,
        help: "Use COPY: ADD also fetches URLs and unpacks archives, so its effect depends on what the source turns out to be.",
    },
    Check {
        id: "DF009",
        title: "A package manager cache is left in the image",
        severity: Severity::Low,
        help: "Remove the cache in the same RUN (`rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, `pip install --no-cache-dir`, `dnf clean all`) or use a cache mount: a later RUN cannot shrink an earlier layer.",
    },
    Check {
        id: "DF010",
        title: "CMD or ENTRYPOINT uses the shell form",
        severity: Severity::Low,
        help: "Use the exec form (`CMD [\"node\", \"server.js\"]`): in the shell form the process runs under `sh -c` and never receives SIGTERM, so stops wait for the kill timeout.",
    },
    Check {
        id: "DF011",
        title: "A piped RUN does not set pipefail",
        severity: Severity::Low,
        help: "Start the command with `set -o pipefail &&`, or set `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]`: otherwise only the last command of a pipe can fail the build.",
    },
];

/// The metadata of check `id`.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|check| check.id == id)
}

/// Whether a file name is a Dockerfile: `Dockerfile`, `Containerfile`, `Dockerfile.prod`,
/// `api.Dockerfile`.
pub fn is_dockerfile(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
}

/// Runs every check on the Dockerfile `text` at `path`; a Dockerfile that does not parse is
/// skipped with the parser's position.
pub fn check_dockerfile(
    path: &str,
    text: &str,
    secrets: &SecretScanner,
) -> Result<Vec<Misconfiguration>, Skipped> {
    let dockerfile = slipway_dockerfile::parse(text).map_err(|error| Skipped {
        path: path.to_owned(),
        line: Some(error.line()),
        column: Some(error.column()),
        reason: format!("the Dockerfile does not parse: {}", error.message()),
    })?;
    let mut found = Findings {
        path,
        found: Vec::new(),
    };
    let final_stage = dockerfile.final_stage();
    final_user(&dockerfile, final_stage, &mut found);
    base_images(&dockerfile, &mut found);
    stage_use(&dockerfile, &mut found);
    healthcheck(&dockerfile, final_stage, &mut found);
    secrets_in_env(&dockerfile, secrets, &mut found);
    for stage in dockerfile.stages() {
        let mut shell_has_pipefail = false;
        for instruction in dockerfile.stage_instructions(stage) {
            match &instruction.kind {
                InstructionKind::Shell(shell) => {
                    // `-o pipefail`, or options bundled before it: `-eo pipefail`, `-euxo pipefail`.
                    shell_has_pipefail = shell.windows(2).any(|pair| {
                        pair[0].starts_with('-') && pair[0].ends_with('o') && pair[1] == "pipefail"
                    });
                }
                InstructionKind::Run(run) => {
                    if let Command::Shell(command) = &run.command {
                        let cached = run.mounts.iter().any(|mount| mount.contains("type=cache"));
                        package_caches(instruction, command, cached, &mut found);
                        pipefail(instruction, command, shell_has_pipefail, &mut found);
                    }
                }
                InstructionKind::Add(add)
                    if add.files.sources.iter().all(|source| is_local_file(source)) =>
                {
                    found.add(
                        instruction,
                        "DF008",
                        "ADD copies local files: use COPY".to_owned(),
                    );
                }
                InstructionKind::Cmd(Command::Shell(_))
                | InstructionKind::Entrypoint(Command::Shell(_))
                    if stage.index() == final_stage.index() =>
                {
                    let keyword = instruction.kind.keyword();
                    found.add(
                        instruction,
                        "DF010",
                        format!("{keyword} uses the shell form: write it as a JSON array"),
                    );
                }
                _ => {}
            }
        }
    }
    Ok(found.found)
}

/// Collects findings for one file.
struct Findings<'a> {
    path: &'a str,
    found: Vec<Misconfiguration>,
}

impl Findings<'_> {
    fn add(&mut self, instruction: &Instruction, id: &'static str, message: String) {
        self.add_at(instruction.span.line, id, message);
    }

    fn add_at(&mut self, line: usize, id: &'static str, message: String) {
        let Some(check) = check(id) else { return };
        self.found.push(Misconfiguration {
            rule_id: id.to_owned(),
            title: check.title.to_owned(),
            severity: check.severity,
            path: self.path.to_owned(),
            line,
            message,
        });
    }
}

/// DF001: the last `USER` of the final stage, or of the stages it builds on.
fn final_user(dockerfile: &Dockerfile, final_stage: &Stage, found: &mut Findings<'_>) {
    let mut stage = Some(final_stage);
    while let Some(current) = stage {
        let user = dockerfile
            .stage_instructions(current)
            .iter()
            .rev()
            .find_map(|instruction| match &instruction.kind {
                InstructionKind::User(user) => Some((instruction, user)),
                _ => None,
            });
        if let Some((instruction, user)) = user {
            if matches!(user.user.as_str(), "root" | "0") {
                found.add(
                    instruction,
                    "DF001",
                    format!("the final stage switches to {}", user.user),
                );
            }
            return;
        }
        stage = dockerfile.parent_stage(current);
    }
    let from = &dockerfile.instructions()[final_stage.instruction_range().start];
    found.add(
        from,
        "DF001",
        "the final stage never sets USER, so it runs as root".to_owned(),
    );
}

/// DF002 and DF003: tags and digests of images pulled (stages and `scratch` are not pulled).
fn base_images(dockerfile: &Dockerfile, found: &mut Findings<'_>) {
    for stage in dockerfile.stages() {
        let image = stage.base();
        if image.is_scratch() || image.has_variables() || dockerfile.parent_stage(stage).is_some() {
            continue;
        }
        let from = &dockerfile.instructions()[stage.instruction_range().start];
        match (image.tag(), image.digest()) {
            (_, Some(_)) => {}
            (None | Some("latest"), None) => {
                found.add(
                    from,
                    "DF002",
                    format!("{} pulls whatever `latest` is at build time", image.raw()),
                );
            }
            (Some(_), None) => found.add(
                from,
                "DF003",
                format!("{} is not pinned by digest", image.raw()),
            ),
        }
    }
}

/// DF004 and DF005: stages no later stage uses; `COPY --from` by number.
fn stage_use(dockerfile: &Dockerfile, found: &mut Findings<'_>) {
    let stages = dockerfile.stages();
    let mut used = vec![false; stages.len()];
    used[dockerfile.final_stage().index()] = true;
    // From the final stage back: a stage is used when a used stage builds on it or copies
    // from it.
    for stage in stages.iter().rev() {
        if !used[stage.index()] {
            continue;
        }
        if let Some(parent) = dockerfile.parent_stage(stage) {
            used[parent.index()] = true;
        }
        for instruction in dockerfile.stage_instructions(stage) {
            let sources: Vec<&str> = match &instruction.kind {
                InstructionKind::Copy(copy) => copy.from.as_deref().into_iter().collect(),
                InstructionKind::Run(run) => run
                    .mounts
                    .iter()
                    .filter_map(|mount| mount_from(mount))
                    .collect(),
                _ => Vec::new(),
            };
            for source in sources {
                if let Some(from) = dockerfile
                    .stage(source)
                    .filter(|from| from.index() < stage.index())
                {
                    used[from.index()] = true;
                    if source.bytes().all(|byte| byte.is_ascii_digit()) {
                        let name = from
                            .name()
                            .map_or_else(String::new, |name| format!(" ({name})"));
                        found.add(
                            instruction,
                            "DF005",
                            format!(
                                "--from={source} names stage {}{name} by number",
                                from.index()
                            ),
                        );
                    }
                }
            }
        }
    }
    for stage in stages.iter().filter(|stage| !used[stage.index()]) {
        let from = &dockerfile.instructions()[stage.instruction_range().start];
        let name = stage.name().map_or_else(
            || format!("stage {}", stage.index()),
            |name| format!("stage {name}"),
        );
        found.add(
            from,
            "DF004",
            format!("{name} is not used by the final image"),
        );
    }
}

/// The `from=` of a `--mount` value, if any.
fn mount_from(mount: &str) -> Option<&str> {
    mount
        .split(',')
        .find_map(|option| option.strip_prefix("from="))
}

/// DF006.
fn healthcheck(dockerfile: &Dockerfile, final_stage: &Stage, found: &mut Findings<'_>) {
    let mut stage = Some(final_stage);
    while let Some(current) = stage {
        let has = dockerfile
            .stage_instructions(current)
            .iter()
            .any(|instruction| {
                matches!(
                    instruction.kind,
                    InstructionKind::Healthcheck(Healthcheck::Cmd { .. } | Healthcheck::None)
                )
            });
        if has {
            return;
        }
        stage = dockerfile.parent_stage(current);
    }
    let from = &dockerfile.instructions()[final_stage.instruction_range().start];
    found.add(
        from,
        "DF006",
        "the final stage has no HEALTHCHECK".to_owned(),
    );
}

/// Names that say their value is a secret.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // A constant pattern: a typo fails every test.
    Regex::new(
        r"(?i)(passw(or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)",
    )
    .expect("the pattern compiles")
});

/// Names that contain a secret word but name something public.
static PUBLIC_NAME: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // A constant pattern: a typo fails every test.
    Regex::new(r"(?i)(_file|_path|_url|_dir|_name|_user(name)?|_id)$")
        .expect("the pattern compiles")
});

/// DF007: a secret-looking name with a literal value in `ENV`, a secret-looking build argument,
/// or a value the secret scanner flags.
fn secrets_in_env(dockerfile: &Dockerfile, secrets: &SecretScanner, found: &mut Findings<'_>) {
    let suspicious = |name: &str| SECRET_NAME.is_match(name) && !PUBLIC_NAME.is_match(name);
    for instruction in dockerfile.instructions() {
        let pairs: Vec<(&str, Option<&str>)> = match &instruction.kind {
            InstructionKind::Env(pairs) => pairs
                .iter()
                .map(|pair| (pair.key.as_str(), Some(pair.value.as_str())))
                .collect(),
            InstructionKind::Arg(arguments) => arguments
                .iter()
                .map(|argument| (argument.name.as_str(), argument.default.as_deref()))
                .collect(),
            _ => continue,
        };
        let is_env = matches!(instruction.kind, InstructionKind::Env(_));
        for (name, value) in pairs {
            let value = value.map(|value| value.trim_matches(['"', '\'']));
            let literal = value.is_some_and(|value| !value.is_empty() && !value.starts_with('$'));
            let scanned = value.is_some_and(|value| {
                let line = format!("{name}={value}\n");
                matches!(secrets.scan_bytes(found.path, line.as_bytes()), FileOutcome::Scanned { findings, .. } if !findings.is_empty())
            });
            if scanned || (suspicious(name) && (literal || !is_env)) {
                let keyword = instruction.kind.keyword();
                let what = if literal {
                    "a value"
                } else {
                    "its value at build time"
                };
                found.add(
                    instruction,
                    "DF007",
                    format!("{keyword} {name} puts {what} into the image's metadata"),
                );
            }
        }
    }
}

/// DF008: sources ADD would copy rather than fetch or unpack.
fn is_local_file(source: &str) -> bool {
    const ARCHIVES: [&str; 8] = [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
    ];
    let lower = source.to_ascii_lowercase();
    !(lower.contains("://")
        || lower.starts_with("git@")
        || lower.starts_with("<<")
        || ARCHIVES.iter().any(|suffix| lower.ends_with(suffix)))
}

/// DF009: package managers that fill a cache the same RUN does not clear.
fn package_caches(
    instruction: &Instruction,
    command: &str,
    cached: bool,
    found: &mut Findings<'_>,
) {
    if cached {
        return;
    }
    let rules: [(&str, &[&str], &str); 5] = [
        (
            "apt-get install",
            &["rm -rf /var/lib/apt/lists", "rm -r /var/lib/apt/lists"],
            "apt-get install leaves /var/lib/apt/lists behind",
        ),
        (
            "apt install",
            &["rm -rf /var/lib/apt/lists", "rm -r /var/lib/apt/lists"],
            "apt install leaves /var/lib/apt/lists behind",
        ),
        (
            "apk add",
            &["--no-cache", "rm -rf /var/cache/apk"],
            "apk add without --no-cache keeps the index in /var/cache/apk",
        ),
        (
            "pip install",
            &["--no-cache-dir", "pip cache purge"],
            "pip install without --no-cache-dir keeps its download cache",
        ),
        (
            "install",
            &[
                "clean all",
                "rm -rf /var/cache/dnf",
                "rm -rf /var/cache/yum",
            ],
            "dnf/yum install without `clean all` keeps its metadata cache",
        ),
    ];
    for (installs, cleaned_by, message) in rules {
        let uses = if installs == "install" {
            ["dnf install", "yum install", "microdnf install"]
                .iter()
                .any(|tool| command.contains(tool))
        } else {
            command.contains(installs)
        };
        if uses && !cleaned_by.iter().any(|clean| command.contains(clean)) {
            found.add(instruction, "DF009", message.to_owned());
        }
    }
}

/// DF011: a pipe (not `||`) outside quotes, without pipefail set first.
fn pipefail(
    instruction: &Instruction,
    command: &str,
    shell_has_pipefail: bool,
    found: &mut Findings<'_>,
) {
    if shell_has_pipefail {
        return;
    }
    let Some(pipe) = first_pipe(command) else {
        return;
    };
    let before = &command[..pipe];
    let sets_pipefail = [
        "set -o pipefail",
        "set -eo pipefail",
        "set -euo pipefail",
        "set -exo pipefail",
        "set -euxo pipefail",
    ]
    .iter()
    .any(|set| before.contains(set));
    if !sets_pipefail {
        found.add(
            instruction,
            "DF011",
            "a pipe hides the failure of every command but the last".to_owned(),
        );
    }
}

/// The byte offset of the first `|` that is a pipe: not `||`, not inside quotes.
fn first_pipe(command: &str) -> Option<usize> {
    let bytes = command.as_bytes();
    let mut quote: Option<u8> = None;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match (quote, byte) {
            (Some(open), _) if byte == open => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(byte),
            (None, b'\\') => index += 1,
            (None, b'|') if bytes.get(index + 1) == Some(&b'|') => index += 1,
            (None, b'|') => return Some(index),
            _ => {}
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_told_from_ors_and_quotes() {
        assert_eq!(first_pipe("a | b"), Some(2));
        assert_eq!(first_pipe("a || b"), None);
        assert_eq!(first_pipe("echo 'a|b' \"c|d\" \\| x"), None);
        assert_eq!(first_pipe("a || b | c"), Some(7));
    }

    #[test]
    fn dockerfile_names_are_recognized() {
        for name in [
            "Dockerfile",
            "Containerfile",
            "Dockerfile.prod",
            "api.Dockerfile",
            "dockerfile",
        ] {
            assert!(is_dockerfile(name), "{name}");
        }
        assert!(!is_dockerfile("Dockerfile-notes.md"));
        assert!(!is_dockerfile("docker-compose.yml"));
    }

    #[test]
    fn every_check_has_an_id_in_order_and_help() {
        for (index, check) in CHECKS.iter().enumerate() {
            assert_eq!(check.id, format!("DF{:03}", index + 1));
            assert!(!check.help.is_empty() && !check.title.is_empty());
        }
    }
}
