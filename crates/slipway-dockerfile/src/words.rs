//! Splitting an instruction's text into words, the way BuildKit's parser does.
//!
//! BuildKit has three splitters and each instruction uses a fixed one: plain whitespace splitting
//! (`FROM`, `EXPOSE`, `COPY`), quote-aware splitting that keeps quotes and escapes in the words
//! (`ENV`, `LABEL`, `ARG`, heredoc markers), and the flag reader that strips quotes from
//! `--name=value` words at the start of the arguments.

/// A word and the byte offset it starts at in the logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub(crate) text: &'a str,
    pub(crate) offset: usize,
}

/// The whitespace Go's `reWhitespace` (`[\t\v\f\r ]+`) splits on.
pub(crate) fn is_separator(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits `text` (found at `base` in the logical line) on runs of [`is_separator`].
pub(crate) fn whitespace_words(text: &str, base: usize) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_separator(c), start) {
            (true, Some(s)) => {
                words.push(Word {
                    text: &text[s..i],
                    offset: base + s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: &text[s..],
            offset: base + s,
        });
    }
    words
}

/// Splits `text` on Unicode whitespace outside quotes; an escape character protects the next
/// character (outside single quotes). Quotes and escapes stay in the words.
pub(crate) fn quoted_words(text: &str, base: usize, escape: char) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == escape && q != '\'' {
                chars.next();
            }
            continue;
        }
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(Word {
                    text: &text[s..i],
                    offset: base + s,
                });
            }
            continue;
        }
        start.get_or_insert(i);
        if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == escape {
            chars.next();
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: &text[s..],
            offset: base + s,
        });
    }
    words
}

/// A `--name[=value]` word from the start of an instruction's arguments, quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlagWord {
    /// The word without the leading `--`.
    pub(crate) word: String,
    pub(crate) offset: usize,
}

/// Reads the flags at the start of `text[start..]`; returns them and where the arguments begin.
///
/// Mirrors BuildKit's `extractBuilderFlags`: a word starting with `--` is a flag, quotes inside it
/// are removed, `\` escapes the next character, and a lone `--` ends the flags.
pub(crate) fn extract_flags(text: &str, start: usize) -> (Vec<FlagWord>, usize) {
    let mut flags = Vec::new();
    let mut position = start;
    loop {
        let rest = &text[position..];
        let word_start = position + (rest.len() - rest.trim_start().len());
        if !text[word_start..].starts_with("--") {
            return (flags, word_start);
        }
        let (word, end) = read_flag_word(text, word_start);
        position = end;
        if word == "--" {
            return (flags, end);
        }
        if let Some(word) = word.strip_prefix("--") {
            flags.push(FlagWord {
                word: word.to_owned(),
                offset: word_start,
            });
        }
    }
}

/// Reads one flag word starting at `start`, removing quotes and escapes; returns it and its end.
fn read_flag_word(text: &str, start: usize) -> (String, usize) {
    let mut word = String::new();
    let mut quote = None;
    let mut chars = text[start..].char_indices().map(|(i, c)| (start + i, c));
    while let Some((i, c)) = chars.next() {
        match quote {
            None if c.is_whitespace() => return (word, i),
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ if c == '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    word.push(escaped);
                }
            }
            _ => word.push(c),
        }
    }
    (word, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(words: Vec<Word<'_>>) -> Vec<&str> {
        words.into_iter().map(|word| word.text).collect()
    }

    #[test]
    fn quoted_words_keep_quotes_and_escapes() {
        let words = quoted_words(r#"a="b c" d\ e 'f\' g"#, 0, '\\');
        assert_eq!(texts(words), vec![r#"a="b c""#, r"d\ e", r"'f\'", "g"]);
    }

    #[test]
    fn whitespace_words_ignore_quotes_and_record_offsets() {
        let words = whitespace_words("\"a b\"\tc", 10);
        assert_eq!(
            words[1],
            Word {
                text: "b\"",
                offset: 13
            }
        );
        assert_eq!(words.len(), 3);
    }

    #[test]
    fn flags_stop_at_the_first_other_word_or_a_lone_double_dash() {
        let text = r#"COPY --from="a b" --link --chmod=7\55 src dst"#;
        let (flags, args) = extract_flags(text, 4);
        let words: Vec<_> = flags.iter().map(|flag| flag.word.as_str()).collect();
        assert_eq!(words, vec!["from=a b", "link", "chmod=755"]);
        assert_eq!(&text[args..], "src dst");
        let (flags, args) = extract_flags("RUN --network=none -- --x", 3);
        assert_eq!(flags.len(), 1);
        assert_eq!(&"RUN --network=none -- --x"[args..], " --x");
    }
}
