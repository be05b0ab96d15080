//! The build variables in a piece of Dockerfile text: listing them ([`referenced_variables`])
//! and expanding them ([`expand_variables`]) as Docker's word rules say.

/// The names of the variables `text` refers to (`$NAME`, `${NAME}`, `${NAME:-default}`, ...), in
/// order of first use, each once.
///
/// Follows Docker's word rules: the escape character makes the next `$` literal and nothing is
/// expanded inside single quotes. References nested in a default (`${A:-$B}`) are listed too.
///
/// ```
/// let names = slipway_dockerfile::referenced_variables(r#"${REGISTRY:-$HOST}/app:$TAG '$NOT' \$NOR"#, '\\');
/// assert_eq!(names, ["REGISTRY", "HOST", "TAG"]);
/// ```
pub fn referenced_variables(text: &str, escape: char) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut in_double_quotes = false;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            _ if c == escape => {
                chars.next();
            }
            '\'' if !in_double_quotes => {
                chars.by_ref().find(|&(_, c)| c == '\'');
            }
            '"' => in_double_quotes = !in_double_quotes,
            '$' => {
                let start = match chars.peek() {
                    Some(&(brace, '{')) => brace + 1,
                    _ => index + 1,
                };
                let name: String = text[start..]
                    .chars()
                    .enumerate()
                    .take_while(|&(i, c)| {
                        c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                    })
                    .map(|(_, c)| c)
                    .collect();
                if !name.is_empty() && !names.contains(&name) {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    names
}

/// `text` with its variables replaced by what `lookup` gives for them (an unset variable is empty)
/// and its quotes removed, as Docker expands the words of `FROM` and `ARG`.
///
/// Knows `$NAME`, `${NAME}`, and the defaults and alternatives `${NAME:-word}`, `${NAME-word}`,
/// `${NAME:+word}`, `${NAME+word}` (`word` expanded in turn). Text in single quotes is taken as
/// it is, the escape character makes the next character literal. Anything else (BuildKit's
/// pattern removals, `${NAME:?message}`, an unclosed quote or brace) gives `None`: callers that
/// need to know the result for certain must then not rely on it.
///
/// ```
/// let lookup = |name: &str| (name == "TAG").then(|| "22".to_owned());
/// let expand = |text| slipway_dockerfile::expand_variables(text, '\\', &lookup);
/// assert_eq!(expand("node:${TAG}").as_deref(), Some("node:22"));
/// assert_eq!(expand("${REGISTRY:-docker.io}/node:$TAG").as_deref(), Some("docker.io/node:22"));
/// assert_eq!(expand("'$TAG'").as_deref(), Some("$TAG"));
/// assert_eq!(expand("${TAG#2}"), None);
/// ```
pub fn expand_variables(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut expanded = String::with_capacity(text.len());
    let mut in_double_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            _ if c == escape => expanded.push(chars.next()?),
            '\'' if !in_double_quotes => loop {
                match chars.next()? {
                    '\'' => break,
                    literal => expanded.push(literal),
                }
            },
            '"' => in_double_quotes = !in_double_quotes,
            '$' => expanded.push_str(&expand_reference(&mut chars, escape, lookup)?),
            _ => expanded.push(c),
        }
    }
    (!in_double_quotes).then_some(expanded)
}

/// Expands the reference after a `$`, leaving `chars` after it. A `$` that starts no name stays.
fn expand_reference(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let braced = chars.next_if_eq(&'{').is_some();
    let mut name = String::new();
    while let Some(c) = chars.next_if(|&c| {
        c == '_' || c.is_ascii_alphabetic() || (!name.is_empty() && c.is_ascii_digit())
    }) {
        name.push(c);
    }
    if !braced {
        return Some(if name.is_empty() {
            "$".to_owned()
        } else {
            lookup(&name).unwrap_or_default()
        });
    }
    if name.is_empty() {
        return None;
    }
    let value = lookup(&name);
    let operator: String = match chars.next()? {
        '}' => return Some(value.unwrap_or_default()),
        ':' => format!(":{}", chars.next()?),
        other => other.to_string(),
    };
    let word = expand_variables(&braced_word(chars)?, escape, lookup)?;
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|value| !value.is_empty());
    match operator.as_str() {
        ":-" => Some(if non_empty {
            value.unwrap_or_default()
        } else {
            word
        }),
        "-" => Some(if set { value.unwrap_or_default() } else { word }),
        ":+" => Some(if non_empty { word } else { String::new() }),
        "+" => Some(if set { word } else { String::new() }),
        _ => None,
    }
}

/// The word of `${NAME:-word}` up to its closing brace (nested braces included), consumed.
fn braced_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut word = String::new();
    let mut depth = 0usize;
    loop {
        match chars.next()? {
            '}' if depth == 0 => return Some(word),
            c => {
                depth = match c {
                    '{' => depth + 1,
                    '}' => depth - 1,
                    _ => depth,
                };
                word.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> Option<String> {
        let lookup = |name: &str| match name {
            "SET" => Some("value".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        expand_variables(text, '\\', &lookup)
    }

    #[test]
    fn expands_plain_braced_defaults_and_alternatives() {
        assert_eq!(expand("a/$SET:${SET}").as_deref(), Some("a/value:value"));
        assert_eq!(expand("$UNSET-x").as_deref(), Some("-x"));
        assert_eq!(
            expand("${UNSET:-d}${EMPTY:-e}${SET:-f}").as_deref(),
            Some("devalue")
        );
        assert_eq!(expand("${UNSET-d}|${EMPTY-e}").as_deref(), Some("d|"));
        assert_eq!(
            expand("${UNSET:+a}|${EMPTY:+b}|${SET:+c}").as_deref(),
            Some("||c")
        );
        assert_eq!(expand("${UNSET+a}|${EMPTY+b}").as_deref(), Some("|b"));
        assert_eq!(expand("${UNSET:-${SET}-x}").as_deref(), Some("value-x"));
    }

    #[test]
    fn quotes_are_removed_and_single_quotes_keep_their_text() {
        assert_eq!(
            expand(r#""$SET" '$SET' \$SET $"#).as_deref(),
            Some("value $SET $SET $")
        );
    }

    #[test]
    fn what_it_cannot_expand_for_certain_is_none() {
        for text in [
            "${SET#v}",
            "${SET:?no}",
            "${SET",
            "\"$SET",
            "'open",
            "${}",
            "${SET:",
        ] {
            assert_eq!(expand(text), None, "{text}");
        }
    }

    #[test]
    fn finds_plain_braced_and_nested_references() {
        assert_eq!(
            referenced_variables("$A ${B} ${C:-x} ${D:+$E} $A", '\\'),
            ["A", "B", "C", "D", "E"]
        );
    }

    #[test]
    fn skips_escaped_single_quoted_and_non_names() {
        assert_eq!(
            referenced_variables(r#"\$A '$B' "$C" $1 $ ${}"#, '\\'),
            ["C"]
        );
        assert_eq!(referenced_variables("`$A $B", '`'), ["B"]);
    }
}
