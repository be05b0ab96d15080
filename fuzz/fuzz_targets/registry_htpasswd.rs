//! Fuzzes the htpasswd parser: an error always names a line of the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_registry::auth::Htpasswd;

fuzz_target!(|text: &str| {
    if let Err(error) = Htpasswd::parse(text) {
        assert!(error.line >= 1 && error.line <= text.lines().count());
    }
});
