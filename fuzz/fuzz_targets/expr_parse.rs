//! Fuzzes the expression parser, printer and evaluator: no input may panic, and whatever
//! parses must print to text that parses back to the same tree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_expr::{Condition, Contexts, JobStatus, Template, WorkspaceHost, evaluate, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = parse(text) {
        let printed = expr.to_string();
        let reparsed = parse(&printed).expect("printed expressions parse");
        assert_eq!(reparsed, expr, "{printed}");
        // hashFiles would walk the disk; everything else evaluates in memory.
        if !printed.contains("hashFiles") {
            let host = WorkspaceHost::new("/nonexistent", JobStatus::Success);
            let _ = evaluate(&expr, &Contexts::new(), &host);
        }
    }
    let _ = Template::parse(text);
    let _ = Condition::parse(text);
});
