//! Loading neo4j.conf inputs of the shapes that were quadratic or bloated (issue 14): a large
//! file of distinct keys, a key given 100,000 times, 100,000 error lines, a value continued over
//! 100,000 lines, and 1 MB of random ASCII. Each should cost time linear in its size; the figures
//! are per input (divide by the size for throughput).
//!
//!   cargo bench --bench config

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tagroute::Strictness;
use tagroute::config::Config;

/// `n` distinct keys that Neo4j has and tagroute ignores.
fn distinct_keys(n: usize) -> String {
    (0..n).map(|i| format!("server.x{i}=value{i}\n")).collect()
}

/// One key given `n` times: `n - 1` errors.
fn duplicate_keys(n: usize) -> String {
    "dbms.routing_ttl=5s\n".repeat(n)
}

/// `n` unknown keys of tagroute's namespaces: `n` errors.
fn error_lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("dbms.routing.reads_on_primary_enabled{i}=false\n"))
        .collect()
}

/// One tag list continued over `n` lines.
fn continuation_lines(n: usize) -> String {
    let mut text = String::from("initial.server.tags=t\\\n");
    for i in 0..n {
        text.push_str(&format!("    ,t{i}\\\n"));
    }
    text.push('\n');
    text
}

/// `len` bytes of printable ASCII and line breaks, from a fixed seed.
fn random_ascii(len: usize) -> String {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 97 {
                0..=4 => '\n',
                n => char::from(b' ' + (n % 95) as u8),
            }
        })
        .collect()
}

fn load(c: &mut Criterion) {
    let inputs = [
        ("distinct-keys", distinct_keys(50_000)),
        ("duplicate-keys", duplicate_keys(100_000)),
        ("error-lines", error_lines(100_000)),
        ("continuation-lines", continuation_lines(100_000)),
        ("random-ascii", random_ascii(1 << 20)),
    ];
    let mut group = c.benchmark_group("config/load");
    group.sample_size(10);
    for (shape, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), text, |b, text| {
            b.iter(|| {
                let loaded = Config::parse(black_box(text), "bench.conf", Strictness::Default);
                black_box(
                    loaded
                        .map(|c| c.warnings().len())
                        .map_err(|e| e.errors().len()),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
