//! The R-tree of every cell of the road surface, and the geometric queries on it.
//!
//! Cells are points (their south-west corners) in integer metres, so the tree's envelopes are exact and
//! small. Every query takes and returns positions in metres on the grid's plane; distances are
//! computed in `f64` from the query point to cell centres or squares.

use rstar::{
    AABB, Envelope, PointDistance, RStarInsertionStrategy, RTree, RTreeObject, RTreeParams,
};

use crate::cell::Cell;
use crate::raster::{along_piece, distance_2, distance_2_to_piece};

/// Node sizes for the cell tree: wider nodes than rstar's default (6) make bulk loading of tens of
/// millions of cells faster and the tree smaller; leaves are tiny, so scanning 16 of them is cheap.
pub struct CellTreeParams;

impl RTreeParams for CellTreeParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 3;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

impl RTreeObject for Cell {
    type Envelope = AABB<[i32; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_point([self.easting, self.northing])
    }
}

impl PointDistance for Cell {
    /// Squared distance between corners in whole metres, saturating instead of overflowing.
    fn distance_2(&self, point: &[i32; 2]) -> i32 {
        let dx = i64::from(self.easting) - i64::from(point[0]);
        let dy = i64::from(self.northing) - i64::from(point[1]);
        i32::try_from(dx * dx + dy * dy).unwrap_or(i32::MAX)
    }

    fn contains_point(&self, point: &[i32; 2]) -> bool {
        [self.easting, self.northing] == *point
    }
}

/// A rectangle of the plane, metres: `min` is the south-west corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// South-west corner (easting, northing).
    pub min: [f64; 2],
    /// North-east corner (easting, northing).
    pub max: [f64; 2],
}

/// The R-tree of all cells of the road surface.
pub struct CellIndex {
    tree: RTree<Cell, CellTreeParams>,
}

/// The largest search radius the index accepts, metres. Keeps integer envelopes far from overflow
/// and queries bounded.
pub const MAX_QUERY_RADIUS_M: f64 = 100_000.0;

impl CellIndex {
    /// Bulk-loads the tree with every cell. Cells must be unique (rasterisation makes them so).
    pub fn new(cells: Vec<Cell>) -> CellIndex {
        CellIndex {
            tree: RTree::bulk_load_with_params(cells),
        }
    }

    /// How many cells the index holds.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the index holds no cell.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Every cell, in the tree's order.
    pub fn iter(&self) -> impl Iterator<Item = &Cell> {
        self.tree.iter()
    }

    /// The cell whose square holds `point`, if it is a road cell.
    pub fn at(&self, point: [f64; 2]) -> Option<Cell> {
        let corner = corner_of(point)?;
        self.tree.locate_at_point(&corner).copied()
    }

    /// The road cell nearest to `point` whose square is within `tolerance` metres of it (0 when the
    /// point is inside the square). Ties go to the lowest corner, so the answer is deterministic.
    pub fn at_or_near(&self, point: [f64; 2], tolerance: f64) -> Option<(Cell, f64)> {
        if let Some(cell) = self.at(point) {
            return Some((cell, 0.0));
        }
        let tolerance = tolerance.clamp(0.0, MAX_QUERY_RADIUS_M);
        let reach = Rect {
            min: [point[0] - tolerance - 1.0, point[1] - tolerance - 1.0],
            max: [point[0] + tolerance, point[1] + tolerance],
        };
        let mut best: Option<(Cell, f64)> = None;
        self.for_each_corner_in(reach, |cell| {
            let d2 = cell.square_distance_2(point);
            if d2 <= tolerance * tolerance
                && best.is_none_or(|(b, bd2)| {
                    (d2, cell.northing, cell.easting) < (bd2, b.northing, b.easting)
                })
            {
                best = Some((cell, d2));
            }
        });
        best.map(|(cell, d2)| (cell, d2.sqrt()))
    }

    /// The cells whose centre lies in `rect` (edges included).
    pub fn in_rect(&self, rect: Rect) -> Vec<Cell> {
        let mut cells = Vec::new();
        // Centre e + 0.5 in [min, max]  ⇔  e in [ceil(min - 0.5), floor(max - 0.5)].
        let shifted = Rect {
            min: [(rect.min[0] - 0.5).ceil(), (rect.min[1] - 0.5).ceil()],
            max: [(rect.max[0] - 0.5).floor(), (rect.max[1] - 0.5).floor()],
        };
        self.for_each_corner_in(shifted, |cell| cells.push(cell));
        cells
    }

    /// The cells whose centre is within `radius` metres of `point`.
    pub fn within(&self, point: [f64; 2], radius: f64) -> Vec<Cell> {
        let radius = radius.clamp(0.0, MAX_QUERY_RADIUS_M);
        let rect = Rect {
            min: [point[0] - radius, point[1] - radius],
            max: [point[0] + radius, point[1] + radius],
        };
        let mut cells = self.in_rect(rect);
        cells.retain(|cell| distance_2(cell.centre(), point) <= radius * radius);
        cells
    }

    /// The `k` cells nearest to `point` (by centre) that satisfy `keep`, nearest first, looking no
    /// farther than `max_distance` metres. Searches growing squares, so a rare predicate costs at most
    /// one scan of the cells within `max_distance`.
    pub fn nearest(
        &self,
        point: [f64; 2],
        k: usize,
        max_distance: f64,
        mut keep: impl FnMut(&Cell) -> bool,
    ) -> Vec<(Cell, f64)> {
        let max_distance = max_distance.clamp(0.0, MAX_QUERY_RADIUS_M);
        let mut radius = 8.0_f64.min(max_distance);
        loop {
            let mut found: Vec<(Cell, f64)> = self
                .within(point, radius)
                .into_iter()
                .filter(|cell| keep(cell))
                .map(|cell| (cell, distance_2(cell.centre(), point).sqrt()))
                .collect();
            // Everything within `radius` has been seen, so the k nearest are final once k are found.
            if found.len() >= k || radius >= max_distance {
                found.sort_by(|(a, da), (b, db)| {
                    da.total_cmp(db)
                        .then((a.northing, a.easting).cmp(&(b.northing, b.easting)))
                });
                found.truncate(k);
                return found;
            }
            radius = (radius * 4.0).min(max_distance);
        }
    }

    /// The cells whose centre is within `half_width` metres of a polyline, ordered by their distance
    /// along it (then by corner), each once.
    pub fn along(&self, line: &[[f64; 2]], half_width: f64) -> Vec<Cell> {
        let half_width = half_width.clamp(0.0, MAX_QUERY_RADIUS_M);
        let mut found: Vec<(f64, Cell)> = Vec::new();
        let mut walked = 0.0;
        for piece in line.windows(2) {
            let (a, b) = (piece[0], piece[1]);
            let rect = Rect {
                min: [a[0].min(b[0]) - half_width, a[1].min(b[1]) - half_width],
                max: [a[0].max(b[0]) + half_width, a[1].max(b[1]) + half_width],
            };
            let length = distance_2(a, b).sqrt();
            for cell in self.in_rect(rect) {
                let centre = cell.centre();
                if distance_2_to_piece(a, b, centre) <= half_width * half_width {
                    found.push((walked + along_piece(a, b, centre), cell));
                }
            }
            walked += length;
        }
        found.sort_by(|(ta, a), (tb, b)| {
            (a.northing, a.easting, ta)
                .partial_cmp(&(b.northing, b.easting, tb))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // Keep each cell once, at its first position along the line.
        found.dedup_by_key(|(_, cell)| (cell.northing, cell.easting));
        found.sort_by(|(ta, a), (tb, b)| {
            ta.total_cmp(tb)
                .then((a.northing, a.easting).cmp(&(b.northing, b.easting)))
        });
        found.into_iter().map(|(_, cell)| cell).collect()
    }

    /// Calls `visit` for every cell whose corner lies in `rect` (corners rounded inwards).
    fn for_each_corner_in(&self, rect: Rect, mut visit: impl FnMut(Cell)) {
        let (Some(min), Some(max)) = (
            corner_of([rect.min[0].ceil(), rect.min[1].ceil()]),
            corner_of([rect.max[0].floor(), rect.max[1].floor()]),
        ) else {
            return;
        };
        if min[0] > max[0] || min[1] > max[1] {
            return;
        }
        let envelope = AABB::from_corners(min, max);
        for cell in self.tree.locate_in_envelope(&envelope) {
            debug_assert!(envelope.contains_point(&[cell.easting, cell.northing]));
            visit(*cell);
        }
    }
}

/// The integer corner of the square holding `point`, if it is representable.
fn corner_of(point: [f64; 2]) -> Option<[i32; 2]> {
    let to_i32 = |v: f64| {
        let v = v.floor();
        (v.is_finite() && v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX)).then_some(v as i32)
    };
    Some([to_i32(point[0])?, to_i32(point[1])?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(easting: i32, northing: i32) -> Cell {
        Cell {
            easting,
            northing,
            segment: 0,
        }
    }

    /// A 10 × 4 block of cells with corners (100..110, 200..204).
    fn block() -> CellIndex {
        CellIndex::new(
            (200..204)
                .flat_map(|n| (100..110).map(move |e| cell(e, n)))
                .collect(),
        )
    }

    #[test]
    fn a_point_finds_its_cell_or_a_near_one() {
        let index = block();
        assert_eq!(index.at([100.2, 203.9]), Some(cell(100, 203)));
        assert_eq!(index.at([99.9, 203.9]), None);
        assert_eq!(index.at([f64::NAN, 0.0]), None);
        assert_eq!(
            index.at_or_near([99.5, 201.5], 1.0),
            Some((cell(100, 201), 0.5))
        );
        assert_eq!(index.at_or_near([97.5, 201.5], 1.0), None);
        assert_eq!(index.at_or_near([1e12, 201.5], 1e12), None);
    }

    #[test]
    fn boxes_and_circles_select_by_centre() {
        let index = block();
        assert_eq!(
            index
                .in_rect(Rect {
                    min: [100.5, 200.5],
                    max: [101.5, 201.5]
                })
                .len(),
            4
        );
        assert_eq!(
            index
                .in_rect(Rect {
                    min: [100.6, 200.5],
                    max: [101.5, 201.5]
                })
                .len(),
            2
        );
        let mut near = index.within([105.0, 202.0], 1.0);
        near.sort();
        assert_eq!(
            near,
            vec![
                cell(104, 201),
                cell(104, 202),
                cell(105, 201),
                cell(105, 202)
            ]
        );
    }

    #[test]
    fn nearest_cells_respect_the_predicate_and_the_limit() {
        let index = block();
        let found = index.nearest([0.0, 0.0], 2, 1000.0, |c| c.easting >= 108);
        assert_eq!(
            found.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            vec![cell(108, 200), cell(109, 200)]
        );
        assert!(index.nearest([0.0, 0.0], 2, 10.0, |_| true).is_empty());
    }

    #[test]
    fn a_corridor_returns_cells_in_order_along_the_line() {
        let index = block();
        let cells = index.along(&[[109.5, 202.5], [100.0, 202.5]], 1.0);
        let eastings: Vec<i32> = cells.iter().map(|c| c.easting).collect();
        assert_eq!(
            eastings.len(),
            30,
            "rows 201 to 203 are within 1 m of the line at 202.5"
        );
        assert!(eastings.windows(2).all(|w| w[0] >= w[1]));
    }

    proptest! {
        #[test]
        fn queries_agree_with_brute_force(
            corners in prop::collection::hash_set((0i32..60, 0i32..60), 1..400),
            point in (-5.0..65.0f64, -5.0..65.0f64),
            radius in 0.0..20.0f64,
        ) {
            let cells: Vec<Cell> = corners.iter().map(|&(e, n)| cell(e, n)).collect();
            let index = CellIndex::new(cells.clone());
            let point = [point.0, point.1];
            let mut within = index.within(point, radius);
            within.sort();
            let mut expected: Vec<Cell> = cells
                .iter()
                .copied()
                .filter(|c| distance_2(c.centre(), point) <= radius * radius)
                .collect();
            expected.sort();
            prop_assert_eq!(within, expected);

            let nearest = index.nearest(point, 3, 1000.0, |_| true);
            let mut by_distance: Vec<f64> = cells.iter().map(|c| distance_2(c.centre(), point).sqrt()).collect();
            by_distance.sort_by(f64::total_cmp);
            let got: Vec<f64> = nearest.iter().map(|(_, d)| *d).collect();
            prop_assert_eq!(got, by_distance.into_iter().take(3).collect::<Vec<_>>());

            let near = index.at_or_near(point, radius);
            let best = cells.iter().map(|c| c.square_distance_2(point)).fold(f64::INFINITY, f64::min);
            match near {
                Some((_, d)) => prop_assert!((d * d - best).abs() < 1e-9),
                None => prop_assert!(best > radius * radius),
            }
        }
    }
}
