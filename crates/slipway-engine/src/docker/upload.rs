//! Request bodies streamed to the engine (build contexts, image archives, root filesystems),
//! watched so that a failure to read them is reported as such.
//!
//! When the body stream fails, the HTTP client only sees a broken request and reports it like a
//! broken connection. [`Upload`] keeps the original I/O error, so the caller can report
//! "reading the build context failed: permission denied" instead of "the engine went away".

use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::engine::ByteStream;
use crate::error::EngineError;

/// A body on its way to the engine, and the first error reading it, if any.
#[derive(Debug, Default, Clone)]
pub(crate) struct Upload {
    failure: Arc<Mutex<Option<io::Error>>>,
}

impl Upload {
    /// Passes `bytes` on, keeping their first read error for [`Upload::failure`]; wrap the
    /// result in `bollard::body_try_stream` to send it.
    pub(crate) fn watch(
        &self,
        bytes: ByteStream,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let failure = Arc::clone(&self.failure);
        bytes.map(move |chunk| {
            chunk.map_err(|error| {
                let passed_on = io::Error::new(error.kind(), error.to_string());
                if let Ok(mut slot) = failure.lock() {
                    slot.get_or_insert(error);
                }
                passed_on
            })
        })
    }

    /// The error reading the body, as an [`EngineError::Io`], if reading it failed.
    pub(crate) fn failure(&self, during: &str) -> Option<EngineError> {
        let source = self.failure.lock().ok()?.take()?;
        Some(EngineError::Io {
            during: during.to_owned(),
            source,
        })
    }
}
