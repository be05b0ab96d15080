//! Build contexts: `.dockerignore` matching with Docker's exact rules, and the context tar stream.
//!
//! - [`DockerIgnore`] reads a `.dockerignore` and answers whether a path is excluded, with the
//!   rules the Docker CLI applies (comments, trimming, cleaned patterns, `filepath.Match` syntax
//!   plus `**`, `!` exceptions, last match wins, parent directories).
//! - [`write_context`] walks a directory and writes the tar the Docker CLI would send for it:
//!   same entries, same order, same metadata, the Dockerfile and `.dockerignore` always included.
//! - [`context_stream`] does the same on a blocking thread and yields the tar as an async stream
//!   of chunks, for a streaming engine request.
//!
//! The crate knows nothing about engines or HTTP: it turns a directory into bytes.
//!
//! ```no_run
//! use slipway_context::{ContextOptions, write_context};
//! let mut tar = Vec::new();
//! let stats = write_context("app".as_ref(), &ContextOptions::new("Dockerfile"), &mut tar)?;
//! println!("{} files, {} bytes", stats.files, stats.bytes);
//! # Ok::<(), slipway_context::ContextError>(())
//! ```

mod archive;
mod clean;
mod dockerignore;
mod error;
mod pattern;
mod stream;

pub use archive::{ContextOptions, ContextStats, GENERATED_DOCKERFILE, write_context};
pub use dockerignore::{DockerIgnore, IgnoreError};
pub use error::ContextError;
pub use stream::context_stream;
