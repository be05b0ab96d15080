//! [`Utf16`]: text files saved as UTF-16 (Windows Notepad's "Unicode", PowerShell 5's `>`
//! redirection) are recognized by their byte order mark and turned into UTF-8 piece by piece,
//! so the rules, written for ASCII, find secrets in them too. Without the conversion every
//! other byte of such a file is NUL, and it would be skipped as binary.

/// A streaming UTF-16 to UTF-8 converter for one file.
pub(crate) struct Utf16 {
    big_endian: bool,
    /// Bytes not converted yet: an odd byte, or the first half of a surrogate pair.
    pending: Vec<u8>,
}

impl Utf16 {
    /// The converter for a file starting with `head`, when `head` starts with a UTF-16 byte
    /// order mark; the mark itself is dropped.
    pub(crate) fn detect(head: &[u8]) -> Option<(Utf16, &[u8])> {
        let big_endian = match head {
            [0xFF, 0xFE, ..] => false,
            [0xFE, 0xFF, ..] => true,
            _ => return None,
        };
        let converter = Utf16 {
            big_endian,
            pending: Vec::new(),
        };
        Some((converter, &head[2..]))
    }

    /// Converts `bytes`, keeping what cannot be converted yet for the next call.
    pub(crate) fn convert(&mut self, bytes: &[u8], into: &mut Vec<u8>) {
        self.pending.extend_from_slice(bytes);
        let mut units = self.units();
        let mut kept = self.pending.len() % 2;
        // A high surrogate at the end waits for its low half.
        if units
            .last()
            .is_some_and(|unit| (0xD800..0xDC00).contains(unit))
        {
            units.pop();
            kept += 2;
        }
        push_utf8(&units, into);
        self.pending.drain(..self.pending.len() - kept);
    }

    /// Converts what is left at the end of the file.
    pub(crate) fn finish(self, into: &mut Vec<u8>) {
        push_utf8(&self.units(), into);
    }

    /// The whole code units in `pending`.
    fn units(&self) -> Vec<u16> {
        self.pending
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if self.big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect()
    }
}

fn push_utf8(units: &[u16], into: &mut Vec<u8>) {
    for decoded in char::decode_utf16(units.iter().copied()) {
        let character = decoded.unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buffer = [0; 4];
        into.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_in_pieces(bytes: &[u8], piece: usize) -> String {
        let (mut converter, rest) = Utf16::detect(bytes).expect("a byte order mark");
        let mut text = Vec::new();
        for chunk in rest.chunks(piece) {
            converter.convert(chunk, &mut text);
        }
        converter.finish(&mut text);
        String::from_utf8(text).expect("UTF-8")
    }

    #[test]
    fn both_byte_orders_convert_whatever_the_piece_size() {
        let text = "key: ab\u{e9}\u{1F511}cd\n";
        let mut little = vec![0xFF, 0xFE];
        let mut big = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            little.extend_from_slice(&unit.to_le_bytes());
            big.extend_from_slice(&unit.to_be_bytes());
        }
        for piece in [1, 2, 3, 5, 64] {
            assert_eq!(convert_in_pieces(&little, piece), text);
            assert_eq!(convert_in_pieces(&big, piece), text);
        }
        assert!(Utf16::detect(b"plain").is_none());
    }
}
