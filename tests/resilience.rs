//! What-if and resilience: every scenario of random clusters against the reference interpreter
//! on a topology rebuilt with the failed servers down; the CLI's JSON Lines, HTML and what-if
//! diff on the demo cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use tagroute::config::Config;
use tagroute::resilience::{Analysis, Answer, Domains, FindingKind, Record};
use tagroute::topology::{DatabaseSpec, ServerSpec, Snapshot, TagInterner, TopologySpec};
use tagroute::{Strictness, reference, syntax};

use crate::cli::{tagroute, temp_file};
use crate::routing::reference_roles;

type Names = BTreeSet<String>;

const POLICY_KEY: &str = "dbms.routing.load_balancing.config.server_policies.";

/// A random cluster: servers in data centers `dc0..`, regions `r0`/`r1` by data center
/// parity, a cross-cutting `ssd` tag, some servers down; one or two databases.
fn cluster() -> impl Strategy<Value = TopologySpec> {
    (2..14usize, 2..5usize)
        .prop_flat_map(|(n, dcs)| {
            (
                prop::collection::vec((0..dcs, any::<bool>(), 0..6u8), n),
                prop::collection::vec(prop::collection::vec(0..4u8, n), 1..3),
            )
        })
        .prop_map(|(servers, databases)| {
            let servers: Vec<ServerSpec> = servers
                .iter()
                .enumerate()
                .map(|(i, &(dc, ssd, up))| {
                    let mut tags = vec![format!("dc{dc}"), format!("r{}", dc % 2)];
                    if ssd {
                        tags.push("ssd".into());
                    }
                    ServerSpec::new(format!("s{i}"), format!("s{i}:7687"))
                        .with_tags(tags)
                        .with_available(up != 0)
                })
                .collect();
            let databases = databases
                .iter()
                .enumerate()
                .map(|(d, roles)| database(d, roles, &servers))
                .collect();
            TopologySpec { servers, databases }
        })
}

/// Database `d`: role 0 none, 1 primary, 2 secondary, 3 primary; the first primary leads.
fn database(d: usize, roles: &[u8], servers: &[ServerSpec]) -> DatabaseSpec {
    let with = |wanted: &[u8]| -> Vec<String> {
        roles
            .iter()
            .zip(servers)
            .filter(|(r, _)| wanted.contains(r))
            .map(|(_, s)| s.name.clone())
            .collect()
    };
    let primaries = with(&[1, 3]);
    DatabaseSpec {
        name: format!("db{d}"),
        leader: primaries.first().cloned(),
        primaries,
        secondaries: with(&[2]),
        ..DatabaseSpec::default()
    }
}

fn policy_text() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(vec!["dc0", "dc1", "dc2", "r0", "r1", "ssd", "ghost"]);
    let filter = prop_oneof![
        3 => prop::collection::vec(tag, 1..3).prop_map(|t| format!("tags({})", t.join(","))),
        1 => (0..4i32).prop_map(|n| format!("min({n})")),
    ];
    let rule = prop::collection::vec(filter, 0..3).prop_map(|filters| {
        if filters.is_empty() {
            "all()".to_owned()
        } else {
            filters.join("->")
        }
    });
    (prop::collection::vec(rule, 1..4), any::<bool>()).prop_map(|(mut rules, halt)| {
        if halt {
            rules.push("halt()".into());
        }
        rules.join("; ")
    })
}

fn config_text(policies: &[String], reads_on_primaries: bool, reads_on_writers: bool) -> String {
    let mut text = format!(
        "dbms.routing.reads_on_primaries_enabled={reads_on_primaries}\n\
         dbms.routing.reads_on_writers_enabled={reads_on_writers}\n"
    );
    for (i, p) in policies.iter().enumerate() {
        text.push_str(&format!("{POLICY_KEY}p{i}={p}\n"));
    }
    text
}

/// `spec` with the servers of `down` unavailable: the topology the scenario stands for.
fn rebuilt(spec: &TopologySpec, down: &Names) -> TopologySpec {
    let mut spec = spec.clone();
    for server in &mut spec.servers {
        if down.contains(&server.name) {
            server.available = false;
        }
    }
    spec
}

fn reference_eval(text: &str, spec: &TopologySpec, candidates: &Names) -> Names {
    let policy = reference::parse(text, Strictness::Default).expect("the reference parses it");
    reference::evaluate_on(&policy, spec, candidates)
}

/// One record against the reference on the rebuilt topology: the table's roles, the readers
/// the whole policy selects, and that the rule named is the first one that selects anyone.
fn check_record(record: &Record<'_>, snapshot: &Snapshot, spec: &TopologySpec, config: &Config) {
    let names = |set| -> Names { snapshot.names(set).into_iter().map(str::to_owned).collect() };
    let down = names(record.scenario().down());
    let spec = rebuilt(spec, &down);
    let policy = config.policy(record.policy()).expect("configured");
    let (candidates, writer, routers) =
        reference_roles(&spec, record.database().name(), config.routing(), &[]);
    let outcome = record.outcome();
    let context = format!(
        "{} / {:?} with {down:?} down",
        record.database().name(),
        policy.text()
    );
    let readers = names(outcome.readers());
    assert_eq!(
        readers,
        reference_eval(policy.text(), &spec, &candidates),
        "{context}"
    );
    let writers: Names = outcome
        .writer()
        .iter()
        .map(|&w| snapshot.server(w).expect("known").name().to_owned())
        .collect();
    assert_eq!(writers, writer, "{context}");
    assert_eq!(names(outcome.routers()), routers, "{context}");
    assert_eq!(
        record.is_outage(),
        readers.is_empty() || routers.is_empty(),
        "{context}"
    );
    let alone = |rule: &syntax::Rule| {
        let text = &policy.text()[rule.span.range()];
        reference_eval(&format!("{text}; halt()"), &spec, &candidates)
    };
    let parsed = policy.policy();
    let rules = &parsed.rules;
    let answered = match outcome.answer() {
        Answer::Rule(n) => {
            let rule = rules.get(n - 1).expect("a written rule");
            assert_eq!(alone(rule), readers, "{context}: rule {n} alone");
            n - 1
        }
        Answer::Implicit => {
            assert_eq!(readers, candidates, "{context}: the implicit all()");
            rules.len()
        }
        Answer::Nothing => {
            assert!(readers.is_empty(), "{context}");
            rules.len()
        }
    };
    for rule in rules.iter().take(answered).filter(|r| !r.is_dropped()) {
        assert!(
            alone(rule).is_empty(),
            "{context}: an earlier rule selects someone"
        );
    }
    let load: f64 = record.load().map(|(_, share)| share).sum();
    if !readers.is_empty() {
        assert!((load - 1.0).abs() < 1e-9, "{context}: load sums to {load}");
    }
}

#[test]
fn every_scenario_equals_the_reference_on_a_rebuilt_topology() {
    let strategy = (
        cluster(),
        prop::collection::vec(policy_text(), 1..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    let config = RunnerConfig {
        cases: 96,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[13; 32]));
    let mut records = 0usize;
    for _ in 0..96 {
        let (spec, policies, on_primaries, on_writers, by_server) =
            strategy.new_tree(&mut runner).expect("a case").current();
        let text = config_text(&policies, on_primaries, on_writers);
        let config = Config::parse(&text, Path::new("neo4j.conf"), Strictness::Default)
            .expect("valid config");
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid topology");
        let analysis = Analysis::new(&snapshot, &config).expect("compiles");
        let domains = match Domains::data_centers(&snapshot) {
            Ok(domains) if !by_server => domains,
            _ => Domains::servers(&snapshot),
        };
        analysis
            .sweep(&domains, 2, |record| {
                records += 1;
                check_record(record, &snapshot, &spec, &config);
            })
            .expect("sweeps");
    }
    assert!(records > 5_000, "only {records} records");
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_lines_have_a_header_every_record_in_order_and_the_findings() {
    let run = tagroute(
        &["resilience", "--demo", "--depth", "2", "--format", "json"],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines = json_lines(&run.stdout);
    let header = &lines[0];
    assert_eq!(header["depth"], 2);
    let domains: Vec<&str> = header["domains"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d.as_str().expect("name"))
        .collect();
    assert_eq!(
        domains,
        [
            "north1", "north2", "south1", "south2", "east1", "east2", "west1", "west2"
        ]
    );
    assert_eq!(header["scenarios"], 1 + 8 + 28);
    // 3 databases x 5 policies per scenario, then the findings.
    assert_eq!(lines.len(), 1 + 37 * 15 + 1);
    let first = &lines[1];
    assert_eq!(first["down"], serde_json::json!([]));
    assert_eq!(
        (first["db"].as_str(), first["policy"].as_str()),
        (Some("neo4j"), Some("default"))
    );
    let record = |down: &[&str], db: &str, policy: &str| -> &Value {
        lines[1..lines.len() - 1]
            .iter()
            .find(|r| {
                r["down"] == serde_json::json!(down) && r["db"] == db && r["policy"] == policy
            })
            .unwrap_or_else(|| panic!("no record for {down:?} {db} {policy}"))
    };
    let today = record(&[], "neo4j", "north1_only");
    assert_eq!(today["rule"], 1);
    assert_eq!(today["readers"], serde_json::json!(["n1a", "n1b"]));
    assert_eq!(today["writers"], serde_json::json!(["n2a"]));
    assert_eq!(today["load"], serde_json::json!({"n1a": 0.5, "n1b": 0.5}));
    let failed = record(&["north1"], "neo4j", "north1_only");
    assert_eq!(
        (failed["rule"].clone(), failed["outage"].clone()),
        (Value::Null, Value::Bool(true))
    );
    assert_eq!(failed["routers"], serde_json::json!(["n2a", "s1a"]));
    let fallback = record(&["north1"], "neo4j", "north_app1");
    assert_eq!(
        (fallback["rule"].clone(), fallback["readers"].clone()),
        (serde_json::json!(2), serde_json::json!(["n2b"]))
    );
    assert_eq!(fallback["growth"]["n2b"].as_f64(), Some(3.0));
    let implicit = record(&["north1"], "neo4j", "north1");
    assert_eq!(implicit["rule"], "implicit");
    assert_eq!(
        record(&["north2"], "neo4j", "north1")["writers"],
        serde_json::json!([])
    );
    for r in &lines[1..lines.len() - 1] {
        let load = r["load"].as_object().expect("load");
        let sum: f64 = load.values().map(|v| v.as_f64().expect("share")).sum();
        assert!(load.is_empty() || (sum - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(
            r["outage"],
            r["readers"] == serde_json::json!([]) || r["routers"] == serde_json::json!([])
        );
    }
    let findings = lines.last().expect("findings")["findings"]
        .as_array()
        .expect("list")
        .clone();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    let mut ranked = kinds.clone();
    ranked.sort_by_key(|k| {
        [
            "outage",
            "no-quorum",
            "no-upstream",
            "leader-priority",
            "leaves-region",
            "load",
            "upstream-fallback",
        ]
        .iter()
        .position(|x| x == k)
    });
    assert_eq!(kinds, ranked, "findings are ranked by kind");
    let outage = findings
        .iter()
        .find(|f| f["kind"] == "outage" && f["db"] == "neo4j" && f["subject"] == "north1_only")
        .expect("north1_only fails with north1");
    assert_eq!(
        (outage["example"].clone(), outage["scenarios"].clone()),
        (serde_json::json!(["north1"]), serde_json::json!(8))
    );
    assert!(findings.iter().any(|f| f["kind"] == "leader-priority"
        && f["subject"] == "north1"
        && f["example"] == serde_json::json!(["north1"])));
    assert!(findings.iter().any(|f| f["kind"] == "load"
        && f["subject"] == "north_app1"
        && f["servers"] == serde_json::json!(["n2b"])));
}

#[test]
fn findings_cover_upstreams_quorum_and_regions_through_the_api() {
    let server = |n: &str, tags: &[&str]| {
        ServerSpec::new(n, format!("{n}:7687")).with_tags(tags.iter().copied())
    };
    let spec = TopologySpec {
        servers: vec![
            server("a1", &["dc1", "eu"]),
            server("a2", &["dc1", "eu"]),
            server("b1", &["dc2", "eu"]),
            server("c1", &["dc3", "asia"]),
        ],
        databases: vec![DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["a1".into(), "b1".into(), "c1".into()],
            secondaries: vec!["a2".into()],
            leader: Some("a1".into()),
            ..DatabaseSpec::default()
        }],
    };
    let conf = "dbms.routing.load_balancing.config.server_policies.eu=tags(eu)\n\
                server.cluster.catchup.upstream_strategy=user-defined\n\
                server.cluster.catchup.user_defined_upstream_strategy=tags(dc1); halt()\n";
    let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default).expect("valid");
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid");
    let analysis = Analysis::new(&snapshot, &config).expect("compiles");
    let domains = Domains::data_centers(&snapshot).expect("data centers");
    let findings = analysis.sweep(&domains, 2, |_| {}).expect("sweeps");
    let shown: BTreeMap<(FindingKind, String), Vec<String>> = findings
        .iter()
        .map(|f| ((f.kind(), f.subject().to_owned()), f.example().to_vec()))
        .collect();
    // `eu` reads from dc1 and dc2 (eu); with both down only c1 (asia) is left. Two of three
    // primaries down is no majority.
    assert_eq!(
        shown.get(&(FindingKind::LeavesRegion, "eu".into())),
        Some(&vec!["dc1".to_owned(), "dc2".to_owned()])
    );
    assert_eq!(
        shown.get(&(FindingKind::NoQuorum, "neo4j".into())),
        Some(&vec!["dc1".to_owned(), "dc2".to_owned()])
    );
    // a2's user-defined strategy wants its dc1 peer a1; with a1 down only the last resort,
    // a random primary, answers.
    let by_server = Domains::servers(&snapshot);
    let findings = analysis.sweep(&by_server, 1, |_| {}).expect("sweeps");
    let fallback = findings
        .iter()
        .find(|f| f.kind() == FindingKind::UpstreamFallback)
        .expect("a2 falls back to a random primary when a1 fails");
    assert_eq!(
        (fallback.subject(), fallback.example()),
        ("a2", &["a1".to_owned()][..])
    );
}

#[test]
fn whatif_prints_tables_and_upstreams_before_and_after() {
    let run = tagroute(
        &[
            "whatif",
            "--demo",
            "--down",
            "n1a,tag:north2",
            "--format",
            "json",
            "--seed",
            "3",
            "--db",
            "neo4j",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["down"], serde_json::json!(["n1a", "tag:north2"]));
    assert_eq!(
        out["servers_down"],
        serde_json::json!(["n1a", "n2a", "n2b"])
    );
    let tables = out["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 5, "neo4j x 5 policies");
    let app = tables
        .iter()
        .find(|t| t["policy"] == "north_app1")
        .expect("north_app1");
    assert_eq!(
        app["before"],
        serde_json::json!({"rule": 1, "readers": ["n1a", "n1b", "n2b"], "writers": ["n2a"], "routers": ["n1a", "n2a", "s1a"]})
    );
    assert_eq!(
        app["after"],
        serde_json::json!({"rule": 2, "readers": ["n1b"], "writers": [], "routers": ["s1a"]})
    );
    let upstreams = out["upstreams"].as_array().expect("upstreams");
    let n1b = upstreams
        .iter()
        .find(|u| u["server"] == "n1b")
        .expect("n1b is up");
    assert_eq!(n1b["before"]["strategy"], "user-defined");
    assert!(["n2a", "n2b"].contains(&n1b["before"]["upstream"].as_str().expect("name")));
    // `tags(north2); tags(north); halt()` among the others: north2 and n1a are down, so the
    // user-defined strategy has no answer and the next one in the list answers.
    assert_eq!(
        n1b["after"]["strategy"],
        "typically-connect-to-random-secondary"
    );
    assert!(
        upstreams.iter().all(|u| u["server"] != "n2b"),
        "down secondaries need no upstream"
    );
    let text = tagroute(
        &[
            "whatif",
            "--demo",
            "--down",
            "tag:north1",
            "--seed",
            "3",
            "--db",
            "neo4j",
            "--policy",
            "north1_only",
        ],
        "",
    );
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .contains("neo4j/north1_only: rule 1 -> nothing  ** OUTAGE"),
        "{text:?}"
    );
    assert!(
        text.stdout
            .contains("readers: n1a, n1b -> none (lost n1a, n1b)"),
        "{text:?}"
    );
}

#[test]
fn bad_input_is_an_error_with_exit_status_1_or_2() {
    let run = tagroute(&["whatif", "--demo", "--down", "tag:nrth1"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("unknown tag `nrth1`; the tags are "),
        "{run:?}"
    );
    let run = tagroute(&["resilience", "--demo", "--db", "nope"], "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("unknown database `nope`; the databases are neo4j, orders, payments"),
        "{run:?}"
    );
    let run = tagroute(&["resilience", "--demo", "--policy", "nope"], "");
    assert_eq!(run.code, 1, "{run:?}");
    let servers: Vec<Value> = (0..200)
        .map(|i| serde_json::json!({"name": format!("s{i}"), "address": format!("s{i}:7687")}))
        .collect();
    let big = temp_file(
        "big.json",
        &serde_json::json!({ "servers": servers }).to_string(),
    );
    let conf = temp_file("big.conf", "");
    let run = tagroute(
        &[
            "resilience",
            "--config",
            &conf.to_string_lossy(),
            "--topology",
            &big.to_string_lossy(),
            "--server-domains",
            "--depth",
            "5",
        ],
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("exceed the limit"), "{run:?}");
    let run = tagroute(
        &[
            "resilience",
            "--demo",
            "--domains",
            "north1",
            "--server-domains",
        ],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    let run = tagroute(&["resilience", "--config", "x.conf"], "");
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn files_and_domain_choices_reach_the_sweep() {
    let topology = temp_file(
        "resilience.json",
        r#"{"servers": [
            {"name": "a", "address": "a:7687", "tags": ["dc-1"]},
            {"name": "b", "address": "b:7687", "tags": ["dc-2"]},
            {"name": "c", "address": "c:7687", "tags": ["dc-2"]}],
           "databases": [{"name": "neo4j", "primaries": ["a", "b", "c"], "leader": "a"}]}"#,
    );
    let conf = temp_file(
        "resilience.conf",
        &format!("{POLICY_KEY}one=tags(dc-1); halt()\n"),
    );
    let (t, c) = (topology.to_string_lossy(), conf.to_string_lossy());
    let header = |args: &[&str]| {
        let mut all = vec![
            "resilience",
            "--config",
            &c,
            "--topology",
            &t,
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let run = tagroute(&all, "");
        assert_eq!(run.code, 0, "{run:?}");
        json_lines(&run.stdout)[0].clone()
    };
    assert_eq!(header(&[])["domains"], serde_json::json!(["dc-1", "dc-2"]));
    assert_eq!(
        header(&["--domains-from", "dc-?", "--depth", "1"])["scenarios"],
        3
    );
    assert_eq!(
        header(&["--server-domains", "--depth", "3"])["scenarios"],
        8
    );
    assert_eq!(
        header(&["--domains", "dc-2"])["domains"],
        serde_json::json!(["dc-2"])
    );
    let out = temp_file("resilience.html", "");
    let run = tagroute(
        &[
            "resilience",
            "--config",
            &c,
            "--topology",
            &t,
            "--format",
            "html",
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:?}");
    let page = std::fs::read_to_string(&out).expect("written");
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<td class=\"outage\""),
        "{page}"
    );
    assert!(
        !page.contains("src=") && !page.contains("href=") && !page.contains("@import"),
        "self-contained"
    );
}

/// `explain`'s answer as the resilience JSON writes a rule: the 1-based number as written,
/// `"implicit"` for the implicit `all()` (or a policy whose rules are all dropped), `null`.
fn explain_rule(answer: &Value) -> Value {
    match answer["kind"].as_str() {
        Some("rule") => answer["rule"].clone(),
        Some("implicit-all" | "all-rules-dropped") => Value::from("implicit"),
        Some("halt") => Value::Null,
        other => panic!("unexpected answer kind {other:?}: {answer}"),
    }
}

#[test]
fn rule_numbers_agree_across_explain_whatif_and_resilience() {
    // Secondaries a1, a2 (tag a) and b1 (tag b) are the only readers: the leader p does not
    // read, so `explain --down p,...` sees the candidates the routing table starts from.
    let topology = temp_file(
        "rule-numbers.json",
        r#"{"servers": [
            {"name": "p", "address": "p:7687", "tags": ["dcp"]},
            {"name": "a1", "address": "a1:7687", "tags": ["a"]},
            {"name": "a2", "address": "a2:7687", "tags": ["a"]},
            {"name": "b1", "address": "b1:7687", "tags": ["b"]}
        ], "databases": [
            {"name": "neo4j", "primaries": ["p"], "secondaries": ["a1", "a2", "b1"], "leader": "p"}
        ]}"#,
    );
    // Dropped rules (a leading `all()`, `all()` between rules), a repeated rule, the halt
    // rule, the implicit `all()`: each shifts `explain`'s numbering if it counted only the
    // rules that run.
    let policies = [
        ("dropped", "all(); tags(a); halt()"),
        ("repeated", "tags(a); tags(a); tags(b)"),
        ("middle", "tags(a)->min(3); all(); tags(b)->min(1); halt()"),
        ("implicit", "all(); tags(a)->min(5)"),
        ("halting", "tags(b); halt()"),
    ];
    let mut conf = String::from(
        "dbms.routing.reads_on_primaries_enabled=false\n\
         dbms.routing.reads_on_writers_enabled=false\n",
    );
    for (name, text) in policies {
        conf.push_str(&format!("{POLICY_KEY}{name}={text}\n"));
    }
    let conf = temp_file("rule-numbers.conf", &conf);
    let (topology, conf) = (
        topology.to_str().expect("utf-8"),
        conf.to_str().expect("utf-8"),
    );
    let run = tagroute(
        &[
            "resilience",
            "--config",
            conf,
            "--topology",
            topology,
            "--domains",
            "a,b",
            "--depth",
            "1",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines = json_lines(&run.stdout);
    let servers_of = |down: &[Value]| -> Vec<&str> {
        match down {
            [] => vec![],
            [d] if d == "a" => vec!["a1", "a2"],
            [d] if d == "b" => vec!["b1"],
            other => panic!("unexpected scenario {other:?}"),
        }
    };
    let mut checked = BTreeSet::new();
    for record in lines.iter().filter(|l| l.get("policy").is_some()) {
        let policy = record["policy"].as_str().expect("name");
        let Some(&(_, text)) = policies.iter().find(|(n, _)| *n == policy) else {
            continue; // `default`
        };
        let down_domains = record["down"].as_array().expect("list");
        let mut down = vec!["p"];
        down.extend(servers_of(down_domains));
        let down = down.join(",");
        let explain = |format: &str| {
            tagroute(
                &[
                    "explain",
                    "--topology",
                    topology,
                    "--policy",
                    text,
                    "--down",
                    &down,
                    "--format",
                    format,
                ],
                "",
            )
        };
        let json = explain("json");
        assert_eq!(json.code, 0, "{json:?}");
        let explained = json.json();
        // The same evaluation: explain's result is the record's readers.
        assert_eq!(
            explained["result"], record["readers"],
            "{policy} down {down}"
        );
        let rule = explain_rule(&explained["answer"]);
        assert_eq!(record["rule"], rule, "{policy} down {down}: {explained}");
        // The text names the same rule.
        let text_run = explain("text");
        let answer_line = text_run
            .stdout
            .lines()
            .find(|l| l.starts_with("answer:"))
            .unwrap_or_else(|| panic!("no answer line: {text_run:?}"));
        if let Some(n) = rule.as_u64() {
            assert_eq!(
                answer_line,
                format!("answer: rule {n}"),
                "{policy} down {down}"
            );
        }
        // whatif: the table before is the scenario with nothing down, the one after this one.
        if let [domain] = down_domains.as_slice() {
            let spec = format!("tag:{}", domain.as_str().expect("name"));
            let whatif = tagroute(
                &[
                    "whatif",
                    "--config",
                    conf,
                    "--topology",
                    topology,
                    "--down",
                    &spec,
                    "--policy",
                    policy,
                    "--format",
                    "json",
                ],
                "",
            );
            assert_eq!(whatif.code, 0, "{whatif:?}");
            let tables = whatif.json()["tables"].clone();
            let [table] = tables.as_array().expect("list").as_slice() else {
                panic!("one table: {tables}");
            };
            assert_eq!(table["after"]["rule"], rule, "whatif {policy} down {spec}");
            assert_eq!(table["after"]["readers"], record["readers"]);
        }
        checked.insert((policy, rule.to_string()));
    }
    // Every policy in three scenarios, and the answers cover rules past dropped ones, the
    // implicit `all()` and nothing.
    assert_eq!(checked.iter().filter(|(p, _)| *p == "dropped").count(), 2);
    for expected in [
        ("dropped", "2"),
        ("dropped", "null"),
        ("repeated", "1"),
        ("repeated", "3"),
        ("middle", "3"),
        ("implicit", "\"implicit\""),
        ("halting", "1"),
        ("halting", "null"),
    ] {
        let expected = (expected.0, expected.1.to_owned());
        assert!(
            checked.contains(&expected),
            "{expected:?} not seen: {checked:?}"
        );
    }
}
