//! Fuzzes `slipway.toml` parsing: nothing may panic, every error points inside the text, and a
//! config that parses resolves every service in every environment.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use slipway_config::{Config, ConfigError};

fuzz_target!(|text: &str| {
    match Config::parse(text, Path::new("slipway.toml")) {
        Ok(config) => {
            for environment in config.environment_names() {
                for name in config.service_names() {
                    let service = config.service(name, environment).expect("declared service");
                    assert!(service.health.as_ref().is_none_or(|h| h.path.starts_with('/')));
                }
            }
        }
        Err(ConfigError::Invalid { line, column, .. }) => {
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            assert!(column >= 1);
        }
        Err(other) => panic!("parse returned a non-position error: {other}"),
    }
});
