//! The `WWW-Authenticate` challenge a registry answers 401 with (RFC 7235), as the distribution
//! spec and Docker's token authentication use it: `Basic realm="..."`, or
//! `Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/web:pull,push"`.

/// What a registry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP Basic credentials on every request.
    Basic,
    /// A token from `realm` for `service` and `scope`, sent as `Authorization: Bearer`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// The challenge in a `WWW-Authenticate` value; `None` when its scheme is neither Basic nor
    /// Bearer, or a Bearer challenge has no realm.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parameters(rest);
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm").filter(|realm| !realm.is_empty())?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `key=value` and `key="quoted, \"escaped\" value"` pairs separated by commas.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .next_if(|c| c.is_ascii_whitespace() || *c == ',')
            .is_some()
        {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_owned();
        if key.is_empty() || chars.next_if_eq(&'=').is_none() {
            return params;
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
            value = value.trim().to_owned();
        }
        params.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Option<Challenge> {
        Some(Challenge::Bearer {
            realm: realm.to_owned(),
            service: service.map(str::to_owned),
            scope: scope.map(str::to_owned),
        })
    }

    #[test]
    fn challenges_parse_as_registries_send_them() {
        for (header, expected) in [
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
                bearer(
                    "https://auth.docker.io/token",
                    Some("registry.docker.io"),
                    Some("repository:samalba/my-app:pull,push"),
                ),
            ),
            (
                r#"bearer realm="https://myacr.azurecr.io/oauth2/token", service="myacr.azurecr.io""#,
                bearer(
                    "https://myacr.azurecr.io/oauth2/token",
                    Some("myacr.azurecr.io"),
                    None,
                ),
            ),
            (
                r#"Bearer realm=http://127.0.0.1:1/token,scope="a \"b\" c""#,
                bearer("http://127.0.0.1:1/token", None, Some(r#"a "b" c"#)),
            ),
            (r#"Basic realm="Registry Realm""#, Some(Challenge::Basic)),
            ("basic", Some(Challenge::Basic)),
            (r#"Bearer service="x""#, None),
            (r#"Negotiate abc"#, None),
            ("", None),
        ] {
            assert_eq!(Challenge::parse(header), expected, "{header}");
        }
    }
}
