//! The context as an async byte stream, produced on a blocking thread while the engine reads it.

use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;
use futures::stream::{self, BoxStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::archive::{ContextOptions, ContextStats, write_context};
use crate::error::ContextError;

/// Size of the chunks the stream yields.
const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks in flight between the walk and the engine: enough to keep both busy, small enough
/// that a slow engine holds the walk back instead of memory filling up.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Streams the build context of `root` in 64 KiB chunks, walking and tarring it on a tokio
/// blocking thread as the stream is read.
///
/// The handle resolves to what [`write_context`] returned. If the walk fails, the stream's last
/// item is an error, so an engine request fails rather than receiving a truncated context.
/// Dropping the stream stops the walk (the handle then holds a [`ContextError::Write`]).
///
/// Must be called from within a tokio runtime.
pub fn context_stream(
    root: PathBuf,
    options: ContextOptions,
) -> (
    BoxStream<'static, io::Result<Bytes>>,
    JoinHandle<Result<ContextStats, ContextError>>,
) {
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let task = tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK_SIZE),
        };
        let result = write_context(&root, &options, &mut writer).and_then(|stats| {
            writer.send_buffer().map_err(ContextError::Write)?;
            Ok(stats)
        });
        if let Err(error) = &result {
            // The receiver may be gone already; then nobody needs to hear about it.
            let _ = sender.blocking_send(Err(io::Error::other(error.to_string())));
        }
        result
    });
    let chunks = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (Box::pin(chunks), task)
}

/// Buffers the tar into chunks and hands each full one to the channel, waiting for room.
struct ChunkWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_SIZE),
        ));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the build context stream was dropped",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK_SIZE - self.buffer.len();
        let taken = data.len().min(room);
        self.buffer.extend_from_slice(&data[..taken]);
        if self.buffer.len() == CHUNK_SIZE {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
