//! Reorientation: from the device's axes to vertical / forward / lateral, whatever way the phone lies.
//!
//! Gravity is the slowly varying part of the acceleration: its estimate at each sample is the mean
//! acceleration vector over a centred window of [`GRAVITY_WINDOW_S`] seconds, so a phone that is turned
//! or moved mid-drive is followed within about a second. The vertical dynamic acceleration is the
//! projection of each sample on that local vertical minus the local gravity magnitude (positive up).
//!
//! Forward and lateral are found per block of [`BLOCK_S`] seconds: the horizontal accelerations (in a
//! level frame that a nalgebra rotation makes from the block's mean acceleration, its gravity) are
//! dominated by speeding up and braking, so their principal axis is the direction of travel; its sign
//! is chosen so that forward acceleration agrees with the change of GNSS speed, when speed is known.

use nalgebra::{Matrix2, Rotation3, SymmetricEigen, Vector2, Vector3};

use crate::trace::{Sample, Trace};

/// The width of the centred window over which gravity is averaged, in seconds.
pub const GRAVITY_WINDOW_S: f64 = 2.0;
/// The length of the blocks over which the forward axis is estimated, in seconds.
pub const BLOCK_S: f64 = 20.0;

/// A trace's accelerations in the road frame, one value per sample, m/s², gravity removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Oriented {
    /// Vertical dynamic acceleration, positive up.
    pub vertical: Vec<f64>,
    /// Acceleration along the direction of travel (positive when speeding up, if speed is known).
    pub forward: Vec<f64>,
    /// Acceleration across it (right-handed: lateral = vertical × forward).
    pub lateral: Vec<f64>,
}

/// Rotates a trace's accelerations into the road frame. `speed` (m/s per sample, from [`crate::Track`])
/// orients the forward axis when given.
pub fn orient(trace: &Trace, speed: Option<&[f64]>) -> Oriented {
    let samples = trace.samples();
    let n = samples.len();
    let times: Vec<f64> = samples.iter().map(|s| s.t).collect();
    let gravity = sliding_mean(&times, samples.iter().map(|s| s.accel), GRAVITY_WINDOW_S);

    let mut vertical = Vec::with_capacity(n);
    for (sample, g) in samples.iter().zip(&gravity) {
        let a = Vector3::from(sample.accel);
        let magnitude = g.norm();
        let up = if magnitude > 1e-9 {
            g / magnitude
        } else {
            Vector3::z()
        };
        let along = a.dot(&up);
        vertical.push(along - magnitude);
    }

    let mut forward = vec![0.0; n];
    let mut lateral = vec![0.0; n];
    let mut block_start = 0;
    while block_start < n {
        let block_end = times[block_start..]
            .iter()
            .position(|&t| t >= times[block_start] + BLOCK_S)
            .map_or(n, |offset| block_start + offset.max(1));
        orient_block(
            &samples[block_start..block_end],
            speed.and_then(|speed| speed.get(block_start..block_end)),
            &times[block_start..block_end],
            &mut forward[block_start..block_end],
            &mut lateral[block_start..block_end],
        );
        block_start = block_end;
    }
    Oriented {
        vertical,
        forward,
        lateral,
    }
}

fn orient_block(
    samples: &[Sample],
    speed: Option<&[f64]>,
    times: &[f64],
    forward: &mut [f64],
    lateral: &mut [f64],
) {
    // Over a whole block, speeding up and braking average out and the mean is gravity; the 2 s
    // estimate would absorb a sustained acceleration into "gravity" and hide it from the forward axis.
    let mean_gravity: Vector3<f64> = samples
        .iter()
        .map(|s| Vector3::from(s.accel))
        .sum::<Vector3<f64>>()
        / samples.len() as f64;
    // A rotation that takes the block's up direction to the level frame's z axis.
    let level = Rotation3::rotation_between(&mean_gravity, &Vector3::z())
        .unwrap_or_else(|| Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI));
    let flat: Vec<Vector2<f64>> = samples
        .iter()
        .map(|s| {
            let r = level * Vector3::from(s.accel);
            Vector2::new(r.x, r.y)
        })
        .collect();
    let mean = flat.iter().sum::<Vector2<f64>>() / flat.len() as f64;
    let covariance = flat
        .iter()
        .map(|v| (v - mean) * (v - mean).transpose())
        .sum::<Matrix2<f64>>();
    let eigen = SymmetricEigen::new(covariance);
    let major = if eigen.eigenvalues[0] >= eigen.eigenvalues[1] {
        0
    } else {
        1
    };
    let mut axis: Vector2<f64> = eigen.eigenvectors.column(major).into();
    if !axis.iter().all(|c| c.is_finite()) || axis.norm() < 1e-9 {
        axis = Vector2::x();
    }
    if let Some(speed) = speed {
        // Choose the sign that makes forward acceleration agree with the change of speed.
        let mut agreement = 0.0;
        for i in 1..flat.len() {
            let dt = times[i] - times[i - 1];
            if dt > 0.0 {
                agreement += (speed[i] - speed[i - 1]) / dt * axis.dot(&(flat[i] - mean));
            }
        }
        if agreement < 0.0 {
            axis = -axis;
        }
    }
    let across = Vector2::new(-axis.y, axis.x);
    for (i, v) in flat.iter().enumerate() {
        forward[i] = axis.dot(v);
        lateral[i] = across.dot(v);
    }
}

/// The mean of `values` over a window of `width` seconds centred on each sample (prefix sums: O(n)).
fn sliding_mean(
    times: &[f64],
    values: impl Iterator<Item = [f64; 3]>,
    width: f64,
) -> Vec<Vector3<f64>> {
    let mut prefix = Vec::with_capacity(times.len() + 1);
    let mut sum = Vector3::zeros();
    prefix.push(sum);
    for value in values {
        sum += Vector3::from(value);
        prefix.push(sum);
    }
    let half = 0.5 * width;
    let (mut low, mut high) = (0, 0);
    let mut means = Vec::with_capacity(times.len());
    for &t in times {
        while times[low] < t - half {
            low += 1;
        }
        while high < times.len() && times[high] <= t + half {
            high += 1;
        }
        means.push((prefix[high] - prefix[low]) / (high - low) as f64);
    }
    means
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 50 Hz trace of a phone at `rotation` in a car that speeds up at 1 m/s² for 5 s, brakes at
    /// 1 m/s² for 5 s, and meets a 5 m/s² vertical jolt at 3 s.
    fn drive(rotation: Rotation3<f64>) -> (Trace, Vec<f64>) {
        let mut samples = Vec::new();
        let mut speeds = Vec::new();
        for i in 0..500 {
            let t = f64::from(i) * 0.02;
            let forward_accel = if t < 5.0 { 1.0 } else { -1.0 };
            let jolt = if (3.0..3.04).contains(&t) { 5.0 } else { 0.0 };
            // Road frame: x forward, y left, z up.
            let road = Vector3::new(forward_accel, 0.0, 9.81 + jolt);
            let device = rotation.inverse() * road;
            samples.push(Sample {
                t,
                position: None,
                speed: None,
                accel: [device.x, device.y, device.z],
                gyro: None,
                hacc: None,
            });
            speeds.push(if t < 5.0 { 10.0 + t } else { 15.0 - (t - 5.0) });
        }
        (Trace::new(samples).unwrap(), speeds)
    }

    #[test]
    fn any_orientation_gives_the_same_road_frame() {
        for (roll, pitch, yaw) in [
            (0.0, 0.0, 0.0),
            (1.2, 0.3, 2.0),
            (3.0, -1.0, -0.7),
            (-1.57, 0.0, 0.4),
        ] {
            let (trace, speeds) = drive(Rotation3::from_euler_angles(roll, pitch, yaw));
            let oriented = orient(&trace, Some(&speeds));
            let peak = oriented.vertical.iter().cloned().fold(f64::MIN, f64::max);
            assert!(
                (peak - 5.0).abs() < 0.6,
                "jolt {peak} at {roll},{pitch},{yaw}"
            );
            let quiet = oriented.vertical[100].abs();
            assert!(quiet < 0.3, "quiet vertical {quiet}");
            // Forward while speeding up, and of the right sign, in the middle of the first phase.
            assert!(
                (oriented.forward[100] - 1.0).abs() < 0.4,
                "forward {}",
                oriented.forward[100]
            );
            assert!(oriented.lateral[100].abs() < 0.4);
        }
    }

    #[test]
    fn a_phone_turned_mid_drive_is_followed() {
        let (first, _) = drive(Rotation3::identity());
        let (second, _) = drive(Rotation3::from_euler_angles(1.5, 0.0, 0.0));
        let mut samples = first.samples().to_vec();
        samples.extend(second.samples().iter().map(|s| Sample {
            t: s.t + 10.0,
            ..*s
        }));
        let oriented = orient(&Trace::new(samples).unwrap(), None);
        // The jolt in the second half (at 13 s) is still seen as vertical.
        let peak = oriented.vertical[640..670]
            .iter()
            .cloned()
            .fold(f64::MIN, f64::max);
        assert!((peak - 5.0).abs() < 0.6, "{peak}");
    }
}
