//! Slipway's embedded OCI registry.
//!
//! The OCI Distribution Spec v1.1, complete, over content-addressed storage on the local file
//! system, with what the CNCF registry lacks: retention policies, garbage collection that runs
//! while pushes and pulls do, the referrers API, and a hook that hands every pushed manifest to
//! the scanner at once.
//!
//! - [`Registry`] is the spec's operations, independent of HTTP: push and pull blobs and
//!   manifests, list tags, repositories and referrers, delete. It stores bytes in a
//!   [`BlobStore`] (the seam a remote backend would implement; [`FsBlobStore`] is the file
//!   system one) and records pushes and deletions in the state store.
//! - [`RegistryService`] is the HTTP API over a registry; [`Server`] listens on a socket, with
//!   TLS, and serves it. [`Authenticator`] decides who may pull, push and delete.
//! - [`Registry::collect_garbage`] is the online mark-and-sweep collector;
//!   [`RetentionPolicies`] decide which tags and manifests go.
//! - [`PushHook`] is how the rest of Slipway hears about pushes.
//! - [`Registry::push_bundle`] and [`Registry::pull_bundle`] keep a service's build output as an
//!   OCI artifact, for releases on the process runtime.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use slipway_registry::{Registry, RegistryOptions, RegistryService, Server, ServerOptions};
//!
//! let registry = Arc::new(Registry::open("registry-data".as_ref(), RegistryOptions::default())?);
//! let service = RegistryService::new(registry, None, 1024, false);
//! let server = Server::start(service, ServerOptions::new("127.0.0.1:5000".parse()?)).await?;
//! println!("serving on {}", server.local_addr());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod auth;
mod bundle;
pub mod digest;
mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
mod gc;
mod hook;
pub mod http;
mod import;
mod maintenance;
pub mod manifest;
pub mod name;
mod registry;
mod repositories;
mod retention;
mod server;
pub mod storage;

pub use auth::{AccessRule, Action, AuthError, Authenticator};
pub use bundle::{
    BUNDLE_ARTIFACT_TYPE, BUNDLE_CONFIG, BUNDLE_LAYER, BundleError, PulledBundle,
    bundle_annotations, bundle_layer, bundle_manifest,
};
pub use digest::{Algorithm, Digest};
pub use error::{ErrorCode, RegistryError};
pub use gc::{DEFAULT_GRACE, DEFAULT_UPLOAD_EXPIRY, GcOptions, GcReport};
pub use hook::{PushHook, PushedManifest};
pub use http::RegistryService;
pub use import::{ImportError, ImportedImage};
pub use maintenance::spawn_maintenance;
pub use name::{Reference, RepositoryName, Tag};
pub use registry::{
    ChunkRange, EventStore, MAX_MANIFEST_SIZE, Page, PutManifest, RangeRequest, Registry,
    RegistryOptions, StoredManifest,
};
pub use retention::{
    Removal, RemovalTarget, RetentionOutcome, RetentionPlan, RetentionPolicies, RetentionPolicy,
    RetentionRules,
};
pub use server::{ServeError, Server, ServerOptions, TlsConfig};
pub use storage::{BlobStore, FsBlobStore};
