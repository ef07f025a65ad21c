//! Every road cell of the grid by 8 m block, with its section worked out once at start-up; and the
//! entities of the road cells that carry evidence.
//!
//! Placing a record is the hot path of the engine: an R-tree query and a walk along the segment's
//! centreline for each new block cost more than all the rest of placement together. A block is
//! instead found by arithmetic in a two-level index (512 m tiles, then the tile's 64 × 64 blocks),
//! and a cell by one bit count in the block and one read in a shared array. Because every address
//! is computed rather than probed for, the engine can prefetch a record's block while it works on
//! the records before it (`RoadMap::prefetch_all`): with records spread over a city, each of those
//! loads is otherwise a wait on memory. The price is memory fixed at start-up (4 bytes a road cell,
//! 16 bytes a block, 16 KiB a tile with roads, 4 bytes a tile of the network's bounding box), not
//! memory that grows with the records. The entities of cells with evidence are kept apart, in a
//! table of 64 slots for each block that has any: a record on a known cell finds its entity
//! through the block it has just looked up (one more load), not through a second hash table.

// bevy_platform's maps hash with foldhash and a fixed seed: fast, and the same on every run.
use bevy_ecs::entity::EntityIndex;
use bevy_ecs::prelude::Entity;
use bevy_platform::collections::HashMap;

use smallvec::SmallVec;

use crate::cell::Cell;
use crate::engine::prefetch::prefetch;
use crate::engine::state::{Corner, naming_index};
use crate::road_grid::RoadGrid;

/// Side of a block of corners, metres (a block's road cells fit the 64 bits of its mask).
pub const BLOCK_M: i32 = 1 << BLOCK_SHIFT;

/// `BLOCK_M` as a power of two: an arithmetic shift right by it is a floor division (also for
/// negative numbers), and a mask by `BLOCK_M - 1` the Euclidean remainder, each one instruction
/// where `div_euclid`'s correction for the sign costs several.
const BLOCK_SHIFT: u32 = 3;

/// A block that holds road cells: which of its corners are road cells', where their sections
/// start, and where the entities of its cells with evidence are.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Bit `row * BLOCK_M + column` is set for each corner of the block that is a road cell's.
    road: u64,
    /// Index in `RoadMap::sections` of the block's lowest road bit; the others follow in
    /// bit order. (A grid has fewer than 2³² cells: section numbers are `u32` too.)
    first: u32,
    /// 1 + the index in `RoadMap::cells` of the block's entity slots; 0 while none of its cells
    /// carries evidence.
    cells: u32,
}

/// The entities of a block's cells that carry evidence, by bit, each by its index alone.
///
/// The index names the entity (`naming_index`). Four bytes a slot instead of eight halve the
/// slots' memory, which grows with every block that gains evidence; `set_cell` refuses an entity
/// of a later generation rather than store what would name another.
type Slots = [Option<EntityIndex>; 64];

/// Blocks' slots per segment of `SlotTable` (a quarter of a MiB).
const SLOT_SEGMENT: usize = 1024;

/// The slots of the blocks whose cells carry evidence, in order of their first, kept in segments.
///
/// A block gains slots when the first of its cells gains evidence, so the table grows for as long
/// as the engine runs. As one `Vec` it doubled, and each doubling asked for a fresh region twice
/// the size and copied the old one into it: on the virtual machines we measure on, memory touched
/// for the first time is slow, and those copies were half the page faults of a run
/// (docs/BENCHMARKS.md, "2026-11-23, third sitting"). Segments are added, never moved.
#[derive(Debug, Default)]
struct SlotTable {
    segments: Vec<Box<[Slots; SLOT_SEGMENT]>>,
    len: usize,
}

impl SlotTable {
    fn get(&self, at: usize) -> Option<&Slots> {
        if at >= self.len {
            return None;
        }
        Some(&self.segments[at / SLOT_SEGMENT][at % SLOT_SEGMENT])
    }

    fn get_mut(&mut self, at: usize) -> Option<&mut Slots> {
        if at >= self.len {
            return None;
        }
        Some(&mut self.segments[at / SLOT_SEGMENT][at % SLOT_SEGMENT])
    }

    /// Adds a block's empty slots; answers how many blocks have theirs now.
    fn push_empty(&mut self) -> usize {
        if self.len == self.segments.len() * SLOT_SEGMENT {
            // Made on the heap: a segment is too big for the stack.
            let segment: Box<[Slots]> = vec![[None; 64]; SLOT_SEGMENT].into_boxed_slice();
            let segment = segment
                .try_into()
                .expect("a segment is made of SLOT_SEGMENT blocks' slots");
            self.segments.push(segment);
        }
        self.len += 1;
        self.len
    }
}

/// What the map knows of a road cell: its entity once it carries evidence, else its section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The cell's entity.
    Entity(Entity),
    /// The cell has no entity yet; it lies in this section (`Sectioning` number).
    Section(u32),
}

impl Block {
    /// The index in `RoadMap::cells` and `RoadMap::listed` of the block's entity slots and pairs,
    /// once one of its cells carries evidence.
    fn slots(&self) -> Option<usize> {
        (self.cells as usize).checked_sub(1)
    }

    /// The position among the block's road cells of a corner, if the corner is a road cell's.
    fn rank(&self, bit: u32) -> Option<usize> {
        (self.road >> bit & 1 == 1).then(|| (self.road & ((1u64 << bit) - 1)).count_ones() as usize)
    }
}

/// Side of a tile of the block index, in blocks (a tile is 512 m across).
const TILE_BLOCKS: i32 = 1 << TILE_SHIFT;

/// `TILE_BLOCKS` as a power of two (see `BLOCK_SHIFT`).
const TILE_SHIFT: u32 = 6;

/// Blocks a tile of the index holds.
const TILE_LEN: usize = (TILE_BLOCKS * TILE_BLOCKS) as usize;

/// Where the blocks are: a dense table of the tiles over the grid's extent, and for each tile
/// that holds road cells a dense table of its blocks. Every look-up is arithmetic and two loads.
#[derive(Debug, Default)]
struct BlockIndex {
    /// The first tile's numbers (`BlockIndex::tile_of`).
    origin: (i32, i32),
    /// Tiles across and up.
    size: (usize, usize),
    /// Per tile, row after row: 1 + its number in `slots`' tiles, or 0 for a tile without roads.
    tiles: Vec<u32>,
    /// Per block of each tile with roads, `TILE_LEN` a tile: 1 + the block's index in
    /// `RoadMap::blocks`, or 0.
    slots: Vec<u32>,
}

impl BlockIndex {
    /// An index over the tiles that hold the given blocks.
    fn over(blocks: &[(i32, i32)]) -> BlockIndex {
        if blocks.is_empty() {
            return BlockIndex::default();
        }
        let (mut min, mut max) = ((i32::MAX, i32::MAX), (i32::MIN, i32::MIN));
        for &block in blocks {
            let (tx, ty) = Self::tile_of(block);
            min = (min.0.min(tx), min.1.min(ty));
            max = (max.0.max(tx), max.1.max(ty));
        }
        let size = (
            (i64::from(max.0) - i64::from(min.0) + 1) as usize,
            (i64::from(max.1) - i64::from(min.1) + 1) as usize,
        );
        let mut index = BlockIndex {
            origin: min,
            size,
            tiles: vec![0; size.0 * size.1],
            slots: Vec::new(),
        };
        for (number, &block) in blocks.iter().enumerate() {
            let at = index.tile_at(block).expect("the tiles cover every block");
            if index.tiles[at] == 0 {
                index.slots.resize(index.slots.len() + TILE_LEN, 0);
                // Fewer tiles than blocks, and blocks are numbered in u32 (`Block::first`).
                index.tiles[at] = (index.slots.len() / TILE_LEN) as u32;
            }
            let slot = index
                .slot_at(block)
                .expect("the block's tile has its slots");
            // Fewer blocks than road cells, and those fit a u32.
            index.slots[slot] = number as u32 + 1;
        }
        index
    }

    /// The tile that holds a block (a floor division: `TILE_SHIFT`).
    fn tile_of(block: (i32, i32)) -> (i32, i32) {
        (block.0 >> TILE_SHIFT, block.1 >> TILE_SHIFT)
    }

    /// The position in `tiles` of a block's tile, if the index covers it.
    fn tile_at(&self, block: (i32, i32)) -> Option<usize> {
        let tile = Self::tile_of(block);
        let x = i64::from(tile.0) - i64::from(self.origin.0);
        let y = i64::from(tile.1) - i64::from(self.origin.1);
        let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
        (x < self.size.0 && y < self.size.1).then(|| y * self.size.0 + x)
    }

    /// A block's position within its tile.
    fn in_tile(block: (i32, i32)) -> usize {
        (((block.1 & (TILE_BLOCKS - 1)) << TILE_SHIFT) | (block.0 & (TILE_BLOCKS - 1))) as usize
    }

    /// The position in `slots` of a block, if its tile holds roads.
    fn slot_at(&self, block: (i32, i32)) -> Option<usize> {
        let tile = *self.tiles.get(self.tile_at(block)?)?;
        let tile = (tile as usize).checked_sub(1)?;
        Some(tile * TILE_LEN + Self::in_tile(block))
    }

    /// The index in `RoadMap::blocks` of a block with road cells.
    fn get(&self, block: (i32, i32)) -> Option<usize> {
        self.block_in(self.slot_at(block)?)
    }

    /// The index in `RoadMap::blocks` of the block at a position in `slots`, if there is one.
    fn block_in(&self, slot: usize) -> Option<usize> {
        let number = *self.slots.get(slot)?;
        (number as usize).checked_sub(1)
    }

    fn bytes(&self) -> usize {
        (self.tiles.capacity() + self.slots.capacity()) * size_of::<u32>()
    }
}

/// Every road cell of a grid, by block.
#[derive(Debug, Default)]
pub struct RoadMap {
    /// Where each block is in `blocks`.
    index: BlockIndex,
    /// Blocks with at least one road cell, in the order the grid's index lists their first cell
    /// (so that neighbours are near in memory).
    blocks: Vec<Block>,
    /// The road cells' section numbers (`Sectioning`, which also tells a section's segment), block
    /// after block (blocks in the order the grid's index lists their first cell, so that neighbours
    /// are near in memory).
    sections: Vec<u32>,
    /// The entities of the road cells that carry evidence, by block (`Block::cells`).
    cells: SlotTable,
    /// The (cell corner, defect number) pairs of those cells, by block at the same index as
    /// `cells`: what a patrol pass sweeps. Inline for a block with one pair: the same 24 bytes as
    /// a `Vec`. A defect by number, not entity, so that a pass finds its row by arithmetic
    /// (`Rows::defect_by_id`) and can ask for it ahead.
    listed: Vec<SmallVec<[(Corner, u32); 1]>>,
}

impl RoadMap {
    /// The map of every cell of a grid, each with the section `section_of` gives it.
    pub fn build(grid: &RoadGrid, section_of: impl Fn(&Cell) -> u32) -> RoadMap {
        // Two passes over the cells: one to learn each block's road bits, one to fill the sections
        // in place (no sorted copy of 15 million cells). A hash map numbers the blocks while the
        // first pass finds them; the index that replaces it is built once they are all known.
        let mut numbers: HashMap<(i32, i32), usize> = HashMap::default();
        let mut order = Vec::new();
        let mut blocks = Vec::new();
        for cell in grid.index().iter() {
            let (block, bit) = block_and_bit((cell.easting, cell.northing));
            let number = *numbers.entry(block).or_insert_with(|| {
                order.push(block);
                blocks.push(Block {
                    road: 0,
                    first: 0,
                    cells: 0,
                });
                blocks.len() - 1
            });
            blocks[number].road |= 1 << bit;
        }
        drop(numbers);
        let index = BlockIndex::over(&order);
        let mut first = 0;
        for entry in &mut blocks {
            entry.first = first;
            first += entry.road.count_ones();
        }
        let mut map = RoadMap {
            index,
            blocks,
            sections: vec![0; first as usize],
            cells: SlotTable::default(),
            listed: Vec::new(),
        };
        for cell in grid.index().iter() {
            if let Some(position) = map.position((cell.easting, cell.northing)) {
                map.sections[position] = section_of(cell);
            }
        }
        map
    }

    /// The block that holds a corner, if it holds road cells.
    fn block(&self, block: (i32, i32)) -> Option<&Block> {
        self.blocks.get(self.index.get(block)?)
    }

    /// Starts loading what `lookup` will read for each of many corners. It goes one level of the
    /// index at a time over a batch of corners (the index slot, then the block, then the cell), so
    /// that the loads of one level are all on their way together, and each level reads only what
    /// the one before asked for, by then mostly arrived. It keeps what each level found for the
    /// next instead of looking it up again. Only a hint to the cache: it decides nothing.
    pub fn prefetch_all(&self, corners: &[Corner]) {
        const BATCH: usize = 64;
        const NONE: usize = usize::MAX;
        for batch in corners.chunks(BATCH) {
            // Per corner: its bit in its block, and its position in `index.slots`, then in
            // `blocks` (`NONE` once a level finds nothing).
            let mut bits = [0u32; BATCH];
            let mut at = [NONE; BATCH];
            for ((&corner, bit), at) in batch.iter().zip(&mut bits).zip(&mut at) {
                let (block, b) = block_and_bit(corner);
                *bit = b;
                if let Some(slot) = self.index.slot_at(block)
                    && let Some(number) = self.index.slots.get(slot)
                {
                    prefetch(number);
                    *at = slot;
                }
            }
            for at in &mut at[..batch.len()] {
                *at = self.index.block_in(*at).unwrap_or(NONE);
                if let Some(entry) = self.blocks.get(*at) {
                    prefetch(entry);
                }
            }
            for (&bit, &at) in bits.iter().zip(&at[..batch.len()]) {
                if let Some(entry) = self.blocks.get(at) {
                    self.prefetch_slot_of(entry, bit);
                }
            }
        }
    }

    /// Starts loading what `lookup` will read of the road cell at a corner, whose block is
    /// cached already: its entity slot, or its section while it has none.
    pub fn prefetch_cell(&self, corner: Corner) {
        let (block, bit) = block_and_bit(corner);
        if let Some(entry) = self.block(block) {
            self.prefetch_slot_of(entry, bit);
        }
    }

    /// Starts loading the entity slot of a block's road cell at a bit, or its section while it
    /// has none.
    fn prefetch_slot_of(&self, entry: &Block, bit: u32) {
        let Some(rank) = entry.rank(bit) else {
            return;
        };
        match entry.slots() {
            Some(cells) => {
                if let Some(slots) = self.cells.get(cells) {
                    prefetch(&slots[bit as usize]);
                }
            }
            None => {
                if let Some(section) = self.sections.get(entry.first as usize + rank) {
                    prefetch(section);
                }
            }
        }
    }

    /// Whether the corner is a road cell's.
    pub fn is_road(&self, corner: Corner) -> bool {
        let (block, bit) = block_and_bit(corner);
        self.block(block)
            .is_some_and(|entry| entry.road >> bit & 1 == 1)
    }

    /// The section number of the road cell at a corner, if it is one.
    pub fn section_at(&self, corner: Corner) -> Option<u32> {
        Some(self.sections[self.position(corner)?])
    }

    /// The road cell at a corner, if it is one: its entity, or its section while it has none (the
    /// one block look-up answers both).
    pub fn lookup(&self, corner: Corner) -> Option<Lookup> {
        let (block, bit) = block_and_bit(corner);
        let entry = self.block(block)?;
        let rank = entry.rank(bit)?;
        let entity = entry
            .slots()
            .and_then(|slots| self.cells.get(slots)?[bit as usize]);
        Some(match entity {
            Some(index) => Lookup::Entity(Entity::from_index(index)),
            None => Lookup::Section(self.sections[entry.first as usize + rank]),
        })
    }

    /// The entity of the road cell at a corner, if it carries evidence.
    pub fn cell_at(&self, corner: Corner) -> Option<Entity> {
        match self.lookup(corner)? {
            Lookup::Entity(entity) => Some(entity),
            Lookup::Section(_) => None,
        }
    }

    /// Gives the road cell at a corner its entity; false if the corner is not a road cell's, or
    /// if the entity is not of its index's first generation (`Slots`: the engine never despawns,
    /// so that cannot happen).
    pub fn set_cell(&mut self, corner: Corner, entity: Entity) -> bool {
        let Some(index) = naming_index(entity) else {
            return false;
        };
        let (block, bit) = block_and_bit(corner);
        let Some(entry) = self.index.get(block).and_then(|n| self.blocks.get_mut(n)) else {
            return false;
        };
        if entry.rank(bit).is_none() {
            return false;
        }
        if entry.cells == 0 {
            self.listed.push(SmallVec::new());
            // Fewer blocks than road cells, and those fit a u32 (`first`).
            entry.cells = self.cells.push_empty() as u32;
        }
        match self.cells.get_mut(entry.cells as usize - 1) {
            Some(slots) => {
                slots[bit as usize] = Some(index);
                true
            }
            None => false,
        }
    }

    /// Lists a defect, by number (`defect_number`), on the road cell at a corner, for passes
    /// (`listed_in`). The cell has its entity (`set_cell`), so its block has a place for the
    /// pairs.
    pub fn list_defect(&mut self, corner: Corner, defect: u32) {
        let slots = self.block(block_of(corner)).and_then(Block::slots);
        if let Some(listed) = slots.and_then(|slots| self.listed.get_mut(slots)) {
            listed.push((corner, defect));
        }
    }

    /// The (cell corner, defect number) pairs listed in a block (`block_of`), in the order
    /// listed.
    pub fn listed_in(&self, block: (i32, i32)) -> &[(Corner, u32)] {
        self.block(block)
            .and_then(Block::slots)
            .and_then(|slots| self.listed.get(slots))
            .map_or(&[], |listed| listed.as_slice())
    }

    /// The position in `sections` of the road cell at a corner, if it is one.
    fn position(&self, corner: Corner) -> Option<usize> {
        let (block, bit) = block_and_bit(corner);
        let entry = self.block(block)?;
        Some(entry.first as usize + entry.rank(bit)?)
    }

    /// The road cells' corners in a block (as `block_of` numbers them) that lie within the box
    /// from `min` to `max` (both included), in bit order. Only the set bits of the block's mask,
    /// cut to the box, are visited.
    pub fn corners_in(
        &self,
        block: (i32, i32),
        min: Corner,
        max: Corner,
    ) -> impl Iterator<Item = Corner> + use<> {
        let road = self.block(block).map_or(0, |entry| entry.road);
        let origin = (block.0 * BLOCK_M, block.1 * BLOCK_M);
        let span = |low: i32, high: i32, origin: i32| {
            let (first, last) = ((low - origin).max(0), (high - origin).min(BLOCK_M - 1));
            (first <= last).then_some((first, last))
        };
        let window = match (span(min.0, max.0, origin.0), span(min.1, max.1, origin.1)) {
            (Some((c0, c1)), Some((r0, r1))) => {
                let row = ((1u64 << (c1 + 1)) - 1) & !((1u64 << c0) - 1);
                (r0..=r1).fold(0, |mask, r| mask | row << (r * BLOCK_M))
            }
            _ => 0,
        };
        let mut bits = road & window;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let bit = bits.trailing_zeros() as i32;
            bits &= bits - 1;
            Some((origin.0 + bit % BLOCK_M, origin.1 + bit / BLOCK_M))
        })
    }

    /// Every road cell's section number, in no particular order.
    pub fn sections(&self) -> &[u32] {
        &self.sections
    }

    /// Memory the map holds from start-up, bytes: its sections, its blocks and their index (not
    /// the table of cells with evidence, which grows with the records).
    pub fn fixed_bytes(&self) -> usize {
        self.sections.capacity() * size_of::<u32>()
            + self.blocks.capacity() * size_of::<Block>()
            + self.index.bytes()
    }
}

/// The block that holds a corner.
pub fn block_of(corner: Corner) -> (i32, i32) {
    (corner.0 >> BLOCK_SHIFT, corner.1 >> BLOCK_SHIFT)
}

/// The block of a corner and the corner's bit in it.
fn block_and_bit(corner: Corner) -> ((i32, i32), u32) {
    let (column, row) = (corner.0 & (BLOCK_M - 1), corner.1 & (BLOCK_M - 1));
    (block_of(corner), ((row << BLOCK_SHIFT) | column) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RoadNetwork;
    use bevy_ecs::entity::EntityGeneration;

    const NETWORK: &str = include_str!("../../tests/data/crossing_roads.geojson");

    #[test]
    fn slots_past_the_first_segment_are_their_blocks_own() {
        let mut table = SlotTable::default();
        assert!(table.get(0).is_none());
        let blocks = SLOT_SEGMENT * 2 + 3;
        for n in 0..blocks {
            assert_eq!(table.push_empty(), n + 1);
            let slots = table.get_mut(n).unwrap();
            slots[n % 64] = EntityIndex::from_raw_u32(n as u32 + 1);
        }
        assert_eq!(table.segments.len(), 3);
        for n in 0..blocks {
            let slots = table.get(n).unwrap();
            assert_eq!(slots[n % 64], EntityIndex::from_raw_u32(n as u32 + 1));
            assert_eq!(slots.iter().flatten().count(), 1);
        }
        assert!(table.get(blocks).is_none());
    }

    #[test]
    fn every_cell_has_its_own_section_and_nothing_else_has_one() {
        let network = RoadNetwork::from_geojson(NETWORK).unwrap();
        let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
        let map = RoadMap::build(&grid, |cell| cell.easting.rem_euclid(7) as u32);
        assert_eq!(map.sections().len(), grid.cell_count());
        for cell in grid.index().iter() {
            let corner = (cell.easting, cell.northing);
            assert_eq!(
                map.section_at(corner),
                Some(cell.easting.rem_euclid(7) as u32)
            );
            assert_eq!(map.cell_at(corner), None);
            assert_eq!(
                map.lookup(corner),
                Some(Lookup::Section(cell.easting.rem_euclid(7) as u32))
            );
            let block = block_of(corner);
            assert!(map.corners_in(block, corner, corner).eq([corner]));
            let whole = (
                (block.0 * BLOCK_M, block.1 * BLOCK_M),
                (
                    block.0 * BLOCK_M + BLOCK_M - 1,
                    block.1 * BLOCK_M + BLOCK_M - 1,
                ),
            );
            assert!(map.corners_in(block, whole.0, whole.1).any(|c| c == corner));
            let beside = (corner.0 + 1, corner.1);
            assert!(map.corners_in(block, beside, beside).all(|c| c == beside));
            for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                let next = (corner.0 + dx, corner.1 + dy);
                let on_road = grid
                    .index()
                    .at([f64::from(next.0) + 0.5, f64::from(next.1) + 0.5])
                    .is_some();
                assert_eq!(map.lookup(next).is_some(), on_road, "corner {next:?}");
            }
        }
    }

    #[test]
    fn blocks_and_bits_agree_with_euclidean_division() {
        for x in [
            -1_000_001, -65, -64, -63, -9, -8, -7, -1, 0, 1, 7, 8, 9, 63, 64, 65, 999_999,
        ] {
            for y in [i32::MIN, -17, -1, 0, 5, i32::MAX] {
                let ((bx, by), bit) = block_and_bit((x, y));
                assert_eq!((bx, by), (x.div_euclid(BLOCK_M), y.div_euclid(BLOCK_M)));
                let expected = y.rem_euclid(BLOCK_M) * BLOCK_M + x.rem_euclid(BLOCK_M);
                assert_eq!(bit as i32, expected);
                let expected = x.rem_euclid(TILE_BLOCKS) + y.rem_euclid(TILE_BLOCKS) * TILE_BLOCKS;
                assert_eq!(BlockIndex::in_tile((x, y)), expected as usize);
            }
        }
    }

    #[test]
    fn the_block_index_finds_every_block_and_nothing_else() {
        // Blocks on both sides of zero and of tile edges, and one far away.
        let blocks = [(-1, -1), (0, 0), (63, 63), (64, 0), (-65, 130), (700, -300)];
        let index = BlockIndex::over(&blocks);
        for (number, &block) in blocks.iter().enumerate() {
            assert_eq!(index.get(block), Some(number), "block {block:?}");
            for (dx, dy) in [(1, 0), (0, 1), (-1, 0), (0, -1)] {
                let next = (block.0 + dx, block.1 + dy);
                assert_eq!(index.get(next), blocks.iter().position(|&b| b == next));
            }
        }
        for far in [
            (i32::MIN, i32::MIN),
            (i32::MAX, i32::MAX),
            (i32::MIN, 0),
            (5_000, 5_000),
        ] {
            assert_eq!(index.get(far), None);
        }
        assert_eq!(BlockIndex::over(&[]).get((0, 0)), None);
    }

    #[test]
    fn prefetching_any_corner_is_harmless() {
        let network = RoadNetwork::from_geojson(NETWORK).unwrap();
        let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
        let mut map = RoadMap::build(&grid, |_| 0);
        let cell = grid.index().iter().next().unwrap();
        let corner = (cell.easting, cell.northing);
        map.set_cell(corner, Entity::from_raw_u32(7).unwrap());
        let far = [(i32::MIN, i32::MIN), (i32::MAX, i32::MAX), (0, 0), (-1, -1)];
        // Road cells with and without an entity, corners off the road and off the index, in
        // more than one batch.
        let corners: Vec<Corner> = far
            .into_iter()
            .chain(
                grid.index()
                    .iter()
                    .map(|c| (c.easting, c.northing))
                    .take(150),
            )
            .chain([(corner.0 + 1, corner.1)])
            .collect();
        map.prefetch_all(&corners);
        map.prefetch_all(&[]);
        assert_eq!(map.cell_at(corner), Entity::from_raw_u32(7));
    }

    #[test]
    fn a_road_cell_keeps_the_entity_it_is_given() {
        let network = RoadNetwork::from_geojson(NETWORK).unwrap();
        let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
        let mut map = RoadMap::build(&grid, |_| 0);
        let cells: Vec<Corner> = grid
            .index()
            .iter()
            .take(3)
            .map(|cell| (cell.easting, cell.northing))
            .collect();
        for (i, &corner) in cells.iter().enumerate() {
            let entity = Entity::from_raw_u32(i as u32 + 1).unwrap();
            assert!(map.set_cell(corner, entity));
            assert_eq!(map.cell_at(corner), Some(entity));
            assert_eq!(map.lookup(corner), Some(Lookup::Entity(entity)));
        }
        assert_eq!(map.cell_at(cells[0]), Entity::from_raw_u32(1));
        // A slot keeps an entity's index alone: one of a later generation is refused, not stored
        // as the first generation's.
        let reused = Entity::from_index_and_generation(
            EntityIndex::from_raw_u32(9).unwrap(),
            EntityGeneration::FIRST.after_versions(1),
        );
        assert!(!map.set_cell(cells[1], reused));
        assert_eq!(map.cell_at(cells[1]), Entity::from_raw_u32(2));
        let off_road = (i32::MIN / 2, i32::MIN / 2);
        assert!(!map.set_cell(off_road, Entity::PLACEHOLDER));
        assert_eq!(map.cell_at(off_road), None);
        assert_eq!(map.lookup(off_road), None);
    }
}
