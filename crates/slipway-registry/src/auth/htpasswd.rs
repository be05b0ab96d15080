//! htpasswd files of bcrypt hashes, as `htpasswd -B` writes them.
//!
//! One `user:hash` per line; blank lines and lines starting with `#` are ignored. Only bcrypt
//! hashes (`$2a$`, `$2b$`, `$2y$`) are accepted: the other formats htpasswd can write (MD5-crypt,
//! SHA-1, plain text) are too weak to put in front of a registry, and a file holding one is
//! refused with its line number rather than half-used.

use std::collections::BTreeMap;
use std::fmt;

/// Users and their bcrypt hashes.
#[derive(Clone, Default)]
pub struct Htpasswd {
    users: BTreeMap<String, String>,
}

impl fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Htpasswd")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why an htpasswd file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct HtpasswdError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl Htpasswd {
    /// Parses the text of an htpasswd file.
    pub fn parse(text: &str) -> Result<Htpasswd, HtpasswdError> {
        let mut users = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let error = |message: &str| HtpasswdError {
                line: line_number,
                message: message.to_owned(),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| error("expected USER:HASH"))?;
            if user.is_empty() {
                return Err(error("the user name is empty"));
            }
            if !["$2a$", "$2b$", "$2y$"]
                .iter()
                .any(|prefix| hash.starts_with(prefix))
            {
                return Err(error(
                    "only bcrypt hashes are supported; write the file with `htpasswd -B`",
                ));
            }
            if users.insert(user.to_owned(), hash.to_owned()).is_some() {
                return Err(error("the user appears twice"));
            }
        }
        Ok(Htpasswd { users })
    }

    /// Whether `password` is `user`'s. Slow by design (bcrypt): call it off the async threads.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|hash| bcrypt::verify(password, hash).unwrap_or(false))
    }

    /// The user names.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn verifies_bcrypt_passwords() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let file = Htpasswd::parse(&format!("# users\n\nci:{hash}\n")).unwrap();
        assert!(file.verify("ci", "s3cret"));
        assert!(!file.verify("ci", "wrong"));
        assert!(!file.verify("nobody", "s3cret"));
        assert_eq!(file.users().collect::<Vec<_>>(), ["ci"]);
    }

    #[test]
    fn refuses_weak_hashes_and_broken_lines_by_line_number() {
        let hash = bcrypt::hash("x", 4).unwrap();
        for (text, line, message) in [
            ("ci", 1, "expected USER:HASH"),
            (":$2y$05$abc", 1, "the user name is empty"),
            (
                "\nci:$apr1$abc$def",
                2,
                "only bcrypt hashes are supported; write the file with `htpasswd -B`",
            ),
            (
                "ci:{SHA}abc",
                1,
                "only bcrypt hashes are supported; write the file with `htpasswd -B`",
            ),
            (
                &format!("ci:{hash}\nci:{hash}"),
                2,
                "the user appears twice",
            ),
        ] {
            let error = Htpasswd::parse(text).unwrap_err();
            assert_eq!(
                (error.line, error.message.as_str()),
                (line, message),
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_errors_name_a_line(text in "[a-z:$0-9#\n ./]{0,80}") {
            if let Err(error) = Htpasswd::parse(&text) {
                prop_assert!(error.line >= 1 && error.line <= text.lines().count());
            }
        }
    }
}
