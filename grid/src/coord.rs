//! Positions on the earth (WGS84) and on the plane of one UTM zone, and the projection between them.
//!
//! The projection is the Engsager & Poder (2007) transverse Mercator of the `geodesy` crate, the same
//! algorithm as PROJ's default `+proj=utm`; `tests/it/proj_agreement.rs` checks it against points that
//! PROJ itself computed (pyproj), to better than 1 mm.

use std::fmt;
use std::str::FromStr;

use geodesy::prelude::{Context, Coor2D, CoordinateTuple, Direction, Minimal, OpHandle};

/// A WGS84 position in degrees. Invariant: `lat` in [-90, 90], `lon` in [-180, 180], both finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wgs84 {
    lat: f64,
    lon: f64,
}

impl Wgs84 {
    /// A position from latitude and longitude in degrees, checked to be on the earth.
    pub fn new(lat: f64, lon: f64) -> Result<Wgs84, CoordError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(CoordError::Latitude(lat));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(CoordError::Longitude(lon));
        }
        Ok(Wgs84 { lat, lon })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(self) -> f64 {
        self.lon
    }
}

/// A UTM zone: its number (1–60) and hemisphere. Displays as `51N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtmZone {
    number: u8,
    north: bool,
}

impl UtmZone {
    /// A zone from its number (1–60) and hemisphere.
    pub fn new(number: u8, north: bool) -> Result<UtmZone, CoordError> {
        if !(1..=60).contains(&number) {
            return Err(CoordError::Zone(number.to_string()));
        }
        Ok(UtmZone { number, north })
    }

    /// The standard zone of a position (the plain 6° rule; the Norway and Svalbard exceptions do not
    /// apply to any city we serve and are left out on purpose).
    pub fn containing(position: Wgs84) -> UtmZone {
        let number = (((position.lon + 180.0) / 6.0).floor() as i32).clamp(0, 59) + 1;
        UtmZone {
            number: number as u8,
            north: position.lat >= 0.0,
        }
    }

    /// The zone number, 1–60.
    pub fn number(self) -> u8 {
        self.number
    }

    /// Whether this is the northern hemisphere's zone.
    pub fn is_north(self) -> bool {
        self.north
    }

    /// The longitude of the zone's central meridian, in degrees.
    pub fn central_meridian(self) -> f64 {
        f64::from(self.number) * 6.0 - 183.0
    }
}

impl fmt::Display for UtmZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, if self.north { 'N' } else { 'S' })
    }
}

impl FromStr for UtmZone {
    type Err = CoordError;

    /// Parses `51N`, `51n`, `50S`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CoordError::Zone(s.to_owned());
        let (digits, hemisphere) = s.split_at(s.len().saturating_sub(1));
        let north = match hemisphere {
            "N" | "n" => true,
            "S" | "s" => false,
            _ => return Err(bad()),
        };
        let number: u8 = digits.parse().map_err(|_| bad())?;
        UtmZone::new(number, north).map_err(|_| bad())
    }
}

/// A position on the plane of a UTM zone, in metres (false easting and northing included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utm {
    /// Metres east, 500 000 on the central meridian.
    pub easting: f64,
    /// Metres north of the equator (plus 10 000 000 in the southern hemisphere).
    pub northing: f64,
}

/// The WGS84 ↔ UTM projection of one zone.
pub struct Projection {
    zone: UtmZone,
    context: Minimal,
    op: OpHandle,
}

impl Projection {
    /// The projection of `zone` on the WGS84 ellipsoid.
    pub fn new(zone: UtmZone) -> Projection {
        let mut context = Minimal::new();
        let definition = format!(
            "utm zone={} ellps=WGS84{}",
            zone.number,
            if zone.north { "" } else { " south" }
        );
        let op = context
            .op(&definition)
            // The definition is built from a checked zone, so geodesy always accepts it.
            .expect("a UTM definition from a valid zone is accepted by geodesy");
        Projection { zone, context, op }
    }

    /// The zone this projection maps to.
    pub fn zone(&self) -> UtmZone {
        self.zone
    }

    /// Projects one position.
    pub fn to_utm(&self, position: Wgs84) -> Utm {
        let mut coords = [Coor2D::geo(position.lat, position.lon)];
        self.apply(&mut coords, Direction::Fwd);
        Utm {
            easting: coords[0].x(),
            northing: coords[0].y(),
        }
    }

    /// Projects many positions at once (faster than one by one).
    pub fn to_utm_all(&self, positions: &[Wgs84]) -> Vec<Utm> {
        let mut coords: Vec<Coor2D> = positions
            .iter()
            .map(|p| Coor2D::geo(p.lat, p.lon))
            .collect();
        self.apply(&mut coords, Direction::Fwd);
        coords
            .iter()
            .map(|c| Utm {
                easting: c.x(),
                northing: c.y(),
            })
            .collect()
    }

    /// The WGS84 position of a point on this zone's plane.
    pub fn to_wgs84(&self, utm: Utm) -> Wgs84 {
        let mut coords = [Coor2D::raw(utm.easting, utm.northing)];
        self.apply(&mut coords, Direction::Inv);
        let (lon, lat) = (coords[0][0].to_degrees(), coords[0][1].to_degrees());
        Wgs84 { lat, lon }
    }

    fn apply(&self, coords: &mut [Coor2D], direction: Direction) {
        // `apply` fails only for an unknown handle, and ours comes from our own context.
        self.context
            .apply(self.op, direction, &mut &mut *coords)
            .expect("the projection's own operator is known to its context");
    }
}

impl fmt::Debug for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Projection")
            .field("zone", &self.zone)
            .finish()
    }
}

/// A position or zone that is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoordError {
    /// A latitude that is not a number in [-90, 90].
    #[error("latitude {0} is not in [-90, 90]")]
    Latitude(f64),
    /// A longitude that is not a number in [-180, 180].
    #[error("longitude {0} is not in [-180, 180]")]
    Longitude(f64),
    /// A UTM zone that is not 1–60 followed by N or S.
    #[error("UTM zone {0:?} is not a number 1-60 followed by N or S (for example 51N)")]
    Zone(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangzhou_is_in_zone_51_north() {
        let west_lake = Wgs84::new(30.25, 120.15).unwrap();
        assert_eq!(UtmZone::containing(west_lake).to_string(), "51N");
    }

    #[test]
    fn zones_parse_and_print() {
        assert_eq!("50s".parse::<UtmZone>().unwrap().to_string(), "50S");
        assert!("61N".parse::<UtmZone>().is_err());
        assert!("N".parse::<UtmZone>().is_err());
        assert!("".parse::<UtmZone>().is_err());
    }

    #[test]
    fn positions_off_the_earth_are_rejected() {
        assert_eq!(Wgs84::new(91.0, 0.0), Err(CoordError::Latitude(91.0)));
        assert!(Wgs84::new(0.0, f64::NAN).is_err());
    }

    #[test]
    fn projection_round_trips() {
        let projection = Projection::new("51N".parse().unwrap());
        let position = Wgs84::new(30.2741, 120.1551).unwrap();
        let back = projection.to_wgs84(projection.to_utm(position));
        assert!((back.lat() - position.lat()).abs() < 1e-9);
        assert!((back.lon() - position.lon()).abs() < 1e-9);
    }
}
