//! `roadcode grid`: building the grid of the shipped network and locating positions on it.

use serde_json::Value;

use crate::{failure, hangzhou_roads, scratch, success};

/// Central Hangzhou around 朝晖路, about 900 000 cells: quick to build in a test.
const CENTRE_BBOX: &str = "120.15,30.27,120.18,30.29";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn build_of_the_whole_shipped_network_reports_its_figures() {
    let roads = hangzhou_roads();
    let report = json(&success(&[
        "grid",
        "build",
        "--roads",
        roads.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(report["segments"], 20_024);
    assert_eq!(report["utm_zone"], "51N");
    let cells = report["cells"].as_u64().unwrap();
    // 2,357 km of road with the documented default widths (docs/GRID.md).
    assert!((14_000_000..17_000_000).contains(&cells), "{cells} cells");
    assert_eq!(report["area_m2"].as_f64().unwrap(), cells as f64);
    for figure in ["build_ms", "peak_rss_mb"] {
        assert!(
            report[figure].as_u64().is_some(),
            "{figure} missing: {report}"
        );
    }
}

#[test]
fn locate_names_the_cell_segment_and_road() {
    let roads = hangzhou_roads();
    let answer = json(&success(&[
        "grid",
        "locate",
        "--roads",
        roads.to_str().unwrap(),
        "--bbox",
        CENTRE_BBOX,
        "--lat",
        "30.279548",
        "--lon",
        "120.16533",
        "--json",
    ]));
    assert_eq!(answer["cell"], "51RTP2731753165");
    assert_eq!(answer["segment"], 0);
    assert_eq!(answer["name"], "朝晖路");
    assert_eq!(answer["distance_m"], 0.0);
}

#[test]
fn locate_off_the_road_fails_with_one_line() {
    let roads = hangzhou_roads();
    let stderr = failure(&[
        "grid",
        "locate",
        "--roads",
        roads.to_str().unwrap(),
        "--bbox",
        CENTRE_BBOX,
        "--lat",
        "30.2",
        "--lon",
        "120.1",
        "--json",
    ]);
    assert!(
        stderr.contains("no road cell within 2 m of 30.2,120.1"),
        "{stderr}"
    );
}

#[test]
fn locate_points_answers_every_row_in_order() {
    let dir = scratch("locate_points");
    let points = dir.join("points.csv");
    std::fs::write(
        &points,
        "lon,lat,note\n120.16533,30.279548,start\n120.1,30.2,off\n120.16498,abc,bad\n120.16498,30.281072,end\n",
    )
    .unwrap();
    let roads = hangzhou_roads();
    let out = success(&[
        "grid",
        "locate",
        "--roads",
        roads.to_str().unwrap(),
        "--bbox",
        CENTRE_BBOX,
        "--points",
        points.to_str().unwrap(),
        "--json",
    ]);
    let lines: Vec<Value> = out.lines().map(json).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["cell"], "51RTP2731753165");
    assert!(lines[1]["error"].as_str().unwrap().contains("no road cell"));
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("line 4: lat \"abc\" is not a number")
    );
    assert_eq!(lines[3]["name"], "上塘路");
}

#[test]
fn bad_networks_get_one_line_errors_naming_the_problem() {
    let dir = scratch("bad_networks");
    let cases = [
        (
            "not_json.geojson",
            "hello",
            "not a GeoJSON FeatureCollection",
        ),
        (
            "point.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[120.1,30.2]}}]}"#,
            "feature 0: geometry is a Point, expected LineString or MultiLineString",
        ),
        (
            "range.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[120.1,30.2],[200.0,30.2]]}}]}"#,
            "feature 0: coordinate out of range: longitude 200 is not in [-180, 180]",
        ),
        (
            "empty.geojson",
            r#"{"type":"FeatureCollection","features":[]}"#,
            "the road network is empty",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let stderr = failure(&["grid", "build", "--roads", path.to_str().unwrap(), "--json"]);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(stderr.contains(name), "the error names the file: {stderr}");
    }
    let missing = failure(&["grid", "build", "--roads", "/nonexistent/roads.geojson"]);
    assert!(
        missing.contains("cannot read road network /nonexistent/roads.geojson"),
        "{missing}"
    );
}

#[test]
fn a_bbox_outside_the_network_is_an_error() {
    let roads = hangzhou_roads();
    let stderr = failure(&[
        "grid",
        "build",
        "--roads",
        roads.to_str().unwrap(),
        "--bbox",
        "0,0,1,1",
    ]);
    assert!(
        stderr.contains("no road segment lies inside the bounding box"),
        "{stderr}"
    );
}
