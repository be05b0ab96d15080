//! Fuzzes the manifest parser with every media type the registry accepts, and none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_registry::manifest::{MEDIA_TYPES, Manifest};

fuzz_target!(|input: (u8, &[u8])| {
    let (choice, bytes) = input;
    let content_type = MEDIA_TYPES.get(usize::from(choice) % (MEDIA_TYPES.len() + 1)).copied();
    if let Ok(manifest) = Manifest::parse(content_type, bytes) {
        assert!(MEDIA_TYPES.contains(&manifest.media_type()));
    }
});
