//! Prefetching: the engine's records touch state spread over a whole city, so most of their loads
//! wait on memory. Where the engine knows early what a later record will read, it asks for the line
//! ahead of time, and the waits of several records overlap.

use smallvec::SmallVec;
use std::ops::Range;

/// Asks the processor to start loading the line that holds `value`, without waiting for it.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    prefetch_address((value as *const T).cast());
}

/// Asks the processor to start loading every line that `value` spans: a row of more than one
/// line whose fields are all read (a device's, a cell's, a section's), which may also straddle a
/// line boundary wherever it starts.
#[inline(always)]
pub fn prefetch_whole<T>(value: &T) {
    let start = (value as *const T).cast::<u8>();
    let mut offset = 0;
    // Every 64 bytes, and the last byte, so that a row that starts mid-line is covered too.
    while offset < size_of::<T>() {
        prefetch_address(start.wrapping_add(offset));
        offset += 64;
    }
    prefetch_address(start.wrapping_add(size_of::<T>().saturating_sub(1)));
}

/// Asks the processor to start loading the line at an address, without waiting for it.
#[inline(always)]
pub fn prefetch_address(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86-64 baseline, and a prefetch is only a hint: it reads nothing
    // the program sees and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// How many records a stage warms at a time (`warm_batch`): enough for many loads to be on their
/// way at once, few enough that what they load is still in the cache when their turn comes.
pub const WARM_AHEAD: usize = 64;

/// For a loop over `len` records now at `at`: the records whose loads to start now, at the first
/// record of each batch of `WARM_AHEAD`, else `None`.
#[inline(always)]
pub fn warm_batch(at: usize, len: usize) -> Option<Range<usize>> {
    at.is_multiple_of(WARM_AHEAD)
        .then(|| at..(at + WARM_AHEAD).min(len))
}

/// What a stage worked out for the records of one warm batch (`warm_batch`), kept for each
/// record's turn: answers that do not change while the batch is worked through (where a point
/// snaps), or whose change the stage can tell (the nearest defect, `Buckets::changed`).
pub struct Ahead<T> {
    /// The batch's first record, by position in the tick.
    start: usize,
    /// By position in the batch; `None` for a record the stage did not look at.
    found: SmallVec<[Option<T>; WARM_AHEAD]>,
}

impl<T: Copy> Ahead<T> {
    /// Nothing yet for the records of a batch.
    pub fn new(batch: &Range<usize>) -> Ahead<T> {
        Ahead {
            start: batch.start,
            found: SmallVec::from_elem(None, batch.len()),
        }
    }

    /// Keeps what was found for the record at a position of the tick, which must lie in the
    /// batch (`new`).
    pub fn keep(&mut self, at: usize, found: T) {
        self.found[at - self.start] = Some(found);
    }

    /// What was found for the record at a position of the tick, if the stage looked at it.
    pub fn at(&self, at: usize) -> Option<T> {
        self.found
            .get(at.checked_sub(self.start)?)
            .copied()
            .flatten()
    }

    /// Everything found, in record order.
    pub fn found(&self) -> impl Iterator<Item = &T> {
        self.found.iter().flatten()
    }
}

impl<T> Default for Ahead<T> {
    fn default() -> Ahead<T> {
        Ahead {
            start: 0,
            found: SmallVec::new(),
        }
    }
}

/// How many items ahead `prefetch_ahead` asks for a row.
pub const ROWS_AHEAD: usize = 8;

/// For a loop over `list` now at `at`: starts loading the row (`row_of`, every line of it) of the
/// item a few places ahead, so that rows spread over the city arrive while the items before them
/// are worked on.
#[inline(always)]
pub fn prefetch_ahead<'a, E: Copy, T: 'a>(
    list: &[E],
    at: usize,
    row_of: impl FnOnce(E) -> Option<&'a T>,
) {
    if let Some(row) = list.get(at + ROWS_AHEAD).and_then(|&item| row_of(item)) {
        prefetch_whole(row);
    }
}
