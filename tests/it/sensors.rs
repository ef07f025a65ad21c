//! `roadcode sensors ...` end to end: the real binary on the shared data set and on small inputs that
//! the tests write themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn roadcode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roadcode"))
        .args(args)
        .output()
        .expect("the roadcode binary runs")
}

fn data() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        path.is_dir(),
        "the shared data set is expected at {}",
        path.display()
    );
    path
}

fn files(folder: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn json_lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// A file in the temporary directory, unique to this test.
fn scratch(name: &str, content: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("roadcode-it-{}-{name}", std::process::id()));
    std::fs::write(&path, content).unwrap();
    path
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn iri_reproduces_the_tp46_table_at_every_length() {
    let iri = data().join("iri");
    let profile = iri.join("tp46_bump_profile.csv");
    let table = std::fs::read_to_string(iri.join("tp46_expected_cumulative_iri.csv")).unwrap();
    let mut checked = 0;
    for row in table.lines().skip(1) {
        let columns: Vec<f64> = row.split(',').map(|c| c.parse().unwrap()).collect();
        let (length, published) = (columns[0], columns[1]);
        let output = roadcode(&[
            "sensors",
            "iri",
            text(&profile),
            "--segment",
            &length.to_string(),
            "--start",
            "0",
            "--elevation-unit",
            "mm",
        ]);
        let first = &json_lines(&output)[0];
        assert_eq!(first["start_m"], 0.0);
        assert!((first["end_m"].as_f64().unwrap() - length).abs() < 1e-9);
        let computed = first["iri_m_per_km"].as_f64().unwrap();
        assert!(
            (computed - published).abs() <= 1e-4,
            "{length} m: {computed} vs {published}"
        );
        checked += 1;
    }
    assert_eq!(checked, 120);
}

#[test]
fn iri_reads_whitespace_comments_and_metres_per_segment() {
    let mut profile = String::from("# distance elevation\n");
    for i in 0..=400 {
        let x = f64::from(i) * 0.25;
        profile.push_str(&format!("{x} {}\n", 0.002 * (x * 1.3).sin()));
    }
    let path = scratch("profile.txt", &profile);
    let lines = json_lines(&roadcode(&[
        "sensors",
        "iri",
        text(&path),
        "--segment",
        "25",
    ]));
    let bounds: Vec<(f64, f64)> = lines
        .iter()
        .map(|l| (l["start_m"].as_f64().unwrap(), l["end_m"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        bounds,
        [(0.0, 25.0), (25.0, 50.0), (50.0, 75.0), (75.0, 100.0)]
    );
    assert!(
        lines
            .iter()
            .all(|l| l["iri_m_per_km"].as_f64().unwrap() > 0.1)
    );
}

#[test]
fn detect_runs_on_every_trace_and_prints_events() {
    let sensors = data().join("sensors");
    let mut traces = files(&sensors.join("drives-lublin"), ".trace.csv");
    traces.extend(files(&sensors.join("drives-pittsburgh"), ".trace.csv"));
    assert_eq!(traces.len(), 23);
    let mut events = 0;
    for trace in &traces {
        for event in json_lines(&roadcode(&["sensors", "detect", text(trace)])) {
            let kind = event["kind"].as_str().unwrap();
            assert!(["pothole", "asphalt_bump", "metal_bump", "rough"].contains(&kind));
            let severity = event["severity"].as_str().unwrap();
            assert!(["light", "medium", "heavy"].contains(&severity));
            let confidence = event["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&confidence));
            assert!(event["t"].as_f64().unwrap() > 1.4e9);
            let lat = event["lat"].as_f64().unwrap();
            assert!((40.0..52.0).contains(&lat), "{event}");
            events += 1;
        }
    }
    assert!(events > 50, "{events} events in all drives");
}

#[test]
fn classify_runs_on_every_window() {
    let windows = data().join("sensors/windows-gonzalez2017");
    let mut right = 0;
    let mut total = 0;
    for (folder, class) in [
        ("potholes", "pothole"),
        ("asphalt_bumps", "asphalt_bump"),
        ("metal_bumps", "metal_bump"),
        ("worn_out_road", "rough"),
        ("regular_road", "smooth"),
    ] {
        for window in files(&windows.join(folder), ".csv") {
            let output = roadcode(&["sensors", "classify", "--rate", "50", text(&window)]);
            let line = &json_lines(&output)[0];
            let confidence = line["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&confidence));
            right += usize::from(line["class"] == class);
            total += 1;
        }
    }
    assert_eq!(total, 300);
    // The shipped model was fitted to these windows, so this is training accuracy (the cross-validated
    // figure is in docs/EVALUATION.md); it guards against a broken model file.
    assert!(right >= 240, "{right} of {total}");
}

#[test]
fn roughness_estimates_pieces_of_a_drive() {
    let trace = data().join("sensors/drives-lublin/2017-02-24_19-46-28.trace.csv");
    let lines = json_lines(&roadcode(&["sensors", "roughness", text(&trace)]));
    assert!(lines.len() > 10, "{} pieces", lines.len());
    for line in &lines {
        let length = line["end_m"].as_f64().unwrap() - line["start_m"].as_f64().unwrap();
        assert!((100.0..130.0).contains(&length), "{line}");
        let iri = line["iri_m_per_km"].as_f64().unwrap();
        assert!((0.1..60.0).contains(&iri), "{line}");
    }
}

const HEADER: &str = "t,lat,lon,speed,ax,ay,az\n";

#[test]
fn bad_trace_lines_are_reported_with_line_and_field() {
    let mut trace = String::from(HEADER);
    for i in 0..50 {
        trace.push_str(&format!("{}.0,30.25,120.15,10,0,0,9.8\n", 100 + i));
    }
    trace.push_str("99.0,30.25,120.15,10,0,0,9.8\n160,30.25,120.15,10,NaN,0,9.8\n");
    let path = scratch("bad.csv", &trace);
    let lenient = roadcode(&["sensors", "detect", text(&path)]);
    assert!(lenient.status.success());
    let stderr = String::from_utf8_lossy(&lenient.stderr);
    assert!(
        stderr.contains("rejected line 52, field `t`: time goes backwards: 99 after 149"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rejected line 53, field `ax`: NaN is not a finite number"),
        "{stderr}"
    );

    let strict = roadcode(&["sensors", "detect", "--strict", text(&path)]);
    assert_eq!(strict.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 52, field `t`"), "{stderr}");
}

#[test]
fn structural_errors_are_one_clear_line() {
    let path = scratch("nocolumn.csv", "t,lat,lon,ax,ay\n1,30,120,0,0\n");
    let output = roadcode(&["sensors", "detect", text(&path)]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("roadcode: "), "{stderr}");
    assert!(stderr.contains("line 1: missing column `az`"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);

    let missing = roadcode(&["sensors", "detect", "/nonexistent/trace.csv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/trace.csv")
    );

    let window = scratch("short.csv", "az\n9.8\n9.8\n");
    let short = roadcode(&["sensors", "classify", "--rate", "50", text(&window)]);
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("invalid window"));
}

/// 60 s of driving north at 10 m/s and 50 Hz, with a pothole at 30 s; positions in `datum`.
fn pothole_drive(gcj02: bool) -> String {
    let mut trace = String::from(HEADER);
    for i in 0..3000 {
        let t = f64::from(i) * 0.02;
        let noise = 0.2 * (t * 37.0).sin() + 0.1 * (t * 13.0).cos();
        let [hit, jolt] = sensors::pothole_impact(t - 30.0);
        let (mut lat, mut lon) = (30.25 + t.floor() * 10.0 / 111_195.0, 120.15);
        if gcj02 {
            let shifted = grid::Gcj02::from_wgs84(grid::Wgs84::new(lat, lon).unwrap());
            (lat, lon) = (shifted.lat(), shifted.lon());
        }
        trace.push_str(&format!(
            "{:.2},{lat:.7},{lon:.7},10,{jolt},0.05,{}\n",
            1.7e9 + t,
            9.81 + noise + hit
        ));
    }
    trace
}

#[test]
fn detect_places_a_pothole_in_either_datum() {
    let wgs = scratch("wgs.csv", &pothole_drive(false));
    let events = json_lines(&roadcode(&["sensors", "detect", text(&wgs)]));
    assert_eq!(events.len(), 1, "{events:?}");
    assert!((events[0]["t"].as_f64().unwrap() - 1.7e9 - 30.0).abs() < 0.2);
    let lat = events[0]["lat"].as_f64().unwrap();
    assert!((lat - (30.25 + 300.0 / 111_195.0)).abs() < 2e-5, "{lat}");

    let gcj = scratch("gcj.csv", &pothole_drive(true));
    let converted = json_lines(&roadcode(&[
        "sensors",
        "detect",
        "--datum",
        "gcj02",
        text(&gcj),
    ]));
    assert_eq!(converted.len(), 1);
    // Converted back to WGS84 (to the 1e-7° that the file was written with).
    let d_lat = converted[0]["lat"].as_f64().unwrap() - lat;
    let d_lon = converted[0]["lon"].as_f64().unwrap() - events[0]["lon"].as_f64().unwrap();
    assert!(d_lat.abs() < 1e-6 && d_lon.abs() < 1e-6, "{d_lat} {d_lon}");
}

#[test]
fn detect_reads_ndjson_frames() {
    let mut frames = String::new();
    for line in pothole_drive(false).lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        if ((v[0] * 50.0).round() as i64) % 50 == 0 {
            frames.push_str(&format!(
                "{{\"type\":\"gnss\",\"t\":{},\"lat\":{},\"lon\":{},\"speed\":{}}}\n",
                v[0], v[1], v[2], v[3]
            ));
        }
        frames.push_str(&format!(
            "{{\"type\":\"imu\",\"t\":{},\"ax\":{},\"ay\":{},\"az\":{}}}\n",
            v[0], v[4], v[5], v[6]
        ));
    }
    frames.push_str("{\"type\":\"detection\",\"t\":1700000031,\"kind\":\"pothole\",\"confidence\":0.9,\"outline\":[{\"lat\":30.25,\"lon\":120.15}]}\n");
    frames.push_str("{\"type\":\"imu\",\"t\":1,\"ax\":0,\"ay\":0,\"az\":9.8}\n");
    let path = scratch("frames.ndjson", &frames);
    let output = roadcode(&["sensors", "detect", text(&path)]);
    let events = json_lines(&output);
    assert_eq!(events.len(), 1, "{events:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("field `t`: time goes backwards"),
        "{stderr}"
    );
}

#[test]
fn bench_prints_json_figures() {
    let output = roadcode(&["sensors", "bench", "--samples", "20000", "--runs", "1"]);
    let report = &json_lines(&output)[0];
    assert_eq!(report["samples"], 20000);
    assert!(report["detect_samples_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["events_found"].as_u64().unwrap() > 0);
}

#[test]
fn train_reproduces_the_shipped_models_exactly() {
    let out = std::env::temp_dir().join(format!("roadcode-it-{}-models", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let sensors = data().join("sensors");
    let lines = json_lines(&roadcode(&[
        "sensors",
        "train",
        "--data",
        text(&sensors),
        "--out",
        text(&out),
    ]));
    assert_eq!(lines.len(), 2);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("sensors/model");
    for name in ["detector.json", "window_classifier.json"] {
        let trained = std::fs::read_to_string(out.join(name)).unwrap();
        let stored = std::fs::read_to_string(shipped.join(name)).unwrap();
        assert!(
            trained == stored,
            "{name} differs from what `roadcode sensors train` makes"
        );
    }
}

#[test]
fn evaluate_reports_every_method_and_the_confusion_matrix() {
    let sensors = data().join("sensors");
    let output = roadcode(&["sensors", "evaluate", "--data", text(&sensors), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let methods: Vec<&str> = report["detection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods[1..], ["Z-THRESH", "Z-DIFF", "STDEV(Z)", "G-ZERO"]);
    for method in report["detection"].as_array().unwrap() {
        assert_eq!(method["lublin"]["labels"], 42);
        assert_eq!(method["pittsburgh"]["labels"], 56);
        for collection in ["lublin", "pittsburgh"] {
            let f1 = method[collection]["f1"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&f1));
        }
    }
    let confusion = report["classification"]["confusion"].as_array().unwrap();
    let total: u64 = confusion
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|cell| cell.as_u64().unwrap())
        .sum();
    assert_eq!(total, 300);
}
