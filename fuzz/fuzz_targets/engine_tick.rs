//! The engine over a small real-coordinate network, fed whatever NDJSON lines decode: no record,
//! however placed, outlined or timed, may panic or hang a tick.
#![no_main]

use std::sync::{Arc, OnceLock};

use grid::engine::{Areas, Engine, Record, Rules};
use grid::{RoadGrid, RoadNetwork};
use libfuzzer_sys::fuzz_target;

/// A primary road, a crossing street and a diagonal one near 120.16 E, 30.27 N.
const NETWORK: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"seg_id":1,"fwd_speed_kmh":65,"bwd_speed_kmh":65},
   "geometry":{"type":"LineString","coordinates":[[120.16,30.27],[120.1615,30.27]]}},
  {"type":"Feature","properties":{"seg_id":2,"fwd_speed_kmh":25,"bwd_speed_kmh":25},
   "geometry":{"type":"LineString","coordinates":[[120.1607,30.2693],[120.1607,30.2707]]}},
  {"type":"Feature","properties":{"seg_id":3,"fwd_speed_kmh":40,"bwd_speed_kmh":40},
   "geometry":{"type":"LineString","coordinates":[[120.1601,30.2695],[120.1612,30.2705]]}}]}"#;

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
