//! Evaluation and decisions allocate nothing: a counting global allocator watches them.
//!
//! Its own test binary, because the allocator is global. Counts are per thread, so the test
//! harness's other threads cannot disturb them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on what it did not expect"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tagroute::Strictness;
use tagroute::bench_support::{DATABASE, POLICY, POLICY_NAME, service, topology};
use tagroute::compile::compile;
use tagroute::router::Pick;
use tagroute::topology::{ServerSet, Snapshot, TagInterner};
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
    let snapshot = Snapshot::build(&topology(1024), &TagInterner::new()).expect("valid");
    let router = service(snapshot, POLICY).expect("compiles").router();
    let (policy, db) = (
        router.policy(POLICY_NAME).expect("exists"),
        router.database(DATABASE).expect("exists"),
    );
    let current = router.topology().snapshot();
    let candidates = current.set_of(["s1", "s2", "s3", "s9"]).expect("known");
    let mut decider = router.decider_seeded(9);
    decider.decide(policy, &db, Pick::Random).expect("a server");
    for pick in [Pick::Random, Pick::RoundRobin] {
        decider
            .decide_excluding(policy, &db, &["s8"], pick)
            .expect("a server");
        decider
            .decide_among(policy, &current, &candidates, pick)
            .expect("a server");
    }
    let n = allocations(|| {
        for pick in [Pick::Random, Pick::RoundRobin] {
            for _ in 0..1000 {
                decider.decide(policy, &db, pick).expect("a server");
            }
            for _ in 0..100 {
                decider
                    .decide_excluding(policy, &db, &["s8", "s16"], pick)
                    .expect("a server");
                decider
                    .decide_among(policy, &current, &candidates, pick)
                    .expect("a server");
            }
        }
    });
    assert_eq!(n, 0);
}
