//! IRI estimated from an accelerometer trace, per fixed length of road (default 100 m).
//!
//! Method: the distance driven is the integral of GNSS speed; over each piece, the root mean square of the
//! vertical dynamic acceleration (reoriented, gravity removed) is multiplied by a calibration factor
//! k(v, rate) in (m/km) / (m/s²) at the piece's mean speed v and the trace's sampling rate.
//!
//! Calibration: k comes from the golden car itself. A random profile whose slope is white noise (the
//! shape that IRI's definition assumes and that ISO 8608 roads approach) is generated deterministically;
//! its true IRI is computed by [`crate::iri_segments`]; the same quarter car is driven over it at speed v
//! and its sprung-mass acceleration, averaged down to the trace's rate as a phone's sensor would see it,
//! gives an RMS; k(v, rate) = IRI / RMS. The estimate therefore assumes a vehicle that responds like the
//! golden car: real cars differ (a stiffer car reads rougher), so a fleet should fit one factor per
//! vehicle on a road of known IRI. Pieces driven slower than [`MIN_SPEED_M_S`] are not estimated.

use std::sync::{Mutex, OnceLock};

use grid::Wgs84;

use crate::detect::orient_with_speed;
use crate::error::Error;
use crate::iri::{golden_car_step, iri_segments};
use crate::profile::Profile;
use crate::trace::Trace;
use crate::track::Track;

/// Below this mean speed a piece's roughness is not estimated, m/s.
pub const MIN_SPEED_M_S: f64 = 3.0;

/// The estimated roughness of one piece of a drive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoughnessSegment {
    /// Distance driven at the piece's start, m.
    pub start_m: f64,
    /// Distance driven at its end, m.
    pub end_m: f64,
    /// Time at its start, Unix seconds.
    pub t_start: f64,
    /// Where it starts, when known.
    pub position: Option<Wgs84>,
    /// Mean speed over the piece, m/s.
    pub speed_m_s: f64,
    /// Estimated IRI, m/km.
    pub iri_m_per_km: f64,
}

/// Estimated IRI per `segment_m` metres of a trace (pieces without known speed are skipped).
pub fn roughness_segments(trace: &Trace, segment_m: f64) -> Result<Vec<RoughnessSegment>, Error> {
    if !segment_m.is_finite() || segment_m <= 0.0 {
        return Err(Error::invalid(
            "segment length",
            format!("{segment_m} m is not a positive length"),
        ));
    }
    let track = Track::from_trace(trace);
    let speeds = track.speeds(trace);
    let vertical = orient_with_speed(trace, &speeds).vertical;
    let samples = trace.samples();
    let rate = trace.rate_hz();
    if rate <= 0.0 {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    let mut distance = 0.0;
    let mut piece_start: Option<(usize, f64)> = None;
    let (mut sum_squares, mut sum_speed, mut count) = (0.0, 0.0, 0usize);
    for i in 0..samples.len() {
        let Some(speed) = speeds[i] else {
            piece_start = None;
            (sum_squares, sum_speed, count) = (0.0, 0.0, 0);
            continue;
        };
        if i > 0 {
            distance += speed * (samples[i].t - samples[i - 1].t);
        }
        let (start_index, start_distance) = *piece_start.get_or_insert((i, distance));
        sum_squares += vertical[i] * vertical[i];
        sum_speed += speed;
        count += 1;
        if distance - start_distance >= segment_m {
            let mean_speed = sum_speed / count as f64;
            if mean_speed >= MIN_SPEED_M_S {
                let factor = cached_calibration_factor(mean_speed, rate)?;
                segments.push(RoughnessSegment {
                    start_m: start_distance,
                    end_m: distance,
                    t_start: samples[start_index].t,
                    position: track.position_at(samples[start_index].t),
                    speed_m_s: mean_speed,
                    iri_m_per_km: factor * (sum_squares / count as f64).sqrt(),
                });
            }
            // The next piece starts where this one ends.
            piece_start = Some((i, distance));
            (sum_squares, sum_speed, count) = (0.0, 0.0, 0);
        }
    }
    Ok(segments)
}

/// Calibration factors already computed in this process, per 0.5 m/s of speed and 1 Hz of rate (rates
/// above 1000 Hz share one entry: the car is then read at every simulation step anyway).
static CALIBRATIONS: Mutex<Vec<((i64, i64), f64)>> = Mutex::new(Vec::new());

/// [`calibration_factor`] at `speed` rounded to 0.5 m/s and `rate_hz` rounded to 1 Hz, computed once per
/// process (a calibration drives the car over 2 km of road, a few milliseconds).
fn cached_calibration_factor(speed: f64, rate_hz: f64) -> Result<f64, Error> {
    let key = (
        (speed * 2.0).round() as i64,
        rate_hz.round().clamp(1.0, 1000.0) as i64,
    );
    // A poisoned lock only means another thread panicked mid-push; the table itself stays valid.
    let known = CALIBRATIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, factor)| *factor);
    if let Some(factor) = known {
        return Ok(factor);
    }
    let factor = calibration_factor(key.0 as f64 / 2.0, key.1 as f64)?;
    CALIBRATIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((key, factor));
    Ok(factor)
}

/// Spacing and length of the calibration road.
const SPACING: f64 = 0.05;
const LENGTH: f64 = 2000.0;

/// The calibration road and its IRI (m/km), made once per process: a deterministic profile whose slope
/// is white noise (uniform in ±0.005, every 5 cm, 2 km).
fn calibration_road() -> Result<&'static (Profile, f64), Error> {
    static ROAD: OnceLock<(Profile, f64)> = OnceLock::new();
    if let Some(road) = ROAD.get() {
        return Ok(road);
    }
    let count = (LENGTH / SPACING) as usize;
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut elevation = Vec::with_capacity(count);
    let mut height = 0.0;
    for _ in 0..count {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let uniform =
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        elevation.push(height);
        height += (uniform - 0.5) * 0.01 * SPACING;
    }
    let distance: Vec<f64> = (0..count).map(|i| i as f64 * SPACING).collect();
    let profile = Profile::new(distance, elevation)?;
    let iri = iri_segments(&profile, LENGTH, Some(0.0))?
        .first()
        .map_or(0.0, |segment| segment.iri_m_per_km);
    Ok(ROAD.get_or_init(|| (profile, iri)))
}

/// k(v, rate): IRI (m/km) per m/s² of RMS vertical acceleration for the golden car at `speed` m/s, its
/// acceleration seen at `rate_hz` (see the module documentation).
pub fn calibration_factor(speed: f64, rate_hz: f64) -> Result<f64, Error> {
    if !(speed.is_finite() && speed > 0.0 && rate_hz.is_finite() && rate_hz > 0.0) {
        return Err(Error::invalid(
            "calibration",
            format!("speed {speed} m/s and rate {rate_hz} Hz must be positive"),
        ));
    }
    let (profile, iri) = calibration_road()?;
    let count = profile.elevation_m().len();

    // The same car at `speed`, fed the profile's 250 mm moving-average slope like the IRI itself.
    let per_base = (0.25 / SPACING).round() as usize;
    let (transition, input) = golden_car_step(SPACING / speed);
    let mut car = nalgebra::Vector4::zeros();
    let samples_per_reading = ((speed / SPACING) / rate_hz).max(1.0);
    let (mut block, mut block_count, mut squares, mut readings): (f64, f64, f64, f64) =
        (0.0, 0.0, 0.0, 0.0);
    for i in per_base..count {
        let smoothed = (profile.elevation_m()[i] - profile.elevation_m()[i - per_base]) / 0.25;
        car = transition * car + input * smoothed;
        block += speed * car[1];
        block_count += 1.0;
        if block_count >= samples_per_reading {
            let reading = block / block_count;
            squares += reading * reading;
            readings += 1.0;
            (block, block_count) = (0.0, 0.0);
        }
    }
    let rms = (squares / readings.max(1.0)).sqrt();
    if rms.is_nan() || rms <= 0.0 {
        return Err(Error::invalid(
            "calibration",
            format!("no response at {speed} m/s"),
        ));
    }
    Ok(iri / rms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Sample;

    #[test]
    fn calibration_grows_sensibly_with_speed() {
        // A faster car is shaken harder by the same road, so fewer m/km per m/s².
        let slow = calibration_factor(5.0, 50.0).unwrap();
        let fast = calibration_factor(20.0, 50.0).unwrap();
        assert!(slow > fast, "{slow} {fast}");
        assert!(fast > 0.1 && slow < 100.0, "{slow} {fast}");
    }

    #[test]
    fn rougher_shaking_reads_rougher_and_pieces_have_the_asked_length() {
        let trace = |amplitude: f64| {
            let samples = (0..3000)
                .map(|i| {
                    let t = f64::from(i) * 0.02;
                    Sample {
                        t,
                        position: None,
                        speed: Some(10.0),
                        accel: [0.0, 0.0, 9.81 + amplitude * (t * 9.0).sin()],
                        gyro: None,
                        hacc: None,
                    }
                })
                .collect();
            Trace::new(samples).unwrap()
        };
        let smooth = roughness_segments(&trace(0.2), 100.0).unwrap();
        let rough = roughness_segments(&trace(1.0), 100.0).unwrap();
        assert_eq!(smooth.len(), 5);
        assert!((smooth[0].end_m - smooth[0].start_m - 100.0).abs() < 0.5);
        assert!(rough[0].iri_m_per_km > 4.0 * smooth[0].iri_m_per_km);
        assert!(roughness_segments(&trace(1.0), 0.0).is_err());
    }
}
