//! The fast path against the reference interpreter on structured input.
//!
//! A valid policy over a few tags (and one no server carries), printed with varied whitespace
//! and spelling, and a cluster of up to about 300 servers biased toward word boundaries. Both
//! parsers read the policy (default mode) with the same rules; the compiled program on the VM
//! and `reference::evaluate` select the same servers, on the available servers and on an
//! arbitrary candidate subset. The output buffer starts full and larger than the cluster, so a
//! word the VM forgets to write shows.

#![no_main]

use std::cell::RefCell;
use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tagroute::compile::compile;
use tagroute::topology::{ServerIdx, ServerSet};
use tagroute::{Strictness, reference, syntax, vm};
use tagroute_fuzz::{ClusterArg, Clusters, PolicyArg, normal_form};

/// The cluster comes first, so that mutating the policy (most of the input) leaves the
/// cluster's bytes, and its cached build, as they were.
#[derive(Arbitrary, Debug)]
struct Input {
    cluster: ClusterArg,
    policy: PolicyArg,
}

thread_local! {
    static CLUSTERS: RefCell<Clusters> = RefCell::default();
}

/// The numbers of the servers of `set`: server `i` of the snapshot is server number `i`
/// (`Cluster::build` checks it by name).
fn numbers(set: &ServerSet) -> impl Iterator<Item = u16> + '_ {
    set.iter()
        .map(|i| u16::try_from(i.index()).expect("a server of the cluster"))
}

/// Whether `set` holds exactly the servers numbered in `expected`.
fn same(set: &ServerSet, expected: &BTreeSet<u16>) -> bool {
    set.len() == expected.len() && numbers(set).eq(expected.iter().copied())
}

fuzz_target!(|input: Input| {
    let text = input.policy.text();
    let ours = syntax::parse(&text, Strictness::Default)
        .unwrap_or_else(|e| panic!("{text:?} is valid, but: {e}"));
    let oracle = reference::parse(&text, Strictness::Default)
        .unwrap_or_else(|e| panic!("{text:?} is valid, but the reference says: {e}"));
    assert_eq!(normal_form(&ours), oracle, "{text:?}");

    let cluster = CLUSTERS.with_borrow_mut(|clusters| clusters.get(input.cluster.bytes()));
    let snapshot = &cluster.snapshot;
    let program = compile(&ours, snapshot.interner()).expect("a parsed policy compiles");
    let picked_numbers = input.cluster.picked();
    let picked = ServerSet::from_indices(
        snapshot.len(),
        picked_numbers
            .iter()
            .filter_map(|&i| ServerIdx::new(i.into())),
    );
    let mut out = ServerSet::full(snapshot.len() + 200);
    for (candidates, candidate_numbers) in [
        (snapshot.available(), &cluster.available),
        (&picked, &picked_numbers),
    ] {
        assert!(
            same(candidates, candidate_numbers),
            "the snapshot's candidates are not {candidate_numbers:?}"
        );
        vm::eval(&program, snapshot, candidates, &mut out).expect("same interner and universe");
        let expected = reference::evaluate(&oracle, &cluster.tags_of, candidate_numbers);
        assert!(
            same(&out, &expected),
            "{text:?} on {} servers: the VM selects {:?}, the reference {expected:?}",
            snapshot.len(),
            numbers(&out).collect::<Vec<_>>(),
        );
    }
});
