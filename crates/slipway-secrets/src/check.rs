//! [`Check`]: what a built-in rule verifies about a match beyond its regex, from the format its
//! provider documents.
//!
//! A check can prove a match (a checksum that holds: the entropy threshold no longer matters),
//! leave it to the entropy threshold, or reject it (a JWT whose header is not JSON, a Docker
//! `auth` value that is not `user:password`, an OpenAI key of the wrong shape).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};

/// A verification a built-in rule runs on its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// GitHub's and npm's token format: a prefix ending in `_`, 30 random base62 characters,
    /// then their CRC32 in 6 base62 digits.
    Crc32Base62,
    /// A JWT: the first part is base64url JSON naming its `alg`.
    JwtHeader,
    /// A Docker registry credential: base64 of `user:password`, or of a config with `auths`.
    DockerAuth,
    /// An OpenAI key: `T3BlbkFJ` (base64 of "OpenAI") between two parts of the documented
    /// lengths and alphabet.
    OpenAiShape,
}

/// What a check says about a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The format's own checksum holds: a secret whatever its entropy.
    Proven,
    /// Nothing against it; the rule's entropy threshold decides.
    Plausible,
    /// Not of the format.
    Rejected,
}

/// The marker inside every OpenAI key: base64 of "OpenAI".
pub(crate) const OPENAI_MARKER: &str = "T3BlbkFJ";

/// Decodes with or without padding, as both are found in files.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

impl Check {
    pub(crate) fn judge(self, secret: &[u8]) -> Verdict {
        match self {
            Check::Crc32Base62 => checksum_verdict(secret),
            Check::JwtHeader => accept_if(jwt_header_names_alg(secret)),
            Check::DockerAuth => accept_if(is_docker_credential(secret)),
            Check::OpenAiShape => accept_if(is_openai_shaped(secret)),
        }
    }
}

fn accept_if(holds: bool) -> Verdict {
    if holds {
        Verdict::Plausible
    } else {
        Verdict::Rejected
    }
}

/// GitHub's token format ("Behind GitHub's new authentication token formats", 2021), which npm
/// adopted the same year: `prefix_` + 30 base62 characters + the CRC32 of those 30 in 6
/// base62 digits. Tokens longer than that (GitHub reserves the right to lengthen them) or
/// whose checksum fails are left to the entropy threshold rather than rejected: made-up
/// tokens in fixtures and docs carry no checksum, and a leaked token of a new length is
/// still a leaked token.
fn checksum_verdict(token: &[u8]) -> Verdict {
    let Some(underscore) = token.iter().rposition(|&byte| byte == b'_') else {
        return Verdict::Plausible;
    };
    let body = &token[underscore + 1..];
    if body.len() != 36 {
        return Verdict::Plausible;
    }
    let (random, checksum) = body.split_at(30);
    if base62_six(crc32(random)).as_bytes() == checksum {
        Verdict::Proven
    } else {
        Verdict::Plausible
    }
}

/// CRC-32 (IEEE 802.3, the one zlib and GitHub use), bit by bit: tokens are 30 bytes.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `value` in base62 (`0-9A-Za-z`), left-padded with `0` to 6 digits.
pub(crate) fn base62_six(mut value: u32) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = DIGITS[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// RFC 7519: a JWT's first part is the base64url JOSE header, a JSON object that names `alg`.
fn jwt_header_names_alg(token: &[u8]) -> bool {
    let header = token.split(|&byte| byte == b'.').next().unwrap_or_default();
    URL_SAFE_LENIENT
        .decode(header)
        .or_else(|_| URL_SAFE.decode(header))
        .is_ok_and(|json| {
            json.trim_ascii_start().starts_with(b"{")
                && memchr::memmem::find(&json, b"\"alg\"").is_some()
        })
}

/// Docker's config.json keeps `auths.<registry>.auth` as base64 of `user:password`; a
/// Kubernetes `.dockerconfigjson` holds the whole config, base64 again.
fn is_docker_credential(value: &[u8]) -> bool {
    let Ok(decoded) = STANDARD_LENIENT
        .decode(value)
        .or_else(|_| STANDARD.decode(value))
    else {
        return false;
    };
    if decoded.trim_ascii_start().starts_with(b"{") {
        return memchr::memmem::find(&decoded, b"\"auth").is_some()
            || memchr::memmem::find(&decoded, b"\"password\"").is_some();
    }
    let printable = decoded
        .iter()
        .all(|byte| byte.is_ascii_graphic() || *byte == b' ');
    printable
        && decoded
            .iter()
            .position(|&byte| byte == b':')
            .is_some_and(|colon| colon > 0 && colon + 1 < decoded.len())
}

/// OpenAI's keys: the legacy user key is `sk-`, 20 alphanumerics, the marker, 20 more; the
/// typed keys (`sk-proj-`, `sk-svcacct-`, `sk-admin-`) put at least 20 URL-safe characters on
/// each side of the marker. Anything else that merely starts with `sk-` is some other string.
fn is_openai_shaped(key: &[u8]) -> bool {
    let Some(rest) = key.strip_prefix(b"sk-") else {
        return false;
    };
    let typed = [&b"proj-"[..], b"svcacct-", b"admin-"]
        .iter()
        .find_map(|kind| rest.strip_prefix(*kind));
    let body = typed.unwrap_or(rest);
    let Some(at) = memchr::memmem::find(body, OPENAI_MARKER.as_bytes()) else {
        return false;
    };
    let (before, after) = (&body[..at], &body[at + OPENAI_MARKER.len()..]);
    if typed.is_some() {
        let url_safe = |part: &[u8]| {
            part.len() >= 20
                && part
                    .iter()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-'))
        };
        url_safe(before) && url_safe(after)
    } else {
        let alphanumeric =
            |part: &[u8]| part.len() == 20 && part.iter().all(u8::is_ascii_alphanumeric);
        alphanumeric(before) && alphanumeric(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The check value every CRC-32/ISO-HDLC implementation gives for "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(base62_six(0), "000000");
        assert_eq!(base62_six(61), "00000z");
        assert_eq!(base62_six(62), "000010");
        assert_eq!(base62_six(u32::MAX), "4gfFC3");
    }

    #[test]
    fn a_token_with_its_checksum_is_proven_and_one_without_is_left_to_entropy() {
        let random = "A".repeat(15) + &"b".repeat(15);
        let good = format!("pre_{random}{}", base62_six(crc32(random.as_bytes())));
        assert_eq!(Check::Crc32Base62.judge(good.as_bytes()), Verdict::Proven);
        let bad = format!("pre_{random}000000");
        assert_eq!(Check::Crc32Base62.judge(bad.as_bytes()), Verdict::Plausible);
    }

    #[test]
    fn a_plain_looking_github_token_is_found_when_its_checksum_holds() {
        let scanner = crate::SecretScanner::builtin();
        let random = format!("{}b", "a".repeat(29));
        let checksum = base62_six(crc32(random.as_bytes()));
        let found = |text: String| match scanner.scan_bytes("a", text.as_bytes()) {
            crate::FileOutcome::Scanned { findings, .. } => findings.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(found(["gh", "p_", &random, &checksum].concat()), 1);
        // Without the checksum, so little entropy is no token.
        assert_eq!(found(["gh", "p_", &random, "aaaaab"].concat()), 0);
    }
}
