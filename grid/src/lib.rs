//! `grid` is roadcode's domain crate: positions and the UTM plane, the road network, the 1 m × 1 m cells
//! of the road surface and their R-tree, and the defect vocabulary that the other crates share.
//!
//! It does no I/O: callers hand it bytes and get values back.
#![deny(missing_docs)]

mod coord;
mod defect;
mod gcj02;

pub use coord::{CoordError, Projection, Utm, UtmZone, Wgs84};
pub use defect::{DefectKind, Severity, UnknownName};
pub use gcj02::Gcj02;
