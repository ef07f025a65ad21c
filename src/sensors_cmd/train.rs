//! `roadcode sensors train`: fits the detector's candidate model and the window classifier on the data set
//! and writes their parameters as JSON (the files in sensors/model/).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sensors::{
    CANDIDATE_FEATURES, Model, RoadClass, TrainConfig, Track, WINDOW_FEATURES, candidates,
    distance_m, train, window_features,
};

use super::dataset::{Drive, Labels, WINDOW_RATE_HZ, Window, load_drives, load_windows};

/// Matching tolerances of the data set's sources (the evaluation rules).
pub const MATCH_DISTANCE_M: f64 = 20.0;
pub const MATCH_TIME_S: f64 = 1.5;

pub fn run(data: &Path, folder: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let drives = load_drives(data)?;
    let windows = load_windows(data)?;
    let detector = train_detector(&drives.iter().collect::<Vec<_>>())?;
    let classifier = train_classifier(&windows.iter().collect::<Vec<_>>())?;
    for (name, model) in [("detector.json", &detector), ("window_classifier.json", &classifier)] {
        let path = folder.join(name);
        let json = serde_json::to_string_pretty(model)?;
        std::fs::write(&path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "{}", serde_json::json!({ "wrote": path.display().to_string() }))?;
    }
    Ok(())
}

/// Candidate rows and labels (1: a road event) from the drives whose labels say what each candidate
/// is; drives labelled only "bad" say nothing about single candidates and are left out.
pub fn detector_rows(drives: &[&Drive]) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for drive in drives {
        if matches!(drive.labels, Labels::Bad) {
            continue;
        }
        let track = Track::from_trace(&drive.trace);
        for candidate in candidates(&drive.trace) {
            let is_event = match &drive.labels {
                Labels::Positions(marks) => track.position_at(candidate.t).is_some_and(|position| {
                    marks.iter().any(|&mark| distance_m(position, mark) <= MATCH_DISTANCE_M)
                }),
                Labels::Times(times) => times.iter().any(|&t| (t - candidate.t).abs() <= MATCH_TIME_S),
                Labels::Good | Labels::Bad => false,
            };
            rows.push(candidate.features);
            labels.push(usize::from(is_event));
        }
    }
    (rows, labels)
}

pub fn train_detector(drives: &[&Drive]) -> anyhow::Result<Model> {
    let (rows, labels) = detector_rows(drives);
    let names: Vec<&str> = drives
        .iter()
        .filter(|d| !matches!(d.labels, Labels::Bad))
        .map(|d| d.name.as_str())
        .collect();
    let description = format!(
        "Road-event probability of a candidate peak (sensors::detect). Trained by `roadcode sensors train \
         --data ../shared/data/sensors` on {} candidates ({} events) from {} drives: {}.",
        rows.len(),
        labels.iter().sum::<usize>(),
        names.len(),
        names.join(", ")
    );
    Ok(train(&rows, &labels, &CANDIDATE_FEATURES, &["other", "event"], &TrainConfig::default(), description)?)
}

pub fn train_classifier(windows: &[&Window]) -> anyhow::Result<Model> {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for window in windows {
        rows.push(window_features(&window.az, WINDOW_RATE_HZ)?);
        labels.push(class_index(window.class));
    }
    let classes: Vec<&str> = RoadClass::ALL.iter().map(|c| c.name()).collect();
    let description = format!(
        "Window classifier (sensors::classify). Trained by `roadcode sensors train --data \
         ../shared/data/sensors` on the {} windows of González et al. (2017) at 50 Hz.",
        rows.len()
    );
    Ok(train(&rows, &labels, &WINDOW_FEATURES, &classes, &TrainConfig::default(), description)?)
}

pub fn class_index(class: RoadClass) -> usize {
    RoadClass::ALL.iter().position(|&c| c == class).unwrap_or(0)
}
