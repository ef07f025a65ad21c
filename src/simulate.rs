//! A synthetic but plausible stream of engine records over a real grid, for benchmarks and demos:
//! defect sites on road cells, patrol vehicles and citizens' phones that see them with GNSS noise,
//! camera outlines, patrol passes, and inspectors who repair and verify. Deterministic by seed.

use grid::engine::{Action, ActionKind, Observation, Pass, Record, Source, Target};
use grid::{DefectKind, RoadGrid, Severity, Utm, Wgs84};
use smol_str::{SmolStr, format_smolstr};

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Records to produce.
    pub records: usize,
    /// Defect sites.
    pub sites: usize,
    /// Patrol vehicles.
    pub vehicles: usize,
    /// Citizens' phones.
    pub phones: usize,
    /// Simulated days the records span.
    pub days: f64,
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
}

/// Unix time the simulation starts at: 2026-11-01 00:00 UTC+8.
const START_T: f64 = 1_793_462_400.0;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Roughly normal noise (sum of uniforms) with standard deviation `sigma`.
    fn noise(&mut self, sigma: f64) -> f64 {
        (self.next() + self.next() + self.next() + self.next() - 2.0) * sigma * 1.732
    }
}

struct Site {
    point: [f64; 2],
    kind: DefectKind,
    severity: Severity,
}

/// The records of a scenario, generated one at a time in time order (so that a long stream needs
/// no memory of its own).
pub struct Stream<'g> {
    grid: &'g RoadGrid,
    scenario: Scenario,
    rng: Rng,
    sites: Vec<Site>,
    step: f64,
    next: usize,
}

/// Generates the records of a scenario, in time order.
pub fn records(grid: &RoadGrid, scenario: Scenario) -> Stream<'_> {
    let mut rng = Rng(scenario.seed.max(1));
    let stride = (grid.cell_count() / scenario.sites.max(1)).max(1);
    let kinds = [
        (DefectKind::Pothole, 0.30),
        (DefectKind::LongitudinalCrack, 0.15),
        (DefectKind::TransverseCrack, 0.15),
        (DefectKind::AlligatorCrack, 0.10),
        (DefectKind::Rutting, 0.08),
        (DefectKind::ManholeCover, 0.05),
        (DefectKind::ManholeFrame, 0.07),
        (DefectKind::Subsidence, 0.05),
        (DefectKind::Raveling, 0.05),
    ];
    let offset = rng.below(stride);
    let sites: Vec<Site> = grid
        .index()
        .iter()
        .skip(offset)
        .step_by(stride)
        .take(scenario.sites)
        .map(|cell| {
            let mut pick = rng.next();
            let kind = kinds
                .iter()
                .find(|(_, share)| {
                    pick -= share;
                    pick < 0.0
                })
                .map_or(DefectKind::Raveling, |(kind, _)| *kind);
            let severity = Severity::ALL[rng.below(3)];
            Site {
                point: cell.centre(),
                kind,
                severity,
            }
        })
        .collect();
    Stream {
        grid,
        scenario,
        rng,
        sites,
        step: scenario.days * 86_400.0 / scenario.records.max(1) as f64,
        next: 0,
    }
}

impl Iterator for Stream<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.next >= self.scenario.records || self.sites.is_empty() {
            return None;
        }
        let t = START_T + self.next as f64 * self.step;
        self.next += 1;
        let grid = self.grid;
        let position = |point: [f64; 2]| {
            grid.projection().to_wgs84(Utm {
                easting: point[0],
                northing: point[1],
            })
        };
        let scenario = self.scenario;
        let rng = &mut self.rng;
        let site = &self.sites[rng.below(self.sites.len())];
        let roll = rng.next();
        let record = if roll < 0.55 {
            let confidence = 0.5 + rng.next() * 0.5;
            observation(
                t,
                Source::Vehicle,
                format_smolstr!("patrol-{}", rng.below(scenario.vehicles)),
                site,
                confidence,
                0.5,
                rng,
                &position,
            )
        } else if roll < 0.90 {
            observation(
                t,
                Source::Phone,
                format_smolstr!("phone-{}", rng.below(scenario.phones)),
                site,
                0.6 + rng.next() * 0.4,
                1.0,
                rng,
                &position,
            )
        } else if roll < 0.94 {
            let mut record = observation(
                t,
                Source::Camera,
                format_smolstr!("camera-{}", rng.below(scenario.vehicles)),
                site,
                0.7 + rng.next() * 0.3,
                0.3,
                rng,
                &position,
            );
            if let Record::Observation(o) = &mut record {
                let half = 0.5 + rng.next() * 2.0;
                let [x, y] = site.point;
                o.outline = Some(
                    [
                        [x - half, y - half],
                        [x + half, y - half],
                        [x + half, y + half],
                        [x - half, y + half],
                    ]
                    .into_iter()
                    .map(position)
                    .collect(),
                );
            }
            record
        } else if roll < 0.98 {
            let [x, y] = site.point;
            let source = if rng.next() < 0.7 {
                Source::Vehicle
            } else {
                Source::Phone
            };
            let device = match source {
                Source::Vehicle => format_smolstr!("patrol-{}", rng.below(scenario.vehicles)),
                _ => format_smolstr!("phone-{}", rng.below(scenario.phones)),
            };
            Record::Pass(Pass {
                t,
                source,
                device,
                citizen: None,
                path: vec![position([x - 20.0, y]), position([x + 20.0, y])],
            })
        } else {
            let action = [
                ActionKind::Repaired,
                ActionKind::Verified,
                ActionKind::Confirmed,
            ][rng.below(3)];
            Record::Action(Action {
                t,
                device: format_smolstr!("inspector-{}", rng.below(20)),
                action,
                target: Target::Position(position(site.point), Some(site.kind)),
            })
        };
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.scenario.records.saturating_sub(self.next);
        (left, Some(left))
    }
}

#[allow(clippy::too_many_arguments)]
fn observation(
    t: f64,
    source: Source,
    device: SmolStr,
    site: &Site,
    confidence: f64,
    noise_m: f64,
    rng: &mut Rng,
    position: &impl Fn([f64; 2]) -> Wgs84,
) -> Record {
    let [x, y] = site.point;
    let point = [x + rng.noise(noise_m), y + rng.noise(noise_m)];
    Record::Observation(Observation {
        t,
        position: position(point),
        source,
        device,
        citizen: None,
        kind: site.kind,
        severity: site.severity,
        confidence,
        accuracy_m: noise_m * 2.0,
        outline: None,
    })
}
