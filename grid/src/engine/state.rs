//! The engine's world: components of the entities it keeps (cells with evidence, defects, road
//! sections, devices, citizens) and the resources that index them and carry a tick's work.

// bevy_platform's maps hash with foldhash and a fixed seed: fast, and the same on every run.
use bevy_platform::collections::{HashMap, HashSet};
use std::sync::Arc;

use bevy_ecs::prelude::{Component, Entity, Resource};

use crate::defect::{DefectKind, Severity};
use crate::engine::change::Change;
use crate::engine::pci::Grade;
use crate::engine::record::{Action, Pass, Source};
use crate::road_grid::RoadGrid;

/// A cell's health code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// 健康: no confirmed defect that matters.
    Green,
    /// 亚健康: a confirmed defect of weight ≥ the yellow threshold.
    Yellow,
    /// 不健康: a confirmed hazard or a defect of the red weight.
    Red,
}

impl Code {
    /// The wire name: `green`, `yellow`, `red`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Green => "green",
            Code::Yellow => "yellow",
            Code::Red => "red",
        }
    }
}

/// Where a defect is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Seen, not yet trusted.
    Pending,
    /// Trusted: counts for codes and PCI.
    Confirmed,
    /// Sent to a repair crew: still counts.
    Dispatched,
    /// Reported repaired: no longer counts.
    Repaired,
    /// Repair seen by an inspector: closed.
    Verified,
    /// Judged not real by an inspector.
    Rejected,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Confirmed,
        Status::Dispatched,
        Status::Repaired,
        Status::Verified,
        Status::Rejected,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Dispatched => "dispatched",
            Status::Repaired => "repaired",
            Status::Verified => "verified",
            Status::Rejected => "rejected",
        }
    }

    /// Whether a defect in this status counts for cell codes and PCI.
    pub fn counts(self) -> bool {
        matches!(self, Status::Confirmed | Status::Dispatched)
    }
}

/// A road cell that carries evidence. Cells without evidence are not entities: they are green.
#[derive(Debug, Component)]
pub struct RoadCell {
    /// South-west corner on the grid's plane.
    pub corner: (i32, i32),
    /// Index of the cell's segment in the grid.
    pub segment: u32,
    /// The section entity the cell lies in.
    pub section: Entity,
    /// The cell's current code.
    pub code: Code,
    /// Defects that cover the cell.
    pub defects: Vec<Entity>,
}

/// One piece of accepted evidence, as a defect keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The record's sequence number: its evidence id.
    pub id: u64,
    /// Unix time, seconds.
    pub t: f64,
    /// Who made it.
    pub source: Source,
    /// The device's entity.
    pub device: Entity,
    /// The detector's confidence.
    pub confidence: f32,
    /// The severity it reported.
    pub severity: Severity,
    /// Where, on the grid's plane.
    pub point: [f64; 2],
}

/// A defect: evidence fused over one or more cells, and its lifecycle.
#[derive(Debug, Component)]
pub struct Defect {
    /// Public id, in order of creation.
    pub id: u64,
    /// Its kind.
    pub kind: DefectKind,
    /// The worst severity reported since it (re)opened.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: Status,
    /// Patrols have passed it enough times without seeing it.
    pub possibly_repaired: bool,
    /// Patrol passes without a detection since the last detection.
    pub misses: u32,
    /// Where it was first seen, on the grid's plane (fusion compares against this).
    pub point: [f64; 2],
    /// The cells it covers (entities with `RoadCell`).
    pub cells: Vec<Entity>,
    /// How many of its cells lie in each section it touches.
    pub sections: Vec<(Entity, u32)>,
    /// All evidence, oldest first.
    pub evidence: Vec<Evidence>,
    /// Evidence from this time on counts for trust (the time it opened or reopened).
    pub epoch_t: f64,
    /// First evidence ever.
    pub first_t: f64,
    /// When the trust rules were first met.
    pub confirmed_t: Option<f64>,
    /// When it was reported repaired.
    pub repaired_t: Option<f64>,
    /// The maintenance unit it was dispatched to.
    pub unit: Option<String>,
}

/// A road section: up to `section_length_m` of one segment, graded by PCI.
#[derive(Debug, Component)]
pub struct Section {
    /// Index of the segment in the grid.
    pub segment: u32,
    /// Index of the section along the segment, from 0.
    pub index: u32,
    /// Its surface A in m² (cells), counted when first needed.
    pub area_m2: Option<u32>,
    /// Defects with cells in it.
    pub defects: Vec<Entity>,
    /// Current PCI.
    pub pci: f64,
    /// Current grade.
    pub grade: Grade,
    /// Last time a patrol vehicle passed it.
    pub last_patrol_t: f64,
    /// Last time each citizen earned coverage points here (once per stale period).
    pub covered: HashMap<Entity, f64>,
}

/// A device that sends records.
#[derive(Debug, Component)]
pub struct Device {
    /// The citizen it belongs to (phones only).
    pub citizen: Option<Entity>,
    /// Time and plane position of its last accepted record.
    pub last: Option<(f64, [f64; 2])>,
    /// Recent accepted observations (t, kind, cell), to refuse duplicates.
    pub recent: Vec<(f64, DefectKind, (i32, i32))>,
}

/// A citizen who earns incentive points.
#[derive(Debug, Component)]
pub struct Citizen {
    /// Pseudonymous id.
    pub name: String,
    /// Points so far.
    pub points: i64,
}

/// The road grid the world lives on.
#[derive(Resource, Clone)]
pub struct Grid(pub Arc<RoadGrid>);

/// Records waiting for the next tick, with their sequence numbers.
#[derive(Resource, Default)]
pub struct Inbox(pub Vec<(u64, crate::engine::record::Record)>);

/// An observation that passed the plausibility checks.
#[derive(Debug)]
pub struct AcceptedObservation {
    /// Sequence number (evidence id).
    pub id: u64,
    /// The observation.
    pub observation: crate::engine::record::Observation,
    /// Its device's entity.
    pub device: Entity,
    /// Its position on the grid's plane.
    pub point: [f64; 2],
}

/// What a tick has to do, in record order.
#[derive(Debug)]
pub enum Work {
    /// Evidence placed on cells.
    Evidence {
        /// The observation.
        accepted: AcceptedObservation,
        /// Its point on the plane.
        point: [f64; 2],
        /// The cell entities it covers.
        cells: Vec<Entity>,
    },
    /// An inspector's action, with its target's plane point if it names a position.
    Action(u64, Action, Option<[f64; 2]>),
    /// A pass, with the cells that carry evidence along it and the sections it crossed.
    Pass(Pass, Entity, Vec<Entity>, Vec<Entity>),
}

/// The tick's work between systems: accepted records, then placed ones.
#[derive(Resource, Default)]
pub struct Queue {
    /// Records that passed acceptance, before placement.
    pub accepted: Vec<(u64, Accepted)>,
    /// Work placed on cells, for fusion.
    pub placed: Vec<Work>,
}

/// A record after acceptance, before placement.
#[derive(Debug)]
pub enum Accepted {
    /// An observation.
    Observation(AcceptedObservation),
    /// An action.
    Action(Action),
    /// A pass, with its device.
    Pass(Pass, Entity),
}

/// Changes for the ledger and subscribers, in the order they happened.
#[derive(Resource, Default)]
pub struct Outbox(pub Vec<Change>);

/// The engine's clock: the latest record time seen (never the wall clock, for determinism).
#[derive(Resource, Default)]
pub struct Clock(pub f64);

/// Counters for ids.
#[derive(Resource, Default)]
pub struct Counters {
    /// Next defect id.
    pub next_defect: u64,
}

/// Entity lookups by key.
#[derive(Resource, Default)]
pub struct Directory {
    /// Road cells with entities, by corner.
    pub cells: HashMap<(i32, i32), Entity>,
    /// Corners already looked up in the R-tree: the cell's segment, or `None` off the road.
    pub placement: HashMap<(i32, i32), Option<u32>>,
    /// Sections, by (segment index, section index).
    pub sections: HashMap<(u32, u32), Entity>,
    /// Defects by id.
    pub defects: HashMap<u64, Entity>,
    /// Open defects by kind and 4 m bucket of their point, for fusion.
    pub buckets: HashMap<(DefectKind, i32, i32), Vec<Entity>>,
    /// Devices by id.
    pub devices: HashMap<String, Entity>,
    /// Citizens by id.
    pub citizens: HashMap<String, Entity>,
    /// Fingerprints of accepted observations (device, t, kind, cell), to refuse replays.
    pub fingerprints: HashSet<(Entity, u64, DefectKind, (i32, i32))>,
}

/// Per segment of the grid: its length and sections, and the sections' surfaces once counted.
#[derive(Resource, Default)]
pub struct Sectioning {
    /// Per segment: (length m, number of sections, length of each section m).
    pub segments: Vec<(f64, u32, f64)>,
    /// Per segment: each section's surface (its cells), m².
    pub areas: Vec<Vec<u32>>,
}

/// Side of a fusion bucket, metres: at least twice the fusion radius, so a 2 × 2 block of buckets
/// holds every defect within the radius.
pub const BUCKET_M: f64 = 4.0;

/// The bucket of a plane point.
pub fn bucket_of(point: [f64; 2], bucket_m: f64) -> (i32, i32) {
    (
        (point[0] / bucket_m).floor() as i32,
        (point[1] / bucket_m).floor() as i32,
    )
}

/// What changed in this tick and must be recomputed.
#[derive(Resource, Default)]
pub struct Dirty {
    /// Defects whose status, severity or cells changed: their cells' codes and sections need a look.
    pub defects: Vec<Entity>,
    /// Pending defects that received evidence: the trust rules need a look.
    pub trust: Vec<Entity>,
    /// Sections whose defects changed.
    pub sections: Vec<Entity>,
}

/// Maintenance units and police areas.
#[derive(Resource, Default)]
pub struct Areas(pub crate::engine::areas::Areas);

/// Running totals for the district figures.
#[derive(Resource, Default, Debug, Clone)]
pub struct Totals {
    /// Records applied.
    pub records: u64,
    /// Observations accepted as evidence.
    pub evidence: u64,
    /// Records refused.
    pub refused: u64,
    /// Cells by code (only cells with entities; the rest are green).
    pub red_cells: u64,
    /// Yellow cells.
    pub yellow_cells: u64,
    /// Time from first evidence to confirmation of every confirmed defect, seconds.
    pub to_confirmation_s: Vec<f64>,
    /// Time from first evidence to repair of every repaired defect, seconds.
    pub to_repair_s: Vec<f64>,
}
