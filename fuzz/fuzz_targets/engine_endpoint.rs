//! Fuzzes what the engine crate reads from people: `DOCKER_HOST` values and `PORT/PROTOCOL`
//! ports. Nothing may panic, and whatever parses must print as text that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_engine::{Endpoint, Port};

fuzz_target!(|text: &str| {
    if let Ok(endpoint) = Endpoint::parse(text) {
        let printed = endpoint.to_string();
        assert_eq!(Endpoint::parse(&printed).ok(), Some(endpoint), "{text:?} printed as {printed:?}");
    }
    if let Ok(port) = text.parse::<Port>() {
        assert_eq!(port.to_string().parse::<Port>(), Ok(port), "{text:?}");
    }
});
