//! `tagroute demo`: the main jobs on a built-in cluster of four regions (north, south, east,
//! west), two data centers each, with the policies of the Neo4j documentation.

use std::fmt::Write as _;

use tagroute::compile::compile;
use tagroute::config::Config;
use tagroute::topology::{
    DatabaseSpec, ServerSet, ServerSpec, Snapshot, TagInterner, TopologySpec, Update,
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

/// Sixteen servers, `n1a` and `n1b` in north1 and so on; `neo4j` has a primary in each
/// northern and southern data center and reads from secondaries everywhere, `orders` lives in
/// the east and west.
pub fn cluster() -> TopologySpec {
    let mut servers = Vec::new();
    for (region, dc) in DATA_CENTERS {
        for suffix in ["a", "b"] {
            let name = format!("{}{}{suffix}", &region[..1], &dc[dc.len() - 1..]);
            servers.push(
                ServerSpec::new(name.clone(), format!("{name}.demo.example:7687"))
                    .with_tags([region, dc]),
            );
        }
    }
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let neo4j = DatabaseSpec {
        name: "neo4j".into(),
        primaries: names(&["n1a", "n2a", "s1a"]),
        secondaries: names(&["n1b", "n2b", "s1b", "s2a", "s2b", "e1b", "w1b"]),
        leader: Some("n2a".into()),
    };
    let orders = DatabaseSpec {
        name: "orders".into(),
        primaries: names(&["e1a", "e2a", "w1a"]),
        secondaries: names(&["e2b", "w2a", "w2b"]),
        leader: Some("e1a".into()),
    };
    TopologySpec {
        servers,
        databases: vec![neo4j, orders],
    }
}

pub fn run(console: &mut Console<'_>) -> Result<(), Failure> {
    let spec = cluster();
    let snapshot =
        Snapshot::build(&spec, &TagInterner::new()).map_err(|e| Failure::Invalid(e.to_string()))?;
    let config = Config::parse(CONFIG, "demo.conf", Strictness::Default)
        .map_err(|e| Failure::Invalid(e.render_all()))?;
    let mut text = String::new();
    describe_cluster(&snapshot, &mut text);
    section(
        &mut text,
        "What each documented policy selects (readers: every available server)",
    );
    selections(&config, &snapshot, &mut text)?;
    let down = [Update::SetAvailable {
        server: "n1b".into(),
        available: false,
    }];
    let after = snapshot
        .apply(&down)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    section(
        &mut text,
        "After n1b goes down (a live update: the next snapshot, epoch 1)",
    );
    selections(&config, &after, &mut text)?;
    console.out.write_all(text.as_bytes())?;
    Ok(())
}

fn section(text: &mut String, title: &str) {
    let _ = write!(text, "\n== {title}\n");
}

fn describe_cluster(snapshot: &Snapshot, text: &mut String) {
    section(text, "The cluster: four regions, two data centers each");
    for (_, dc) in DATA_CENTERS {
        let _ = writeln!(
            text,
            "  {dc:<7} {}",
            snapshot.names(&snapshot.tagged_by_name(dc)).join(", ")
        );
    }
    for db in snapshot.databases() {
        let leader = db
            .leader()
            .and_then(|l| snapshot.server(l))
            .map_or("none", |s| s.name());
        let _ = writeln!(
            text,
            "  database {}: primaries {} (leader {leader}), secondaries {}",
            db.name(),
            snapshot.names(db.primaries()).join(", "),
            snapshot.names(db.secondaries()).join(", ")
        );
    }
}

fn selections(config: &Config, snapshot: &Snapshot, text: &mut String) -> Result<(), Failure> {
    let mut out = ServerSet::default();
    for policy in config.policies().values() {
        let program = compile(&policy.policy, snapshot.interner())
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        vm::eval(&program, snapshot, snapshot.available(), &mut out)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let selected = snapshot.names(&out);
        let shown = if selected.is_empty() {
            "nothing".to_owned()
        } else {
            selected.join(", ")
        };
        let _ = writeln!(
            text,
            "  {:<15} {:<60} -> {shown}",
            policy.name,
            policy.policy.to_string()
        );
    }
    Ok(())
}
