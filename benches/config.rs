//! Loading neo4j.conf inputs of the shapes that were quadratic or bloated (issues 14 and 22):
//! distinct keys (long and short), unknown keys, one key given again and again, a tag list and a
//! policy continued over every line, a policy of repeated rules on one line, random ASCII, and
//! an unknown key a megabyte long; 1 MB each (`benches/config_shapes.rs`). Each is loaded and
//! every diagnostic rendered as `check` prints it. Time should be linear in the size (criterion
//! reports bytes per second); memory is printed first: the peak of the heap during one load,
//! against the file's size (the goal is at most 8x; `tests/config_memory.rs` holds it).
//!
//!   cargo bench --bench config

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly on what it did not expect"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tagroute::Strictness;
use tagroute::config::Config;

#[path = "config_shapes.rs"]
mod config_shapes;

/// Counts the heap: what is live, and the most that was.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; counting is two atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        black_box(load(text));
        let peak = PEAK.load(Ordering::Relaxed) - before;
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
