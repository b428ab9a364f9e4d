//! Loading neo4j.conf inputs of the shapes that were quadratic or bloated (issue 14): a large
//! file of distinct keys, a key given 100,000 times, 100,000 error lines, a value continued over
//! 100,000 lines, 1 MB of random ASCII, an unknown key 100,000 characters long, and a 100,000-rule policy whose repeated rules are
//! warned about on one long line. Each is loaded and every diagnostic rendered as `check` prints
//! it, and should cost time linear in its size; criterion reports bytes per second.
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

/// One policy of `n` rules on one line, nearly all repeating an earlier rule: `n - 50` warnings,
/// each placed on the same long line.
fn repeated_rules(n: usize) -> String {
    let rules: Vec<String> = (0..n).map(|i| format!("tags(t{})", i % 50)).collect();
    format!(
        "dbms.routing.load_balancing.config.server_policies.p={}\n",
        rules.join(";")
    )
}

/// One unknown key of tagroute's namespaces whose last segment is `n` characters long ("did you
/// mean" was quadratic in it).
fn long_unknown_key(n: usize) -> String {
    format!("dbms.routing.{}=x\n", "a".repeat(n))
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
        ("repeated-rules", repeated_rules(100_000)),
        ("long-unknown-key", long_unknown_key(100_000)),
    ];
    let mut group = c.benchmark_group("config/load");
    group.sample_size(10);
    for (shape, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), text, |b, text| {
            // Loading, then rendering every diagnostic as `check` prints it.
            b.iter(|| {
                let rendered: usize =
                    match Config::parse(black_box(text), "bench.conf", Strictness::Default) {
                        Ok(config) => config
                            .warnings()
                            .iter()
                            .map(|d| d.render_in("bench.conf", config.line_index()).len())
                            .sum(),
                        Err(errors) => errors
                            .errors()
                            .iter()
                            .map(|d| d.render_in("bench.conf", errors.line_index()).len())
                            .sum(),
                    };
                black_box(rendered)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
