//! Fuzzes workflow loading and linting: no input may panic, and a workflow that loads must
//! lint without syntax findings (the linter decodes the same way the loader does).

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_workflow::{Rule, Source, lint, load};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new("fuzz.yml", text);
    let loaded = load(&source).is_ok();
    let findings = lint(&[source]);
    if loaded {
        assert!(
            findings.iter().all(|f| f.rule() != Rule::SyntaxCheck
                || f.message().contains("must be a positive number")),
            "{findings:?}"
        );
    }
});
