//! Positions on the earth (WGS84) and on the plane of one UTM zone, and the projection between them.
//!
//! The projection is the transverse Mercator by Krüger's series to sixth order in n (Karney 2011), the
//! same series as PROJ's default `+proj=utm` (see `transverse_mercator.rs`); `proj_agreement.rs` checks
//! it against points that PROJ itself computed (pyproj), to better than 0.1 mm, and against the
//! `geodesy` crate over whole zones, to better than a micrometre.

use std::fmt;
use std::str::FromStr;

use crate::transverse_mercator::TransverseMercator;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        let (digits, north) = if let Some(digits) = s.strip_suffix(['N', 'n']) {
            (digits, true)
        } else if let Some(digits) = s.strip_suffix(['S', 's']) {
            (digits, false)
        } else {
            return Err(bad());
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

/// The WGS84 semi-major axis, in metres.
const WGS84_SEMI_MAJOR_AXIS: f64 = 6_378_137.0;
/// The WGS84 flattening.
const WGS84_FLATTENING: f64 = 1.0 / 298.257_223_563;
/// UTM's scale on the central meridian.
const UTM_CENTRAL_SCALE: f64 = 0.9996;
/// UTM's false easting: the central meridian is at 500 km.
const UTM_FALSE_EASTING: f64 = 500_000.0;
/// UTM's false northing in the southern hemisphere: the equator is at 10 000 km.
const UTM_FALSE_NORTHING_SOUTH: f64 = 10_000_000.0;

/// The WGS84 ↔ UTM projection of one zone.
///
/// Construction computes the series' coefficients once; a projection is then a few dozen floating
/// point operations and four transcendental calls, with no allocation.
#[derive(Debug, Clone)]
pub struct Projection {
    zone: UtmZone,
    /// The zone's central meridian, in degrees.
    central_meridian: f64,
    /// 0 m in the northern hemisphere, 10 000 km in the southern.
    false_northing: f64,
    transverse_mercator: TransverseMercator,
}

impl Projection {
    /// The projection of `zone` on the WGS84 ellipsoid.
    pub fn new(zone: UtmZone) -> Projection {
        Projection {
            zone,
            central_meridian: zone.central_meridian(),
            false_northing: if zone.north {
                0.0
            } else {
                UTM_FALSE_NORTHING_SOUTH
            },
            transverse_mercator: TransverseMercator::new(
                WGS84_SEMI_MAJOR_AXIS,
                WGS84_FLATTENING,
                UTM_CENTRAL_SCALE,
            ),
        }
    }

    /// The zone this projection maps to.
    pub fn zone(&self) -> UtmZone {
        self.zone
    }

    /// Projects one position.
    pub fn to_utm(&self, position: Wgs84) -> Utm {
        // The longitude from the central meridian is taken in degrees first: exact for whole degrees.
        let (x, y) = self.transverse_mercator.forward(
            position.lat.to_radians(),
            (position.lon - self.central_meridian).to_radians(),
        );
        Utm {
            easting: UTM_FALSE_EASTING + x,
            northing: self.false_northing + y,
        }
    }

    /// Projects many positions; the same as [`to_utm`](Self::to_utm) on each.
    pub fn to_utm_all(&self, positions: &[Wgs84]) -> Vec<Utm> {
        positions.iter().map(|&p| self.to_utm(p)).collect()
    }

    /// The WGS84 position of a point on this zone's plane. A point far outside the zone comes back
    /// as the position the formula gives; a point that is not a number comes back as NaN.
    pub fn to_wgs84(&self, utm: Utm) -> Wgs84 {
        let (latitude, longitude) = self.transverse_mercator.inverse(
            utm.easting - UTM_FALSE_EASTING,
            utm.northing - self.false_northing,
        );
        // Rounding can overshoot a pole by an ulp, and zones 1 and 60 reach across the antimeridian.
        let lat = latitude.to_degrees().clamp(-90.0, 90.0);
        let mut lon = self.central_meridian + longitude.to_degrees();
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        Wgs84 { lat, lon }
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
        // Found by the cell_id fuzz target: a multi-byte last character.
        assert!("ظ".parse::<UtmZone>().is_err());
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
