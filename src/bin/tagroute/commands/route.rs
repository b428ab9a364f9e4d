//! `tagroute route --config CONF --topology T --db NAME [--policy NAME] [--exclude N1,N2] [--seed N]`.

use std::sync::Arc;

use serde_json::{Value, json};
use tagroute::rng::Rng;
use tagroute::routing::{RouteRequest, RoutingService, RoutingTable};
use tagroute::topology::{Server, Snapshot, Topology};
use tagroute::{NameKind, UnknownName};

use super::{load_config, load_topology};
use crate::args::RouteArgs;
use crate::report::{Console, Failure};

pub fn run(args: &RouteArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let config = load_config(&args.config, console)?;
    let snapshot = load_topology(&args.topology)?;
    let names = excluded(&args.exclude, &snapshot).map_err(|e| Failure::Invalid(e.to_string()))?;
    let topology = Arc::new(Topology::from_snapshot(snapshot));
    let service = RoutingService::new(topology, &config)
        .map_err(|e| Failure::Invalid(format!("{}: {e}", args.config.display())))?;
    let excluded: Vec<&str> = names.iter().map(String::as_str).collect();
    let request = RouteRequest {
        database: &args.db,
        policy: args.policy.as_deref(),
        excluded: &excluded,
    };
    let mut rng = args.seed.map_or_else(Rng::from_os, Rng::seeded);
    let table = service
        .table(&request, &mut rng)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    console.json(&table_json(&table))
}

/// The servers `--exclude` names, each of the topology: the values split at every `,` that is
/// not written `\,`, where `\\` is a backslash, and empty names dropped.
fn excluded(values: &[String], snapshot: &Snapshot) -> Result<Vec<String>, UnknownName> {
    let names: Vec<String> = values
        .iter()
        .flat_map(|v| split_names(v))
        .filter(|name| !name.is_empty())
        .collect();
    match names.iter().find(|name| snapshot.index_of(name).is_none()) {
        None => Ok(names),
        Some(unknown) => Err(UnknownName::new(
            NameKind::Server,
            unknown,
            snapshot.servers().iter().map(Server::name),
        )),
    }
}

/// `a\,b,c` is `a,b` and `c`; `a\\,b` is `a\` and `b`; any other backslash is itself.
fn split_names(value: &str) -> Vec<String> {
    let mut names = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next @ (',' | '\\'))) => {
                chars.next();
                push_char(&mut names, next);
            }
            (',', _) => names.push(String::new()),
            _ => push_char(&mut names, c),
        }
    }
    names
}

fn push_char(names: &mut [String], c: char) {
    if let Some(last) = names.last_mut() {
        last.push(c);
    }
}

/// `{"ttl": 300, "db": "neo4j", "servers": [{"role": "WRITE", "addresses": [...]}, ...]}`.
fn table_json(table: &RoutingTable) -> Value {
    let servers: Vec<Value> = table
        .roles()
        .map(|(role, _)| json!({ "role": role.as_str(), "addresses": table.addresses(role) }))
        .collect();
    json!({ "ttl": table.ttl_secs(), "db": table.database(), "servers": servers })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tagroute::topology::{ServerIdx, ServerSpec, Snapshot, TagInterner, TopologySpec};

    use super::*;

    #[test]
    fn exclude_splits_at_commas_not_written_as_escapes() {
        let split = |v: &str| split_names(v);
        assert_eq!(split("a,b"), ["a", "b"]);
        assert_eq!(split(r"rack 1\, a,b"), ["rack 1, a", "b"]);
        assert_eq!(split(r"a\\,b"), [r"a\", "b"]);
        assert_eq!(split(r"a\b\"), [r"a\b\"]);
        assert_eq!(split("a,,"), ["a", "", ""]);
    }

    #[test]
    fn the_table_prints_ttl_db_then_the_non_empty_roles_in_order() {
        let spec = TopologySpec {
            servers: vec![
                ServerSpec::new("a", "a.example:7687"),
                ServerSpec::new("b", "b.example:7687"),
            ],
            databases: vec![],
        };
        let snapshot = Arc::new(Snapshot::build(&spec, &TagInterner::new()).expect("valid"));
        let idx = |i| ServerIdx::new(i).expect("small");
        let table = RoutingTable::new(
            snapshot,
            "neo4j",
            Duration::from_secs(300),
            vec![],
            vec![idx(1), idx(0)],
            vec![idx(0)],
        )
        .expect("not empty");
        assert_eq!(
            table_json(&table).to_string(),
            r#"{"ttl":300,"db":"neo4j","servers":[{"role":"READ","addresses":["b.example:7687","a.example:7687"]},{"role":"ROUTE","addresses":["a.example:7687"]}]}"#
        );
    }
}
