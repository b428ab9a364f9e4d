//! Catch-up selection through the API and the binary: every vector of `upstream.jsonl`, the
//! documented examples of DESIGN section 6, the every-10th-call primary, uniformity, the final
//! fallback, aliases and an embedder's own strategy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tagroute::Strictness;
use tagroute::catchup::{NoAnswer, Request, SelectError, Selector};
use tagroute::config::Config;
use tagroute::rng::Rng;
use tagroute::topology::{ServerIdx, Snapshot, TagInterner, from_json};

use crate::util::read_jsonl;

/// A directory under the system's temporary directory, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tagroute-catchup-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Scratch(dir)
    }

    /// Writes `contents` to `name` in the directory; returns the path as a string.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("a temporary file");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the binary did: exit status, stdout, stderr.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `tagroute args...`.
pub fn tagroute(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_tagroute"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("neo4j.conf"), Strictness::Default)
        .expect("the configuration loads")
}

fn snapshot(topology: &Value) -> Snapshot {
    let spec = from_json(&topology.to_string()).expect("the topology reads");
    Snapshot::build(&spec, &TagInterner::new()).expect("the topology builds")
}

fn selector(config: &Config, snapshot: &Snapshot, seed: u64) -> Selector {
    Selector::builder(config.catchup())
        .rng(Rng::seeded(seed))
        .build(snapshot.interner())
}

fn name(snapshot: &Snapshot, server: ServerIdx) -> String {
    snapshot.server(server).expect("a server").name().to_owned()
}

/// `samples` selections from one selector: how often each (strategy, upstream) answered.
fn tally(
    selector: &mut Selector,
    snapshot: &Snapshot,
    db: &str,
    server: &str,
    samples: usize,
) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..samples {
        let selection = selector.select(snapshot, db, server).expect("an upstream");
        let key = (
            selection.strategy.to_owned(),
            name(snapshot, selection.upstream),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn every_vector_through_the_api_answers_from_its_strategy_and_allowed_servers() {
    let cases = read_jsonl("upstream.jsonl");
    assert_eq!(cases.len(), 47);
    for (i, case) in cases.iter().enumerate() {
        let config = config(case["conf"].as_str().expect("conf"));
        let snapshot = snapshot(&case["topology"]);
        let (db, server) = (
            case["db"].as_str().unwrap(),
            case["server"].as_str().unwrap(),
        );
        for seed in [1, 2, 3] {
            let mut selector = selector(&config, &snapshot, seed);
            let Some(strategy) = case["strategy"].as_str() else {
                let outcome = selector.select(&snapshot, db, server);
                assert!(
                    matches!(outcome, Err(SelectError::NoUpstream(_))),
                    "case {i}"
                );
                continue;
            };
            let counts = tally(&mut selector, &snapshot, db, server, 300);
            let strategies: BTreeSet<&str> = counts.keys().map(|(s, _)| s.as_str()).collect();
            assert_eq!(strategies, BTreeSet::from([strategy]), "case {i}");
            let chosen: BTreeSet<String> = counts.keys().map(|(_, u)| u.clone()).collect();
            assert_eq!(chosen, strings(&case["allowed"]), "case {i}, seed {seed}");
        }
    }
}

#[test]
fn every_vector_through_the_binary_answers_from_its_strategy_and_allowed_servers() {
    let scratch = Scratch::new();
    for (i, case) in read_jsonl("upstream.jsonl").iter().enumerate() {
        let conf = scratch.file(&format!("{i}.conf"), case["conf"].as_str().unwrap());
        let topology = scratch.file(&format!("{i}.json"), &case["topology"].to_string());
        let run = tagroute(&[
            "upstream",
            "--config",
            &conf,
            "--topology",
            &topology,
            "--db",
            case["db"].as_str().unwrap(),
            "--server",
            case["server"].as_str().unwrap(),
            "--seed",
            "11",
            "--samples",
            "200",
        ]);
        let Some(strategy) = case["strategy"].as_str() else {
            assert_eq!(run.code, Some(1), "case {i}: {}", run.stdout);
            assert!(
                run.stderr.contains("no upstream"),
                "case {i}: {}",
                run.stderr
            );
            continue;
        };
        assert_eq!(run.code, Some(0), "case {i}: {}", run.stderr);
        let out = run.json();
        assert_eq!(out["samples"], json!(200), "case {i}");
        assert_eq!(out["strategies"], json!({ strategy: 200 }), "case {i}");
        let counts = out["counts"].as_object().expect("counts");
        let chosen: BTreeSet<String> = counts.keys().cloned().collect();
        assert!(
            chosen.is_subset(&strings(&case["allowed"])),
            "case {i}: {chosen:?}"
        );
        let total: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total, 200, "case {i}");
    }
}

/// The cluster of DESIGN section 6's example: north1 (`n1a` primary, `n1b`), north2 (`n2a` to
/// `n2d`, secondaries), south (`s1a`, `s1b`, primaries); `down` servers unavailable.
fn north(down: &[&str]) -> Value {
    let servers: Vec<Value> = [
        ("n1a", ["north1", "north"]),
        ("n1b", ["north1", "north"]),
        ("n2a", ["north2", "north"]),
        ("n2b", ["north2", "north"]),
        ("n2c", ["north2", "north"]),
        ("n2d", ["north2", "north"]),
        ("s1a", ["south1", "south"]),
        ("s1b", ["south1", "south"]),
    ]
    .iter()
    .map(|(name, tags)| {
        json!({
            "name": name,
            "address": format!("{name}.example.com:7687"),
            "tags": tags,
            "available": !down.contains(name),
        })
    })
    .collect();
    json!({
        "servers": servers,
        "databases": [{
            "name": "neo4j",
            "primaries": ["n1a", "s1a", "s1b"],
            "secondaries": ["n1b", "n2a", "n2b", "n2c", "n2d"],
            "leader": "s1a",
        }],
    })
}

fn user_defined(policy: &str) -> Config {
    config(&format!(
        "server.cluster.catchup.upstream_strategy=user-defined\n\
         server.cluster.catchup.user_defined_upstream_strategy={policy}\n"
    ))
}

/// The (strategy, upstream) pairs that answer `n2a` in 400 selections.
fn answers_to_n2a(config: &Config, topology: &Value) -> BTreeSet<(String, String)> {
    let snapshot = snapshot(topology);
    let mut selector = selector(config, &snapshot, 5);
    tally(&mut selector, &snapshot, "neo4j", "n2a", 400)
        .into_keys()
        .collect()
}

fn pairs(strategy: &str, servers: &[&str]) -> BTreeSet<(String, String)> {
    servers
        .iter()
        .map(|s| (strategy.to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn the_documented_policy_prefers_its_own_data_center_then_the_north_then_gives_way() {
    let config = user_defined("tags(north2); tags(north); halt()");
    assert_eq!(
        answers_to_n2a(&config, &north(&[])),
        pairs("user-defined", &["n2b", "n2c", "n2d"]),
        "another north2 server is up"
    );
    assert_eq!(
        answers_to_n2a(&config, &north(&["n2b", "n2c", "n2d"])),
        pairs("user-defined", &["n1a", "n1b"]),
        "n2a is the last of north2"
    );
    assert_eq!(
        answers_to_n2a(&config, &north(&["n1a", "n1b", "n2b", "n2c", "n2d"])),
        pairs("connect-to-random-primary-server", &["s1a", "s1b"]),
        "the rest of the north is down"
    );
}

#[test]
fn the_documented_min_policy_falls_through_to_all() {
    let config = user_defined("tags(north2)->min(3); tags(north)->min(3); all();");
    assert_eq!(
        answers_to_n2a(&config, &north(&[])),
        pairs("user-defined", &["n2b", "n2c", "n2d"])
    );
    assert_eq!(
        answers_to_n2a(&config, &north(&["n2d"])),
        pairs("user-defined", &["n1a", "n1b", "n2b", "n2c"])
    );
    assert_eq!(
        answers_to_n2a(&config, &north(&["n1b", "n2c", "n2d"])),
        pairs("user-defined", &["n1a", "n2b", "s1a", "s1b"])
    );
}

#[test]
fn typically_secondary_answers_exactly_one_primary_in_ten() {
    let config = config(
        "server.cluster.catchup.upstream_strategy=typically-connect-to-random-read-replica\n",
    );
    let snapshot = snapshot(&north(&[]));
    let mut selector = selector(&config, &snapshot, 21);
    let mut primary_calls = Vec::new();
    for call in 1..=1000 {
        let selection = selector.select(&snapshot, "neo4j", "n2a").unwrap();
        assert_eq!(selection.strategy, "typically-connect-to-random-secondary");
        let primaries = snapshot.database("neo4j").unwrap().primaries();
        if primaries.contains(selection.upstream) {
            primary_calls.push(call);
        }
    }
    assert_eq!(primary_calls, (1..=100).map(|k| 10 * k).collect::<Vec<_>>());
}

/// Pearson's chi-square of `counts` against the uniform distribution.
fn chi_square(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// The 99.9th percentile of chi-square with `k - 1` degrees of freedom, for `k` in 2..=5.
fn critical(k: usize) -> f64 {
    [10.83, 13.82, 16.27, 18.47][k - 2]
}

#[test]
fn random_choices_are_uniform_by_chi_square() {
    let cases = [
        ("connect-to-random-primary-server", "", 3),
        (
            "connect-randomly-to-server-tags",
            "server.cluster.catchup.connect_randomly_to_server_tags=north1,north2\n",
            4,
        ),
        (
            "user-defined",
            "server.cluster.catchup.user_defined_upstream_strategy=tags(north)\n",
            5,
        ),
        ("connect-randomly-within-server-group", "", 4),
    ];
    for (seed, (strategy, extra, expected)) in cases.iter().enumerate() {
        let config = config(&format!(
            "server.cluster.catchup.upstream_strategy={strategy}\n{extra}"
        ));
        let snapshot = snapshot(&north(&[]));
        let mut selector = selector(&config, &snapshot, 100 + seed as u64);
        let counts = tally(&mut selector, &snapshot, "neo4j", "n2a", 20_000);
        assert!(counts.keys().all(|(s, _)| s == strategy), "{counts:?}");
        let counts: Vec<usize> = counts.into_values().collect();
        assert_eq!(counts.len(), *expected, "{strategy}");
        let chi2 = chi_square(&counts);
        assert!(
            chi2 < critical(counts.len()),
            "{strategy}: {chi2} for {counts:?}"
        );
    }
}

#[test]
fn the_final_fallback_is_a_random_primary() {
    let snapshot = snapshot(&north(&[]));
    for conf in [
        "",
        "server.cluster.catchup.upstream_strategy=user-defined,leader-only\n",
        "server.cluster.catchup.upstream_strategy=user_defined\n",
    ] {
        let config = config(conf);
        let mut selector = selector(&config, &snapshot, 8);
        let answers: BTreeSet<_> = tally(&mut selector, &snapshot, "neo4j", "s1a", 200)
            .into_keys()
            .collect();
        assert_eq!(
            answers,
            pairs("connect-to-random-primary-server", &["n1a", "s1b"]),
            "{conf:?}"
        );
    }
}

#[test]
fn aliases_answer_under_the_neo4j_5_names() {
    let snapshot = snapshot(&north(&[]));
    for (alias, canonical) in [
        (
            "connect-to-random-core-server",
            "connect-to-random-primary-server",
        ),
        (
            "typically-connect-to-random-read-replica",
            "typically-connect-to-random-secondary",
        ),
        (
            "connect-randomly-to-server-group",
            "connect-randomly-to-server-tags",
        ),
        (
            "connect-randomly-to-server-with-tag",
            "connect-randomly-to-server-tags",
        ),
    ] {
        let config = config(&format!(
            "server.cluster.catchup.upstream_strategy={alias}\n\
             server.cluster.catchup.connect_randomly_to_server_tags=north1\n"
        ));
        let mut selector = selector(&config, &snapshot, 3);
        let selection = selector.select(&snapshot, "neo4j", "n2a").unwrap();
        assert_eq!(selection.strategy, canonical, "{alias}");
    }
}

#[test]
fn an_embedders_strategy_is_asked_in_its_place() {
    let config = config(
        "server.cluster.catchup.upstream_strategy=leader-only-if-south,same-data-center,\
         leader-only\n",
    );
    let snapshot = snapshot(&north(&[]));
    let south = snapshot.interner().get("south").unwrap();
    let leader_if_south = move |request: &Request<'_>, _: &mut Rng| {
        let leader = request.database().leader().ok_or(NoAnswer::NoLeader)?;
        let tags = request.snapshot().tags_of(request.server());
        match tags.contains(&south) {
            true => Ok(leader),
            false => Err(NoAnswer::Other("the asking server is not in the south")),
        }
    };
    let same_data_center = |request: &Request<'_>, rng: &mut Rng| {
        let snapshot = request.snapshot();
        let tags = snapshot.tag_names_of(request.server());
        let data_center = tags
            .iter()
            .find(|t| t.ends_with(|c: char| c.is_ascii_digit()));
        let mut same = request.secondaries().clone();
        same.intersect_with(&snapshot.tagged_by_name(data_center.map_or("", |t| t)))
            .map_err(|_| NoAnswer::Other("sets of two snapshots"))?;
        same.pick(rng)
            .ok_or(NoAnswer::Other("alone in its data center"))
    };
    let mut selector = Selector::builder(config.catchup())
        .register("same-data-center", same_data_center)
        .and_then(|b| b.register("leader-only-if-south", leader_if_south))
        .expect("the names are free")
        .rng(Rng::seeded(2))
        .build(snapshot.interner());
    assert_eq!(
        selector.strategies().collect::<Vec<_>>(),
        [
            "leader-only-if-south",
            "same-data-center",
            "leader-only",
            "connect-to-random-primary-server"
        ]
    );
    let answers: BTreeSet<_> = tally(&mut selector, &snapshot, "neo4j", "n2a", 200)
        .into_keys()
        .collect();
    assert_eq!(answers, pairs("same-data-center", &["n2b", "n2c", "n2d"]));
    let answers: BTreeSet<_> = tally(&mut selector, &snapshot, "neo4j", "s1b", 50)
        .into_keys()
        .collect();
    assert_eq!(answers, pairs("leader-only-if-south", &["s1a"]));
}

#[test]
fn no_upstream_exits_1_with_each_strategy_and_its_reason() {
    let scratch = Scratch::new();
    let conf = scratch.file(
        "neo4j.conf",
        "server.cluster.catchup.upstream_strategy=leader-only,user-defined,round-robin\n\
         server.cluster.catchup.user_defined_upstream_strategy=tags(east); halt()\n",
    );
    let topology = scratch.file("t.json", &north(&["s1a", "s1b"]).to_string());
    let run = tagroute(&[
        "upstream",
        "--config",
        &conf,
        "--topology",
        &topology,
        "--db",
        "neo4j",
        "--server",
        "n1a",
    ]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: no upstream for server `n1a` on database `neo4j`; every strategy was asked:\n  \
         leader-only: the leader is unavailable\n  \
         user-defined: the user-defined policy selected no server\n  \
         connect-to-random-primary-server: no other primary of the database is available\n"
    );
}

#[test]
fn one_selection_and_errors_through_the_binary() {
    let scratch = Scratch::new();
    let conf = scratch.file(
        "neo4j.conf",
        "server.cluster.catchup.upstream_strategy=user-defined\n\
         server.cluster.catchup.user_defined_upstream_strategy=tags(north2); halt()\n",
    );
    let topology = scratch.file("t.json", &north(&["n2c", "n2d"]).to_string());
    let run_for = |db: &str, server: &str, extra: &[&str]| {
        let mut args = vec![
            "upstream",
            "--config",
            &conf,
            "--topology",
            &topology,
            "--db",
            db,
            "--server",
            server,
        ];
        args.extend_from_slice(extra);
        tagroute(&args)
    };
    let run = run_for("neo4j", "n2a", &["--seed", "1"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.json(),
        json!({"strategy": "user-defined", "upstream": "n2b"})
    );
    assert!(
        run.stdout.starts_with(r#"{"strategy":"#),
        "key order: {}",
        run.stdout
    );

    let run = run_for("neo4j", "n2a", &["--seed", "1", "--samples", "3"]);
    assert_eq!(
        run.json(),
        json!({"samples": 3, "strategies": {"user-defined": 3}, "counts": {"n2b": 3}})
    );

    let outsider = scratch.file(
        "outsider.json",
        &json!({"servers": [{"name": "x", "address": "x:1"}, {"name": "p", "address": "p:1"}],
                "databases": [{"name": "neo4j", "primaries": ["p"]}]})
        .to_string(),
    );
    let run = tagroute(&[
        "upstream",
        "--config",
        &conf,
        "--topology",
        &outsider,
        "--db",
        "neo4j",
        "--server",
        "x",
    ]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "error: server `x` does not host database `neo4j`\n"
    );
    assert_eq!(
        run_for("nope", "n2a", &[]).stderr,
        "error: unknown database `nope`; the databases are neo4j\n"
    );
    for samples in ["0", "10000001", "18446744073709551615"] {
        let run = run_for("neo4j", "n2a", &["--samples", samples]);
        assert_eq!(run.code, Some(2), "--samples {samples} is a usage error");
        assert!(
            run.stderr
                .contains(&format!("invalid value '{samples}' for '--samples <K>'"))
                && run.stderr.contains("1..=10000000"),
            "{}",
            run.stderr
        );
    }

    let broken = scratch.file("broken.conf", "dbms.routing_ttl=soon\n");
    let run = tagroute(&[
        "upstream",
        "--config",
        &broken,
        "--topology",
        &topology,
        "--db",
        "neo4j",
        "--server",
        "n2a",
    ]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("broken.conf:1:"), "{}", run.stderr);
}
