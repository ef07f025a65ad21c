//! A polynomial stand-in for the WGS84 → UTM projection over one small box, such as a city.
//!
//! Every position the engine sees lies in one city, and over a box a fraction of a degree wide the
//! projection is extremely smooth: its Taylor term of order k is about 6.4e6 m · hᵏ, h being the box's
//! half-width in radians (0.005 for Hangzhou). A polynomial of low degree in the box's scaled
//! coordinates therefore reproduces the exact series to well under a micrometre, for a few dozen
//! multiplications and none of the series' four transcendental calls.
//!
//! The polynomial is Chebyshev interpolation: the exact projection sampled at Chebyshev nodes, its
//! coefficients taken by discrete cosine sums, the terms above the total degree dropped, and the rest
//! turned into a plain polynomial for Horner's rule. Nothing is trusted on theory alone: each degree
//! is checked against the exact projection on a dense grid over the box, and the smallest that is
//! good enough is kept.

use crate::coord::{Projection, Utm, Wgs84};
use crate::network::BoundingBox;

/// The most a fit may differ from [`Projection::to_utm`], in easting and in northing, metres.
const MAX_ERROR_M: f64 = 1e-6;

/// How much of [`MAX_ERROR_M`] the check grid may use. The grid's points are Chebyshev extrema, and
/// between such points a polynomial of degree n exceeds its largest value on them by at most a factor
/// 1 / cos(nπ / 2m) per axis (Ehlich and Zeller, 1964): 1.04 over two axes for n ≤ 16 and
/// m = [`CHECK_INTERVALS`]. The error of a fit is such a polynomial up to terms of higher degree
/// that are far smaller still, so a tenth of margin covers what the grid cannot see.
const CHECKED_SHARE: f64 = 0.9;

/// The degrees tried, smallest first: 2 suffices for a box of a few hundred metres, 4 for a city
/// (Hangzhou's 0.6° × 0.6° takes 4, 0.01° takes 3), and 12 still holds the bound over 20° × 20°, far
/// more than a grid covers.
const DEGREES: std::ops::RangeInclusive<usize> = 2..=MAX_DEGREE;

/// The largest degree tried.
const MAX_DEGREE: usize = 12;

/// Coefficients of a polynomial of total degree [`MAX_DEGREE`] in two variables.
const MAX_TERMS: usize = terms(MAX_DEGREE);

/// Intervals between the check grid's points along each axis (its points: m + 1 per axis, both
/// edges and all four corners included).
const CHECK_INTERVALS: usize = 128;

/// Pseudo-random points checked besides the grid, for anything the grid's regularity might hide.
const RANDOM_CHECKS: usize = 1024;

/// Calls `$call` with `$degree` bound to the fit's degree as a constant, one arm per degree tried
/// (2 to 11 listed; any other value is `MAX_DEGREE`).
macro_rules! by_degree {
    ($value:expr, $degree:ident => $call:expr) => {
        by_degree!(@arms $value, $degree, $call, 2 3 4 5 6 7 8 9 10 11)
    };
    (@arms $value:expr, $degree:ident, $call:expr, $($each:literal)*) => {
        match $value {
            $($each => {
                const $degree: usize = $each;
                $call
            })*
            _ => {
                const $degree: usize = MAX_DEGREE;
                $call
            }
        }
    };
}

/// The WGS84 → UTM projection of one zone, replaced inside a lat/lon box by a polynomial that agrees
/// with [`Projection::to_utm`] to within 1 µm in easting and in northing, and exact outside it.
///
/// The error bound is measured, not assumed: [`PlaneFit::new`] checks every degree it tries against
/// the exact projection on a 129 × 129 grid of Chebyshev points over the box (edges and corners
/// included) and at 1,024 pseudo-random points, and declines when no degree up to 12 meets it.
#[derive(Debug, Clone)]
pub struct PlaneFit {
    /// The exact projection, for positions outside the box.
    projection: Projection,
    bbox: BoundingBox,
    /// The box's edges, degrees, kept as plain numbers for the test on every position.
    lat_min: f64,
    lat_max: f64,
    lon_min: f64,
    lon_max: f64,
    /// The box's centre and the inverses of its half-widths, degrees: u = (lat − centre) · scale
    /// runs over [-1, 1] inside the box, and likewise v for longitude. Centred so that u and v keep
    /// their full precision.
    lat_centre: f64,
    lat_scale: f64,
    lon_centre: f64,
    lon_scale: f64,
    /// Total degree of the polynomial, in [`DEGREES`].
    degree: usize,
    /// [easting, northing] coefficients of uⁱvʲ, i + j ≤ degree, in the order Horner's rule reads
    /// them: i from `degree` down to 0 and, within each i, j from `degree − i` down to 0. The
    /// terms past `terms(degree)` are zero.
    coefficients: [[f64; 2]; MAX_TERMS],
    /// The largest difference from the exact projection found by the checks, metres.
    max_error_m: f64,
}

impl PlaneFit {
    /// The fit of `projection` over `bbox`, of the smallest degree that agrees with the exact
    /// projection to within 1 µm in both coordinates; `None` if no degree up to 12 does (a box too
    /// large, or too close to a pole or too far from the zone for a polynomial), or if the box has
    /// no width in latitude or longitude.
    pub fn new(projection: &Projection, bbox: &BoundingBox) -> Option<PlaneFit> {
        let (min, max) = (bbox.min(), bbox.max());
        let lat_half_width = (max.lat() - min.lat()) / 2.0;
        let lon_half_width = (max.lon() - min.lon()) / 2.0;
        if !(lat_half_width > 0.0 && lon_half_width > 0.0) {
            return None;
        }
        let mut fit = PlaneFit {
            projection: projection.clone(),
            bbox: *bbox,
            lat_min: min.lat(),
            lat_max: max.lat(),
            lon_min: min.lon(),
            lon_max: max.lon(),
            lat_centre: (min.lat() + max.lat()) / 2.0,
            lat_scale: 1.0 / lat_half_width,
            lon_centre: (min.lon() + max.lon()) / 2.0,
            lon_scale: 1.0 / lon_half_width,
            degree: 0,
            coefficients: [[0.0; 2]; MAX_TERMS],
            max_error_m: f64::INFINITY,
        };
        let checks: Vec<(Wgs84, [f64; 2])> = fit
            .check_positions()
            .map(|position| (position, plane(fit.projection.to_utm(position))))
            .collect();
        if !checks
            .iter()
            .all(|(_, exact)| exact.iter().all(|x| x.is_finite()))
        {
            return None;
        }
        for degree in DEGREES {
            fit.degree = degree;
            fit.coefficients = fit.interpolate(degree)?;
            // A NaN difference must not pass for a small one: `f64::max` would drop it.
            let worst = checks
                .iter()
                .map(|(position, exact)| {
                    let fitted = fit.polynomial_at(*position);
                    (fitted[0] - exact[0])
                        .abs()
                        .max((fitted[1] - exact[1]).abs())
                })
                .fold(0.0, |worst: f64, error| {
                    if error > worst || error.is_nan() {
                        error
                    } else {
                        worst
                    }
                });
            if worst <= CHECKED_SHARE * MAX_ERROR_M {
                fit.max_error_m = worst;
                return Some(fit);
            }
        }
        None
    }

    /// The box in which the polynomial answers.
    pub fn bbox(&self) -> BoundingBox {
        self.bbox
    }

    /// The polynomial's total degree (2–12).
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The largest difference from [`Projection::to_utm`] that the checks found, in easting or
    /// northing, metres (at most 1 µm).
    pub fn max_error_m(&self) -> f64 {
        self.max_error_m
    }

    /// A position on the zone's plane, `[easting, northing]` in metres: by the polynomial inside the
    /// box, by [`Projection::to_utm`] itself (to the bit) outside it.
    pub fn to_plane(&self, position: Wgs84) -> [f64; 2] {
        by_degree!(self.degree, DEGREE => self.to_plane_of_degree::<DEGREE>(position))
    }

    /// Many positions on the zone's plane; the same as [`to_plane`](Self::to_plane) on each, with the
    /// degree dispatched once for the whole slice.
    pub fn to_plane_all(&self, positions: &[Wgs84]) -> Vec<[f64; 2]> {
        by_degree!(self.degree, DEGREE => positions
            .iter()
            .map(|&position| self.to_plane_of_degree::<DEGREE>(position))
            .collect())
    }

    /// [`to_plane`](Self::to_plane) with the degree known to the compiler, so that Horner's loops
    /// unroll and the coefficients' indices need no checks.
    #[inline(always)]
    fn to_plane_of_degree<const DEGREE: usize>(&self, position: Wgs84) -> [f64; 2] {
        let (lat, lon) = (position.lat(), position.lon());
        if self.lat_min <= lat && lat <= self.lat_max && self.lon_min <= lon && lon <= self.lon_max
        {
            let (u, v) = self.scaled(position);
            horner::<DEGREE>(&self.coefficients, u, v)
        } else {
            self.exact(position)
        }
    }

    /// The exact projection, kept out of line: positions outside the box are rare, and the batch
    /// loop stays small without it.
    #[inline(never)]
    fn exact(&self, position: Wgs84) -> [f64; 2] {
        plane(self.projection.to_utm(position))
    }

    /// The polynomial at a position, inside the box or not (for the checks).
    fn polynomial_at(&self, position: Wgs84) -> [f64; 2] {
        let (u, v) = self.scaled(position);
        by_degree!(self.degree, DEGREE => horner::<DEGREE>(&self.coefficients, u, v))
    }

    /// The box's scaled coordinates of a position: (u, v) in [-1, 1]² inside the box.
    #[inline(always)]
    fn scaled(&self, position: Wgs84) -> (f64, f64) {
        (
            (position.lat() - self.lat_centre) * self.lat_scale,
            (position.lon() - self.lon_centre) * self.lon_scale,
        )
    }

    /// The position at scaled coordinates (u, v) in [-1, 1]², held inside the box against rounding.
    fn position_at(&self, u: f64, v: f64) -> Wgs84 {
        let lat = (self.lat_centre + u / self.lat_scale).clamp(self.lat_min, self.lat_max);
        let lon = (self.lon_centre + v / self.lon_scale).clamp(self.lon_min, self.lon_max);
        Wgs84::new(lat, lon).expect("a point of a checked box is a valid position")
    }

    /// The check positions: the grid of Chebyshev extrema (both edges and the corners among them),
    /// then pseudo-random points from a fixed seed, so that a fit is the same on every run.
    fn check_positions(&self) -> impl Iterator<Item = Wgs84> + '_ {
        let extremum = |k: usize| (k as f64 * std::f64::consts::PI / CHECK_INTERVALS as f64).cos();
        let grid = (0..=CHECK_INTERVALS).flat_map(move |i| {
            (0..=CHECK_INTERVALS).map(move |j| self.position_at(extremum(i), extremum(j)))
        });
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut uniform = move || {
            // xorshift64*: plenty for spreading a thousand points.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            bits as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let random = (0..RANDOM_CHECKS).map(move |_| {
            let u = uniform();
            let v = uniform();
            self.position_at(u, v)
        });
        grid.chain(random)
    }

    /// The coefficients of the interpolating polynomial of total degree `degree`, in Horner's order;
    /// `None` if the projection is not finite at a node.
    fn interpolate(&self, degree: usize) -> Option<[[f64; 2]; MAX_TERMS]> {
        // The first-kind Chebyshev nodes xᵢ = cos θᵢ, θᵢ = π (i + ½) / n, with n = degree + 1 per axis.
        let n = degree + 1;
        let angle = |i: usize| std::f64::consts::PI * (i as f64 + 0.5) / n as f64;
        // The value at the centre is taken out before summing, so that the sums add up tens of
        // kilometres rather than thousands, and keep three more digits.
        let centre = plane(self.projection.to_utm(self.position_at(0.0, 0.0)));
        let mut samples = vec![[0.0; 2]; n * n];
        for i in 0..n {
            for j in 0..n {
                let position = self.position_at(angle(i).cos(), angle(j).cos());
                let exact = plane(self.projection.to_utm(position));
                if !exact.iter().all(|x| x.is_finite()) {
                    return None;
                }
                samples[i * n + j] = [exact[0] - centre[0], exact[1] - centre[1]];
            }
        }

        // cₖₗ = (2/n)² Σᵢ Σⱼ f(xᵢ, yⱼ) cos kθᵢ cos lθⱼ, halved once for k = 0 and once for l = 0;
        // then f ≈ Σ cₖₗ Tₖ(u) Tₗ(v) over k + l ≤ degree. The sums run over j first, then i.
        let cosines: Vec<f64> = (0..n * n)
            .map(|index| ((index / n) as f64 * angle(index % n)).cos())
            .collect();
        let cosine = |k: usize, i: usize| cosines[k * n + i];
        let weight = |k: usize| {
            if k == 0 {
                1.0 / n as f64
            } else {
                2.0 / n as f64
            }
        };
        let mut over_j = vec![[0.0; 2]; n * n];
        for i in 0..n {
            for l in 0..n {
                let mut sum = [0.0; 2];
                for j in 0..n {
                    let sample = samples[i * n + j];
                    sum[0] += sample[0] * cosine(l, j);
                    sum[1] += sample[1] * cosine(l, j);
                }
                over_j[i * n + l] = sum.map(|s| s * weight(l));
            }
        }
        let mut chebyshev = vec![[0.0; 2]; n * n];
        for k in 0..n {
            for l in 0..n - k {
                let mut sum = [0.0; 2];
                for i in 0..n {
                    let partial = over_j[i * n + l];
                    sum[0] += partial[0] * cosine(k, i);
                    sum[1] += partial[1] * cosine(k, i);
                }
                chebyshev[k * n + l] = sum.map(|s| s * weight(k));
            }
        }

        // Tₖ(x) = Σₘ tₖₘ xᵐ, from T₀ = 1, T₁ = x, Tₖ₊₁ = 2x Tₖ − Tₖ₋₁ (integers, exact in f64).
        let mut power_coefficients = vec![0.0; n * n];
        power_coefficients[0] = 1.0;
        if n > 1 {
            power_coefficients[n + 1] = 1.0;
        }
        for k in 2..n {
            for m in 0..=k {
                let twice_x_times = if m > 0 {
                    2.0 * power_coefficients[(k - 1) * n + m - 1]
                } else {
                    0.0
                };
                power_coefficients[k * n + m] = twice_x_times - power_coefficients[(k - 2) * n + m];
            }
        }
        let t = |k: usize, m: usize| power_coefficients[k * n + m];

        // aᵢⱼ = Σ cₖₗ tₖᵢ tₗⱼ over k ≥ i, l ≥ j, k + l ≤ degree, stored in Horner's order.
        let mut coefficients = [[0.0; 2]; MAX_TERMS];
        let mut next = 0;
        for i in (0..=degree).rev() {
            for j in (0..=degree - i).rev() {
                let mut sum = [0.0; 2];
                for k in i..=degree - j {
                    for l in j..=degree - k {
                        let c = chebyshev[k * n + l];
                        let product = t(k, i) * t(l, j);
                        sum[0] += c[0] * product;
                        sum[1] += c[1] * product;
                    }
                }
                coefficients[next] = sum;
                next += 1;
            }
        }
        // Horner's last step adds the constant term: the centre goes back in there.
        let constant = &mut coefficients[next - 1];
        constant[0] += centre[0];
        constant[1] += centre[1];
        Some(coefficients)
    }
}

/// Σ aᵢⱼ uⁱvʲ over i + j ≤ `DEGREE`, for easting and northing at once: Horner's rule in v for each
/// power of u (those are independent, so they overlap), then in u.
#[inline(always)]
fn horner<const DEGREE: usize>(coefficients: &[[f64; 2]; MAX_TERMS], u: f64, v: f64) -> [f64; 2] {
    let mut next = 0;
    let mut sum = [0.0; 2];
    for i in (0..=DEGREE).rev() {
        let mut row = coefficients[next];
        next += 1;
        for _ in i..DEGREE {
            let c = coefficients[next];
            row = [row[0] * v + c[0], row[1] * v + c[1]];
            next += 1;
        }
        sum = [sum[0] * u + row[0], sum[1] * u + row[1]];
    }
    sum
}

/// How many coefficients a polynomial of total degree `degree` in two variables has.
const fn terms(degree: usize) -> usize {
    (degree + 1) * (degree + 2) / 2
}

fn plane(utm: Utm) -> [f64; 2] {
    [utm.easting, utm.northing]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coord::UtmZone;

    fn bbox(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64) -> BoundingBox {
        BoundingBox::new(
            Wgs84::new(min_lat, min_lon).unwrap(),
            Wgs84::new(max_lat, max_lon).unwrap(),
        )
        .unwrap()
    }

    fn fit(zone: &str, bbox: &BoundingBox) -> (Projection, Option<PlaneFit>) {
        let projection = Projection::new(zone.parse().unwrap());
        let fit = PlaneFit::new(&projection, bbox);
        (projection, fit)
    }

    /// The worst difference between the fit and the exact projection, in either coordinate, on an
    /// evenly spaced lattice of `steps + 1` points a side: other points than the fit's own checks.
    fn worst_on_lattice(projection: &Projection, fit: &PlaneFit, steps: usize) -> f64 {
        let (min, max) = (fit.bbox().min(), fit.bbox().max());
        let mut worst: f64 = 0.0;
        for i in 0..=steps {
            for j in 0..=steps {
                let t = |k: usize| k as f64 / steps as f64;
                let lat = min.lat() + (max.lat() - min.lat()) * t(i);
                let lon = min.lon() + (max.lon() - min.lon()) * t(j);
                let position = Wgs84::new(lat.min(max.lat()), lon.min(max.lon())).unwrap();
                let fitted = fit.to_plane(position);
                let exact = projection.to_utm(position);
                let error = (fitted[0] - exact.easting)
                    .abs()
                    .max((fitted[1] - exact.northing).abs());
                assert!(!error.is_nan(), "NaN at {position:?}");
                worst = worst.max(error);
            }
        }
        worst
    }

    /// Checks the degree a box gets and that the fit holds on points it was not checked on.
    fn check(zone: &str, bbox: BoundingBox, degree: usize) -> PlaneFit {
        let (projection, fit) = fit(zone, &bbox);
        let fit = fit.unwrap_or_else(|| panic!("no fit for {bbox:?} in {zone}"));
        assert_eq!(fit.degree(), degree, "{bbox:?} in {zone}");
        assert!(fit.max_error_m() <= MAX_ERROR_M, "{}", fit.max_error_m());
        let worst = worst_on_lattice(&projection, &fit, 300);
        assert!(worst <= MAX_ERROR_M, "{worst:e} m on the lattice");
        fit
    }

    #[test]
    fn a_hangzhou_sized_box_takes_degree_4() {
        // 0.6° × 0.6°: 67 km × 58 km. Degree 3 misses by 0.6 mm.
        let fit = check("51N", bbox(30.0, 119.9, 30.6, 120.5), 4);
        assert!(fit.max_error_m() > 1e-7, "{:e}", fit.max_error_m());
    }

    #[test]
    fn the_shipped_grids_box_takes_degree_4_to_nanometres() {
        // The shipped network's extent and RoadGrid's margin of 0.02°. Degree 3 misses by 9 µm.
        let fit = check("51N", bbox(30.214, 120.004, 30.395, 120.255), 4);
        assert!(fit.max_error_m() < 1e-8, "{:e}", fit.max_error_m());
    }

    #[test]
    fn a_small_box_takes_degree_3() {
        // 0.01° a side, about 1 km: what is left is the exact series' own rounding.
        let fit = check("51N", bbox(30.27, 120.16, 30.28, 120.17), 3);
        assert!(fit.max_error_m() < 1e-8, "{:e}", fit.max_error_m());
    }

    #[test]
    fn hard_boxes_take_a_higher_degree_and_still_hold() {
        // At 70° north the meridians converge fast.
        check("33N", bbox(69.5, 14.5, 70.5, 15.5), 5);
        // Across the edge between zones 50 and 51 (120° E), projected to either.
        check("51N", bbox(30.0, 119.5, 30.6, 120.5), 5);
        check("50N", bbox(30.0, 119.5, 30.6, 120.5), 5);
        // A polar cap, where the exact series' derivatives grow.
        check("51N", bbox(89.0, 119.0, 90.0, 121.0), 5);
        // 2° × 2°, far more than a city.
        check("51N", bbox(29.0, 119.0, 31.0, 121.0), 6);
        // Southern hemisphere, false northing and all.
        check("56S", bbox(-34.2, 150.6, -33.6, 151.4), 5);
        // 20° × 20°: the largest degree tried still holds a micrometre here.
        check("51N", bbox(20.0, 110.0, 40.0, 130.0), 12);
    }

    #[test]
    fn boxes_no_polynomial_can_fit_are_declined() {
        for (zone, bbox) in [
            ("51N", bbox(-90.0, -180.0, 90.0, 180.0)),
            ("51N", bbox(0.0, 100.0, 60.0, 170.0)),
            ("51N", bbox(10.0, 105.0, 50.0, 140.0)),
        ] {
            let (_, fit) = fit(zone, &bbox);
            assert!(
                fit.is_none(),
                "{bbox:?}: degree {:?}",
                fit.map(|f| f.degree())
            );
        }
    }

    #[test]
    fn boxes_without_width_are_declined() {
        assert!(fit("51N", &bbox(30.2, 120.1, 30.2, 120.2)).1.is_none());
        assert!(fit("51N", &bbox(30.2, 120.1, 30.3, 120.1)).1.is_none());
    }

    #[test]
    fn just_outside_the_box_the_answer_is_the_exact_one() {
        let (projection, fit) = fit("51N", &bbox(30.0, 119.9, 30.6, 120.5));
        let fit = fit.unwrap();
        for (lat, lon) in [
            (30.6f64.next_up(), 120.2),
            (30.0f64.next_down(), 120.2),
            (30.3, 120.5f64.next_up()),
            (30.3, 119.9f64.next_down()),
            (30.6f64.next_up(), 120.5f64.next_up()),
        ] {
            let position = Wgs84::new(lat, lon).unwrap();
            let exact = projection.to_utm(position);
            assert_eq!(
                fit.to_plane(position).map(f64::to_bits),
                [exact.easting.to_bits(), exact.northing.to_bits()]
            );
        }
    }

    /// A box somewhere in a zone: its south-west corner and its size, in degrees.
    fn any_box() -> impl Strategy<Value = (UtmZone, BoundingBox)> {
        (
            1u8..=60,
            -80.0..80.0f64,
            -4.0..3.5f64,
            0.001..1.5f64,
            0.001..1.5f64,
        )
            .prop_map(|(number, lat, offset, height, width)| {
                let zone = UtmZone::new(number, lat >= 0.0).unwrap();
                let lon = (zone.central_meridian() + offset).clamp(-180.0, 179.0);
                let lat_max = (lat + height).min(90.0);
                (zone, bbox(lat, lon, lat_max, (lon + width).min(180.0)))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_box_is_fitted_within_a_micrometre_or_declined(
            (zone, bbox) in any_box(),
            points in prop::collection::vec((0.0..=1.0f64, 0.0..=1.0f64), 200),
        ) {
            let projection = Projection::new(zone);
            if let Some(fit) = PlaneFit::new(&projection, &bbox) {
                let (min, max) = (bbox.min(), bbox.max());
                for (s, t) in points {
                    let lat = (min.lat() + (max.lat() - min.lat()) * s).min(max.lat());
                    let lon = (min.lon() + (max.lon() - min.lon()) * t).min(max.lon());
                    let position = Wgs84::new(lat, lon).unwrap();
                    let fitted = fit.to_plane(position);
                    let exact = projection.to_utm(position);
                    prop_assert!((fitted[0] - exact.easting).abs() <= MAX_ERROR_M, "{position:?}");
                    prop_assert!((fitted[1] - exact.northing).abs() <= MAX_ERROR_M, "{position:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn inside_a_city_box_the_fit_is_within_a_micrometre(
            lat in 30.0..=30.6f64,
            lon in 119.9..=120.5f64,
        ) {
            let (projection, fit) = city();
            let position = Wgs84::new(lat, lon).unwrap();
            let fitted = fit.to_plane(position);
            let exact = projection.to_utm(position);
            prop_assert!((fitted[0] - exact.easting).abs() <= MAX_ERROR_M);
            prop_assert!((fitted[1] - exact.northing).abs() <= MAX_ERROR_M);
        }

        #[test]
        fn outside_the_box_the_answer_is_exact_to_the_bit(
            lat in -90.0..=90.0f64,
            lon in -180.0..=180.0f64,
        ) {
            let (projection, fit) = city();
            let position = Wgs84::new(lat, lon).unwrap();
            prop_assume!(!fit.bbox().contains(position));
            let exact = projection.to_utm(position);
            prop_assert_eq!(
                fit.to_plane(position).map(f64::to_bits),
                [exact.easting.to_bits(), exact.northing.to_bits()]
            );
        }

        #[test]
        fn a_batch_is_the_points_one_by_one(
            positions in prop::collection::vec((29.9..=30.7f64, 119.8..=120.6f64), 0..50),
        ) {
            let (_, fit) = city();
            let positions: Vec<Wgs84> =
                positions.into_iter().map(|(lat, lon)| Wgs84::new(lat, lon).unwrap()).collect();
            let one_by_one: Vec<[u64; 2]> =
                positions.iter().map(|&p| fit.to_plane(p).map(f64::to_bits)).collect();
            let batch: Vec<[u64; 2]> =
                fit.to_plane_all(&positions).into_iter().map(|p| p.map(f64::to_bits)).collect();
            prop_assert_eq!(batch, one_by_one);
        }
    }

    /// The Hangzhou-sized box's fit, made once for all the cases that use it.
    fn city() -> &'static (Projection, PlaneFit) {
        static CITY: std::sync::OnceLock<(Projection, PlaneFit)> = std::sync::OnceLock::new();
        CITY.get_or_init(|| {
            let (projection, fit) = fit("51N", &bbox(30.0, 119.9, 30.6, 120.5));
            (projection, fit.unwrap())
        })
    }
}
