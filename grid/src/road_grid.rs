//! The road grid: a network projected to its UTM zone, its road-surface cells and their R-tree, and
//! the queries that people and the engine ask of it in WGS84.

use crate::cell::{Cell, CellKey};
use crate::coord::{Projection, Utm, UtmZone, Wgs84};
use crate::index::{CellIndex, Rect};
use crate::network::{BoundingBox, RoadClass, RoadNetwork};
use crate::plane_fit::PlaneFit;
use crate::raster::{Capsule, along_piece, distance_2, distance_2_to_piece, rasterise_surfaces};

/// MGRS (and so every cell id) needs eastings within 100–900 km of its zone's plane.
const MGRS_EASTING_RANGE: std::ops::RangeInclusive<f64> = 100_000.0..=900_000.0;

/// How far `locate` looks for the nearest road cell to explain a miss, metres.
const EXPLAIN_MISS_WITHIN_M: f64 = 1_000.0;

/// How far beyond the network's extent the projection's polynomial fit reaches, degrees: about
/// 2.2 km north–south and 1.9 km east–west at Hangzhou, so that positions from just off the roads
/// (snapped by a tolerance, or a phone's poor fix) still take the fast path.
const PLANE_FIT_MARGIN_DEG: f64 = 0.02;

/// A step of building a grid, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStep {
    /// Projecting centrelines to the zone's plane.
    Projecting {
        /// Segments in all.
        segments: usize,
    },
    /// Rasterising road surfaces, tile by tile.
    Rasterising {
        /// Tiles finished.
        done: usize,
        /// Tiles in all.
        total: usize,
    },
    /// Bulk-loading the R-tree.
    Indexing {
        /// Cells to index.
        cells: usize,
    },
}

/// A segment as the grid keeps it: its attributes and its centreline on the zone's plane.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSegment {
    /// The segment's id in the network (`seg_id`).
    pub id: u32,
    /// The road's name (may be empty).
    pub name: String,
    /// The road's reference number (may be empty).
    pub reference: String,
    /// The road's class.
    pub class: RoadClass,
    /// Width of the road surface, metres.
    pub width_m: f64,
    /// The centreline, metres on the zone's plane (one or more lines).
    pub lines: Vec<Vec<[f64; 2]>>,
}

impl GridSegment {
    /// Distance from a point of the plane to the centreline, metres.
    pub fn distance_to_centreline(&self, point: [f64; 2]) -> f64 {
        self.lines
            .iter()
            .flat_map(|line| line.windows(2))
            .map(|piece| distance_2_to_piece(piece[0], piece[1], point))
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    }

    /// Distance along the centreline (its lines one after the other) of the centreline point
    /// nearest to `point`, metres.
    pub fn along(&self, point: [f64; 2]) -> f64 {
        let mut walked = 0.0;
        let mut best = (f64::INFINITY, 0.0);
        for piece in self.lines.iter().flat_map(|line| line.windows(2)) {
            let (a, b) = (piece[0], piece[1]);
            let length = distance_2(a, b).sqrt();
            let d2 = distance_2_to_piece(a, b, point);
            if d2 < best.0 {
                best = (d2, walked + along_piece(a, b, point));
            }
            walked += length;
        }
        best.1
    }

    /// Length of the centreline, metres.
    pub fn length_m(&self) -> f64 {
        self.lines
            .iter()
            .flat_map(|line| line.windows(2))
            .map(|piece| distance_2(piece[0], piece[1]).sqrt())
            .sum()
    }
}

/// The road cell that answers a position.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<'a> {
    /// The cell.
    pub key: CellKey,
    /// The segment the cell belongs to.
    pub segment: &'a GridSegment,
    /// Distance from the position to the cell's square, metres (0 when the position is inside it).
    pub distance_m: f64,
    /// The position on the grid's plane.
    pub point: [f64; 2],
}

impl Located<'_> {
    /// Distance from the position to the segment's centreline, metres (computed on demand: a long
    /// segment has many pieces, and most callers only want the cell).
    pub fn centreline_m(&self) -> f64 {
        self.segment.distance_to_centreline(self.point)
    }
}

/// Every 1 m² cell of a network's road surface, indexed for queries.
pub struct RoadGrid {
    projection: Projection,
    /// The projection as a polynomial over the network's extent and a margin; `None` when no
    /// polynomial meets its bound there (a network spanning many degrees).
    plane_fit: Option<PlaneFit>,
    segments: Vec<GridSegment>,
    index: CellIndex,
}

impl RoadGrid {
    /// Builds the grid of a network: projects it to `zone` (by default the zone of its first point),
    /// rasterises every road surface and bulk-loads the R-tree.
    pub fn build(
        network: &RoadNetwork,
        zone: Option<UtmZone>,
        progress: &(dyn Fn(BuildStep) + Sync),
    ) -> Result<RoadGrid, GridError> {
        let zone = zone.unwrap_or_else(|| UtmZone::containing(network.first_position()));
        let projection = Projection::new(zone);
        progress(BuildStep::Projecting {
            segments: network.segments().len(),
        });
        let segments = project_segments(network, &projection)?;
        let plane_fit = plane_fit_of(network, &projection);

        let capsules = capsules_of(&segments);
        let cells = rasterise_surfaces(&capsules, &|done, total| {
            progress(BuildStep::Rasterising { done, total })
        });
        progress(BuildStep::Indexing { cells: cells.len() });
        Ok(RoadGrid {
            projection,
            plane_fit,
            segments,
            index: CellIndex::new(cells),
        })
    }

    /// The UTM zone of the grid's plane.
    pub fn zone(&self) -> UtmZone {
        self.projection.zone()
    }

    /// The projection between WGS84 and the grid's plane.
    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    /// The polynomial fit of the projection that [`to_plane`](Self::to_plane) uses over the
    /// network's extent and a margin of 0.02°, if one meets its bound of 1 µm there.
    pub fn plane_fit(&self) -> Option<&PlaneFit> {
        self.plane_fit.as_ref()
    }

    /// The segments, in the network's order; `Cell::segment` indexes this slice.
    pub fn segments(&self) -> &[GridSegment] {
        &self.segments
    }

    /// The R-tree of cells, for queries in plane coordinates.
    pub fn index(&self) -> &CellIndex {
        &self.index
    }

    /// How many cells the road surface has (each is 1 m²).
    pub fn cell_count(&self) -> usize {
        self.index.len()
    }

    /// The segment a cell belongs to.
    pub fn segment_of(&self, cell: Cell) -> &GridSegment {
        // Invariant: cells are made from this grid's segments.
        &self.segments[cell.segment as usize]
    }

    /// The road cell at a position: the cell that holds it, else the nearest cell within
    /// `tolerance_m` metres (for positions just off the surface).
    pub fn locate(&self, position: Wgs84, tolerance_m: f64) -> Result<Located<'_>, GridError> {
        let point = self.to_plane(position);
        match self.index.at_or_near(point, tolerance_m) {
            Some((cell, distance_m)) => {
                let segment = self.segment_of(cell);
                Ok(Located {
                    key: cell.key(self.zone()),
                    segment,
                    distance_m,
                    point,
                })
            }
            None => {
                let nearest = self
                    .index
                    .nearest(point, 1, EXPLAIN_MISS_WITHIN_M, |_| true)
                    .first()
                    .map(|(cell, _)| cell.square_distance_2(point).sqrt());
                Err(GridError::NoRoadCell {
                    lat: position.lat(),
                    lon: position.lon(),
                    tolerance_m,
                    nearest_m: nearest,
                })
            }
        }
    }

    /// The cells whose centre lies in a WGS84 box (the box's corners projected to the plane).
    pub fn cells_in_bbox(&self, bbox: &BoundingBox) -> Vec<Cell> {
        let corners = [
            (bbox.min().lat(), bbox.min().lon()),
            (bbox.min().lat(), bbox.max().lon()),
            (bbox.max().lat(), bbox.max().lon()),
            (bbox.max().lat(), bbox.min().lon()),
        ]
        .map(|(lat, lon)| {
            // Corners of a checked box are valid positions.
            let corner =
                Wgs84::new(lat, lon).expect("a bounding box's corners are valid positions");
            self.to_plane(corner)
        });
        let rect = Rect {
            min: [
                corners.iter().map(|c| c[0]).fold(f64::INFINITY, f64::min),
                corners.iter().map(|c| c[1]).fold(f64::INFINITY, f64::min),
            ],
            max: [
                corners
                    .iter()
                    .map(|c| c[0])
                    .fold(f64::NEG_INFINITY, f64::max),
                corners
                    .iter()
                    .map(|c| c[1])
                    .fold(f64::NEG_INFINITY, f64::max),
            ],
        };
        let mut cells = self.index.in_rect(rect);
        cells.retain(|cell| inside_convex(&corners, cell.centre()));
        cells
    }

    /// The cells whose centre is within `radius_m` of a position.
    pub fn cells_within(&self, position: Wgs84, radius_m: f64) -> Vec<Cell> {
        self.index.within(self.to_plane(position), radius_m)
    }

    /// The `k` cells nearest to a position that satisfy `keep`, within `max_distance_m`, with their
    /// distances (centre to position), nearest first.
    pub fn nearest_cells(
        &self,
        position: Wgs84,
        k: usize,
        max_distance_m: f64,
        keep: impl FnMut(&Cell) -> bool,
    ) -> Vec<(Cell, f64)> {
        self.index
            .nearest(self.to_plane(position), k, max_distance_m, keep)
    }

    /// The cells within `half_width_m` of a path, in order along it.
    pub fn cells_along(&self, path: &[Wgs84], half_width_m: f64) -> Vec<Cell> {
        let line: Vec<[f64; 2]> = path.iter().map(|p| self.to_plane(*p)).collect();
        self.index.along(&line, half_width_m)
    }

    /// A position on the grid's plane, `[easting, northing]` in metres: near the network, within
    /// 1 µm of [`Projection::to_utm`] by the [`plane_fit`](Self::plane_fit)'s polynomial, a few dozen
    /// multiplications instead of the series' transcendental calls; elsewhere `to_utm` itself.
    pub fn to_plane(&self, position: Wgs84) -> [f64; 2] {
        match &self.plane_fit {
            Some(fit) => fit.to_plane(position),
            None => {
                let Utm { easting, northing } = self.projection.to_utm(position);
                [easting, northing]
            }
        }
    }

    /// Many positions on the grid's plane; the same as [`to_plane`](Self::to_plane) on each, and
    /// cheaper per position.
    pub fn to_plane_all(&self, positions: &[Wgs84]) -> Vec<[f64; 2]> {
        match &self.plane_fit {
            Some(fit) => fit.to_plane_all(positions),
            None => positions.iter().map(|&p| self.to_plane(p)).collect(),
        }
    }
}

/// The fit of the projection over the network's extent and [`PLANE_FIT_MARGIN_DEG`]. Cells reach
/// beyond the centrelines by half a road's width, metres: well inside the margin.
fn plane_fit_of(network: &RoadNetwork, projection: &Projection) -> Option<PlaneFit> {
    let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for point in network
        .segments()
        .iter()
        .flat_map(|segment| segment.lines.iter().flatten())
    {
        min = [min[0].min(point.lat()), min[1].min(point.lon())];
        max = [max[0].max(point.lat()), max[1].max(point.lon())];
    }
    let corner =
        |lat: f64, lon: f64| Wgs84::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)).ok();
    let extent = BoundingBox::new(
        corner(min[0] - PLANE_FIT_MARGIN_DEG, min[1] - PLANE_FIT_MARGIN_DEG)?,
        corner(max[0] + PLANE_FIT_MARGIN_DEG, max[1] + PLANE_FIT_MARGIN_DEG)?,
    )
    .ok()?;
    PlaneFit::new(projection, &extent)
}

fn project_segments(
    network: &RoadNetwork,
    projection: &Projection,
) -> Result<Vec<GridSegment>, GridError> {
    network
        .segments()
        .iter()
        .map(|segment| {
            let lines = segment
                .lines
                .iter()
                .map(|line| {
                    let plane: Vec<[f64; 2]> = projection
                        .to_utm_all(line)
                        .into_iter()
                        .map(|utm| [utm.easting, utm.northing])
                        .collect();
                    match plane
                        .iter()
                        .position(|p| !MGRS_EASTING_RANGE.contains(&p[0]))
                    {
                        Some(i) => Err(GridError::OutsideZone {
                            segment: segment.id,
                            lat: line[i].lat(),
                            lon: line[i].lon(),
                            zone: projection.zone(),
                        }),
                        None => Ok(plane),
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(GridSegment {
                id: segment.id,
                name: segment.name.clone(),
                reference: segment.reference.clone(),
                class: segment.class,
                width_m: segment.width_m,
                lines,
            })
        })
        .collect()
}

fn capsules_of(segments: &[GridSegment]) -> Vec<Capsule> {
    let mut capsules = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        for piece in segment.lines.iter().flat_map(|line| line.windows(2)) {
            capsules.push(Capsule {
                a: piece[0],
                b: piece[1],
                radius: segment.width_m / 2.0,
                segment: index as u32,
            });
        }
    }
    capsules
}

/// Whether `p` is inside (or on) a convex polygon given in either winding.
fn inside_convex(corners: &[[f64; 2]; 4], p: [f64; 2]) -> bool {
    let mut sign = 0.0;
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

/// Why a grid could not be built or could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// A position has no road cell near it.
    #[error("no road cell within {tolerance_m} m of {lat},{lon}{}", match nearest_m {
        Some(d) => format!(" (the nearest road cell is {d:.1} m away)"),
        None => format!(" (none within {EXPLAIN_MISS_WITHIN_M} m)"),
    })]
    NoRoadCell {
        /// Latitude asked.
        lat: f64,
        /// Longitude asked.
        lon: f64,
        /// The tolerance used.
        tolerance_m: f64,
        /// Distance to the nearest road cell, if there is one within 1 km.
        nearest_m: Option<f64>,
    },
    /// A segment lies too far from the grid's zone for cell ids to exist.
    #[error(
        "segment {segment} has a point ({lat},{lon}) too far outside UTM zone {zone}; choose another zone"
    )]
    OutsideZone {
        /// The segment's id.
        segment: u32,
        /// Latitude of the point.
        lat: f64,
        /// Longitude of the point.
        lon: f64,
        /// The grid's zone.
        zone: UtmZone,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const CROSSING: &str = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"seg_id":10,"name":"体育场路","fwd_speed_kmh":65,"bwd_speed_kmh":65},
         "geometry":{"type":"LineString","coordinates":[[120.160,30.2740],[120.170,30.2740]]}},
        {"type":"Feature","properties":{"seg_id":11,"name":"","fwd_speed_kmh":15,"bwd_speed_kmh":15},
         "geometry":{"type":"LineString","coordinates":[[120.165,30.2700],[120.165,30.2780]]}}]}"#;

    fn grid() -> RoadGrid {
        let network = RoadNetwork::from_geojson(CROSSING).unwrap();
        RoadGrid::build(&network, None, &|_| {}).unwrap()
    }

    fn at(lat: f64, lon: f64) -> Wgs84 {
        Wgs84::new(lat, lon).unwrap()
    }

    #[test]
    fn a_crossing_has_the_area_of_its_two_roads() {
        let grid = grid();
        assert_eq!(grid.zone().to_string(), "51N");
        // 21 m × ~962 m and 4.5 m × ~887 m, less their overlap, plus round ends.
        let expected: f64 = grid
            .segments()
            .iter()
            .map(|s| s.width_m * s.length_m())
            .sum::<f64>()
            - 21.0 * 4.5;
        let cells = grid.cell_count() as f64;
        assert!(
            (cells - expected).abs() / expected < 0.02,
            "{cells} cells, expected about {expected}"
        );
    }

    #[test]
    fn positions_on_and_off_the_road() {
        let grid = grid();
        let on = grid.locate(at(30.2740, 120.1620), 0.0).unwrap();
        assert_eq!(
            (on.segment.id, on.segment.name.as_str(), on.distance_m),
            (10, "体育场路", 0.0)
        );
        assert!(on.centreline_m() < 1.0);
        let side_street = grid.locate(at(30.2770, 120.1650), 0.0).unwrap();
        assert_eq!(side_street.segment.id, 11);
        let error = grid.locate(at(30.2760, 120.1620), 2.0).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("no road cell within 2 m of 30.276,120.162 (the nearest road cell is")
        );
        // 11.1 m north of the wide road's centreline, 0.6 m beyond its edge: found with a tolerance.
        let near = grid.locate(at(30.27410, 120.1620), 2.0).unwrap();
        assert!(near.distance_m > 0.0 && near.distance_m <= 2.0, "{near:?}");
        assert!(grid.locate(at(30.27410, 120.1620), 0.5).is_err());
    }

    #[test]
    fn box_radius_and_corridor_queries_agree() {
        let grid = grid();
        let bbox: BoundingBox = "120.164,30.2735,120.166,30.2745".parse().unwrap();
        let in_box = grid.cells_in_bbox(&bbox);
        assert!(!in_box.is_empty());
        let centre = at(30.2740, 120.165);
        let near = grid.cells_within(centre, 5.0);
        assert!(near.iter().all(|c| in_box.contains(c)));
        let nearest = grid.nearest_cells(centre, 3, 50.0, |c| grid.segment_of(*c).id == 11);
        assert_eq!(nearest.len(), 3);
        let along = grid.cells_along(&[at(30.2740, 120.161), at(30.2740, 120.169)], 2.0);
        assert!(
            along
                .iter()
                .all(|c| grid.segment_of(*c).id == 10 || grid.segment_of(*c).id == 11)
        );
        assert!(
            along.len() > 700 * 4 && along.len() < 800 * 4 + 50,
            "{}",
            along.len()
        );
    }

    #[test]
    fn a_network_far_from_the_forced_zone_is_refused() {
        let network = RoadNetwork::from_geojson(CROSSING).unwrap();
        let error = RoadGrid::build(&network, Some("45N".parse().unwrap()), &|_| {})
            .err()
            .unwrap();
        assert!(
            matches!(error, GridError::OutsideZone { segment: 10, .. }),
            "{error}"
        );
    }

    #[test]
    fn the_plane_is_the_projection_near_the_network_and_far_from_it() {
        let grid = grid();
        let fit = grid.plane_fit().expect("a crossing's extent is fitted");
        assert_eq!(
            (fit.bbox().min(), fit.bbox().max()),
            (at(30.2500, 120.140), at(30.2980, 120.190))
        );
        let positions = [
            at(30.2740, 120.1620),
            at(30.2500, 120.1400),
            at(30.2980, 120.1900),
            at(30.2400, 120.1000),
            at(-45.0, 10.0),
        ];
        let batch = grid.to_plane_all(&positions);
        for (position, plane) in positions.iter().zip(batch) {
            assert_eq!(plane, grid.to_plane(*position));
            let exact = grid.projection().to_utm(*position);
            if fit.bbox().contains(*position) {
                assert!((plane[0] - exact.easting).abs() <= 1e-6, "{position:?}");
                assert!((plane[1] - exact.northing).abs() <= 1e-6, "{position:?}");
            } else {
                assert_eq!(plane, [exact.easting, exact.northing], "{position:?}");
            }
        }
    }

    #[test]
    fn a_network_spanning_60_degrees_of_latitude_is_projected_exactly() {
        let network = RoadNetwork::from_geojson(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"seg_id":1},
             "geometry":{"type":"LineString","coordinates":[[120.0,0.5],[120.001,0.5]]}},
            {"type":"Feature","properties":{"seg_id":2},
             "geometry":{"type":"LineString","coordinates":[[126.0,60.0],[126.001,60.0]]}}]}"#,
        )
        .unwrap();
        let grid = RoadGrid::build(&network, None, &|_| {}).unwrap();
        assert!(grid.plane_fit().is_none());
        let position = at(30.0, 123.0);
        let exact = grid.projection().to_utm(position);
        assert_eq!(grid.to_plane(position), [exact.easting, exact.northing]);
        assert_eq!(
            grid.to_plane_all(&[position]),
            vec![[exact.easting, exact.northing]]
        );
    }
}
