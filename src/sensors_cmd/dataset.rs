//! The layout of the sensor data set (../shared/data/sensors, see its README): labelled drives and the
//! González et al. windows. Only the evaluation and training commands read it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use grid::Wgs84;
use sensors::{DecodeConfig, EventClass, Trace, decode_trace, decode_window};

/// Which collection a drive belongs to (their labels are matched differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Phone drives in Lublin at 10 Hz; labels are positions (match within 20 m).
    Lublin,
    /// Phone drives in Pittsburgh at 5 Hz; labels are times (match within 1.5 s).
    Pittsburgh,
}

/// What is known about the events of a drive.
#[derive(Debug, Clone)]
pub enum Labels {
    /// Marked positions of bumps and potholes.
    Positions(Vec<Wgs84>),
    /// Times at which the car hit a pothole.
    Times(Vec<f64>),
    /// A piece of road labelled good: every detection is a false alarm.
    Good,
    /// A piece of road labelled bad: events are expected but not marked.
    Bad,
}

/// One recorded drive with its labels.
pub struct Drive {
    pub name: String,
    pub collection: Collection,
    pub trace: Trace,
    pub labels: Labels,
}

/// One labelled classifier window.
pub struct Window {
    pub class: EventClass,
    pub az: Vec<f64>,
}

/// The rate of the González et al. windows, Hz.
pub const WINDOW_RATE_HZ: f64 = 50.0;

/// Loads every drive, in a fixed order (collection, then file name).
pub fn load_drives(data: &Path) -> anyhow::Result<Vec<Drive>> {
    let mut drives = Vec::new();
    for trace_path in files(&data.join("drives-lublin"), ".trace.csv")? {
        let name = stem(&trace_path, ".trace.csv");
        let marks = std::fs::read_to_string(trace_path.with_file_name(format!("{name}.bumps.csv")))
            .with_context(|| format!("labels of {}", trace_path.display()))?;
        let mut positions = Vec::new();
        for line in marks.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let (lat, lon) = line.split_once(',').context("a mark is lat,lon")?;
            positions.push(Wgs84::new(lat.trim().parse()?, lon.trim().parse()?)?);
        }
        drives.push(Drive {
            trace: load_trace(&trace_path)?,
            name: format!("lublin/{name}"),
            collection: Collection::Lublin,
            labels: Labels::Positions(positions),
        });
    }
    for trace_path in files(&data.join("drives-pittsburgh"), ".trace.csv")? {
        let name = stem(&trace_path, ".trace.csv");
        let labels = if name.starts_with("trip") {
            let text =
                std::fs::read_to_string(trace_path.with_file_name(format!("{name}.potholes.csv")))
                    .with_context(|| format!("labels of {}", trace_path.display()))?;
            let times: Result<Vec<f64>, _> = text
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim().parse::<f64>())
                .collect();
            Labels::Times(times?)
        } else if name.starts_with("good") {
            Labels::Good
        } else if name.starts_with("bad") {
            Labels::Bad
        } else {
            continue;
        };
        drives.push(Drive {
            trace: load_trace(&trace_path)?,
            name: format!("pittsburgh/{name}"),
            collection: Collection::Pittsburgh,
            labels,
        });
    }
    if drives.is_empty() {
        bail!("no drives under {}", data.display());
    }
    Ok(drives)
}

/// Loads the classifier windows, in a fixed order (class, then file name).
pub fn load_windows(data: &Path) -> anyhow::Result<Vec<Window>> {
    let folders = [
        ("potholes", EventClass::Pothole),
        ("asphalt_bumps", EventClass::AsphaltBump),
        ("metal_bumps", EventClass::MetalBump),
        ("worn_out_road", EventClass::Rough),
        ("regular_road", EventClass::Smooth),
    ];
    let mut windows = Vec::new();
    for (folder, class) in folders {
        for path in files(&data.join("windows-gonzalez2017").join(folder), ".csv")? {
            let bytes = std::fs::read(&path)?;
            let decoded = decode_window(&bytes, &DecodeConfig::default())
                .with_context(|| path.display().to_string())?;
            windows.push(Window {
                class,
                az: decoded.value,
            });
        }
    }
    Ok(windows)
}

fn load_trace(path: &Path) -> anyhow::Result<Trace> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let decoded = decode_trace(&bytes, &DecodeConfig::default())
        .with_context(|| path.display().to_string())?;
    if let Some(first) = decoded.rejected.first() {
        bail!("{}: {first}", path.display());
    }
    Ok(decoded.value)
}

fn files(folder: &Path, suffix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    Ok(found)
}

fn stem(path: &Path, suffix: &str) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(suffix).unwrap_or(&name).to_owned()
}
