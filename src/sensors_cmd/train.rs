//! `roadcode sensors train`: fits the detector's candidate model and the window classifier on the data set
//! and writes their parameters as JSON (the files in sensors/model/).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use grid::Wgs84;
use sensors::{
    CANDIDATE_FEATURES, Counts, Detector, EventClass, Model, Track, TrainConfig, WINDOW_FEATURES,
    WindowClassifier, candidates, distance_m, match_by_distance, match_by_time, train,
    window_features,
};

use super::dataset::{Drive, Labels, WINDOW_RATE_HZ, Window, load_drives, load_windows};

/// Matching tolerances of the data set's sources (the evaluation rules).
pub const MATCH_DISTANCE_M: f64 = 20.0;
pub const MATCH_TIME_S: f64 = 1.5;

pub fn run(data: &Path, folder: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let drives = load_drives(data)?;
    let windows = load_windows(data)?;
    let classifier = train_classifier(&windows.iter().collect::<Vec<_>>())?;
    let detector = train_detector(
        &drives.iter().collect::<Vec<_>>(),
        &WindowClassifier::from_model(classifier.clone())?,
    )?;
    for (name, model) in [
        ("detector.json", &detector),
        ("window_classifier.json", &classifier),
    ] {
        let path = folder.join(name);
        let json = serde_json::to_string_pretty(model)?;
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(
            out,
            "{}",
            serde_json::json!({ "wrote": path.display().to_string() })
        )?;
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
                Labels::Positions(marks) => {
                    track.position_at(candidate.t).is_some_and(|position| {
                        marks
                            .iter()
                            .any(|&mark| distance_m(position, mark) <= MATCH_DISTANCE_M)
                    })
                }
                Labels::Times(times) => times
                    .iter()
                    .any(|&t| (t - candidate.t).abs() <= MATCH_TIME_S),
                Labels::Good | Labels::Bad => false,
            };
            rows.push(candidate.features);
            labels.push(usize::from(is_event));
        }
    }
    (rows, labels)
}

/// The detector model's L2 penalty, chosen among 1e-4, 1e-3, 1e-2, 0.1, 0.3 and 1 by the
/// leave-one-drive-out F1 (docs/EVALUATION.md says so: a mild optimistic bias of the table).
const DETECTOR_L2: f64 = 0.1;

/// An event with its confidence: time, position, probability.
type ScoredEvent = (f64, Option<Wgs84>, f64);

/// Detections of one drive: time and position.
pub type Detections = Vec<(f64, Option<Wgs84>)>;

/// Scores detections against a drive's labels (a good road's detections are all false).
pub fn score(drive: &Drive, detections: &Detections) -> Counts {
    match &drive.labels {
        Labels::Positions(marks) => {
            let positions: Vec<Option<Wgs84>> = detections.iter().map(|d| d.1).collect();
            match_by_distance(&positions, marks, MATCH_DISTANCE_M)
        }
        Labels::Times(times) => {
            let ts: Vec<f64> = detections.iter().map(|d| d.0).collect();
            match_by_time(&ts, times, MATCH_TIME_S)
        }
        Labels::Good | Labels::Bad => Counts {
            detections: detections.len(),
            ..Counts::default()
        },
    }
}

/// Fits the candidate model, then chooses its reporting threshold: the probability (in steps of 0.05)
/// that gives the best pooled F1 on the same training drives.
pub fn train_detector(drives: &[&Drive], classifier: &WindowClassifier) -> anyhow::Result<Model> {
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
    let config = TrainConfig {
        balance_classes: false,
        l2: DETECTOR_L2,
        ..TrainConfig::default()
    };
    let mut model = train(
        &rows,
        &labels,
        &CANDIDATE_FEATURES,
        &["other", "event"],
        &config,
        description,
    )?;
    let scoring = Detector::new(model.clone(), classifier.clone())?.with_threshold(0.0);
    let scored: Vec<(&Drive, Vec<ScoredEvent>)> = drives
        .iter()
        .filter(|d| !matches!(d.labels, Labels::Bad))
        .map(|d| {
            let events = scoring
                .detect(&d.trace)
                .iter()
                .map(|e| (e.t, e.position, e.confidence))
                .collect();
            (*d, events)
        })
        .collect();
    let mut best = (0.5, f64::MIN);
    for step in 2..19 {
        let threshold = f64::from(step) * 0.05;
        let pooled = scored
            .iter()
            .fold(Counts::default(), |sum, (drive, events)| {
                let kept: Detections = events
                    .iter()
                    .filter(|e| e.2 >= threshold)
                    .map(|e| (e.0, e.1))
                    .collect();
                sum.plus(score(drive, &kept))
            });
        if pooled.f1() > best.1 {
            best = (threshold, pooled.f1());
        }
    }
    model.threshold = Some(best.0);
    Ok(model)
}

pub fn train_classifier(windows: &[&Window]) -> anyhow::Result<Model> {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for window in windows {
        rows.push(window_features(&window.az, WINDOW_RATE_HZ)?);
        labels.push(class_index(window.class));
    }
    let classes: Vec<&str> = EventClass::ALL.iter().map(|c| c.name()).collect();
    let description = format!(
        "Window classifier (sensors::classify). Trained by `roadcode sensors train --data \
         ../shared/data/sensors` on the {} windows of González et al. (2017) at 50 Hz.",
        rows.len()
    );
    Ok(train(
        &rows,
        &labels,
        &WINDOW_FEATURES,
        &classes,
        &TrainConfig::default(),
        description,
    )?)
}

pub fn class_index(class: EventClass) -> usize {
    EventClass::ALL
        .iter()
        .position(|&c| c == class)
        .unwrap_or(0)
}
