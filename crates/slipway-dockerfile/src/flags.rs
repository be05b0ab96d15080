//! Checking an instruction's `--flags` against the ones it accepts, as BuildKit's `BFlags` does.

use crate::words::FlagWord;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=value`, at most once.
    String,
    /// `--mount=value`, any number of times.
    Strings,
}

/// The flags an instruction accepts.
pub(crate) type FlagSpec = &'static [(&'static str, FlagKind)];

/// A flag that passed the checks, with the offset of its word for later error messages.
#[derive(Debug, Clone)]
pub(crate) struct FlagValue {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) offset: usize,
}

/// Why a flag word was rejected, and the offset of the word.
#[derive(Debug)]
pub(crate) struct FlagError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// The checked flags of one instruction.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: Vec<FlagValue>,
}

impl Flags {
    /// Checks `words` against `spec`; `keyword` names the instruction in messages.
    pub(crate) fn check(
        words: &[FlagWord],
        spec: FlagSpec,
        keyword: &str,
    ) -> Result<Flags, FlagError> {
        let mut flags = Flags::default();
        for word in words {
            let (name, value) = match word.word.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (word.word.as_str(), None),
            };
            let error = |message: String| FlagError {
                offset: word.offset,
                message,
            };
            let Some(&(name, kind)) = spec.iter().find(|(known, _)| *known == name) else {
                return Err(error(unknown_flag_message(name, spec, keyword)));
            };
            if kind != FlagKind::Strings && flags.get(name).is_some() {
                return Err(error(format!("duplicate flag --{name}")));
            }
            let value = match (kind, value) {
                (FlagKind::Bool, None) => "true".to_owned(),
                (FlagKind::Bool, Some("")) | (_, None) => {
                    return Err(error(format!("missing a value on flag --{name}")));
                }
                (FlagKind::Bool, Some(value)) => match value.to_ascii_lowercase().as_str() {
                    "true" => "true".to_owned(),
                    "false" => "false".to_owned(),
                    _ => {
                        return Err(error(format!(
                            "expecting a boolean value for flag --{name}, not {value:?}"
                        )));
                    }
                },
                (_, Some(value)) => value.to_owned(),
            };
            flags.values.push(FlagValue {
                name,
                value,
                offset: word.offset,
            });
        }
        Ok(flags)
    }

    /// The value of a single-valued flag, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&FlagValue> {
        self.values.iter().find(|flag| flag.name == name)
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(|flag| flag.value.clone())
    }

    /// A boolean flag: `None` when absent.
    pub(crate) fn optional_bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|flag| flag.value == "true")
    }

    pub(crate) fn bool(&self, name: &str) -> bool {
        self.optional_bool(name).unwrap_or(false)
    }

    /// Every value of a repeatable flag, in order.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|flag| flag.name == name)
            .map(|flag| flag.value.clone())
            .collect()
    }
}

fn unknown_flag_message(name: &str, spec: FlagSpec, keyword: &str) -> String {
    if spec.is_empty() {
        return format!("unknown flag --{name}: {keyword} takes no flags");
    }
    let allowed: Vec<String> = spec.iter().map(|(known, _)| format!("--{known}")).collect();
    format!(
        "unknown flag --{name} for {keyword} (expected one of {})",
        allowed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: FlagSpec = &[
        ("link", FlagKind::Bool),
        ("from", FlagKind::String),
        ("mount", FlagKind::Strings),
    ];

    fn check(words: &[&str]) -> Result<Flags, String> {
        let words: Vec<FlagWord> = words
            .iter()
            .map(|word| FlagWord {
                word: (*word).to_owned(),
                offset: 0,
            })
            .collect();
        Flags::check(&words, SPEC, "X").map_err(|error| error.message)
    }

    #[test]
    fn accepts_each_kind() {
        let flags = check(&["link=FALSE", "from=a", "mount=x", "mount=y"]).unwrap();
        assert_eq!(flags.optional_bool("link"), Some(false));
        assert_eq!(flags.string("from").as_deref(), Some("a"));
        assert_eq!(flags.strings("mount"), vec!["x", "y"]);
        assert!(check(&["link"]).unwrap().bool("link"));
    }

    #[test]
    fn rejects_what_buildkit_rejects() {
        assert_eq!(
            check(&["nope"]).err().unwrap(),
            "unknown flag --nope for X (expected one of --link, --from, --mount)"
        );
        assert_eq!(
            check(&["from=a", "from=b"]).err().unwrap(),
            "duplicate flag --from"
        );
        assert_eq!(
            check(&["from"]).err().unwrap(),
            "missing a value on flag --from"
        );
        assert_eq!(
            check(&["link="]).err().unwrap(),
            "missing a value on flag --link"
        );
        assert_eq!(
            check(&["link=yes"]).err().unwrap(),
            "expecting a boolean value for flag --link, not \"yes\""
        );
    }
}
