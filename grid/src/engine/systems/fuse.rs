//! Fusion: evidence joins the nearest open defect of its kind (or, for an outline, one on its
//! cells) or starts a new one; inspectors' actions and patrol passes are applied in between, in
//! record order.

use bevy_ecs::prelude::{DetectChangesMut, Entity, Mut, World};
use smallvec::SmallVec;
use std::ops::Range;

use crate::defect::DefectKind;
use crate::engine::prefetch::{prefetch, warm_batch};
use crate::engine::record::{Observation, Record};
use crate::engine::rules::Rules;
use crate::engine::state::{
    Candidate, CellDefect, Corner, Counters, Defect, Directory, Dirty, Evidence, Queue, Status,
    bucket_of, centre_of, corner_at, tile_of,
};
use crate::engine::systems::lifecycle::{act, pass_over};
use crate::engine::systems::{Rows, defect_change, distance, push_change};

/// Fuses evidence into defects, applies inspectors' actions and patrol passes, in record order.
pub fn fuse_evidence(world: &mut World) {
    let rules = world.resource::<Rules>().clone();
    let mut queue = std::mem::take(&mut *world.resource_mut::<Queue>());
    let mut dirty = std::mem::take(&mut *world.resource_mut::<Dirty>());
    world.resource_scope(|world, mut directory: Mut<Directory>| {
        let mut rows = Rows::new(world);
        let Queue {
            first_id,
            records,
            work,
            points,
            cells,
            corners,
            sections,
        } = &queue;
        for (at, (id, (record, work))) in (*first_id..).zip(records.iter().zip(work)).enumerate() {
            if let Some(next) = warm_batch(at, records.len()) {
                warm(
                    world,
                    &mut rows,
                    &directory,
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
                Record::Observation(observation) => fuse(
                    world,
                    &mut rows,
                    &mut directory,
                    &mut dirty,
                    &rules,
                    Fusing {
                        id,
                        device,
                        point: points[work.points.start],
                        observation,
                    },
                    placed,
                ),
                Record::Action(action) => {
                    let point = points[work.points.clone()].first().copied();
                    act(world, &mut directory, &mut dirty, &rules, id, action, point);
                }
                Record::Pass(pass) => pass_over(
                    world,
                    &mut rows,
                    &directory,
                    &rules,
                    (pass.t, pass.source, device),
                    &points[work.points.clone()],
                    &sections[work.sections.clone()],
                ),
            }
        }
    });
    // The records are spent: free their strings now rather than at the next tick.
    queue.records.clear();
    *world.resource_mut::<Dirty>() = dirty;
    *world.resource_mut::<Queue>() = queue;
}

/// Starts loading what fusing the next observations will read: the fusion bucket of each, its
/// candidates, and the row of the defect the evidence would join as things stand (the nearest of
/// its kind: a site often has several defects of one kind, so the first listed is often not it).
/// Only a hint to the cache: it decides nothing, and a record whose defect is made by an earlier
/// one of the same batch simply finds it cold. The loop is short and its iterations independent,
/// so their waits on memory overlap instead of adding up. (Passes are left alone: finding the
/// defects along one costs more than waiting for them.)
fn warm(
    world: &World,
    rows: &mut Rows,
    directory: &Directory,
    queue: &Queue,
    radius: f64,
    next: Range<usize>,
) {
    // Once here, so that each look-up below can skip the archetype check (`get_manual`).
    rows.defects.update_archetypes(world);
    for (record, work) in queue.records[next.clone()].iter().zip(&queue.work[next]) {
        let Record::Observation(observation) = record else {
            continue;
        };
        if work.refused || observation.outline.is_some() {
            continue;
        }
        let point = queue.points[work.points.start];
        if let Some(defect) = nearest_defect(directory, observation.kind, point, radius, |_| true)
            && let Ok(defect) = rows.defects.get_manual(world, defect)
        {
            prefetch(defect);
        }
    }
}

/// The cells an observation lies on: entities and their corners, at the same index.
#[derive(Clone, Copy)]
struct Placed<'a> {
    cells: &'a [Entity],
    corners: &'a [Corner],
}

/// An accepted, placed observation.
struct Fusing<'a> {
    id: u64,
    device: Entity,
    point: [f64; 2],
    observation: &'a Observation,
}

fn fuse(
    world: &mut World,
    rows: &mut Rows,
    directory: &mut Directory,
    dirty: &mut Dirty,
    rules: &Rules,
    fusing: Fusing<'_>,
    placed: Placed<'_>,
) {
    let Fusing {
        id,
        device,
        point,
        observation,
    } = fusing;
    let target = match &observation.outline {
        Some(_) => defect_on_cells(world, rows, observation.kind, placed.cells),
        None => nearest_defect(
            directory,
            observation.kind,
            point,
            rules.fusion.radius_m,
            |_| true,
        ),
    };
    let evidence = Evidence {
        id,
        t: observation.t,
        source: observation.source,
        device,
        confidence: observation.confidence as f32,
        severity: observation.severity,
        point,
    };
    let defect = match target {
        Some(defect) => defect,
        None => {
            let id = {
                let mut counters = world.resource_mut::<Counters>();
                counters.next_defect += 1;
                counters.next_defect
            };
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
                    sections: Vec::new(),
                    evidence: Vec::new(),
                    epoch_t: observation.t,
                    first_t: observation.t,
                    confirmed_t: None,
                    repaired_t: None,
                    unit: None,
                })
                .id();
            directory.defects.insert(id, entity);
            let candidate = Candidate {
                kind: observation.kind,
                id,
                point,
                entity,
            };
            list_candidate(directory, candidate, rules.fusion.radius_m);
            let reason = format!("new, seen by {}", observation.source.name());
            push_change(world, defect_change(world, entity, observation.t, reason));
            entity
        }
    };
    // Reopen a repaired or closed defect that is seen again. The cells new to the defect are
    // found while its row is at hand: most evidence lands on cells it covers already.
    let mut fresh: SmallVec<[(Entity, Corner); 2]> = SmallVec::new();
    let (reopened, worse, status, id) = {
        let Ok(mut row) = rows.defects.get_mut(world, defect) else {
            return;
        };
        let state = row.bypass_change_detection();
        for (&cell, &corner) in placed.cells.iter().zip(placed.corners) {
            if !state.covers(corner, cell) && !fresh.iter().any(|&(c, _)| c == cell) {
                fresh.push((cell, corner));
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
        state.evidence.push(evidence);
        (reopened, worse, state.status, state.id)
    };
    if let Some(reason) = reopened {
        push_change(
            world,
            defect_change(world, defect, observation.t, reason.into()),
        );
    }
    let grown_from = dirty.cells.len();
    let listed = CellDefect {
        entity: defect,
        id,
        kind: observation.kind,
    };
    attach_cells(world, rows, directory, listed, &fresh, &mut dirty.cells);
    // Only defects that count make codes and grades: a new or reopened defect is pending, and
    // evidence alone changes nothing. A counted defect that got worse changes all its cells; one
    // that grew, the new ones.
    if !status.counts() {
        dirty.cells.truncate(grown_from);
    } else if worse {
        dirty.defects.push(defect);
    }
    if status == Status::Pending {
        dirty.trust.push(defect);
    }
}

/// Adds cells that a defect does not cover yet to it, and the defect to the cells, their sections
/// and the pass tiles; the cells go to `new`.
///
/// A defect's cells and the cells' defects are written together, here (only a rejected defect,
/// which takes no evidence, leaves its cells), so the defect itself says which cells are new to it.
/// Likewise a defect lists a section exactly when the section lists the defect, so only a section
/// new to the defect is fetched: most fresh cells lie in a section the defect already has.
fn attach_cells(
    world: &mut World,
    rows: &mut Rows,
    directory: &mut Directory,
    defect: CellDefect,
    fresh: &[(Entity, Corner)],
    new: &mut Vec<Entity>,
) {
    if fresh.is_empty() {
        return;
    }
    let mut attached: SmallVec<[(Entity, Corner, Entity); 2]> = SmallVec::new();
    for &(cell, corner) in fresh {
        let Ok(mut row) = rows.cells.get_mut(world, cell) else {
            continue;
        };
        let road_cell = row.bypass_change_detection();
        road_cell.defects.push(defect);
        attached.push((cell, corner, road_cell.section));
        new.push(cell);
        directory
            .tiles
            .entry(tile_of(centre_of(corner)))
            .or_default()
            .push((corner, defect.entity));
    }
    let mut new_sections: SmallVec<[Entity; 2]> = SmallVec::new();
    if let Ok(mut row) = rows.defects.get_mut(world, defect.entity) {
        let state = row.bypass_change_detection();
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
        if let Ok(mut row) = rows.sections.get_mut(world, section) {
            let listed = &mut row.bypass_change_detection().defects;
            debug_assert!(
                !listed.contains(&defect.entity),
                "sections list a defect once"
            );
            listed.push(defect.entity);
        }
    }
}

/// A defect of `kind` on any of the cells (the oldest; rejected defects have left their cells).
fn defect_on_cells(
    world: &World,
    rows: &mut Rows,
    kind: DefectKind,
    cells: &[Entity],
) -> Option<Entity> {
    let cells_rows = rows.cells.query(world);
    cells
        .iter()
        .filter_map(|&cell| cells_rows.get(cell).ok())
        .flat_map(|cell| cell.defects.iter())
        .filter(|d| d.kind == kind)
        .min_by_key(|d| d.id)
        .map(|d| d.entity)
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
        directory.buckets.entry(bucket).or_default().push(candidate);
    }
}

/// Takes a defect off the fusion buckets: it takes no more evidence (rejected).
pub(super) fn unlist_candidate(
    directory: &mut Directory,
    defect: &Defect,
    entity: Entity,
    radius: f64,
) {
    for bucket in buckets_reached(defect.point, radius) {
        if let Some(candidates) = directory.buckets.get_mut(&bucket) {
            candidates.retain(|c| c.entity != entity);
            if candidates.is_empty() {
                directory.buckets.remove(&bucket);
            }
        }
    }
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
) -> Option<Entity> {
    let candidates = directory.buckets.get(&bucket_of(point))?;
    let mut best: Option<(f64, u64, Entity)> = None;
    for candidate in candidates.iter().filter(|c| c.kind == kind) {
        let d = distance(candidate.point, point);
        if d <= radius
            && best.is_none_or(|(bd, bid, _)| (d, candidate.id) < (bd, bid))
            && keep(candidate.entity)
        {
            best = Some((d, candidate.id, candidate.entity));
        }
    }
    best.map(|(_, _, entity)| entity)
}
