//! `roadcode grid ...`: build the road grid of a network and ask it where positions are.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use grid::{BoundingBox, BuildStep, RoadGrid, RoadNetwork, UtmZone, Wgs84};
use serde::Serialize;

use crate::bench;
use crate::progress::Progress;

/// Arguments of `roadcode grid`.
#[derive(Debug, clap::Args)]
pub struct GridArgs {
    #[command(subcommand)]
    command: GridCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GridCommand {
    /// Build the 1 m² cells of a road network and report their figures.
    Build {
        #[command(flatten)]
        source: GridSource,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Find the road cell at a position, or at every position of a CSV file.
    Locate {
        #[command(flatten)]
        source: GridSource,
        /// Latitude, degrees WGS84.
        #[arg(
            long,
            requires = "lon",
            conflicts_with = "points",
            allow_negative_numbers = true
        )]
        lat: Option<f64>,
        /// Longitude, degrees WGS84.
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// A CSV file with a header and `lat` and `lon` columns: one JSON line per row.
        #[arg(long, required_unless_present = "lat")]
        points: Option<PathBuf>,
        /// How far off the road surface a position may be and still get a cell, metres.
        #[arg(long, default_value_t = 2.0)]
        tolerance: f64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure build time, memory and query speed; prints medians.
    Bench {
        #[command(flatten)]
        source: GridSource,
        /// How many full builds to time.
        #[arg(long, default_value_t = 3)]
        builds: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where the network comes from and how to lay the grid on it.
#[derive(Debug, clap::Args)]
struct GridSource {
    /// The road network, GeoJSON LineStrings / MultiLineStrings.
    #[arg(long, default_value = "data/hangzhou/roads.geojson")]
    roads: PathBuf,
    /// Keep only segments with a point in MINLON,MINLAT,MAXLON,MAXLAT.
    #[arg(long, allow_hyphen_values = true)]
    bbox: Option<BoundingBox>,
    /// UTM zone of the grid, such as 51N (default: the zone of the network's first point).
    #[arg(long)]
    zone: Option<UtmZone>,
}

/// Runs `roadcode grid`.
pub fn run(args: GridArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        GridCommand::Build { source, json } => build(&source, json),
        GridCommand::Locate {
            source,
            lat,
            lon,
            points,
            tolerance,
            json,
        } => {
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                bail!("--tolerance must be a distance in metres, got {tolerance}");
            }
            let (grid, _) = load_and_build(&source, !json)?;
            match (lat, lon, points) {
                (Some(lat), Some(lon), None) => locate_one(&grid, lat, lon, tolerance, json),
                (None, None, Some(points)) => locate_file(&grid, &points, tolerance, json),
                _ => bail!("give either --lat and --lon, or --points"),
            }
        }
        GridCommand::Bench {
            source,
            builds,
            json,
        } => bench::grid(&source.roads, source.bbox, source.zone, builds.max(1), json),
    }
}

/// Figures of one build.
#[derive(Debug, Serialize)]
pub struct BuildReport {
    pub segments: usize,
    pub cells: usize,
    pub area_m2: f64,
    pub utm_zone: String,
    pub build_ms: u64,
    pub load_ms: u64,
    pub rasterise_ms: u64,
    pub index_ms: u64,
    pub peak_rss_mb: u64,
}

fn build(source: &GridSource, json: bool) -> anyhow::Result<ExitCode> {
    let (grid, report) = load_and_build(source, !json)?;
    drop(grid);
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} segments, {} cells ({:.3} km² of road surface) in UTM zone {}\n\
             built in {} ms (load {} ms, rasterise {} ms, index {} ms), peak memory {} MB",
            report.segments,
            report.cells,
            report.area_m2 / 1e6,
            report.utm_zone,
            report.build_ms,
            report.load_ms,
            report.rasterise_ms,
            report.index_ms,
            report.peak_rss_mb
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the network and builds its grid, showing progress on a terminal when `show_progress`.
fn load_and_build(
    source: &GridSource,
    show_progress: bool,
) -> anyhow::Result<(RoadGrid, BuildReport)> {
    let progress = Progress::new(show_progress);
    let started = Instant::now();
    progress.message(&format!("loading {}", source.roads.display()));
    let network = load_network(&source.roads, source.bbox.as_ref())?;
    let loaded = started.elapsed();
    let index_started = std::sync::Mutex::new(None::<Instant>);
    let grid = RoadGrid::build(&network, source.zone, &|step| match step {
        BuildStep::Projecting { segments } => {
            progress.message(&format!("projecting {segments} segments"))
        }
        BuildStep::Rasterising { done, total } => progress.bar("rasterising tiles", done, total),
        BuildStep::Indexing { cells } => {
            if let Ok(mut at) = index_started.lock() {
                *at = Some(Instant::now());
            }
            progress.message(&format!("indexing {cells} cells"))
        }
    })
    .with_context(|| format!("cannot build the grid of {}", source.roads.display()))?;
    let built = started.elapsed();
    progress.finish();
    let index_at = index_started
        .into_inner()
        .ok()
        .flatten()
        .map_or(built, |at| at.duration_since(started));
    let report = BuildReport {
        segments: grid.segments().len(),
        cells: grid.cell_count(),
        area_m2: grid.cell_count() as f64,
        utm_zone: grid.zone().to_string(),
        build_ms: millis(built),
        load_ms: millis(loaded),
        rasterise_ms: millis(index_at.saturating_sub(loaded)),
        index_ms: millis(built.saturating_sub(index_at)),
        peak_rss_mb: bench::peak_rss_mb(),
    };
    Ok((grid, report))
}

/// Reads and decodes a road network, keeping what lies in `bbox`.
pub fn load_network(path: &Path, bbox: Option<&BoundingBox>) -> anyhow::Result<RoadNetwork> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read road network {}", path.display()))?;
    let mut network = RoadNetwork::from_geojson(&text)
        .with_context(|| format!("bad road network {}", path.display()))?;
    if let Some(bbox) = bbox {
        network.retain_in(bbox)?;
    }
    Ok(network)
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// The answer for one position.
#[derive(Debug, Serialize)]
struct LocateAnswer<'a> {
    cell: String,
    segment: u32,
    name: &'a str,
    distance_m: f64,
    centreline_m: f64,
    lat: f64,
    lon: f64,
}

fn answer(grid: &RoadGrid, lat: f64, lon: f64, tolerance: f64) -> anyhow::Result<LocateAnswer<'_>> {
    let position = Wgs84::new(lat, lon)?;
    let located = grid.locate(position, tolerance)?;
    Ok(LocateAnswer {
        cell: located.key.id()?.to_string(),
        segment: located.segment.id,
        name: &located.segment.name,
        distance_m: round_mm(located.distance_m),
        centreline_m: round_mm(located.centreline_m()),
        lat,
        lon,
    })
}

fn round_mm(metres: f64) -> f64 {
    (metres * 1000.0).round() / 1000.0
}

fn locate_one(
    grid: &RoadGrid,
    lat: f64,
    lon: f64,
    tolerance: f64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let found = answer(grid, lat, lon, tolerance)?;
    if json {
        println!("{}", serde_json::to_string(&found)?);
    } else {
        let name = if found.name.is_empty() {
            "(unnamed road)"
        } else {
            found.name
        };
        println!(
            "{} on segment {} {} ({} m from the position, {} m from the centreline)",
            found.cell, found.segment, name, found.distance_m, found.centreline_m
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Answers every row of a `lat,lon` CSV file in order; a bad row or an off-road point gets an error
/// line and the rest go on.
fn locate_file(
    grid: &RoadGrid,
    path: &Path,
    tolerance: f64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = lines
        .next()
        .transpose()
        .with_context(|| format!("cannot read {}", path.display()))?
        .with_context(|| {
            format!(
                "{} is empty: expected a header with lat and lon",
                path.display()
            )
        })?;
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
    let (Some(lat_column), Some(lon_column)) = (
        column(&["lat", "latitude"]),
        column(&["lon", "lng", "longitude"]),
    ) else {
        bail!(
            "{}: the header {header:?} has no lat and lon columns",
            path.display()
        );
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (number, line) in lines.enumerate() {
        let line_number = number + 2;
        let line =
            line.with_context(|| format!("cannot read {} line {line_number}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parse = |index: usize, name: &str| -> anyhow::Result<f64> {
            let field = fields.get(index).copied().unwrap_or("");
            field
                .parse::<f64>()
                .with_context(|| format!("line {line_number}: {name} {field:?} is not a number"))
        };
        let result = parse(lat_column, "lat")
            .and_then(|lat| Ok((lat, parse(lon_column, "lon")?)))
            .and_then(|(lat, lon)| {
                answer(grid, lat, lon, tolerance).with_context(|| format!("line {line_number}"))
            });
        match (result, json) {
            (Ok(found), true) => writeln!(out, "{}", serde_json::to_string(&found)?)?,
            (Ok(found), false) => writeln!(out, "{} {} {}", found.cell, found.segment, found.name)?,
            (Err(error), true) => writeln!(
                out,
                "{}",
                serde_json::json!({ "error": format!("{error:#}") })
            )?,
            (Err(error), false) => writeln!(out, "error: {error:#}")?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
