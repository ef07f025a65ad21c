//! The health-code engine: observations become defects, defects become cell codes, cells become
//! graded road sections, and every change is emitted for the ledger.
//!
//! One `Engine` owns a bevy_ecs `World` and runs one `Schedule` per tick over a batch of records
//! (systems in `systems.rs`, in order). It does no I/O and reads no clock: the same records in the
//! same ticks give the same state and the same changes.

mod areas;
mod buckets;
mod change;
mod figures;
mod pci;
mod prefetch;
mod record;
mod road_map;
mod rules;
mod state;
mod systems;

use std::sync::Arc;

use bevy_ecs::prelude::{IntoScheduleConfigs, Schedule, World};

pub use areas::{AreaError, AreaRole, Areas, CITY_UNIT};
pub use change::Change;
pub use figures::Figures;
pub use pci::{Grade, damage_ratio, pci};
pub use record::{
    Action, ActionKind, MAX_LINE_BYTES, Observation, Pass, Record, RecordError, Source, Target,
};
pub use rules::{Rules, RulesError};
pub use state::{Code, Status};

use crate::cell::CellKey;
use crate::coord::Wgs84;
use crate::road_grid::RoadGrid;
use state::{Clock, Defect, Directory, Dirty, Grid, Inbox, Outbox, Queue, RoadCell, Totals};

/// The engine: a world over one road grid, ticked with batches of records.
pub struct Engine {
    world: World,
    schedule: Schedule,
    next_record: u64,
}

/// A defect as the engine holds it, for queries and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct DefectView {
    /// Public id.
    pub id: u64,
    /// Kind.
    pub kind: crate::defect::DefectKind,
    /// Severity.
    pub severity: crate::defect::Severity,
    /// Status.
    pub status: Status,
    /// Whether patrols think it is repaired.
    pub possibly_repaired: bool,
    /// How many cells it covers.
    pub cells: usize,
    /// Evidence ids.
    pub evidence: Vec<u64>,
    /// The maintenance unit it went to.
    pub unit: Option<String>,
}

impl Engine {
    /// An engine over a grid with rules and areas.
    pub fn new(grid: Arc<RoadGrid>, rules: Rules, areas: Areas) -> Engine {
        let mut world = World::new();
        let (sectioning, road) = systems::survey(&grid, &rules);
        world.insert_resource(Directory::new(road, &sectioning));
        world.insert_resource(sectioning);
        world.insert_resource(Grid(grid));
        world.insert_resource(rules);
        world.insert_resource(state::Areas(areas));
        world.init_resource::<Inbox>();
        world.init_resource::<Queue>();
        world.init_resource::<Outbox>();
        world.init_resource::<Clock>();
        world.init_resource::<Dirty>();
        world.init_resource::<Totals>();
        let mut schedule = Schedule::default();
        world.init_resource::<StageTimes>();
        schedule.add_systems(
            (
                stage_done::<0>,
                systems::accept_records,
                stage_done::<1>,
                systems::place_observations,
                stage_done::<2>,
                systems::fuse_evidence,
                stage_done::<3>,
                systems::confirm_defects,
                stage_done::<4>,
                systems::set_cell_codes,
                stage_done::<5>,
                systems::grade_sections,
                stage_done::<6>,
            )
                .chain(),
        );
        Engine {
            world,
            schedule,
            next_record: 0,
        }
    }

    /// Applies a batch of records in order, as one tick, and returns the changes it made. Each
    /// record gets the next sequence number, which is its evidence id.
    pub fn tick(&mut self, records: Vec<Record>) -> Vec<Change> {
        let first_id = self.next_record;
        self.next_record += records.len() as u64;
        *self.world.resource_mut::<Inbox>() = Inbox { first_id, records };
        self.schedule.run(&mut self.world);
        // The next tick's outbox starts as large as this one ended: it would otherwise grow from
        // nothing, copying its changes at every doubling.
        let outbox = &mut self.world.resource_mut::<Outbox>().0;
        let capacity = outbox.len();
        std::mem::replace(outbox, Vec::with_capacity(capacity))
    }

    /// The district figures now.
    pub fn figures(&mut self) -> Figures {
        figures::figures(&mut self.world)
    }

    /// The code of the cell at a position (green for a road cell without evidence), or `None` off
    /// the road.
    pub fn code_at(&self, position: Wgs84) -> Option<(CellKey, Code)> {
        let grid = &self.world.resource::<Grid>().0;
        let located = grid.locate(position, 0.0).ok()?;
        let corner = (located.key.easting, located.key.northing);
        let code = self
            .world
            .resource::<Directory>()
            .road
            .cell_at(corner)
            .and_then(|entity| self.world.get::<RoadCell>(entity))
            .map_or(Code::Green, |cell| cell.code);
        Some((located.key, code))
    }

    /// A defect by id.
    pub fn defect(&self, id: u64) -> Option<DefectView> {
        let entity = self.world.resource::<Directory>().defect(id)?;
        let defect = self.world.get::<Defect>(entity)?;
        Some(DefectView {
            id: defect.id,
            kind: defect.kind,
            severity: defect.severity,
            status: defect.status,
            possibly_repaired: defect.possibly_repaired,
            cells: defect.cells.len(),
            evidence: defect.evidence.iter().map(|e| e.id()).collect(),
            unit: defect.unit.clone(),
        })
    }

    /// Points of a citizen so far.
    pub fn points(&self, citizen: &str) -> Option<i64> {
        let entity = *self.world.resource::<Directory>().citizens.get(citizen)?;
        self.world.get::<state::Citizen>(entity).map(|c| c.points)
    }

    /// Wall time spent in each stage of the schedule so far, in `STAGES` order: for benchmarks.
    pub fn stage_times(&self) -> [(&'static str, std::time::Duration); 6] {
        let times = &self.world.resource::<StageTimes>().spent;
        std::array::from_fn(|i| (STAGES[i], times[i]))
    }

    /// Memory the engine holds from start-up whatever the records, bytes: the road map of every
    /// road cell, and the tables by section number (section entities, last patrol times).
    pub fn fixed_bytes(&self) -> usize {
        let directory = self.world.resource::<Directory>();
        directory.road.fixed_bytes()
            + directory.sections.capacity() * size_of::<Option<bevy_ecs::prelude::Entity>>()
            + directory.last_patrol_t.capacity() * size_of::<f64>()
    }

    /// How many cells have entities (carry evidence).
    pub fn active_cells(&self) -> usize {
        self.world.resource::<Totals>().active_cells as usize
    }
}

/// The stages of a tick, in schedule order.
pub const STAGES: [&str; 6] = ["accept", "place", "fuse", "confirm", "codes", "grades"];

/// Time spent per stage (measurement only: no state depends on it, so determinism holds).
#[derive(bevy_ecs::prelude::Resource, Default)]
struct StageTimes {
    /// When the last stage ended.
    mark: Option<std::time::Instant>,
    spent: [std::time::Duration; 6],
}

/// Ends stage `N - 1` (and starts stage `N`).
fn stage_done<const N: usize>(mut times: bevy_ecs::prelude::ResMut<StageTimes>) {
    let now = std::time::Instant::now();
    if N > 0
        && let Some(mark) = times.mark
    {
        times.spent[N - 1] += now - mark;
    }
    times.mark = Some(now);
}

#[cfg(test)]
mod tests;
