//! The classic threshold detectors of Mednis et al. (2011), "Real time pothole detection using Android
//! smartphones with accelerometers", kept as baselines to compare the detector with.
//!
//! - `Z-THRESH`: the vertical acceleration exceeds a threshold (in magnitude).
//! - `Z-DIFF`: two consecutive vertical samples differ by more than a threshold.
//! - `STDEV(Z)`: the standard deviation of the vertical acceleration over 1 s exceeds a threshold.
//! - `G-ZERO`: the total acceleration falls below a threshold (near free fall: all axes near 0 g).
//!
//! Mednis et al. read the phone's z axis with the phone lying flat; here the first three read the
//! reoriented vertical acceleration (gravity removed), so that they work for a phone in any position,
//! and G-ZERO reads the magnitude, which needs no orientation. Like the detector, they report nothing
//! while the vehicle is known to stand still. Triggers closer than 1 s to the previous one belong to the
//! same event, placed at its strongest trigger.

use grid::Wgs84;

use crate::detect::{MIN_SPEED_M_S, orient_with_speed};
use crate::trace::Trace;
use crate::track::Track;

/// One of the four baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Baseline {
    /// |vertical| > threshold (m/s²).
    ZThresh,
    /// `|vertical[i] − vertical[i−1]| > threshold` (m/s²).
    ZDiff,
    /// Standard deviation of vertical over 1 s > threshold (m/s²).
    StdevZ,
    /// |acceleration| < threshold (m/s²).
    GZero,
}

impl Baseline {
    /// All four, in the paper's order.
    pub const ALL: [Baseline; 4] = [
        Baseline::ZThresh,
        Baseline::ZDiff,
        Baseline::StdevZ,
        Baseline::GZero,
    ];

    /// The paper's name.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::ZThresh => "Z-THRESH",
            Baseline::ZDiff => "Z-DIFF",
            Baseline::StdevZ => "STDEV(Z)",
            Baseline::GZero => "G-ZERO",
        }
    }

    /// The thresholds among which the evaluation chooses (by cross-validation), m/s².
    pub fn threshold_grid(self) -> Vec<f64> {
        let (from, to, step): (f64, f64, f64) = match self {
            Baseline::ZThresh => (0.5, 15.0, 0.25),
            Baseline::ZDiff => (0.5, 20.0, 0.25),
            Baseline::StdevZ => (0.1, 6.0, 0.1),
            Baseline::GZero => (0.5, 9.5, 0.25),
        };
        let count = ((to - from) / step).round() as usize + 1;
        (0..count).map(|k| from + k as f64 * step).collect()
    }
}

/// An event reported by a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineEvent {
    /// The time of its strongest trigger.
    pub t: f64,
    /// The position then, when known.
    pub position: Option<Wgs84>,
}

/// The per-sample statistic of a baseline over a trace, signed so that larger is more of an event
/// (G-ZERO's is the negated magnitude), and the samples at which the vehicle is known to stand still.
pub struct BaselineSignal {
    statistic: Vec<f64>,
    standing: Vec<bool>,
    times: Vec<f64>,
    track: Track,
    sign: f64,
}

impl BaselineSignal {
    /// Computes a baseline's statistic over a trace.
    pub fn new(trace: &Trace, baseline: Baseline) -> BaselineSignal {
        let track = Track::from_trace(trace);
        let speeds = track.speeds(trace);
        let samples = trace.samples();
        let vertical = orient_with_speed(trace, &speeds).vertical;
        let (statistic, sign) = match baseline {
            Baseline::ZThresh => (vertical.iter().map(|v| v.abs()).collect(), 1.0),
            Baseline::ZDiff => {
                let mut diff = vec![0.0];
                diff.extend(vertical.windows(2).map(|w| (w[1] - w[0]).abs()));
                (diff, 1.0)
            }
            Baseline::StdevZ => (
                sliding_std(
                    &samples.iter().map(|s| s.t).collect::<Vec<_>>(),
                    &vertical,
                    1.0,
                ),
                1.0,
            ),
            Baseline::GZero => (
                samples
                    .iter()
                    .map(|s| -(s.accel[0].hypot(s.accel[1]).hypot(s.accel[2])))
                    .collect(),
                -1.0,
            ),
        };
        BaselineSignal {
            statistic,
            standing: speeds
                .iter()
                .map(|s| s.is_some_and(|s| s < MIN_SPEED_M_S))
                .collect(),
            times: samples.iter().map(|s| s.t).collect(),
            track,
            sign,
        }
    }

    /// The events at a threshold.
    pub fn events(&self, threshold: f64) -> Vec<BaselineEvent> {
        let limit = self.sign * threshold;
        let mut events: Vec<(f64, f64, f64)> = Vec::new(); // (last trigger t, best t, best statistic)
        for (i, &value) in self.statistic.iter().enumerate() {
            if value <= limit || self.standing[i] {
                continue;
            }
            let t = self.times[i];
            match events.last_mut() {
                Some(last) if t - last.0 < 1.0 => {
                    last.0 = t;
                    if value > last.2 {
                        (last.1, last.2) = (t, value);
                    }
                }
                _ => events.push((t, t, value)),
            }
        }
        events
            .into_iter()
            .map(|(_, t, _)| BaselineEvent {
                t,
                position: self.track.position_at(t),
            })
            .collect()
    }
}

/// Standard deviation over a centred window of `width` seconds.
fn sliding_std(times: &[f64], values: &[f64], width: f64) -> Vec<f64> {
    let mut sum = vec![0.0];
    let mut squares = vec![0.0];
    for v in values {
        sum.push(sum[sum.len() - 1] + v);
        squares.push(squares[squares.len() - 1] + v * v);
    }
    let half = 0.5 * width;
    let (mut low, mut high) = (0, 0);
    times
        .iter()
        .map(|&t| {
            while times[low] < t - half {
                low += 1;
            }
            while high < times.len() && times[high] <= t + half {
                high += 1;
            }
            let count = (high - low) as f64;
            let mean = (sum[high] - sum[low]) / count;
            ((squares[high] - squares[low]) / count - mean * mean)
                .max(0.0)
                .sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Sample;

    fn trace_with_drop() -> Trace {
        let samples = (0..500)
            .map(|i| {
                let t = f64::from(i) * 0.02;
                let z = if (5.0..5.04).contains(&t) { 1.0 } else { 9.81 };
                Sample {
                    t,
                    position: None,
                    speed: Some(10.0),
                    accel: [0.0, 0.0, z],
                    gyro: None,
                    hacc: None,
                }
            })
            .collect();
        Trace::new(samples).unwrap()
    }

    #[test]
    fn each_baseline_finds_a_free_fall_once() {
        let trace = trace_with_drop();
        for (baseline, threshold) in [
            (Baseline::ZThresh, 5.0),
            (Baseline::ZDiff, 5.0),
            (Baseline::StdevZ, 1.0),
            (Baseline::GZero, 3.0),
        ] {
            let events = BaselineSignal::new(&trace, baseline).events(threshold);
            assert_eq!(events.len(), 1, "{}: {events:?}", baseline.name());
            assert!(
                (events[0].t - 5.0).abs() < 0.6,
                "{}: {events:?}",
                baseline.name()
            );
        }
    }

    #[test]
    fn threshold_grids_are_increasing() {
        for baseline in Baseline::ALL {
            let grid = baseline.threshold_grid();
            assert!(grid.windows(2).all(|w| w[1] > w[0]));
        }
    }
}
