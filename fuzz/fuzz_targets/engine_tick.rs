//! The engine over a small real-coordinate network, fed whatever NDJSON lines decode: no record,
//! however placed, outlined or timed, may panic or hang a tick.
#![no_main]

use std::sync::{Arc, OnceLock};

use grid::engine::{Areas, Engine, Record, Rules};
use grid::{RoadGrid, RoadNetwork};
use libfuzzer_sys::fuzz_target;

/// A primary road, a crossing street and a diagonal one near 120.16 E, 30.27 N (the placement
/// tests' network).
const NETWORK: &str = include_str!("../../grid/tests/data/crossing_roads.geojson");

fn grid() -> Arc<RoadGrid> {
    static GRID: OnceLock<Arc<RoadGrid>> = OnceLock::new();
    GRID.get_or_init(|| {
        let network = RoadNetwork::from_geojson(NETWORK).expect("the fuzz network is valid");
        Arc::new(RoadGrid::build(&network, None, &|_| {}).expect("the fuzz grid builds"))
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let records: Vec<Record> = text
        .lines()
        .filter_map(|line| Record::from_json_line(line).ok())
        .collect();
    if records.is_empty() {
        return;
    }
    let mut engine = Engine::new(grid(), Rules::default(), Areas::default());
    // Ticks of three, so that records meet what earlier ticks left.
    for tick in records.chunks(3) {
        engine.tick(tick.to_vec());
    }
    let _ = engine.figures();
});
