//! The International Roughness Index of a longitudinal profile: Sayers' quarter-car ("golden car") at
//! 80 km/h, as ASTM E1926 and World Bank Technical Paper 46 define it.
//!
//! The profile is read as a piecewise-linear function of distance. Each interval between two samples
//! feeds the quarter car with a constant slope; where samples are closer than the 250 mm base length the
//! slope is that of the 250 mm moving average (the elevation difference across 250 mm centred on the
//! interval), so that regular and irregular spacing are handled alike. The car's response over each
//! interval is exact (the state-transition matrix `exp(A·dt)` of the linear model), so no step size is
//! assumed; IRI is the distance-weighted mean of the rectified suspension rate `|z1 − z3|`.
//! The car starts in the ASTM state: both masses moving with the profile's mean slope over its
//! first 11 m.

use nalgebra::{Matrix4, Vector4};

use crate::error::Error;
use crate::profile::Profile;

/// IRI over one piece of a profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IriSegment {
    /// Where the piece starts, in metres along the profile.
    pub start_m: f64,
    /// Where it ends.
    pub end_m: f64,
    /// Its roughness, m/km.
    pub iri_m_per_km: f64,
}

/// Golden-car parameters (Sayers 1995), per unit sprung mass.
const K1: f64 = 653.0; // tyre spring
const K2: f64 = 63.3; // suspension spring
const C: f64 = 6.0; // suspension damper
const MU: f64 = 0.15; // unsprung / sprung mass
/// The simulated speed, 80 km/h in m/s.
const SPEED: f64 = 80.0 / 3.6;
/// The moving-average base length, m.
const BASE_LENGTH: f64 = 0.25;
/// The lead-in over which the initial slope is taken, m.
const LEAD_IN: f64 = 11.0;

/// IRI per piece of `segment_m` metres, the pieces starting at `start_m` (default: the profile's first
/// distance). The car runs over the whole profile, so what comes before `start_m` is its lead-in. The
/// last piece may be shorter; pieces over which the profile has no interval are left out.
pub fn iri_segments(
    profile: &Profile,
    segment_m: f64,
    start_m: Option<f64>,
) -> Result<Vec<IriSegment>, Error> {
    if !segment_m.is_finite() || segment_m <= 0.0 {
        return Err(Error::invalid(
            "segment length",
            format!("{segment_m} m is not a positive length"),
        ));
    }
    let distance = profile.distance_m();
    let first = distance[0];
    let last = distance[distance.len() - 1];
    let start = start_m.unwrap_or(first);
    if !start.is_finite() {
        return Err(Error::invalid("start", format!("{start} is not a number")));
    }
    let rates = rectified_slope_rates(profile);

    let mut segments: Vec<IriSegment> = Vec::new();
    let mut sum = 0.0;
    let mut length = 0.0;
    let mut current: Option<i64> = None;
    let flush = |index: i64, sum: f64, length: f64, segments: &mut Vec<IriSegment>| {
        if length > 0.0 {
            let segment_start = start + index as f64 * segment_m;
            segments.push(IriSegment {
                start_m: segment_start,
                end_m: (segment_start + segment_m).min(last),
                iri_m_per_km: sum / length * 1000.0,
            });
        }
    };
    for (i, rate) in rates.iter().enumerate() {
        let (x0, x1) = (distance[i], distance[i + 1]);
        let middle = 0.5 * (x0 + x1);
        if middle < start {
            continue;
        }
        let index = ((middle - start) / segment_m).floor() as i64;
        if current != Some(index) {
            if let Some(previous) = current {
                flush(previous, sum, length, &mut segments);
            }
            current = Some(index);
            sum = 0.0;
            length = 0.0;
        }
        sum += rate * (x1 - x0);
        length += x1 - x0;
    }
    if let Some(previous) = current {
        flush(previous, sum, length, &mut segments);
    }
    Ok(segments)
}

/// The rectified slope `|z1 − z3|` (m/m) of the quarter car at the end of each interval of the profile.
fn rectified_slope_rates(profile: &Profile) -> Vec<f64> {
    let distance = profile.distance_m();
    let elevation = profile.elevation_m();
    let initial_slope = {
        let end = (distance[0] + LEAD_IN).min(distance[distance.len() - 1]);
        (interpolate(distance, elevation, end) - elevation[0]) / (end - distance[0])
    };
    let mut state = Vector4::new(initial_slope, 0.0, initial_slope, 0.0);
    let mut step: Option<(f64, Matrix4<f64>, Vector4<f64>)> = None;
    let mut rates = Vec::with_capacity(distance.len() - 1);
    for i in 1..distance.len() {
        let dx = distance[i] - distance[i - 1];
        let slope = if dx >= BASE_LENGTH {
            (elevation[i] - elevation[i - 1]) / dx
        } else {
            let middle = 0.5 * (distance[i] + distance[i - 1]);
            let from = (middle - 0.5 * BASE_LENGTH).max(distance[0]);
            let to = (middle + 0.5 * BASE_LENGTH).min(distance[distance.len() - 1]);
            (interpolate(distance, elevation, to) - interpolate(distance, elevation, from))
                / (to - from)
        };
        let (transition, input) = match step {
            Some((cached_dx, transition, input)) if cached_dx == dx => (transition, input),
            _ => {
                let (transition, input) = golden_car_step(dx / SPEED);
                step = Some((dx, transition, input));
                (transition, input)
            }
        };
        state = transition * state + input * slope;
        rates.push((state[0] - state[2]).abs());
    }
    rates
}

/// The golden car's exact discrete step over `dt` seconds of constant slope input: the state-transition
/// matrix `exp(A·dt)` and the input vector `A⁻¹ (exp(A·dt) − I) B`. The state is
/// `[z1, z1', z3, z3']` with z1, z3 the sprung and unsprung mass positions per unit slope.
pub(crate) fn golden_car_step(dt: f64) -> (Matrix4<f64>, Vector4<f64>) {
    let a = system_matrix();
    let b = Vector4::new(0.0, 0.0, 0.0, K1 / MU);
    let transition = (a * dt).exp();
    // A is invertible for the golden car's positive parameters.
    let input = a
        .try_inverse()
        .map(|inverse| inverse * (transition - Matrix4::identity()) * b)
        .unwrap_or_else(Vector4::zeros);
    (transition, input)
}

fn system_matrix() -> Matrix4<f64> {
    Matrix4::new(
        0.0,
        1.0,
        0.0,
        0.0,
        -K2,
        -C,
        K2,
        C,
        0.0,
        0.0,
        0.0,
        1.0,
        K2 / MU,
        C / MU,
        -(K1 + K2) / MU,
        -C / MU,
    )
}

/// The elevation at `x` on the piecewise-linear profile (clamped to its ends).
fn interpolate(distance: &[f64], elevation: &[f64], x: f64) -> f64 {
    let upper = distance.partition_point(|&d| d < x);
    if upper == 0 {
        return elevation[0];
    }
    if upper >= distance.len() {
        return elevation[elevation.len() - 1];
    }
    let (x0, x1) = (distance[upper - 1], distance[upper]);
    let (y0, y1) = (elevation[upper - 1], elevation[upper]);
    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TP-46's test bump: 20 mm high, 4 m long, triangular, from 1 m to 5 m, every `step` metres.
    fn tp46_bump(step: f64, length: f64) -> Profile {
        let count = (length / step).round() as usize + 1;
        let distance: Vec<f64> = (0..count).map(|i| i as f64 * step).collect();
        let elevation = distance
            .iter()
            .map(|&x| 0.020 * (1.0 - ((x - 3.0).abs() / 2.0)).max(0.0))
            .collect();
        Profile::new(distance, elevation).unwrap()
    }

    fn cumulative(profile: &Profile, length: f64) -> f64 {
        iri_segments(profile, length, Some(0.0)).unwrap()[0].iri_m_per_km
    }

    #[test]
    fn reproduces_published_tp46_values() {
        // World Bank TP-46 table (cumulative IRI from 0 to each length), as published.
        let profile = tp46_bump(0.25, 30.0);
        for (length, expected) in [
            (1.25, 0.44424),
            (2.75, 4.85232),
            (5.0, 7.82931),
            (10.0, 5.08670),
            (30.0, 2.04955),
        ] {
            let iri = cumulative(&profile, length);
            assert!(
                (iri - expected).abs() < 1e-4,
                "{length} m: {iri} vs {expected}"
            );
        }
    }

    #[test]
    fn dense_sampling_is_smoothed_to_the_base_length() {
        // The same bump sampled ten times more densely gives nearly the same IRI over 30 m.
        let coarse = cumulative(&tp46_bump(0.25, 30.0), 30.0);
        let dense = cumulative(&tp46_bump(0.025, 30.0), 30.0);
        assert!(
            (coarse - dense).abs() / coarse < 0.03,
            "{coarse} vs {dense}"
        );
    }

    #[test]
    fn irregular_spacing_agrees_with_regular() {
        let regular = tp46_bump(0.1, 40.0);
        // Drop every third point: spacing alternates 0.1 and 0.2 m.
        let (distance, elevation): (Vec<f64>, Vec<f64>) = regular
            .distance_m()
            .iter()
            .zip(regular.elevation_m())
            .enumerate()
            .filter(|(i, _)| i % 3 != 1)
            .map(|(_, (x, y))| (*x, *y))
            .unzip();
        let irregular = Profile::new(distance, elevation).unwrap();
        let a = cumulative(&regular, 40.0);
        let b = cumulative(&irregular, 40.0);
        assert!((a - b).abs() / a < 0.03, "{a} vs {b}");
    }

    #[test]
    fn a_flat_or_inclined_plane_has_zero_roughness() {
        let distance: Vec<f64> = (0..400).map(|i| f64::from(i) * 0.25).collect();
        let elevation = distance.iter().map(|x| 0.03 * x).collect();
        let profile = Profile::new(distance, elevation).unwrap();
        for segment in iri_segments(&profile, 20.0, None).unwrap() {
            assert!(segment.iri_m_per_km.abs() < 1e-9, "{segment:?}");
        }
    }

    #[test]
    fn segments_cover_the_profile_from_start() {
        let profile = tp46_bump(0.25, 30.0);
        let segments = iri_segments(&profile, 10.0, Some(5.0)).unwrap();
        let bounds: Vec<(f64, f64)> = segments.iter().map(|s| (s.start_m, s.end_m)).collect();
        assert_eq!(bounds, [(5.0, 15.0), (15.0, 25.0), (25.0, 30.0)]);
        assert!(iri_segments(&profile, 0.0, None).is_err());
        assert!(iri_segments(&profile, f64::NAN, None).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn profile_from(steps: &[(f64, f64)]) -> Option<Profile> {
        let mut x = 0.0;
        let (mut distance, mut elevation) = (Vec::new(), Vec::new());
        for (dx, y) in steps {
            x += dx;
            distance.push(x);
            elevation.push(*y);
        }
        Profile::new(distance, elevation).ok()
    }

    proptest! {
        /// IRI is linear in the profile: scaling elevations scales IRI, and adding a plane changes nothing.
        #[test]
        fn iri_is_linear_and_ignores_grade(
            steps in prop::collection::vec((0.05f64..1.0, -0.05f64..0.05), 2..200),
            scale in 0.1f64..10.0,
            grade in -0.1f64..0.1,
        ) {
            let Some(profile) = profile_from(&steps) else { return Ok(()) };
            let base = iri_segments(&profile, 1e6, None).unwrap()[0].iri_m_per_km;
            let scaled = Profile::new(
                profile.distance_m().to_vec(),
                profile.elevation_m().iter().map(|y| y * scale).collect(),
            ).unwrap();
            let tilted = Profile::new(
                profile.distance_m().to_vec(),
                profile.distance_m().iter().zip(profile.elevation_m()).map(|(x, y)| y + grade * x).collect(),
            ).unwrap();
            let scaled_iri = iri_segments(&scaled, 1e6, None).unwrap()[0].iri_m_per_km;
            let tilted_iri = iri_segments(&tilted, 1e6, None).unwrap()[0].iri_m_per_km;
            prop_assert!((scaled_iri - scale * base).abs() <= 1e-6 * (1.0 + scale * base));
            prop_assert!((tilted_iri - base).abs() <= 1e-6 * (1.0 + base));
            prop_assert!(base >= 0.0 && base.is_finite());
        }
    }
}
