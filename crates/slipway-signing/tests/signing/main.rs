//! Slipway's keys, envelopes and bundles checked by independent implementations: Python's
//! `cryptography`, `pynacl` and `securesystemslib`, and the npm `@sigstore/verify`, installed by
//! `scripts/install-signing-test-tools` (the tests fail, never skip, when they are missing).

mod interop;
mod tools;
