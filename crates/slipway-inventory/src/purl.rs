//! Package URLs (purl, ECMA-427): `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`.
//!
//! Each component is percent-encoded except for the unreserved characters and, as the
//! specification allows, `:` and `+` in versions; `/` separates namespace segments only.

use std::fmt::Write;

/// Builds a purl from its parts; `namespace` segments are encoded one by one.
pub(crate) fn purl(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut purl = format!("pkg:{kind}/");
    if let Some(namespace) = namespace.filter(|namespace| !namespace.is_empty()) {
        for segment in namespace.split('/').filter(|segment| !segment.is_empty()) {
            purl.push_str(&encode(segment, b""));
            purl.push('/');
        }
    }
    purl.push_str(&encode(name, b""));
    purl.push('@');
    purl.push_str(&encode(version, b":+"));
    let mut qualifiers: Vec<&(&str, &str)> = qualifiers
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
    // The specification orders qualifiers by key.
    qualifiers.sort();
    for (index, (key, value)) in qualifiers.into_iter().enumerate() {
        purl.push(if index == 0 { '?' } else { '&' });
        purl.push_str(key);
        purl.push('=');
        purl.push_str(&encode(value, b":+"));
    }
    purl
}

fn encode(text: &str, also_allowed: &[u8]) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || also_allowed.contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_encoded_as_the_specification_says() {
        assert_eq!(
            purl("npm", Some("@babel"), "core", "7.0.0", &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libssl3",
                "3.0.11-1~deb12u2",
                &[("distro", "debian-12"), ("arch", "amd64")]
            ),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl(
                "golang",
                Some("github.com/a/b"),
                "c",
                "v1.0.0+incompatible",
                &[]
            ),
            "pkg:golang/github.com/a/b/c@v1.0.0+incompatible"
        );
        assert_eq!(
            purl("deb", Some("debian"), "x", "1:2.0", &[]),
            "pkg:deb/debian/x@1:2.0"
        );
        assert_eq!(
            purl("pypi", None, "a b", "1", &[("q", "")]),
            "pkg:pypi/a%20b@1"
        );
    }
}
