//! The fast path against the reference interpreter on structured input.
//!
//! A valid policy over a few tags (and one no server carries), printed with varied whitespace
//! and spelling, and a cluster of up to about 300 servers biased toward word boundaries. Both
//! parsers read the policy (default mode) with the same rules; the compiled program on the VM
//! and `reference::evaluate` select the same servers, on the available servers and on an
//! arbitrary candidate subset. The output buffer starts full and larger than the cluster, so a
//! word the VM forgets to write shows.

#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tagroute::compile::compile;
use tagroute::topology::{ServerIdx, ServerSet, Snapshot, TagInterner};
use tagroute::{Strictness, reference, syntax, vm};
use tagroute_fuzz::{ClusterArg, PolicyArg, by_name, normal_form};

#[derive(Arbitrary, Debug)]
struct Input {
    policy: PolicyArg,
    cluster: ClusterArg,
}

/// The names of the servers of `set`, in name order, without copying them.
fn names<'s>(snapshot: &'s Snapshot, set: &'s ServerSet) -> impl Iterator<Item = &'s str> {
    by_name(snapshot.len())
        .filter_map(ServerIdx::new)
        .filter(|&i| set.contains(i))
        .filter_map(|i| snapshot.server(i).map(|s| s.name()))
}

/// Whether `set` holds exactly the servers named in `expected`.
fn same(snapshot: &Snapshot, set: &ServerSet, expected: &BTreeSet<String>) -> bool {
    set.len() == expected.len() && names(snapshot, set).eq(expected.iter().map(String::as_str))
}

fuzz_target!(|input: Input| {
    let text = input.policy.text();
    let ours = syntax::parse(&text, Strictness::Default)
        .unwrap_or_else(|e| panic!("{text:?} is valid, but: {e}"));
    let oracle = reference::parse(&text, Strictness::Default)
        .unwrap_or_else(|e| panic!("{text:?} is valid, but the reference says: {e}"));
    assert_eq!(normal_form(&ours), oracle, "{text:?}");

    let spec = input.cluster.spec();
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).expect("a valid cluster");
    let program = compile(&ours, snapshot.interner()).expect("a parsed policy compiles");
    let picked_names = input.cluster.picked();
    let picked = snapshot
        .set_of(picked_names.iter().map(String::as_str))
        .expect("picked servers exist");
    // What `reference::evaluate_on` would build twice, built once.
    let tags_of = tagroute_fuzz::tags_of(&spec);
    let available_names = tagroute_fuzz::available(&spec);
    let mut out = ServerSet::full(spec.servers.len() + 200);
    for (candidates, candidate_names) in [
        (snapshot.available(), &available_names),
        (&picked, &picked_names),
    ] {
        assert!(
            same(&snapshot, candidates, candidate_names),
            "the snapshot's candidates are not {candidate_names:?}"
        );
        vm::eval(&program, &snapshot, candidates, &mut out).expect("same interner and universe");
        let expected = reference::evaluate(&oracle, &tags_of, candidate_names);
        assert!(
            same(&snapshot, &out, &expected),
            "{text:?} on {} servers: the VM selects {:?}, the reference {expected:?}",
            spec.servers.len(),
            names(&snapshot, &out).collect::<Vec<_>>(),
        );
    }
});
