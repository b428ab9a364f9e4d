//! `tagroute demo`: the main jobs on a built-in cluster of four regions (north, south, east,
//! west), two data centers each, with the policies of the Neo4j documentation.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use tagroute::catchup::Selector;
use tagroute::compile::compile;
use tagroute::config::Config;
use tagroute::leader;
use tagroute::rng::Rng;
use tagroute::routing::{Role, RouteRequest, RoutingService};
use tagroute::topology::{
    DatabaseSpec, ServerIdx, ServerSet, ServerSpec, Snapshot, Topology, TopologySpec, Update,
};
use tagroute::{Strictness, vm};

use crate::report::{Console, Failure};

/// The configuration of every server of the demo cluster: the documentation's policies, the
/// catch-up strategies of its multi-data-center example, and a leadership priority.
pub const CONFIG: &str = "\
# Load balancing: the policies of the Neo4j documentation.
dbms.routing.load_balancing.plugin=server_policies
dbms.routing.load_balancing.config.server_policies.north1_only=tags(north1)->min(2); halt();
dbms.routing.load_balancing.config.server_policies.north1=tags(north1)->min(2);
dbms.routing.load_balancing.config.server_policies.north_app1=tags(north1,north2)->min(2); tags(north); halt();
dbms.routing.load_balancing.config.server_policies.north_fallback=tags(north2)->min(3); tags(north)->min(3); all();
# Catch-up: prefer your own data center, then any northern server.
server.cluster.catchup.upstream_strategy=user-defined,typically-connect-to-random-secondary
server.cluster.catchup.user_defined_upstream_strategy=tags(north2); tags(north); halt()
# Leadership: the neo4j database should be led from north1.
db.cluster.raft.leader_transfer.priority_tag.neo4j=north1
";

const DATA_CENTERS: [(&str, &str); 8] = [
    ("north", "north1"),
    ("north", "north2"),
    ("south", "south1"),
    ("south", "south2"),
    ("east", "east1"),
    ("east", "east2"),
    ("west", "west1"),
    ("west", "west2"),
];

/// Sixteen servers, `n1a` and `n1b` in north1 and so on. `neo4j` has primaries in the north
/// and south and secondaries everywhere; `orders` and `payments` live in the east and west,
/// and both are led by `e1a`, which leadership balancing will not like.
pub fn cluster() -> TopologySpec {
    let mut servers = Vec::new();
    for (region, dc) in DATA_CENTERS {
        for suffix in ["a", "b"] {
            let name = format!("{}{}{suffix}", &region[..1], &dc[dc.len() - 1..]);
            let address = format!("{name}.demo.example:7687");
            servers.push(ServerSpec::new(name, address).with_tags([region, dc]));
        }
    }
    let database = |name: &str, primaries: &[&str], secondaries: &[&str], leader: &str| {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        DatabaseSpec {
            name: name.into(),
            primaries: names(primaries),
            secondaries: names(secondaries),
            leader: Some(leader.into()),
            ..DatabaseSpec::default()
        }
    };
    let databases = vec![
        database(
            "neo4j",
            &["n1a", "n2a", "s1a"],
            &["n1b", "n2b", "s1b", "s2a", "s2b", "e1b", "w1b"],
            "n2a",
        ),
        database(
            "orders",
            &["e1a", "e2a", "w1a"],
            &["e2b", "w2a", "w2b"],
            "e1a",
        ),
        database("payments", &["e1a", "w1a", "w2a"], &["e2a"], "e1a"),
    ];
    TopologySpec { servers, databases }
}

pub fn run(console: &mut Console<'_>) -> Result<(), Failure> {
    let invalid = |e: &dyn std::fmt::Display| Failure::Invalid(e.to_string());
    let topology = Arc::new(Topology::new(&cluster()).map_err(|e| invalid(&e))?);
    let config = Config::parse(CONFIG, Path::new("demo.conf"), Strictness::Default)
        .map_err(|e| Failure::Invalid(e.render_all()))?;
    let service = RoutingService::new(Arc::clone(&topology), &config).map_err(|e| invalid(&e))?;
    let snapshot = topology.snapshot();
    let mut text = String::new();
    describe_cluster(&snapshot, &mut text);
    section(
        &mut text,
        "What each documented policy selects (readers: every available server)",
    );
    selections(&config, &snapshot, &mut text)?;
    section(
        &mut text,
        "Routing tables for neo4j, one per policy (shuffling seeded)",
    );
    tables(&config, &service, &mut text)?;
    section(
        &mut text,
        "Catch-up: where one neo4j secondary per data center pulls from",
    );
    catchup(&config, &snapshot, &mut text);
    section(
        &mut text,
        "Leader advice (neo4j prefers north1) and leadership balancing",
    );
    leaders(&config, &snapshot, &mut text);
    let down = [Update::SetAvailable {
        server: "n1b".into(),
        available: false,
    }];
    // Published to the live topology: the routing service answers from the new snapshot.
    let after = topology.apply(&down).map_err(|e| invalid(&e))?;
    section(
        &mut text,
        "After n1b goes down (a live update: the next snapshot, epoch 1)",
    );
    selections(&config, &after, &mut text)?;
    section(
        &mut text,
        "Routing tables for neo4j with n1b down, from the same service",
    );
    tables(&config, &service, &mut text)?;
    console.out.write_all(text.as_bytes())?;
    Ok(())
}

fn section(text: &mut String, title: &str) {
    let _ = write!(text, "\n== {title}\n");
}

fn name(snapshot: &Snapshot, server: Option<ServerIdx>) -> &str {
    server
        .and_then(|i| snapshot.server(i))
        .map_or("none", |s| s.name())
}

fn describe_cluster(snapshot: &Snapshot, text: &mut String) {
    section(text, "The cluster: four regions, two data centers each");
    for (_, dc) in DATA_CENTERS {
        let servers = snapshot.names(&snapshot.tagged_by_name(dc));
        let _ = writeln!(text, "  {dc:<7} {}", servers.join(", "));
    }
    for db in snapshot.databases() {
        let _ = writeln!(
            text,
            "  database {}: primaries {} (leader {}), secondaries {}",
            db.name(),
            snapshot.names(db.primaries()).join(", "),
            name(snapshot, db.leader()),
            snapshot.names(db.secondaries()).join(", ")
        );
    }
}

fn selections(config: &Config, snapshot: &Snapshot, text: &mut String) -> Result<(), Failure> {
    let mut out = ServerSet::default();
    for policy in config.policies().values() {
        let parsed = policy.policy();
        let program =
            compile(&parsed, snapshot.interner()).map_err(|e| Failure::Invalid(e.to_string()))?;
        vm::eval(&program, snapshot, snapshot.available(), &mut out)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let selected = snapshot.names(&out);
        let shown = if selected.is_empty() {
            "nothing".to_owned()
        } else {
            selected.join(", ")
        };
        let _ = writeln!(text, "  {:<15} {:<52} -> {shown}", policy.name, parsed);
    }
    Ok(())
}

fn tables(config: &Config, service: &RoutingService, text: &mut String) -> Result<(), Failure> {
    let mut rng = Rng::seeded(7);
    for policy in config.policies().keys() {
        let request = RouteRequest::new("neo4j").with_policy(policy);
        let table = service
            .table(&request, &mut rng)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let _ = writeln!(text, "  {policy} (ttl {} s)", table.ttl_secs());
        for role in Role::ALL {
            let names = table.names(role);
            let names = if names.is_empty() {
                "none (a driver gets no table)".to_owned()
            } else {
                names.join(", ")
            };
            let _ = writeln!(text, "    {:<5} {names}", role.as_str());
        }
    }
    Ok(())
}

fn catchup(config: &Config, snapshot: &Snapshot, text: &mut String) {
    let Some(db) = snapshot.database("neo4j") else {
        return;
    };
    let mut selector = Selector::builder(config.catchup())
        .rng(Rng::seeded(7))
        .build(snapshot.interner());
    let strategies: Vec<&str> = selector.strategies().collect();
    let _ = writeln!(text, "  strategies, in order: {}", strategies.join(", "));
    for (_, dc) in DATA_CENTERS {
        let mut here = snapshot.tagged_by_name(dc);
        // One snapshot's sets share its universe.
        let _same_snapshot = here.intersect_with(db.secondaries());
        let Some(asking) = here.iter().next() else {
            let _ = writeln!(text, "  {dc:<7} (no neo4j secondary)");
            continue;
        };
        let asking = name(snapshot, Some(asking)).to_owned();
        let answer = match selector.select(snapshot, "neo4j", &asking) {
            Ok(s) => format!("{} (by {})", name(snapshot, Some(s.upstream)), s.strategy),
            Err(error) => format!("no upstream: {error}"),
        };
        let _ = writeln!(text, "  {dc:<7} {asking} pulls from {answer}");
    }
}

fn leaders(config: &Config, snapshot: &Snapshot, text: &mut String) {
    let settings = config.leadership();
    for advice in leader::priorities(snapshot, settings, &mut Rng::seeded(7)) {
        let Some(tag) = &advice.priority_tag else {
            continue;
        };
        let verdict = if advice.satisfied {
            "satisfied".to_owned()
        } else {
            format!(
                "not satisfied: transfer to {}",
                name(snapshot, advice.transfer_to)
            )
        };
        let leader = name(snapshot, advice.leader);
        let _ = writeln!(
            text,
            "  {}: priority tag {tag}, leader {leader} -> {verdict}",
            advice.database
        );
    }
    let plan = leader::balance(snapshot, settings);
    let moves: Vec<String> = plan
        .moves()
        .map(|p| {
            format!(
                "{} from {} to {}",
                p.database,
                name(snapshot, p.from),
                name(snapshot, Some(p.to))
            )
        })
        .collect();
    let moves = if moves.is_empty() {
        "nothing to move".to_owned()
    } else {
        moves.join("; ")
    };
    let _ = writeln!(text, "  balancing the other databases: {moves}");
}
