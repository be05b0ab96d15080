//! Fuzzes the OSV record reader: any bytes are read as a record or rejected with a JSON path,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match slipway_vuln::validate_osv_record(bytes) {
        Ok(advisory) => assert!(!advisory.id.trim().is_empty()),
        Err(error) => assert!(!error.path().is_empty()),
    }
});
