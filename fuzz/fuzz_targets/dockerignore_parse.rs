//! Fuzzes `.dockerignore` parsing and matching: the first line is a path to match, the rest is
//! the `.dockerignore`. Nothing may panic, and a pattern followed by its own exception excludes
//! nothing.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use slipway_context::DockerIgnore;

fuzz_target!(|text: &str| {
    let (path, dockerignore) = text.split_once('\n').unwrap_or((text, ""));
    let path = Path::new(path);
    if let Ok(ignore) = DockerIgnore::parse(dockerignore) {
        ignore.is_excluded(path);
    }
    let pattern = dockerignore.lines().last().unwrap_or("").trim();
    // Docker trims whitespace at different steps for `p` and `!p` (so `/\x0cx` and `!/\x0cx`
    // differ), and drops a byte-order mark only at the start of the file: leave those out.
    if pattern.is_empty()
        || pattern.starts_with(['#', '!', '\u{feff}'])
        || pattern.contains(char::is_whitespace)
    {
        return;
    }
    if let Ok(ignore) = DockerIgnore::parse(&format!("{pattern}\n!{pattern}")) {
        assert!(
            !ignore.is_excluded(path),
            "{pattern:?} then !{pattern:?} excludes {path:?}"
        );
    }
});
