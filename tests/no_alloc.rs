//! Evaluation and decisions allocate nothing: a counting global allocator watches them.
//!
//! Its own test binary, because the allocator is global. Counts are per thread, so the test
//! harness's other threads cannot disturb them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use tagroute::Strictness;
use tagroute::bench_support::{DATABASE, POLICY, topology};
use tagroute::compile::compile;
use tagroute::config::RoutingSettings;
use tagroute::router::{Pick, Router};
use tagroute::routing::policies::{PolicyRegistry, PolicySource};
use tagroute::topology::{ServerSet, Snapshot, TagInterner, Topology};
use tagroute::{syntax, vm};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

#[test]
fn evaluation_allocates_nothing() {
    for servers in [64, 1024, 8192] {
        let snapshot = Snapshot::build(&topology(servers), &TagInterner::new()).expect("valid");
        let policies = [
            POLICY,
            "tags(north)->tags(ssd,gpu,blue)->min(3); min(5); tags(nowhere)",
        ];
        for text in policies {
            let program = compile(
                &syntax::parse(text, Strictness::Default).expect("valid"),
                snapshot.interner(),
            )
            .expect("compiles");
            let mut out = ServerSet::empty(servers);
            let n = allocations(|| {
                for _ in 0..100 {
                    vm::eval(&program, &snapshot, snapshot.available(), &mut out)
                        .expect("evaluates");
                }
            });
            assert_eq!(n, 0, "{text} on {servers} servers");
        }
    }
}

#[test]
fn decisions_allocate_nothing_once_warm() {
    let topology = Arc::new(Topology::new(&topology(1024)).expect("valid"));
    let source = PolicySource::parse("bench", POLICY, Strictness::Strict).expect("valid");
    let policies = Arc::new(PolicyRegistry::new(&[source], topology.interner()).expect("compiles"));
    let router = Router::new(topology, policies, RoutingSettings::default());
    let (policy, db) = (
        router.policy("bench").expect("exists"),
        router.database(DATABASE),
    );
    let mut decider = router.decider_seeded(9);
    decider.decide(policy, &db, Pick::Random).expect("a server");
    decider
        .decide_excluding(policy, &db, &["s8"], Pick::Random)
        .expect("a server");
    let n = allocations(|| {
        for pick in [Pick::Random, Pick::RoundRobin] {
            for _ in 0..1000 {
                decider.decide(policy, &db, pick).expect("a server");
            }
            for _ in 0..100 {
                decider
                    .decide_excluding(policy, &db, &["s8", "s16"], pick)
                    .expect("a server");
            }
        }
    });
    assert_eq!(n, 0);
}
