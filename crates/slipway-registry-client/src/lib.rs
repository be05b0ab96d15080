//! The client side of registries: the credentials users already keep for them, and the
//! requests Slipway makes to them itself.
//!
//! - [`find_credentials`] looks up a registry's credentials where `docker login` and `podman
//!   login` keep them: Docker's `config.json` (`auths`, `credsStore`, `credHelpers` running
//!   `docker-credential-NAME get`) and the containers `auth.json`, with the keys normalised by
//!   [`key`]. What it reads from the environment is an explicit [`Environment`].
//! - [`Credentials`] carry a [`Secret`] and its [`Source`], which errors name; the secret never
//!   appears in a message or in `Debug`.
//! - [`RegistryClient`] speaks the distribution spec to one registry, answering `Basic` and
//!   `Bearer` challenges (the token flow, tokens cached by scope), and pushes and pulls bundles
//!   ([`RegistryClient::push_bundle`], [`RegistryClient::pull_bundle`]) in the form the
//!   embedded registry keeps them.
//! - [`ImageName`] reads an image reference as `docker pull` does.
//! - [`RegistryClient::pull_image`] pulls a container image (one platform of an index) into an
//!   OCI image layout, for scanning without a container engine.
//! - [`RegistryClient::attach_referrer`] and [`RegistryClient::referrers`] store and list a
//!   manifest's referrers (signatures) through the referrers API, or the `sha256-<hex>` tag
//!   fallback where a registry has none, without ever losing a concurrent writer's referrer.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use slipway_registry_client::{Environment, RegistryClient, Transport, find_credentials};
//!
//! let credentials = find_credentials(&Environment::from_process(), "myacr.azurecr.io", "team/web").await?;
//! let client = RegistryClient::new("myacr.azurecr.io", Transport::Https, credentials)?;
//! let bundle = client
//!     .pull_bundle(&"team/web".parse()?, &slipway_registry::Reference::Tag("1.4.0".parse()?))
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod bundle;
mod challenge;
mod client;
mod credentials;
mod distribution;
mod error;
mod image;
pub mod key;
mod lookup;
mod name;
mod referrers;

pub use challenge::Challenge;
pub use client::{RegistryClient, Transport};
pub use credentials::{Credentials, Secret, Source};
pub use error::{ClientError, CredentialError, ImageNameError};
pub use image::{Platform, PulledImage};
pub use lookup::{Environment, find_credentials};
pub use name::ImageName;
pub use referrers::{Referrer, ReferrersSupport, fallback_tag};
