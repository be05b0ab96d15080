//! What can go wrong in the registry, and the Distribution Spec error code each is reported as.
//!
//! [`RegistryError`] is what the registry's operations return; each variant knows its
//! [`ErrorCode`] and HTTP status, so the HTTP layer only renders them. Variants carry the
//! repository, digest or reference involved, which end up in the error body's `detail`.

use http::StatusCode;

use crate::digest::Digest;
use crate::name::{NameError, RepositoryName};
use crate::storage::{StorageError, UploadId};

/// The error codes of the Distribution Spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Blob unknown to registry.
    BlobUnknown,
    /// Blob upload invalid.
    BlobUploadInvalid,
    /// Blob upload unknown to registry.
    BlobUploadUnknown,
    /// Provided digest did not match uploaded content.
    DigestInvalid,
    /// Manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// Manifest invalid.
    ManifestInvalid,
    /// Manifest unknown to registry.
    ManifestUnknown,
    /// Invalid repository name.
    NameInvalid,
    /// Repository name not known to registry.
    NameUnknown,
    /// Provided length did not match content length.
    SizeInvalid,
    /// Authentication required.
    Unauthorized,
    /// Requested access to the resource is denied.
    Denied,
    /// The operation is unsupported.
    Unsupported,
    /// Too many requests.
    TooManyRequests,
    /// An invalid tag: Docker's legacy code, which the spec lets clients meet.
    TagInvalid,
    /// A failure of the registry itself (a 5xx answer), where the spec prescribes no code;
    /// clients treat it as they treat any code they do not know.
    Unknown,
}

impl ErrorCode {
    /// The code as it appears in an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The spec's description of the code.
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "blob unknown to registry",
            ErrorCode::BlobUploadInvalid => "blob upload invalid",
            ErrorCode::BlobUploadUnknown => "blob upload unknown to registry",
            ErrorCode::DigestInvalid => "provided digest did not match uploaded content",
            ErrorCode::ManifestBlobUnknown => {
                "manifest references a manifest or blob unknown to registry"
            }
            ErrorCode::ManifestInvalid => "manifest invalid",
            ErrorCode::ManifestUnknown => "manifest unknown to registry",
            ErrorCode::NameInvalid => "invalid repository name",
            ErrorCode::NameUnknown => "repository name not known to registry",
            ErrorCode::SizeInvalid => "provided length did not match content length",
            ErrorCode::Unauthorized => "authentication required",
            ErrorCode::Denied => "requested access to the resource is denied",
            ErrorCode::Unsupported => "the operation is unsupported",
            ErrorCode::TooManyRequests => "too many requests",
            ErrorCode::TagInvalid => "manifest tag did not match URI",
            ErrorCode::Unknown => "unknown error",
        }
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The repository holds no such blob.
    #[error("blob {digest} is not in repository {repository}")]
    BlobUnknown {
        /// The repository.
        repository: RepositoryName,
        /// The blob.
        digest: Digest,
    },
    /// No such upload in this repository.
    #[error("no upload {id} in repository {repository}")]
    BlobUploadUnknown {
        /// The repository.
        repository: RepositoryName,
        /// The upload.
        id: UploadId,
    },
    /// The upload request is malformed: a bad `Content-Range`, a missing digest.
    #[error("{0}")]
    BlobUploadInvalid(String),
    /// A chunk does not start where the upload ends (416).
    #[error("the chunk starts at byte {got}, but the upload has {size} bytes")]
    ChunkOutOfOrder {
        /// The upload's size: the next chunk starts here.
        size: u64,
        /// Where the chunk said it starts.
        got: u64,
        /// The upload, for the `Location` of the answer.
        id: UploadId,
    },
    /// A digest is malformed, or content does not hash to it.
    #[error("{0}")]
    DigestInvalid(String),
    /// A manifest references a blob or manifest the repository does not hold.
    #[error("the manifest references {digest}, which repository {repository} does not hold")]
    ManifestBlobUnknown {
        /// The repository.
        repository: RepositoryName,
        /// The missing blob or manifest.
        digest: Digest,
    },
    /// The manifest cannot be stored as it is.
    #[error("{0}")]
    ManifestInvalid(String),
    /// The manifest is larger than the registry accepts (413).
    #[error("the manifest is larger than {limit} bytes")]
    ManifestTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The repository holds no such manifest or tag.
    #[error("{reference} is not in repository {repository}")]
    ManifestUnknown {
        /// The repository.
        repository: RepositoryName,
        /// The tag or digest asked for.
        reference: String,
    },
    /// A repository name, tag or reference is malformed.
    #[error(transparent)]
    NameInvalid(#[from] NameError),
    /// No such repository.
    #[error("no repository {0}")]
    NameUnknown(RepositoryName),
    /// A declared length does not match the content.
    #[error("{0}")]
    SizeInvalid(String),
    /// A `Range` outside the blob (416).
    #[error("the range is outside the blob's {size} bytes")]
    RangeNotSatisfiable {
        /// The blob's size.
        size: u64,
    },
    /// The storage failed.
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for RegistryError {
    fn from(error: StorageError) -> RegistryError {
        match error {
            StorageError::DigestMismatch { .. } => RegistryError::DigestInvalid(error.to_string()),
            other => RegistryError::Storage(other),
        }
    }
}

impl RegistryError {
    /// The spec's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistryError::BlobUnknown { .. } => ErrorCode::BlobUnknown,
            RegistryError::BlobUploadUnknown { .. } => ErrorCode::BlobUploadUnknown,
            RegistryError::BlobUploadInvalid(_) | RegistryError::ChunkOutOfOrder { .. } => {
                ErrorCode::BlobUploadInvalid
            }
            RegistryError::DigestInvalid(_) => ErrorCode::DigestInvalid,
            RegistryError::ManifestBlobUnknown { .. } => ErrorCode::ManifestBlobUnknown,
            RegistryError::ManifestInvalid(_) | RegistryError::ManifestTooLarge { .. } => {
                ErrorCode::ManifestInvalid
            }
            RegistryError::ManifestUnknown { .. } => ErrorCode::ManifestUnknown,
            RegistryError::NameInvalid(NameError::Digest(_)) => ErrorCode::DigestInvalid,
            RegistryError::NameInvalid(NameError::Tag { .. }) => ErrorCode::TagInvalid,
            RegistryError::NameInvalid(NameError::Repository { .. }) => ErrorCode::NameInvalid,
            RegistryError::NameUnknown(_) => ErrorCode::NameUnknown,
            RegistryError::SizeInvalid(_) => ErrorCode::SizeInvalid,
            RegistryError::RangeNotSatisfiable { .. } => ErrorCode::SizeInvalid,
            RegistryError::Storage(StorageError::UploadUnknown(_)) => ErrorCode::BlobUploadUnknown,
            RegistryError::Storage(StorageError::Interrupted(_)) => ErrorCode::BlobUploadInvalid,
            RegistryError::Storage(_) => ErrorCode::Unknown,
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::BlobUnknown { .. }
            | RegistryError::BlobUploadUnknown { .. }
            | RegistryError::ManifestUnknown { .. }
            | RegistryError::NameUnknown(_)
            | RegistryError::Storage(StorageError::UploadUnknown(_)) => StatusCode::NOT_FOUND,
            RegistryError::ChunkOutOfOrder { .. } | RegistryError::RangeNotSatisfiable { .. } => {
                StatusCode::RANGE_NOT_SATISFIABLE
            }
            RegistryError::ManifestTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RegistryError::Storage(error) if error.is_storage_full() => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            RegistryError::Storage(StorageError::Interrupted(_)) => StatusCode::BAD_REQUEST,
            RegistryError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
