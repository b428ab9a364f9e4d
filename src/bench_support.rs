//! The benchmark workload of the README's performance section, shared by the criterion benches and
//! `tagroute bench`: a cluster generator, the policy, a generator of long policies, and the
//! yardsticks the VM and the router are measured against ([`Ideal`]: the hand-written ideal
//! evaluation and decision at each kernel this CPU runs, and the memoised floor of a
//! decision). Tooling, not API: behind the `bench` feature and hidden from the documentation.

mod ideal;

pub use ideal::{Ideal, IdealKernel, MemoFloor};

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::routing::RoutingService;
use crate::syntax::Strictness;
use crate::topology::{DatabaseSpec, ServerSpec, Snapshot, Topology, TopologySpec};

/// The CPU and the features the kernels use, for benchmarks to print beside their figures:
/// `cpu: Intel(R) Xeon(R) Processor; features: popcnt avx2 avx512f avx512_vpopcntdq ...`.
pub fn cpu_line() -> String {
    let brand = crate::cpu::brand().unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    format!(
        "cpu: {brand}; features: {}",
        crate::cpu::features().names().join(" ")
    )
}

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

/// The name the workload's routing service gives its one configured policy.
pub const POLICY_NAME: &str = "bench";

/// A routing service over a topology starting at `snapshot`, configured with one policy,
/// [`POLICY_NAME`], whose text is `policy`: how benchmarks and tests build a router.
pub fn service(
    snapshot: Snapshot,
    policy: &str,
) -> Result<RoutingService, Box<dyn std::error::Error + Send + Sync>> {
    if policy.contains(['\n', '\r']) {
        return Err("a policy is one line".into());
    }
    let conf = format!("dbms.routing.load_balancing.config.server_policies.{POLICY_NAME}={policy}");
    let config = Config::parse(&conf, Path::new("bench.conf"), Strictness::Default)?;
    let topology = Arc::new(Topology::from_snapshot(snapshot));
    Ok(RoutingService::new(topology, &config)?)
}

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
        ..DatabaseSpec::default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::rng::Rng;
    use crate::syntax::Strictness;
    use crate::syntax::parse;
    use crate::topology::{ServerIdx, ServerSet, Snapshot, TagInterner};
    use crate::vm;

    #[test]
    fn the_ideals_the_floor_and_the_vm_agree_on_the_workload() {
        for servers in [1, 2, 9, 64, 65, 1000, 1024] {
            let snapshot = Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid");
            let program = compile(
                &parse(POLICY, Strictness::Strict).expect("valid"),
                snapshot.interner(),
            )
            .expect("compiles");
            let mut out = ServerSet::default();
            vm::eval(&program, &snapshot, snapshot.available(), &mut out).expect("evaluates");
            let kernels = IdealKernel::available();
            assert!(kernels.iter().any(|k| k.name() == "scalar"));
            for kernel in kernels {
                let mut ideal = Ideal::new(&snapshot, snapshot.available(), kernel);
                assert_eq!(ideal.eval(), !out.is_empty(), "{servers} {}", kernel.name());
                assert_eq!(
                    ideal.count() as usize,
                    out.len(),
                    "{servers} {}",
                    kernel.name()
                );
                assert_eq!(ideal.selected(), out.words(), "{servers} {}", kernel.name());
                let mut rng = Rng::seeded(1);
                for _ in 0..20 {
                    let picked = ideal.decide(&mut rng).expect("a server");
                    assert!(out.contains(ServerIdx::new(picked).expect("index")));
                }
                let mut floor = ideal.memo_floor(1);
                for _ in 0..20 {
                    let picked = floor.decide().expect("a server") as usize;
                    assert!(out.contains(ServerIdx::new(picked).expect("index")));
                }
            }
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
