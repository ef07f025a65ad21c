//! `roadcode engine replay`: records in, district figures and change events out.

use serde_json::Value;

use crate::{hangzhou_roads, roadcode, scratch, success};

const T0: f64 = 1_793_500_000.0;

/// A vehicle detection of a medium pothole on 朝晖路 (the DESIGN.md example cell), one phone that
/// reports a crack elsewhere, a bad line, then an inspector's repair of the pothole a day later.
fn records() -> String {
    [
        format!(r#"{{"t":{T0},"lat":30.279548,"lon":120.16533,"source":"vehicle","device":"patrol-7","kind":"pothole","severity":"medium","confidence":0.93,"accuracy_m":0.5}}"#),
        format!(r#"{{"t":{},"lat":30.281072,"lon":120.16498,"source":"phone","device":"phone-1","kind":"longitudinal_crack","severity":"heavy","confidence":0.8,"accuracy_m":4}}"#, T0 + 60.0),
        r#"{"t":"yesterday","lat":30.27,"lon":120.16,"source":"phone","device":"p","kind":"pothole","severity":"light"}"#.to_owned(),
    ]
    .join("\n")
}

fn replay(dir: &std::path::Path, text: &str, extra: &[&str]) -> std::process::Output {
    let input = dir.join("records.ndjson");
    std::fs::write(&input, text).unwrap();
    let roads = hangzhou_roads();
    let events = dir.join("events.ndjson");
    let mut args = vec![
        "engine",
        "replay",
        input.to_str().unwrap(),
        "--roads",
        roads.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    roadcode(&args)
}

#[test]
fn replay_prints_figures_and_writes_events() {
    let dir = scratch("engine_replay");
    let output = replay(&dir, &records(), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("line 3: "),
        "the bad line is reported: {stderr}"
    );
    let figures: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(figures["observations"], 2);
    assert_eq!(figures["rejected_lines"], 1);
    assert_eq!(figures["cells"]["red"], 1);
    assert_eq!(
        figures["defects"]["pending"], 1,
        "one phone confirms nothing"
    );
    assert_eq!(
        figures["defects"]["dispatched"], 1,
        "a medium pothole is a hazard"
    );
    for grade in ["优", "良", "中", "次", "差"] {
        assert!(figures["sections"][grade].is_u64(), "{figures}");
    }
    let events: Vec<Value> = std::fs::read_to_string(dir.join("events.ndjson"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let red = events
        .iter()
        .find(|e| e["type"] == "cell_code")
        .expect("a cell_code event");
    assert_eq!(red["cell"], "51RTP2731753165");
    assert_eq!(red["code"], "red");
    assert_eq!(red["rules"], "roadcode-rules-2");
    assert_eq!(red["evidence"], serde_json::json!([0]));
    // 朝晖路 here is a tertiary road (40 km/h): the city's unit repairs it, police are not told.
    let dispatch = events
        .iter()
        .find(|e| e["type"] == "dispatch")
        .expect("a dispatch event");
    assert_eq!(
        (&dispatch["unit"], &dispatch["police"]),
        (&serde_json::json!("city"), &serde_json::json!([]))
    );
}

#[test]
fn replay_can_stop_at_the_first_bad_line() {
    let dir = scratch("engine_stop");
    let output = replay(&dir, &records(), &["--on-error", "stop"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("records.ndjson: line 3: "), "{stderr}");
}

#[test]
fn a_simulated_stream_replays_the_same_way_twice() {
    let dir = scratch("engine_simulate");
    let stream = dir.join("simulated.ndjson");
    let roads = hangzhou_roads();
    success(&[
        "engine",
        "simulate",
        "--roads",
        roads.to_str().unwrap(),
        "--records",
        "3000",
        "--sites",
        "300",
        "--out",
        stream.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&stream).unwrap();
    assert_eq!(text.lines().count(), 3000);
    let run = || {
        let output = replay(&dir, &text, &[]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut figures: Value = serde_json::from_slice(&output.stdout).unwrap();
        figures["elapsed_ms"] = Value::Null;
        (
            figures,
            std::fs::read_to_string(dir.join("events.ndjson")).unwrap(),
        )
    };
    let (first, first_events) = run();
    let (second, second_events) = run();
    assert_eq!(first, second);
    assert_eq!(first_events, second_events);
    assert!(first["cells"]["red"].as_u64().unwrap() > 0, "{first}");
}
