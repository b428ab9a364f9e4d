//! The benchmark workload of DESIGN section 11, shared by the criterion benches and
//! `tagroute bench`: a cluster generator, the policy, and the hand-written *ideal* evaluation
//! and decision that the VM and the router are measured against.
//!
//! The ideal evaluation is what a programmer would write for exactly
//! `tags(north1,north2)->min(2); tags(north); halt()` over bitset words: per word
//! `(north1 | north2) & candidates`, summing popcounts; if the sum is at least 2 that is the
//! result, else `north & candidates`. No bytecode, no dispatch. The ideal decision adds one
//! uniform random pick (select the k-th set bit). Both get the same run-time `popcnt` choice
//! as the VM, so the comparison is like for like.

use crate::rng::Rng;
use crate::topology::{DatabaseSpec, ServerSpec, TopologySpec, words_for};
use crate::vm::{features, select_in_word};

/// The policy of the workload.
pub const POLICY: &str = "tags(north1,north2)->min(2); tags(north); halt()";

/// The cluster sizes of the workload.
pub const SIZES: [usize; 3] = [64, 1024, 8192];

/// The database of the workload's clusters: three primaries without a leader and every other
/// server a secondary, so its readers are all the servers.
pub const DATABASE: &str = "neo4j";

const REGIONS: [&str; 4] = ["north", "south", "east", "west"];
const EXTRA_TAGS: [&str; 8] = [
    "ssd", "hdd", "gpu", "rack-a", "rack-b", "rack-c", "blue", "green",
];

/// A cluster of `servers` servers with 20 tags: four regions with two data centers each
/// (`north1`, `north2`, ...; server `i` sits in data center `i % 8`) and eight more tags spread
/// over the servers. Every server is available.
pub fn topology(servers: usize) -> TopologySpec {
    let specs = (0..servers)
        .map(|i| {
            let dc = i % 8;
            let region = REGIONS.get(dc / 2).copied().unwrap_or("north");
            let extra = EXTRA_TAGS
                .get((i / 8) % EXTRA_TAGS.len())
                .copied()
                .unwrap_or("ssd");
            let tags = [
                region.to_owned(),
                format!("{region}{}", dc % 2 + 1),
                extra.to_owned(),
            ];
            ServerSpec::new(format!("s{i}"), format!("s{i}.bench:7687")).with_tags(tags)
        })
        .collect::<Vec<_>>();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let (primaries, secondaries) = names.split_at(names.len().min(3));
    let database = DatabaseSpec {
        name: DATABASE.into(),
        primaries: primaries.to_vec(),
        secondaries: secondaries.to_vec(),
        leader: None,
    };
    TopologySpec {
        servers: specs,
        databases: vec![database],
    }
}

/// A policy of `rules` rules for the compile-time benchmark: 64 tags in pairs with thresholds,
/// every eighth rule a repeat of the one seven before (so duplicate detection has work), ending in
/// `halt()`.
pub fn policy_of_rules(rules: usize) -> String {
    let rule = |i: usize| {
        let i = if i % 8 == 7 { i - 7 } else { i };
        format!(
            "tags(t{},t{})->min({})",
            i % 64,
            (i / 64) % 64,
            i / 4096 + 2
        )
    };
    let mut text: Vec<String> = (0..rules.saturating_sub(1)).map(rule).collect();
    text.push("halt()".into());
    text.join("; ")
}

/// The tag rows the ideal evaluation reads.
#[derive(Clone, Debug)]
pub struct IdealRows {
    /// Servers tagged `north1`.
    pub north1: Vec<u64>,
    /// Servers tagged `north2`.
    pub north2: Vec<u64>,
    /// Servers tagged `north`.
    pub north: Vec<u64>,
}

/// The ideal evaluation: writes the result into `out` and returns its size.
pub fn ideal_eval(rows: &IdealRows, candidates: &[u64], out: &mut [u64]) -> u32 {
    if features().popcnt {
        // SAFETY: `popcnt` was detected on this CPU, all `ideal_eval_popcnt` requires.
        unsafe { ideal_eval_popcnt(rows, candidates, out) }
    } else {
        ideal_eval_portable(rows, candidates, out)
    }
}

/// The ideal decision: the ideal evaluation, then one uniform pick. Returns the server index.
pub fn ideal_decision(
    rows: &IdealRows,
    candidates: &[u64],
    scratch: &mut [u64],
    rng: &mut Rng,
) -> Option<usize> {
    let count = ideal_eval(rows, candidates, scratch);
    let mut k = rng.below(u64::from(count)) as u32;
    for (w, &word) in scratch.iter().enumerate() {
        let ones = word.count_ones();
        if k < ones {
            return Some(w * 64 + select_in_word(word, k) as usize);
        }
        k -= ones;
    }
    None
}

/// Words needed for a cluster of `servers` servers.
pub fn words(servers: usize) -> usize {
    words_for(servers)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn ideal_eval_popcnt(rows: &IdealRows, candidates: &[u64], out: &mut [u64]) -> u32 {
    ideal_eval_portable(rows, candidates, out)
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn ideal_eval_popcnt(rows: &IdealRows, candidates: &[u64], out: &mut [u64]) -> u32 {
    ideal_eval_portable(rows, candidates, out)
}

#[inline(always)]
fn ideal_eval_portable(rows: &IdealRows, candidates: &[u64], out: &mut [u64]) -> u32 {
    let mut count = 0;
    for (((o, c), a), b) in out
        .iter_mut()
        .zip(candidates)
        .zip(&rows.north1)
        .zip(&rows.north2)
    {
        *o = (a | b) & c;
        count += o.count_ones();
    }
    if count >= 2 {
        return count;
    }
    count = 0;
    for ((o, c), n) in out.iter_mut().zip(candidates).zip(&rows.north) {
        *o = n & c;
        count += o.count_ones();
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::syntax::parse;
    use crate::topology::{ServerSet, Snapshot, TagInterner};
    use crate::{Strictness, vm};

    #[test]
    fn the_ideal_and_the_vm_agree_on_the_workload() {
        for servers in [1, 2, 9, 64, 1024] {
            let snapshot = Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid");
            let row = |tag: &str| snapshot.tagged_by_name(tag).words().to_vec();
            let rows = IdealRows {
                north1: row("north1"),
                north2: row("north2"),
                north: row("north"),
            };
            let mut ideal = vec![0; words(servers)];
            ideal_eval(&rows, snapshot.available().words(), &mut ideal);
            let program = compile(
                &parse(POLICY, Strictness::Strict).expect("valid"),
                snapshot.interner(),
            )
            .expect("compiles");
            let mut out = ServerSet::default();
            vm::eval(&program, &snapshot, snapshot.available(), &mut out).expect("evaluates");
            assert_eq!(out.words(), ideal.as_slice(), "{servers} servers");
            let picked = ideal_decision(
                &rows,
                snapshot.available().words(),
                &mut ideal,
                &mut Rng::seeded(1),
            );
            assert!(picked.is_some_and(|i| out.words()[i / 64] & (1 << (i % 64)) != 0));
        }
    }

    #[test]
    fn big_policies_lint_and_compile_their_repeats_away() {
        let policy = parse(&policy_of_rules(20_000), Strictness::Default).expect("valid");
        let duplicates = crate::syntax::lint(&policy)
            .iter()
            .filter(|l| l.kind.code() == "duplicate-rule")
            .count();
        let program = compile(&policy, &TagInterner::new()).expect("compiles");
        let rules = program.insns().iter().filter(|i| i.starts_rule()).count();
        assert_eq!(duplicates + rules, 19_999);
        assert!(duplicates >= 19_999 / 8, "{duplicates}");
    }

    #[test]
    fn the_workload_has_twenty_tags_and_all_servers_read() {
        let snapshot = Snapshot::build(&topology(64), &TagInterner::new()).expect("valid");
        assert_eq!(snapshot.interner().len(), 20);
        let db = snapshot.database(DATABASE).expect("database");
        assert_eq!(db.primaries().len() + db.secondaries().len(), 64);
    }
}
