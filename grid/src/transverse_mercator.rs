//! The transverse Mercator projection of an ellipsoid by Krüger's series to sixth order in the third
//! flattening n, as written by Karney (2011), "Transverse Mercator with an accuracy of a few
//! nanometers", J. Geodesy 85(8), §4 (forward) and §5 (inverse). PROJ's `tmerc` (its default for
//! `+proj=utm`) and the `geodesy` crate use the same series; within a UTM zone the truncation error is
//! a few nanometres.
//!
//! The map goes in two steps:
//! 1. the ellipsoid → the sphere, conformally: geographic latitude φ → conformal latitude χ;
//! 2. the sphere → the plane: the spherical transverse Mercator ζ' = ξ' + iη', then Krüger's series
//!    ζ = ζ' + Σ αⱼ sin 2jζ' (complex ζ) bends it into the ellipsoidal one, and the plane coordinates
//!    are k₀·A·(η, ξ), A being the rectifying radius.
//!
//! The inverse runs the same steps backwards with the β series. Every quantity that depends only on
//! the ellipsoid is computed once in [`TransverseMercator::new`]; a point then costs two `sin_cos`,
//! one `atan`, one `atanh` and about fifty multiplications forward.

use std::ops::{Add, Mul, Sub};

/// The number of terms kept in every series: all of them are truncated after n⁶.
const ORDER: usize = 6;

/// The coefficients of one series as polynomials in n: row j − 1 holds the coefficients of n¹ … n⁶
/// in the j-th coefficient.
type SeriesInN = [[f64; ORDER]; ORDER];

/// αⱼ of ζ = ζ' + Σ αⱼ sin 2jζ' (Karney 2011, §4; the table of PROJ's and geodesy's `tmerc`).
#[rustfmt::skip]
const ALPHA: SeriesInN = [
    [1. / 2., -2. / 3., 5. / 16., 41. / 180., -127. / 288., 7891. / 37800.],
    [0., 13. / 48., -3. / 5., 557. / 1440., 281. / 630., -1983433. / 1935360.],
    [0., 0., 61. / 240., -103. / 140., 15061. / 26880., 167603. / 181440.],
    [0., 0., 0., 49561. / 161280., -179. / 168., 6601661. / 7257600.],
    [0., 0., 0., 0., 34729. / 80640., -3418889. / 1995840.],
    [0., 0., 0., 0., 0., 212378941. / 319334400.],
];

/// βⱼ of ζ' = ζ − Σ βⱼ sin 2jζ (Karney 2011, §4).
#[rustfmt::skip]
const BETA: SeriesInN = [
    [1. / 2., -2. / 3., 37. / 96., -1. / 360., -81. / 512., 96199. / 604800.],
    [0., 1. / 48., 1. / 15., -437. / 1440., 46. / 105., -1118711. / 3870720.],
    [0., 0., 17. / 480., -37. / 840., -209. / 4480., 5569. / 90720.],
    [0., 0., 0., 4397. / 161280., -11. / 504., -830251. / 7257600.],
    [0., 0., 0., 0., 4583. / 161280., -108847. / 3991680.],
    [0., 0., 0., 0., 0., 20648693. / 638668800.],
];

/// cⱼ of χ = φ + Σ cⱼ sin 2jφ, geographic to conformal latitude (Karney 2023, "On auxiliary
/// latitudes", eq. A11; PROJ's `cbg`). Karney 2011 writes this step with exact hyperbolic functions
/// (an `atanh` and a `sinh`); the series is as accurate at this order and needs no
/// transcendental call beyond the `sin_cos` of φ.
#[rustfmt::skip]
const TO_CONFORMAL: SeriesInN = [
    [-2., 2. / 3., 4. / 3., -82. / 45., 32. / 45., 4642. / 4725.],
    [0., 5. / 3., -16. / 15., -13. / 9., 904. / 315., -1522. / 945.],
    [0., 0., -26. / 15., 34. / 21., 8. / 5., -12686. / 2835.],
    [0., 0., 0., 1237. / 630., -12. / 5., -24832. / 14175.],
    [0., 0., 0., 0., -734. / 315., 109598. / 31185.],
    [0., 0., 0., 0., 0., 444337. / 155925.],
];

/// dⱼ of φ = χ + Σ dⱼ sin 2jχ, conformal to geographic latitude (Karney 2023, eq. A12; PROJ's
/// `cgb`). It replaces Karney 2011's Newton iteration with no loss at this order.
#[rustfmt::skip]
const FROM_CONFORMAL: SeriesInN = [
    [2., -2. / 3., -2., 116. / 45., 26. / 45., -2854. / 675.],
    [0., 7. / 3., -8. / 5., -227. / 45., 2704. / 315., 2323. / 945.],
    [0., 0., 56. / 15., -136. / 35., -1262. / 105., 73814. / 2835.],
    [0., 0., 0., 4279. / 630., -332. / 35., -399572. / 14175.],
    [0., 0., 0., 0., 4174. / 315., -144838. / 6237.],
    [0., 0., 0., 0., 0., 601676. / 22275.],
];

/// A transverse Mercator projection of one ellipsoid with one scale on the central meridian.
/// Coordinates are relative to the central meridian and the equator; false easting and northing
/// are the caller's.
#[derive(Debug, Clone)]
pub(crate) struct TransverseMercator {
    /// k₀·A: metres on the plane per unit of ξ and η (A: the rectifying radius).
    scaled_rectifying_radius: f64,
    /// Σ αⱼ sin 2jζ' for this ellipsoid's n.
    alpha: SinSeries,
    /// Σ βⱼ sin 2jζ.
    beta: SinSeries,
    /// Σ cⱼ sin 2jφ: geographic → conformal latitude.
    to_conformal: SinSeries,
    /// Σ dⱼ sin 2jχ: conformal → geographic latitude.
    from_conformal: SinSeries,
}

impl TransverseMercator {
    /// The projection of the ellipsoid with this semi-major axis (metres) and flattening, with
    /// scale `central_scale` (k₀) on the central meridian.
    pub(crate) fn new(
        semi_major_axis: f64,
        flattening: f64,
        central_scale: f64,
    ) -> TransverseMercator {
        // The series converge fast in the third flattening n (1/594 for WGS84).
        let n = flattening / (2.0 - flattening);
        let n2 = n * n;
        // The rectifying radius A = a / (1 + n) · (1 + n²/4 + n⁴/64 + n⁶/256 + …) (Karney 2011, §4).
        let rectifying_radius =
            semi_major_axis / (1.0 + n) * (1.0 + n2 * (1.0 / 4.0 + n2 * (1.0 / 64.0 + n2 / 256.0)));
        TransverseMercator {
            scaled_rectifying_radius: central_scale * rectifying_radius,
            alpha: SinSeries::new(&ALPHA, n),
            beta: SinSeries::new(&BETA, n),
            to_conformal: SinSeries::new(&TO_CONFORMAL, n),
            from_conformal: SinSeries::new(&FROM_CONFORMAL, n),
        }
    }

    /// Projects latitude φ and longitude λ from the central meridian (both in radians) to
    /// `(x, y)` in metres: x east of the central meridian, y north of the equator.
    pub(crate) fn forward(&self, latitude: f64, longitude: f64) -> (f64, f64) {
        // 1. Geographic latitude φ → conformal latitude χ = φ + δ.
        let (sin_phi, cos_phi) = latitude.sin_cos();
        let (sin_2phi, cos_2phi) = (2.0 * sin_phi * cos_phi, 1.0 - 2.0 * sin_phi * sin_phi);
        let delta = self.to_conformal.sum(sin_2phi, cos_2phi);
        // |δ| < 0.0068 rad on WGS84, so a few terms of sin δ and cos δ's Taylor series are exact to
        // the last bit (the first terms left out are δ⁷/7! < 2e-19 and δ⁸/8! < 2e-22), and the angle
        // sum gives sin χ and cos χ without another call to `sin_cos`.
        let delta2 = delta * delta;
        let sin_delta = delta * (1.0 - delta2 * (1.0 / 6.0) * (1.0 - delta2 * (1.0 / 20.0)));
        let cos_delta =
            1.0 - delta2 * 0.5 * (1.0 - delta2 * (1.0 / 12.0) * (1.0 - delta2 * (1.0 / 30.0)));
        let sin_chi = sin_phi * cos_delta + cos_phi * sin_delta;
        let cos_chi = cos_phi * cos_delta - sin_phi * sin_delta;

        // 2. The spherical transverse Mercator of the conformal sphere:
        //    ξ' = atan2(sin χ, cos χ cos λ), η' = atanh(cos χ sin λ).
        let (sin_lambda, cos_lambda) = longitude.sin_cos();
        let cos_chi_cos_lambda = cos_chi * cos_lambda;
        let cos_chi_sin_lambda = cos_chi * sin_lambda;
        // atan of the quotient costs half as much as glibc's atan2 and is the same angle whenever
        // cos χ cos λ > 0, that is within 90° of the central meridian, where every UTM point lies.
        let xi_prime = if cos_chi_cos_lambda > 0.0 {
            (sin_chi / cos_chi_cos_lambda).atan()
        } else {
            sin_chi.atan2(cos_chi_cos_lambda)
        };
        let eta_prime = cos_chi_sin_lambda.atanh();

        // 3. Krüger's series needs sin, cos 2ξ' and sinh, cosh 2η'. They follow from the quantities
        //    above without more transcendental calls: with r² = sin²χ + cos²χ cos²λ,
        //    sin ξ' = sin χ / r, cos ξ' = cos χ cos λ / r, sinh η' = cos χ sin λ / r, cosh η' = 1 / r.
        let inverse_r2 = 1.0 / (sin_chi * sin_chi + cos_chi_cos_lambda * cos_chi_cos_lambda);
        let sin_2xi_prime = 2.0 * sin_chi * cos_chi_cos_lambda * inverse_r2;
        let cos_2xi_prime =
            (cos_chi_cos_lambda * cos_chi_cos_lambda - sin_chi * sin_chi) * inverse_r2;
        let sinh_2eta_prime = 2.0 * cos_chi_sin_lambda * inverse_r2;
        let cosh_2eta_prime = (1.0 + cos_chi_sin_lambda * cos_chi_sin_lambda) * inverse_r2;
        let (sin_2zeta_prime, cos_2zeta_prime) = sin_cos_of_complex(
            sin_2xi_prime,
            cos_2xi_prime,
            sinh_2eta_prime,
            cosh_2eta_prime,
        );
        let correction = self.alpha.sum_complex(sin_2zeta_prime, cos_2zeta_prime);
        let zeta = Complex {
            re: xi_prime,
            im: eta_prime,
        } + correction;

        // 4. ζ = ξ + iη → metres.
        (
            self.scaled_rectifying_radius * zeta.im,
            self.scaled_rectifying_radius * zeta.re,
        )
    }

    /// The inverse of [`forward`](Self::forward): `(x, y)` in metres from the central meridian and
    /// the equator → latitude and longitude from the central meridian, in radians.
    pub(crate) fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        // 1. Metres → ζ = ξ + iη, then ζ' = ζ − Σ βⱼ sin 2jζ.
        let xi = y / self.scaled_rectifying_radius;
        let eta = x / self.scaled_rectifying_radius;
        let (sin_2xi, cos_2xi) = (2.0 * xi).sin_cos();
        let (sinh_2eta, cosh_2eta) = ((2.0 * eta).sinh(), (2.0 * eta).cosh());
        let (sin_2zeta, cos_2zeta) = sin_cos_of_complex(sin_2xi, cos_2xi, sinh_2eta, cosh_2eta);
        let correction = self.beta.sum_complex(sin_2zeta, cos_2zeta);
        let zeta_prime = Complex { re: xi, im: eta } - correction;

        // 2. The inverse spherical transverse Mercator:
        //    χ = atan2(sin ξ', √(sinh²η' + cos²ξ')), λ = atan2(sinh η', cos ξ').
        let (sin_xi_prime, cos_xi_prime) = zeta_prime.re.sin_cos();
        let sinh_eta_prime = zeta_prime.im.sinh();
        let q = sinh_eta_prime.hypot(cos_xi_prime);
        let chi = sin_xi_prime.atan2(q);
        let longitude = sinh_eta_prime.atan2(cos_xi_prime);

        // 3. Conformal latitude χ → geographic latitude φ. sin 2χ and cos 2χ follow from the
        //    quantities above: sin χ = sin ξ' / cosh η', cos χ = q / cosh η'.
        let cosh2_eta_prime = 1.0 + sinh_eta_prime * sinh_eta_prime;
        let sin_2chi = 2.0 * sin_xi_prime * q / cosh2_eta_prime;
        let cos_2chi = (q * q - sin_xi_prime * sin_xi_prime) / cosh2_eta_prime;
        let latitude = chi + self.from_conformal.sum(sin_2chi, cos_2chi);
        (latitude, longitude)
    }
}

/// A series Σⱼ₌₁…₆ cⱼ sin 2jθ, kept in the form sin 2θ · P(cos 2θ), P a polynomial of degree 5.
///
/// The form follows from sin 2jθ = sin 2θ · Uⱼ₋₁(cos 2θ), Uₖ being Chebyshev's polynomials of the
/// second kind, and holds for complex θ as well. It replaces Clenshaw's summation, whose six steps
/// each wait for the one before: Estrin's scheme evaluates P in three, and the forward projection,
/// which is mostly such waiting, is about an eighth faster. The coefficients of P are at most 32 cⱼ,
/// and cⱼ shrinks like nʲ, so the expansion loses nothing measurable.
#[derive(Debug, Clone)]
struct SinSeries {
    /// P's coefficients, constant term first.
    polynomial: [f64; ORDER],
}

impl SinSeries {
    /// The series whose coefficients are given as polynomials in n, for this n.
    fn new(series: &SeriesInN, n: f64) -> SinSeries {
        // cⱼ = n (row₀ + n (row₁ + …)), by Horner's rule.
        let c = series.map(|powers| n * powers.iter().rev().fold(0.0, |sum, &p| sum * n + p));
        // Σ cⱼ Uⱼ₋₁(x) with U₀ = 1, U₁ = 2x, U₂ = 4x² − 1, U₃ = 8x³ − 4x, U₄ = 16x⁴ − 12x² + 1,
        // U₅ = 32x⁵ − 32x³ + 6x, gathered by powers of x.
        SinSeries {
            polynomial: [
                c[0] - c[2] + c[4],
                2.0 * c[1] - 4.0 * c[3] + 6.0 * c[5],
                4.0 * c[2] - 12.0 * c[4],
                8.0 * c[3] - 32.0 * c[5],
                16.0 * c[4],
                32.0 * c[5],
            ],
        }
    }

    /// Σⱼ cⱼ sin 2jθ from sin 2θ and cos 2θ.
    fn sum(&self, sin_2theta: f64, cos_2theta: f64) -> f64 {
        let p = &self.polynomial;
        let x = cos_2theta;
        let x2 = x * x;
        let x4 = x2 * x2;
        // Estrin's scheme: the three pairs and the powers of x are independent of each other.
        let polynomial = (p[0] + p[1] * x) + x2 * (p[2] + p[3] * x) + x4 * (p[4] + p[5] * x);
        sin_2theta * polynomial
    }

    /// Σⱼ cⱼ sin 2jζ for a complex angle ζ, from sin 2ζ and cos 2ζ.
    fn sum_complex(&self, sin_2zeta: Complex, cos_2zeta: Complex) -> Complex {
        let p = &self.polynomial;
        let x = cos_2zeta;
        let x2 = x * x;
        let x4 = x2 * x2;
        // a + b x for real a and b.
        let pair = |a: f64, b: f64| Complex {
            re: a + b * x.re,
            im: b * x.im,
        };
        let polynomial = pair(p[0], p[1]) + x2 * pair(p[2], p[3]) + x4 * pair(p[4], p[5]);
        sin_2zeta * polynomial
    }
}

/// sin and cos of the complex angle 2ξ + 2iη from the real and hyperbolic parts:
/// sin(x + iy) = sin x cosh y + i cos x sinh y, cos(x + iy) = cos x cosh y − i sin x sinh y.
fn sin_cos_of_complex(sin_x: f64, cos_x: f64, sinh_y: f64, cosh_y: f64) -> (Complex, Complex) {
    (
        Complex {
            re: sin_x * cosh_y,
            im: cos_x * sinh_y,
        },
        Complex {
            re: cos_x * cosh_y,
            im: -sin_x * sinh_y,
        },
    )
}

/// Just enough complex arithmetic for Clenshaw's summation over ζ = ξ + iη.
#[derive(Debug, Clone, Copy)]
struct Complex {
    re: f64,
    im: f64,
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, other: Complex) -> Complex {
        Complex {
            re: self.re + other.re,
            im: self.im + other.im,
        }
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, other: Complex) -> Complex {
        Complex {
            re: self.re - other.re,
            im: self.im - other.im,
        }
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, other: Complex) -> Complex {
        Complex {
            re: self.re * other.re - self.im * other.im,
            im: self.re * other.im + self.im * other.re,
        }
    }
}
