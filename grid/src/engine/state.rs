//! The engine's world: components of the entities it keeps (cells with evidence, defects, road
//! sections, devices, citizens) and the resources that index them and carry a tick's work.

// bevy_platform's maps hash with foldhash and a fixed seed: fast, and the same on every run.
use bevy_platform::collections::HashMap;
use smallvec::SmallVec;
use smol_str::SmolStr;
use std::ops::Range;
use std::sync::Arc;

use bevy_ecs::entity::{EntityGeneration, EntityIndex};
use bevy_ecs::prelude::{Component, Entity, Resource};

use crate::defect::{DefectKind, Severity};
use crate::engine::buckets::Buckets;
use crate::engine::change::Change;
use crate::engine::pci::Grade;
use crate::engine::record::{Record, Source};
use crate::engine::road_map::{BLOCK_M, Lookup, RoadMap};
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
///
/// One cache line, on a line of its own: codes read a cell's corner and defects and fusion adds
/// to its defects, each a wait on memory for a cell anywhere in the city; a row that straddled
/// two lines would be two.
#[derive(Debug, Component)]
#[repr(align(64))]
pub struct RoadCell {
    /// South-west corner on the grid's plane.
    pub corner: (i32, i32),
    /// Index of the cell's segment in the grid.
    pub segment: u32,
    /// The section entity the cell lies in.
    pub section: Entity,
    /// That section's number (`Sectioning`): a tick grades its sections in this order.
    pub section_number: u32,
    /// The cell's current code.
    pub code: Code,
    /// Defects that cover the cell (most cells have one or two); rejected defects leave.
    pub defects: SmallVec<[CellDefect; 2]>,
}

/// The index that alone names an entity, where the engine keeps entities by index to save memory
/// (the road map's slots, `CellDefect`, `Evidence`; `Entity::from_index` gives the entity back).
/// The engine never despawns, so every entity it has is of its index's first generation; `None`
/// for one of a later generation, which its index alone would not name.
pub fn naming_index(entity: Entity) -> Option<EntityIndex> {
    (entity.generation() == EntityGeneration::FIRST).then(|| entity.index())
}

/// A defect as a cell lists it: enough to pick one by kind and age without fetching it.
///
/// Twelve bytes, so that a cell's two inline fit its row's line (`RoadCell`): the defect's entity
/// by its index alone (`naming_index`), and its number (id − 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellDefect {
    index: EntityIndex,
    number: u32,
    /// Its kind.
    pub kind: DefectKind,
}

impl CellDefect {
    /// A defect as cells list it; `None` for an entity of a later generation than its index's
    /// first, which its index alone would not name, or an id that is not a defect's.
    pub fn new(entity: Entity, id: u64, kind: DefectKind) -> Option<CellDefect> {
        Some(CellDefect {
            index: naming_index(entity)?,
            number: defect_number(id)?,
            kind,
        })
    }

    /// The defect's entity.
    pub fn entity(&self) -> Entity {
        Entity::from_index(self.index)
    }

    /// Its public id (lower is older).
    pub fn id(&self) -> u64 {
        defect_id(self.number)
    }

    /// Its number (`defect_number`).
    pub fn number(&self) -> u32 {
        self.number
    }
}

/// A cell's south-west corner on the grid's plane, metres.
pub type Corner = (i32, i32);

/// The centre of the cell with a south-west corner.
pub fn centre_of(corner: Corner) -> [f64; 2] {
    [f64::from(corner.0) + 0.5, f64::from(corner.1) + 0.5]
}

/// `x.floor() as i32`, without the call: on the x86-64 baseline (no SSE4.1) `f64::floor` is a
/// function in software, and the engine floors every point several times.
pub fn floor_i32(x: f64) -> i32 {
    let truncated = x as i32;
    truncated.saturating_sub(i32::from(f64::from(truncated) > x))
}

/// `x.ceil() as i32`, without the call (see `floor_i32`).
pub fn ceil_i32(x: f64) -> i32 {
    let truncated = x as i32;
    truncated.saturating_add(i32::from(f64::from(truncated) < x))
}

/// The square of side `side_m` of the plane that holds a point, numbered from the origin.
pub fn square_of(point: [f64; 2], side_m: f64) -> (i32, i32) {
    (floor_i32(point[0] / side_m), floor_i32(point[1] / side_m))
}

/// The corner of the cell that holds a plane point.
pub fn corner_at(point: [f64; 2]) -> Corner {
    square_of(point, 1.0)
}

/// The `TILE_M` tile of a plane point.
pub fn tile_of(point: [f64; 2]) -> (i32, i32) {
    square_of(point, TILE_M)
}

/// One piece of accepted evidence, as a defect keeps it: 24 bytes, for a defect's evidence is the
/// bulk of what the engine keeps (a million pieces in the benchmark), and what the trust rules
/// and codes scan.
///
/// The evidence id (the record's sequence number) shares a word with the source and `near`: ids
/// below 2⁵⁶ (more records than the engine could apply in two thousand years at a million a
/// second). The device is kept by its entity's index (`naming_index`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The id in the low `ID_BITS` bits; above them the source (two bits) and `near` (one).
    packed: u64,
    /// Unix time, seconds.
    pub t: f64,
    device: EntityIndex,
    /// The detector's confidence.
    pub confidence: f32,
}

/// Bits of `Evidence::packed` that hold the id.
const ID_BITS: u32 = 56;

impl Evidence {
    /// A piece of evidence, `near` false; `None` for an id of `ID_BITS` bits or more, or a device
    /// entity of a later generation than its index's first, which its index alone would not name.
    pub fn new(
        id: u64,
        t: f64,
        source: Source,
        device: Entity,
        confidence: f32,
    ) -> Option<Evidence> {
        if id >> ID_BITS != 0 {
            return None;
        }
        let device = naming_index(device)?;
        let source = match source {
            Source::Vehicle => 0,
            Source::Camera => 1,
            Source::Phone => 2,
            Source::Inspector => 3,
        };
        Some(Evidence {
            packed: id | source << ID_BITS,
            t,
            device,
            confidence,
        })
    }

    /// The record's sequence number: its evidence id.
    pub fn id(&self) -> u64 {
        self.packed & ((1 << ID_BITS) - 1)
    }

    fn flags(&self) -> u64 {
        self.packed >> ID_BITS
    }

    /// Who made it.
    pub fn source(&self) -> Source {
        match self.flags() & 3 {
            0 => Source::Vehicle,
            1 => Source::Camera,
            2 => Source::Phone,
            _ => Source::Inspector,
        }
    }

    /// For a phone's evidence, whether it lies within the trust rules' phone radius of where the
    /// defect was first seen (`Defect::point`, which never moves), worked out when it joined: the
    /// only use the engine has for its position, so the position itself is not kept (the record
    /// has it). False for other sources.
    pub fn near(&self) -> bool {
        self.flags() >> 2 & 1 == 1
    }

    /// Sets `near`.
    pub fn set_near(&mut self, near: bool) {
        let bit = 1 << (ID_BITS + 2);
        self.packed = if near {
            self.packed | bit
        } else {
            self.packed & !bit
        };
    }

    /// The device's entity.
    pub fn device(&self) -> Entity {
        Entity::from_index(self.device)
    }
}

/// A defect: evidence fused over one or more cells, and its lifecycle.
///
/// Laid out by hand: what fusing one more piece of evidence reads and writes (the fields up to
/// `home`) fills the first 64-byte line, and rows start on a line, so that evidence on a known
/// defect waits for one load from memory instead of three.
#[derive(Debug, Component)]
#[repr(C, align(64))]
pub struct Defect {
    /// All evidence, oldest first.
    pub evidence: Vec<Evidence>,
    /// Which cells of the 8 × 8 m window around `home` it covers, a bit each (`Defect::near_bit`):
    /// whether evidence on a cell adds the cell to the defect is answered here, in the row's first
    /// line, rather than by a search of `cells`, which for a big defect is a load from memory.
    pub near: u64,
    /// Public id, in order of creation.
    pub id: u64,
    /// Patrol passes without a detection since the last detection.
    pub misses: u32,
    /// Its kind.
    pub kind: DefectKind,
    /// The worst severity reported since it (re)opened.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: Status,
    /// Patrols have passed it enough times without seeing it.
    pub possibly_repaired: bool,
    /// The cell of `point`: the centre of the `near` window.
    pub home: Corner,
    /// The cells it covers (entities with `RoadCell`). Inline for a small defect.
    pub cells: SmallVec<[Entity; 2]>,
    /// Where it was first seen, on the grid's plane (fusion compares against this).
    pub point: [f64; 2],
    /// How many of its cells lie in each section it touches. Inline for a defect in one section,
    /// as most are: the same 24 bytes as a `Vec`, and no allocation.
    pub sections: SmallVec<[(Entity, u32); 1]>,
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

impl Defect {
    /// The bit of `near` for a cell, if the cell lies in the window around `home`.
    pub fn near_bit(&self, corner: Corner) -> Option<u64> {
        let (dx, dy) = (
            corner.0.wrapping_sub(self.home.0),
            corner.1.wrapping_sub(self.home.1),
        );
        ((-4..4).contains(&dx) && (-4..4).contains(&dy)).then(|| 1u64 << ((dx + 4) * 8 + (dy + 4)))
    }

    /// Whether the defect covers a cell, given by its corner and entity.
    pub fn covers(&self, corner: Corner, cell: Entity) -> bool {
        match self.near_bit(corner) {
            Some(bit) => self.near & bit != 0,
            None => self.cells.contains(&cell),
        }
    }

    /// Adds a cell that it does not cover yet.
    pub fn add_cell(&mut self, corner: Corner, cell: Entity) {
        if let Some(bit) = self.near_bit(corner) {
            self.near |= bit;
        }
        self.cells.push(cell);
    }
}

/// A road section: up to `section_length_m` of one segment, graded by PCI.
#[derive(Debug, Component)]
pub struct Section {
    /// Index of the segment in the grid.
    pub segment: u32,
    /// Index of the section along the segment, from 0.
    pub index: u32,
    /// The section's number (`Sectioning`).
    pub number: u32,
    /// Defects with cells in it.
    pub defects: Vec<Entity>,
    /// Current PCI.
    pub pci: f64,
    /// Current grade.
    pub grade: Grade,
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
    /// Accepted observations of the duplicate window (t, kind, cell), oldest first: to refuse
    /// duplicates and replays.
    pub recent: SmallVec<[(f64, DefectKind, Corner); 2]>,
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

/// Records waiting for the next tick, and the sequence number of the first.
#[derive(Resource, Default)]
pub struct Inbox {
    /// The sequence number (evidence id) of `records[0]`; the others follow in order.
    pub first_id: u64,
    /// The records, in order.
    pub records: Vec<Record>,
}

/// What the tick found out about one record, beside it in the `Queue`. Its positions on the
/// grid's plane, the cells it covers and the sections it crossed live in the queue's shared lists
/// (no allocation per record, and records are never moved).
#[derive(Debug, Clone, Default)]
pub struct Work {
    /// Refused by a stage: later stages skip it.
    pub refused: bool,
    /// The device's entity (`None` for inspectors' actions, which name no device entity).
    pub device: Option<Entity>,
    /// Its positions on the plane, in `Queue::points`: an observation's position then its outline,
    /// a pass's path, an action's target position.
    pub points: Range<usize>,
    /// The cell entities it covers (observations) or passes over (passes), in `Queue::cells`.
    pub cells: Range<usize>,
    /// The sections a pass crossed, in `Queue::sections`.
    pub sections: Range<usize>,
}

/// The tick's records and what the stages found out about them, in record order.
#[derive(Resource, Default)]
pub struct Queue {
    /// The sequence number (evidence id) of `records[0]`.
    pub first_id: u64,
    /// The tick's records.
    pub records: Vec<Record>,
    /// Per record, at the same index.
    pub work: Vec<Work>,
    /// Plane positions of the tick's records.
    pub points: Vec<[f64; 2]>,
    /// Cells of the tick's records, as the road map knew them when they were placed.
    pub cells: Vec<Lookup>,
    /// The corners of `cells`, at the same index.
    pub corners: Vec<Corner>,
    /// Sections of the tick's passes, by number (`Sectioning`).
    pub sections: Vec<u32>,
}

impl Queue {
    /// Empties the queue for the next tick, keeping its allocations.
    pub fn clear(&mut self) {
        self.records.clear();
        self.work.clear();
        self.points.clear();
        self.cells.clear();
        self.corners.clear();
        self.sections.clear();
    }
}

/// Changes for the ledger and subscribers, in the order they happened.
#[derive(Resource, Default)]
pub struct Outbox(pub Vec<Change>);

/// The engine's clock: the latest record time seen (never the wall clock, for determinism).
#[derive(Resource, Default)]
pub struct Clock(pub f64);

/// Entity lookups by key.
#[derive(Resource, Default)]
pub struct Directory {
    /// Every road cell: its segment and section, and its entity once it carries evidence.
    pub road: RoadMap,
    /// Section entities by section number (`Sectioning`), created on first use.
    pub sections: Vec<Option<Entity>>,
    /// Per section number: the last time a patrol vehicle passed it (−∞ before any). A dense
    /// array rather than a field of the section's row: every patrol pass writes it for the
    /// sections it crosses, and so needs neither their entities nor a wait on their rows.
    pub last_patrol_t: Vec<f64>,
    /// Defects by id: ids count from 1 in order of creation, so the entity of id `n` is at
    /// `n - 1` (no hashing, and no table to rehash as defects are added).
    pub defects: Vec<Entity>,
    /// Defects that can still take evidence, listed in every `BUCKET_M` bucket that their fusion
    /// radius reaches: the bucket of a point lists every candidate within the radius.
    pub buckets: Buckets,
    /// Devices by id. Short ids (up to 23 bytes) are kept inside the table, so a look-up compares
    /// against memory the probe has already loaded rather than following a pointer per record.
    /// With each, its number: devices count from 0 in order of creation (`systems::rows::ById`).
    pub devices: HashMap<SmolStr, (Entity, u32)>,
    /// Citizens by id.
    pub citizens: HashMap<String, Entity>,
}

/// A defect's number: its id − 1, its index in `Directory::defects`, its row in bevy's table of
/// defects (`systems::rows::ById`) and what the fusion buckets list. `None` for id 0, which no
/// defect has, and beyond 32 bits, which the engine refuses to number (memory runs out first).
pub fn defect_number(id: u64) -> Option<u32> {
    u32::try_from(id.checked_sub(1)?).ok()
}

/// A defect's id, from its number (`defect_number`): ids count from 1 in order of creation.
pub fn defect_id(number: u32) -> u64 {
    u64::from(number) + 1
}

impl Directory {
    /// The entity of a defect, by id.
    pub fn defect(&self, id: u64) -> Option<Entity> {
        self.defects.get(defect_number(id)? as usize).copied()
    }

    /// The look-ups of a world over a road map, with a place for every section's entity.
    pub fn new(road: RoadMap, sectioning: &Sectioning) -> Directory {
        Directory {
            road,
            sections: vec![None; sectioning.areas.len()],
            last_patrol_t: vec![f64::NEG_INFINITY; sectioning.areas.len()],
            ..Directory::default()
        }
    }
}

/// The sections of every segment of the grid, numbered from 0 segment after segment (so that a
/// section is found by index, not by hashing), with their surfaces.
#[derive(Resource, Default)]
pub struct Sectioning {
    /// Per segment: the number of its first section. A segment has at least one section.
    pub first: Vec<u32>,
    /// Per section number: its surface (its cells), m².
    pub areas: Vec<u32>,
    /// Per section number: its segment.
    pub segments: Vec<u32>,
    /// Per segment: its id in the network (`GridSegment::id`), apart from the segment's geometry
    /// so that a change names its segment without a wait on memory for a line of that.
    pub ids: Vec<u32>,
}

impl Sectioning {
    /// The segment of a section number and the section's index along it.
    pub fn segment_and_index(&self, section: u32) -> (u32, u32) {
        let segment = self.segments[section as usize];
        (segment, section - self.first[segment as usize])
    }
}

/// Side of a fusion bucket, metres.
pub const BUCKET_M: f64 = 4.0;

/// Side of a tile that a pass sweeps, metres: the road map's block, which lists the (cell,
/// defect) pairs of its cells (`RoadMap::listed_in`), so that `tile_of` numbers blocks.
pub const TILE_M: f64 = BLOCK_M as f64;

/// The `BUCKET_M` fusion bucket of a plane point.
pub fn bucket_of(point: [f64; 2]) -> (i32, i32) {
    square_of(point, BUCKET_M)
}

/// What changed in this tick and must be recomputed.
#[derive(Resource, Default)]
pub struct Dirty {
    /// Defects whose status or severity changed: their cells' codes and sections need a look.
    pub defects: Vec<Entity>,
    /// Cells that a counted defect grew onto: their codes and sections need a look.
    pub cells: Vec<Entity>,
    /// Pending defects that received evidence, by id: the trust rules need a look.
    pub trust: Vec<u64>,
    /// Sections whose defects changed, by number (`Sectioning`), in order.
    pub sections: Vec<(u32, Entity)>,
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
    /// Cells with entities (that carry evidence).
    pub active_cells: u64,
    /// Cells by code (only cells with entities; the rest are green).
    pub red_cells: u64,
    /// Yellow cells.
    pub yellow_cells: u64,
    /// Time from first evidence to confirmation of every confirmed defect, seconds.
    pub to_confirmation_s: Vec<f64>,
    /// Time from first evidence to repair of every repaired defect, seconds.
    pub to_repair_s: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_and_ceil_agree_with_the_standard_ones() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999_999_999,
            -2.000_000_001,
            f64::from(i32::MAX),
            f64::from(i32::MIN),
            f64::from(i32::MIN) - 0.5,
            f64::from(i32::MAX) + 0.5,
            1e20,
            -1e20,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push((state >> 11) as f64 / (1u64 << 53) as f64 * 2e6 - 1e6);
        }
        for x in values {
            assert_eq!(floor_i32(x), x.floor() as i32, "floor {x}");
            assert_eq!(ceil_i32(x), x.ceil() as i32, "ceil {x}");
        }
    }

    #[test]
    fn a_road_cell_is_one_cache_line() {
        assert_eq!(size_of::<RoadCell>(), 64);
        assert_eq!(align_of::<RoadCell>(), 64);
        assert_eq!(size_of::<CellDefect>(), 12);
    }

    #[test]
    fn a_cell_names_the_defect_it_lists_and_refuses_what_it_could_not_name() {
        let entity = Entity::from_raw_u32(41).unwrap();
        let listed = CellDefect::new(entity, 7, DefectKind::Pothole).unwrap();
        assert_eq!((listed.entity(), listed.id()), (entity, 7));
        let reused = Entity::from_index_and_generation(
            entity.index(),
            EntityGeneration::FIRST.after_versions(1),
        );
        assert_eq!(CellDefect::new(reused, 7, DefectKind::Pothole), None);
        assert_eq!(CellDefect::new(entity, 0, DefectKind::Pothole), None);
    }

    #[test]
    fn evidence_fits_24_bytes() {
        assert_eq!(size_of::<Evidence>(), 24);
    }

    #[test]
    fn evidence_gives_back_what_it_was_made_of() {
        let device = Entity::from_raw_u32(1_234).unwrap();
        for (n, source) in [
            Source::Vehicle,
            Source::Camera,
            Source::Phone,
            Source::Inspector,
        ]
        .into_iter()
        .enumerate()
        {
            for id in [0, 1, 987_654_321, (1 << ID_BITS) - 1] {
                let t = 1.794e9 + n as f64 * 0.1;
                let mut e = Evidence::new(id, t, source, device, 0.75).unwrap();
                let made = (e.id(), e.t, e.source(), e.device(), e.confidence);
                assert_eq!(made, (id, t, source, device, 0.75));
                assert!(!e.near());
                e.set_near(true);
                assert!(e.near());
                assert_eq!((e.id(), e.source()), (id, source));
                e.set_near(false);
                assert!(!e.near());
            }
        }
        let later = Entity::from_index_and_generation(
            device.index(),
            EntityGeneration::FIRST.after_versions(1),
        );
        let refused = |id, device| Evidence::new(id, 0.0, Source::Phone, device, 1.0);
        assert_eq!(refused(1 << ID_BITS, device), None);
        assert_eq!(refused(7, later), None);
        // Inspectors' actions name no device entity.
        assert_eq!(
            refused(7, Entity::PLACEHOLDER).unwrap().device(),
            Entity::PLACEHOLDER
        );
    }

    #[test]
    fn what_fusion_touches_of_a_defect_fills_its_first_cache_line() {
        use std::mem::offset_of;
        let hot_end = [
            offset_of!(Defect, evidence) + size_of::<Vec<Evidence>>(),
            offset_of!(Defect, near) + 8,
            offset_of!(Defect, id) + 8,
            offset_of!(Defect, misses) + 4,
            offset_of!(Defect, kind) + 1,
            offset_of!(Defect, severity) + 1,
            offset_of!(Defect, status) + 1,
            offset_of!(Defect, possibly_repaired) + 1,
            offset_of!(Defect, home) + 8,
        ];
        assert!(hot_end.iter().all(|&end| end <= 64), "{hot_end:?}");
        assert_eq!(std::mem::align_of::<Defect>(), 64);
    }
}
