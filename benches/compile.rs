//! Parse + compile + verify of a typical policy (target: under 2 microseconds).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tagroute::compile::compile;
use tagroute::topology::TagInterner;
use tagroute::workload::POLICY;
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

criterion_group!(benches, parse_compile_verify);
criterion_main!(benches);
