//! `bench` commands: measure speed and memory and print medians (never asserted in tests, because
//! these machines are noisy).

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use grid::{BoundingBox, Cell, Rect, RoadGrid, Utm, UtmZone};
use serde::Serialize;

use crate::grid_cmd::load_network;

/// Queries per timed batch, and batches per figure.
const BATCH: usize = 1_000;
const BATCHES: usize = 101;

/// Peak resident memory of this process so far, MB (Linux `VmHWM`; 0 where unknown).
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb / 1024)
        })
        .unwrap_or(0)
}

#[derive(Debug, Serialize)]
struct GridBench {
    segments: usize,
    cells: usize,
    utm_zone: String,
    builds_ms: Vec<u64>,
    build_ms_median: u64,
    peak_rss_mb: u64,
    /// The figure: WGS84 position → its road cell and segment (`RoadGrid::locate`).
    cell_at_position_ns_median: f64,
    /// Its two parts: the projection to UTM, and the R-tree lookup of a plane point.
    projection_ns_median: f64,
    cell_at_plane_point_ns_median: f64,
    box_100m_us_median: f64,
    box_100m_cells_mean: f64,
    radius_50m_us_median: f64,
    /// Baseline in the same run: the same cells in an rstar tree with default parameters (nodes of 6).
    baseline_default_tree_bulk_load_ms: u64,
    baseline_default_tree_cell_at_plane_point_ns_median: f64,
}

/// Times full builds of the grid, then point and box queries at road positions.
pub fn grid(
    roads: &Path,
    bbox: Option<BoundingBox>,
    zone: Option<UtmZone>,
    builds: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut builds_ms = Vec::new();
    let mut peak_rss = 0;
    let mut grid = None;
    for _ in 0..builds {
        drop(grid.take());
        let started = Instant::now();
        let network = load_network(roads, bbox.as_ref())?;
        let built = RoadGrid::build(&network, zone, &|_| {})?;
        builds_ms.push(started.elapsed().as_millis() as u64);
        if peak_rss == 0 {
            peak_rss = peak_rss_mb();
        }
        grid = Some(built);
    }
    let Some(grid) = grid else {
        anyhow::bail!("no build was run");
    };

    let points = sample_points(&grid, BATCH);
    let positions: Vec<_> = points
        .iter()
        .map(|p| {
            grid.projection().to_wgs84(Utm {
                easting: p[0],
                northing: p[1],
            })
        })
        .collect();
    let index = grid.index();
    let cell_at_position = median_ns_per_op(&positions, |p| {
        let _ = black_box(grid.locate(*p, 2.0));
    });
    let projection = median_ns_per_op(&positions, |p| {
        black_box(grid.to_plane(*p));
    });
    let cell_at_plane_point = median_ns_per_op(&points, |p| {
        black_box(index.at(*p));
    });
    let mut box_cells = 0usize;
    let box_100m = median_ns_per_op(&points[..BATCH / 10], |p| {
        let rect = Rect {
            min: [p[0] - 50.0, p[1] - 50.0],
            max: [p[0] + 50.0, p[1] + 50.0],
        };
        box_cells += black_box(index.in_rect(rect)).len();
    });
    let radius_50m = median_ns_per_op(&points[..BATCH / 10], |p| {
        black_box(index.within(*p, 50.0));
    });

    let (baseline_load, baseline_at) = default_tree_baseline(&grid, &points);

    builds_ms.sort_unstable();
    let report = GridBench {
        segments: grid.segments().len(),
        cells: grid.cell_count(),
        utm_zone: grid.zone().to_string(),
        build_ms_median: builds_ms[builds_ms.len() / 2],
        builds_ms,
        peak_rss_mb: peak_rss,
        cell_at_position_ns_median: cell_at_position,
        projection_ns_median: projection,
        cell_at_plane_point_ns_median: cell_at_plane_point,
        box_100m_us_median: box_100m / 1000.0,
        box_100m_cells_mean: box_cells as f64 / (BATCHES * BATCH / 10) as f64,
        radius_50m_us_median: radius_50m / 1000.0,
        baseline_default_tree_bulk_load_ms: baseline_load,
        baseline_default_tree_cell_at_plane_point_ns_median: baseline_at,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Bulk-loads the grid's cells into an rstar tree with default parameters and times point lookups,
/// to show what `CellTreeParams` buys in this very run.
fn default_tree_baseline(grid: &RoadGrid, points: &[[f64; 2]]) -> (u64, f64) {
    let cells: Vec<Cell> = grid.index().iter().copied().collect();
    let started = Instant::now();
    let tree: rstar::RTree<Cell> = rstar::RTree::bulk_load(cells);
    let load_ms = started.elapsed().as_millis() as u64;
    let at = median_ns_per_op(points, |p| {
        black_box(tree.locate_at_point(&[p[0].floor() as i32, p[1].floor() as i32]));
    });
    (load_ms, at)
}

#[derive(Debug, Serialize)]
struct EngineBench {
    records: usize,
    sites: usize,
    batch: usize,
    /// Time to start the engine over the grid (its road map and sections), milliseconds.
    start_ms: u64,
    generate_ms: u64,
    apply_ms: u64,
    /// The figure: records applied per second on one core, over the whole run.
    records_per_s: f64,
    /// Median of the per-tick rates.
    records_per_s_median_tick: f64,
    /// Milliseconds spent in each stage of the schedule.
    stage_ms: std::collections::BTreeMap<&'static str, u64>,
    /// Records per second of CPU time this thread spent applying them: steadier than the wall
    /// clock on a shared machine.
    records_per_cpu_s: f64,
    evidence: u64,
    refused: u64,
    active_cells: usize,
    defects: u64,
    /// Live bytes the engine gained while applying the records, MB: what it allocated and kept,
    /// by the sizes it asked for (`heap::held_by_this_thread`).
    heap_growth_mb: f64,
    /// Resident memory the process gained meanwhile, MB. Lower than the heap's growth when the
    /// allocator reuses memory that start-up freed (`heap::keep_freed_memory`); higher by the
    /// allocator's own slack otherwise.
    rss_growth_mb: f64,
    /// Page faults while applying the records (minor ones: memory touched for the first time).
    /// Each costs far more on a virtual machine than on bare metal.
    page_faults: u64,
    /// Memory the engine holds from start-up whatever the records (the road map of every road
    /// cell), MB: not part of the growth.
    fixed_mb: f64,
    /// Live bytes the world grew by, per cell that carries evidence (includes evidence,
    /// defects, sections, devices and indexes).
    bytes_per_active_cell: f64,
}

/// Applies a synthetic record stream over the whole network and reports the rate (one core: the
/// engine's schedule runs on the calling thread). Each tick's records are generated just before
/// it, outside the timed part, so the resident memory the run gains is the engine's own.
pub fn engine(
    grid: std::sync::Arc<RoadGrid>,
    rules: grid::engine::Rules,
    areas: grid::engine::Areas,
    scenario: crate::simulate::Scenario,
    batch: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use grid::engine::Engine;

    let mut stream = crate::simulate::records(&grid, scenario);
    let started = Instant::now();
    let mut engine = Engine::new(grid.clone(), rules, areas);
    let start_ms = started.elapsed().as_millis() as u64;
    let rss_before = rss_mb();
    let faults_before = minor_faults();
    // Over the whole loop, so that each tick's records count where they are freed as well as
    // where they are made: what is left is what the engine kept.
    let held_before = crate::heap::held_by_this_thread();
    let mut tick_rates = Vec::new();
    let (mut generate, mut apply, mut apply_cpu_s) = (Duration::ZERO, Duration::ZERO, 0.0);
    loop {
        let started = Instant::now();
        let tick: Vec<_> = stream.by_ref().take(batch).collect();
        generate += started.elapsed();
        if tick.is_empty() {
            break;
        }
        let size = tick.len();
        let cpu_before = thread_cpu_s();
        let started = Instant::now();
        black_box(engine.tick(tick));
        let spent = started.elapsed();
        apply_cpu_s += thread_cpu_s() - cpu_before;
        apply += spent;
        tick_rates.push(size as f64 / spent.as_secs_f64());
    }
    let rss_growth_mb = rss_mb() - rss_before;
    let page_faults = minor_faults().saturating_sub(faults_before);
    let heap_growth = crate::heap::held_by_this_thread() - held_before;
    let heap_growth_mb = heap_growth as f64 / (1024.0 * 1024.0);
    tick_rates.sort_by(f64::total_cmp);
    let figures = engine.figures();
    let active_cells = engine.active_cells();
    let records = figures.records as usize;
    let report = EngineBench {
        records,
        sites: scenario.sites,
        batch,
        start_ms,
        generate_ms: generate.as_millis() as u64,
        apply_ms: apply.as_millis() as u64,
        records_per_s: records as f64 / apply.as_secs_f64(),
        records_per_s_median_tick: tick_rates.get(tick_rates.len() / 2).copied().unwrap_or(0.0),
        records_per_cpu_s: records as f64 / apply_cpu_s.max(f64::MIN_POSITIVE),
        stage_ms: engine
            .stage_times()
            .into_iter()
            .map(|(stage, spent)| (stage, spent.as_millis() as u64))
            .collect(),
        evidence: figures.evidence,
        refused: figures.refused,
        active_cells,
        defects: figures.defects.iter().map(|(_, n)| n).sum(),
        heap_growth_mb,
        rss_growth_mb,
        page_faults,
        fixed_mb: engine.fixed_bytes() as f64 / (1024.0 * 1024.0),
        bytes_per_active_cell: heap_growth as f64 / active_cells.max(1) as f64,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU time of the calling thread so far, seconds, to the nanosecond (0 where unknown).
fn thread_cpu_s() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid, exclusive pointer.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        return 0.0;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Minor page faults of this process so far (0 where unknown).
fn minor_faults() -> u64 {
    // SAFETY: rusage is plain integers and timevals, for which all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage through a valid, exclusive pointer.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if status != 0 {
        return 0;
    }
    usage.ru_minflt as u64
}

/// Resident memory of this process now, MB (Linux `VmRSS`; 0 where unknown).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `count` positions on road cells, spread over the whole grid, each at a pseudo-random spot inside
/// its cell (a fixed seed, so runs compare).
fn sample_points(grid: &RoadGrid, count: usize) -> Vec<[f64; 2]> {
    let stride = (grid.cell_count() / count).max(1);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let cells: Vec<Cell> = grid
        .index()
        .iter()
        .step_by(stride)
        .take(count)
        .copied()
        .collect();
    cells
        .iter()
        .map(|cell| {
            [
                f64::from(cell.easting) + next(),
                f64::from(cell.northing) + next(),
            ]
        })
        .collect()
}

/// Runs `op` over `inputs` in `BATCHES` batches and returns the median time per op, nanoseconds.
fn median_ns_per_op<T>(inputs: &[T], mut op: impl FnMut(&T)) -> f64 {
    let mut per_op: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            for input in inputs {
                op(input);
            }
            started.elapsed().as_nanos() as f64 / inputs.len() as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[per_op.len() / 2]
}
