//! Fuzzes the Dockerfile parser: any text parses or is rejected with a position inside it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let lines = text.split('\n').count();
    match slipway_dockerfile::parse(text) {
        Ok(dockerfile) => {
            assert!(!dockerfile.stages().is_empty());
            for instruction in dockerfile.instructions() {
                assert!(instruction.span.line <= instruction.span.end_line);
                assert!(instruction.span.end_line <= lines);
                slipway_dockerfile::referenced_variables(
                    &instruction.raw,
                    dockerfile.directives().escape(),
                );
            }
        }
        Err(error) => assert!(error.line() >= 1 && error.line() <= lines && error.column() >= 1),
    }
});
