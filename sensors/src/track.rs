//! The GNSS track of a trace: where the device was at any moment, how fast it went and where it headed.
//!
//! Trace rows repeat the last fix between GNSS updates, so a fix is a row whose position differs from the
//! row before; its time is the first row that shows it. Positions between fixes are interpolated
//! linearly (fixes are metres apart, where the earth is flat enough). Speed comes from the `speed`
//! column where the device gave it, else from the distance between consecutive fixes.

use grid::Wgs84;

use crate::trace::Trace;

/// How far beyond the first or last fix a position is still given (held at that fix), in seconds.
const HOLD_S: f64 = 2.0;
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// One GNSS fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// When the fix first appeared, Unix seconds.
    pub t: f64,
    /// Where it put the device.
    pub position: Wgs84,
}

/// The fixes of a trace, in time order. Invariant: fix times strictly increase.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    fixes: Vec<Fix>,
}

impl Track {
    /// The track of a trace (empty when the trace has no position).
    pub fn from_trace(trace: &Trace) -> Track {
        let mut fixes: Vec<Fix> = Vec::new();
        for sample in trace.samples() {
            let Some(position) = sample.position else {
                continue;
            };
            match fixes.last() {
                Some(last) if last.position == position => {}
                Some(last) if sample.t <= last.t => {}
                _ => fixes.push(Fix {
                    t: sample.t,
                    position,
                }),
            }
        }
        Track { fixes }
    }

    /// The fixes, in time order.
    pub fn fixes(&self) -> &[Fix] {
        &self.fixes
    }

    /// The interpolated position at time `t`, if there is a fix close enough.
    pub fn position_at(&self, t: f64) -> Option<Wgs84> {
        let fixes = &self.fixes;
        let first = fixes.first()?;
        let last = fixes.last()?;
        if t <= first.t {
            return (first.t - t <= HOLD_S).then_some(first.position);
        }
        if t >= last.t {
            return (t - last.t <= HOLD_S).then_some(last.position);
        }
        let upper = fixes.partition_point(|fix| fix.t <= t);
        let (a, b) = (fixes[upper - 1], fixes[upper]);
        let share = (t - a.t) / (b.t - a.t);
        Wgs84::new(
            a.position.lat() + share * (b.position.lat() - a.position.lat()),
            a.position.lon() + share * (b.position.lon() - a.position.lon()),
        )
        .ok()
    }

    /// Speed over ground per sample of `trace`, m/s: the `speed` column where given, else derived from
    /// the fixes around the sample; `None` where neither is known.
    pub fn speeds(&self, trace: &Trace) -> Vec<Option<f64>> {
        trace
            .samples()
            .iter()
            .map(|sample| sample.speed.or_else(|| self.derived_speed_at(sample.t)))
            .collect()
    }

    /// The direction of travel at `t`, degrees clockwise from north, from the fixes around it.
    pub fn heading_at(&self, t: f64) -> Option<f64> {
        let (a, b) = self.bracket(t)?;
        let (north, east) = local_offset_m(a.position, b.position);
        if north.hypot(east) < 0.5 {
            return None;
        }
        Some(east.atan2(north).to_degrees().rem_euclid(360.0))
    }

    fn derived_speed_at(&self, t: f64) -> Option<f64> {
        let (a, b) = self.bracket(t)?;
        Some(distance_m(a.position, b.position) / (b.t - a.t))
    }

    /// The two fixes around `t` (the first or last pair at the ends), when they are at most 10 s apart.
    fn bracket(&self, t: f64) -> Option<(Fix, Fix)> {
        if self.fixes.len() < 2 {
            return None;
        }
        let upper = self
            .fixes
            .partition_point(|fix| fix.t <= t)
            .clamp(1, self.fixes.len() - 1);
        let (a, b) = (self.fixes[upper - 1], self.fixes[upper]);
        (b.t - a.t <= 10.0 && (a.t - HOLD_S..=b.t + HOLD_S).contains(&t)).then_some((a, b))
    }
}

/// The great-circle distance between two positions, in metres (haversine on the mean earth radius).
pub fn distance_m(a: Wgs84, b: Wgs84) -> f64 {
    let (lat_a, lat_b) = (a.lat().to_radians(), b.lat().to_radians());
    let d_lat = lat_b - lat_a;
    let d_lon = (b.lon() - a.lon()).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat_a.cos() * lat_b.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Metres north and east from `a` to `b` (equirectangular; fine over the distances between fixes).
fn local_offset_m(a: Wgs84, b: Wgs84) -> (f64, f64) {
    let north = (b.lat() - a.lat()).to_radians() * EARTH_RADIUS_M;
    let mean_lat = (0.5 * (a.lat() + b.lat())).to_radians();
    let east = (b.lon() - a.lon()).to_radians() * EARTH_RADIUS_M * mean_lat.cos();
    (north, east)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{DecodeConfig, decode_trace};

    fn trace(text: &str) -> Trace {
        decode_trace(text.as_bytes(), &DecodeConfig::default())
            .unwrap()
            .value
    }

    /// Heading north at 10 m/s: a fix every second, 10 m apart (9e-5° of latitude ≈ 10 m).
    const NORTH: &str = "t,lat,lon,ax,ay,az\n\
        0.0,30.0,120.0,0,0,9.8\n0.5,30.0,120.0,0,0,9.8\n\
        1.0,30.0000899,120.0,0,0,9.8\n1.5,30.0000899,120.0,0,0,9.8\n\
        2.0,30.0001798,120.0,0,0,9.8\n";

    #[test]
    fn repeated_rows_are_one_fix() {
        assert_eq!(Track::from_trace(&trace(NORTH)).fixes().len(), 3);
    }

    #[test]
    fn positions_are_interpolated_between_fixes() {
        let track = Track::from_trace(&trace(NORTH));
        let middle = track.position_at(1.5).unwrap();
        assert!((middle.lat() - 30.00013485).abs() < 1e-9);
        assert_eq!(track.position_at(10.0), None);
    }

    #[test]
    fn speed_and_heading_come_from_the_fixes() {
        let trace = trace(NORTH);
        let track = Track::from_trace(&trace);
        for speed in track.speeds(&trace) {
            assert!((speed.unwrap() - 10.0).abs() < 0.05, "{speed:?}");
        }
        let heading = track.heading_at(0.7).unwrap();
        assert!(!(0.1..=359.9).contains(&heading), "{heading}");
    }

    #[test]
    fn the_speed_column_wins_when_given() {
        let trace =
            trace("t,lat,lon,speed,ax,ay,az\n0,30,120,7.5,0,0,9.8\n1,30.0001,120,,0,0,9.8\n");
        let speeds = Track::from_trace(&trace).speeds(&trace);
        assert_eq!(speeds[0], Some(7.5));
        assert!((speeds[1].unwrap() - 11.12).abs() < 0.05);
    }
}
