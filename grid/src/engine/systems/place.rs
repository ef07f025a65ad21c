//! Placement: the road cells of every accepted record, and the sections of passes. A cell that the
//! record will add to a defect gets its entity here; an imprecise point's cell keeps what the road
//! map knows of it (its section), and gets an entity from fusion only if it opens a defect. The
//! road map answers a corner's segment, section and entity from its block, found by arithmetic in
//! a dense index, whose loads it starts for the next records in one batch.

use bevy_ecs::prelude::{Mut, World};

use crate::cell::Cell;
use std::ops::Range;

use crate::engine::prefetch::{Ahead, warm_batch};
use crate::engine::record::Record;
use crate::engine::road_map::{Lookup, block_of};
use crate::engine::rules::Rules;
use crate::engine::state::{
    Corner, Directory, Queue, Sectioning, Totals, Work, ceil_i32, corner_at, floor_i32,
};
use crate::engine::systems::{distance, entities, fuse, refuse};
use crate::raster::rasterise_polygon;

/// The most cells one outline may cover: a detection larger than this (10 × 10 m² … 5,000 m²) is
/// refused as implausible.
pub const MAX_OUTLINE_CELLS: usize = 5_000;

/// Passes find the sections they cross by sampling their path this often, metres.
const SECTION_STEP_M: f64 = 5.0;

/// The longest side of an outline's bounding box, metres: a detection is a few metres across, a
/// long crack some tens, and an outline whose signed area cancels out (a bow-tie) must not make
/// the rasteriser fill a city.
pub const MAX_OUTLINE_SIDE_M: f64 = 500.0;

/// The longest pass path, metres (a long patrol drive; more is refused rather than walked).
pub const MAX_PASS_M: f64 = 100_000.0;

/// Finds the road cells of every accepted record and the sections of every pass (by number);
/// refuses observations that have no road cell.
pub fn place_observations(world: &mut World) {
    let rules = world.resource::<Rules>().clone();
    let sectioning = world
        .remove_resource::<Sectioning>()
        .expect("the engine inserts Sectioning");
    let mut queue = std::mem::take(&mut *world.resource_mut::<Queue>());
    let mut evidence = 0;
    let mut new_cells = 0;
    world.resource_scope(|world, mut directory: Mut<Directory>| {
        let mut placer = Placer {
            directory: &mut directory,
            sectioning: &sectioning,
        };
        let Queue {
            first_id,
            records,
            work,
            points,
            cells,
            corners: cell_corners,
            sections,
        } = &mut queue;
        let mut corners = Vec::new();
        let mut ahead = Vec::new();
        let mut snapped = Ahead::default();
        for (at, (id, record)) in (*first_id..).zip(records.iter()).enumerate() {
            if let Some(next) = warm_batch(at, records.len()) {
                lookups_of(
                    &records[next.clone()],
                    &work[next.clone()],
                    points,
                    &mut ahead,
                );
                placer.directory.road.prefetch_all(&ahead);
                snapped = placer.snap_ahead(records, work, points, next, rules.fusion.snap_m);
            }
            let work = &mut work[at];
            if work.refused {
                continue;
            }
            let points = &points[work.points.clone()];
            match record {
                Record::Observation(o) => {
                    corners.clear();
                    let found = match &o.outline {
                        Some(_) => placer.outline(&points[1..], &mut corners),
                        None => snapped
                            .at(at)
                            .unwrap_or_else(|| placer.snap(points[0], rules.fusion.snap_m))
                            .and_then(|corner| {
                                Some((corner, placer.directory.road.lookup(corner)?))
                            })
                            .map(|found| corners.push(found))
                            .ok_or_else(|| {
                                format!("no road cell within {} m", rules.fusion.snap_m)
                            }),
                    };
                    if let Err(reason) = found {
                        refuse(world, o.t, id, &o.device, reason);
                        work.refused = true;
                        continue;
                    }
                    // Cells the observation will add to a defect get their entities now; an
                    // imprecise point's cell gets one from fusion only if it opens a defect.
                    let spreads = fuse::spreads(o, &rules);
                    let start = cells.len();
                    for &(corner, found) in &corners {
                        cells.push(if spreads {
                            let (cell, made) = entities::road_cell(
                                world,
                                placer.directory,
                                placer.sectioning,
                                corner,
                                found,
                            );
                            new_cells += u64::from(made);
                            Lookup::Entity(cell)
                        } else {
                            found
                        });
                        cell_corners.push(corner);
                    }
                    work.cells = start..cells.len();
                    evidence += 1;
                }
                Record::Pass(pass) => {
                    let length = path_length(points);
                    if length.is_nan() || length > MAX_PASS_M {
                        let reason = format!(
                            "a pass of {:.0} km is longer than {:.0} km",
                            length / 1000.0,
                            MAX_PASS_M / 1000.0
                        );
                        refuse(world, pass.t, id, &pass.device, reason);
                        work.refused = true;
                        continue;
                    }
                    let start = sections.len();
                    placer.sections_along(points, sections);
                    work.sections = start..sections.len();
                }
                Record::Action(_) => {}
            }
        }
    });
    world.insert_resource(sectioning);
    let mut totals = world.resource_mut::<Totals>();
    totals.evidence += evidence;
    totals.active_cells += new_cells;
    *world.resource_mut::<Queue>() = queue;
}

/// Road-cell look-ups of one tick.
struct Placer<'a> {
    directory: &'a mut Directory,
    sectioning: &'a Sectioning,
}

impl Placer<'_> {
    /// Snaps the point observations of a batch of records (`snap`) and starts loading what the
    /// road map knows of each snapped cell. Which road cell a point snaps to depends only on the
    /// grid, so it can be worked out ahead: what the map knows of the cell (its entity) is read
    /// when the record's turn comes.
    fn snap_ahead(
        &self,
        records: &[Record],
        work: &[Work],
        points: &[[f64; 2]],
        next: Range<usize>,
        snap_m: f64,
    ) -> Ahead<Option<Corner>> {
        let mut snapped = Ahead::new(&next);
        for at in next.clone() {
            if let Record::Observation(o) = &records[at]
                && o.outline.is_none()
                && !work[at].refused
            {
                let corner = self.snap(points[work[at].points.start], snap_m);
                if let Some(corner) = corner {
                    self.directory.road.prefetch_cell(corner);
                }
                snapped.keep(at, corner);
            }
        }
        snapped
    }

    /// The corner of the road cell at a point, or of the nearest one whose square is within
    /// `snap_m` (ties to the lowest corner): the answer of `CellIndex::at_or_near`, from the
    /// road map's blocks.
    fn snap(&self, point: [f64; 2], snap_m: f64) -> Option<Corner> {
        let corner = corner_at(point);
        if self.directory.road.is_road(corner) {
            return Some(corner);
        }
        let snap_m = snap_m.max(0.0);
        // Most points off the road lie within a metre of it. A square beyond the 3 × 3 around the
        // point's own is at least 1 m away, so a nearer one among the eight neighbours is the
        // answer, and the wider search runs only when there is none.
        let (_, northing, easting) = self
            .nearest_road_square(point, 1.0_f64.min(snap_m), (corner.0 - 1, corner.1 - 1))
            .filter(|&(d2, _, _)| d2 < 1.0)
            .or_else(|| {
                // Squares within snap_m of the point have corners in
                // [point - snap_m - 1, point + snap_m].
                let min = (
                    ceil_i32(point[0] - snap_m - 1.0),
                    ceil_i32(point[1] - snap_m - 1.0),
                );
                self.nearest_road_square(point, snap_m, min)
            })?;
        Some((easting, northing))
    }

    /// The road cell nearest a point among those with corners from `min` to `point + reach_m`
    /// whose squares are within `reach_m` of it (ties to the lowest northing, then easting), as
    /// (squared distance, northing, easting).
    fn nearest_road_square(
        &self,
        point: [f64; 2],
        reach_m: f64,
        min: Corner,
    ) -> Option<(f64, i32, i32)> {
        let max = (floor_i32(point[0] + reach_m), floor_i32(point[1] + reach_m));
        let (low, high) = (block_of(min), block_of(max));
        let mut best: Option<(f64, i32, i32)> = None;
        for bx in low.0..=high.0 {
            for by in low.1..=high.1 {
                for (easting, northing) in self.directory.road.corners_in((bx, by), min, max) {
                    let d2 = square_distance_2((easting, northing), point);
                    if d2 <= reach_m * reach_m && best.is_none_or(|b| (d2, northing, easting) < b) {
                        best = Some((d2, northing, easting));
                    }
                }
            }
        }
        best
    }

    /// The road cells under an outline (a ring on the plane), into `corners`.
    fn outline(
        &mut self,
        ring: &[[f64; 2]],
        corners: &mut Vec<(Corner, Lookup)>,
    ) -> Result<(), String> {
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in ring {
            min = [min[0].min(p[0]), min[1].min(p[1])];
            max = [max[0].max(p[0]), max[1].max(p[1])];
        }
        let (width, height) = (max[0] - min[0], max[1] - min[1]);
        if !(width <= MAX_OUTLINE_SIDE_M && height <= MAX_OUTLINE_SIDE_M) {
            return Err(format!(
                "outline spans {width:.0} m × {height:.0} m, more than {MAX_OUTLINE_SIDE_M} m"
            ));
        }
        let ring: Vec<(f64, f64)> = ring.iter().map(|p| (p[0], p[1])).collect();
        let polygon = geo::Polygon::new(geo::LineString::from(ring), vec![]);
        let area = geo::Area::unsigned_area(&polygon);
        if area > MAX_OUTLINE_CELLS as f64 {
            return Err(format!(
                "outline of {area:.0} m² is larger than {MAX_OUTLINE_CELLS} m²"
            ));
        }
        let covered = rasterise_polygon(&polygon);
        if covered.len() > MAX_OUTLINE_CELLS {
            return Err(format!(
                "outline covers {} m², more than {MAX_OUTLINE_CELLS} m²",
                covered.len()
            ));
        }
        for corner in covered {
            if let Some(found) = self.directory.road.lookup(corner) {
                corners.push((corner, found));
            }
        }
        if corners.is_empty() {
            return Err("the outline covers no road cell".into());
        }
        Ok(())
    }

    /// The sections a path crosses, by number, found at its `samples`, into `out`.
    fn sections_along(&self, path: &[[f64; 2]], out: &mut Vec<u32>) {
        let start = out.len();
        for point in samples(path) {
            if let Some(section) = self.directory.road.section_at(corner_at(point))
                && !out[start..].contains(&section)
            {
                out.push(section);
            }
        }
    }
}

/// The corners that placing records will look up, into `out`: an observation's position, an
/// outline's corners (its cells are found by rasterising, later, and lie in the few blocks its
/// corners lie in) and the samples of a pass that will be walked.
fn lookups_of(records: &[Record], work: &[Work], points: &[[f64; 2]], out: &mut Vec<Corner>) {
    out.clear();
    for (record, work) in records.iter().zip(work) {
        if work.refused {
            continue;
        }
        let points = &points[work.points.clone()];
        match record {
            Record::Observation(o) if o.outline.is_none() => out.push(corner_at(points[0])),
            Record::Observation(_) => out.extend(points[1..].iter().copied().map(corner_at)),
            Record::Pass(_) if path_length(points) <= MAX_PASS_M => {
                out.extend(samples(points).map(corner_at));
            }
            _ => {}
        }
    }
}

/// The length of a path, metres (NaN if a point is not a number).
fn path_length(path: &[[f64; 2]]) -> f64 {
    path.windows(2).map(|p| distance(p[0], p[1])).sum()
}

/// Where a pass's path is sampled for the sections it crosses: every `SECTION_STEP_M` along each
/// piece from its start, and its end. (Fixed spacing, not a whole number of equal steps: a piece
/// of 40.000000001 m and one of 39.999999999 m are sampled at the same places.)
fn samples(path: &[[f64; 2]]) -> impl Iterator<Item = [f64; 2]> + '_ {
    path.windows(2).flat_map(|piece| {
        let (a, b) = (piece[0], piece[1]);
        let length = distance(a, b);
        let count = (length / SECTION_STEP_M).ceil().max(0.0) as usize;
        (0..count)
            .map(move |k| k as f64 * SECTION_STEP_M / length.max(f64::MIN_POSITIVE))
            .chain(std::iter::once(1.0))
            .map(move |f| [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])])
    })
}

/// Squared distance from a point to the square of the cell with a south-west corner (0 inside).
fn square_distance_2(corner: (i32, i32), point: [f64; 2]) -> f64 {
    Cell {
        easting: corner.0,
        northing: corner.1,
        segment: 0,
    }
    .square_distance_2(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::systems::survey;
    use crate::network::RoadNetwork;
    use crate::road_grid::RoadGrid;
    use proptest::prelude::*;

    /// Two crossing roads and a diagonal one, near 120.16 E, 30.27 N.
    const NETWORK: &str = include_str!("../../../tests/data/crossing_roads.geojson");

    /// The grid, and the corners of its cells' bounding box (plus 10 m around).
    fn grid() -> &'static (RoadGrid, [f64; 2], [f64; 2]) {
        static GRID: std::sync::OnceLock<(RoadGrid, [f64; 2], [f64; 2])> =
            std::sync::OnceLock::new();
        GRID.get_or_init(|| {
            let network = RoadNetwork::from_geojson(NETWORK).unwrap();
            let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
            let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
            for cell in grid.index().iter() {
                let [x, y] = cell.centre();
                min = [min[0].min(x - 10.0), min[1].min(y - 10.0)];
                max = [max[0].max(x + 10.0), max[1].max(y + 10.0)];
            }
            (grid, min, max)
        })
    }

    proptest! {
        /// The road map answers what the R-tree answers: the road cell at a point, its segment,
        /// and the cell a point snaps to.
        #[test]
        fn the_road_map_answers_what_the_r_tree_answers(
            offsets in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..40),
            snap_m in 0.0f64..6.0,
        ) {
            let (grid, min, max) = grid();
            let (sectioning, road) = survey(grid, &Rules::default());
            let mut directory = Directory::new(road, &sectioning);
            let placer = Placer {
                directory: &mut directory,
                sectioning: &sectioning,
            };
            for (fx, fy) in offsets {
                let point = [min[0] + fx * (max[0] - min[0]), min[1] + fy * (max[1] - min[1])];
                let corner = corner_at(point);
                let expected = grid.index().at(point);
                let segment = placer
                    .directory
                    .road
                    .section_at(corner)
                    .map(|section| sectioning.segment_and_index(section).0);
                prop_assert_eq!(segment, expected.map(|c| c.segment));
                let snapped = grid
                    .index()
                    .at_or_near(point, snap_m)
                    .map(|(cell, _)| (cell.easting, cell.northing));
                prop_assert_eq!(placer.snap(point, snap_m), snapped);
            }
        }
    }
}
