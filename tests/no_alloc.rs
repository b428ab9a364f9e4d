//! Evaluation and decisions allocate nothing: a counting global allocator watches them.
//!
//! Its own test binary, because the allocator is global. Counts are per thread, so the test
//! harness's other threads cannot disturb them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

use std::path::Path;

use tagroute::Strictness;
use tagroute::bench_support::{DATABASE, POLICY, POLICY_NAME, service, topology};
use tagroute::compile::compile;
use tagroute::router::Pick;
use tagroute::topology::{ServerSet, Snapshot, TagInterner};
use tagroute::{syntax, vm};

#[path = "counting.rs"]
mod counting;

use counting::allocations;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

#[test]
fn evaluation_allocates_nothing() {
    for servers in [64, 1024, 8192] {
        let snapshot = Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid");
        let policies = [
            POLICY,
            "tags(north)->tags(ssd,gpu,blue)->min(3); min(5); tags(nowhere)",
        ];
        for text in policies {
            let program = compile(
                &syntax::parse(text, Strictness::Default).expect("valid"),
                snapshot.interner(),
            )
            .expect("compiles");
            let mut out = ServerSet::empty(servers);
            let n = allocations(|| {
                for _ in 0..100 {
                    vm::eval(&program, &snapshot, snapshot.available(), &mut out)
                        .expect("evaluates");
                }
            });
            assert_eq!(n, 0, "{text} on {servers} servers");
        }
    }
}

#[test]
fn decisions_allocate_nothing_once_warm() {
    let snapshot = Snapshot::build(&topology(1024), &TagInterner::new()).expect("valid");
    let router = service(snapshot, POLICY).expect("compiles").router();
    let (policy, db) = (
        router.policy(POLICY_NAME).expect("exists"),
        router.database(DATABASE).expect("exists"),
    );
    let current = router.topology().snapshot();
    let candidates = current.set_of(["s1", "s2", "s3", "s9"]).expect("known");
    let mut decider = router.decider_seeded(9);
    decider.decide(policy, &db, Pick::Random).expect("a server");
    for pick in [Pick::Random, Pick::RoundRobin] {
        decider
            .decide_excluding(policy, &db, &["s8"], pick)
            .expect("a server");
        decider
            .decide_among(policy, &current, &candidates, pick)
            .expect("a server");
    }
    let n = allocations(|| {
        for pick in [Pick::Random, Pick::RoundRobin] {
            for _ in 0..1000 {
                decider.decide(policy, &db, pick).expect("a server");
            }
            for _ in 0..100 {
                decider
                    .decide_excluding(policy, &db, &["s8", "s16"], pick)
                    .expect("a server");
                decider
                    .decide_among(policy, &current, &candidates, pick)
                    .expect("a server");
            }
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn routing_tables_into_caller_buffers_allocate_nothing_once_warm() {
    use tagroute::rng::Rng;
    use tagroute::routing::{Role, RouteRequest, TableScratch};
    for servers in [64, 1024, 8192] {
        let snapshot = Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid");
        let service = service(snapshot, POLICY).expect("compiles");
        let excluded = ["s1", "s5", "nobody"];
        let requests = [
            RouteRequest::new(DATABASE).with_policy(POLICY_NAME),
            RouteRequest::new(DATABASE),
            RouteRequest::new(DATABASE)
                .with_policy(POLICY_NAME)
                .excluding(&excluded),
        ];
        let (mut scratch, mut rng) = (TableScratch::new(), Rng::seeded(3));
        for request in &requests {
            service
                .table_into(request, &mut rng, &mut scratch)
                .expect("a table");
        }
        let mut readers = 0;
        let n = allocations(|| {
            for _ in 0..50 {
                for request in &requests {
                    let table = service
                        .table_into(request, &mut rng, &mut scratch)
                        .expect("a table");
                    readers += table.servers(Role::Read).len();
                }
            }
        });
        assert_eq!(n, 0, "{servers} servers");
        assert!(readers > 0);
    }
}

/// What `tagroute serve` does for each ROUTE of a connection: the table in the connection's
/// scratch, the answering rule from its cache, the addresses read where they are.
#[cfg(feature = "serve")]
#[test]
fn serve_answers_a_route_without_allocating_once_warm() {
    use std::path::Path;
    use tagroute::rng::Rng;
    use tagroute::routing::{Role, TableScratch};
    use tagroute::serve::routes::{Routes, RuleCache, load_config, read_topology};
    use tagroute::topology::{Snapshot, TagInterner};
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/serve");
    let (config, topology) = (data.join("neo4j.conf"), data.join("topology.json"));
    let settings = load_config(&config).expect("loads");
    let spec = read_topology(&topology).expect("reads");
    for advertise in [vec![], vec!["tagroute.example.com:7687".to_owned()]] {
        let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid");
        let routes = Routes::new(&config, &settings, snapshot, advertise).expect("loads");
        let (mut scratch, mut rng, mut rules) =
            (TableScratch::new(), Rng::seeded(5), RuleCache::default());
        let questions = [(Some("europe"), None), (None, Some("movies")), (None, None)];
        let mut ask = |scratch: &mut TableScratch, rules: &mut RuleCache| {
            let mut bytes = 0;
            for (policy, database) in questions {
                let answered = routes
                    .route(policy, database, None, &mut rng, scratch)
                    .expect("a table");
                bytes += routes.answering_rule(policy, &answered, rules).len();
                for role in [Role::Write, Role::Read, Role::Route] {
                    bytes += answered.addresses(role).map(str::len).sum::<usize>();
                }
                bytes += answered.database().len();
            }
            bytes
        };
        ask(&mut scratch, &mut rules);
        let mut bytes = 0;
        let n = allocations(|| {
            for _ in 0..100 {
                bytes += ask(&mut scratch, &mut rules);
            }
        });
        assert_eq!(n, 0);
        assert!(bytes > 0);
    }
}

#[path = "../benches/resilience_cluster.rs"]
mod resilience_cluster;

/// A sweep's allocations with `depth`, how many scenarios it enumerated and how many records
/// it handed out. The visitor reads every part of each record the CLI
/// renders, through borrowing accessors only.
fn sweep_allocations(
    analysis: &tagroute::resilience::Analysis<'_>,
    domains: &tagroute::resilience::Domains,
    depth: usize,
) -> (usize, u64, u64) {
    let mut records = 0u64;
    let mut checksum = 0u64;
    let mut scenarios = 0u64;
    let n = allocations(|| {
        let findings = analysis
            .sweep(domains, depth, |record| {
                records += 1;
                let outcome = record.outcome();
                checksum += outcome.readers().len() as u64
                    + outcome.routers().len() as u64
                    + u64::from(outcome.writer().is_some())
                    + u64::from(record.is_outage());
                checksum += match outcome.answer() {
                    tagroute::resilience::Answer::Rule(r) => r as u64,
                    _ => 0,
                };
                checksum += record
                    .scenario()
                    .names(domains)
                    .map(str::len)
                    .sum::<usize>() as u64;
                checksum += record.regions().map(str::len).sum::<usize>() as u64;
                checksum += record
                    .load()
                    .map(|(s, share)| s.index() as u64 + share as u64)
                    .sum::<u64>();
                checksum += record
                    .growth()
                    .map(|(s, f)| s.index() as u64 + f as u64)
                    .sum::<u64>();
                checksum += record.policy().len() as u64 + record.database().name().len() as u64;
            })
            .expect("sweeps");
        scenarios = findings.scenarios();
        std::hint::black_box(findings);
    });
    std::hint::black_box(checksum);
    let pairs = analysis.databases().count() * analysis.policies().count();
    assert_eq!(records, scenarios * pairs as u64);
    (n, scenarios, records)
}

#[test]
fn a_resilience_sweep_allocates_nothing_per_scenario() {
    use tagroute::config::Config;
    use tagroute::resilience::{Analysis, Domains};
    // 64 data centers of 2 servers (a secondary in each, for every database's catch-up), 4
    // policies, 3 databases, a user-defined catch-up strategy and a leader priority tag.
    let (topology, conf) = resilience_cluster::cluster(64, 2, 4);
    let spec = tagroute::topology::from_json(&topology).expect("valid topology");
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid topology");
    let config =
        Config::parse(&conf, Path::new("neo4j.conf"), Strictness::Default).expect("valid config");
    let analysis = Analysis::new(&snapshot, &config).expect("compiles");
    let domains = Domains::data_centers(&snapshot).expect("data centers");
    assert_eq!(domains.len(), 64);
    let (two, two_scenarios, _) = sweep_allocations(&analysis, &domains, 2);
    let (three, three_scenarios, records) = sweep_allocations(&analysis, &domains, 3);
    assert_eq!((two_scenarios, three_scenarios), (2_081, 43_745));
    eprintln!(
        "resilience sweep over 64 domains: depth 2 ({two_scenarios} scenarios) {two} \
         allocations, depth 3 ({three_scenarios} scenarios, {records} records) {three}"
    );
    // What a sweep allocates is its setup (today's tables, the findings' slots, the selector,
    // the buffers) and the findings' examples, none of it per scenario: 21 times the
    // scenarios must not bring even a tenth more allocations, and 43,745 scenarios stay far
    // below one allocation each.
    assert!(three <= two + two / 10, "depth 2: {two}, depth 3: {three}");
    assert!(
        three < 2_000,
        "{three} allocations for {three_scenarios} scenarios"
    );
}

#[test]
fn a_sweep_whose_secondaries_lose_every_upstream_allocates_nothing_per_scenario() {
    use tagroute::config::Config;
    use tagroute::resilience::{Analysis, Domains};
    use tagroute::topology::{DatabaseSpec, ServerSpec, TopologySpec};
    // One primary, the leader, and 63 secondaries that may only follow it: every scenario
    // with it down leaves every secondary without an upstream (2,017 of the 43,745 scenarios
    // of 64 server domains at depth 3).
    let servers: Vec<ServerSpec> = (0..64)
        .map(|i| ServerSpec::new(format!("s{i:02}"), format!("s{i:02}:7687")))
        .collect();
    let spec = TopologySpec {
        databases: vec![DatabaseSpec {
            name: "neo4j".into(),
            primaries: vec!["s00".into()],
            secondaries: servers.iter().skip(1).map(|s| s.name.clone()).collect(),
            leader: Some("s00".into()),
            ..DatabaseSpec::default()
        }],
        servers,
    };
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("valid topology");
    let conf = "server.cluster.catchup.upstream_strategy=leader-only\n\
                dbms.routing.load_balancing.config.server_policies.any=min(2); halt()\n";
    let config =
        Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default).expect("valid config");
    let analysis = Analysis::new(&snapshot, &config).expect("compiles");
    let domains = Domains::servers(&snapshot);
    let (two, _, _) = sweep_allocations(&analysis, &domains, 2);
    let (three, scenarios, _) = sweep_allocations(&analysis, &domains, 3);
    eprintln!(
        "no-upstream sweep over 64 server domains: depth 2 {two} allocations, depth 3 \
         ({scenarios} scenarios) {three}"
    );
    assert!(three <= two + two / 10, "depth 2: {two}, depth 3: {three}");
    assert!(
        three < 2_000,
        "{three} allocations for {scenarios} scenarios"
    );
}
