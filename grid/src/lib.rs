//! `grid` is roadcode's domain crate: positions and the UTM plane, the road network, the 1 m × 1 m cells
//! of the road surface and their R-tree, and the defect vocabulary that the other crates share.
//!
//! It does no I/O: callers hand it bytes and get values back.
#![deny(missing_docs)]

mod cell;
mod coord;
mod defect;
pub mod engine;
mod gcj02;
mod index;
mod network;
mod plane_fit;
#[cfg(test)]
mod proj_agreement;
mod raster;
mod road_grid;
mod transverse_mercator;

pub use cell::{Cell, CellError, CellId, CellKey};
pub use coord::{CoordError, Projection, Utm, UtmZone, Wgs84};
pub use defect::{DefectKind, Severity, UnknownName};
pub use gcj02::Gcj02;
pub use index::{CellIndex, CellTreeParams, MAX_QUERY_RADIUS_M, Rect};
pub use network::{
    BoundingBox, FeatureProblem, LANE_WIDTH_M, NetworkError, RoadClass, RoadNetwork, Segment,
};
pub use plane_fit::PlaneFit;
pub use raster::{Capsule, rasterise_polygon, rasterise_surfaces};
pub use road_grid::{BuildStep, GridError, GridSegment, Located, RoadGrid};
