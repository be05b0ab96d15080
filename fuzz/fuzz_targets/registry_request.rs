//! Fuzzes what every registry request goes through: routing the path, the `Range` and
//! `Content-Range` headers, and digests, names, tags and references.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &[u8], &[u8], &str)| {
    let (path, range, content_range, text) = input;
    slipway_registry::fuzzing::request(path, range, content_range, text);
});
