//! `roadcode sensors ...`: decode recordings, detect and classify road events, compute IRI, and train,
//! evaluate and benchmark the detector on the data set.

mod bench;
mod dataset;
mod evaluate;
mod train;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use sensors::{
    Datum, DecodeConfig, Decoded, Detector, ElevationUnit, Trace, WindowClassifier, decode_frames,
    decode_profile, decode_trace, decode_window, frames_to_trace, iri_segments, roughness_segments,
};
use serde::Serialize;

/// Arguments of `roadcode sensors`.
#[derive(Debug, Args)]
pub struct SensorsArgs {
    #[command(subcommand)]
    command: SensorsCommand,
}

#[derive(Debug, Subcommand)]
enum SensorsCommand {
    /// Detect road events in a trace CSV (or NDJSON frames); prints one JSON line per event.
    Detect {
        /// The trace CSV (DESIGN.md, "Sensor input"), or NDJSON frames (`.ndjson`, `.jsonl`).
        trace: PathBuf,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Estimate IRI from the accelerometer of a trace per piece of road; one JSON line per piece.
    Roughness {
        /// The trace CSV, or NDJSON frames (`.ndjson`, `.jsonl`).
        trace: PathBuf,
        /// Piece length, m.
        #[arg(long, default_value_t = 100.0)]
        segment: f64,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Classify a window of vertical acceleration (one column `az`, m/s²); prints one JSON object.
    Classify {
        /// Sampling rate of the window, Hz.
        #[arg(long)]
        rate: f64,
        /// The window file.
        window: PathBuf,
        #[command(flatten)]
        input: InputArgs,
    },
    /// IRI of a longitudinal profile per segment; prints one JSON line per segment.
    Iri {
        /// Two columns: distance (m) and elevation; comma or whitespace separated.
        profile: PathBuf,
        /// Segment length, m.
        #[arg(long)]
        segment: f64,
        /// Where the first segment starts, m (default: the profile's first distance).
        #[arg(long)]
        start: Option<f64>,
        /// The unit of the elevation column.
        #[arg(long, value_enum, default_value = "m")]
        elevation_unit: UnitArg,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Train the detector and the window classifier on the data set; writes their JSON parameters.
    Train {
        /// The sensor data set (../shared/data/sensors).
        #[arg(long)]
        data: PathBuf,
        /// Where to write detector.json and window_classifier.json.
        #[arg(long, default_value = "sensors/model")]
        out: PathBuf,
    },
    /// Evaluate the detector, the baselines and the window classifier with cross-validation.
    Evaluate {
        /// The sensor data set (../shared/data/sensors).
        #[arg(long)]
        data: PathBuf,
        /// Print JSON instead of Markdown tables.
        #[arg(long)]
        json: bool,
    },
    /// Measure detection throughput on a synthetic trace; prints JSON medians.
    Bench {
        /// Samples in the synthetic trace.
        #[arg(long, default_value_t = 2_000_000)]
        samples: usize,
        /// Timed repetitions (the median is reported).
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
}

#[derive(Debug, Args)]
struct InputArgs {
    /// The datum of the input's positions; GCJ-02 is converted to WGS84.
    #[arg(long, value_enum, default_value = "wgs84")]
    datum: DatumArg,
    /// Fail on the first bad line instead of rejecting it and going on.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DatumArg {
    Wgs84,
    Gcj02,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UnitArg {
    M,
    Mm,
}

/// Runs `roadcode sensors ...`.
pub fn run(args: SensorsArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.command {
        SensorsCommand::Detect { trace, input } => {
            let trace_value = read_trace(&trace, &input)?;
            let detector = Detector::shipped()?;
            for event in detector.detect(&trace_value) {
                let line = EventLine {
                    t: event.t,
                    lat: event.position.map(|p| p.lat()),
                    lon: event.position.map(|p| p.lon()),
                    kind: event.kind.name(),
                    severity: event.severity.name(),
                    confidence: event.confidence,
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
        SensorsCommand::Roughness {
            trace,
            segment,
            input,
        } => {
            let trace_value = read_trace(&trace, &input)?;
            for piece in roughness_segments(&trace_value, segment)? {
                let line = RoughnessLine {
                    start_m: piece.start_m,
                    end_m: piece.end_m,
                    t: piece.t_start,
                    lat: piece.position.map(|p| p.lat()),
                    lon: piece.position.map(|p| p.lon()),
                    speed_m_s: piece.speed_m_s,
                    iri_m_per_km: piece.iri_m_per_km,
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
        SensorsCommand::Classify {
            rate,
            window,
            input,
        } => {
            let bytes = read(&window)?;
            let decoded = decode_window(&bytes, &input.config()).with_context(|| at(&window))?;
            let az = accept(decoded, &window, &input)?;
            let (class, confidence) = WindowClassifier::shipped()?
                .classify(&az, rate)
                .with_context(|| at(&window))?;
            serde_json::to_writer(
                &mut out,
                &ClassLine {
                    class: class.name(),
                    confidence,
                },
            )?;
            writeln!(out)?;
        }
        SensorsCommand::Iri {
            profile,
            segment,
            start,
            elevation_unit,
            input,
        } => {
            let unit = match elevation_unit {
                UnitArg::M => ElevationUnit::Metre,
                UnitArg::Mm => ElevationUnit::Millimetre,
            };
            let bytes = read(&profile)?;
            let decoded =
                decode_profile(&bytes, unit, &input.config()).with_context(|| at(&profile))?;
            let profile_value = accept(decoded, &profile, &input)?;
            for piece in iri_segments(&profile_value, segment, start)? {
                serde_json::to_writer(
                    &mut out,
                    &IriLine {
                        start_m: piece.start_m,
                        end_m: piece.end_m,
                        iri_m_per_km: piece.iri_m_per_km,
                    },
                )?;
                writeln!(out)?;
            }
        }
        SensorsCommand::Train { data, out: folder } => {
            train::run(&data, &folder, &mut out)?;
        }
        SensorsCommand::Evaluate { data, json } => {
            evaluate::run(&data, json, &mut out)?;
        }
        SensorsCommand::Bench { samples, runs } => {
            bench::run(samples, runs, &mut out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

impl InputArgs {
    fn config(&self) -> DecodeConfig {
        DecodeConfig {
            datum: match self.datum {
                DatumArg::Wgs84 => Datum::Wgs84,
                DatumArg::Gcj02 => Datum::Gcj02,
            },
            ..DecodeConfig::default()
        }
    }
}

#[derive(Serialize)]
struct EventLine {
    t: f64,
    lat: Option<f64>,
    lon: Option<f64>,
    kind: &'static str,
    severity: &'static str,
    confidence: f64,
}

#[derive(Serialize)]
struct ClassLine {
    class: &'static str,
    confidence: f64,
}

#[derive(Serialize)]
struct RoughnessLine {
    start_m: f64,
    end_m: f64,
    t: f64,
    lat: Option<f64>,
    lon: Option<f64>,
    speed_m_s: f64,
    iri_m_per_km: f64,
}

#[derive(Serialize)]
struct IriLine {
    start_m: f64,
    end_m: f64,
    iri_m_per_km: f64,
}

/// Reads a trace from a CSV file or, for `.ndjson` / `.jsonl`, from NDJSON frames.
fn read_trace(path: &Path, input: &InputArgs) -> anyhow::Result<Trace> {
    let bytes = read(path)?;
    let is_ndjson = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("ndjson") || ext.eq_ignore_ascii_case("jsonl"));
    if is_ndjson {
        let decoded = decode_frames(&bytes, &input.config()).with_context(|| at(path))?;
        let frames = accept(decoded, path, input)?;
        Ok(frames_to_trace(&frames).with_context(|| at(path))?)
    } else {
        let decoded = decode_trace(&bytes, &input.config()).with_context(|| at(path))?;
        accept(decoded, path, input)
    }
}

/// Reads a whole input file, refusing one larger than the decoders accept before reading it.
fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let limit = DecodeConfig::default().max_bytes;
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > limit as u64 {
        bail!(
            "{}: input is {size} bytes, more than the limit of {limit} bytes",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn at(path: &Path) -> String {
    path.display().to_string()
}

/// Takes a decoded value: rejected lines are reported on stderr (one line each), or fail with `--strict`.
fn accept<T>(decoded: Decoded<T>, path: &Path, input: &InputArgs) -> anyhow::Result<T> {
    if let Some(first) = decoded.rejected.first() {
        if input.strict {
            bail!("{}: {first}", path.display());
        }
        for error in &decoded.rejected {
            eprintln!("roadcode: {}: rejected {error}", path.display());
        }
    }
    Ok(decoded.value)
}
