//! The road network decoder must answer every input with a network or an error, never a panic, and a
//! network it accepts must rasterise.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(network) = grid::RoadNetwork::from_geojson(text) {
        // Keep the work bounded: a fuzzer can write a road across a continent.
        let small = network.segments().iter().all(|segment| {
            let points = segment.lines.iter().flatten();
            let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
            for p in points {
                min_lat = min_lat.min(p.lat());
                max_lat = max_lat.max(p.lat());
                min_lon = min_lon.min(p.lon());
                max_lon = max_lon.max(p.lon());
            }
            max_lat - min_lat < 0.01 && max_lon - min_lon < 0.01 && segment.width_m < 50.0
        });
        if small && network.segments().len() < 50 {
            let _ = grid::RoadGrid::build(&network, None, &|_| {});
        }
    }
});
