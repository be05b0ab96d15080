//! Building requests as the hosts send them.

use std::io::Write;
use std::process::{Command, Stdio};

use http::{HeaderMap, HeaderName, HeaderValue};

/// Headers from name/value pairs.
pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        map.insert(name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

/// Hex HMAC-SHA256 computed by `openssl dgst`, independently of the crate under test.
pub(crate) fn openssl_hmac(secret: &str, body: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl must be installed to check signatures");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write to openssl");
    let output = child.wait_with_output().expect("openssl");
    assert!(output.status.success(), "openssl failed: {output:?}");
    let text = String::from_utf8(output.stdout).expect("openssl prints text");
    text.split_whitespace().next().expect("a digest").to_owned()
}
