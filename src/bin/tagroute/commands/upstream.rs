//! `tagroute upstream --config CONF --topology T --db NAME --server NAME [--seed N] [--samples K]`.
//!
//! One selection prints `{"strategy": ..., "upstream": ...}`; `--samples K` makes K selections
//! from one selector (so the every-10th-call counter and the generator run on) and prints how
//! often each strategy answered and each server was chosen; K is at most
//! [`MAX_SAMPLES`](crate::args::MAX_SAMPLES), a usage error beyond. No upstream exits 1 with every
//! strategy asked and its reason on stderr.

use std::collections::BTreeMap;

use serde_json::json;
use tagroute::catchup::{SelectError, Selector};
use tagroute::rng::Rng;
use tagroute::topology::{ServerIdx, Snapshot};

use super::{load_config, load_topology};
use crate::args::UpstreamArgs;
use crate::report::{Console, Failure};

pub fn run(args: &UpstreamArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let config = load_config(&args.config, console)?;
    let snapshot = load_topology(&args.topology)?;
    let mut selector = Selector::builder(config.catchup())
        .rng(args.seed.map_or_else(Rng::from_os, Rng::seeded))
        .build(snapshot.interner());
    match args.samples {
        None => once(args, &snapshot, &mut selector, console),
        Some(samples) => many(args, samples, &snapshot, &mut selector, console),
    }
}

/// `{"strategy": "user-defined", "upstream": "n2b"}`.
fn once(
    args: &UpstreamArgs,
    snapshot: &Snapshot,
    selector: &mut Selector,
    console: &mut Console<'_>,
) -> Result<(), Failure> {
    let selection = match selector.select(snapshot, &args.db, &args.server) {
        Ok(selection) => selection,
        Err(error) => return Err(failure(&error, console)),
    };
    let upstream = name(snapshot, selection.upstream);
    console.json(&json!({ "strategy": selection.strategy, "upstream": upstream }))
}

/// `{"samples": K, "strategies": {"user-defined": K}, "counts": {"n2b": 480, "n2c": 520}}`.
fn many(
    args: &UpstreamArgs,
    samples: u64,
    snapshot: &Snapshot,
    selector: &mut Selector,
    console: &mut Console<'_>,
) -> Result<(), Failure> {
    let mut strategies: BTreeMap<String, u64> = BTreeMap::new();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for _ in 0..samples {
        let selection = match selector.select(snapshot, &args.db, &args.server) {
            Ok(selection) => selection,
            Err(error) => return Err(failure(&error, console)),
        };
        *strategies.entry(selection.strategy.to_owned()).or_default() += 1;
        *counts
            .entry(name(snapshot, selection.upstream))
            .or_default() += 1;
    }
    console.json(&json!({ "samples": samples, "strategies": strategies, "counts": counts }))
}

/// Reports a failed selection: no upstream lists each strategy asked, one a line.
fn failure(error: &SelectError, console: &mut Console<'_>) -> Failure {
    let SelectError::NoUpstream(none) = error else {
        return Failure::Invalid(error.to_string());
    };
    let mut report = format!(
        "error: no upstream for server `{}` on database `{}`; every strategy was asked:",
        none.server(),
        none.database()
    );
    for asked in none.asked() {
        report.push_str(&format!("\n  {}: {}", asked.strategy, asked.reason));
    }
    match writeln!(console.err, "{report}") {
        Ok(()) => Failure::Reported,
        Err(e) => Failure::Io(e),
    }
}

fn name(snapshot: &Snapshot, server: ServerIdx) -> &str {
    snapshot.server(server).map_or("?", |s| s.name())
}
