//! Fuzzes the Dockerfile parser: any text parses or is rejected with a position inside it, and
//! listing or expanding the variables of any instruction returns.
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
                let escape = dockerfile.directives().escape();
                slipway_dockerfile::referenced_variables(&instruction.raw, escape);
                slipway_dockerfile::expand_variables(&instruction.raw, escape, &|name| {
                    (name.len() % 2 == 0).then(|| name.to_owned())
                });
            }
        }
        Err(error) => assert!(error.line() >= 1 && error.line() <= lines && error.column() >= 1),
    }
});
