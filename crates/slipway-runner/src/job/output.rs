//! Where a step's output goes: [`StepSink`] (the log, annotations and events, masked),
//! [`CommandReader`] (workflow commands in the output) and [`FileCommands`] (the files behind
//! `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_PATH`, `$GITHUB_STATE`, `$GITHUB_STEP_SUMMARY`).

use std::sync::Arc;

use indexmap::IndexMap;
use slipway_store::{Annotation, AnnotationLevel};

use crate::commands::{self, Directive};
use crate::envfile;
use crate::executor::Place;
use crate::observer::RunEvent;
use crate::run::WorkflowScope;

/// Where a step's output goes: its log, its annotations, and the observer.
pub(super) struct StepSink {
    pub(super) job: Arc<str>,
    pub(super) step: Option<Arc<str>>,
    pub(super) scope: Arc<WorkflowScope>,
    pub(super) log: String,
    pub(super) annotations: Vec<Annotation>,
    pub(super) summary: String,
}

/// What ends a log cut at [`MAX_RECORDED_LOG`].
const TRUNCATED: &str = "[the rest of this step's output was shown but not recorded]\n";

/// How much of a step's log is kept for its record; the rest is still shown live. A step that
/// prints more (a verbose build) would otherwise fill the store with one record.
const MAX_RECORDED_LOG: usize = 8 << 20;

impl StepSink {
    /// A line of output: masked, kept in the log (up to its limit), and shown.
    pub(super) fn line(&mut self, text: &str) {
        let masked = self.scope.shared.masker.mask(text).into_owned();
        if self.log.len() + masked.len() < MAX_RECORDED_LOG {
            self.log.push_str(&masked);
            self.log.push('\n');
        } else if !self.log.ends_with(TRUNCATED) {
            self.log.push_str(TRUNCATED);
        }
        self.scope.shared.observer.event(RunEvent::Line {
            job: self.job.clone(),
            step: self.step.clone(),
            text: masked,
        });
    }

    /// An annotation: masked, logged as `Error: ...`, kept with the step, and shown.
    pub(super) fn annotate(&mut self, mut annotation: Annotation) {
        let masker = &self.scope.shared.masker;
        annotation.message = masker.mask(&annotation.message).into_owned();
        annotation.title = annotation.title.map(|t| masker.mask(&t).into_owned());
        let label = match annotation.level {
            AnnotationLevel::Error => "Error",
            AnnotationLevel::Warning => "Warning",
            AnnotationLevel::Notice => "Notice",
        };
        self.line(&format!("{label}: {}", annotation.message));
        self.scope.shared.observer.event(RunEvent::Annotation {
            job: self.job.clone(),
            annotation: annotation.clone(),
        });
        self.annotations.push(annotation);
    }

    /// An error annotation.
    pub(super) fn error(&mut self, message: &str) {
        self.annotate(Annotation {
            level: AnnotationLevel::Error,
            message: message.to_owned(),
            title: None,
            file: None,
            line: None,
            end_line: None,
            column: None,
            end_column: None,
        });
    }
}

/// Workflow commands of one process.
#[derive(Default)]
pub(super) struct CommandReader {
    pub(super) stop_token: Option<String>,
    pub(super) outputs: IndexMap<String, String>,
    pub(super) state: IndexMap<String, String>,
    /// `set-env` and `add-path` are honoured (`ACTIONS_ALLOW_UNSECURE_COMMANDS`).
    unsecure_allowed: bool,
    /// What `set-env` set, for the next steps.
    pub(super) env: IndexMap<String, String>,
    /// What `add-path` added, in order, for the next steps.
    pub(super) path: Vec<String>,
    /// A command that fails the step even if the process succeeds.
    pub(super) failed_by: Option<&'static str>,
}

impl CommandReader {
    /// A reader for a process whose environment is `env`.
    pub(super) fn new<'a>(env: impl Iterator<Item = (&'a str, &'a str)>) -> CommandReader {
        CommandReader {
            unsecure_allowed: commands::unsecure_commands_allowed(env),
            ..CommandReader::default()
        }
    }

    pub(super) fn handle(&mut self, raw: &str, sink: &mut StepSink) {
        if let Some(token) = &self.stop_token {
            if raw.trim() == format!("::{token}::") {
                self.stop_token = None;
            } else {
                sink.line(raw);
            }
            return;
        }
        let Some(command) = commands::parse(raw) else {
            sink.line(raw);
            return;
        };
        match Directive::of(command) {
            Directive::Annotate(annotation) => sink.annotate(annotation),
            Directive::Group(title) => sink.line(&format!("▸ {title}")),
            Directive::EndGroup | Directive::Echo(_) => {}
            Directive::AddMask(value) => sink.scope.shared.masker.add(&value),
            Directive::StopCommands(token) => self.stop_token = Some(token),
            Directive::Debug(message) => {
                if sink.scope.shared.debug {
                    sink.line(&format!("##[debug]{message}"));
                }
            }
            Directive::SetOutput { name, value } => {
                self.outputs.insert(name, value);
            }
            Directive::SaveState { name, value } => {
                self.state.insert(name, value);
            }
            Directive::SetEnv { name, value } if self.unsecure_allowed => {
                if name.is_empty() {
                    sink.error("`set-env` needs a name: ::set-env name=NAME::value");
                    self.failed_by = Some("set-env");
                } else {
                    self.env.insert(name, value);
                }
            }
            Directive::AddPath(dir) if self.unsecure_allowed => self.path.push(dir),
            Directive::SetEnv { .. } => self.disabled("set-env", "$GITHUB_ENV", sink),
            Directive::AddPath(_) => self.disabled("add-path", "$GITHUB_PATH", sink),
            Directive::Unknown => sink.line(raw),
        }
    }
}

impl CommandReader {
    /// A command GitHub disabled, used without `ACTIONS_ALLOW_UNSECURE_COMMANDS`: it fails the
    /// step, saying what replaces it.
    fn disabled(&mut self, name: &'static str, file: &str, sink: &mut StepSink) {
        sink.error(&format!(
            "the `{name}` command is disabled; use the {file} file instead"
        ));
        self.failed_by = Some(name);
    }
}

/// The files a step's workflow commands go to.
pub(super) struct FileCommands {
    pub(super) output: Place,
    pub(super) env: Place,
    pub(super) path: Place,
    pub(super) state: Place,
    pub(super) summary: Place,
}

impl FileCommands {
    /// The files in `dir`, empty for the next step. Every step of a job reuses the same five
    /// files: creating new ones for each step (and deleting them) costs more than the step
    /// itself on ext4, which searches for recently deleted inodes on each creation. Most steps
    /// write none of them, so only a file holding something is emptied (truncating updates the
    /// inode through the journal even when the file is already empty) and read back.
    pub(super) fn new(dir: &Place) -> FileCommands {
        let file = |kind: &str| {
            let place = dir.join(kind);
            if written(&place) != Some(false) {
                // A file the step cannot write to shows up as its own error when it tries.
                let _ = std::fs::write(&place.host, "");
            }
            place
        };
        FileCommands {
            output: file("set_output"),
            env: file("set_env"),
            path: file("add_path"),
            state: file("save_state"),
            summary: file("step_summary"),
        }
    }

    /// Reads what the step wrote; returns its step summary.
    pub(super) fn read(
        &self,
        outputs: &mut IndexMap<String, String>,
        env: &mut IndexMap<String, String>,
        path: &mut Vec<String>,
        state: &mut IndexMap<String, String>,
    ) -> Result<String, String> {
        let read = |place: &Place| match written(place) {
            Some(true) => std::fs::read_to_string(&place.host).unwrap_or_default(),
            _ => String::new(),
        };
        let parse = |place: &Place, what: &str| {
            envfile::parse_file_command(&read(place)).map_err(|e| format!("${what}: {e}"))
        };
        outputs.extend(parse(&self.output, "GITHUB_OUTPUT")?);
        env.extend(parse(&self.env, "GITHUB_ENV")?);
        state.extend(parse(&self.state, "GITHUB_STATE")?);
        for line in read(&self.path)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            path.insert(0, line.to_owned());
        }
        Ok(read(&self.summary))
    }
}

/// Whether a file-command file holds something; `None` when it is missing or unreadable.
fn written(place: &Place) -> Option<bool> {
    std::fs::metadata(&place.host)
        .ok()
        .map(|metadata| metadata.len() > 0)
}
