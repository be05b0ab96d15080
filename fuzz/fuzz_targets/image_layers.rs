//! Fuzzes the image reader's layer handling: arbitrary bytes as the layers of an image (plain,
//! gzip or zstd tars, or garbage) never panic, never exceed the limits, and leave only paths
//! inside the image's root.
#![no_main]

use std::collections::HashMap;
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use slipway_image::{BlobStore, ImageReader, Limits};

struct Memory(HashMap<String, Vec<u8>>);

impl BlobStore for Memory {
    fn open_blob(&self, digest: &str) -> std::io::Result<Box<dyn Read + '_>> {
        self.0
            .get(digest)
            .map(|bytes| Box::new(bytes.as_slice()) as Box<dyn Read>)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, digest.to_owned()))
    }
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (first, second) = input;
    let digest = |name: &str| format!("sha256:{}", name.repeat(64).chars().take(64).collect::<String>());
    let config = br#"{"os": "linux", "architecture": "amd64", "config": {}}"#.to_vec();
    let manifest = format!(
        r#"{{"schemaVersion": 2, "config": {{"digest": "{}"}}, "layers": [{{"digest": "{}"}}, {{"digest": "{}"}}]}}"#,
        digest("c"),
        digest("a"),
        digest("b")
    );
    let store = Memory(HashMap::from([(digest("c"), config), (digest("a"), first), (digest("b"), second)]));
    let limits = Limits { max_layer_bytes: 4 << 20, max_total_bytes: 6 << 20, max_entries: 10_000, max_captured_file: 1 << 20 };
    let image = ImageReader::new().capture(|_| true).limits(limits).from_blobs("fuzz", &store, manifest.as_bytes());
    if let Ok(image) = image {
        for (path, _) in image.tree().iter() {
            assert!(!path.starts_with('/') && !path.split('/').any(|part| part == ".." || part.is_empty()), "{path}");
        }
        for (path, contents) in image.captured() {
            assert!(contents.len() <= 1 << 20, "{path}");
            let _ = image.read_file(path);
        }
    }
});
