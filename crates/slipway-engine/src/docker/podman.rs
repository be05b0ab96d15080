//! What Podman's Docker-compatible API leaves out, read from its own (libpod) API.
//!
//! Podman 4.3's compatible image inspect omits the declared `HEALTHCHECK`, though the image
//! keeps it (builds through that API are in Docker's image format); the libpod inspect of the
//! same image has it.

use bollard::models::HealthConfig;
use serde::Deserialize;

use super::convert::health_check;
use super::raw;
use crate::container::HealthCheck;
use crate::endpoint::Endpoint;
use crate::error::EngineError;

/// The part of a libpod image inspect that the compatible one lacks.
#[derive(Debug, Deserialize)]
struct LibpodImage {
    #[serde(rename = "Healthcheck")]
    healthcheck: Option<HealthConfig>,
}

/// The health check image `image_id` declares, asked of the libpod API of Podman `version`.
pub(crate) async fn declared_healthcheck(
    endpoint: &Endpoint,
    version: &str,
    image_id: &str,
) -> Result<Option<HealthCheck>, EngineError> {
    let during = || format!("inspecting image {image_id}");
    let body = match raw::get(
        endpoint,
        &format!("/v{version}/libpod/images/{image_id}/json"),
    )
    .await
    {
        Ok(body) => body,
        // Removed since the compatible inspect found it.
        Err(raw::Failure::Status(404)) => return Ok(None),
        Err(raw::Failure::Status(status)) => {
            return Err(EngineError::Api {
                during: during(),
                status,
                message: "libpod image inspect failed".to_owned(),
            });
        }
        Err(raw::Failure::Connection(cause)) => {
            return Err(EngineError::Disconnected {
                during: during(),
                cause,
            });
        }
    };
    let image: LibpodImage =
        serde_json::from_slice(&body).map_err(|error| EngineError::Protocol {
            during: during(),
            message: error.to_string(),
        })?;
    Ok(image.healthcheck.and_then(health_check))
}
