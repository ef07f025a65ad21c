//! Times the WGS84 → UTM projection per point, single (`Projection::to_utm`) and batch
//! (`Projection::to_utm_all`), and the inverse (`Projection::to_wgs84`), against the `geodesy` crate
//! used the way `grid` used it before (a `Minimal` context and a `utm zone=51` operator) as the
//! baseline in the same run. Positions: a 1,000 × 1,000 lattice of 10 m steps over Hangzhou (51N).
//!
//! ```sh
//! cargo run --release -p grid --example projection_bench
//! ```
//!
//! Prints the median of 15 rounds of each figure, in ns per point, and the worst difference between the
//! two implementations over the lattice.

use std::hint::black_box;
use std::time::Instant;

use grid::{Projection, Utm, UtmZone, Wgs84};

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
            "grid to_wgs84 (single)",
            median_ns_per_point(plane_singles.len(), || {
                for &u in plane_singles {
                    black_box(projection.to_wgs84(black_box(u)));
                }
            }),
        ),
    ];
    for (name, ns) in figures {
        println!("{name:<28} {ns:7.1} ns/point (median of {ROUNDS})");
    }

    let theirs = baseline.to_utm_all(&positions);
    let worst_forward = plane
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a.easting - b.easting).hypot(a.northing - b.northing))
        .fold(0.0, f64::max);
    println!("worst forward difference from geodesy: {worst_forward:.2e} m");
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
