//! `roadcode sensors evaluate`: the detector against the four baselines on the labelled drives, and the
//! window classifier, all with cross-validation, so that nothing is scored on data it was fitted to.
//!
//! - Detection: leave one drive out. For each labelled drive (Lublin, Pittsburgh trips, Pittsburgh good
//!   roads), the detector's model is trained on all the other labelled drives, and each baseline's
//!   threshold is the one of its grid that gives the best pooled F1 on those other drives; the held-out
//!   drive is then scored. Drives labelled only "bad" are never trained on; they are scored with the
//!   model (and thresholds) fitted to all labelled drives, as events per km.
//! - Windows: stratified 5-fold cross-validation (file order within each class, fold = index mod 5).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use sensors::{
    Baseline, BaselineSignal, Confusion, Counts, Detector, EventClass, Track, WindowClassifier,
    distance_m, roughness_segments, window_features,
};
use serde::Serialize;

use super::dataset::{
    Collection, Drive, Labels, WINDOW_RATE_HZ, Window, load_drives, load_windows,
};
use super::train::{class_index, score, train_classifier, train_detector};

#[derive(Serialize)]
struct Report {
    command: &'static str,
    detection: Vec<MethodResult>,
    classification: ClassifierResult,
    roughness: RoughnessResult,
}

/// IRI estimated from the accelerometer (100 m pieces) on the Pittsburgh roads labelled good and bad.
#[derive(Serialize)]
struct RoughnessResult {
    good_pieces: usize,
    good_median_iri_m_per_km: f64,
    bad_pieces: usize,
    bad_median_iri_m_per_km: f64,
}

#[derive(Serialize)]
struct MethodResult {
    method: String,
    lublin: Metrics,
    pittsburgh: Metrics,
    good_road_km: f64,
    good_road_false_alarms: usize,
    bad_road_km: f64,
    bad_road_events: usize,
    /// The thresholds chosen per fold (baselines only), m/s².
    thresholds: Vec<f64>,
}

#[derive(Serialize, Clone, Copy)]
struct Metrics {
    precision: f64,
    recall: f64,
    f1: f64,
    true_detections: usize,
    detections: usize,
    found_labels: usize,
    labels: usize,
}

impl From<Counts> for Metrics {
    fn from(counts: Counts) -> Metrics {
        Metrics {
            precision: counts.precision(),
            recall: counts.recall(),
            f1: counts.f1(),
            true_detections: counts.true_detections,
            detections: counts.detections,
            found_labels: counts.found_labels,
            labels: counts.labels,
        }
    }
}

#[derive(Serialize)]
struct ClassifierResult {
    folds: usize,
    windows: usize,
    accuracy: f64,
    classes: Vec<&'static str>,
    /// Rows: true class; columns: predicted class.
    confusion: Vec<Vec<usize>>,
}

use super::train::Detections;

pub fn run(data: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let drives = load_drives(data)?;
    let windows = load_windows(data)?;
    let mut detection = vec![evaluate_detector(&drives, &windows)?];
    for baseline in Baseline::ALL {
        detection.push(evaluate_baseline(&drives, baseline));
    }
    let report = Report {
        command: "roadcode sensors evaluate --data ../shared/data/sensors --json",
        detection,
        classification: evaluate_classifier(&windows)?,
        roughness: evaluate_roughness(&drives)?,
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_markdown(&report, out)?;
    }
    Ok(())
}

fn evaluate_detector(drives: &[Drive], windows: &[Window]) -> anyhow::Result<MethodResult> {
    // The window classifier only names kinds, which the labels do not score; it is fitted to all windows.
    let classifier =
        WindowClassifier::from_model(train_classifier(&windows.iter().collect::<Vec<_>>())?)?;
    let labelled: Vec<&Drive> = drives
        .iter()
        .filter(|d| !matches!(d.labels, Labels::Bad))
        .collect();
    let detect = |detector: &Detector, drive: &Drive| -> Detections {
        detector
            .detect(&drive.trace)
            .iter()
            .map(|e| (e.t, e.position))
            .collect()
    };
    let mut per_drive: Vec<(&Drive, Detections)> = Vec::new();
    for held_out in &labelled {
        let others: Vec<&Drive> = labelled
            .iter()
            .copied()
            .filter(|d| d.name != held_out.name)
            .collect();
        let detector = Detector::new(train_detector(&others, &classifier)?, classifier.clone())?;
        per_drive.push((held_out, detect(&detector, held_out)));
    }
    let all = Detector::new(train_detector(&labelled, &classifier)?, classifier)?;
    for drive in drives.iter().filter(|d| matches!(d.labels, Labels::Bad)) {
        per_drive.push((drive, detect(&all, drive)));
    }
    Ok(summarise(
        "ours (candidate peaks + softmax)".to_owned(),
        &per_drive,
        Vec::new(),
    ))
}

fn evaluate_baseline(drives: &[Drive], baseline: Baseline) -> MethodResult {
    let grid = baseline.threshold_grid();
    // Events and counts of every drive at every threshold, computed once.
    let mut events: HashMap<&str, Vec<Detections>> = HashMap::new();
    for drive in drives {
        let signal = BaselineSignal::new(&drive.trace, baseline);
        let per_threshold = grid
            .iter()
            .map(|&threshold| {
                signal
                    .events(threshold)
                    .iter()
                    .map(|e| (e.t, e.position))
                    .collect()
            })
            .collect();
        events.insert(drive.name.as_str(), per_threshold);
    }
    let labelled: Vec<&Drive> = drives
        .iter()
        .filter(|d| !matches!(d.labels, Labels::Bad))
        .collect();
    let best_threshold = |training: &[&Drive]| -> usize {
        let mut best = (0, f64::MIN);
        for (k, _) in grid.iter().enumerate() {
            let pooled = training.iter().fold(Counts::default(), |sum, d| {
                sum.plus(score(d, &events[d.name.as_str()][k]))
            });
            if pooled.f1() > best.1 {
                best = (k, pooled.f1());
            }
        }
        best.0
    };
    let mut per_drive: Vec<(&Drive, Detections)> = Vec::new();
    let mut thresholds = Vec::new();
    for held_out in &labelled {
        let others: Vec<&Drive> = labelled
            .iter()
            .copied()
            .filter(|d| d.name != held_out.name)
            .collect();
        let k = best_threshold(&others);
        thresholds.push(grid[k]);
        per_drive.push((held_out, events[held_out.name.as_str()][k].clone()));
    }
    let k_all = best_threshold(&labelled);
    for drive in drives.iter().filter(|d| matches!(d.labels, Labels::Bad)) {
        per_drive.push((drive, events[drive.name.as_str()][k_all].clone()));
    }
    summarise(baseline.name().to_owned(), &per_drive, thresholds)
}

fn summarise(
    method: String,
    per_drive: &[(&Drive, Detections)],
    thresholds: Vec<f64>,
) -> MethodResult {
    let mut lublin = Counts::default();
    let mut pittsburgh = Counts::default();
    let (mut good_km, mut good_alarms, mut bad_km, mut bad_events) = (0.0, 0, 0.0, 0);
    for (drive, detections) in per_drive {
        match (&drive.labels, drive.collection) {
            (Labels::Good, _) => {
                good_km += length_km(drive);
                good_alarms += detections.len();
            }
            (Labels::Bad, _) => {
                bad_km += length_km(drive);
                bad_events += detections.len();
            }
            (_, Collection::Lublin) => lublin = lublin.plus(score(drive, detections)),
            (_, Collection::Pittsburgh) => pittsburgh = pittsburgh.plus(score(drive, detections)),
        }
    }
    MethodResult {
        method,
        lublin: lublin.into(),
        pittsburgh: pittsburgh.into(),
        good_road_km: good_km,
        good_road_false_alarms: good_alarms,
        bad_road_km: bad_km,
        bad_road_events: bad_events,
        thresholds,
    }
}

fn length_km(drive: &Drive) -> f64 {
    let fixes = Track::from_trace(&drive.trace);
    fixes
        .fixes()
        .windows(2)
        .map(|w| distance_m(w[0].position, w[1].position))
        .sum::<f64>()
        / 1000.0
}

fn evaluate_roughness(drives: &[Drive]) -> anyhow::Result<RoughnessResult> {
    let pieces = |wanted: fn(&Labels) -> bool| -> anyhow::Result<Vec<f64>> {
        let mut values = Vec::new();
        for drive in drives.iter().filter(|d| wanted(&d.labels)) {
            values.extend(
                roughness_segments(&drive.trace, 100.0)?
                    .iter()
                    .map(|p| p.iri_m_per_km),
            );
        }
        Ok(values)
    };
    let good = pieces(|labels| matches!(labels, Labels::Good))?;
    let bad = pieces(|labels| matches!(labels, Labels::Bad))?;
    Ok(RoughnessResult {
        good_pieces: good.len(),
        good_median_iri_m_per_km: median(good),
        bad_pieces: bad.len(),
        bad_median_iri_m_per_km: median(bad),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

const FOLDS: usize = 5;

fn evaluate_classifier(windows: &[Window]) -> anyhow::Result<ClassifierResult> {
    let mut fold_of = Vec::with_capacity(windows.len());
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for window in windows {
        let index = seen.entry(class_index(window.class)).or_insert(0);
        fold_of.push(*index % FOLDS);
        *index += 1;
    }
    let mut confusion = Confusion::new(EventClass::ALL.len());
    for fold in 0..FOLDS {
        let training: Vec<&Window> = windows
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f != fold)
            .map(|(w, _)| w)
            .collect();
        let classifier = WindowClassifier::from_model(train_classifier(&training)?)?;
        for (window, _) in windows.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
            let (class, _) = classifier.classify(&window.az, WINDOW_RATE_HZ)?;
            confusion.record(class_index(window.class), class_index(class));
        }
    }
    // The features must exist for every window, or the count below would overstate coverage.
    for window in windows {
        window_features(&window.az, WINDOW_RATE_HZ)?;
    }
    Ok(ClassifierResult {
        folds: FOLDS,
        windows: windows.len(),
        accuracy: confusion.accuracy(),
        classes: EventClass::ALL.iter().map(|c| c.name()).collect(),
        confusion: confusion.counts,
    })
}

fn write_markdown(report: &Report, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "### Event detection (leave-one-drive-out cross-validation)\n"
    )?;
    writeln!(
        out,
        "| method | Lublin P | Lublin R | Lublin F1 | Pittsburgh P | Pittsburgh R | Pittsburgh F1 | good roads: false alarms / km | bad roads: events / km |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for m in &report.detection {
        writeln!(
            out,
            "| {} | {:.3} ({}/{}) | {:.3} ({}/{}) | **{:.3}** | {:.3} ({}/{}) | {:.3} ({}/{}) | **{:.3}** | {:.2} ({} in {:.2} km) | {:.2} ({} in {:.2} km) |",
            m.method,
            m.lublin.precision,
            m.lublin.true_detections,
            m.lublin.detections,
            m.lublin.recall,
            m.lublin.found_labels,
            m.lublin.labels,
            m.lublin.f1,
            m.pittsburgh.precision,
            m.pittsburgh.true_detections,
            m.pittsburgh.detections,
            m.pittsburgh.recall,
            m.pittsburgh.found_labels,
            m.pittsburgh.labels,
            m.pittsburgh.f1,
            m.good_road_false_alarms as f64 / m.good_road_km.max(1e-9),
            m.good_road_false_alarms,
            m.good_road_km,
            m.bad_road_events as f64 / m.bad_road_km.max(1e-9),
            m.bad_road_events,
            m.bad_road_km,
        )?;
    }
    let c = &report.classification;
    writeln!(
        out,
        "\n### Window classifier ({}-fold stratified cross-validation, {} windows)\n\naccuracy **{:.3}**\n",
        c.folds, c.windows, c.accuracy
    )?;
    writeln!(out, "| true \\ predicted | {} |", c.classes.join(" | "))?;
    writeln!(out, "|---|{}", "---|".repeat(c.classes.len()))?;
    for (name, row) in c.classes.iter().zip(&c.confusion) {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        writeln!(out, "| {name} | {} |", cells.join(" | "))?;
    }
    let r = &report.roughness;
    writeln!(
        out,
        "\n### IRI estimated from the accelerometer (100 m pieces, Pittsburgh roads)\n\n\
         | roads | pieces | median IRI estimate (m/km) |\n|---|---|---|\n\
         | labelled good | {} | {:.1} |\n| labelled bad | {} | {:.1} |",
        r.good_pieces, r.good_median_iri_m_per_km, r.bad_pieces, r.bad_median_iri_m_per_km
    )?;
    Ok(())
}
