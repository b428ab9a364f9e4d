//! `tagroute route --config CONF --topology T --db NAME [--policy NAME] [--exclude N1,N2] [--seed N]`.

use std::sync::Arc;

use serde_json::{Value, json};
use tagroute::rng::Rng;
use tagroute::routing::{RouteRequest, RoutingService, RoutingTable};
use tagroute::topology::Topology;

use super::{load_config, load_topology};
use crate::args::RouteArgs;
use crate::report::{Console, Failure};

pub fn run(args: &RouteArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let config = load_config(&args.config, console)?;
    let topology = Arc::new(Topology::from_snapshot(load_topology(&args.topology)?));
    let service = RoutingService::new(topology, &config)
        .map_err(|e| Failure::Invalid(format!("{}: {e}", args.config.display())))?;
    let excluded: Vec<&str> = args.exclude.iter().map(String::as_str).collect();
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
