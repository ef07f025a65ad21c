//! The fusion buckets: open defects listed by the `BUCKET_M` square of the plane, each in every
//! square its fusion radius reaches, so that one bucket answers which defects a point may join.
//!
//! Fusion asks for a bucket once per observation, at a place anywhere in the city, so the table is
//! laid out for the wait on memory. A bucket's slot is found by arithmetic from the square's
//! number (no control bytes to read first) and holds the square's number, its count and its first
//! candidates in one 64-byte line. Asking for a point's bucket is then one load, and
//! `Buckets::prefetch` can start it knowing only the point. The slots are open addressing with
//! linear probing: a collision moves on to the next line, which the processor often fetches
//! with the first.

use crate::defect::DefectKind;
use crate::engine::prefetch::prefetch;
use crate::engine::state::BUCKET_M;

/// An open defect as a bucket lists it: enough to pick the nearest without fetching it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Where the defect was first seen, on the plane.
    pub point: [f64; 2],
    /// Its number: its id − 1, its index in `Directory::defects`.
    pub number: u32,
    /// Its kind.
    pub kind: DefectKind,
}

/// A candidate as a bucket keeps it: its point as an offset from the bucket's south-west corner,
/// in `f32`, so that three fit a slot beside its header (in the benchmark over the shipped
/// network, three hold all the candidates of 93 % of the buckets fusion asks for; two, of 69 %).
/// The offsets span a few metres, where an `f32` is good to a millionth of a metre.
#[derive(Debug, Clone, Copy)]
struct Packed {
    offset: [f32; 2],
    number: u32,
    kind: DefectKind,
}

impl Packed {
    const NONE: Packed = Packed {
        offset: [0.0, 0.0],
        number: 0,
        kind: DefectKind::Pothole,
    };

    fn new(candidate: Candidate, origin: [f64; 2]) -> Packed {
        Packed {
            offset: [
                (candidate.point[0] - origin[0]) as f32,
                (candidate.point[1] - origin[1]) as f32,
            ],
            number: candidate.number,
            kind: candidate.kind,
        }
    }

    fn unpack(self, origin: [f64; 2]) -> Candidate {
        Candidate {
            point: [
                origin[0] + f64::from(self.offset[0]),
                origin[1] + f64::from(self.offset[1]),
            ],
            number: self.number,
            kind: self.kind,
        }
    }
}

/// The south-west corner of a bucket's square on the plane.
fn origin_of(square: (i32, i32)) -> [f64; 2] {
    [
        f64::from(square.0) * BUCKET_M,
        f64::from(square.1) * BUCKET_M,
    ]
}

/// Candidates kept in a bucket's slot; the rest of a busier bucket's go to its spill list.
const INLINE: usize = 3;

/// `Slot::len` of a slot no bucket has taken.
const VACANT: u32 = u32::MAX;

/// `Slot::spill` of a bucket without a spill list.
const NO_SPILL: u32 = u32::MAX;

/// One bucket: one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    /// The bucket's square.
    square: (i32, i32),
    /// How many candidates it lists (`VACANT` for a free slot).
    len: u32,
    /// Its spill list in `Buckets::spills`, or `NO_SPILL`.
    spill: u32,
    /// The first `INLINE` candidates.
    inline: [Packed; INLINE],
}

impl Slot {
    const FREE: Slot = Slot {
        square: (0, 0),
        len: VACANT,
        spill: NO_SPILL,
        inline: [Packed::NONE; INLINE],
    };
}

/// Open defects by fusion bucket.
#[derive(Debug)]
pub struct Buckets {
    /// A power of two of slots.
    slots: Vec<Slot>,
    /// Slots taken by a bucket. A bucket keeps its slot when it empties: defects leave the
    /// buckets only when rejected, and an empty slot costs a line, not a wrong answer.
    taken: usize,
    /// Candidates beyond the `INLINE` of a busy bucket.
    spills: Vec<Vec<Packed>>,
    /// The squares whose buckets changed since `forget_changes`.
    changes: Vec<(i32, i32)>,
}

impl Default for Buckets {
    fn default() -> Buckets {
        Buckets::with_slots(1 << 10)
    }
}

impl Buckets {
    fn with_slots(count: usize) -> Buckets {
        debug_assert!(count.is_power_of_two());
        Buckets {
            slots: vec![Slot::FREE; count],
            taken: 0,
            spills: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Starts a new record of changed buckets (`changed`).
    pub fn forget_changes(&mut self) {
        self.changes.clear();
    }

    /// Whether a square's bucket gained or lost a candidate since `forget_changes`: whether what
    /// was found in it before may no longer hold.
    pub fn changed(&self, square: (i32, i32)) -> bool {
        self.changes.contains(&square)
    }

    /// The slot where the search for a square starts: Fibonacci hashing of the square's two
    /// coordinates, the product's top bits.
    fn home(&self, square: (i32, i32)) -> usize {
        let key = (u64::from(square.0 as u32) << 32) | u64::from(square.1 as u32);
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The slot of a square's bucket, or of the free slot where it would go.
    fn find(&self, square: (i32, i32)) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = self.home(square);
        loop {
            let slot = &self.slots[at];
            if slot.len == VACANT || slot.square == square {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// Starts loading the slot where a square's bucket would be found.
    pub fn prefetch(&self, square: (i32, i32)) {
        prefetch(&self.slots[self.home(square)]);
    }

    /// The candidates of a square's bucket, in no particular order.
    pub fn get(&self, square: (i32, i32)) -> impl Iterator<Item = Candidate> {
        let slot = &self.slots[self.find(square)];
        let len = if slot.len == VACANT { 0 } else { slot.len };
        let inline = &slot.inline[..(len as usize).min(INLINE)];
        let spilt: &[Packed] = match self.spills.get(slot.spill as usize) {
            Some(spill) if len as usize > INLINE => spill,
            _ => &[],
        };
        let origin = origin_of(square);
        inline
            .iter()
            .chain(spilt)
            .map(move |packed| packed.unpack(origin))
    }

    /// Lists a candidate in a square's bucket.
    pub fn insert(&mut self, square: (i32, i32), candidate: Candidate) {
        self.changes.push(square);
        // Growing at five eighths full keeps the probes short.
        if (self.taken + 1) * 8 > self.slots.len() * 5 {
            self.grow();
        }
        let at = self.find(square);
        let slot = &mut self.slots[at];
        if slot.len == VACANT {
            *slot = Slot {
                square,
                len: 0,
                ..Slot::FREE
            };
            self.taken += 1;
        }
        let len = slot.len as usize;
        let candidate = Packed::new(candidate, origin_of(square));
        if len < INLINE {
            slot.inline[len] = candidate;
        } else {
            if slot.spill == NO_SPILL {
                slot.spill = self.spills.len() as u32;
                self.spills.push(Vec::new());
            }
            self.spills[slot.spill as usize].push(candidate);
        }
        slot.len += 1;
    }

    /// Takes the defect with a number off a square's bucket.
    pub fn remove(&mut self, square: (i32, i32), number: u32) {
        self.changes.push(square);
        let at = self.find(square);
        if self.slots[at].len == VACANT {
            return;
        }
        let origin = origin_of(square);
        let kept: Vec<Packed> = self
            .get(square)
            .filter(|c| c.number != number)
            .map(|c| Packed::new(c, origin))
            .collect();
        let slot = &mut self.slots[at];
        slot.len = kept.len() as u32;
        for (place, candidate) in slot.inline.iter_mut().zip(&kept) {
            *place = *candidate;
        }
        if let Some(spill) = self.spills.get_mut(slot.spill as usize) {
            spill.clear();
            spill.extend(kept.iter().skip(INLINE));
        }
    }

    /// Doubles the slots and places every bucket again.
    fn grow(&mut self) {
        let doubled = vec![Slot::FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|slot| slot.len != VACANT) {
            let at = self.find(slot.square);
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A candidate within a few metres of a square, as fusion lists them.
    fn candidate(number: u32, square: (i32, i32)) -> Candidate {
        let origin = origin_of(square);
        let spread = f64::from(number % 997) / 997.0;
        Candidate {
            point: [
                origin[0] - 2.0 + 8.0 * spread,
                origin[1] + 6.0 - 8.0 * spread,
            ],
            number,
            kind: DefectKind::ALL[number as usize % DefectKind::ALL.len()],
        }
    }

    fn listed(buckets: &Buckets, square: (i32, i32)) -> Vec<u32> {
        let mut numbers: Vec<u32> = buckets.get(square).map(|c| c.number).collect();
        numbers.sort_unstable();
        numbers
    }

    #[test]
    fn a_slot_is_one_cache_line() {
        assert_eq!(size_of::<Slot>(), 64);
        assert_eq!(align_of::<Slot>(), 64);
    }

    #[test]
    fn buckets_answer_as_a_map_of_lists_does_through_growth_spills_and_removals() {
        let mut buckets = Buckets::with_slots(8);
        let mut model: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for number in 0..20_000u32 {
            // Squares around the origin and far off, negative ones included, some crowded.
            let square = (
                (next() % 61) as i32 - 30 + if number % 7 == 0 { 1 << 20 } else { 0 },
                (next() % 53) as i32 - 26,
            );
            if next() % 5 == 0
                && let Some(&gone) = model.get(&square).and_then(|list| list.first())
            {
                buckets.remove(square, gone);
                model.get_mut(&square).unwrap().retain(|&n| n != gone);
                continue;
            }
            buckets.insert(square, candidate(number, square));
            model.entry(square).or_default().push(number);
        }
        for (square, numbers) in &model {
            let mut numbers = numbers.clone();
            numbers.sort_unstable();
            assert_eq!(listed(&buckets, *square), numbers, "{square:?}");
        }
        for got in buckets.get((0, 0)) {
            let put = candidate(got.number, (0, 0));
            assert_eq!(got.kind, put.kind);
            for axis in 0..2 {
                assert!(
                    (got.point[axis] - put.point[axis]).abs() < 1e-5,
                    "{got:?} {put:?}"
                );
            }
        }
        assert!(listed(&buckets, (5_000, 5_000)).is_empty());
        assert!(buckets.slots.len() * 5 >= buckets.taken * 8);
    }
}
