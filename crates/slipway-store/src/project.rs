//! Projects the server runs: a repository, its default branch, where its webhook secret is read
//! from, and how often it is polled.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::StoreError;

/// Keeps projects, each under a unique name.
pub trait ProjectStore {
    /// Adds `project`; fails with [`StoreError::AlreadyExists`] when its name is taken.
    fn add_project(&self, project: &Project) -> Result<(), StoreError>;

    /// The project named `name`, or `None`.
    fn project(&self, name: &str) -> Result<Option<Project>, StoreError>;

    /// Every project, by name.
    fn projects(&self) -> Result<Vec<Project>, StoreError>;

    /// Removes the project named `name`; `false` when there was none. Its runs stay recorded.
    fn remove_project(&self, name: &str) -> Result<bool, StoreError>;
}

/// A project: which repository the server runs, and how it hears of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Its unique name, used in URLs and commands.
    pub name: String,
    /// A URL `git clone` accepts, or a path to a local repository.
    pub repository: String,
    /// The branch a trigger without a ref runs (`main`).
    pub default_branch: String,
    /// The file holding the webhook secret; never the secret itself.
    pub webhook_secret_file: Option<PathBuf>,
    /// How often the repository is polled for new commits, when it is. Serialized in whole
    /// seconds as `poll_interval_s`.
    #[serde(rename = "poll_interval_s", serialize_with = "as_seconds")]
    pub poll_interval: Option<Duration>,
    /// When it was added.
    pub created_at: jiff::Timestamp,
}

fn as_seconds<S: serde::Serializer>(
    interval: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match interval {
        Some(interval) => serializer.serialize_some(&interval.as_secs()),
        None => serializer.serialize_none(),
    }
}
