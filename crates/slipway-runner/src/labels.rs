//! `runs-on` labels to executors: `-P LABEL=host|IMAGE` first, then `[runners.labels]` in
//! slipway.toml, then the defaults (`ubuntu-*`, `linux`, `self-hosted` and the architecture
//! labels of self-hosted runners run on the host).
//!
//! A job names one or more labels; GitHub picks a runner that has them all. Here the first
//! label with a mapping decides, and labels without one must be default labels: a job asking
//! for `[self-hosted, gpu]` fails to plan until `gpu` is mapped.

use std::collections::BTreeMap;

use slipway_config::RunnerTarget;

/// Labels that run on the host without a mapping, besides `ubuntu-*`.
const HOST_LABELS: &[&str] = &["linux", "self-hosted", "x64", "arm64"];

/// The mappings of one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels {
    /// `-P`, in order; later ones win.
    platforms: Vec<(String, RunnerTarget)>,
    /// `[runners.labels]`.
    configured: BTreeMap<String, RunnerTarget>,
}

impl Labels {
    pub(crate) fn new(
        platforms: Vec<(String, RunnerTarget)>,
        configured: BTreeMap<String, RunnerTarget>,
    ) -> Labels {
        Labels {
            platforms,
            configured,
        }
    }

    /// Where a job with these labels runs, or why nothing can run it.
    pub(crate) fn resolve(&self, labels: &[String]) -> Result<RunnerTarget, String> {
        if labels.is_empty() {
            return Err("'runs-on' names no label".to_owned());
        }
        for label in labels {
            if let Some((_, target)) = self
                .platforms
                .iter()
                .rev()
                .find(|(name, _)| name.eq_ignore_ascii_case(label))
            {
                return Ok(target.clone());
            }
            if let Some((_, target)) = self
                .configured
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(label))
            {
                return Ok(target.clone());
            }
        }
        let unknown: Vec<&str> = labels
            .iter()
            .map(String::as_str)
            .filter(|label| !is_host_label(label))
            .collect();
        if unknown.is_empty() {
            return Ok(RunnerTarget::Host);
        }
        Err(format!(
            "no runner for label{} {}: map {} with -P LABEL=host|IMAGE or under [runners.labels] in slipway.toml (ubuntu-*, linux and self-hosted run on the host by default)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|l| format!("'{l}'"))
                .collect::<Vec<_>>()
                .join(", "),
            if unknown.len() == 1 { "it" } else { "them" },
        ))
    }
}

fn is_host_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    lower.starts_with("ubuntu-") || HOST_LABELS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn flags_then_config_then_defaults() {
        let image = |i: &str| RunnerTarget::Image(i.to_owned());
        let mapping = Labels::new(
            vec![
                ("ubuntu-latest".into(), image("first")),
                ("Ubuntu-Latest".into(), image("second")),
            ],
            BTreeMap::from([
                ("ubuntu-latest".to_owned(), RunnerTarget::Host),
                ("gpu".to_owned(), image("cuda")),
            ]),
        );
        assert_eq!(
            mapping.resolve(&labels(&["ubuntu-latest"])),
            Ok(image("second"))
        );
        assert_eq!(
            mapping.resolve(&labels(&["self-hosted", "gpu"])),
            Ok(image("cuda"))
        );
        let none = Labels::default();
        assert_eq!(
            none.resolve(&labels(&["ubuntu-22.04"])),
            Ok(RunnerTarget::Host)
        );
        assert_eq!(
            none.resolve(&labels(&["self-hosted", "Linux", "X64"])),
            Ok(RunnerTarget::Host)
        );
    }

    #[test]
    fn unknown_labels_are_named() {
        let error = Labels::default()
            .resolve(&labels(&["self-hosted", "gpu", "windows-latest"]))
            .unwrap_err();
        assert!(
            error.starts_with("no runner for labels 'gpu', 'windows-latest': map them"),
            "{error}"
        );
        assert!(Labels::default().resolve(&[]).is_err());
    }
}
