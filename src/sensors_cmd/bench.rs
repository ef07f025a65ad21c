//! `roadcode sensors bench`: detection throughput on a synthetic trace (no data needed), as JSON medians.
//!
//! The trace is a 50 Hz drive at 12 m/s with road noise, a phone at a fixed tilt, a GNSS fix every
//! second and a pothole every 20 s. One run decodes nothing: it times `Detector::detect` alone (and,
//! separately, `decode_trace` over the same trace written as CSV). Single-threaded, so the figure is per
//! core. Besides wall time, it reports the thread's own CPU time (from the kernel's scheduler statistics),
//! which does not grow when other processes share the core.

use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

use grid::Wgs84;
use sensors::{DecodeConfig, Detector, Sample, Trace, decode_trace};

pub fn run(samples: usize, runs: usize, out: &mut impl Write) -> anyhow::Result<()> {
    let trace = synthetic_trace(samples.max(100))?;
    let detector = Detector::shipped()?;
    let mut detect_seconds = Vec::new();
    let mut detect_cpu_seconds = Vec::new();
    let mut events = 0;
    for _ in 0..runs.max(1) {
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        events = std::hint::black_box(detector.detect(std::hint::black_box(&trace))).len();
        detect_seconds.push(start.elapsed().as_secs_f64());
        if let (Some(from), Some(to)) = (cpu_start, thread_cpu_ns()) {
            detect_cpu_seconds.push(to.saturating_sub(from) as f64 / 1e9);
        }
    }
    let csv = to_csv(&trace);
    let mut decode_seconds = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let decoded = decode_trace(
            std::hint::black_box(csv.as_bytes()),
            &DecodeConfig::default(),
        )?;
        std::hint::black_box(decoded);
        decode_seconds.push(start.elapsed().as_secs_f64());
    }
    let n = trace.samples().len() as f64;
    let detect = median(&mut detect_seconds);
    let decode = median(&mut decode_seconds);
    let detect_cpu = (!detect_cpu_seconds.is_empty()).then(|| median(&mut detect_cpu_seconds));
    let report = serde_json::json!({
        "samples": trace.samples().len(),
        "detect_cpu_median_s": detect_cpu,
        "detect_samples_per_cpu_s": detect_cpu.map(|cpu| n / cpu),
        "runs": runs.max(1),
        "events_found": events,
        "detect_median_s": detect,
        "detect_samples_per_s": n / detect,
        "decode_median_s": decode,
        "decode_samples_per_s": n / decode,
        "decode_mb_per_s": csv.len() as f64 / decode / 1e6,
    });
    writeln!(out, "{report}")?;
    Ok(())
}

/// The time this thread has spent on a CPU, in ns (Linux `/proc/thread-self/schedstat`), so that the
/// figure per core does not depend on what else the machine is doing.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn synthetic_trace(count: usize) -> anyhow::Result<Trace> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = move || {
        // xorshift64*: deterministic road noise in [-0.5, 0.5).
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (tilt_sin, tilt_cos) = 0.4_f64.sin_cos();
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let t = 1.7e9 + i as f64 * 0.02;
        let second = (i / 50) as f64;
        let phase = (i % 1000) as f64 * 0.02;
        // A pothole: the wheel drops, strikes the far edge, the car is jolted back and bounces.
        let [hit, jolt] = sensors::pothole_impact(phase - 10.0);
        let vertical = 9.81 + 0.6 * noise() + hit;
        let forward = 0.3 * noise() + jolt;
        samples.push(Sample {
            t,
            position: Wgs84::new(30.2 + second * 12.0 / 111_195.0 % 0.5, 120.1).ok(),
            speed: Some(12.0),
            accel: [forward, vertical * tilt_sin, vertical * tilt_cos],
            gyro: None,
            hacc: None,
        });
    }
    Ok(Trace::new(samples)?)
}

fn to_csv(trace: &Trace) -> String {
    let mut csv = String::from("t,lat,lon,speed,ax,ay,az\n");
    for s in trace.samples() {
        let (lat, lon) = s.position.map_or((0.0, 0.0), |p| (p.lat(), p.lon()));
        let _ = writeln!(
            csv,
            "{:.3},{lat:.7},{lon:.7},{},{:.4},{:.4},{:.4}",
            s.t,
            s.speed.unwrap_or(0.0),
            s.accel[0],
            s.accel[1],
            s.accel[2]
        );
    }
    csv
}
