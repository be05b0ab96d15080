//! Listing the build variables a piece of Dockerfile text refers to, without expanding them.

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

#[cfg(test)]
mod tests {
    use super::*;

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
