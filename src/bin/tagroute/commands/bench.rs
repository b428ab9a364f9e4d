//! `tagroute bench [--topology T] [--policy DSL] [--threads N] [--json]`: nanoseconds per
//! evaluation and per decision for the VM, the cached router, the reference interpreter and
//! the ideal loop (DESIGN section 11), measured here and now, and their ratios.
//!
//! Each number is the best of several timed batches, each long enough (about 20 ms) that the
//! clock's resolution does not matter; the best batch is the one least disturbed by whatever
//! else the machine runs. The ideal loop exists only for the built-in workload (its policy on
//! its clusters); with `--topology` or `--policy` it is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tagroute::bench_support::{self, IdealRows};
use tagroute::compile::compile;
use tagroute::config::RoutingSettings;
use tagroute::rng::Rng;
use tagroute::router::{Pick, Router};
use tagroute::routing::policies::{PolicyRegistry, PolicySource};
use tagroute::topology::{ServerSet, Snapshot, TagInterner, Topology, TopologySpec, from_json};
use tagroute::{Strictness, reference, vm};

use super::read;
use crate::args::BenchArgs;
use crate::report::{Console, Failure};

/// One cluster and policy to measure.
struct Scenario {
    spec: TopologySpec,
    policy: String,
    /// Whether the ideal loop applies (the built-in workload).
    ideal: bool,
}

/// What one scenario measured, in nanoseconds.
struct Measured {
    servers: usize,
    policy: String,
    vm: f64,
    router: Option<f64>,
    reference: f64,
    ideal_eval: Option<f64>,
    ideal_decision: Option<f64>,
}

pub fn run(args: &BenchArgs, console: &mut Console<'_>) -> Result<(), Failure> {
    let scenarios = scenarios(args)?;
    let measured = scenarios
        .iter()
        .map(measure)
        .collect::<Result<Vec<_>, _>>()?;
    let threads = usize::from(args.threads);
    let scaling = scaling(
        scenarios.last().map(|s| &s.spec),
        &scenarios
            .last()
            .map_or(bench_support::POLICY.into(), |s| s.policy.clone()),
        threads,
    )?;
    if args.json {
        let scenarios: Vec<Value> = measured.iter().map(Measured::json).collect();
        console.json(
            &json!({ "scenarios": scenarios, "threads": { "n": threads, "scaling": round(scaling) } }),
        )
    } else {
        table(&measured, threads, scaling, console)
    }
}

fn scenarios(args: &BenchArgs) -> Result<Vec<Scenario>, Failure> {
    let policy = args
        .policy
        .clone()
        .unwrap_or_else(|| bench_support::POLICY.into());
    let builtin_policy = args.policy.is_none();
    match &args.topology {
        Some(path) => {
            let spec = from_json(&read(path)?)
                .map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))?;
            Ok(vec![Scenario {
                spec,
                policy,
                ideal: false,
            }])
        }
        None => Ok(bench_support::SIZES
            .iter()
            .map(|&n| Scenario {
                spec: bench_support::topology(n),
                policy: policy.clone(),
                ideal: builtin_policy,
            })
            .collect()),
    }
}

fn measure(scenario: &Scenario) -> Result<Measured, Failure> {
    let invalid = |e: &dyn std::fmt::Display| Failure::Invalid(e.to_string());
    let snapshot = Snapshot::build(&scenario.spec, &TagInterner::new()).map_err(|e| invalid(&e))?;
    let parsed =
        tagroute::syntax::parse(&scenario.policy, Strictness::Default).map_err(|e| invalid(&e))?;
    let program = compile(&parsed, snapshot.interner()).map_err(|e| invalid(&e))?;
    let candidates = snapshot.available().clone();
    let mut out = ServerSet::empty(snapshot.len());
    let vm = time(|| vm::eval(&program, &snapshot, black_box(&candidates), &mut out).is_ok());
    let reference = time_reference(scenario, &candidates, &snapshot)?;
    let router = router_decision(scenario, &snapshot)?;
    let (ideal_eval, ideal_decision) = if scenario.ideal {
        ideals(&snapshot, &candidates)
    } else {
        (None, None)
    };
    Ok(Measured {
        servers: snapshot.len(),
        policy: scenario.policy.clone(),
        vm,
        router,
        reference,
        ideal_eval,
        ideal_decision,
    })
}

fn time_reference(
    scenario: &Scenario,
    candidates: &ServerSet,
    snapshot: &Snapshot,
) -> Result<f64, Failure> {
    let oracle = reference::parse(&scenario.policy, Strictness::Default)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let tags_of: BTreeMap<String, BTreeSet<String>> = scenario
        .spec
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.tags.iter().cloned().collect()))
        .collect();
    let names: BTreeSet<String> = snapshot
        .names(candidates)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(time(|| {
        !reference::evaluate(&oracle, &tags_of, black_box(&names)).is_empty()
    }))
}

/// The cached router decision for the first database, if the topology has one.
fn router_decision(scenario: &Scenario, snapshot: &Snapshot) -> Result<Option<f64>, Failure> {
    let Some(db) = snapshot.databases().first().map(|d| d.name().to_owned()) else {
        return Ok(None);
    };
    let router = router_for(snapshot.clone(), &scenario.policy)?;
    let (policy, db) = (
        router
            .policy("bench")
            .map_err(|e| Failure::Invalid(e.to_string()))?,
        router.database(&db),
    );
    let mut decider = router.decider_seeded(1);
    Ok(Some(time(|| {
        decider.decide(black_box(policy), &db, Pick::Random).is_ok()
    })))
}

fn router_for(snapshot: Snapshot, policy: &str) -> Result<Router, Failure> {
    let topology = Arc::new(Topology::from_snapshot(snapshot));
    let source = PolicySource::parse("bench", policy, Strictness::Default)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    let policies = PolicyRegistry::new(&[source], topology.interner())
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    Ok(Router::new(
        topology,
        Arc::new(policies),
        RoutingSettings::default(),
    ))
}

fn ideals(snapshot: &Snapshot, candidates: &ServerSet) -> (Option<f64>, Option<f64>) {
    let row = |tag: &str| snapshot.tagged_by_name(tag).words().to_vec();
    let rows = IdealRows {
        north1: row("north1"),
        north2: row("north2"),
        north: row("north"),
    };
    let mut scratch = vec![0u64; candidates.words().len()];
    let eval =
        time(|| bench_support::ideal_eval(&rows, black_box(candidates.words()), &mut scratch) > 0);
    let mut rng = Rng::seeded(1);
    let decision = time(|| {
        bench_support::ideal_decision(&rows, black_box(candidates.words()), &mut scratch, &mut rng)
            .is_some()
    });
    (Some(eval), Some(decision))
}

/// Decisions per second with `threads` deciders at once, against one alone.
fn scaling(spec: Option<&TopologySpec>, policy: &str, threads: usize) -> Result<f64, Failure> {
    let spec = spec
        .cloned()
        .unwrap_or_else(|| bench_support::topology(1024));
    let snapshot =
        Snapshot::build(&spec, &TagInterner::new()).map_err(|e| Failure::Invalid(e.to_string()))?;
    let Some(db) = snapshot.databases().first().map(|d| d.name().to_owned()) else {
        return Ok(1.0);
    };
    let router = router_for(snapshot, policy)?;
    let rate = |n: usize| -> f64 {
        let window = Duration::from_millis(100);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..n)
                .map(|i| {
                    let router = &router;
                    let db = router.database(&db);
                    scope.spawn(move || {
                        let Ok(policy) = router.policy("bench") else {
                            return 0;
                        };
                        let mut decider = router.decider_seeded(i as u64);
                        let (start, mut done) = (Instant::now(), 0u64);
                        while start.elapsed() < window {
                            for _ in 0..1024 {
                                black_box(decider.decide(policy, &db, Pick::Random).is_ok());
                            }
                            done += 1024;
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or(0))
                .sum::<u64>() as f64
        })
    };
    // The best of three windows each, one thread and then all of them, so a window that another
    // process disturbed does not decide the ratio.
    let best = |n: usize| (0..3).map(|_| rate(n)).fold(0.0, f64::max);
    let single = best(1);
    Ok(if single > 0.0 {
        best(threads) / single
    } else {
        0.0
    })
}

/// Nanoseconds per call of `f`: the best of five batches of about 20 ms.
fn time(mut f: impl FnMut() -> bool) -> f64 {
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        (0..batch).for_each(|_| {
            black_box(f());
        });
        if start.elapsed() >= Duration::from_millis(20) || batch >= 1 << 30 {
            break;
        }
        batch *= 2;
    }
    (0..5)
        .map(|_| {
            let start = Instant::now();
            (0..batch).for_each(|_| {
                black_box(f());
            });
            start.elapsed().as_nanos() as f64 / batch as f64
        })
        .fold(f64::INFINITY, f64::min)
}

impl Measured {
    fn json(&self) -> Value {
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round(a / b));
        json!({
            "servers": self.servers,
            "policy": self.policy,
            "vm_ns": round(self.vm),
            "ideal_eval_ns": self.ideal_eval.map(round),
            "router_ns": self.router.map(round),
            "ideal_decision_ns": self.ideal_decision.map(round),
            "reference_ns": round(self.reference),
            "vm_vs_ideal": ratio(Some(self.vm), self.ideal_eval),
            "router_vs_ideal": ratio(self.router, self.ideal_decision),
            "vm_vs_reference": round(self.reference / self.vm),
        })
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn table(
    measured: &[Measured],
    threads: usize,
    scaling: f64,
    console: &mut Console<'_>,
) -> Result<(), Failure> {
    let cell = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    let out = &mut *console.out;
    writeln!(
        out,
        "{:>7}  {:>9}  {:>9}  {:>9}  {:>9}  {:>12}  {:>6}  {:>6}  {:>8}",
        "servers",
        "vm ns",
        "ideal ns",
        "router ns",
        "ideal dec",
        "reference ns",
        "vm/id",
        "rt/id",
        "ref/vm"
    )?;
    for m in measured {
        writeln!(
            out,
            "{:>7}  {:>9.2}  {:>9}  {:>9}  {:>9}  {:>12.0}  {:>6}  {:>6}  {:>8.0}",
            m.servers,
            m.vm,
            cell(m.ideal_eval),
            cell(m.router),
            cell(m.ideal_decision),
            m.reference,
            cell(m.ideal_eval.map(|i| m.vm / i)),
            cell(m.router.zip(m.ideal_decision).map(|(r, i)| r / i)),
            m.reference / m.vm,
        )?;
    }
    if let Some(m) = measured.first() {
        writeln!(out, "policy: {}", m.policy)?;
    }
    writeln!(
        out,
        "{threads} threads deciding: {scaling:.2}x the decisions of one"
    )?;
    Ok(())
}
