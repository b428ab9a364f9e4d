//! Parse + compile + verify of the workload policy (target: under 2 microseconds), and parse +
//! lint + compile + verify of policies of 10, 1,000 and 100,000 rules (target: linear in the
//! policy's size, a 400,000-rule policy in under a second).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tagroute::bench_support::{POLICY, policy_of_rules};
use tagroute::compile::compile;
use tagroute::topology::TagInterner;
use tagroute::{Strictness, syntax};

fn parse_compile_verify(c: &mut Criterion) {
    let interner = TagInterner::new();
    for tag in ["north", "north1", "north2"] {
        interner.intern(tag).expect("room");
    }
    c.bench_function("parse+compile+verify", |b| {
        b.iter(|| {
            let policy = syntax::parse(black_box(POLICY), Strictness::Default).expect("valid");
            compile(&policy, &interner).expect("compiles")
        })
    });
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse+lint+compile+verify");
    group.sample_size(10);
    for rules in [10, 1_000, 100_000] {
        let text = policy_of_rules(rules);
        let interner = TagInterner::new();
        group.throughput(Throughput::Elements(rules as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rules), &text, |b, text| {
            b.iter(|| {
                let policy = syntax::parse(black_box(text), Strictness::Default).expect("valid");
                let lints = syntax::lint(&policy);
                (lints.len(), compile(&policy, &interner).expect("compiles"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_compile_verify, scaling);
criterion_main!(benches);
