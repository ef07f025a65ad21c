//! Window classification: name the class of a short window of vertical acceleration.
//!
//! The window is resampled to [`MODEL_RATE_HZ`] (linear interpolation), its mean (gravity) removed, and
//! described by shape features that do not depend on the window's length: spread, peaks of each sign,
//! tails, high- and low-frequency shares, which extreme comes first. A softmax model over those features
//! ([`crate::learn`]) names the class; its parameters are `sensors/model/window_classifier.json`.

use crate::class::EventClass;
use crate::error::Error;
use crate::learn::Model;

/// The rate at which the window classifier's model was trained (the González et al. windows), Hz.
pub const MODEL_RATE_HZ: f64 = 50.0;

/// The names of the window features, in the model's order.
pub const WINDOW_FEATURES: [&str; 18] = [
    "ln_std",
    "ln_positive_peak",
    "ln_negative_peak",
    "ln_peak_to_peak",
    "skewness",
    "ln_kurtosis",
    "ln_diff_std",
    "diff_share",
    "crest",
    "share_over_2_std",
    "extreme_order",
    "zero_crossings_per_s",
    "smooth_share",
    "peaks_over_2_per_s",
    "band_0_2_hz",
    "band_2_5_hz",
    "band_5_10_hz",
    "band_10_25_hz",
];

/// The stored window classifier.
const SHIPPED: &str = include_str!("../model/window_classifier.json");

/// A window classifier: a trained model over [`WINDOW_FEATURES`].
#[derive(Debug, Clone)]
pub struct WindowClassifier {
    model: Model,
}

impl WindowClassifier {
    /// The classifier whose parameters ship with this crate.
    pub fn shipped() -> Result<WindowClassifier, Error> {
        WindowClassifier::from_json(SHIPPED)
    }

    /// A classifier from a model's JSON form.
    pub fn from_json(json: &str) -> Result<WindowClassifier, Error> {
        let model = Model::from_json(json, &WINDOW_FEATURES)?;
        let known = model
            .classes
            .iter()
            .all(|name| name.parse::<EventClass>().is_ok());
        if !known {
            return Err(Error::Model(format!(
                "unknown class among {:?}",
                model.classes
            )));
        }
        Ok(WindowClassifier { model })
    }

    /// A classifier around a trained model (its classes must be [`EventClass`] names).
    pub fn from_model(model: Model) -> Result<WindowClassifier, Error> {
        let json =
            serde_json::to_string(&model).map_err(|error| Error::Model(error.to_string()))?;
        WindowClassifier::from_json(&json)
    }

    /// The class of a window of vertical acceleration (m/s², gravity included or not) sampled at
    /// `rate_hz`, with the model's probability for it.
    pub fn classify(&self, az: &[f64], rate_hz: f64) -> Result<(EventClass, f64), Error> {
        let features = window_features(az, rate_hz)?;
        let (index, probability) = self.model.predict(&features);
        let class = self.model.classes[index]
            .parse::<EventClass>()
            .map_err(|error| Error::Model(error.to_string()))?;
        Ok((class, probability))
    }
}

/// The shortest window accepted, in seconds, and the longest.
const MIN_WINDOW_S: f64 = 0.4;
const MAX_WINDOW_S: f64 = 600.0;

/// The features of one window (see [`WINDOW_FEATURES`]).
pub fn window_features(az: &[f64], rate_hz: f64) -> Result<Vec<f64>, Error> {
    if !rate_hz.is_finite() || !(1.0..=10_000.0).contains(&rate_hz) {
        return Err(Error::invalid(
            "rate",
            format!("{rate_hz} Hz is not in [1, 10000]"),
        ));
    }
    let duration = az.len() as f64 / rate_hz;
    if !(MIN_WINDOW_S..=MAX_WINDOW_S).contains(&duration) || az.len() < 3 {
        return Err(Error::invalid(
            "window",
            format!(
                "{} samples at {rate_hz} Hz last {duration:.2} s; a window lasts {MIN_WINDOW_S}–{MAX_WINDOW_S} s",
                az.len()
            ),
        ));
    }
    if let Some(bad) = az.iter().find(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "window",
            format!("sample {bad} is not finite"),
        ));
    }
    let x = resample(az, rate_hz, MODEL_RATE_HZ);
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let x: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let variance = x.iter().map(|v| v * v).sum::<f64>() / n;
    let std = variance.sqrt().max(1e-6);
    let max = x.iter().copied().fold(f64::MIN, f64::max);
    let min = x.iter().copied().fold(f64::MAX, f64::min);
    let skewness = x.iter().map(|v| (v / std).powi(3)).sum::<f64>() / n;
    let kurtosis = x.iter().map(|v| (v / std).powi(4)).sum::<f64>() / n;
    let diff: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let diff_std = (diff.iter().map(|d| d * d).sum::<f64>() / diff.len() as f64).sqrt();
    let over_2_std = x.iter().filter(|v| v.abs() > 2.0 * std).count() as f64 / n;
    let argmax = x.iter().position(|&v| v == max).unwrap_or(0) as f64;
    let argmin = x.iter().position(|&v| v == min).unwrap_or(0) as f64;
    let zero_crossings = x
        .windows(2)
        .filter(|w| w[0].signum() != w[1].signum())
        .count() as f64;
    // A 0.2 s moving average keeps the slow (body) motion; its share of the spread tells a long
    // undulation from a sharp hit.
    let half = (0.1 * MODEL_RATE_HZ) as usize;
    let smooth: Vec<f64> = (0..x.len())
        .map(|i| {
            let (from, to) = (i.saturating_sub(half), (i + half + 1).min(x.len()));
            x[from..to].iter().sum::<f64>() / (to - from) as f64
        })
        .collect();
    let smooth_std = (smooth.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    let peaks = (1..x.len() - 1)
        .filter(|&i| {
            x[i].abs() > 2.0 && x[i].abs() >= x[i - 1].abs() && x[i].abs() > x[i + 1].abs()
        })
        .count() as f64;
    let seconds = n / MODEL_RATE_HZ;
    let bands = band_shares(&x, &[0.0, 2.0, 5.0, 10.0, 25.0]);
    let ln = |v: f64| (v.max(0.0) + 0.01).ln();
    Ok(vec![
        ln(std),
        ln(max),
        ln(-min),
        ln(max - min),
        skewness.clamp(-20.0, 20.0),
        ln(kurtosis),
        ln(diff_std),
        diff_std / std,
        (max.max(-min) / std).min(50.0),
        over_2_std,
        (argmax - argmin) / n,
        zero_crossings / seconds,
        smooth_std / std,
        peaks / seconds,
        bands[0],
        bands[1],
        bands[2],
        bands[3],
    ])
}

/// The share of the signal's energy in each frequency band between consecutive `edges` (Hz), from a
/// direct Fourier transform of the resampled window (at most a few hundred samples, so O(n²) is cheap;
/// longer windows are cut to their middle 8 s).
fn band_shares(x: &[f64], edges: &[f64]) -> Vec<f64> {
    let limit = (8.0 * MODEL_RATE_HZ) as usize;
    let skip = x.len().saturating_sub(limit) / 2;
    let x = &x[skip..(skip + limit).min(x.len())];
    let n = x.len();
    let mut energy = vec![0.0; edges.len() - 1];
    for k in 1..=n / 2 {
        let frequency = k as f64 * MODEL_RATE_HZ / n as f64;
        let (mut re, mut im) = (0.0, 0.0);
        // The phasor e^(-i·step·j) by repeated rotation: one sin_cos per frequency, not per term.
        let (step_sin, step_cos) = (std::f64::consts::TAU * k as f64 / n as f64).sin_cos();
        let (mut cos, mut sin) = (1.0, 0.0);
        for v in x {
            re += v * cos;
            im -= v * sin;
            (cos, sin) = (
                cos * step_cos - sin * step_sin,
                sin * step_cos + cos * step_sin,
            );
        }
        if let Some(band) = edges
            .windows(2)
            .position(|w| frequency > w[0] && frequency <= w[1])
        {
            energy[band] += re * re + im * im;
        }
    }
    let total: f64 = energy.iter().sum();
    energy
        .iter()
        .map(|e| if total > 0.0 { e / total } else { 0.0 })
        .collect()
}

/// Linear resampling from `from_hz` to `to_hz` (the identity when they are equal).
fn resample(values: &[f64], from_hz: f64, to_hz: f64) -> Vec<f64> {
    if (from_hz - to_hz).abs() < 1e-9 {
        return values.to_vec();
    }
    let duration = (values.len() - 1) as f64 / from_hz;
    let count = (duration * to_hz).floor() as usize + 1;
    (0..count)
        .map(|k| {
            let position = k as f64 / to_hz * from_hz;
            let i = (position.floor() as usize).min(values.len() - 1);
            let share = position - i as f64;
            match values.get(i + 1) {
                Some(next) => values[i] + share * (next - values[i]),
                None => values[i],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(shape: impl Fn(f64) -> f64, seconds: f64) -> Vec<f64> {
        (0..(seconds * 50.0) as usize)
            .map(|i| 9.81 + shape(i as f64 / 50.0))
            .collect()
    }

    #[test]
    fn features_do_not_depend_on_gravity_or_rate() {
        let jolt = |t: f64| {
            if (1.0..1.1).contains(&t) {
                -4.0
            } else {
                0.3 * (t * 20.0).sin()
            }
        };
        let a = window_features(&window(jolt, 3.0), 50.0).unwrap();
        let shifted: Vec<f64> = window(jolt, 3.0).iter().map(|v| v - 9.81).collect();
        let b = window_features(&shifted, 50.0).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-9);
        }
        assert_eq!(a.len(), WINDOW_FEATURES.len());
    }

    #[test]
    fn bad_windows_are_errors() {
        assert!(window_features(&[9.8; 5], 50.0).is_err());
        assert!(window_features(&[9.8; 100], 0.0).is_err());
        assert!(window_features(&[f64::NAN; 100], 50.0).is_err());
    }

    #[test]
    fn the_shipped_classifier_tells_a_hit_from_smooth_road() {
        let classifier = WindowClassifier::shipped().unwrap();
        let smooth = window(|t| 0.15 * (t * 31.0).sin() + 0.1 * (t * 7.0).cos(), 3.0);
        assert_eq!(
            classifier.classify(&smooth, 50.0).unwrap().0,
            EventClass::Smooth
        );
        let hit = window(
            |t| {
                if (1.5..1.6).contains(&t) {
                    -8.0
                } else if (1.6..1.7).contains(&t) {
                    9.0
                } else {
                    0.2 * (t * 31.0).sin()
                }
            },
            3.0,
        );
        assert_ne!(
            classifier.classify(&hit, 50.0).unwrap().0,
            EventClass::Smooth
        );
    }
}
