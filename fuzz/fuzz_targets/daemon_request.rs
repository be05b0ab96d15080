//! Fuzzes what the deploy daemon reads from its socket: request lines, and the byte sizes of
//! `resources.memory` in slipway.toml. Nothing may panic; a request that parses must encode and
//! parse back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_config::ByteSize;
use slipway_deploy::daemon::protocol::parse_request;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(request) = parse_request(bytes) {
        let line = serde_json::to_vec(&request).expect("a parsed request encodes");
        assert_eq!(parse_request(&line).as_ref(), Ok(&request), "{:?}", String::from_utf8_lossy(bytes));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = ByteSize::parse(text);
    }
});
