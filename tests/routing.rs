//! Routing tables: the conformance vectors through the API and the binary, the Neo4j 4.x
//! behaviours worth pinning, shuffling, exclusions, reloads, and a stress test of live updates
//! checked against the reference interpreter.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tagroute::Strictness;
use tagroute::config::{Config, RoutingSettings};
use tagroute::reference;
use tagroute::rng::Rng;
use tagroute::router::Pick;
use tagroute::routing::{Role, RouteRequest, RoutingError, RoutingService, RoutingTable};
use tagroute::topology::{
    DatabaseSpec, ServerSpec, Snapshot, Topology, TopologySpec, Update, from_json,
};

use crate::cli::{Run, tagroute, temp_file};
use crate::util::read_jsonl;

const POLICY: &str = "dbms.routing.load_balancing.config.server_policies.";

type Names = BTreeSet<String>;

/// A table as sets of names, and the routers the policy prefers (which must come first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) writers: Names,
    pub(crate) readers: Names,
    pub(crate) routers: Names,
    pub(crate) preferred: Names,
}

impl Expected {
    fn is_empty(&self) -> bool {
        self.writers.is_empty() && self.readers.is_empty() && self.routers.is_empty()
    }
}

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> Names {
    items.into_iter().map(str::to_owned).collect()
}

/// The pre-policy readers, the writer and the routers of DESIGN section 5 over names, with the
/// servers in `excluded` unusable.
pub(crate) fn reference_roles(
    spec: &TopologySpec,
    db: &str,
    settings: &RoutingSettings,
    excluded: &[&str],
) -> (Names, Names, Names) {
    let db = spec
        .databases
        .iter()
        .find(|d| d.name == db)
        .expect("database");
    let usable: Names = reference::available(spec)
        .into_iter()
        .filter(|s| !excluded.contains(&s.as_str()))
        .collect();
    let usable_of = |list: &[String]| -> Names {
        list.iter()
            .filter(|s| usable.contains(*s))
            .cloned()
            .collect()
    };
    let leader: Names = db
        .leader
        .iter()
        .filter(|l| usable.contains(*l))
        .cloned()
        .collect();
    let mut readers = usable_of(&db.secondaries);
    if settings.reads_on_primaries || readers.is_empty() {
        let followers: Vec<String> = db
            .primaries
            .iter()
            .filter(|p| Some(*p) != db.leader.as_ref())
            .cloned()
            .collect();
        readers.extend(usable_of(&followers));
    }
    if settings.reads_on_writers || readers.is_empty() {
        readers.extend(leader.iter().cloned());
    }
    (readers, leader, usable_of(&db.primaries))
}

/// DESIGN section 5 over names, with the reference interpreter for the policy: shares nothing
/// with `routing` but the topology description.
pub(crate) fn reference_table(
    spec: &TopologySpec,
    db: &str,
    policy: &str,
    settings: &RoutingSettings,
    excluded: &[&str],
) -> Expected {
    let policy = reference::parse(policy, Strictness::Default).expect("the reference parses it");
    let (readers, leader, routers) = reference_roles(spec, db, settings, excluded);
    Expected {
        readers: reference::evaluate_on(&policy, spec, &readers),
        preferred: reference::evaluate_on(&policy, spec, &routers),
        writers: leader,
        routers,
    }
}

/// A table as sets, with its preferred routers: the first `preferred` routers in its order.
fn as_sets(table: &RoutingTable, preferred: usize) -> Expected {
    let routers = table.names(Role::Route);
    Expected {
        writers: names(table.names(Role::Write)),
        readers: names(table.names(Role::Read)),
        preferred: names(routers.iter().take(preferred).copied()),
        routers: names(routers),
    }
}

/// Checks a table against what the reference says, and that no server appears twice.
pub(crate) fn check_table(table: &RoutingTable, expected: &Expected, context: &str) {
    assert_eq!(
        as_sets(table, expected.preferred.len()),
        *expected,
        "{context}"
    );
    for role in Role::ALL {
        assert_eq!(
            table.names(role).len(),
            names(table.names(role)).len(),
            "{context}: duplicates in {role}"
        );
    }
}

/// One line of `routing.jsonl`.
struct Vector {
    line: usize,
    conf: String,
    topology: Value,
    db: String,
    policy: Option<String>,
    expected: Option<Expected>,
    error: Option<String>,
}

fn vectors() -> Vec<Vector> {
    let set = |v: &Value| -> Names {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|n| n.as_str().expect("a name").to_owned())
            .collect()
    };
    read_jsonl("routing.jsonl")
        .into_iter()
        .enumerate()
        .map(|(i, v)| Vector {
            line: i + 1,
            conf: v["conf"].as_str().expect("conf").to_owned(),
            topology: v["topology"].clone(),
            db: v["db"].as_str().expect("db").to_owned(),
            policy: v["policy"].as_str().map(str::to_owned),
            expected: v.get("expected").map(|e| Expected {
                writers: set(&e["WRITE"]),
                readers: set(&e["READ"]),
                routers: set(&e["ROUTE"]),
                preferred: set(&e["ROUTE_PREFERRED"]),
            }),
            error: v["error"].as_str().map(str::to_owned),
        })
        .collect()
}

impl Vector {
    fn config(&self) -> Config {
        Config::parse(
            &self.conf,
            Path::new(&format!("routing.jsonl:{}", self.line)),
            Strictness::Default,
        )
        .unwrap_or_else(|e| panic!("{}", e.render_all()))
    }

    fn spec(&self) -> TopologySpec {
        from_json(&self.topology.to_string()).expect("a valid topology")
    }

    fn request(&self) -> RouteRequest<'_> {
        RouteRequest {
            database: &self.db,
            policy: self.policy.as_deref(),
            excluded: &[],
        }
    }
}

#[test]
fn every_routing_vector_through_the_api() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 88);
    let (mut tables, mut errors) = (0, 0);
    for vector in &vectors {
        let config = vector.config();
        let spec = vector.spec();
        let topology = Arc::new(Topology::new(&spec).expect("valid"));
        let service = RoutingService::new(topology, &config).expect("compiles");
        let answer = service.table(&vector.request(), &mut Rng::seeded(vector.line as u64));
        let context = format!("routing.jsonl:{}", vector.line);
        match (&vector.expected, &vector.error, answer) {
            (Some(expected), None, Ok(table)) => {
                check_table(&table, expected, &context);
                let policy = config
                    .policy(vector.request().policy_name())
                    .expect("exists");
                let reference =
                    reference_table(&spec, &vector.db, policy.text(), config.routing(), &[]);
                assert_eq!(
                    reference, *expected,
                    "{context}: the reference helper disagrees"
                );
                assert_eq!(table.ttl_secs(), config.routing().ttl.as_secs());
                tables += 1;
            }
            (None, Some(kind), Err(error)) => {
                let matches = match kind.as_str() {
                    "unknown policy" => matches!(error, RoutingError::UnknownPolicy(_)),
                    "empty routing table" => matches!(error, RoutingError::EmptyTable { .. }),
                    other => panic!("{context}: unknown error kind {other}"),
                };
                assert!(matches, "{context}: expected {kind}, got {error}");
                errors += 1;
            }
            (_, _, answer) => panic!("{context}: unexpected {:?}", answer.map(|t| as_sets(&t, 0))),
        }
    }
    assert_eq!((tables, errors), (64, 24));
}

/// The names of the servers of a `route` answer, by role, through the topology's addresses.
fn cli_table(run: &Run, topology: &Value) -> (u64, String, Vec<(String, Vec<String>)>) {
    let by_address: HashMap<&str, &str> = topology["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            (
                s["address"].as_str().expect("address"),
                s["name"].as_str().expect("name"),
            )
        })
        .collect();
    let answer = run.json();
    let roles = answer["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|entry| {
            let names = entry["addresses"]
                .as_array()
                .expect("addresses")
                .iter()
                .map(|a| by_address[a.as_str().expect("an address")].to_owned())
                .collect();
            (entry["role"].as_str().expect("role").to_owned(), names)
        })
        .collect();
    let ttl = answer["ttl"].as_u64().expect("ttl");
    (ttl, answer["db"].as_str().expect("db").to_owned(), roles)
}

fn route(conf: &str, topology: &Value, name: &str, extra: &[&str]) -> Run {
    let conf = temp_file(&format!("routing-{name}.conf"), conf);
    let topology = temp_file(&format!("routing-{name}.json"), &topology.to_string());
    let mut args = vec![
        "route",
        "--config",
        conf.to_str().expect("utf-8"),
        "--topology",
        topology.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    tagroute(&args, "")
}

#[test]
fn every_routing_vector_through_the_binary() {
    for vector in vectors() {
        let seed = vector.line.to_string();
        let mut extra = vec!["--db", &vector.db, "--seed", &seed];
        if let Some(policy) = &vector.policy {
            extra.extend(["--policy", policy]);
        }
        let name = format!("vector-{}", vector.line);
        let run = route(&vector.conf, &vector.topology, &name, &extra);
        let context = format!("routing.jsonl:{}: {run:?}", vector.line);
        if let Some(kind) = &vector.error {
            assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{context}");
            let said = match kind.as_str() {
                "unknown policy" => "error: unknown policy `nosuchpolicy`; the policies are ",
                _ => "is empty",
            };
            assert!(run.stderr.contains(said), "{context}");
            continue;
        }
        assert_eq!(run.code, 0, "{context}");
        let expected = vector.expected.as_ref().expect("expected");
        let (ttl, db, roles) = cli_table(&run, &vector.topology);
        assert_eq!(
            (ttl, db.as_str()),
            (vector.config().routing().ttl.as_secs(), vector.db.as_str())
        );
        let listed: Vec<&str> = roles.iter().map(|(r, _)| r.as_str()).collect();
        let wanted: Vec<&str> = [
            ("WRITE", &expected.writers),
            ("READ", &expected.readers),
            ("ROUTE", &expected.routers),
        ]
        .iter()
        .filter(|(_, set)| !set.is_empty())
        .map(|(role, _)| *role)
        .collect();
        assert_eq!(
            listed, wanted,
            "{context}: roles, in order, empty ones left out"
        );
        let of = |role: &str| -> Vec<String> {
            roles
                .iter()
                .find(|(r, _)| r == role)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        let routers = of("ROUTE");
        let found = Expected {
            writers: of("WRITE").into_iter().collect(),
            readers: of("READ").into_iter().collect(),
            preferred: routers
                .iter()
                .take(expected.preferred.len())
                .cloned()
                .collect(),
            routers: routers.into_iter().collect(),
        };
        assert_eq!(found, *expected, "{context}");
    }
}

/// A topology of `(name, tags, available)` servers and one database `neo4j`.
fn spec(
    servers: &[(&str, &[&str], bool)],
    primaries: &[&str],
    secondaries: &[&str],
    leader: Option<&str>,
) -> TopologySpec {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    TopologySpec {
        servers: servers
            .iter()
            .map(|(name, tags, up)| {
                ServerSpec::new(*name, format!("{name}.example:7687"))
                    .with_tags(tags.iter().copied())
                    .with_available(*up)
            })
            .collect(),
        databases: vec![DatabaseSpec {
            name: "neo4j".into(),
            primaries: strings(primaries),
            secondaries: strings(secondaries),
            leader: leader.map(str::to_owned),
            ..DatabaseSpec::default()
        }],
    }
}

pub(crate) fn service(spec: &TopologySpec, conf: &str) -> RoutingService {
    let config = Config::parse(conf, Path::new("neo4j.conf"), Strictness::Default)
        .unwrap_or_else(|e| panic!("{}", e.render_all()));
    RoutingService::new(Arc::new(Topology::new(spec).expect("valid")), &config).expect("compiles")
}

/// The table by role, names in table order.
fn table_of(service: &RoutingService, request: &RouteRequest<'_>) -> Vec<(Role, Vec<String>)> {
    let table = service
        .table(request, &mut Rng::seeded(9))
        .expect("a table");
    table
        .roles()
        .map(|(role, _)| {
            (
                role,
                table.names(role).into_iter().map(str::to_owned).collect(),
            )
        })
        .collect()
}

fn roles(entries: &[(Role, &[&str])]) -> Vec<(Role, Vec<String>)> {
    entries
        .iter()
        .map(|(role, names)| (*role, names.iter().map(|n| n.to_string()).collect()))
        .collect()
}

const UNSHUFFLED: &str = "dbms.routing.load_balancing.shuffle_enabled=false\n";

#[test]
fn neo4j_4x_a_single_follower_without_a_leader_routes_and_reads_but_nobody_writes() {
    let spec = spec(&[("f1", &[], true)], &["f1"], &[], None);
    let service = service(&spec, UNSHUFFLED);
    assert_eq!(
        table_of(&service, &RouteRequest::new("neo4j")),
        roles(&[(Role::Read, &["f1"]), (Role::Route, &["f1"])])
    );
}

#[test]
fn neo4j_4x_a_lone_leader_writes_reads_and_routes() {
    let spec = spec(&[("l1", &[], true)], &["l1"], &[], Some("l1"));
    let service = service(&spec, UNSHUFFLED);
    assert_eq!(
        table_of(&service, &RouteRequest::new("neo4j")),
        roles(&[
            (Role::Write, &["l1"]),
            (Role::Read, &["l1"]),
            (Role::Route, &["l1"])
        ])
    );
}

#[test]
fn neo4j_4x_with_every_secondary_and_follower_down_the_leader_reads() {
    let spec = spec(
        &[
            ("l1", &[], true),
            ("f1", &[], false),
            ("f2", &[], false),
            ("s1", &[], false),
        ],
        &["l1", "f1", "f2"],
        &["s1"],
        Some("l1"),
    );
    let conf = format!("{UNSHUFFLED}dbms.routing.reads_on_writers_enabled=false\n");
    let service = service(&spec, &conf);
    assert!(!service.generation().settings().reads_on_writers);
    assert_eq!(
        table_of(&service, &RouteRequest::new("neo4j")),
        roles(&[
            (Role::Write, &["l1"]),
            (Role::Read, &["l1"]),
            (Role::Route, &["l1"])
        ])
    );
    let up = [Update::SetAvailable {
        server: "s1".into(),
        available: true,
    }];
    service.topology().apply(&up).expect("valid");
    assert_eq!(
        table_of(&service, &RouteRequest::new("neo4j")),
        roles(&[
            (Role::Write, &["l1"]),
            (Role::Read, &["s1"]),
            (Role::Route, &["l1"])
        ]),
        "once a secondary is back, the leader stops reading"
    );
}

/// Primaries p1 (leader), p2, p3 tagged `x` and p4, p5 not; secondaries s1..s4 tagged `x`;
/// declared out of name order, so that the topology's order is visible.
fn shuffle_cluster() -> TopologySpec {
    let x: &[&str] = &["x"];
    spec(
        &[
            ("s3", x, true),
            ("p5", &[], true),
            ("p2", x, true),
            ("s1", x, true),
            ("p1", x, true),
            ("s4", x, true),
            ("p4", &[], true),
            ("p3", x, true),
            ("s2", x, true),
        ],
        &["p1", "p2", "p3", "p4", "p5"],
        &["s1", "s2", "s3", "s4"],
        Some("p1"),
    )
}

const SHUFFLE_CONF: &str = "dbms.routing.load_balancing.config.server_policies.x=tags(x)\n\
                            dbms.routing.reads_on_primaries_enabled=false\n";

#[test]
fn without_shuffling_every_part_keeps_the_topology_order() {
    let service = service(&shuffle_cluster(), &format!("{SHUFFLE_CONF}{UNSHUFFLED}"));
    let request = RouteRequest::new("neo4j").with_policy("x");
    assert_eq!(
        table_of(&service, &request),
        roles(&[
            (Role::Write, &["p1"]),
            (Role::Read, &["s3", "s1", "s4", "s2"]),
            (Role::Route, &["p2", "p1", "p3", "p5", "p4"]),
        ])
    );
}

/// Pearson's chi-square statistic of `counts` against a uniform distribution over `cells`.
fn chi_square(counts: &HashMap<Vec<String>, u32>, cells: usize, draws: u32) -> f64 {
    assert_eq!(counts.len(), cells, "every permutation appears: {counts:?}");
    let expected = f64::from(draws) / cells as f64;
    counts
        .values()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum()
}

#[test]
fn with_shuffling_each_part_is_a_uniform_permutation() {
    let service = service(&shuffle_cluster(), SHUFFLE_CONF);
    assert!(service.generation().settings().shuffle);
    let request = RouteRequest::new("neo4j").with_policy("x");
    let mut rng = Rng::seeded(0x5eed);
    let (mut readers, mut preferred, mut others) = (HashMap::new(), HashMap::new(), HashMap::new());
    let draws = 24_000;
    for _ in 0..draws {
        let table = service.table(&request, &mut rng).expect("a table");
        let routers: Vec<String> = table
            .names(Role::Route)
            .iter()
            .map(|n| n.to_string())
            .collect();
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
        *readers
            .entry(owned(table.names(Role::Read)))
            .or_insert(0u32) += 1;
        *preferred.entry(routers[..3].to_vec()).or_insert(0u32) += 1;
        *others.entry(routers[3..].to_vec()).or_insert(0u32) += 1;
    }
    // 99.9th percentiles of chi-square with 23, 5 and 1 degrees of freedom.
    let readers = chi_square(&readers, 24, draws);
    assert!(readers < 49.73, "readers: chi-square {readers}");
    let preferred = chi_square(&preferred, 6, draws);
    assert!(
        preferred < 20.52,
        "preferred routers: chi-square {preferred}"
    );
    let others = chi_square(&others, 2, draws);
    assert!(others < 10.83, "other routers: chi-square {others}");
}

#[test]
fn a_seed_fixes_the_order_through_the_binary() {
    let topology: Value = serde_json::from_str(&json_of(&shuffle_cluster())).expect("json");
    let run = |seed: &str| {
        let extra = ["--db", "neo4j", "--policy", "x", "--seed", seed];
        route(SHUFFLE_CONF, &topology, "seeded", &extra)
    };
    let (first, again, other) = (run("1"), run("1"), run("2"));
    assert_eq!((first.code, again.code), (0, 0), "{first:?}");
    assert_eq!(first.stdout, again.stdout);
    assert_ne!(
        first.stdout, other.stdout,
        "another seed, another order (with these seeds)"
    );
}

/// The JSON form of a topology description.
fn json_of(spec: &TopologySpec) -> String {
    let servers: Vec<Value> = spec
        .servers
        .iter()
        .map(|s| json!({"name": s.name, "address": s.address, "tags": s.tags, "available": s.available}))
        .collect();
    let databases: Vec<Value> = spec
        .databases
        .iter()
        .map(|d| json!({"name": d.name, "primaries": d.primaries, "secondaries": d.secondaries, "leader": d.leader}))
        .collect();
    json!({"servers": servers, "databases": databases}).to_string()
}

/// Three northern secondaries; excluding one leaves two, fewer than `min(3)` wants.
fn exclusion_cluster() -> TopologySpec {
    let north: &[&str] = &["north"];
    spec(
        &[
            ("p1", &[], true),
            ("p2", north, true),
            ("s1", north, true),
            ("s2", north, true),
            ("s3", north, true),
        ],
        &["p1", "p2"],
        &["s1", "s2", "s3"],
        Some("p1"),
    )
}

const EXCLUSION_CONF: &str = "dbms.routing.load_balancing.config.server_policies.three=\
                              tags(north)->min(3); halt()\n\
                              dbms.routing.reads_on_primaries_enabled=false\n\
                              dbms.routing.load_balancing.shuffle_enabled=false\n";

#[test]
fn exclusions_apply_before_the_policy_to_every_role() {
    let service = service(&exclusion_cluster(), EXCLUSION_CONF);
    let request = RouteRequest::new("neo4j").with_policy("three");
    assert_eq!(
        table_of(&service, &request),
        roles(&[
            (Role::Write, &["p1"]),
            (Role::Read, &["s1", "s2", "s3"]),
            (Role::Route, &["p1", "p2"])
        ])
    );
    let excluded = ["s2", "p1", "gone"];
    assert_eq!(
        table_of(&service, &request.excluding(&excluded)),
        roles(&[(Role::Route, &["p2"])]),
        "two usable northern readers are fewer than min(3); the excluded leader neither writes nor routes"
    );
}

#[test]
fn exclusions_through_the_binary() {
    let topology: Value = serde_json::from_str(&json_of(&exclusion_cluster())).expect("json");
    let extra = ["--db", "neo4j", "--policy", "three", "--exclude", "s2,p1"];
    let run = route(EXCLUSION_CONF, &topology, "exclusion", &extra);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"ttl": 300, "db": "neo4j", "servers": [{"role": "ROUTE", "addresses": ["p2.example:7687"]}]})
    );
    assert_eq!(
        run.stdout,
        "{\"ttl\":300,\"db\":\"neo4j\",\"servers\":[{\"role\":\"ROUTE\",\"addresses\":[\"p2.example:7687\"]}]}\n",
        "keys in the documented order"
    );
}

#[test]
fn unknown_names_and_empty_tables_exit_1_naming_what_exists() {
    let topology: Value = serde_json::from_str(&json_of(&exclusion_cluster())).expect("json");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--db", "neo4j", "--policy", "thre"],
            "error: unknown policy `thre`; the policies are default, three (did you mean `three`?)\n",
        ),
        (
            &["--db", "neo4k"],
            "error: unknown database `neo4k`; the databases are neo4j (did you mean `neo4j`?)\n",
        ),
        (
            &["--db", "neo4j", "--exclude", "p1,p2,s1,s2,s3"],
            "error: routing table for database `neo4j` is empty\n",
        ),
    ];
    for (extra, stderr) in cases {
        let run = route(EXCLUSION_CONF, &topology, "errors", extra);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (1, "", stderr)
        );
    }
}

#[test]
fn a_reload_never_mixes_two_configurations() {
    let cluster = exclusion_cluster();
    let a = format!("{POLICY}p=tags(north)->min(3)\ndbms.routing_ttl=10s\n{UNSHUFFLED}");
    let b = format!(
        "{POLICY}p=tags(none); halt()\ndbms.routing_ttl=20s\ndbms.routing.reads_on_primaries_enabled=false\n"
    );
    let configs = [a.as_str(), b.as_str()]
        .map(|c| Config::parse(c, Path::new("c"), Strictness::Default).expect("loads"));
    let service = service(&cluster, &a);
    let expected: BTreeMap<u64, Expected> = configs
        .iter()
        .map(|c| {
            let text = c.policy("p").expect("p").text();
            (
                c.routing().ttl.as_secs(),
                reference_table(&cluster, "neo4j", text, c.routing(), &[]),
            )
        })
        .collect();
    let (done, satisfied) = (AtomicBool::new(false), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|t| {
                let (service, expected, done, satisfied) = (&service, &expected, &done, &satisfied);
                scope.spawn(move || {
                    let mut rng = Rng::seeded(t);
                    let request = RouteRequest::new("neo4j").with_policy("p");
                    let mut seen = BTreeSet::new();
                    while !done.load(Ordering::Relaxed) {
                        let table = service.table(&request, &mut rng).expect("a table");
                        let want = &expected[&table.ttl_secs()];
                        check_table(&table, want, &format!("ttl {}", table.ttl_secs()));
                        if seen.insert(table.ttl_secs()) && seen.len() == 2 {
                            satisfied.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut reloads = 0;
        while reloads < 2_000 || satisfied.load(Ordering::Relaxed) < 2 {
            let report = service
                .reload(&configs[(reloads + 1) % 2])
                .expect("compiles");
            assert_eq!(report.changed, ["p"]);
            reloads += 1;
            assert!(
                reloads < 10_000_000,
                "the readers never saw both configurations"
            );
        }
        done.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.join().expect("no reader failed");
        }
    });
}

#[test]
fn decisions_never_mix_two_generations() {
    // A: every reader, but only secondaries read. B: four northern readers or nobody, and
    // primaries and the writer read. A's policy with B's settings picks a primary; B's policy
    // with A's settings (three northern readers) picks nobody.
    let cluster = exclusion_cluster();
    let a = format!("{POLICY}p=all()\ndbms.routing.reads_on_primaries_enabled=false\n");
    let b = format!(
        "{POLICY}p=tags(north)->min(4); halt()\ndbms.routing.reads_on_writers_enabled=true\n"
    );
    let configs = [a.as_str(), b.as_str()]
        .map(|c| Config::parse(c, Path::new("c"), Strictness::Default).expect("loads"));
    let expected = configs.each_ref().map(|c| {
        let text = c.policy("p").expect("p").text();
        reference_table(&cluster, "neo4j", text, c.routing(), &[]).readers
    });
    assert_eq!(expected.each_ref().map(BTreeSet::len), [3, 4]);
    let service = service(&cluster, &a);
    let (done, satisfied) = (AtomicBool::new(false), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        let deciders: Vec<_> = (0..2)
            .map(|t| {
                let (service, expected, done, satisfied) = (&service, &expected, &done, &satisfied);
                scope.spawn(move || {
                    let router = service.router();
                    let policy = router.policy("p").expect("p");
                    let db = router.database("neo4j").expect("neo4j");
                    let mut decider = router.decider_seeded(t);
                    let mut seen = BTreeSet::new();
                    for i in 0.. {
                        if done.load(Ordering::Relaxed) {
                            break;
                        }
                        let pick = [Pick::Random, Pick::RoundRobin][i % 2];
                        let decision = if i % 3 == 0 {
                            decider.decide_excluding(policy, &db, &[], pick)
                        } else {
                            decider.decide(policy, &db, pick)
                        };
                        let decision = decision.expect("both configurations always pick one");
                        let config = (decision.generation().number() % 2) as usize;
                        let server = decision.server().name();
                        assert!(
                            expected[config].contains(server),
                            "{server} under configuration {config}"
                        );
                        if seen.insert(config) && seen.len() == 2 {
                            satisfied.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut reloads = 0;
        while reloads < 2_000 || satisfied.load(Ordering::Relaxed) < 2 {
            reloads += 1;
            service.reload(&configs[reloads % 2]).expect("compiles");
            assert!(
                reloads < 10_000_000,
                "the deciders never saw both configurations"
            );
        }
        done.store(true, Ordering::Relaxed);
        for decider in deciders {
            decider.join().expect("no decider failed");
        }
    });
}

/// The stress cluster: 48 servers, tags from `t0..t7`, three databases.
fn stress_cluster(rng: &mut Rng) -> TopologySpec {
    let tags = |rng: &mut Rng| -> Vec<String> {
        (0..8)
            .filter(|_| rng.below(3) == 0)
            .map(|t| format!("t{t}"))
            .collect()
    };
    let servers: Vec<ServerSpec> = (0..48)
        .map(|i| {
            ServerSpec::new(format!("srv{i}"), format!("srv{i}.example:7687"))
                .with_tags(tags(rng))
                .with_available(rng.below(5) != 0)
        })
        .collect();
    let databases = (0..3)
        .map(|d| {
            let mut order: Vec<usize> = (0..48).collect();
            rng.shuffle(&mut order);
            let name = |i: &usize| format!("srv{i}");
            let primaries: Vec<String> = order[..5].iter().map(name).collect();
            DatabaseSpec {
                name: format!("db{d}"),
                leader: (d != 2).then(|| primaries[0].clone()),
                secondaries: order[5..5 + 4 * (d + 1)].iter().map(name).collect(),
                primaries,
                ..DatabaseSpec::default()
            }
        })
        .collect();
    TopologySpec { servers, databases }
}

const STRESS_POLICIES: [(&str, &str); 5] = [
    ("near", "tags(t0,t1)->min(2); tags(t2); halt()"),
    ("both", "tags(t3)->tags(t4)"),
    ("many", "min(5); tags(t5)->min(2)"),
    ("later", "tags(t9); tags(t6,t7)->min(3); halt()"),
    ("default", "tags(t1,t8)"),
];

/// A random batch of one to three updates: tags (some never seen before), availability,
/// leader moves.
fn random_updates(rng: &mut Rng, spec: &TopologySpec) -> Vec<Update> {
    let server = |rng: &mut Rng| format!("srv{}", rng.below(48));
    (0..=rng.below(2))
        .map(|_| match rng.below(3) {
            0 => Update::SetTags {
                server: server(rng),
                tags: (0..10)
                    .filter(|_| rng.below(4) == 0)
                    .map(|t| format!("t{t}"))
                    .collect(),
            },
            1 => Update::SetAvailable {
                server: server(rng),
                available: rng.below(3) != 0,
            },
            _ => {
                let db = &spec.databases[rng.index(3)];
                let leader = (rng.below(6) != 0).then(|| db.primaries[rng.index(5)].clone());
                Update::SetLeader {
                    database: db.name.clone(),
                    leader,
                }
            }
        })
        .collect()
}

#[test]
fn tables_under_live_updates_match_the_reference_on_their_own_snapshot() {
    let mut rng = Rng::seeded(0x57e55);
    let spec = stress_cluster(&mut rng);
    let conf: String = STRESS_POLICIES
        .iter()
        .map(|(n, t)| format!("{POLICY}{n}={t}\n"))
        .collect();
    let service = service(&spec, &conf);
    let settings = service.generation().settings().clone();
    let (done, tables) = (AtomicBool::new(false), AtomicUsize::new(0));
    let epochs = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|t| {
                let (service, settings, done, tables) = (&service, &settings, &done, &tables);
                scope.spawn(move || stress_reader(service, settings, done, tables, Rng::seeded(t)))
            })
            .collect();
        let mut updates = 0;
        while updates < 4_000 {
            let batch = random_updates(&mut rng, &spec);
            service.topology().apply(&batch).expect("valid updates");
            updates += batch.len();
            let (seen, deadline) = (
                tables.load(Ordering::Relaxed),
                Instant::now() + Duration::from_secs(1),
            );
            while tables.load(Ordering::Relaxed) == seen && Instant::now() < deadline {
                std::hint::spin_loop();
            }
        }
        done.store(true, Ordering::Relaxed);
        readers
            .into_iter()
            .flat_map(|r| r.join().expect("no reader failed"))
            .collect::<BTreeSet<u64>>()
    });
    assert!(service.topology().snapshot().epoch() >= 4_000 / 3);
    assert!(
        epochs.len() > 500,
        "tables were computed while updates went on: {}",
        epochs.len()
    );
}

/// Computes tables until the writer is done (and a few after), counting them in `tables`, checking each against the
/// reference on its own snapshot; returns the epochs it saw.
fn stress_reader(
    service: &RoutingService,
    settings: &RoutingSettings,
    done: &AtomicBool,
    tables: &AtomicUsize,
    mut rng: Rng,
) -> BTreeSet<u64> {
    let mut epochs = BTreeSet::new();
    let mut specs = Specs::default();
    let mut after = 0;
    while after < 20 {
        if done.load(Ordering::Relaxed) {
            after += 1;
        }
        let (name, text) = STRESS_POLICIES[rng.index(STRESS_POLICIES.len())];
        let db = format!("db{}", rng.below(3));
        let excluded: Vec<String> = (0..rng.below(3))
            .map(|_| format!("srv{}", rng.below(48)))
            .collect();
        let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
        let request = RouteRequest::new(&db)
            .with_policy(name)
            .excluding(&excluded);
        let published = service.topology().snapshot();
        match service.table(&request, &mut rng) {
            Ok(table) => {
                let snapshot = table.snapshot();
                assert!(
                    snapshot.epoch() >= published.epoch(),
                    "a table reflects every update before it"
                );
                let expected = reference_table(specs.of(snapshot), &db, text, settings, &excluded);
                check_table(
                    &table,
                    &expected,
                    &format!("{name} on {db}, epoch {}", snapshot.epoch()),
                );
                epochs.insert(snapshot.epoch());
            }
            Err(RoutingError::EmptyTable { database }) if database == db => {
                // The error holds no snapshot: check it only when no update came in between.
                if service.topology().snapshot().epoch() == published.epoch() {
                    let expected =
                        reference_table(specs.of(&published), &db, text, settings, &excluded);
                    assert!(expected.is_empty(), "{expected:?}");
                }
            }
            Err(error) => panic!("{error}"),
        }
        tables.fetch_add(1, Ordering::Relaxed);
    }
    epochs
}

/// The description of the last snapshot seen, made once per epoch.
#[derive(Default)]
pub(crate) struct Specs {
    last: Option<(u64, TopologySpec)>,
}

impl Specs {
    pub(crate) fn of(&mut self, snapshot: &Snapshot) -> &TopologySpec {
        if self.last.as_ref().map(|(epoch, _)| *epoch) != Some(snapshot.epoch()) {
            self.last = Some((snapshot.epoch(), snapshot.to_spec()));
        }
        &self.last.as_ref().expect("just set").1
    }
}
