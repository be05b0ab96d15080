//! Fuzzes loading action metadata (`action.yml`): no input may panic, and every problem is at a
//! real position.

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_workflow::{Source, load_action};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(problems) = load_action(&Source::new("action.yml", text)) {
        assert!(!problems.is_empty());
        for problem in problems {
            assert!(problem.pos().line >= 1 && problem.pos().column >= 1, "{problem}");
        }
    }
});
