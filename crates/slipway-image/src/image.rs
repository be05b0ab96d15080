//! [`ImageReader`] and the [`Image`] it reads: identity, config, final file tree, and the
//! contents of the files asked for.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::archive::{BlobStore, Blobs, DirectoryFiles, ImageFiles, TarFiles};
use crate::error::{ImageError, ImageProblem};
use crate::layer::{Applier, FileVisitor, Limits};
use crate::manifest::{self, Ambiguous, Choice, Located};
use crate::tree::{EntryKind, FileTree};

/// An image, read: what it is, and its files after every layer.
#[derive(Debug)]
pub struct Image {
    info: ImageInfo,
    tree: FileTree,
    captured: HashMap<String, Vec<u8>>,
    problems: Vec<ImageProblem>,
}

/// What an image is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// The image id: `sha256:` and the digest of its config.
    pub id: String,
    /// The digest of its manifest, when it came with one.
    pub manifest_digest: Option<String>,
    /// Tags it carried in the archive.
    pub tags: Vec<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    /// The user it runs as (`USER`); `None` means root.
    pub user: Option<String>,
    pub env: Vec<String>,
    /// The number of layers.
    pub layers: usize,
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    config: Option<RunConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
}

/// Reads images. By default nothing is captured and no visitor looks at files: say what to
/// keep with [`ImageReader::capture`] and what to stream with [`ImageReader::visitor`].
pub struct ImageReader<'a> {
    capture: Box<dyn Fn(&str) -> bool + 'a>,
    visitor: Option<&'a mut dyn FileVisitor>,
    limits: Limits,
    name: Option<&'a str>,
}

impl std::fmt::Debug for ImageReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageReader")
            .field("limits", &self.limits)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Default for ImageReader<'_> {
    fn default() -> Self {
        ImageReader::new()
    }
}

impl<'a> ImageReader<'a> {
    pub fn new() -> ImageReader<'a> {
        ImageReader {
            capture: Box::new(|_| false),
            visitor: None,
            limits: Limits::default(),
            name: None,
        }
    }

    /// Keep the contents of regular files whose path (relative to the root, `etc/os-release`)
    /// `wanted` accepts, for [`Image::read_file`].
    #[must_use]
    pub fn capture(mut self, wanted: impl Fn(&str) -> bool + 'a) -> ImageReader<'a> {
        self.capture = Box::new(wanted);
        self
    }

    /// Show regular files to `visitor` as their layers are read.
    #[must_use]
    pub fn visitor(mut self, visitor: &'a mut dyn FileVisitor) -> ImageReader<'a> {
        self.visitor = Some(visitor);
        self
    }

    #[must_use]
    pub fn limits(mut self, limits: Limits) -> ImageReader<'a> {
        self.limits = limits;
        self
    }

    /// When the archive holds several images, read the one tagged `name`.
    #[must_use]
    pub fn name(mut self, name: &'a str) -> ImageReader<'a> {
        self.name = Some(name);
        self
    }

    /// Reads the image at `path`: a `docker save` archive, an OCI layout directory, or an OCI
    /// layout in a tar archive.
    ///
    /// # Errors
    ///
    /// An [`ImageError`] when it is not an image or its manifest or config cannot be read.
    /// Damaged layers are not errors: see [`Image::problems`].
    pub fn open(self, path: &Path) -> Result<Image, ImageError> {
        let metadata = std::fs::metadata(path).map_err(|source| ImageError::Read {
            path: path.to_owned(),
            source,
        })?;
        if metadata.is_dir() {
            let files = DirectoryFiles {
                root: path.to_owned(),
            };
            self.read(path, &files, Vec::new())
        } else {
            let files = TarFiles::index(path).map_err(|source| ImageError::Read {
                path: path.to_owned(),
                source,
            })?;
            let problems = files
                .truncated
                .iter()
                .map(|reason| ImageProblem {
                    layer: None,
                    path: path.display().to_string(),
                    message: format!("the archive is truncated or damaged ({reason}); what follows the damage is missing"),
                })
                .collect();
            self.read(path, &files, problems)
        }
    }

    /// Reads an image a registry holds: its manifest (an OCI or Docker v2 image manifest) and
    /// blobs from `store`. `name` names it in errors.
    ///
    /// # Errors
    ///
    /// An [`ImageError`] when the manifest or config cannot be read.
    pub fn from_blobs(
        self,
        name: &str,
        store: &dyn BlobStore,
        manifest: &[u8],
    ) -> Result<Image, ImageError> {
        let path = Path::new(name);
        let located =
            manifest::image_manifest_bytes(manifest).map_err(|error| malformed(path, error))?;
        self.apply(path, &Blobs(store), located, Vec::new())
    }

    fn read(
        self,
        path: &Path,
        files: &dyn ImageFiles,
        problems: Vec<ImageProblem>,
    ) -> Result<Image, ImageError> {
        let choice = match self.name {
            Some(name) => Choice::Named(name),
            None => Choice::Only,
        };
        let located = if files.exists("manifest.json") {
            manifest::docker_archive(files, &choice)
        } else if files.exists("index.json") {
            manifest::oci_layout(files, &choice)
        } else {
            return Err(ImageError::NotAnImage {
                path: path.to_owned(),
            });
        };
        match located.map_err(|error| malformed(path, error))? {
            Ok(located) => self.apply(path, files, located, problems),
            Err(Ambiguous(names)) => Err(ImageError::Ambiguous {
                path: path.to_owned(),
                count: names.len(),
                names,
            }),
        }
    }

    fn apply(
        self,
        path: &Path,
        files: &dyn ImageFiles,
        located: Located,
        mut problems: Vec<ImageProblem>,
    ) -> Result<Image, ImageError> {
        let config_bytes =
            manifest::read_part(files, &located.config).map_err(|error| malformed(path, error))?;
        let config: ConfigFile = serde_json::from_slice(&config_bytes)
            .map_err(|error| malformed(path, (located.config.clone(), error.to_string())))?;
        let mut applier = Applier::new(self.capture, self.visitor, self.limits);
        for (layer, name) in located.layers.iter().enumerate() {
            match files.open(name) {
                Ok(reader) => applier.apply(layer, name, reader),
                Err(error) => applier.problems.push(ImageProblem {
                    layer: Some(layer),
                    path: name.clone(),
                    message: format!("the layer is missing ({error}); its files are not scanned"),
                }),
            }
        }
        applier.settle();
        problems.append(&mut applier.problems);
        let run = config.config.unwrap_or_default();
        Ok(Image {
            info: ImageInfo {
                id: manifest::digest_of(&config_bytes),
                manifest_digest: located.manifest_digest,
                tags: located.tags,
                os: config.os,
                architecture: config.architecture,
                user: run.user.filter(|user| !user.is_empty()),
                env: run.env.unwrap_or_default(),
                layers: located.layers.len(),
            },
            tree: applier.tree,
            captured: applier
                .captured
                .into_iter()
                .map(|(path, (_, contents))| (path, contents))
                .collect(),
            problems,
        })
    }
}

fn malformed(path: &Path, (part, message): (String, String)) -> ImageError {
    ImageError::Malformed {
        path: path.to_owned(),
        part,
        message,
    }
}

impl Image {
    pub fn info(&self) -> &ImageInfo {
        &self.info
    }

    /// Every path after all layers.
    pub fn tree(&self) -> &FileTree {
        &self.tree
    }

    /// The contents of the file at `path`, following symbolic links inside the image, if it was
    /// captured.
    pub fn read_file(&self, path: &str) -> Option<&[u8]> {
        let resolved = self.tree.resolve(path)?;
        match self.tree.get(&resolved)?.kind {
            EntryKind::File { .. } => self.captured.get(&resolved).map(Vec::as_slice),
            _ => None,
        }
    }

    /// Every captured file, by path.
    pub fn captured(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.captured
            .iter()
            .map(|(path, contents)| (path.as_str(), contents.as_slice()))
    }

    /// Whether the file at `path` written by `layer` is what the final image holds (no later
    /// layer deleted or replaced it).
    pub fn is_current(&self, path: &str, layer: usize) -> bool {
        self.tree
            .get(path)
            .is_some_and(|entry| entry.layer == layer)
    }

    /// What could not be read: damaged or missing layers, entries that were refused.
    pub fn problems(&self) -> &[ImageProblem] {
        &self.problems
    }
}
