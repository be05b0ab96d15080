//! Label conditions shared by the image, container and network filters.
//!
//! Podman 4.3 answers an image listing with two `label` filters with nothing at all, where
//! Docker ANDs them. So only the first condition goes to the engine, to narrow the listing, and
//! every condition is checked here on what comes back: the same result on both engines.

use std::collections::BTreeMap;

/// A set of label conditions, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelectors(Vec<Selector>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    Equal { key: String, value: String },
    Present { key: String },
}

impl LabelSelectors {
    /// The label must be set to this value.
    pub(crate) fn equal(&mut self, key: String, value: String) {
        self.0.push(Selector::Equal { key, value });
    }

    /// The label must be set, to any value.
    pub(crate) fn present(&mut self, key: String) {
        self.0.push(Selector::Present { key });
    }

    /// The condition to send to the engine, in its `label` filter syntax.
    pub(crate) fn engine_filter(&self) -> Option<String> {
        self.0.first().map(|selector| match selector {
            Selector::Equal { key, value } => format!("{key}={value}"),
            Selector::Present { key } => key.clone(),
        })
    }

    /// Whether labels meet every condition.
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|selector| match selector {
            Selector::Equal { key, value } => labels.get(key) == Some(value),
            Selector::Present { key } => labels.contains_key(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_condition_must_hold_and_the_first_goes_to_the_engine() {
        let mut selectors = LabelSelectors::default();
        assert_eq!(selectors.engine_filter(), None);
        selectors.equal("app".to_owned(), "web".to_owned());
        selectors.present("dev.slipway.release".to_owned());
        assert_eq!(selectors.engine_filter().as_deref(), Some("app=web"));
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        };
        assert!(selectors.matches(&labels(&[("app", "web"), ("dev.slipway.release", "7")])));
        assert!(!selectors.matches(&labels(&[("app", "web")])));
        assert!(!selectors.matches(&labels(&[("app", "api"), ("dev.slipway.release", "7")])));
    }
}
