//! Adding a project, the same way from the API and from `slipway projects add`: names checked,
//! the webhook secret's file recorded (never the secret), the poll interval parsed.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use slipway_store::{Project, Store, StoreError};

/// A project to add, as the API's body or the command's flags give it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Its unique name: letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// A URL `git clone` accepts, or a path to a local repository.
    pub repository: String,
    /// The branch runs without a ref use; `main` when absent.
    pub default_branch: Option<String>,
    /// The file holding the webhook secret.
    pub webhook_secret_file: Option<PathBuf>,
    /// How often to poll the repository, in seconds.
    pub poll_interval_s: Option<u64>,
}

impl NewProject {
    /// Checks every field; the error names the field, what is wrong and what would do.
    pub fn validate(self) -> Result<Project, String> {
        check_name("project", &self.name)?;
        if self.repository.trim().is_empty() {
            return Err("repository: empty; give a URL git can clone or a local path".to_owned());
        }
        let default_branch = self.default_branch.unwrap_or_else(|| "main".to_owned());
        if default_branch.is_empty() || default_branch.starts_with('-') {
            return Err(format!(
                "default_branch: {default_branch:?} is not a branch name"
            ));
        }
        if let Some(file) = self
            .webhook_secret_file
            .as_ref()
            .filter(|file| !file.is_absolute())
        {
            return Err(format!(
                "webhook_secret_file: {} is relative; give an absolute path, since the server reads it from its own directory",
                file.display()
            ));
        }
        let poll_interval = match self.poll_interval_s {
            Some(0) => {
                return Err("poll_interval_s: 0; give a number of seconds above 0".to_owned());
            }
            other => other.map(Duration::from_secs),
        };
        Ok(Project {
            name: self.name,
            repository: self.repository,
            default_branch,
            webhook_secret_file: self.webhook_secret_file,
            poll_interval,
            created_at: jiff::Timestamp::now(),
        })
    }
}

/// Adds `project` to the store and returns it.
pub fn add(store: &dyn Store, project: Project) -> Result<Project, StoreError> {
    store.add_project(&project)?;
    Ok(project)
}

/// Checks a project's or token's name: it appears in URLs and directory names.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 100 || name.starts_with('.') || !name.chars().all(allowed) {
        return Err(format!(
            "{kind} name {name:?}: use 1 to 100 letters, digits, '-', '_' or '.', not starting with '.'"
        ));
    }
    Ok(())
}
