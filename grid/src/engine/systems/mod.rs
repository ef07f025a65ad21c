//! The systems of one tick, in schedule order: accept records → place them on cells → fuse evidence
//! into defects (and apply actions and passes, in record order) → confirm by the trust rules (and
//! dispatch hazards, award points) → set cell codes → grade sections.
//!
//! Systems that create entities take `&mut World`, so that a record can build on the entity an
//! earlier record of the same tick created. They take the resources they use out of the world
//! once per tick (`resource_scope`, `mem::take`), never once per record: at a million records a
//! second, a resource look-up per record is a measurable share of the budget.
//!
//! No system reads bevy's change ticks (there is no `Changed` or `Added` filter), so the per-record
//! paths write components through `bypass_change_detection`: marking a row changed is a store to a
//! separate array of ticks, one more line fetched from memory per record.

mod accept;
mod codes;
mod confirm;
mod entities;
mod fuse;
mod grades;
mod lifecycle;
mod place;
mod rows;

use bevy_ecs::prelude::{Entity, World};

pub use accept::accept_records;
pub use codes::set_cell_codes;
pub use confirm::confirm_defects;
pub use fuse::fuse_evidence;
pub use grades::grade_sections;
pub use place::place_observations;
use rows::{ById, Rows, RowsOf};

use crate::engine::change::{Change, Reason};
use crate::engine::road_map::RoadMap;
use crate::engine::rules::Rules;
use crate::engine::state::{Citizen, Defect, Outbox, Sectioning, Totals};
use crate::road_grid::RoadGrid;

const DAY_S: f64 = 86_400.0;

/// Distance between two points of the plane, metres. (Not `f64::hypot`: its care for overflow
/// costs tens of nanoseconds, and plane coordinates are far from overflowing.)
fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    crate::raster::distance_2(a, b).sqrt()
}

/// How many sections a segment of `length_m` has, and how long each is.
pub fn sections_of(rules: &Rules, length_m: f64) -> (u32, f64) {
    let count = (length_m / rules.pci.section_length_m).ceil().max(1.0);
    (count as u32, (length_m / count).max(f64::MIN_POSITIVE))
}

/// The sections of every segment of a grid, and every road cell with its segment and section: one
/// pass over all cells at start-up, so that neither placing a record nor grading a section searches
/// the R-tree or walks a centreline.
pub fn survey(grid: &RoadGrid, rules: &Rules) -> (Sectioning, RoadMap) {
    let segments: Vec<(u32, f64)> = grid
        .segments()
        .iter()
        .map(|segment| sections_of(rules, segment.length_m()))
        .collect();
    let first: Vec<u32> = segments
        .iter()
        .scan(0u32, |next, &(count, _)| {
            let first = *next;
            *next += count;
            Some(first)
        })
        .collect();
    let road = RoadMap::build(grid, |cell| {
        let segment = cell.segment as usize;
        let (count, length) = segments[segment];
        let along = grid.segments()[segment].along(cell.centre());
        first[segment] + ((along / length) as u32).min(count - 1)
    });
    let total = segments.iter().map(|&(count, _)| count as usize).sum();
    let mut areas = vec![0; total];
    for &section in road.sections() {
        areas[section as usize] += 1;
    }
    let segments = segments
        .iter()
        .enumerate()
        .flat_map(|(segment, &(count, _))| std::iter::repeat_n(segment as u32, count as usize))
        .collect();
    let sectioning = Sectioning {
        first,
        areas,
        segments,
        ids: grid.segments().iter().map(|segment| segment.id).collect(),
    };
    (sectioning, road)
}

/// Refuses a record: no evidence, no points; the reason goes out as a change.
fn refuse(world: &mut World, t: f64, record: u64, device: &str, reason: impl Into<Reason>) {
    world.resource_mut::<Totals>().refused += 1;
    push_change(
        world,
        Change::Refused {
            t,
            record,
            device: device.to_owned(),
            reason: reason.into(),
        },
    );
}

fn push_change(world: &mut World, change: Change) {
    world.resource_mut::<Outbox>().0.push(change);
}

/// A change that reports a defect's state now, and why.
fn defect_change(world: &World, defect: Entity, t: f64, reason: impl Into<Reason>) -> Change {
    let state = world
        .get::<Defect>(defect)
        .expect("a defect entity has a Defect");
    Change::Defect {
        t,
        defect: state.id,
        kind: state.kind,
        severity: state.severity,
        status: state.status,
        possibly_repaired: state.possibly_repaired,
        reason: reason.into(),
    }
}

/// Gives a citizen points, and says so.
fn award(world: &mut World, citizen: Entity, t: f64, points: i64, reason: impl Into<Reason>) {
    let Some(mut state) = world.get_mut::<Citizen>(citizen) else {
        return;
    };
    state.points += points;
    let change = Change::Points {
        t,
        citizen: state.name.clone(),
        points,
        total: state.points,
        reason: reason.into(),
    };
    push_change(world, change);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RoadNetwork;

    #[test]
    fn every_cell_lies_in_a_section_of_its_own_segment() {
        let network =
            RoadNetwork::from_geojson(include_str!("../../../tests/data/crossing_roads.geojson"))
                .unwrap();
        let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
        let (sectioning, road) = survey(&grid, &Rules::default());
        for cell in grid.index().iter() {
            let section = road.section_at((cell.easting, cell.northing)).unwrap();
            let (segment, index) = sectioning.segment_and_index(section);
            assert_eq!(segment, cell.segment);
            // The per-section segment table agrees with the per-segment first sections.
            let next = sectioning.first.get(segment as usize + 1).copied();
            assert!(next.is_none_or(|next| section < next));
            let length = grid.segments()[segment as usize].length_m();
            assert!(index < sections_of(&Rules::default(), length).0);
        }
        let surface: u32 = sectioning.areas.iter().sum();
        assert_eq!(surface as usize, grid.cell_count());
    }
}
