//! `roadcode engine ...`: run records through the health-code engine.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use grid::engine::{Areas, Change, Engine, Figures, Record, Rules};
use grid::{RoadGrid, UtmZone};
use serde_json::{Value, json};

use crate::grid_cmd::load_network;
use crate::progress::Progress;
use crate::simulate::{self, Scenario};

/// Arguments of `roadcode engine`.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    #[command(subcommand)]
    command: EngineCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EngineCommand {
    /// Run an NDJSON file of records through the engine and print the district figures.
    Replay {
        /// The records, one JSON object per line (docs/OBSERVATIONS.md).
        observations: PathBuf,
        #[command(flatten)]
        setup: EngineSetup,
        /// Write every change, one JSON object per line, to this file.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Records per engine tick.
        #[arg(long, default_value_t = 4096)]
        batch: usize,
        /// What to do with a bad line: skip it (reported on stderr) or stop.
        #[arg(long, value_enum, default_value_t = OnError::Skip)]
        on_error: OnError,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic, plausible record stream over the network (for demos and tests).
    Simulate {
        #[command(flatten)]
        setup: EngineSetup,
        /// How many records.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Defect sites.
        #[arg(long, default_value_t = 2_000)]
        sites: usize,
        /// Days the records span.
        #[arg(long, default_value_t = 90.0)]
        days: f64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (NDJSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure how many records per second one core applies into a world over the whole network.
    Bench {
        #[command(flatten)]
        setup: EngineSetup,
        /// How many records to apply.
        #[arg(long, default_value_t = 2_000_000)]
        records: usize,
        /// Records per tick.
        #[arg(long, default_value_t = 4096)]
        batch: usize,
        /// Defect sites the records are spread over (fewer sites: a working set that fits in
        /// the processor's caches).
        #[arg(long, default_value_t = 20_000)]
        sites: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnError {
    Skip,
    Stop,
}

/// The network, rules and areas an engine runs on.
#[derive(Debug, clap::Args)]
struct EngineSetup {
    /// The road network, GeoJSON.
    #[arg(long, default_value = "data/hangzhou/roads.geojson")]
    roads: PathBuf,
    /// UTM zone of the grid (default: the network's).
    #[arg(long)]
    zone: Option<UtmZone>,
    /// A rules file (TOML; default: the built-in roadcode-rules-2, see docs/RULES.md).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Maintenance and police areas (GeoJSON polygons with `name` and `role`).
    #[arg(long)]
    areas: Option<PathBuf>,
}

impl EngineSetup {
    fn grid(&self, progress: &Progress) -> anyhow::Result<Arc<RoadGrid>> {
        progress.message(&format!("building the grid of {}", self.roads.display()));
        let network = load_network(&self.roads, None)?;
        let grid = RoadGrid::build(&network, self.zone, &|_| {})
            .with_context(|| format!("cannot build the grid of {}", self.roads.display()))?;
        Ok(Arc::new(grid))
    }

    fn engine(&self, progress: &Progress) -> anyhow::Result<Engine> {
        let (grid, rules, areas) = self.parts(progress)?;
        Ok(Engine::new(grid, rules, areas))
    }

    /// The grid, the rules and the areas.
    fn parts(&self, progress: &Progress) -> anyhow::Result<(Arc<RoadGrid>, Rules, Areas)> {
        let rules = match &self.rules {
            Some(path) => {
                Rules::from_toml(&read(path)?).with_context(|| format!("in {}", path.display()))?
            }
            None => Rules::default(),
        };
        let areas = match &self.areas {
            Some(path) => Areas::from_geojson(&read(path)?)
                .with_context(|| format!("in {}", path.display()))?,
            None => Areas::default(),
        };
        Ok((self.grid(progress)?, rules, areas))
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs `roadcode engine`.
pub fn run(args: EngineArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        EngineCommand::Replay {
            observations,
            setup,
            events,
            batch,
            on_error,
            json,
        } => replay(
            &observations,
            &setup,
            events.as_deref(),
            batch.max(1),
            on_error,
            json,
        ),
        EngineCommand::Simulate {
            setup,
            records,
            sites,
            days,
            seed,
            out,
        } => {
            let progress = Progress::new(true);
            let grid = setup.grid(&progress)?;
            progress.message(&format!("simulating {records} records"));
            let scenario = Scenario {
                records,
                sites: sites.max(1),
                vehicles: 40,
                phones: 5_000,
                days,
                seed,
            };
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut writer = BufWriter::new(file);
            for record in simulate::records(&grid, scenario) {
                writeln!(writer, "{}", record.to_json_line())?;
            }
            writer.flush()?;
            progress.finish();
            Ok(ExitCode::SUCCESS)
        }
        EngineCommand::Bench {
            setup,
            records,
            batch,
            sites,
            json,
        } => {
            let (grid, rules, areas) = setup.parts(&Progress::new(false))?;
            let scenario = Scenario {
                records,
                sites: sites.max(1),
                vehicles: 200,
                phones: 20_000,
                days: 365.0,
                seed: 7,
            };
            crate::bench::engine(grid, rules, areas, scenario, batch.max(1), json)
        }
    }
}

fn replay(
    path: &Path,
    setup: &EngineSetup,
    events: Option<&Path>,
    batch: usize,
    on_error: OnError,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let progress = Progress::new(!json);
    let mut engine = setup.engine(&progress)?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut events = events
        .map(|p| {
            std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))
                .map(BufWriter::new)
        })
        .transpose()?;
    let started = Instant::now();
    let mut pending = Vec::with_capacity(batch);
    let mut rejected_lines = 0u64;
    let mut flush = |engine: &mut Engine, pending: &mut Vec<Record>| -> anyhow::Result<()> {
        let changes = engine.tick(std::mem::take(pending));
        if let Some(out) = events.as_mut() {
            for change in &changes {
                writeln!(out, "{}", change_json(change))?;
            }
        }
        Ok(())
    };
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line_number = number + 1;
        let line =
            line.with_context(|| format!("{}: cannot read line {line_number}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match Record::from_json_line(&line) {
            Ok(record) => pending.push(record),
            Err(error) => {
                if on_error == OnError::Stop {
                    flush(&mut engine, &mut pending)?;
                    bail!("{}: line {line_number}: {error}", path.display());
                }
                rejected_lines += 1;
                eprintln!("{}: line {line_number}: {error} (skipped)", path.display());
            }
        }
        if pending.len() >= batch {
            flush(&mut engine, &mut pending)?;
            progress.message(&format!("applied {line_number} lines"));
        }
    }
    flush(&mut engine, &mut pending)?;
    if let Some(out) = events.as_mut() {
        out.flush()?;
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    progress.finish();
    let figures = engine.figures();
    let report = figures_json(&figures, elapsed_ms, rejected_lines, engine.active_cells());
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// The district figures as JSON.
pub fn figures_json(
    figures: &Figures,
    elapsed_ms: u64,
    rejected_lines: u64,
    active_cells: usize,
) -> Value {
    let defects: serde_json::Map<String, Value> = figures
        .defects
        .iter()
        .map(|(s, n)| (s.name().to_owned(), json!(n)))
        .collect();
    let sections: serde_json::Map<String, Value> = figures
        .sections
        .iter()
        .map(|(g, n)| (g.name().to_owned(), json!(n)))
        .collect();
    json!({
        "observations": figures.records,
        "elapsed_ms": elapsed_ms,
        "evidence": figures.evidence,
        "refused": figures.refused,
        "rejected_lines": rejected_lines,
        "cells": {
            "red": figures.red_cells,
            "yellow": figures.yellow_cells,
            "green": figures.road_cells - figures.red_cells - figures.yellow_cells,
            "active": active_cells,
        },
        "defects": defects,
        "possibly_repaired": figures.possibly_repaired,
        "sections": sections,
        "median_hours_to_confirmation": figures.median_hours_to_confirmation,
        "median_hours_to_repair": figures.median_hours_to_repair,
    })
}

/// One change as a JSON object (docs/OBSERVATIONS.md, "Changes").
pub fn change_json(change: &Change) -> Value {
    match change {
        Change::CellCode {
            t,
            cell,
            segment,
            code,
            previous,
            rules,
            defects,
            evidence,
        } => json!({
            "type": "cell_code", "t": t,
            "cell": cell.id().map(|id| id.to_string()).unwrap_or_else(|_| cell.to_string()),
            "segment": segment, "code": code.name(), "previous": previous.name(), "rules": &rules[..],
            "defects": defects, "evidence": evidence,
        }),
        Change::Defect {
            t,
            defect,
            kind,
            severity,
            status,
            possibly_repaired,
            reason,
        } => json!({
            "type": "defect", "t": t, "defect": defect, "kind": kind.name(), "severity": severity.name(),
            "status": status.name(), "possibly_repaired": possibly_repaired, "reason": reason,
        }),
        Change::Dispatch {
            t,
            defect,
            unit,
            police,
        } => json!({
            "type": "dispatch", "t": t, "defect": defect, "unit": unit, "police": police,
        }),
        Change::Section {
            t,
            segment,
            section,
            pci,
            grade,
        } => json!({
            "type": "section", "t": t, "segment": segment, "section": section,
            "pci": (pci * 100.0).round() / 100.0, "grade": grade.name(),
        }),
        Change::Points {
            t,
            citizen,
            points,
            total,
            reason,
        } => json!({
            "type": "points", "t": t, "citizen": citizen, "points": points, "total": total, "reason": reason,
        }),
        Change::Refused {
            t,
            record,
            device,
            reason,
        } => json!({
            "type": "refused", "t": t, "record": record, "device": device, "reason": reason,
        }),
    }
}
