//! A global allocator that counts what the current thread allocates, for the test binaries that
//! bound allocation (`no_alloc`, `churn`, `config_memory`): each includes this file and installs
//! [`Counting`] as its `#[global_allocator]`.
//!
//! Counts are per thread, so the test harness's other threads cannot disturb them; a block
//! freed by another thread than the one that allocated it counts where it is freed.

#![allow(dead_code, reason = "each test binary reads the counts it bounds")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting.
pub struct Counting;

thread_local! {
    /// Calls that allocated (`alloc`, `alloc_zeroed`, `realloc`).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated, ever.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most bytes live at once since [`peak_of`] last started.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grow(bytes: usize) {
    ALLOCATIONS.with(|n| n.set(n.get() + 1));
    ALLOCATED.with(|n| n.set(n.get() + bytes));
    LIVE.with(|live| {
        live.set(live.get() + bytes as isize);
        PEAK.with(|peak| peak.set(peak.get().max(live.get())));
    });
}

fn shrink(bytes: usize) {
    LIVE.with(|live| live.set(live.get() - bytes as isize));
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting touches only
// const-initialised thread-local `Cell`s, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The new block before the old is freed: the peak counts both, as a moving copy holds.
        grow(new_size);
        shrink(layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How many allocating calls `f` makes on this thread.
pub fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// What `f` returns, the bytes it allocated, and the bytes it left allocated.
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, isize) {
    let (allocated, live) = (ALLOCATED.with(Cell::get), LIVE.with(Cell::get));
    let value = f();
    (
        value,
        ALLOCATED.with(Cell::get) - allocated,
        LIVE.with(Cell::get) - live,
    )
}

/// The most heap `f` had at once, above what was live before it.
pub fn peak_of(f: impl FnOnce()) -> usize {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    f();
    usize::try_from(PEAK.with(Cell::get) - before).unwrap_or(0)
}
