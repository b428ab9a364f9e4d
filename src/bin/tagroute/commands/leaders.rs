//! `tagroute leaders --config CONF --topology T [--seed N]`: leader priority advice per
//! database, and the leadership balancing plan for the databases without a priority tag.

use serde_json::{Value, json};
use tagroute::leader::{self, BalancePlan, PriorityAdvice};
use tagroute::rng::Rng;
use tagroute::topology::{ServerIdx, Snapshot};

use super::{load_config, load_topology};
use crate::args::LeadersArgs;
use crate::report::{Console, Failure};

pub fn run(args: &LeadersArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let config = load_config(&args.config, console)?;
    let snapshot = load_topology(&args.topology)?;
    let mut rng = args.seed.map_or_else(Rng::from_os, Rng::seeded);
    let advice = leader::priorities(&snapshot, config.leadership(), &mut rng);
    let plan = leader::balance(&snapshot, config.leadership());
    console.json(&json!({
        "databases": advice.iter().map(|a| database_json(&snapshot, a)).collect::<Vec<_>>(),
        "balance": balance_json(&snapshot, &plan),
    }))
}

/// `{"name": "neo4j", "priority_tag": "north1", "leader": "n1a", "satisfied": true,
/// "transfer_to": null}`.
fn database_json(snapshot: &Snapshot, advice: &PriorityAdvice) -> Value {
    json!({
        "name": advice.database,
        "priority_tag": advice.priority_tag,
        "leader": name(snapshot, advice.leader),
        "satisfied": advice.satisfied,
        "transfer_to": name(snapshot, advice.transfer_to),
    })
}

/// `[{"db": "orders", "from": "n1a", "to": "s1a"}]`: the leaderships to move.
fn balance_json(snapshot: &Snapshot, plan: &BalancePlan) -> Vec<Value> {
    plan.moves()
        .map(|p| {
            json!({
                "db": p.database,
                "from": name(snapshot, p.from),
                "to": name(snapshot, Some(p.to)),
            })
        })
        .collect()
}

fn name(snapshot: &Snapshot, server: Option<ServerIdx>) -> Option<&str> {
    server.and_then(|s| snapshot.server(s)).map(|s| s.name())
}
