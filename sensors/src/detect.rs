//! Event detection on traces: find the hits in the vertical acceleration, decide which are road events,
//! and name, grade and place each one.
//!
//! 1. The trace is reoriented ([`crate::orient`]) and its speed taken from GNSS ([`crate::Track`]).
//! 2. Candidates are local maxima of |vertical acceleration| over ±0.5 s that reach
//!    [`CANDIDATE_MIN_M_S2`], while the vehicle moves (≥ [`MIN_SPEED_M_S`] when speed is known).
//! 3. Each candidate is described by rate-independent features ([`CANDIDATE_FEATURES`]): its size, its
//!    size against the ±5 s background and per unit of speed (a faster car is shaken harder by the same
//!    hole), its spread over ±0.5 s, the horizontal jolt, and how isolated it is. A softmax model
//!    (`sensors/model/detector.json`, trained by `roadcode sensors train`) gives the probability that the
//!    candidate is a road event; those of at least 0.5 are events, and its probability is the confidence.
//! 4. Kind: a hit among many others of its size is `rough`; otherwise, where the rate allows (≥ 25 Hz),
//!    the window classifier names the 2 s around the hit; otherwise, and when it says rough or smooth,
//!    the sign of the first strong excursion decides (a pothole drops the wheel first, a bump lifts it).
//! 5. Severity from the peak normalised to 10 m/s; position interpolated from the fixes at the hit.

use grid::{Severity, Wgs84};

use crate::class::EventClass;
use crate::classify::WindowClassifier;
use crate::error::Error;
use crate::learn::Model;
use crate::orient::{Oriented, orient};
use crate::trace::Trace;
use crate::track::Track;

/// The smallest |vertical acceleration| that makes a candidate, m/s².
pub const CANDIDATE_MIN_M_S2: f64 = 0.6;
/// Below this speed (when known) nothing is a road event: parking, doors, hands.
pub const MIN_SPEED_M_S: f64 = 1.5;
/// Events closer than this in time are one event (the most probable one), s.
const MERGE_S: f64 = 1.0;
/// The speed assumed where a trace has none, m/s.
const ASSUMED_SPEED_M_S: f64 = 10.0;
/// Half the width of the neighbourhood in which a candidate must be the largest, s.
const PEAK_HALF_WIDTH_S: f64 = 0.5;
/// Half the width of the background window, s.
const BACKGROUND_HALF_WIDTH_S: f64 = 5.0;

/// The names of the candidate features, in the detector model's order.
pub const CANDIDATE_FEATURES: [&str; 13] = [
    "ln_peak",
    "ln_peak_over_background",
    "ln_peak_per_speed",
    "ln_peak_to_peak",
    "ln_horizontal_peak",
    "ln_speed",
    "seconds_over_half_peak",
    "ln_max_step",
    "ln_local_std",
    "min_magnitude_g",
    "peak_sign",
    "ln_std_3s",
    "ln_peak_over_std_3s",
];

const SHIPPED: &str = include_str!("../model/detector.json");

/// One road event found in a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// The moment of impact, Unix seconds.
    pub t: f64,
    /// Where the impact happened (interpolated from GNSS), when the trace has fixes around it.
    pub position: Option<Wgs84>,
    /// What it was (never `Smooth`).
    pub kind: EventClass,
    /// How bad.
    pub severity: Severity,
    /// The detector's probability that this is a road event, in [0, 1].
    pub confidence: f64,
}

/// A local peak of vertical acceleration that may be a road event.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Index of the sample in the trace.
    pub index: usize,
    /// Its time, Unix seconds.
    pub t: f64,
    /// The vertical acceleration at the peak, m/s² (signed, up positive).
    pub peak: f64,
    /// The speed at the peak, when known.
    pub speed: Option<f64>,
    /// [`CANDIDATE_FEATURES`].
    pub features: Vec<f64>,
}

/// The event detector: the candidate model and the window classifier that names kinds.
#[derive(Debug, Clone)]
pub struct Detector {
    model: Model,
    classifier: WindowClassifier,
    threshold: f64,
}

impl Detector {
    /// The detector whose parameters ship with this crate.
    pub fn shipped() -> Result<Detector, Error> {
        Detector::new(
            Model::from_json(SHIPPED, &CANDIDATE_FEATURES)?,
            WindowClassifier::shipped()?,
        )
    }

    /// A detector from a candidate model (classes `other`, `event`) and a window classifier.
    pub fn new(model: Model, classifier: WindowClassifier) -> Result<Detector, Error> {
        if model.classes != ["other", "event"] {
            return Err(Error::Model(format!(
                "a detector model has the classes [\"other\", \"event\"], not {:?}",
                model.classes
            )));
        }
        let threshold = model.threshold.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(Error::Model(format!(
                "threshold {threshold} is not a probability"
            )));
        }
        Ok(Detector {
            model,
            classifier,
            threshold,
        })
    }

    /// The same detector reporting candidates from probability `threshold` (clamped to [0, 1]).
    pub fn with_threshold(self, threshold: f64) -> Detector {
        Detector {
            threshold: threshold.clamp(0.0, 1.0),
            ..self
        }
    }

    /// The road events of a trace, in time order.
    pub fn detect(&self, trace: &Trace) -> Vec<Event> {
        let track = Track::from_trace(trace);
        let speeds = track.speeds(trace);
        let oriented = orient_with_speed(trace, &speeds);
        let rate = trace.rate_hz();
        let candidates = candidates_of(trace, &oriented, &speeds);
        let mut events: Vec<Event> = Vec::new();
        for candidate in &candidates {
            let probability = self.model.probabilities(&candidate.features)[1];
            if probability < self.threshold {
                continue;
            }
            let kind = self.kind_of(candidate, &oriented.vertical, rate);
            if let Some(last) = events.last_mut()
                && candidate.t - last.t < MERGE_S
            {
                if probability > last.confidence {
                    *last = Event {
                        t: candidate.t,
                        position: track.position_at(candidate.t),
                        kind,
                        severity: severity_of(candidate),
                        confidence: probability,
                    };
                }
                continue;
            }
            events.push(Event {
                t: candidate.t,
                position: track.position_at(candidate.t),
                kind,
                severity: severity_of(candidate),
                confidence: probability,
            });
        }
        events
    }

    fn kind_of(&self, candidate: &Candidate, vertical: &[f64], rate: f64) -> EventClass {
        let seconds_over_half_peak = candidate.features[6];
        let peak_over_background = candidate.features[1].exp();
        if seconds_over_half_peak >= ROUGH_SECONDS
            && peak_over_background < ROUGH_PEAK_OVER_BACKGROUND
        {
            return EventClass::Rough;
        }
        if rate >= 25.0 {
            let half = rate as usize;
            let from = candidate.index.saturating_sub(half);
            let to = (candidate.index + half).min(vertical.len());
            if let Ok((class, _)) = self.classifier.classify(&vertical[from..to], rate)
                && matches!(
                    class,
                    EventClass::Pothole | EventClass::AsphaltBump | EventClass::MetalBump
                )
            {
                return class;
            }
        }
        // The first excursion beyond half the peak: down first is a hole, up first a bump.
        let half_width = ((PEAK_HALF_WIDTH_S * rate).round() as usize).max(1);
        let from = candidate.index.saturating_sub(half_width);
        let first = vertical[from..=candidate.index]
            .iter()
            .find(|v| v.abs() >= 0.5 * candidate.peak.abs())
            .copied()
            .unwrap_or(candidate.peak);
        if first < 0.0 {
            EventClass::Pothole
        } else {
            EventClass::AsphaltBump
        }
    }
}

/// A hit is part of a rough stretch when, within ±5 s, the vertical acceleration is over half the hit's
/// peak for at least this many seconds...
const ROUGH_SECONDS: f64 = 2.0;
/// ...and the peak is less than this many times the mean |vertical acceleration| around it.
const ROUGH_PEAK_OVER_BACKGROUND: f64 = 4.0;

/// Severity from the peak scaled to a common speed of 10 m/s (impact grows about linearly with speed):
/// light below 4 m/s², heavy from 8 m/s².
fn severity_of(candidate: &Candidate) -> Severity {
    let scale = candidate.speed.map_or(1.0, |speed| 10.0 / speed.max(3.0));
    let normalised = candidate.peak.abs() * scale;
    if normalised >= 8.0 {
        Severity::Heavy
    } else if normalised >= 4.0 {
        Severity::Medium
    } else {
        Severity::Light
    }
}

/// Reorients a trace, orienting the forward axis with speed where it is known everywhere.
pub(crate) fn orient_with_speed(trace: &Trace, speeds: &[Option<f64>]) -> Oriented {
    let known: Option<Vec<f64>> = speeds.iter().copied().collect();
    orient(trace, known.as_deref())
}

/// The candidates of a trace (see the module documentation), in time order.
pub fn candidates(trace: &Trace) -> Vec<Candidate> {
    let track = Track::from_trace(trace);
    let speeds = track.speeds(trace);
    let oriented = orient_with_speed(trace, &speeds);
    candidates_of(trace, &oriented, &speeds)
}

fn candidates_of(trace: &Trace, oriented: &Oriented, speeds: &[Option<f64>]) -> Vec<Candidate> {
    let samples = trace.samples();
    let vertical = &oriented.vertical;
    let n = vertical.len();
    let rate = trace.rate_hz().max(1.0);
    let half = ((PEAK_HALF_WIDTH_S * rate).round() as usize).max(1);
    let background_half = ((BACKGROUND_HALF_WIDTH_S * rate).round() as usize).max(half + 1);
    let mut prefix = Vec::with_capacity(n + 1);
    let mut sum = 0.0;
    prefix.push(0.0);
    for v in vertical {
        sum += v.abs();
        prefix.push(sum);
    }

    let mut found = Vec::new();
    let mut i = 0;
    while i < n {
        let magnitude = vertical[i].abs();
        if magnitude < CANDIDATE_MIN_M_S2 {
            i += 1;
            continue;
        }
        let (from, to) = (i.saturating_sub(half), (i + half + 1).min(n));
        let neighbourhood = &vertical[from..to];
        // The largest in its neighbourhood (the first of equals).
        let is_peak = neighbourhood
            .iter()
            .enumerate()
            .all(|(k, v)| v.abs() < magnitude || (v.abs() == magnitude && from + k >= i));
        let speed = speeds[i];
        if !is_peak || speed.is_some_and(|s| s < MIN_SPEED_M_S) {
            i += 1;
            continue;
        }
        // Background: mean |v| over ±5 s without the ±0.5 s around the peak.
        let (b_from, b_to) = (
            i.saturating_sub(background_half),
            (i + background_half + 1).min(n),
        );
        let outer = (prefix[b_to] - prefix[b_from]) - (prefix[to] - prefix[from]);
        let outer_count = (b_to - b_from) - (to - from);
        let background = if outer_count > 0 {
            outer / outer_count as f64
        } else {
            magnitude
        };
        let max = neighbourhood.iter().copied().fold(f64::MIN, f64::max);
        let min = neighbourhood.iter().copied().fold(f64::MAX, f64::min);
        let horizontal = (from..to)
            .map(|k| oriented.forward[k].hypot(oriented.lateral[k]))
            .fold(0.0, f64::max);
        let neighbours = vertical[b_from..b_to]
            .iter()
            .filter(|v| v.abs() >= 0.5 * magnitude)
            .count()
            .saturating_sub(1);
        // Unknown speed is taken as a typical city speed.
        let speed_value = speed.unwrap_or(ASSUMED_SPEED_M_S);
        let max_step = (from.max(1)..to)
            .map(|k| (vertical[k] - vertical[k - 1]).abs())
            .fold(0.0, f64::max);
        let local_mean = neighbourhood.iter().sum::<f64>() / neighbourhood.len() as f64;
        let local_std = (neighbourhood
            .iter()
            .map(|v| (v - local_mean).powi(2))
            .sum::<f64>()
            / neighbourhood.len() as f64)
            .sqrt();
        let (w_from, w_to) = (i.saturating_sub(3 * half), (i + 3 * half + 1).min(n));
        let wide = &vertical[w_from..w_to];
        let wide_mean = wide.iter().sum::<f64>() / wide.len() as f64;
        let wide_std =
            (wide.iter().map(|v| (v - wide_mean).powi(2)).sum::<f64>() / wide.len() as f64).sqrt();
        let min_magnitude = samples[from..to]
            .iter()
            .map(|s| s.accel[0].hypot(s.accel[1]).hypot(s.accel[2]))
            .fold(f64::MAX, f64::min);
        found.push(Candidate {
            index: i,
            t: samples[i].t,
            peak: vertical[i],
            speed,
            features: vec![
                magnitude.ln(),
                (magnitude / (background + 0.05)).ln(),
                (magnitude / speed_value.max(3.0)).ln(),
                (max - min + 0.01).ln(),
                (horizontal + 0.05).ln(),
                (speed_value + 1.0).ln(),
                // In seconds, so that it does not depend on the rate.
                neighbours as f64 / rate,
                (max_step + 0.01).ln(),
                (local_std + 0.01).ln(),
                min_magnitude / 9.81,
                vertical[i].signum(),
                (wide_std + 0.01).ln(),
                (magnitude / (wide_std + 0.05)).ln(),
            ],
        });
        i = to; // nothing else in this neighbourhood can be its peak
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Sample;

    /// 60 s at 50 Hz, 10 m/s north, a phone on its side, smooth road with a pothole at 30 s: the wheel
    /// drops and strikes the far edge, the car is jolted backwards, and the body bounces for a second.
    fn drive_with_pothole() -> Trace {
        let samples = (0..3000)
            .map(|i| {
                let t = f64::from(i) * 0.02;
                let noise = 0.2 * (t * 37.0).sin() + 0.1 * (t * 13.0).cos();
                let [hit, jolt] = crate::pothole_impact(t - 30.0);
                let vertical = 9.81 + noise + hit;
                Sample {
                    t: 1_700_000_000.0 + t,
                    position: Wgs84::new(30.0 + (t.floor() * 10.0) / 111_195.0, 120.0).ok(),
                    speed: Some(10.0),
                    // Lying on its side: vertical on the device's x axis.
                    accel: [vertical, 0.05, 0.02 + jolt],
                    gyro: None,
                    hacc: None,
                }
            })
            .collect();
        Trace::new(samples).unwrap()
    }

    #[test]
    fn finds_the_pothole_and_places_it() {
        let detector = Detector::shipped().unwrap();
        let events = detector.detect(&drive_with_pothole());
        assert_eq!(events.len(), 1, "{events:?}");
        let event = events[0];
        assert!((event.t - 1_700_000_030.0).abs() < 0.2);
        assert!(matches!(
            event.kind,
            EventClass::Pothole | EventClass::MetalBump | EventClass::AsphaltBump
        ));
        let position = event.position.unwrap();
        assert!((position.lat() - (30.0 + 300.0 / 111_195.0)).abs() < 2e-5);
        assert!((0.0..=1.0).contains(&event.confidence));
    }

    #[test]
    fn a_parked_car_reports_nothing() {
        let samples: Vec<Sample> = drive_with_pothole()
            .samples()
            .iter()
            .map(|s| Sample {
                speed: Some(0.0),
                ..*s
            })
            .collect();
        let detector = Detector::shipped().unwrap();
        assert!(detector.detect(&Trace::new(samples).unwrap()).is_empty());
    }
}
