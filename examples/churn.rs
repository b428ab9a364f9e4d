//! What a topology costs after churn, beside what it costs fresh (issue 22): a tag update's
//! publish time and the heap ten held snapshots keep, on 8,192 servers fresh and after 25
//! reloads that each add 4,000 tags and drop them again; then a cluster of 100,000 servers
//! that each carry a tag of their own, built and updated.
//!
//!   cargo run --release --example churn
//!
//! Heap figures come from a counting allocator (bytes allocated and not freed); times are the
//! median of 201 publications, so they move with the machine's load but not with one outlier.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a measurement fails loudly on what it did not expect"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use tagroute::topology::{ServerSpec, Snapshot, TagInterner, Topology, TopologySpec, Update};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; counting is one atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const SERVERS: usize = 8192;

/// 8,192 servers in 8 data centers and 4 regions; with `round`, the first 4,000 also carry a
/// tag of their own for that round.
fn cluster(servers: usize, round: Option<usize>) -> TopologySpec {
    TopologySpec {
        servers: (0..servers)
            .map(|i| {
                let mut tags = vec![format!("dc{}", i % 8), format!("region{}", i % 4)];
                if let Some(r) = round.filter(|_| i < 4000) {
                    tags.push(format!("r{r}-{i}"));
                }
                ServerSpec::new(format!("s{i}"), format!("s{i}:7687")).with_tags(tags)
            })
            .collect(),
        databases: vec![],
    }
}

fn set_tags(server: &str, tags: &[&str]) -> Vec<Update> {
    vec![Update::SetTags {
        server: server.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }]
}

/// The median time of publishing `updates[0]`, `updates[1]`, ... in turn.
fn publish_time(topology: &Topology, updates: &[Vec<Update>; 2]) -> Duration {
    let mut times: Vec<Duration> = (0..201)
        .map(|i| {
            let start = Instant::now();
            black_box(topology.apply(&updates[i % 2]).expect("valid"));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[100]
}

/// The heap that ten snapshots, each one tag update newer, keep while readers hold them.
fn ten_held(topology: &Topology, updates: &[Vec<Update>; 2]) -> isize {
    let before = live();
    let held: Vec<_> = (0..10)
        .map(|i| topology.apply(&updates[i % 2]).expect("valid"))
        .collect();
    let kept = live() - before;
    drop(held);
    kept
}

fn report(label: &str, topology: &Topology) {
    let updates = [
        set_tags("s4097", &["dc1", "region1", "late"]),
        set_tags("s4097", &["dc1", "region1"]),
    ];
    // One new tag after the churn, as in the issue, before anything is measured.
    topology.apply(&updates[0]).expect("valid");
    let time = publish_time(topology, &updates);
    let held = ten_held(topology, &updates);
    println!(
        "{label}: set-tags publish {:.1} µs (median of 201), ten held snapshots {:.2} MB",
        time.as_secs_f64() * 1e6,
        held as f64 / 1e6
    );
}

fn main() {
    let fresh = Topology::new(&cluster(SERVERS, None)).expect("valid");
    report("fresh 8,192 servers", &fresh);
    let churned = Topology::new(&cluster(SERVERS, None)).expect("valid");
    let start = Instant::now();
    for round in 0..25 {
        churned
            .replace(&cluster(SERVERS, Some(round)))
            .expect("4,000 new tags");
        churned.replace(&cluster(SERVERS, None)).expect("dropped");
    }
    println!(
        "25 churned reloads (4,000 tags added and dropped each) took {:.2} s",
        start.elapsed().as_secs_f64()
    );
    report("after 25 churned reloads", &churned);
    drop((fresh, churned));

    let big = 100_000;
    let spec = TopologySpec {
        servers: (0..big)
            .map(|i| {
                ServerSpec::new(format!("s{i}"), format!("s{i}:7687")).with_tags([format!("t{i}")])
            })
            .collect(),
        databases: vec![],
    };
    let before = live();
    let start = Instant::now();
    match Snapshot::build(&spec, &TagInterner::new()) {
        Ok(snapshot) => {
            let built = start.elapsed();
            let heap = live() - before;
            let topology = Topology::from_snapshot(snapshot);
            let updates = [
                set_tags("s500", &["t500", "t99999"]),
                set_tags("s500", &["t500"]),
            ];
            let start = Instant::now();
            topology.apply(&updates[0]).expect("valid");
            println!(
                "100,000 servers, a tag each: built in {:.2} s, snapshot heap {:.0} MB; a \
                 tag update publishes in {:.0} ms",
                built.as_secs_f64(),
                heap as f64 / 1e6,
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        Err(e) => println!("100,000 servers, a tag each: refused: {e}"),
    }
}
