//! `shell:`: which program runs a `run:` script, with which arguments, as GitHub documents for
//! Linux runners.
//!
//! | `shell:`        | command                                     |
//! |-----------------|---------------------------------------------|
//! | (unspecified)   | `bash -e {0}`, or `sh -e {0}` without bash   |
//! | `bash`          | `bash --noprofile --norc -eo pipefail {0}`  |
//! | `sh`            | `sh -e {0}`                                 |
//! | `python`        | `python {0}` (`python3` when only it exists) |
//! | `pwsh`          | `pwsh -command ". '{0}'"`                   |
//! | anything else   | a custom command with `{0}` for the script  |
//!
//! `cmd` and `powershell` exist only on Windows runners and are refused.

use thiserror::Error;

/// A shell name or template that cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum ShellError {
    /// The shell's program is not installed where the step runs.
    #[error("shell '{shell}' needs the program '{program}', which is not installed")]
    Missing {
        /// The shell as written.
        shell: String,
        /// The program looked for.
        program: String,
    },
    /// A Windows-only shell.
    #[error("shell '{0}' runs only on Windows runners")]
    WindowsOnly(String),
    /// A custom shell that does not say where the script goes.
    #[error("custom shell '{0}' must contain '{{0}}' where the script's path goes")]
    NoPlaceholder(String),
    /// A custom shell whose quoting does not parse.
    #[error("custom shell '{0}' has unbalanced quotes")]
    Unparsable(String),
}

/// A shell resolved to a program and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shell {
    program: String,
    /// Arguments, with `{0}` where the script's path goes.
    args: Vec<String>,
    extension: &'static str,
    kind: ShellKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShellKind {
    Posix,
    Python,
    Pwsh,
    Custom,
}

impl Shell {
    /// Resolves `shell:` (`None` when the step and its defaults name none), asking `installed`
    /// whether a program exists where the step runs.
    pub(crate) fn resolve(
        shell: Option<&str>,
        installed: impl Fn(&str) -> bool,
    ) -> Result<Shell, ShellError> {
        let missing = |name: &str, program: &str| ShellError::Missing {
            shell: name.to_owned(),
            program: program.to_owned(),
        };
        let posix = |program: &str, args: &[&str]| Shell {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            extension: ".sh",
            kind: ShellKind::Posix,
        };
        match shell {
            None if installed("bash") => Ok(posix("bash", &["-e", "{0}"])),
            None => Ok(posix("sh", &["-e", "{0}"])),
            Some("bash") if installed("bash") => Ok(posix(
                "bash",
                &["--noprofile", "--norc", "-eo", "pipefail", "{0}"],
            )),
            Some("bash") => Err(missing("bash", "bash")),
            Some("sh") if installed("sh") => Ok(posix("sh", &["-e", "{0}"])),
            Some("sh") => Err(missing("sh", "sh")),
            Some("python") => {
                let program = ["python", "python3"]
                    .into_iter()
                    .find(|p| installed(p))
                    .ok_or_else(|| missing("python", "python"))?;
                Ok(Shell {
                    program: program.to_owned(),
                    args: vec!["{0}".to_owned()],
                    extension: ".py",
                    kind: ShellKind::Python,
                })
            }
            Some("pwsh") if installed("pwsh") => Ok(Shell {
                program: "pwsh".to_owned(),
                args: vec!["-command".to_owned(), ". '{0}'".to_owned()],
                extension: ".ps1",
                kind: ShellKind::Pwsh,
            }),
            Some("pwsh") => Err(missing("pwsh", "pwsh")),
            Some(name @ ("cmd" | "powershell")) => Err(ShellError::WindowsOnly(name.to_owned())),
            Some(template) => custom(template, installed),
        }
    }

    /// The program to start.
    pub(crate) fn program(&self) -> &str {
        &self.program
    }

    /// The arguments for the script at `script_path`.
    pub(crate) fn args(&self, script_path: &str) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| arg.replace("{0}", script_path))
            .collect()
    }

    /// The extension the script file gets (`.sh`, `.py`, `.ps1`, or none for a custom shell).
    pub(crate) fn extension(&self) -> &'static str {
        self.extension
    }

    /// The script file's content for the step's `run:` text: PowerShell gets GitHub's prologue
    /// and epilogue so that errors and exit codes stop the step.
    pub(crate) fn script(&self, run: &str) -> String {
        match self.kind {
            ShellKind::Pwsh => format!(
                "$ErrorActionPreference = 'stop'\n{run}\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) {{ exit $LASTEXITCODE }}\n"
            ),
            ShellKind::Posix | ShellKind::Python | ShellKind::Custom => run.to_owned(),
        }
    }
}

fn custom(template: &str, installed: impl Fn(&str) -> bool) -> Result<Shell, ShellError> {
    if !template.contains("{0}") {
        return Err(ShellError::NoPlaceholder(template.to_owned()));
    }
    let mut words =
        shlex::split(template).ok_or_else(|| ShellError::Unparsable(template.to_owned()))?;
    if words.is_empty() {
        return Err(ShellError::NoPlaceholder(template.to_owned()));
    }
    let program = words.remove(0);
    if !installed(&program) {
        return Err(ShellError::Missing {
            shell: template.to_owned(),
            program,
        });
    }
    Ok(Shell {
        program,
        args: words,
        extension: "",
        kind: ShellKind::Custom,
    })
}

/// The executable file `program` names: itself when it is a path, else the first match in the
/// directories of `path`.
pub(crate) fn locate(program: &str, path: Option<&std::ffi::OsStr>) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |candidate: &std::path::Path| {
        candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = std::path::PathBuf::from(program);
        return executable(&path).then_some(path);
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(programs: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |p| programs.contains(&p)
    }

    #[test]
    fn builtin_shells_follow_githubs_templates() {
        let all = only(&["bash", "sh", "python", "pwsh"]);
        let default = Shell::resolve(None, &all).unwrap();
        assert_eq!(
            (default.program(), default.args("/t/s.sh")),
            ("bash", vec!["-e".into(), "/t/s.sh".into()])
        );
        let bash = Shell::resolve(Some("bash"), &all).unwrap();
        assert_eq!(
            bash.args("x").join(" "),
            "--noprofile --norc -eo pipefail x"
        );
        assert_eq!(bash.extension(), ".sh");
        let pwsh = Shell::resolve(Some("pwsh"), &all).unwrap();
        assert_eq!(pwsh.args("/t/s.ps1"), vec!["-command", ". '/t/s.ps1'"]);
        assert!(
            pwsh.script("exit 3")
                .starts_with("$ErrorActionPreference = 'stop'\nexit 3\n")
        );
        assert_eq!(
            Shell::resolve(Some("python"), &all).unwrap().extension(),
            ".py"
        );
    }

    #[test]
    fn fallbacks_and_missing_programs() {
        let default = Shell::resolve(None, only(&["sh"])).unwrap();
        assert_eq!(default.program(), "sh");
        assert_eq!(
            Shell::resolve(Some("python"), only(&["python3"]))
                .unwrap()
                .program(),
            "python3"
        );
        assert_eq!(
            Shell::resolve(Some("pwsh"), only(&["bash"])),
            Err(ShellError::Missing {
                shell: "pwsh".into(),
                program: "pwsh".into()
            })
        );
        assert_eq!(
            Shell::resolve(Some("cmd"), only(&[])),
            Err(ShellError::WindowsOnly("cmd".into()))
        );
    }

    #[test]
    fn custom_shells_put_the_script_where_0_is() {
        let shell = Shell::resolve(Some("perl -w '{0}' --flag"), only(&["perl"])).unwrap();
        assert_eq!(shell.program(), "perl");
        assert_eq!(shell.args("/t/x"), vec!["-w", "/t/x", "--flag"]);
        assert_eq!(shell.extension(), "");
        assert_eq!(
            Shell::resolve(Some("perl -w"), only(&["perl"])),
            Err(ShellError::NoPlaceholder("perl -w".into()))
        );
        assert_eq!(
            Shell::resolve(Some("ruby {0}"), only(&["perl"])),
            Err(ShellError::Missing {
                shell: "ruby {0}".into(),
                program: "ruby".into()
            })
        );
        assert_eq!(
            Shell::resolve(Some("x '{0}"), only(&["x"])),
            Err(ShellError::Unparsable("x '{0}".into()))
        );
    }

    #[test]
    fn programs_are_found_on_the_path() {
        let path = std::env::var_os("PATH");
        assert!(locate("sh", path.as_deref()).is_some_and(|p| p.is_absolute()));
        assert_eq!(locate("no-such-program-slipway", path.as_deref()), None);
        assert_eq!(locate("/bin/sh", None), Some("/bin/sh".into()));
        let first = std::ffi::OsString::from("/nonexistent:/usr/bin:/bin");
        assert_eq!(locate("sh", Some(&first)), Some("/usr/bin/sh".into()));
    }
}
