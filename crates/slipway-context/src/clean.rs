//! Go's `filepath.Clean` for slash-separated paths, which Docker applies to every pattern.

/// Returns the shortest path equivalent to `path` by purely lexical processing: repeated slashes
/// become one, `.` elements go, `..` removes the element before it (and is dropped at the root),
/// and there is no trailing slash. An empty result is `.`.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn matches_go_filepath_clean() {
        let cases = [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a/", "a"),
            ("a//b", "a/b"),
            ("a/../b", "b"),
            ("a/b/../../..", ".."),
            ("../../a", "../../a"),
            ("/", "/"),
            ("/../a", "/a"),
            ("//a/./b/", "/a/b"),
            ("!a/../b", "b"),
            ("**/", "**"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "clean({input:?})");
        }
    }
}
