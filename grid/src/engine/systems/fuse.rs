//! Fusion: evidence joins the nearest open defect of its kind (or, for an outline, one on its
//! cells) or starts a new one; inspectors' actions and patrol passes are applied in between, in
//! record order.

use bevy_ecs::prelude::{DetectChangesMut, Entity, Mut, World};
use smallvec::SmallVec;
use std::ops::Range;

use crate::defect::DefectKind;
use crate::engine::buckets::Candidate;
use crate::engine::prefetch::{Ahead, prefetch, warm_batch};
use crate::engine::record::{Observation, Record, Source};
use crate::engine::road_map::Lookup;
use crate::engine::rules::Rules;
use crate::engine::state::{
    CellDefect, Corner, Defect, Directory, Dirty, Evidence, Queue, Sectioning, Status, Totals,
    bucket_of, corner_at, defect_id, defect_number,
};
use crate::engine::systems::entities;
use crate::engine::systems::lifecycle::{act, pass_over};
use crate::engine::systems::{Rows, defect_change, distance, push_change, refuse};

/// Fuses evidence into defects, applies inspectors' actions and patrol passes, in record order.
pub fn fuse_evidence(world: &mut World) {
    let rules = world.resource::<Rules>().clone();
    let sectioning = world
        .remove_resource::<Sectioning>()
        .expect("the engine inserts Sectioning");
    let mut queue = std::mem::take(&mut *world.resource_mut::<Queue>());
    let mut dirty = std::mem::take(&mut *world.resource_mut::<Dirty>());
    let mut new_cells = 0;
    world.resource_scope(|world, mut directory: Mut<Directory>| {
        let mut fusion = Fusion {
            rows: Rows::new(world),
            directory: &mut directory,
            dirty: &mut dirty,
            rules: &rules,
            sectioning: &sectioning,
            new_cells: 0,
        };
        let Queue {
            first_id,
            records,
            work,
            points,
            cells,
            corners,
            sections,
        } = &queue;
        let mut foresight = Ahead::default();
        for (at, (id, (record, work))) in (*first_id..).zip(records.iter().zip(work)).enumerate() {
            if let Some(next) = warm_batch(at, records.len()) {
                fusion.directory.buckets.forget_changes();
                foresight = warm(
                    world,
                    &fusion.rows,
                    fusion.directory,
                    &queue,
                    rules.fusion.radius_m,
                    next,
                );
            }
            if work.refused {
                continue;
            }
            let placed = Placed {
                cells: &cells[work.cells.clone()],
                corners: &corners[work.cells.clone()],
            };
            let device = work.device.unwrap_or(Entity::PLACEHOLDER);
            match record {
                Record::Observation(observation) => fusion.fuse(
                    world,
                    Fusing {
                        id,
                        device,
                        foreseen: foresight.at(at),
                        point: points[work.points.start],
                        observation,
                    },
                    placed,
                ),
                Record::Action(action) => {
                    let point = points[work.points.clone()].first().copied();
                    act(
                        world,
                        fusion.directory,
                        fusion.dirty,
                        &rules,
                        id,
                        action,
                        point,
                    );
                }
                Record::Pass(pass) => pass_over(
                    world,
                    &mut fusion.rows,
                    fusion.directory,
                    fusion.sectioning,
                    &rules,
                    (pass.t, pass.source, device),
                    &points[work.points.clone()],
                    &sections[work.sections.clone()],
                ),
            }
        }
        new_cells = fusion.new_cells;
    });
    world.insert_resource(sectioning);
    world.resource_mut::<Totals>().active_cells += new_cells;
    // The records are spent: free their strings now rather than at the next tick.
    queue.records.clear();
    *world.resource_mut::<Dirty>() = dirty;
    *world.resource_mut::<Queue>() = queue;
}

/// Starts loading what fusing the next observations will read: the fusion bucket of each, and
/// the row of the defect the evidence would join as things stand (the nearest of its kind: a site
/// often has several defects of one kind, so the first listed is often not it), and the end of
/// its evidence, where the evidence will be written. One level at a time over the batch, so that
/// the loads of each level are all under way together: first every bucket, whose slot is found by
/// arithmetic; then the rows, each of which needs its bucket; then the ends of the evidence, each
/// of which needs its row. What the search found is kept (`Found`). The loads are only a hint to
/// the cache: they decide nothing, and a record whose defect is made by an earlier one of the same
/// batch simply finds it cold. (Passes are left alone: finding the defects along one costs more
/// than waiting for them.)
fn warm(
    world: &World,
    rows: &Rows,
    directory: &Directory,
    queue: &Queue,
    radius: f64,
    next: Range<usize>,
) -> Ahead<Found> {
    let points = || {
        next.clone().filter_map(|at| match &queue.records[at] {
            Record::Observation(observation)
                if !queue.work[at].refused && observation.outline.is_none() =>
            {
                Some((
                    at,
                    observation.kind,
                    queue.points[queue.work[at].points.start],
                ))
            }
            _ => None,
        })
    };
    for (_, _, point) in points() {
        directory.buckets.prefetch(bucket_of(point));
    }
    let mut foresight = Ahead::new(&next);
    let defects = rows.defects_now(world);
    for (at, kind, point) in points() {
        let found = nearest_number(directory, kind, point, radius, |_| true);
        match found {
            Some((number, _)) => {
                if let Some(defects) = &defects {
                    defects.prefetch_defect(number);
                }
                if let Some(entity) = directory.defects.get(number as usize) {
                    prefetch(entity);
                }
            }
            // It will most likely open a defect, which is listed in every bucket its radius
            // reaches; only the point's own bucket is loaded so far.
            None => {
                let home = bucket_of(point);
                for bucket in buckets_reached(point, radius).filter(|&b| b != home) {
                    directory.buckets.prefetch(bucket);
                }
            }
        }
        foresight.keep(at, found);
    }
    if let Some(defects) = &defects {
        for (number, _) in foresight.found().flatten() {
            defects.prefetch_evidence_end(*number);
        }
    }
    foresight
}

/// What a search for the nearest defect found: its number (id − 1) and distance, if any. The
/// warm-up keeps it for each point observation of a batch (`Ahead`); it still holds when fusion
/// reaches the observation unless an earlier record of the batch changed the observation's
/// bucket (`Buckets::changed`), so fusion need not search again.
type Found = Option<(u32, f64)>;

/// The cells an observation lies on, as placement found them, and their corners at the same index.
#[derive(Clone, Copy)]
struct Placed<'a> {
    cells: &'a [Lookup],
    corners: &'a [Corner],
}

impl Placed<'_> {
    const NONE: Placed<'static> = Placed {
        cells: &[],
        corners: &[],
    };
}

/// Whether an observation that joins a defect adds its cells to it: an outline does, and a point
/// does when its position is precise enough to name its cell (`fusion.extent_accuracy_m`): a
/// vaguer position does not say which cell is damaged, and counting every cell its noise reaches
/// would inflate the defect's damaged area.
pub(super) fn spreads(observation: &Observation, rules: &Rules) -> bool {
    observation.outline.is_some() || observation.accuracy_m <= rules.fusion.extent_accuracy_m
}

/// Why a defect is new: "new, seen by" and the source's wire name (`Source::name`), as fixed
/// text so that no reason is allocated per new defect.
fn opened_by(source: Source) -> &'static str {
    match source {
        Source::Vehicle => "new, seen by vehicle",
        Source::Camera => "new, seen by camera",
        Source::Phone => "new, seen by phone",
        Source::Inspector => "new, seen by inspector",
    }
}

/// An accepted, placed observation.
struct Fusing<'a> {
    id: u64,
    device: Entity,
    /// The warm-up's search for the nearest defect, if it looked.
    foreseen: Option<Found>,
    point: [f64; 2],
    observation: &'a Observation,
}

/// What fusing one tick's observations works with.
struct Fusion<'a> {
    rows: Rows,
    directory: &'a mut Directory,
    dirty: &'a mut Dirty,
    rules: &'a Rules,
    sectioning: &'a Sectioning,
    /// Cell entities created.
    new_cells: u64,
}

impl Fusion<'_> {
    fn fuse(&mut self, world: &mut World, fusing: Fusing<'_>, placed: Placed<'_>) {
        let Fusing {
            id,
            device,
            foreseen,
            point,
            observation,
        } = fusing;
        let rules = self.rules;
        // The defect it joins, and how far it lies from where the defect was first seen when the
        // search tells (an outline's defect is found by its cells).
        let (target, apart) = match &observation.outline {
            Some(_) => (self.defect_on_cells(world, observation.kind, placed), None),
            None => {
                let found = match foreseen {
                    Some(found) if !self.directory.buckets.changed(bucket_of(point)) => found,
                    _ => nearest_number(
                        self.directory,
                        observation.kind,
                        point,
                        rules.fusion.radius_m,
                        |_| true,
                    ),
                };
                found
                    .and_then(|found| nearest_of(self.directory, found))
                    .map_or((None, None), |nearest| {
                        (Some((nearest.entity, nearest.id)), Some(nearest.apart_m))
                    })
            }
        };
        let Some(mut evidence) = Evidence::new(
            id,
            observation.t,
            observation.source,
            device,
            observation.confidence as f32,
        ) else {
            let why = "the engine cannot keep evidence with this id or device";
            refuse(world, observation.t, id, &observation.device, why);
            return;
        };
        // The observation that opens a defect always places it, where the defect is first seen.
        let ((defect, defect_id), placed, apart) = match target {
            Some(defect) if spreads(observation, rules) => (defect, placed, apart),
            Some(defect) => (defect, Placed::NONE, apart),
            None => match self.open(world, observation, point) {
                Some(opened) => (opened, placed, Some(0.0)),
                None => {
                    let why = "the engine holds as many defects as it can number";
                    refuse(world, observation.t, id, &observation.device, why);
                    return;
                }
            },
        };
        // Reopen a repaired or closed defect that is seen again. The cells new to the defect are
        // found while its row is at hand: most evidence lands on cells it covers already.
        let mut fresh: SmallVec<[(Corner, Lookup); 2]> = SmallVec::new();
        let (reopened, worse, status) = {
            let Some(state) = self.rows.defect_by_id(world, defect_id, defect) else {
                return;
            };
            for (&found, &corner) in placed.cells.iter().zip(placed.corners) {
                // Placement made the entities of cells that spread a defect; an imprecise point
                // that opens one has only its section, and an earlier record of the tick may
                // have made its entity since.
                let found = entities::current(self.directory, corner, found);
                let covered = match found {
                    Lookup::Entity(cell) => state.covers(corner, cell),
                    // A cell without an entity has no defect.
                    Lookup::Section(_) => false,
                };
                if !covered && !fresh.iter().any(|&(c, _)| c == corner) {
                    fresh.push((corner, found));
                }
            }
            let mut reopened = None;
            if matches!(state.status, Status::Repaired | Status::Verified) {
                state.status = Status::Pending;
                state.epoch_t = observation.t;
                state.severity = observation.severity;
                state.unit = None;
                reopened = Some("reopened: seen again after repair");
            } else if state.possibly_repaired {
                state.possibly_repaired = false;
                reopened = Some("seen again: not repaired after all");
            }
            state.misses = 0;
            let worse = observation.severity > state.severity;
            state.severity = state.severity.max(observation.severity);
            if observation.source == Source::Phone {
                let apart = apart.unwrap_or_else(|| distance(point, state.point));
                evidence.set_near(apart <= rules.trust.phone_radius_m);
            }
            state.evidence.push(evidence);
            (reopened, worse, state.status)
        };
        if let Some(reason) = reopened {
            push_change(world, defect_change(world, defect, observation.t, reason));
        }
        let grown_from = self.dirty.cells.len();
        if let Some(listed) = CellDefect::new(defect, defect_id, observation.kind) {
            self.attach_cells(world, listed, &fresh);
        }
        // Only defects that count make codes and grades: a new or reopened defect is pending,
        // and evidence alone changes nothing. A counted defect that got worse changes all its
        // cells; one that grew, the new ones.
        if !status.counts() {
            self.dirty.cells.truncate(grown_from);
        } else if worse {
            self.dirty.defects.push(defect);
        }
        if status == Status::Pending {
            self.dirty.trust.push(defect_id);
        }
    }

    /// Opens a pending defect where an observation lies.
    fn open(
        &mut self,
        world: &mut World,
        observation: &Observation,
        point: [f64; 2],
    ) -> Option<(Entity, u64)> {
        // Ids count from 1, in order of creation (`Directory::defects`). The buckets number
        // defects in 32 bits; memory runs out long before 4,294,967,295 defects.
        let number = u32::try_from(self.directory.defects.len()).ok()?;
        let id = defect_id(number);
        let entity = world
            .spawn(Defect {
                id,
                kind: observation.kind,
                severity: observation.severity,
                status: Status::Pending,
                possibly_repaired: false,
                misses: 0,
                point,
                cells: Default::default(),
                near: 0,
                home: corner_at(point),
                sections: SmallVec::new(),
                evidence: Vec::new(),
                epoch_t: observation.t,
                first_t: observation.t,
                confirmed_t: None,
                repaired_t: None,
                unit: None,
            })
            .id();
        self.directory.defects.push(entity);
        let candidate = Candidate {
            point,
            number,
            kind: observation.kind,
        };
        list_candidate(self.directory, candidate, self.rules.fusion.radius_m);
        let reason = opened_by(observation.source);
        push_change(world, defect_change(world, entity, observation.t, reason));
        Some((entity, id))
    }

    /// Adds cells that a defect does not cover yet to it (making their entities if they have
    /// none), and the defect to the cells, their sections and the road map's lists for passes;
    /// the cells go to the dirty list.
    ///
    /// A defect's cells and the cells' defects are written together, here (only a rejected
    /// defect, which takes no evidence, leaves its cells), so the defect itself says which cells
    /// are new to it. Likewise a defect lists a section exactly when the section lists the defect,
    /// so only a section new to the defect is fetched: most fresh cells lie in a section the
    /// defect already has.
    fn attach_cells(&mut self, world: &mut World, defect: CellDefect, fresh: &[(Corner, Lookup)]) {
        if fresh.is_empty() {
            return;
        }
        let mut attached: SmallVec<[(Entity, Corner, Entity); 2]> = SmallVec::new();
        for &(corner, found) in fresh {
            let (cell, made) =
                entities::road_cell(world, self.directory, self.sectioning, corner, found);
            self.new_cells += u64::from(made);
            let Some(mut row) = self.rows.cell(world, cell) else {
                continue;
            };
            let road_cell = row.bypass_change_detection();
            road_cell.defects.push(defect);
            attached.push((cell, corner, road_cell.section));
            self.dirty.cells.push(cell);
            self.directory.road.list_defect(corner, defect.number());
        }
        let mut new_sections: SmallVec<[Entity; 2]> = SmallVec::new();
        if let Some(state) = self.rows.defect_by_id(world, defect.id(), defect.entity()) {
            for &(cell, corner, section) in &attached {
                state.add_cell(corner, cell);
                match state.sections.iter_mut().find(|(s, _)| *s == section) {
                    Some((_, count)) => *count += 1,
                    None => {
                        state.sections.push((section, 1));
                        new_sections.push(section);
                    }
                }
            }
        }
        for section in new_sections {
            if let Some(mut row) = self.rows.section(world, section) {
                let listed = &mut row.bypass_change_detection().defects;
                debug_assert!(
                    !listed.contains(&defect.entity()),
                    "sections list a defect once"
                );
                listed.push(defect.entity());
            }
        }
    }

    /// A defect of `kind` on any of the cells (the oldest; rejected defects have left their
    /// cells). Placement made the entities of an outline's cells.
    fn defect_on_cells(
        &mut self,
        world: &World,
        kind: DefectKind,
        placed: Placed<'_>,
    ) -> Option<(Entity, u64)> {
        let cells_rows = self.rows.cells(world);
        placed
            .cells
            .iter()
            .filter_map(|found| match found {
                Lookup::Entity(cell) => cells_rows.get(*cell).ok(),
                Lookup::Section(_) => None,
            })
            .flat_map(|cell| cell.defects.iter())
            .filter(|d| d.kind == kind)
            .min_by_key(|d| d.id())
            .map(|d| (d.entity(), d.id()))
    }
}

/// The buckets a defect's fusion radius reaches.
fn buckets_reached(point: [f64; 2], radius: f64) -> impl Iterator<Item = (i32, i32)> {
    let (x0, y0) = bucket_of([point[0] - radius, point[1] - radius]);
    let (x1, y1) = bucket_of([point[0] + radius, point[1] + radius]);
    (x0..=x1).flat_map(move |bx| (y0..=y1).map(move |by| (bx, by)))
}

/// Lists a new defect in every bucket its fusion radius reaches.
fn list_candidate(directory: &mut Directory, candidate: Candidate, radius: f64) {
    for bucket in buckets_reached(candidate.point, radius) {
        directory.buckets.insert(bucket, candidate);
    }
}

/// Takes a defect off the fusion buckets: it takes no more evidence (rejected).
pub(super) fn unlist_candidate(directory: &mut Directory, defect: &Defect, radius: f64) {
    let Some(number) = defect_number(defect.id) else {
        return;
    };
    for bucket in buckets_reached(defect.point, radius) {
        directory.buckets.remove(bucket, number);
    }
}

/// A defect that `nearest_defect` found, as its bucket lists it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Nearest {
    pub entity: Entity,
    /// Its public id.
    pub id: u64,
    /// How far the point lies from where the defect was first seen, metres.
    pub apart_m: f64,
}

/// The nearest listed defect of `kind` within `radius` of a point (ties to the oldest), among
/// those `keep` accepts. One bucket holds every candidate: each defect is listed in all the
/// buckets its radius reaches.
pub(super) fn nearest_defect(
    directory: &Directory,
    kind: DefectKind,
    point: [f64; 2],
    radius: f64,
    keep: impl Fn(Entity) -> bool,
) -> Option<Nearest> {
    let entity = |number: u32| directory.defects.get(number as usize).copied();
    let found = nearest_number(directory, kind, point, radius, |number| {
        entity(number).is_some_and(&keep)
    })?;
    nearest_of(directory, found)
}

/// The defect a search found (`nearest_number`), with its entity and id.
fn nearest_of(directory: &Directory, (number, apart_m): (u32, f64)) -> Option<Nearest> {
    Some(Nearest {
        entity: *directory.defects.get(number as usize)?,
        id: defect_id(number),
        apart_m,
    })
}

/// `nearest_defect`'s search, answering the defect's number (id − 1) and distance: what the
/// warm-up needs, without a load of the entity.
fn nearest_number(
    directory: &Directory,
    kind: DefectKind,
    point: [f64; 2],
    radius: f64,
    keep: impl Fn(u32) -> bool,
) -> Found {
    let mut best: Option<(f64, u32)> = None;
    for candidate in directory.buckets.get(bucket_of(point)) {
        if candidate.kind != kind {
            continue;
        }
        let d = distance(candidate.point, point);
        if d <= radius
            && best.is_none_or(|best| (d, candidate.number) < best)
            && keep(candidate.number)
        {
            best = Some((d, candidate.number));
        }
    }
    best.map(|(d, number)| (number, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_defects_reason_names_its_source_as_the_wire_does() {
        for source in [
            Source::Vehicle,
            Source::Camera,
            Source::Phone,
            Source::Inspector,
        ] {
            assert_eq!(opened_by(source), format!("new, seen by {}", source.name()));
        }
    }
}
