//! `slipway hooks install`: a local bare repository's post-receive hook that hands each push to
//! the server of a data directory, and `slipway hooks receive`, which the hook runs.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use slipway_server::spool::{PushedRef, hand_over};

use crate::cli::HooksCommand;
use crate::output::Status;
use crate::report::Failure;

/// `slipway hooks ...`.
pub(crate) fn run(command: &HooksCommand, status: Status) -> Result<ExitCode, Failure> {
    match command {
        HooksCommand::Install {
            repo,
            project,
            data,
        } => install(repo, project, &data.data, status),
        HooksCommand::Receive { project, data } => receive(project, &data.data),
    }
}

fn install(repo: &Path, project: &str, data: &Path, status: Status) -> Result<ExitCode, Failure> {
    let hooks = repo.join("hooks");
    if !repo.join("HEAD").is_file() || !repo.join("objects").is_dir() {
        return Err(
            Failure::bad_input(format!("{} is not a bare git repository", repo.display()))
                .hint("give the repository's own directory, the one holding HEAD and objects/"),
        );
    }
    let store = slipway_server::open_store(data)?;
    if store.project(project)?.is_none() {
        return Err(Failure::bad_input(format!("no project named {project:?}"))
            .hint("add it first with `slipway projects add NAME --repo PATH --data DIR`"));
    }
    // The hook runs from the repository, so every path in it is absolute.
    let absolute = |path: &Path| {
        std::fs::canonicalize(path)
            .map_err(|error| Failure::new(format!("cannot resolve {}: {error}", path.display())))
    };
    let data = absolute(data)?;
    let slipway = std::env::current_exe()
        .map_err(|error| Failure::new(format!("cannot find the slipway executable: {error}")))?;
    let script = format!(
        "#!/bin/sh\n\
         # Written by `slipway hooks install`: hands each pushed ref to `slipway serve --data {data}`.\n\
         exec {slipway} hooks receive --quiet --project {project} --data {data}\n",
        data = quoted(&data.to_string_lossy()),
        slipway = quoted(&slipway.to_string_lossy()),
        project = quoted(project),
    );
    std::fs::create_dir_all(&hooks)
        .map_err(|error| Failure::new(format!("cannot create {}: {error}", hooks.display())))?;
    let hook = hooks.join("post-receive");
    std::fs::write(&hook, script)
        .and_then(|()| std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)))
        .map_err(|error| Failure::new(format!("cannot write {}: {error}", hook.display())))?;
    status.line(format!(
        "installed {}: pushes run project {project} on the server of {}",
        hook.display(),
        data.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Reads `OLD NEW REF` lines and spools them as one push.
fn receive(project: &str, data: &Path) -> Result<ExitCode, Failure> {
    let mut refs = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line =
            line.map_err(|error| Failure::new(format!("cannot read the pushed refs: {error}")))?;
        if line.trim().is_empty() {
            continue;
        }
        refs.push(PushedRef::parse(&line).ok_or_else(|| {
            Failure::bad_input(format!("{line:?} is not `OLD NEW REF`"))
                .hint("this command is run by the post-receive hook, which git feeds those lines")
        })?);
    }
    if !refs.is_empty() {
        hand_over(data, project, refs)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` in single quotes for sh.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
