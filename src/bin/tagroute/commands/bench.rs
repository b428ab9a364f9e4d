//! `tagroute bench [--topology T] [--policy DSL] [--threads N] [--json]`: nanoseconds per
//! evaluation and per decision for the VM, the cached router, the reference interpreter and
//! the yardsticks of the README's performance section, measured here and now, and their ratios. The
//! yardsticks: the best ideal evaluation (hand-written for the workload's policy, at the widest
//! kernel this CPU runs, named in `ideal_kernel`), the scalar ideal beside it
//! (`ideal_eval_ns`), the ideal decision (the best ideal evaluation plus one uniform pick) and
//! the memoised floor of a cached decision (a flat array of ids, one draw, one multiply-shift).
//!
//! Each number is the best of several timed batches, each long enough (about 20 ms) that the
//! clock's resolution does not matter; the best batch is the one least disturbed by whatever
//! else the machine runs. The ideal loop exists only for the built-in workload (its policy on
//! its clusters); with `--topology` or `--policy` it is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tagroute::bench_support::{self, Ideal, IdealKernel};
use tagroute::compile::compile;
use tagroute::rng::Rng;
use tagroute::router::{Pick, Router};
use tagroute::topology::{ServerSet, Snapshot, TagInterner, TopologySpec, from_json};
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
    ideals: Option<Ideals>,
}

/// The yardsticks, for the built-in workload only.
struct Ideals {
    /// Each kernel's evaluation, widest first.
    kernels: Vec<(&'static str, f64)>,
    kernel: &'static str,
    best_eval: f64,
    scalar_eval: f64,
    decision: f64,
    memo_floor: f64,
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
        console.json(&json!({
            "cpu": bench_support::cpu_line(),
            "scenarios": scenarios,
            "threads": { "n": threads, "scaling": round(scaling) },
        }))
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
    let ideals = scenario.ideal.then(|| ideals(&snapshot, &candidates));
    Ok(Measured {
        servers: snapshot.len(),
        policy: scenario.policy.clone(),
        vm,
        router,
        reference,
        ideals,
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
    let invalid = |e: tagroute::UnknownName| Failure::Invalid(e.to_string());
    let (policy, db) = (
        router.policy(bench_support::POLICY_NAME).map_err(invalid)?,
        router.database(&db).map_err(invalid)?,
    );
    let mut decider = router.decider_seeded(1);
    Ok(Some(time(|| {
        decider.decide(black_box(policy), &db, Pick::Random).is_ok()
    })))
}

fn router_for(snapshot: Snapshot, policy: &str) -> Result<Router, Failure> {
    let service =
        bench_support::service(snapshot, policy).map_err(|e| Failure::Invalid(e.to_string()))?;
    Ok(service.router())
}

fn ideals(snapshot: &Snapshot, candidates: &ServerSet) -> Ideals {
    let kernels: Vec<(&'static str, f64)> = IdealKernel::available()
        .into_iter()
        .map(|kernel| {
            let mut ideal = Ideal::new(snapshot, candidates, kernel);
            (kernel.name(), time(|| black_box(&mut ideal).eval()))
        })
        .collect();
    let (kernel, best_eval) =
        kernels.iter().copied().fold(
            ("scalar", f64::INFINITY),
            |a, b| if b.1 < a.1 { b } else { a },
        );
    let scalar_eval = kernels
        .iter()
        .find(|(name, _)| *name == "scalar")
        .map_or(best_eval, |k| k.1);
    let mut widest = Ideal::new(snapshot, candidates, IdealKernel::widest());
    let mut rng = Rng::seeded(1);
    let decision = time(|| black_box(&mut widest).decide(&mut rng).is_some());
    let mut floor = widest.memo_floor(1);
    let memo_floor = time(|| black_box(&mut floor).decide().is_some());
    Ideals {
        kernels,
        kernel,
        best_eval,
        scalar_eval,
        decision,
        memo_floor,
    }
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
                        let (Ok(policy), Ok(db)) = (router.policy(bench_support::POLICY_NAME), db)
                        else {
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
        let ideal = |f: fn(&Ideals) -> f64| self.ideals.as_ref().map(f);
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round(a / b));
        json!({
            "servers": self.servers,
            "policy": self.policy,
            "vm_ns": round(self.vm),
            "ideal_kernel": self.ideals.as_ref().map(|i| i.kernel),
            "ideal_kernels_ns": self.ideals.as_ref().map(|i| {
                i.kernels
                    .iter()
                    .map(|(name, ns)| ((*name).to_owned(), json!(round(*ns))))
                    .collect::<serde_json::Map<_, _>>()
            }),
            "best_ideal_eval_ns": ideal(|i| i.best_eval).map(round),
            "ideal_eval_ns": ideal(|i| i.scalar_eval).map(round),
            "router_ns": self.router.map(round),
            "ideal_decision_ns": ideal(|i| i.decision).map(round),
            "memo_floor_ns": ideal(|i| i.memo_floor).map(round),
            "reference_ns": round(self.reference),
            "vm_vs_best": ratio(Some(self.vm), ideal(|i| i.best_eval)),
            "vm_vs_ideal": ratio(Some(self.vm), ideal(|i| i.scalar_eval)),
            "router_vs_ideal": ratio(self.router, ideal(|i| i.decision)),
            "router_vs_floor": ratio(self.router, ideal(|i| i.memo_floor)),
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
        "{:>7}  {:>8}  {:>8}  {:>8}  {:>6}  {:>9}  {:>8}  {:>8}  {:>6}  {:>12}  {:>8}",
        "servers",
        "vm ns",
        "best ns",
        "scalar",
        "vm/bst",
        "router ns",
        "floor ns",
        "ideal dc",
        "rt/fl",
        "reference ns",
        "ref/vm"
    )?;
    for m in measured {
        let ideal = |f: &dyn Fn(&Ideals) -> f64| m.ideals.as_ref().map(f);
        writeln!(
            out,
            "{:>7}  {:>8.2}  {:>8}  {:>8}  {:>6}  {:>9}  {:>8}  {:>8}  {:>6}  {:>12.0}  {:>8.0}",
            m.servers,
            m.vm,
            cell(ideal(&|i| i.best_eval)),
            cell(ideal(&|i| i.scalar_eval)),
            cell(ideal(&|i| m.vm / i.best_eval)),
            cell(m.router),
            cell(ideal(&|i| i.memo_floor)),
            cell(ideal(&|i| i.decision)),
            cell(m.router.zip(ideal(&|i| i.memo_floor)).map(|(r, f)| r / f)),
            m.reference,
            m.reference / m.vm,
        )?;
    }
    if let Some(m) = measured.first() {
        writeln!(out, "policy: {}", m.policy)?;
    }
    for m in measured {
        if let Some(ideals) = &m.ideals {
            let each: Vec<String> = ideals
                .kernels
                .iter()
                .map(|(name, ns)| format!("{name} {ns:.2}"))
                .collect();
            writeln!(
                out,
                "ideal kernels at {} servers, ns: {} (best: {})",
                m.servers,
                each.join(", "),
                ideals.kernel
            )?;
        }
    }
    writeln!(out, "{}", bench_support::cpu_line())?;
    writeln!(
        out,
        "{threads} threads deciding: {scaling:.2}x the decisions of one"
    )?;
    Ok(())
}
