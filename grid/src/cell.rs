//! Cell keys and their public ids.
//!
//! A cell is the 1 m × 1 m square of one UTM zone whose south-west corner has integer easting and
//! northing. Its key is the zone plus that corner; its public id is the MGRS reference at 1 m precision
//! (`51RTP2731753165`), which names exactly the same square, so id and key convert both ways.

use std::fmt;
use std::str::FromStr;

use geoconvert::Mgrs;

use crate::coord::{Utm, UtmZone};

/// MGRS precision (digits per axis) that names a 1 m square.
const MGRS_ONE_METRE: i32 = 5;

/// The key of a cell: its zone and the integer easting and northing of its south-west corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// The UTM zone of the cell.
    pub zone: UtmZone,
    /// Easting of the south-west corner, metres.
    pub easting: i32,
    /// Northing of the south-west corner, metres.
    pub northing: i32,
}

impl CellKey {
    /// The key of the cell that holds a point of the zone's plane.
    pub fn containing(zone: UtmZone, point: Utm) -> CellKey {
        CellKey {
            zone,
            easting: point.easting.floor() as i32,
            northing: point.northing.floor() as i32,
        }
    }

    /// The centre of the cell on the zone's plane.
    pub fn centre(self) -> Utm {
        Utm {
            easting: f64::from(self.easting) + 0.5,
            northing: f64::from(self.northing) + 0.5,
        }
    }

    /// The cell's public id, its MGRS reference at 1 m precision.
    pub fn id(self) -> Result<CellId, CellError> {
        let mgrs = Mgrs::create(
            i32::from(self.zone.number()),
            self.zone.is_north(),
            f64::from(self.easting),
            f64::from(self.northing),
            MGRS_ONE_METRE,
        )
        .map_err(|e| CellError::NoMgrs(self, e.to_string()))?;
        Ok(CellId(mgrs.to_string()))
    }
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.zone, self.easting, self.northing)
    }
}

/// A cell of the road surface: the south-west corner of its square on the grid's UTM plane, and the
/// road segment it belongs to. The zone is the grid's, so a cell is 12 bytes (the R-tree holds tens of
/// millions of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    /// Easting of the south-west corner, metres.
    pub easting: i32,
    /// Northing of the south-west corner, metres.
    pub northing: i32,
    /// Index of the segment whose centreline is nearest among the surfaces that cover the cell.
    pub segment: u32,
}

impl Cell {
    /// The cell's key in `zone`.
    pub fn key(self, zone: UtmZone) -> CellKey {
        CellKey {
            zone,
            easting: self.easting,
            northing: self.northing,
        }
    }

    /// The centre of the cell, metres on the grid's plane.
    pub fn centre(self) -> [f64; 2] {
        [
            f64::from(self.easting) + 0.5,
            f64::from(self.northing) + 0.5,
        ]
    }

    /// Squared distance from a point of the plane to the nearest point of the cell's square (0 inside).
    pub fn square_distance_2(self, point: [f64; 2]) -> f64 {
        let gap = |v: f64, low: i32| (f64::from(low) - v).max(v - f64::from(low) - 1.0).max(0.0);
        let (dx, dy) = (gap(point[0], self.easting), gap(point[1], self.northing));
        dx * dx + dy * dy
    }
}

/// A cell's public id: the MGRS reference of its square at 1 m precision, such as `51RTP2731753165`.
///
/// Invariant: always a valid 1 m MGRS reference in a UTM zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellId(String);

impl CellId {
    /// The key of the cell that this id names.
    pub fn key(&self) -> CellKey {
        // Parsing our own invariant-holding text cannot fail; `FromStr` made sure of it.
        parse_key(&self.0).expect("a CellId always holds a valid 1 m MGRS reference")
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CellId {
    type Err = CellError;

    /// Parses an MGRS reference at 1 m precision (spaces allowed, letters in either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let key = parse_key(&compact)?;
        // Normalise: the id is always the canonical text of its key.
        key.id()
    }
}

fn parse_key(text: &str) -> Result<CellKey, CellError> {
    let bad = |why: &str| CellError::BadId(text.to_owned(), why.to_owned());
    let mgrs = Mgrs::parse_str(text).map_err(|e| bad(&e.to_string()))?;
    if mgrs.precision() != MGRS_ONE_METRE {
        return Err(bad("a cell id has 5 + 5 digits (1 m precision)"));
    }
    if !mgrs.is_utm() {
        return Err(bad("polar (UPS) references name no cell"));
    }
    let number = u8::try_from(mgrs.zone()).map_err(|_| bad("zone out of range"))?;
    let zone = UtmZone::new(number, mgrs.is_north()).map_err(|e| bad(&e.to_string()))?;
    // geoconvert gives the centre of the referenced square: floor gives its south-west corner.
    Ok(CellKey {
        zone,
        easting: mgrs.easting().floor() as i32,
        northing: mgrs.northing().floor() as i32,
    })
}

/// A cell id that cannot be read, or a key that has no id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    /// The text is not a 1 m MGRS reference.
    #[error("{0:?} is not a cell id (an MGRS reference at 1 m, like 51RTP2731753165): {1}")]
    BadId(String, String),
    /// The key lies outside the area where MGRS is defined for its zone.
    #[error("cell {0} has no MGRS reference: {1}")]
    NoMgrs(CellKey, String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn zone51() -> UtmZone {
        "51N".parse().unwrap()
    }

    #[test]
    fn design_example_id_names_its_square() {
        let id: CellId = "51RTP2731753165".parse().unwrap();
        let key = id.key();
        assert_eq!(key.zone, zone51());
        assert_eq!((key.easting, key.northing), (227_317, 3_353_165));
        assert_eq!(key.id().unwrap(), id);
    }

    #[test]
    fn ids_are_normalised() {
        let id: CellId = "51r tp 27317 53165".parse().unwrap();
        assert_eq!(id.as_str(), "51RTP2731753165");
    }

    #[test]
    fn bad_ids_are_rejected() {
        assert!("51RTP273531".parse::<CellId>().is_err());
        assert!("hello".parse::<CellId>().is_err());
        assert!("".parse::<CellId>().is_err());
    }

    proptest! {
        #[test]
        fn every_cell_id_round_trips(
            number in 1u8..=60,
            north: bool,
            easting in 167_000i32..833_000,
            northing_north in 0i32..9_300_000,
        ) {
            let zone = UtmZone::new(number, north).unwrap();
            // MGRS covers southern northings from 1 000 km up.
            let northing = if north { northing_north } else { 1_000_000 + northing_north.min(8_999_999) };
            let key = CellKey { zone, easting, northing };
            let id = key.id().unwrap();
            prop_assert_eq!(id.key(), key);
            prop_assert_eq!(id.as_str().parse::<CellId>().unwrap(), id.clone());
        }

        #[test]
        fn every_hangzhou_cell_id_round_trips(easting in 190_000i32..240_000, northing in 3_340_000i32..3_370_000) {
            let key = CellKey { zone: zone51(), easting, northing };
            let id = key.id().unwrap();
            prop_assert!(id.as_str().starts_with("51R"));
            prop_assert_eq!(id.key(), key);
        }
    }
}
