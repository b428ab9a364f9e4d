//! Runs one operation of the benchmark workload `N` times, for instruction counts under
//! callgrind, which a shared machine's timings cannot give (issue 10's fixed cost of one
//! evaluation):
//!
//! ```sh
//! cargo build --release --example instructions
//! for n in 100000 200000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!     target/release/examples/instructions vm 64 $n
//! done
//! ```
//!
//! The difference of the two totals over the difference of `N` is the operation's count, setup
//! excluded. Operations: `vm` (`vm::eval`), `ideal` (the hand-written kernels, widest first:
//! `ideal` is the widest the CPU runs under valgrind, which hides AVX-512, `ideal-scalar` the
//! scalar one), `decide` (a cached router decision), `floor` (the memoised floor). `vm` takes
//! an optional fourth argument, a policy to run in place of the workload's.

use std::hint::black_box;
use std::process::ExitCode;

use tagroute::bench_support::{self, Ideal, IdealKernel};
use tagroute::router::Pick;
use tagroute::topology::{ServerSet, Snapshot, TagInterner};
use tagroute::{Strictness, compile, syntax, vm};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (operation, servers, times, policy) = match args.as_slice() {
        [o, s, n] => (o, s, n, bench_support::POLICY),
        [o, s, n, policy] if o == "vm" => (o, s, n, policy.as_str()),
        _ => {
            eprintln!("usage: instructions vm|ideal|ideal-scalar|decide|floor SERVERS N [POLICY]");
            return ExitCode::from(2);
        }
    };
    let (Ok(servers), Ok(times)) = (servers.parse::<usize>(), times.parse::<u64>()) else {
        eprintln!("SERVERS and N are counts");
        return ExitCode::from(2);
    };
    match run(operation, servers, times, policy) {
        Ok(hits) => {
            println!("{operation} at {servers} servers, {times} times: {hits} non-empty");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("{why}");
            ExitCode::FAILURE
        }
    }
}

fn run(operation: &str, servers: usize, times: u64, policy: &str) -> Result<u64, String> {
    let spec = bench_support::topology(servers);
    let snapshot = Snapshot::build(&spec, &TagInterner::new()).map_err(|e| e.to_string())?;
    let candidates = snapshot.available().clone();
    let mut hits = 0;
    let mut count = |hit: bool| hits += u64::from(hit);
    match operation {
        "vm" => {
            let policy = syntax::parse(policy, Strictness::Default).map_err(|e| e.to_string())?;
            let program =
                compile::compile(&policy, snapshot.interner()).map_err(|e| e.to_string())?;
            let mut out = ServerSet::empty(snapshot.len());
            for _ in 0..times {
                let ok = vm::eval(&program, &snapshot, black_box(&candidates), &mut out).is_ok();
                count(ok && !out.is_empty());
            }
        }
        "ideal" | "ideal-scalar" | "floor" => {
            let kernel = match operation {
                "ideal-scalar" => IdealKernel::scalar(),
                _ => IdealKernel::widest(),
            };
            let mut ideal = Ideal::new(&snapshot, &candidates, kernel);
            ideal.eval();
            let mut floor = ideal.memo_floor(1);
            for _ in 0..times {
                count(match operation {
                    "floor" => black_box(&mut floor).decide().is_some(),
                    _ => black_box(&mut ideal).eval(),
                });
            }
        }
        "decide" => {
            let service = bench_support::service(snapshot, bench_support::POLICY)
                .map_err(|e| e.to_string())?;
            let router = service.router();
            let policy = router
                .policy(bench_support::POLICY_NAME)
                .map_err(|e| e.to_string())?;
            let database = router
                .database(bench_support::DATABASE)
                .map_err(|e| e.to_string())?;
            let mut decider = router.decider_seeded(1);
            for _ in 0..times {
                count(
                    decider
                        .decide(black_box(policy), &database, Pick::Random)
                        .is_ok(),
                );
            }
        }
        other => {
            return Err(format!(
                "unknown operation `{other}`: vm, ideal, ideal-scalar, decide or floor"
            ));
        }
    }
    Ok(hits)
}
