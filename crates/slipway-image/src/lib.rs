//! Reading container images into their final file tree, without unpacking them to disk.
//!
//! [`ImageReader::open`] reads a `docker save` archive, an OCI layout directory, or an OCI layout
//! in a tar; [`ImageReader::from_blobs`] reads an image a registry holds. Layers apply in order
//! with their whiteouts (`.wh.NAME`, `.wh..wh..opq`), and the result is an [`Image`]: its
//! identity, its [`FileTree`], and the contents of the files the caller asked to
//! [`capture`](ImageReader::capture); a [`FileVisitor`] sees every file's contents as they
//! stream by.
//!
//! Nothing is written to disk, so hostile archives have nothing to overwrite: member paths that
//! climb out of the root are refused, symbolic links resolve inside the image with a hop limit,
//! hard links only copy files already read, and every layer is read through [`Limits`] so a
//! decompression bomb stops at its limit. A damaged layer is an [`ImageProblem`], not the end of
//! the read.
//!
//! ```no_run
//! use slipway_image::ImageReader;
//!
//! # fn main() -> Result<(), slipway_image::ImageError> {
//! let image = ImageReader::new()
//!     .capture(|path| path == "etc/os-release" || path.ends_with("package-lock.json"))
//!     .open(std::path::Path::new("app.tar"))?;
//! println!("{} has {} paths", image.info().id, image.tree().len());
//! if let Some(os_release) = image.read_file("etc/os-release") {
//!     println!("{}", String::from_utf8_lossy(os_release));
//! }
//! # Ok(())
//! # }
//! ```

mod archive;
mod error;
mod image;
mod layer;
mod manifest;
mod tree;

pub use archive::BlobStore;
pub use error::{ImageError, ImageProblem};
pub use image::{Image, ImageInfo, ImageReader};
pub use layer::{FileVisitor, Limits};
pub use manifest::host_platform;
pub use tree::{Entry, EntryKind, FileTree, MAX_LINK_HOPS};
