//! geodesy's `utm` operator in a `Minimal` context: the projection `grid` used before its own
//! series. The agreement tests (`src/proj_agreement.rs`) use it as an oracle and the projection
//! benchmark (`examples/projection_bench.rs`) as the baseline; both include this file.

// Each includer uses part of it.
#![allow(dead_code)]

use geodesy::prelude::{Context, Coor2D, CoordinateTuple, Direction, Minimal, OpHandle};
// The includer names the grid types (`grid::` in the example, `crate::` inside the crate).
use super::{Utm, UtmZone, Wgs84};

/// `grid::Projection` as it was before its own series: geodesy's `utm` operator in a `Minimal`
/// context, applied to one point or to a whole buffer.
pub struct GeodesyUtm {
    context: Minimal,
    op: OpHandle,
}

impl GeodesyUtm {
    pub fn new(zone: UtmZone) -> GeodesyUtm {
        let mut context = Minimal::new();
        let definition = format!(
            "utm zone={} ellps=WGS84{}",
            zone.number(),
            if zone.is_north() { "" } else { " south" }
        );
        let op = context.op(&definition).expect("geodesy accepts UTM zones");
        GeodesyUtm { context, op }
    }

    pub fn to_utm(&self, position: Wgs84) -> Utm {
        let mut coords = [Coor2D::geo(position.lat(), position.lon())];
        self.apply(&mut coords, Direction::Fwd);
        Utm {
            easting: coords[0].x(),
            northing: coords[0].y(),
        }
    }

    pub fn to_utm_all(&self, positions: &[Wgs84]) -> Vec<Utm> {
        let mut coords: Vec<Coor2D> = positions
            .iter()
            .map(|p| Coor2D::geo(p.lat(), p.lon()))
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

    /// (latitude, longitude) in degrees.
    pub fn to_wgs84(&self, utm: Utm) -> (f64, f64) {
        let mut coords = [Coor2D::raw(utm.easting, utm.northing)];
        self.apply(&mut coords, Direction::Inv);
        (coords[0][1].to_degrees(), coords[0][0].to_degrees())
    }

    fn apply(&self, coords: &mut [Coor2D], direction: Direction) {
        self.context
            .apply(self.op, direction, &mut &mut *coords)
            .expect("the operator is known to its own context");
    }
}
