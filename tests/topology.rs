//! The cluster model through the public API: the findings of issue 14 about interning and
//! server sets, each a regression test that failed before its fix.

use std::path::Path;
use std::sync::Arc;

use tagroute::compile::compile;
use tagroute::config::Config;
use tagroute::routing::RoutingService;
use tagroute::topology::{ServerSet, ServerSpec, TagInterner, Update};
use tagroute::{Strictness, syntax, vm};

use crate::util::cluster;

/// Twenty tags, one per server, as in the issue.
fn twenty() -> tagroute::topology::Topology {
    let mut c = cluster();
    for i in 0..20 {
        c = c.server(&format!("s{i}"), &[&format!("t{i}")]);
    }
    c.database("neo4j", &["s0"], &["s1"], Some("s0")).topology()
}

fn policy_conf(name: &str, tags: impl Iterator<Item = String>) -> String {
    let list: Vec<String> = tags.collect();
    format!(
        "dbms.routing.load_balancing.config.server_policies.{name}=tags({})\n",
        list.join(",")
    )
}

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("neo4j.conf"), Strictness::Default).expect("loads")
}

/// Issue 14: a rejected reload with a 65,536-tag filter interned all its tags (20 → 65,556),
/// and every later snapshot copied a 65,556-row tag matrix. Issue 22: a reload could add at
/// most 4,096 new tags, and the tags of a configuration reloaded away stayed interned.
#[test]
fn a_reload_holds_the_tags_it_names_and_lets_them_go_with_it() {
    let topology = Arc::new(twenty());
    let service = RoutingService::new(Arc::clone(&topology), &config("")).expect("valid");
    let interner = topology.interner().clone();
    assert_eq!(interner.len(), 20);
    // A filter wider than the bytecode allows: the configuration itself is refused, as `check`
    // and `route` refuse it, so no reload can carry it.
    let huge = policy_conf("huge", (0..65_536).map(|i| format!("x{i}")));
    let refused = Config::parse(&huge, Path::new("neo4j.conf"), Strictness::Default)
        .expect_err("a 65,536-tag filter is refused");
    assert!(
        refused
            .to_string()
            .contains("a filter names more than 65535 tags"),
        "{}",
        refused.to_string().chars().take(300).collect::<String>()
    );
    assert_eq!(interner.len(), 20);
    // 6,000 new tags in one reload: held while the configuration is the live one.
    let wide = policy_conf("a", (0..3_000).map(|i| format!("x{i}")))
        + &policy_conf("b", (3_000..6_000).map(|i| format!("x{i}")));
    service.reload(&config(&wide)).expect("no cap on new tags");
    assert_eq!((interner.len(), interner.id_bound()), (6_020, 6_020));
    // The next configuration names one of them and one new tag. While it compiles, the live one
    // still holds all 6,000, so the new tag's id is 6,020; once it is live, the rest are let go.
    let names = |tags: &[&str]| policy_conf("ok", tags.iter().map(|t| t.to_string()));
    service
        .reload(&config(&names(&["t1", "x5999", "new"])))
        .expect("valid");
    assert_eq!((interner.len(), interner.id_bound()), (22, 6_021));
    assert_eq!(interner.get("new").map(|t| t.index()), Some(6_020));
    assert_eq!(interner.get("x0"), None);
    // A new tag now takes the lowest free id, and the bound falls with the highest held.
    service
        .reload(&config(&names(&["t1", "new", "again"])))
        .expect("valid");
    assert_eq!(interner.get("again").map(|t| t.index()), Some(20));
    service
        .reload(&config(&names(&["t1", "again"])))
        .expect("valid");
    assert_eq!((interner.len(), interner.id_bound()), (21, 21));
    // A tag only a policy names adds no row to any snapshot.
    let next = topology
        .apply(&[Update::SetAvailable {
            server: "s3".into(),
            available: false,
        }])
        .expect("valid");
    assert_eq!(next.names(&next.tagged_by_name("new")), Vec::<&str>::new());
}

/// Issue 14: a rejected update batch left its tags interned (1 → 1,001 tags).
#[test]
fn a_rejected_update_batch_interns_nothing() {
    let topology = cluster().server("a", &["north"]).topology();
    let mut batch: Vec<Update> = (0..1000)
        .map(|i| Update::SetTags {
            server: "a".into(),
            tags: vec![format!("t{i}")],
        })
        .collect();
    batch.push(Update::AddServer(ServerSpec::new("b", "a:7687")));
    let err = topology.apply(&batch).expect_err("duplicate address");
    assert_eq!(err.field(), "updates[1000].address");
    assert_eq!(topology.interner().len(), 1);
}

/// Issue 14: a compile that fails interns nothing either.
#[test]
fn a_policy_that_does_not_compile_interns_nothing() {
    let interner = TagInterner::new();
    let tags: Vec<String> = (0..65_536).map(|i| format!("x{i}")).collect();
    let text = format!("tags(a); tags({})", tags.join(","));
    let policy = syntax::parse(&text, Strictness::Default).expect("parses");
    let err = compile(&policy, &interner).expect_err("too wide a filter");
    assert_eq!(err.to_string(), "a filter names more than 65535 tags");
    assert!(interner.is_empty());
}

/// Issue 14: `empty(10) ∪ full(128)` had 64 members over a universe of 10, and the VM then
/// answered `min(20); halt()` on a 10-server cluster with servers up to index 63.
#[test]
fn sets_of_different_universes_never_reach_the_vm() {
    let topology = cluster().servers(10, &["x"]).topology();
    let snapshot = topology.snapshot();
    let mut candidates = ServerSet::empty(10);
    assert!(candidates.union_with(&ServerSet::full(128)).is_err());
    assert!(candidates.is_empty());
    let policy = syntax::parse("min(20); halt()", Strictness::Default).expect("parses");
    let program = compile(&policy, snapshot.interner()).expect("compiles");
    let mut out = ServerSet::default();
    vm::eval(&program, &snapshot, &candidates, &mut out).expect("evaluates");
    assert!(out.is_empty() && out.universe() == 10);
    candidates
        .union_with(&snapshot.all())
        .expect("one universe");
    vm::eval(&program, &snapshot, &candidates, &mut out).expect("evaluates");
    assert!(out.is_empty(), "10 servers are fewer than 20");
}

/// A rejected replacement publishes nothing and interns nothing; an accepted one keeps the
/// interner, so programs compiled earlier stay valid.
#[test]
fn replace_publishes_whole_descriptions_on_one_interner() {
    let topology = cluster().server("a", &["north"]).topology();
    let policy = syntax::parse("tags(south)", Strictness::Default).expect("parses");
    let program = compile(&policy, topology.interner()).expect("compiles");
    let bad = cluster()
        .server("b", &["south", "west"])
        .server("b", &[])
        .spec();
    assert_eq!(
        topology.replace(&bad).expect_err("duplicate").field(),
        "servers[1].name"
    );
    assert_eq!(
        (topology.interner().len(), topology.snapshot().epoch()),
        (2, 0)
    );
    let next = topology
        .replace(&cluster().server("b", &["south"]).spec())
        .expect("valid");
    let mut out = ServerSet::default();
    vm::eval(&program, &next, &next.all(), &mut out).expect("same interner");
    assert_eq!(next.names(&out), ["b"]);
}
