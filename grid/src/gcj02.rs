//! GCJ-02, the obfuscated datum of Chinese map apps, and its conversion to and from WGS84.
//!
//! GCJ-02 shifts WGS84 positions by a smooth, position-dependent offset of a few hundred metres inside
//! China (and not at all outside it). The forward formula is public (the widely used `eviltransform`
//! formulation); the inverse has no closed form and is found by fixed-point iteration, which converges
//! to below 1e-10° in a handful of steps because the offset changes slowly with position. The tests
//! check both directions against eviltransform's published reference pairs.

use crate::{CoordError, Wgs84};

/// A position in the GCJ-02 datum, in degrees. Invariant: on the earth, like [`Wgs84`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcj02 {
    lat: f64,
    lon: f64,
}

/// Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses.
const SEMI_MAJOR_AXIS: f64 = 6_378_245.0;
const ECCENTRICITY_SQUARED: f64 = 0.006_693_421_622_965_943;

impl Gcj02 {
    /// A GCJ-02 position from latitude and longitude in degrees, checked to be on the earth.
    pub fn new(lat: f64, lon: f64) -> Result<Gcj02, CoordError> {
        let checked = Wgs84::new(lat, lon)?;
        Ok(Gcj02 {
            lat: checked.lat(),
            lon: checked.lon(),
        })
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// The GCJ-02 position that a Chinese map app shows for a WGS84 position.
    pub fn from_wgs84(position: Wgs84) -> Gcj02 {
        let (d_lat, d_lon) = offset(position.lat(), position.lon());
        Gcj02 {
            lat: (position.lat() + d_lat).clamp(-90.0, 90.0),
            lon: (position.lon() + d_lon).clamp(-180.0, 180.0),
        }
    }

    /// The WGS84 position whose GCJ-02 image is this position (to better than 1e-9°, about 0.1 mm).
    pub fn to_wgs84(self) -> Wgs84 {
        let (mut lat, mut lon) = (self.lat, self.lon);
        for _ in 0..30 {
            let (d_lat, d_lon) = offset(lat, lon);
            let (next_lat, next_lon) = (self.lat - d_lat, self.lon - d_lon);
            let converged = (next_lat - lat).abs() < 1e-12 && (next_lon - lon).abs() < 1e-12;
            (lat, lon) = (next_lat, next_lon);
            if converged {
                break;
            }
        }
        // The offset is below 0.01°, so the result stays on the earth (clamping only guards the
        // arithmetic at the poles); should it ever not be, the input itself is the fallback.
        Wgs84::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0))
            .or_else(|_| Wgs84::new(self.lat, self.lon))
            .expect("a GCJ-02 position is checked to be on the earth when it is made")
    }
}

/// Whether GCJ-02 applies at a position: the rough bounding box of mainland China used by every
/// implementation; outside it GCJ-02 equals WGS84.
fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

/// The GCJ-02 offset (degrees of latitude, degrees of longitude) at a WGS84 position.
fn offset(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    if !in_china(lat, lon) {
        return (0.0, 0.0);
    }
    let x = lon - 105.0;
    let y = lat - 35.0;
    let wave = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    let d_lat = -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + wave
        + (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0
        + (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let d_lon = 300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + wave
        + (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0
        + (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad_lat = lat.to_radians();
    let magic = 1.0 - ECCENTRICITY_SQUARED * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0)
        / ((SEMI_MAJOR_AXIS * (1.0 - ECCENTRICITY_SQUARED)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (SEMI_MAJOR_AXIS / sqrt_magic * rad_lat.cos() * PI);
    (d_lat, d_lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (WGS84 lat, lon, GCJ-02 lat, lon): eviltransform's published test vectors (Shanghai,
    /// Shenzhen, Beijing) and a point outside China (Denver), where the datums agree.
    const REFERENCE: [(f64, f64, f64, f64); 4] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
        (39.7392, -104.9903, 39.7392, -104.9903),
    ];

    #[test]
    fn forward_matches_the_published_pairs() {
        for (wgs_lat, wgs_lon, gcj_lat, gcj_lon) in REFERENCE {
            let gcj = Gcj02::from_wgs84(Wgs84::new(wgs_lat, wgs_lon).unwrap());
            assert!((gcj.lat() - gcj_lat).abs() < 1e-12, "{gcj:?}");
            assert!((gcj.lon() - gcj_lon).abs() < 1e-12, "{gcj:?}");
        }
    }

    #[test]
    fn inverse_recovers_wgs84_from_the_published_pairs() {
        for (wgs_lat, wgs_lon, gcj_lat, gcj_lon) in REFERENCE {
            let wgs = Gcj02::new(gcj_lat, gcj_lon).unwrap().to_wgs84();
            assert!((wgs.lat() - wgs_lat).abs() < 1e-9, "{wgs:?}");
            assert!((wgs.lon() - wgs_lon).abs() < 1e-9, "{wgs:?}");
        }
    }

    #[test]
    fn hangzhou_offset_is_hundreds_of_metres() {
        let west_lake = Wgs84::new(30.25, 120.15).unwrap();
        let gcj = Gcj02::from_wgs84(west_lake);
        let north_m = (gcj.lat() - west_lake.lat()) * 111_000.0;
        let east_m = (gcj.lon() - west_lake.lon()) * 111_000.0 * 30.25_f64.to_radians().cos();
        let shift = north_m.hypot(east_m);
        assert!((300.0..700.0).contains(&shift), "{shift} m");
    }

    #[test]
    fn positions_off_the_earth_are_rejected() {
        assert!(Gcj02::new(f64::NAN, 120.0).is_err());
        assert!(Gcj02::new(30.0, 181.0).is_err());
    }
}
