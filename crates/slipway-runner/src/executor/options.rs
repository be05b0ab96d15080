//! The `options:` of a job or service container, and its `ports:`.
//!
//! `options:` is a string of `docker create` flags. The ones that matter for jobs and services
//! are understood: the health check (`--health-cmd`, `--health-interval`, `--health-timeout`,
//! `--health-retries`, `--health-start-period`), `-e/--env`, `-u/--user`, `-w/--workdir`,
//! `--entrypoint` and `--hostname`. Any other flag is refused by name, so a workflow never
//! silently loses a setting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use slipway_engine::{Port, PortBinding};

/// The flags understood in `options:`.
const SUPPORTED: &str = "--health-cmd, --health-interval, --health-timeout, --health-retries, --health-start-period, -e/--env, -u/--user, -w/--workdir, --entrypoint, --hostname";

/// A container's `options:`, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContainerOptions {
    pub(crate) health_cmd: Option<String>,
    pub(crate) health_interval: Option<Duration>,
    pub(crate) health_timeout: Option<Duration>,
    pub(crate) health_retries: Option<u32>,
    pub(crate) health_start_period: Option<Duration>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) user: Option<String>,
    pub(crate) workdir: Option<String>,
    pub(crate) entrypoint: Option<String>,
    pub(crate) hostname: Option<String>,
}

impl ContainerOptions {
    /// Reads `options:`, or says which flag cannot be used.
    pub(crate) fn parse(text: &str) -> Result<ContainerOptions, String> {
        let words = shlex::split(text).ok_or_else(|| format!("'{text}' has unbalanced quotes"))?;
        let mut options = ContainerOptions::default();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (word.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| words.next())
                    .ok_or_else(|| format!("option '{flag}' needs a value"))
            };
            match flag.as_str() {
                "--health-cmd" => options.health_cmd = Some(value()?),
                "--health-interval" => options.health_interval = Some(duration(&flag, &value()?)?),
                "--health-timeout" => options.health_timeout = Some(duration(&flag, &value()?)?),
                "--health-start-period" => {
                    options.health_start_period = Some(duration(&flag, &value()?)?);
                }
                "--health-retries" => {
                    let text = value()?;
                    let retries = text
                        .parse()
                        .map_err(|_| format!("--health-retries takes a number, not '{text}'"))?;
                    options.health_retries = Some(retries);
                }
                "-e" | "--env" => {
                    let pair = value()?;
                    let (name, value) = match pair.split_once('=') {
                        Some((name, value)) => (name.to_owned(), value.to_owned()),
                        None => {
                            let inherited = std::env::var(&pair).unwrap_or_default();
                            (pair, inherited)
                        }
                    };
                    options.env.push((name, value));
                }
                "-u" | "--user" => options.user = Some(value()?),
                "-w" | "--workdir" => options.workdir = Some(value()?),
                "--entrypoint" => options.entrypoint = Some(value()?),
                "-h" | "--hostname" => options.hostname = Some(value()?),
                other => {
                    return Err(format!(
                        "container option '{other}' is not supported; supported: {SUPPORTED}"
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// A Docker duration: `500ms`, `10s`, `1m30s`.
fn duration(flag: &str, text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|_| format!("{flag} takes a duration such as 10s, not '{text}'"))
}

/// One entry of `ports:`: `CONTAINER[/PROTO]`, `HOST:CONTAINER[/PROTO]` or
/// `IP:HOST:CONTAINER[/PROTO]`. Ports are published on 127.0.0.1 unless an address is given; a
/// missing host port lets the engine pick one.
pub(crate) fn port_binding(text: &str) -> Result<PortBinding, String> {
    let invalid = || {
        format!(
            "'{text}' is not a port mapping: expected CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER"
        )
    };
    let (address, rest) = match text.matches(':').count() {
        0 | 1 => (None, text),
        _ => {
            let (ip, rest) = text.split_once(':').ok_or_else(invalid)?;
            (Some(ip.parse::<IpAddr>().map_err(|_| invalid())?), rest)
        }
    };
    let (host_port, container) = match rest.split_once(':') {
        Some((host, container)) => (host.parse::<u16>().map_err(|_| invalid())?, container),
        None => (0, rest),
    };
    let container_port: Port = container.parse().map_err(|_| invalid())?;
    let ip = address.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Ok(PortBinding {
        container_port,
        host: SocketAddr::new(ip, host_port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_env_and_user_flags() {
        let options = ContainerOptions::parse(
            "--health-cmd \"pg_isready -U x\" --health-interval=2s --health-retries 5 --health-timeout 1s -e A=1 --env B=two=2 --user 1000",
        )
        .unwrap();
        assert_eq!(options.health_cmd.as_deref(), Some("pg_isready -U x"));
        assert_eq!(options.health_interval, Some(Duration::from_secs(2)));
        assert_eq!(options.health_retries, Some(5));
        assert_eq!(options.health_timeout, Some(Duration::from_secs(1)));
        assert_eq!(
            options.env,
            vec![("A".into(), "1".into()), ("B".into(), "two=2".into())]
        );
        assert_eq!(options.user.as_deref(), Some("1000"));
        assert_eq!(
            ContainerOptions::parse("").unwrap(),
            ContainerOptions::default()
        );
    }

    #[test]
    fn unknown_and_incomplete_flags_are_refused() {
        let error = ContainerOptions::parse("--cpus 2").unwrap_err();
        assert!(
            error
                .starts_with("container option '--cpus' is not supported; supported: --health-cmd"),
            "{error}"
        );
        assert_eq!(
            ContainerOptions::parse("--user").unwrap_err(),
            "option '--user' needs a value"
        );
        assert!(
            ContainerOptions::parse("--health-interval soon")
                .unwrap_err()
                .contains("duration")
        );
        assert!(
            ContainerOptions::parse("--health-cmd 'x")
                .unwrap_err()
                .contains("quotes")
        );
    }

    #[test]
    fn port_mappings() {
        let binding = port_binding("5432").unwrap();
        assert_eq!(binding.container_port, Port::tcp(5432));
        assert_eq!(binding.host, "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            port_binding("8080:80/udp").unwrap().host,
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            port_binding("8080:80/udp").unwrap().container_port,
            Port::udp(80)
        );
        assert_eq!(
            port_binding("0.0.0.0:9000:90").unwrap().host,
            "0.0.0.0:9000".parse().unwrap()
        );
        for bad in ["", "x", "80:y", "1.2.3:1:2", "99999"] {
            assert!(port_binding(bad).is_err(), "{bad}");
        }
    }
}
