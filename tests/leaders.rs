//! Leader priority and leadership balancing through the API and the binary, on clusters whose
//! optimum is known.

use serde_json::{Value, json};
use std::path::Path;
use tagroute::Strictness;
use tagroute::config::Config;
use tagroute::leader::balance;
use tagroute::topology::{Snapshot, TagInterner, from_json};

use crate::upstream::{Scratch, tagroute};

/// Servers `(name, tags)`, all available; databases `(name, primaries, leader)`.
fn topology(servers: &[(&str, &[&str])], dbs: &[(&str, &[&str], &str)]) -> Value {
    let servers: Vec<Value> = servers
        .iter()
        .map(|(name, tags)| json!({"name": name, "address": format!("{name}:7687"), "tags": tags}))
        .collect();
    let dbs: Vec<Value> = dbs
        .iter()
        .map(|(name, primaries, leader)| {
            json!({"name": name, "primaries": primaries, "leader": leader})
        })
        .collect();
    json!({"servers": servers, "databases": dbs})
}

/// The plan's moves as `(database, from, to)`.
fn planned_moves(topology: &Value, conf: &str) -> Vec<(String, String, String)> {
    let spec = from_json(&topology.to_string()).expect("the topology reads");
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("the topology builds");
    let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default).expect("loads");
    let name = |s| snapshot.server(s).expect("a server").name().to_owned();
    balance(&snapshot, config.leadership())
        .moves()
        .map(|p| {
            (
                p.database.clone(),
                p.from.map(name).unwrap_or_default(),
                name(p.to),
            )
        })
        .collect()
}

fn moves(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|&(d, f, t)| (d.into(), f.into(), t.into()))
        .collect()
}

#[test]
fn eight_leaderships_on_one_of_four_servers_end_two_each() {
    let all: &[&str] = &["a", "b", "c", "d"];
    let names: Vec<String> = (1..=8).map(|i| format!("db{i}")).collect();
    let dbs: Vec<(&str, &[&str], &str)> = names.iter().map(|n| (n.as_str(), all, "a")).collect();
    let servers: Vec<(&str, &[&str])> = all.iter().map(|s| (*s, &[][..])).collect();
    assert_eq!(
        planned_moves(&topology(&servers, &dbs), ""),
        moves(&[
            ("db3", "a", "b"),
            ("db4", "a", "b"),
            ("db5", "a", "c"),
            ("db6", "a", "c"),
            ("db7", "a", "d"),
            ("db8", "a", "d"),
        ])
    );
}

#[test]
fn a_chain_of_two_moves_evens_out_three_servers() {
    // `c1` can only be led by `x`, so `x` keeps it; `c2` must then go to `y`, and `c3` makes
    // room on `y` by moving to `z`: spread 0 needs both moves, and no plan needs fewer.
    let t = topology(
        &[("x", &[]), ("y", &[]), ("z", &[])],
        &[
            ("c1", &["x"], "x"),
            ("c2", &["x", "y"], "x"),
            ("c3", &["y", "z"], "y"),
        ],
    );
    assert_eq!(
        planned_moves(&t, ""),
        moves(&[("c2", "x", "y"), ("c3", "y", "z")])
    );
}

#[test]
fn prioritised_databases_stay_out_of_the_plan() {
    let t = topology(
        &[("x", &["gpu"]), ("y", &[])],
        &[("a", &["x", "y"], "x"), ("b", &["x", "y"], "x")],
    );
    assert_eq!(planned_moves(&t, ""), moves(&[("b", "x", "y")]));
    let conf = "db.cluster.raft.leader_transfer.priority_tag.a=gpu\n";
    assert_eq!(planned_moves(&t, conf), moves(&[]));
}

#[test]
fn the_binary_prints_priority_advice_and_the_balance() {
    let scratch = Scratch::new();
    let conf = scratch.file(
        "neo4j.conf",
        "db.cluster.raft.leader_transfer.priority_tag.neo4j=north1\n\
         db.cluster.raft.leader_transfer.priority_tag.audit=north1\n",
    );
    let t = topology(
        &[
            ("n1a", &["north1"]),
            ("n1b", &["north1"]),
            ("s1a", &["south1"]),
            ("s1b", &["south1"]),
        ],
        &[
            ("neo4j", &["n1a", "n1b", "s1a"], "n1a"),
            ("audit", &["n1a", "s1a"], "s1a"),
            ("orders", &["n1a", "s1a", "s1b"], "n1a"),
            ("sales", &["n1a", "s1a"], "n1a"),
            ("users", &["n1a", "n1b", "s1b"], "n1a"),
        ],
    );
    let topology = scratch.file("t.json", &t.to_string());
    let run = tagroute(&[
        "leaders",
        "--config",
        &conf,
        "--topology",
        &topology,
        "--seed",
        "1",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let db = |name: &str, tag: Option<&str>, satisfied: bool, to: Option<&str>| {
        let leader = t["databases"]
            .as_array()
            .and_then(|dbs| dbs.iter().find(|d| d["name"] == name))
            .map(|d| d["leader"].clone());
        json!({"name": name, "priority_tag": tag, "leader": leader, "satisfied": satisfied,
               "transfer_to": to})
    };
    assert_eq!(
        run.json(),
        json!({
            "databases": [
                db("neo4j", Some("north1"), true, None),
                db("audit", Some("north1"), false, Some("n1a")),
                db("orders", None, true, None),
                db("sales", None, true, None),
                db("users", None, true, None),
            ],
            "balance": [
                {"db": "sales", "from": "n1a", "to": "s1a"},
                {"db": "users", "from": "n1a", "to": "n1b"},
            ],
        })
    );
    assert!(
        run.stdout
            .starts_with(r#"{"databases":[{"name":"neo4j","priority_tag":"#)
    );
}

#[test]
fn a_configuration_error_exits_1_with_every_diagnostic() {
    let scratch = Scratch::new();
    let conf = scratch.file(
        "neo4j.conf",
        "db.cluster.raft.leader_transfer.priority_tag=a b\n",
    );
    let topology = scratch.file("t.json", &topology(&[("x", &[])], &[]).to_string());
    let run = tagroute(&["leaders", "--config", &conf, "--topology", &topology]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("neo4j.conf:1:46: error"),
        "{}",
        run.stderr
    );
}
