//! A counting global allocator: how the memory workloads measure exactly what a pending
//! timer or an idle task costs on the heap.
//!
//! A benchmark binary installs it with
//! `#[global_allocator] static ALLOC: ply_bench::CountingAlloc = ply_bench::CountingAlloc;`
//! and measures with [`allocated_by`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, adding the net bytes allocated (on any thread) to a counter
/// while [`allocated_by`] runs.
#[derive(Debug)]
pub struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static NET_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method passes its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract, and returns what `System` returned; the counting beside it only
// touches two atomics and never allocates, so it cannot recurse into the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            NET_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract (a non-zero-size
        // layout), which is exactly `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            NET_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by this allocator, that is by `System` (every
        // method here forwards to it), with this `layout`: `System.dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            NET_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        // SAFETY: `ptr` came from `System` with `layout` (as for `dealloc`), and the
        // caller guarantees `new_size` is non-zero and does not overflow when rounded to
        // `layout.align()`: `System.realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its output with the net bytes allocated while it ran, on every
/// thread (so a runtime's workers count too). Only meaningful in a binary whose global
/// allocator is [`CountingAlloc`]; elsewhere the count is 0.
pub fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, isize) {
    NET_BYTES.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    (out, NET_BYTES.load(Ordering::Relaxed))
}
