//! Fuzzes the proxy's routing-table parser: any text is a valid table (whose JSON reads back as
//! the same table) or an error; host patterns and path prefixes never panic and round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_proxy::{HostPattern, PathPrefix, RoutingTable};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(table) = RoutingTable::from_json(text) {
        let again = RoutingTable::from_json(&table.to_json_pretty());
        assert_eq!(again.as_ref(), Ok(&table), "a valid table must read back from its own JSON");
    }
    for line in text.lines().take(16) {
        if let Ok(pattern) = HostPattern::new(line) {
            assert_eq!(HostPattern::new(&pattern.to_string()).as_ref(), Ok(&pattern));
            let _ = pattern.matches(line);
        }
        if let Ok(prefix) = PathPrefix::new(line) {
            assert!(prefix.matches(line), "a prefix matches itself");
        }
    }
});
