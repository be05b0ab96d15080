//! Small conversions between the API's shapes and Slipway's, shared by images and containers:
//! labels, environment lists, timestamps, health checks.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::HealthConfig;
use jiff::Timestamp;

use crate::container::{HealthCheck, HealthTest};
use crate::labels::LabelSelectors;

/// Labels as a map; the engine sends `null` for none.
pub(crate) fn label_map(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

/// The `filters` of a listing request: the label condition the engine applies (see
/// [`LabelSelectors`]), and another filter such as `name` or `reference`.
pub(crate) fn list_filters(
    labels: &LabelSelectors,
    other: Option<(&str, &str)>,
) -> HashMap<String, Vec<String>> {
    let mut filters = HashMap::new();
    if let Some(label) = labels.engine_filter() {
        filters.insert("label".to_owned(), vec![label]);
    }
    if let Some((name, value)) = other {
        filters.insert(name.to_owned(), vec![value.to_owned()]);
    }
    filters
}

/// `NAME=value` entries as a map; an entry without `=` has an empty value.
pub(crate) fn env_map(env: Vec<String>) -> BTreeMap<String, String> {
    env.into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (entry, String::new()),
        })
        .collect()
}

/// A map as `NAME=value` entries.
pub(crate) fn env_list(env: &BTreeMap<String, String>) -> Vec<String> {
    env.iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

/// An RFC 3339 time from the engine; `None` for Go's zero time (`0001-01-01T00:00:00Z`), which
/// the engine sends for "never".
pub(crate) fn timestamp(text: &str) -> Option<Timestamp> {
    let time: Timestamp = text.parse().ok()?;
    (time.as_second() > 0).then_some(time)
}

/// Seconds since the epoch from the engine; `None` for 0.
pub(crate) fn unix_timestamp(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_second(seconds)
        .ok()
        .filter(|time| time.as_second() > 0)
}

/// A declared health check; `None` when it only says "inherit the image's".
pub(crate) fn health_check(config: HealthConfig) -> Option<HealthCheck> {
    let mut test = config.test.unwrap_or_default().into_iter();
    let test = match test.next()?.as_str() {
        "NONE" => HealthTest::Disabled,
        "CMD" => HealthTest::Exec(test.collect()),
        "CMD-SHELL" => HealthTest::Shell(test.collect::<Vec<_>>().join(" ")),
        _ => return None,
    };
    let duration = |nanos: Option<i64>| {
        nanos
            .and_then(|nanos| u64::try_from(nanos).ok())
            .filter(|nanos| *nanos > 0)
            .map(Duration::from_nanos)
    };
    Some(HealthCheck {
        test,
        interval: duration(config.interval),
        timeout: duration(config.timeout),
        retries: config
            .retries
            .and_then(|retries| u32::try_from(retries).ok())
            .filter(|retries| *retries > 0),
        start_period: duration(config.start_period),
    })
}

/// A health check in the API's shape.
pub(crate) fn health_config(check: &HealthCheck) -> HealthConfig {
    let test = match &check.test {
        HealthTest::Exec(command) => std::iter::once("CMD".to_owned())
            .chain(command.iter().cloned())
            .collect(),
        HealthTest::Shell(line) => vec!["CMD-SHELL".to_owned(), line.clone()],
        HealthTest::Disabled => vec!["NONE".to_owned()],
    };
    let nanos = |duration: Option<Duration>| {
        duration.map(|duration| i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX))
    };
    HealthConfig {
        test: Some(test),
        interval: nanos(check.interval),
        timeout: nanos(check.timeout),
        retries: check.retries.map(i64::from),
        start_period: nanos(check.start_period),
        start_interval: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_entries_split_at_the_first_equals_sign() {
        let env = env_map(vec![
            "PATH=/bin:/usr/bin".to_owned(),
            "OPTS=a=b".to_owned(),
            "EMPTY".to_owned(),
        ]);
        assert_eq!(env["PATH"], "/bin:/usr/bin");
        assert_eq!(env["OPTS"], "a=b");
        assert_eq!(env["EMPTY"], "");
        assert_eq!(
            env_list(&env),
            vec!["EMPTY=", "OPTS=a=b", "PATH=/bin:/usr/bin"]
        );
    }

    #[test]
    fn go_zero_time_means_never() {
        assert_eq!(timestamp("0001-01-01T00:00:00Z"), None);
        assert_eq!(
            timestamp("2026-11-21T23:59:31.966356814Z").map(|time| time.as_second()),
            Some(1_795_305_571)
        );
        assert_eq!(unix_timestamp(0), None);
        assert_eq!(
            unix_timestamp(1_795_305_703).map(|time| time.as_second()),
            Some(1_795_305_703)
        );
    }

    #[test]
    fn health_checks_survive_the_round_trip() {
        for check in [
            HealthCheck {
                test: HealthTest::Exec(vec![
                    "wget".to_owned(),
                    "-q".to_owned(),
                    "http://localhost/".to_owned(),
                ]),
                interval: Some(Duration::from_secs(5)),
                timeout: Some(Duration::from_secs(2)),
                retries: Some(3),
                start_period: Some(Duration::from_millis(1500)),
            },
            HealthCheck {
                test: HealthTest::Shell("curl -f localhost || exit 1".to_owned()),
                interval: None,
                timeout: None,
                retries: None,
                start_period: None,
            },
            HealthCheck {
                test: HealthTest::Disabled,
                interval: None,
                timeout: None,
                retries: None,
                start_period: None,
            },
        ] {
            assert_eq!(health_check(health_config(&check)), Some(check));
        }
        assert_eq!(
            health_check(HealthConfig {
                test: Some(vec![]),
                ..HealthConfig::default()
            }),
            None
        );
    }
}
