//! Property tests of the routing table's parsers: host patterns, path prefixes, table JSON.

use std::net::SocketAddr;

use proptest::prelude::*;
use slipway_proxy::{
    Backend, BackendId, HostPattern, PathPrefix, Pool, PoolId, Route, RoutingTable, Upstream,
    UpstreamId,
};

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,8}"
}

fn host() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(label(), 1..5)
}

fn segments() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-zA-Z0-9._~-]{1,6}", 0..5)
}

fn table() -> impl Strategy<Value = RoutingTable> {
    let upstream = (label(), 1u16..u16::MAX).prop_map(|(id, port)| Upstream {
        id: UpstreamId::new(id).unwrap(),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    });
    let pool = (label(), 1u32..1000, prop::collection::vec(upstream, 0..4)).prop_map(
        |(id, weight, mut upstreams)| {
            upstreams.sort_by(|a, b| a.id.cmp(&b.id));
            upstreams.dedup_by(|a, b| a.id == b.id);
            Pool {
                id: PoolId::new(id).unwrap(),
                weight,
                upstreams,
            }
        },
    );
    let backend = (label(), prop::collection::vec(pool, 0..3)).prop_map(|(id, mut pools)| {
        pools.sort_by(|a, b| a.id.cmp(&b.id));
        pools.dedup_by(|a, b| a.id == b.id);
        Backend::new(BackendId::new(id).unwrap(), pools)
    });
    prop::collection::vec(backend, 1..4).prop_flat_map(|mut backends| {
        backends.sort_by(|a, b| a.id.cmp(&b.id));
        backends.dedup_by(|a, b| a.id == b.id);
        let ids: Vec<BackendId> = backends.iter().map(|backend| backend.id.clone()).collect();
        let route = (
            prop::option::of(host()),
            segments(),
            prop::sample::select(ids),
        )
            .prop_map(|(host, segments, backend)| Route {
                host: host.map(|labels| HostPattern::new(&labels.join(".")).unwrap()),
                path_prefix: PathPrefix::new(&format!("/{}", segments.join("/"))).unwrap(),
                backend,
            });
        prop::collection::vec(route, 0..6).prop_map(move |mut routes| {
            routes.sort_by(|a, b| {
                (
                    a.host.as_ref().map(ToString::to_string),
                    a.path_prefix.as_str(),
                )
                    .cmp(&(
                        b.host.as_ref().map(ToString::to_string),
                        b.path_prefix.as_str(),
                    ))
            });
            routes.dedup_by(|a, b| a.host == b.host && a.path_prefix == b.path_prefix);
            RoutingTable::new(backends.clone(), routes).unwrap()
        })
    })
}

proptest! {
    #[test]
    fn an_exact_pattern_matches_its_name_in_any_case(labels in host()) {
        let name = labels.join(".");
        let pattern = HostPattern::new(&name.to_ascii_uppercase()).unwrap();
        prop_assert!(pattern.matches(&name));
        prop_assert_eq!(pattern.to_string(), name.clone());
        prop_assert_eq!(HostPattern::new(&pattern.to_string()).unwrap(), pattern);
    }

    #[test]
    fn a_wildcard_matches_strict_subdomains_only(labels in host(), sub in label()) {
        let domain = labels.join(".");
        let pattern = HostPattern::new(&format!("*.{domain}")).unwrap();
        let subdomain = format!("{sub}.{domain}");
        prop_assert!(pattern.matches(&subdomain));
        prop_assert!(!pattern.matches(&domain));
        let glued = format!("{sub}{domain}");
        prop_assert!(!pattern.matches(&glued));
    }

    #[test]
    fn a_prefix_matches_deeper_paths_at_segment_boundaries(prefix in segments(), rest in segments(), tail in "[a-z]{1,4}") {
        let prefix_path = format!("/{}", prefix.join("/"));
        let pattern = PathPrefix::new(&prefix_path).unwrap();
        let deeper = if prefix.is_empty() { format!("/{}", rest.join("/")) } else { format!("{prefix_path}/{}", rest.join("/")) };
        prop_assert!(pattern.matches(&deeper), "{} should match {}", prefix_path, deeper);
        if !prefix.is_empty() {
            let longer = format!("{prefix_path}{tail}");
            prop_assert!(!pattern.matches(&longer), "{} must not match {}", prefix_path, longer);
        }
    }

    #[test]
    fn a_valid_table_reads_back_from_its_json(table in table()) {
        let text = table.to_json_pretty();
        prop_assert_eq!(RoutingTable::from_json(&text).unwrap(), table);
    }

    #[test]
    fn any_text_is_a_table_or_an_error_with_a_position(text in ".{0,200}") {
        match RoutingTable::from_json(&text) {
            Ok(table) => prop_assert_eq!(RoutingTable::from_json(&table.to_json_pretty()).unwrap(), table),
            Err(slipway_proxy::TableError::Json { line, column, .. }) => prop_assert!(line >= 1 && column <= text.len() + 1),
            Err(slipway_proxy::TableError::Invalid { path, .. }) => prop_assert!(!path.is_empty()),
        }
    }
}
