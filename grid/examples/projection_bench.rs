//! Times the WGS84 → UTM projection per point, single (`Projection::to_utm`) and batch
//! (`Projection::to_utm_all`), and the inverse (`Projection::to_wgs84`), against the `geodesy` crate
//! used the way `grid` used it before (a `Minimal` context and a `utm zone=51` operator) as the
//! baseline in the same run; and the polynomial fit of the projection over the lattice's box
//! (`PlaneFit::to_plane`, `PlaneFit::to_plane_all`) that the grid answers with. Positions: a
//! 1,000 × 1,000 lattice of 10 m steps over Hangzhou (51N).
//!
//! ```sh
//! cargo run --release -p grid --example projection_bench
//! ```
//!
//! Prints the median of 15 rounds of each figure, in ns per point, the worst difference between the
//! implementations over the lattice, and the fit's degree, checked error and build time.

use std::hint::black_box;
use std::time::Instant;

use grid::{BoundingBox, PlaneFit, Projection, Utm, UtmZone, Wgs84};

#[path = "../tests/support/geodesy_utm.rs"]
mod geodesy_utm;
use geodesy_utm::GeodesyUtm;

const ROUNDS: usize = 15;
const SINGLE_POINTS: usize = 200_000;

fn main() {
    let zone = UtmZone::new(51, true).expect("51 is a zone");
    let projection = Projection::new(zone);
    let baseline = GeodesyUtm::new(zone);
    let positions: Vec<Wgs84> = (0..1_000_000)
        .map(|i| {
            Wgs84::new(
                30.2 + (i % 1000) as f64 * 1e-4,
                120.1 + (i / 1000) as f64 * 1e-4,
            )
            .expect("the lattice is on the earth")
        })
        .collect();
    let plane = projection.to_utm_all(&positions);
    // The lattice's box and RoadGrid's margin of 0.02°.
    let fit_box = BoundingBox::new(
        Wgs84::new(30.18, 120.08).expect("on the earth"),
        Wgs84::new(30.3199, 120.2199).expect("on the earth"),
    )
    .expect("min below max");
    let mut fit_builds_ms: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            black_box(PlaneFit::new(&projection, black_box(&fit_box)));
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    fit_builds_ms.sort_by(f64::total_cmp);
    let fit = PlaneFit::new(&projection, &fit_box).expect("a city's box is fitted");
    let singles = &positions[..SINGLE_POINTS];
    let plane_singles = &plane[..SINGLE_POINTS];

    let figures = [
        (
            "geodesy to_utm (single)",
            median_ns_per_point(singles.len(), || {
                for &p in singles {
                    black_box(baseline.to_utm(black_box(p)));
                }
            }),
        ),
        (
            "geodesy to_utm_all (batch)",
            median_ns_per_point(positions.len(), || {
                black_box(baseline.to_utm_all(black_box(&positions)));
            }),
        ),
        (
            "geodesy to_wgs84 (single)",
            median_ns_per_point(plane_singles.len(), || {
                for &u in plane_singles {
                    black_box(baseline.to_wgs84(black_box(u)));
                }
            }),
        ),
        (
            "grid to_utm (single)",
            median_ns_per_point(singles.len(), || {
                for &p in singles {
                    black_box(projection.to_utm(black_box(p)));
                }
            }),
        ),
        (
            "grid to_utm_all (batch)",
            median_ns_per_point(positions.len(), || {
                black_box(projection.to_utm_all(black_box(&positions)));
            }),
        ),
        (
            "grid fit to_plane (single)",
            median_ns_per_point(singles.len(), || {
                for &p in singles {
                    black_box(fit.to_plane(black_box(p)));
                }
            }),
        ),
        (
            "grid fit to_plane_all (batch)",
            median_ns_per_point(positions.len(), || {
                black_box(fit.to_plane_all(black_box(&positions)));
            }),
        ),
        (
            "grid to_wgs84 (single)",
            median_ns_per_point(plane_singles.len(), || {
                for &u in plane_singles {
                    black_box(projection.to_wgs84(black_box(u)));
                }
            }),
        ),
    ];
    for (name, ns) in figures {
        println!("{name:<30} {ns:7.1} ns/point (median of {ROUNDS})");
    }

    let theirs = baseline.to_utm_all(&positions);
    let worst_forward = plane
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a.easting - b.easting).hypot(a.northing - b.northing))
        .fold(0.0, f64::max);
    println!("worst forward difference from geodesy: {worst_forward:.2e} m");
    let fitted = fit.to_plane_all(&positions);
    let worst_fit = plane
        .iter()
        .zip(&fitted)
        .map(|(exact, fit)| {
            (exact.easting - fit[0])
                .abs()
                .max((exact.northing - fit[1]).abs())
        })
        .fold(0.0, f64::max);
    println!(
        "fit: degree {}, checked error {:.2e} m, worst on the lattice {worst_fit:.2e} m, \
         built in {:.2} ms (median of {ROUNDS})",
        fit.degree(),
        fit.max_error_m(),
        fit_builds_ms[ROUNDS / 2],
    );
}

/// The median over `ROUNDS` runs of `run`, in ns per point.
fn median_ns_per_point(points: usize, mut run: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_nanos() as f64 / points as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}
