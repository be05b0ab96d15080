//! PEM (RFC 7468) text: one labelled block of base64, the form cosign's key files take.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Line width of the base64 body, as RFC 7468 and Go's `encoding/pem` write it.
const LINE: usize = 64;

/// `der` as a PEM block labelled `label`.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(LINE) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// The first PEM block of `text`: its label and decoded body. Lines outside the block (comments
/// some tools add) are ignored, as Go's decoder ignores them.
pub(crate) fn decode(text: &str) -> Result<(String, Vec<u8>), String> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|line| line.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or("no `-----BEGIN ...-----` line")?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // Headers (`Proc-Type: ...`) never occur in the key files read here.
        body.push_str(line);
    }
    if !ended {
        return Err(format!("no `{end}` line"));
    }
    let der = STANDARD
        .decode(body)
        .map_err(|error| format!("the body is not base64: {error}"))?;
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_reads_back_as_written() {
        let der: Vec<u8> = (0..=200).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.lines().all(|line| line.len() <= LINE));
        assert_eq!(decode(&text), Ok(("PUBLIC KEY".to_owned(), der)));
    }

    #[test]
    fn text_around_the_block_is_ignored_and_a_missing_end_is_refused() {
        let text = format!("comment\n{}trailer\n", encode("X", b"abc"));
        assert_eq!(decode(&text), Ok(("X".to_owned(), b"abc".to_vec())));
        assert!(decode("-----BEGIN X-----\nYWJj\n").is_err());
        assert!(decode("nothing here").is_err());
    }
}
