//! `slipway serve`, `slipway tokens` and `slipway projects`: the control plane and the records
//! it works from, managed on the data directory (`--data`) without a running server.

use std::process::ExitCode;

use slipway_server::projects::NewProject;
use slipway_server::{Server, ServerConfig, ServerError};
use slipway_store::{OnRestart, Project, Store};

use crate::cli::{DataArgs, OnRestartArg, ProjectsCommand, ServeArgs, TokensCommand};
use crate::output::{Status, Table, ago, print_json, print_line};
use crate::report::Failure;

/// `slipway serve`: serves until Ctrl-C or SIGTERM, then stops as `Server::serve` says.
pub(crate) async fn serve(args: &ServeArgs, status: Status) -> Result<ExitCode, Failure> {
    let mut config = ServerConfig::new(args.data.data.clone());
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    config.per_project = args.per_project;
    config.grace = args.grace;
    config.on_restart = match args.on_restart {
        OnRestartArg::Requeue => OnRestart::Requeue,
        OnRestartArg::Fail => OnRestart::Fail,
    };
    let server = Server::open(&config)?;
    if !server.recovered().is_empty() {
        status.warn(format!(
            "{} run(s) left in progress by a server that stopped were {}",
            server.recovered().len(),
            match config.on_restart {
                OnRestart::Requeue => "queued again",
                OnRestart::Fail => "recorded as failed",
            }
        ));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| {
            Failure::new(format!("cannot listen on {}: {error}", args.listen))
                .hint("another program listens there; choose another --listen")
        })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    status.line(format!(
        "serving http://{addr} — data in {}, {} worker(s)",
        config.data.display(),
        config.workers
    ));
    let grace = humantime::format_duration(config.grace).to_string();
    let stop = async move {
        match super::proxy::stop_signal().await {
            Ok(signal) => status.line(format!(
                "{signal}: no new runs start; running ones get up to {grace}"
            )),
            Err(failure) => failure.print(),
        }
    };
    server.serve(listener, stop).await?;
    Ok(ExitCode::SUCCESS)
}

/// `slipway tokens ...`.
pub(crate) fn tokens(command: &TokensCommand, status: Status) -> Result<ExitCode, Failure> {
    match command {
        TokensCommand::Create {
            name,
            role,
            data,
            json,
        } => {
            slipway_server::projects::check_name("token", name).map_err(Failure::bad_input)?;
            let store = open(data)?;
            let created = slipway_server::create_token(store.as_ref(), name, *role)?;
            slipway_server::record_local(
                store.as_ref(),
                "token.create",
                name,
                format!("role {role}"),
            )?;
            if *json {
                print_json(
                    &serde_json::json!({ "token": created.token, "secret": created.secret }),
                )?;
            } else {
                status.line(format!(
                    "token {name} ({role}) made; it is shown only this once:"
                ));
                print_line(&created.secret);
            }
        }
        TokensCommand::List { data, json } => {
            let tokens = open(data)?.tokens()?;
            if *json {
                print_json(&tokens)?;
            } else {
                let mut table = Table::new(vec!["NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"]);
                for token in &tokens {
                    table.row(vec![
                        token.name.clone(),
                        token.role.to_string(),
                        ago(token.created_at),
                        token.last_used_at.map_or_else(|| "never".to_owned(), ago),
                        token.revoked_at.map_or_else(|| "-".to_owned(), ago),
                    ]);
                }
                table.print();
            }
        }
        TokensCommand::Revoke { name, data } => {
            let store = open(data)?;
            if !store.revoke_token(name, jiff::Timestamp::now())? {
                return Err(Failure::bad_input(format!("no live token named {name:?}"))
                    .hint("list tokens with `slipway tokens list`"));
            }
            slipway_server::record_local(store.as_ref(), "token.revoke", name, String::new())?;
            status.line(format!("token {name} revoked"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `slipway projects ...`.
pub(crate) fn projects(command: &ProjectsCommand, status: Status) -> Result<ExitCode, Failure> {
    match command {
        ProjectsCommand::Add {
            name,
            repo,
            default_branch,
            webhook_secret_file,
            poll,
            data,
            json,
        } => {
            let project = NewProject {
                name: name.clone(),
                repository: repo.clone(),
                default_branch: Some(default_branch.clone()),
                webhook_secret_file: webhook_secret_file
                    .as_ref()
                    .map(|file| std::path::absolute(file).unwrap_or_else(|_| file.clone())),
                poll_interval_s: poll.map(|interval| interval.as_secs().max(1)),
            }
            .validate()
            .map_err(Failure::bad_input)?;
            let store = open(data)?;
            let project = slipway_server::projects::add(store.as_ref(), project)?;
            let detail = format!("repository {}", project.repository);
            slipway_server::record_local(store.as_ref(), "project.add", &project.name, detail)?;
            if *json {
                print_json(&project)?;
            } else {
                status.line(format!(
                    "project {} added: {}",
                    project.name, project.repository
                ));
            }
        }
        ProjectsCommand::List { data, json } => {
            let projects = open(data)?.projects()?;
            if *json {
                print_json(&projects)?;
            } else {
                let mut table = Table::new(vec!["NAME", "REPOSITORY", "BRANCH", "POLL", "ADDED"]);
                for project in &projects {
                    table.row(row(project));
                }
                table.print();
            }
        }
        ProjectsCommand::Show { name, data, json } => {
            let project = open(data)?.project(name)?.ok_or_else(|| no_project(name))?;
            if *json {
                print_json(&project)?;
            } else {
                print_line(&format!("name:            {}", project.name));
                print_line(&format!("repository:      {}", project.repository));
                print_line(&format!("default branch:  {}", project.default_branch));
                if let Some(file) = &project.webhook_secret_file {
                    print_line(&format!("webhook secret:  read from {}", file.display()));
                }
                if let Some(interval) = project.poll_interval {
                    print_line(&format!(
                        "poll:            every {}",
                        humantime::format_duration(interval)
                    ));
                }
                print_line(&format!("added:           {}", ago(project.created_at)));
            }
        }
        ProjectsCommand::Remove { name, data } => {
            let store = open(data)?;
            if !store.remove_project(name)? {
                return Err(no_project(name));
            }
            slipway_server::record_local(store.as_ref(), "project.remove", name, String::new())?;
            status.line(format!("project {name} removed; its runs stay recorded"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(project: &Project) -> Vec<String> {
    vec![
        project.name.clone(),
        project.repository.clone(),
        project.default_branch.clone(),
        project.poll_interval.map_or_else(
            || "-".to_owned(),
            |interval| humantime::format_duration(interval).to_string(),
        ),
        ago(project.created_at),
    ]
}

fn no_project(name: &str) -> Failure {
    Failure::bad_input(format!("no project named {name:?}"))
        .hint("list projects with `slipway projects list`")
}

fn open(data: &DataArgs) -> Result<std::sync::Arc<dyn Store>, Failure> {
    Ok(slipway_server::open_store(&data.data)?)
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Failure {
        match error {
            ServerError::Store(store) => store.into(),
            ServerError::DataDir { .. } => Failure::new(error.to_string())
                .hint("choose a writable data directory with --data or SLIPWAY_DATA"),
            other => Failure::new(other.to_string()),
        }
    }
}
