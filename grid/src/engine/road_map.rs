//! Every road cell of the grid by 8 m block, with its section worked out once at start-up; and the
//! entities of the road cells that carry evidence.
//!
//! Placing a record is the hot path of the engine: an R-tree query and a walk along the segment's
//! centreline for each new block cost more than all the rest of placement together. A block is
//! instead one hash probe, and a cell one bit count in it and one read in a shared array.
//! The price is memory fixed at start-up (4 bytes a road cell, plus the blocks' table), not memory
//! that grows with the records. The entities of cells with evidence are kept apart, in a table of
//! 64 slots for each block that has any: a record on a known cell finds its entity through the
//! block it has just looked up (one more load), not through a second hash table.

// bevy_platform's maps hash with foldhash and a fixed seed: fast, and the same on every run.
use bevy_ecs::prelude::Entity;
use bevy_platform::collections::HashMap;

use crate::cell::Cell;
use crate::engine::state::Corner;
use crate::road_grid::RoadGrid;

/// Side of a block of corners, metres (a block's road cells fit the 64 bits of its mask).
pub const BLOCK_M: i32 = 8;

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

/// The entities of a block's cells that carry evidence, by bit.
type Slots = [Option<Entity>; 64];

/// What the map knows of a road cell: its entity once it carries evidence, else its section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The cell's entity.
    Entity(Entity),
    /// The cell has no entity yet; it lies in this section (`Sectioning` number).
    Section(u32),
}

impl Block {
    /// The position among the block's road cells of a corner, if the corner is a road cell's.
    fn rank(&self, bit: u32) -> Option<usize> {
        (self.road >> bit & 1 == 1).then(|| (self.road & ((1u64 << bit) - 1)).count_ones() as usize)
    }
}

/// Every road cell of a grid, by block.
#[derive(Debug, Default)]
pub struct RoadMap {
    /// Blocks with at least one road cell.
    blocks: HashMap<(i32, i32), Block>,
    /// The road cells' section numbers (`Sectioning`, which also tells a section's segment), block
    /// after block (blocks in the order the grid's index lists their first cell, so that neighbours
    /// are near in memory).
    sections: Vec<u32>,
    /// The entities of the road cells that carry evidence, by block (`Block::cells`).
    cells: Vec<Slots>,
}

impl RoadMap {
    /// The map of every cell of a grid, each with the section `section_of` gives it.
    pub fn build(grid: &RoadGrid, section_of: impl Fn(&Cell) -> u32) -> RoadMap {
        // Two passes over the cells: one to learn each block's road bits, one to fill the sections
        // in place (no sorted copy of 15 million cells).
        let mut blocks: HashMap<(i32, i32), Block> = HashMap::default();
        let mut order = Vec::new();
        for cell in grid.index().iter() {
            let (block, bit) = block_and_bit((cell.easting, cell.northing));
            blocks
                .entry(block)
                .or_insert_with(|| {
                    order.push(block);
                    Block {
                        road: 0,
                        first: 0,
                        cells: 0,
                    }
                })
                .road |= 1 << bit;
        }
        let mut first = 0;
        for block in &order {
            let entry = blocks
                .get_mut(block)
                .expect("every listed block is in the map");
            entry.first = first;
            first += entry.road.count_ones();
        }
        let mut sections = vec![0; first as usize];
        for cell in grid.index().iter() {
            let (block, bit) = block_and_bit((cell.easting, cell.northing));
            let entry = blocks[&block];
            if let Some(rank) = entry.rank(bit) {
                sections[entry.first as usize + rank] = section_of(cell);
            }
        }
        RoadMap {
            blocks,
            sections,
            cells: Vec::new(),
        }
    }

    /// The section number of the road cell at a corner, if it is one.
    pub fn section_at(&self, corner: Corner) -> Option<u32> {
        Some(self.sections[self.position(corner)?])
    }

    /// The road cell at a corner, if it is one: its entity, or its section while it has none (one
    /// probe of the block table answers both).
    pub fn lookup(&self, corner: Corner) -> Option<Lookup> {
        let (block, bit) = block_and_bit(corner);
        let entry = self.blocks.get(&block)?;
        let rank = entry.rank(bit)?;
        let entity = (entry.cells as usize)
            .checked_sub(1)
            .and_then(|slots| self.cells.get(slots)?[bit as usize]);
        Some(match entity {
            Some(entity) => Lookup::Entity(entity),
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

    /// Gives the road cell at a corner its entity; false if the corner is not a road cell's.
    pub fn set_cell(&mut self, corner: Corner, entity: Entity) -> bool {
        let (block, bit) = block_and_bit(corner);
        let Some(entry) = self.blocks.get_mut(&block) else {
            return false;
        };
        if entry.rank(bit).is_none() {
            return false;
        }
        if entry.cells == 0 {
            self.cells.push([None; 64]);
            // Fewer blocks than road cells, and those fit a u32 (`first`).
            entry.cells = self.cells.len() as u32;
        }
        self.cells[entry.cells as usize - 1][bit as usize] = Some(entity);
        true
    }

    /// The position in `sections` of the road cell at a corner, if it is one.
    fn position(&self, corner: Corner) -> Option<usize> {
        let (block, bit) = block_and_bit(corner);
        let entry = self.blocks.get(&block)?;
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
        let road = self.blocks.get(&block).map_or(0, |entry| entry.road);
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

    /// Memory the map holds from start-up, bytes: its sections and its blocks' table (not the
    /// table of cells with evidence, which grows with the records).
    pub fn fixed_bytes(&self) -> usize {
        self.sections.capacity() * size_of::<u32>()
            + self.blocks.capacity() * (size_of::<((i32, i32), Block)>() + 1)
    }
}

/// The block that holds a corner.
pub fn block_of(corner: Corner) -> (i32, i32) {
    (corner.0.div_euclid(BLOCK_M), corner.1.div_euclid(BLOCK_M))
}

/// The block of a corner and the corner's bit in it.
fn block_and_bit(corner: Corner) -> ((i32, i32), u32) {
    let (column, row) = (corner.0.rem_euclid(BLOCK_M), corner.1.rem_euclid(BLOCK_M));
    (block_of(corner), (row * BLOCK_M + column) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RoadNetwork;

    const NETWORK: &str = include_str!("../../tests/data/crossing_roads.geojson");

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
        let off_road = (i32::MIN / 2, i32::MIN / 2);
        assert!(!map.set_cell(off_road, Entity::PLACEHOLDER));
        assert_eq!(map.cell_at(off_road), None);
        assert_eq!(map.lookup(off_road), None);
    }
}
