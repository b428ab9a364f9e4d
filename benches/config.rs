//! Loading neo4j.conf inputs of the shapes that were quadratic or bloated (issues 14 and 22):
//! distinct keys (long and short), unknown keys, one key given again and again, a tag list and a
//! policy continued over every line, a policy of repeated rules on one line, random ASCII, and
//! an unknown key a megabyte long; 1 MB each (`benches/config_shapes.rs`). Each is loaded and
//! every diagnostic rendered as `check` prints it. Time should be linear in the size (criterion
//! reports bytes per second); memory is printed first: the peak of the heap during one load,
//! against the file's size, counted by the tests' allocator (`tests/counting.rs`): at most 8x,
//! which `tests/config_memory.rs` holds.
//!
//!   cargo bench --bench config

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tagroute::Strictness;
use tagroute::config::Config;

#[path = "config_shapes.rs"]
mod config_shapes;

#[path = "../tests/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Loads `text` and renders every diagnostic as `check` prints it; the bytes rendered.
fn load(text: &str) -> usize {
    match Config::parse(text, Path::new("bench.conf"), Strictness::Default) {
        Ok(config) => config
            .warnings()
            .iter()
            .map(|d| d.render_in("bench.conf", config.line_index()).len())
            .sum(),
        Err(errors) => errors
            .errors()
            .iter()
            .chain(errors.warnings())
            .map(|d| d.render_in("bench.conf", errors.line_index()).len())
            .sum(),
    }
}

fn shapes(c: &mut Criterion) {
    let inputs = config_shapes::shapes(1 << 20);
    println!("config/peak: the most heap one load took, against the file (goal: 8x)");
    for (shape, text) in &inputs {
        let peak = counting::peak_of(|| {
            black_box(load(text));
        });
        println!(
            "config/peak/{shape}: {:.1} MB, {:.1}x the file",
            peak as f64 / 1e6,
            peak as f64 / text.len() as f64
        );
    }
    let mut group = c.benchmark_group("config/load");
    group.sample_size(10);
    for (shape, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), text, |b, text| {
            b.iter(|| black_box(load(black_box(text))))
        });
    }
    group.finish();
}

criterion_group!(benches, shapes);
criterion_main!(benches);
