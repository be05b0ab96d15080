//! Property tests: any bytes scan without a panic, findings point inside the text, and scanning
//! in one piece or through a reader that returns a few bytes at a time finds the same.

use std::io::Read;

use proptest::prelude::*;
use slipway_secrets::{FileOutcome, SecretScanner};

/// A reader that returns at most `step` bytes per call, as a slow pipe does.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        let length = self.step.min(into.len()).min(self.bytes.len());
        into[..length].copy_from_slice(&self.bytes[..length]);
        self.bytes = &self.bytes[length..];
        Ok(length)
    }
}

fn text_with_secrets() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"api_key = \"".to_vec()),
        Just(["gh", "p_"].concat().into_bytes()),
        Just(b"AKIA".to_vec()),
        Just(b"-----BEGIN RSA PRIVATE KEY-----\n".to_vec()),
        Just(b"-----END RSA PRIVATE KEY-----".to_vec()),
        "[A-Za-z0-9+/=]{1,40}".prop_map(String::into_bytes),
        proptest::collection::vec(1u8..=255, 1..8),
    ];
    proptest::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn findings_point_inside_the_text_and_do_not_depend_on_read_sizes(text in text_with_secrets(), step in 1usize..97) {
        let scanner = SecretScanner::builtin();
        let whole = scanner.scan_bytes("f", &text);
        let trickled = scanner.scan_reader("f", Trickle { bytes: &text, step }).unwrap();
        prop_assert_eq!(&whole, &trickled);
        if let FileOutcome::Scanned { findings, .. } = whole {
            let lines = text.split(|b| *b == b'\n').count();
            for finding in findings {
                prop_assert!(finding.line >= 1 && finding.line <= finding.end_line && finding.end_line <= lines);
                prop_assert!(finding.column >= 1);
            }
        }
    }
}
