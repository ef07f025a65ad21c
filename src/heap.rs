//! The global allocator: mimalloc, told to keep the memory it frees, and counting the bytes each
//! thread holds so that benchmarks can report the memory a structure really takes.
//!
//! Why keep freed memory: start-up builds the grid and frees its temporaries (hundreds of MB). By
//! default mimalloc returns freed memory to the system a second or so later, and the engine,
//! which grows as cells gain evidence, then faults it back in page by page. On the virtual
//! machines we run on, a page touched for the first time costs far more than zeroing it
//! (docs/BENCHMARKS.md, "2026-11-23, third sitting"): a tenth or more of a run's time went to
//! those faults. The process never shrinks for long anyway: the engine's world only grows.
//!
//! Why count: with freed memory kept, the resident size no longer tells how much a run needs, so
//! the bench reads the live bytes of its own thread (`held_by_this_thread`) instead.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

use mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc v3's `mi_option_e`, which the Rust bindings do
/// not list): how long freed memory waits before it is returned to the system, milliseconds;
/// -1 never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

thread_local! {
    /// Bytes this thread has allocated and not freed (frees of another thread's blocks count
    /// here too, so only differences over single-threaded work mean something).
    static HELD: Cell<isize> = const { Cell::new(0) };
}

/// Bytes the calling thread holds now: compare two readings around single-threaded work.
pub fn held_by_this_thread() -> isize {
    HELD.with(Cell::get)
}

/// Keeps freed memory for reuse rather than returning it to the system, unless the environment
/// sets mimalloc's purge delay itself (`MIMALLOC_PURGE_DELAY`). Call first thing in `main`, before
/// threads start.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: setting an option is a plain store; any option number and value are accepted.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn count(bytes: isize) {
    HELD.with(|held| held.set(held.get().wrapping_add(bytes)));
}

/// mimalloc, counting bytes held per thread.
pub struct Counting;

// SAFETY: every call is passed to mimalloc unchanged; the counting touches only a thread-local
// cell that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is mimalloc's.
        let block = unsafe { MiMalloc.alloc(layout) };
        if !block.is_null() {
            count(layout.size() as isize);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { MiMalloc.alloc_zeroed(layout) };
        if !block.is_null() {
            count(layout.size() as isize);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { MiMalloc.dealloc(block, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let moved = unsafe { MiMalloc.realloc(block, layout, new_size) };
        if !moved.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's number is not in the bindings: check that it names the purge delay, whose
    /// default (1,000 ms in mimalloc v3) no neighbouring option shares.
    #[test]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: reading an option is a plain load.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        assert_eq!(get(), 1000);
        keep_freed_memory();
        assert_eq!(get(), -1);
    }

    #[test]
    fn a_thread_counts_what_it_holds() {
        let before = held_by_this_thread();
        let block = vec![0u8; 10_000];
        assert_eq!(held_by_this_thread() - before, 10_000);
        drop(block);
        assert_eq!(held_by_this_thread(), before);
    }
}
