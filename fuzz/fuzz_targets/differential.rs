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
use tagroute::topology::{ServerSet, Snapshot, TagInterner};
use tagroute::{Strictness, reference, syntax, vm};
use tagroute_fuzz::{ClusterArg, PolicyArg, normal_form};

#[derive(Arbitrary, Debug)]
struct Input {
    policy: PolicyArg,
    cluster: ClusterArg,
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
    let picked = snapshot
        .set_of(input.cluster.picked().iter().map(String::as_str))
        .expect("picked servers exist");
    let mut out = ServerSet::full(spec.servers.len() + 200);
    for candidates in [snapshot.available().clone(), picked] {
        vm::eval(&program, &snapshot, &candidates, &mut out).expect("same interner and universe");
        let names = |set: &ServerSet| -> BTreeSet<String> {
            snapshot.names(set).into_iter().map(str::to_owned).collect()
        };
        let expected = reference::evaluate_on(&oracle, &spec, &names(&candidates));
        assert_eq!(
            names(&out),
            expected,
            "{text:?} on {} servers",
            spec.servers.len()
        );
    }
});
