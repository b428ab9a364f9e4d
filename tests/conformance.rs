//! The shared conformance vectors: Neo4j's own parser cases, the documentation's examples, and
//! generated policies with their results on four topologies.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use tagroute::compile::compile;
use tagroute::topology::{ServerSet, Snapshot, TagInterner, TopologySpec, from_json};
use tagroute::{Strictness, reference, syntax, vm};

use crate::util::{data_dir, read_jsonl, reference_rules_json, rules_json};

/// What a vector expects of one mode: rejected, or accepted with these rules.
fn expectation(case: &Value, accepted_key: &str) -> Option<(Value, bool)> {
    case[accepted_key]
        .as_bool()
        .expect("boolean")
        .then(|| (case["rules"].clone(), case["halt"].as_bool().expect("halt")))
}

fn check_parsers(case: &Value) {
    let text = case["policy"].as_str().expect("policy text");
    for (strictness, key) in [
        (Strictness::Strict, "neo4j"),
        (Strictness::Default, "tagroute"),
    ] {
        let expected = expectation(case, key);
        let ours = syntax::parse(text, strictness).map(|p| p.normalize());
        let ours = ours.as_ref().ok().map(|n| (rules_json(n), n.halts));
        assert_eq!(ours, expected, "syntax::parse({text:?}, {strictness:?})");
        let oracle = reference::parse(text, strictness);
        let oracle = oracle
            .as_ref()
            .ok()
            .map(|p| (reference_rules_json(p), p.halts));
        assert_eq!(
            oracle, expected,
            "reference::parse({text:?}, {strictness:?})"
        );
    }
    if let (Some(message), Err(rejected)) =
        (case["neo4j_error"].as_str(), reference::parse_neo4j(text))
    {
        assert_eq!(
            rejected.0, message,
            "the reference words its errors as Neo4j does: {text:?}"
        );
    }
}

#[test]
fn neo4j_cases_parse_as_neo4j_and_tagroute_expect() {
    let cases = read_jsonl("neo4j_cases.jsonl");
    assert!(cases.len() > 100);
    cases.iter().for_each(check_parsers);
}

#[test]
fn random_policies_parse_as_expected() {
    let cases = read_jsonl("random/policies.jsonl");
    assert!(cases.len() >= 600);
    cases.iter().for_each(check_parsers);
}

/// The four topologies of `random/`, by name.
pub fn random_topologies() -> Vec<(String, TopologySpec)> {
    let mut paths: Vec<_> = std::fs::read_dir(data_dir().join("random"))
        .expect("random/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".topology.json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .trim_end_matches(".topology.json");
            let spec =
                from_json(&std::fs::read_to_string(&p).expect("read")).expect("valid topology");
            (name.to_owned(), spec)
        })
        .collect()
}

#[test]
fn random_policies_select_the_expected_servers_in_the_reference() {
    let topologies = random_topologies();
    assert_eq!(topologies.len(), 4);
    let mut checked = 0;
    for case in read_jsonl("random/policies.jsonl") {
        let Ok(policy) =
            reference::parse(case["policy"].as_str().expect("text"), Strictness::Default)
        else {
            continue;
        };
        for (name, spec) in &topologies {
            let expected: BTreeSet<String> = serde_json::from_value(case["results"][name].clone())
                .expect("results for every topology");
            let got = reference::evaluate_on(&policy, spec, &reference::available(spec));
            assert_eq!(got, expected, "{} on {name}", case["policy"]);
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} evaluations");
}

#[test]
fn random_policies_select_the_expected_servers_in_the_vm() {
    let topologies: Vec<(String, Snapshot)> = random_topologies()
        .into_iter()
        .map(|(name, spec)| {
            let snapshot = Snapshot::build(&spec, &TagInterner::new())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, snapshot)
        })
        .collect();
    let mut out = ServerSet::default();
    let mut checked = 0;
    for case in read_jsonl("random/policies.jsonl") {
        let Ok(policy) = syntax::parse(case["policy"].as_str().expect("text"), Strictness::Default)
        else {
            continue;
        };
        for (name, snapshot) in &topologies {
            let program = compile(&policy, snapshot.interner()).expect("compiles");
            vm::eval(&program, snapshot, snapshot.available(), &mut out).expect("evaluates");
            let mut got: Vec<&str> = snapshot.names(&out);
            got.sort_unstable();
            let expected: Vec<String> =
                serde_json::from_value(case["results"][name].clone()).expect("results");
            assert_eq!(got, expected, "{} on {name}", case["policy"]);
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} evaluations");
}

#[test]
fn the_topologies_build_into_snapshots() {
    for (name, spec) in random_topologies() {
        let snapshot =
            Snapshot::build(&spec, &TagInterner::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(snapshot.len(), spec.servers.len());
    }
}

#[test]
fn the_copies_match_the_shared_vectors() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if !shared.is_dir() {
        return; // a clone without the shared folder: the copies are all there is
    }
    for file in [
        "neo4j_cases.jsonl",
        "routing.jsonl",
        "upstream.jsonl",
        "random/policies.jsonl",
    ] {
        let copy = std::fs::read(data_dir().join(file)).expect("copy");
        let original = std::fs::read(shared.join(file)).expect("original");
        assert!(
            copy == original,
            "tests/data/{file} differs from ../shared/conformance/{file}: copy it again"
        );
    }
}
