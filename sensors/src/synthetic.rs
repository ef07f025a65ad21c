//! A model of what an accelerometer feels when a car hits a pothole, for synthetic drives in
//! benchmarks and tests (the detector never uses it).

/// The extra acceleration, m/s², `since_s` seconds after a wheel drops into a pothole:
/// `[vertical, longitudinal]`. The wheel drops (−7), strikes the far edge (+9), the car is jolted
/// backwards (−3 longitudinal) and the body bounces for about a second and a half; zero outside.
pub fn pothole_impact(since_s: f64) -> [f64; 2] {
    let vertical = if (0.0..0.06).contains(&since_s) {
        -7.0
    } else if (0.06..0.12).contains(&since_s) {
        9.0
    } else if (0.12..1.5).contains(&since_s) {
        4.0 * (-(since_s - 0.12) * 2.0).exp() * ((since_s - 0.12) * 9.4).sin()
    } else {
        0.0
    };
    let longitudinal = if (0.06..0.16).contains(&since_s) {
        -3.0
    } else {
        0.0
    };
    [vertical, longitudinal]
}
