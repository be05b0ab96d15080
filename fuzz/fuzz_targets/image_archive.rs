//! Fuzzes the image archive reader: arbitrary bytes as a `docker save` or OCI tar are read as an
//! image or rejected, never a panic, and nothing outside the image's root is ever named.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use slipway_image::{ImageReader, Limits};

fuzz_target!(|bytes: &[u8]| {
    // The reader seeks in the archive, so it needs a file; one per process, rewritten each run.
    let path = std::env::temp_dir().join(format!("slipway-fuzz-image-{}.tar", std::process::id()));
    let Ok(mut file) = std::fs::File::create(&path) else { return };
    if file.write_all(bytes).is_err() {
        return;
    }
    drop(file);
    let limits = Limits { max_layer_bytes: 4 << 20, max_total_bytes: 8 << 20, max_entries: 10_000, max_captured_file: 1 << 20 };
    if let Ok(image) = ImageReader::new().capture(|_| true).limits(limits).open(&path) {
        for (entry_path, _) in image.tree().iter() {
            assert!(!entry_path.split('/').any(|part| part == ".."), "{entry_path}");
        }
    }
});
