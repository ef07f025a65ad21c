//! Agreement with independent tools: PROJ (through pyproj) for the projection, NGA's GeoTrans (the
//! `mgrs` package) for cell ids. The reference points are made by `tools/make_proj_reference.py`.

use crate::cell::CellKey;
use crate::coord::{Projection, Utm, UtmZone, Wgs84};

const REFERENCE: &str = include_str!("../tests/data/proj_reference.csv");

/// Better than 1 mm, as the foundation issue asks.
const TOLERANCE_M: f64 = 0.001;

struct ReferencePoint {
    zone: UtmZone,
    position: Wgs84,
    utm: Utm,
    mgrs: String,
}

fn reference_points() -> Vec<ReferencePoint> {
    REFERENCE
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |i: usize| fields[i].parse::<f64>().unwrap();
            ReferencePoint {
                zone: fields[0].parse().unwrap(),
                position: Wgs84::new(number(1), number(2)).unwrap(),
                utm: Utm {
                    easting: number(3),
                    northing: number(4),
                },
                mgrs: fields[5].to_owned(),
            }
        })
        .collect()
}

#[test]
fn projection_agrees_with_proj_to_a_millimetre_both_ways() {
    let points = reference_points();
    assert!(points.len() > 2000);
    let mut worst_forward: f64 = 0.0;
    let mut worst_inverse: f64 = 0.0;
    for point in &points {
        let projection = Projection::new(point.zone);
        let ours = projection.to_utm(point.position);
        let forward = (ours.easting - point.utm.easting).hypot(ours.northing - point.utm.northing);
        worst_forward = worst_forward.max(forward);
        // Inverse: compare in metres by projecting our answer back with PROJ's own forward numbers.
        let back = projection.to_wgs84(point.utm);
        let metres_per_degree_lat = 110_850.0;
        let metres_per_degree_lon = 111_320.0 * point.position.lat().to_radians().cos();
        let inverse = ((back.lat() - point.position.lat()) * metres_per_degree_lat)
            .hypot((back.lon() - point.position.lon()) * metres_per_degree_lon);
        worst_inverse = worst_inverse.max(inverse);
    }
    println!(
        "worst difference from PROJ: forward {worst_forward:.3e} m, inverse {worst_inverse:.3e} m"
    );
    assert!(
        worst_forward < TOLERANCE_M,
        "worst forward difference {worst_forward} m"
    );
    assert!(
        worst_inverse < TOLERANCE_M,
        "worst inverse difference {worst_inverse} m"
    );
}

#[test]
fn cell_ids_agree_with_geotrans_mgrs() {
    let mut compared = 0;
    for point in reference_points().iter().filter(|p| !p.mgrs.is_empty()) {
        // A point within a millimetre of a cell edge may fall either side by rounding alone.
        let near_edge = |v: f64| {
            let fraction = v - v.floor();
            !(TOLERANCE_M..=1.0 - TOLERANCE_M).contains(&fraction)
        };
        if near_edge(point.utm.easting) || near_edge(point.utm.northing) {
            continue;
        }
        let projection = Projection::new(point.zone);
        let key = CellKey::containing(point.zone, projection.to_utm(point.position));
        assert_eq!(
            key.id().unwrap().as_str(),
            point.mgrs,
            "at {:?}",
            point.position
        );
        compared += 1;
    }
    assert!(compared > 1800, "only {compared} points compared");
}
