//! The async adaptor: same bytes as the synchronous writer, in bounded chunks, errors surfaced.

use futures::StreamExt;
use slipway_context::{ContextError, ContextOptions, context_stream, write_context};

use crate::support::make_tree;

#[tokio::test]
async fn streams_the_same_tar_in_64_kib_chunks() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &["Dockerfile", "src/a"]);
    std::fs::write(dir.path().join("big"), vec![7u8; 300 * 1024]).unwrap();
    let mut expected = Vec::new();
    let expected_stats =
        write_context(dir.path(), &ContextOptions::default(), &mut expected).unwrap();

    let (stream, task) = context_stream(dir.path().to_owned(), ContextOptions::default());
    let chunks: Vec<_> = stream.map(|chunk| chunk.unwrap()).collect().await;
    assert!(chunks.len() > 4, "a 300 KiB file spans several chunks");
    assert!(chunks.iter().all(|chunk| chunk.len() <= 64 * 1024));
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|chunk| chunk.len() == 64 * 1024)
    );
    assert_eq!(chunks.concat(), expected);
    assert_eq!(task.await.unwrap().unwrap(), expected_stats);
}

#[tokio::test]
async fn a_failed_walk_ends_the_stream_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (stream, task) = context_stream(dir.path().to_owned(), ContextOptions::default());
    let items: Vec<_> = stream.collect().await;
    assert_eq!(items.len(), 1);
    let message = items[0].as_ref().unwrap_err().to_string();
    assert!(message.starts_with("no Dockerfile at "), "{message}");
    assert!(matches!(
        task.await.unwrap(),
        Err(ContextError::MissingDockerfile { .. })
    ));
}

#[tokio::test]
async fn dropping_the_stream_stops_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &["Dockerfile"]);
    std::fs::write(dir.path().join("big"), vec![1u8; 2 * 1024 * 1024]).unwrap();
    let (mut stream, task) = context_stream(dir.path().to_owned(), ContextOptions::default());
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    assert!(matches!(task.await.unwrap(), Err(ContextError::Write(_))));
}
