//! The lifecycle beyond evidence: inspectors' actions (confirm, reject, dispatch, repaired,
//! verified), dispatch of hazards to maintenance units and police, and patrol passes that miss a
//! defect (possibly repaired) or earn a citizen coverage points.

use bevy_ecs::prelude::{DetectChangesMut, Entity, World};

use crate::coord::Utm;
use crate::defect::DefectKind;
use crate::engine::change::Change;
use crate::engine::record::{Action, ActionKind, Source, Target};
use crate::engine::rules::Rules;
use crate::engine::state::{
    Areas, Defect, Device, Directory, Dirty, Evidence, Grid, RoadCell, Sectioning, Status, TILE_M,
    Totals, centre_of, defect_id, tile_of,
};
use crate::engine::systems::entities;
use crate::engine::systems::fuse::{nearest_defect, unlist_candidate};
use crate::engine::systems::{DAY_S, Rows, award, defect_change, distance, push_change, refuse};
use crate::raster::distance_2_to_piece;

/// Applies an inspector's action.
pub(super) fn act(
    world: &mut World,
    directory: &mut Directory,
    dirty: &mut Dirty,
    rules: &Rules,
    id: u64,
    action: &Action,
    point: Option<[f64; 2]>,
) {
    let target = match (&action.target, point) {
        (Target::Defect(defect), _) => directory.defect(*defect),
        (Target::Position(_, kind), Some(point)) => {
            let kinds: Vec<DefectKind> = match kind {
                Some(kind) => vec![*kind],
                None => DefectKind::ALL.to_vec(),
            };
            let wanted = action.action;
            let fits = |entity: Entity| {
                world.get::<Defect>(entity).is_some_and(|d| match wanted {
                    ActionKind::Verified => d.status == Status::Repaired,
                    _ => d.status != Status::Verified,
                })
            };
            kinds
                .into_iter()
                .filter_map(|kind| {
                    nearest_defect(directory, kind, point, rules.fusion.radius_m, fits)
                })
                .min_by(|a, b| a.apart_m.total_cmp(&b.apart_m).then(a.id.cmp(&b.id)))
                .map(|nearest| nearest.entity)
        }
        (Target::Position(..), None) => None,
    };
    let Some(defect) = target else {
        refuse(
            world,
            action.t,
            id,
            &action.device,
            format!("{}: no such defect", action.action.name()),
        );
        return;
    };
    let t = action.t;
    let status = world.get::<Defect>(defect).map(|d| d.status);
    let outcome: Result<&str, String> = match (action.action, status) {
        (_, None) => Err("no such defect".into()),
        (ActionKind::Confirmed, Some(Status::Pending)) => {
            if let Some(mut state) = world.get_mut::<Defect>(defect) {
                // Inspectors' actions name no device entity.
                let device = Entity::PLACEHOLDER;
                if let Some(e) = Evidence::new(id, t, Source::Inspector, device, 1.0) {
                    state.evidence.push(e);
                }
            }
            Ok("inspector confirms it")
        }
        (ActionKind::Confirmed, Some(status)) => Err(format!("is already {}", status.name())),
        (ActionKind::Rejected, Some(Status::Verified)) => Err("is closed".into()),
        (ActionKind::Rejected, Some(_)) => {
            set_status(world, defect, Status::Rejected);
            // A rejected defect takes no more evidence: off the fusion buckets and its cells.
            let cells = world.get::<Defect>(defect).map_or(Vec::new(), |state| {
                unlist_candidate(directory, state, rules.fusion.radius_m);
                state.cells.to_vec()
            });
            for cell in cells {
                if let Some(mut road_cell) = world.get_mut::<RoadCell>(cell) {
                    road_cell.defects.retain(|d| d.entity() != defect);
                }
            }
            Ok("inspector rejects it")
        }
        (ActionKind::Dispatched, Some(Status::Pending | Status::Confirmed)) => {
            dispatch(world, rules, defect, t);
            Ok("")
        }
        (ActionKind::Dispatched, Some(status)) => Err(format!("is {}", status.name())),
        (ActionKind::Repaired, Some(Status::Pending | Status::Confirmed | Status::Dispatched)) => {
            set_status(world, defect, Status::Repaired);
            let first_t = world.get::<Defect>(defect).map_or(t, |d| d.first_t);
            if let Some(mut state) = world.get_mut::<Defect>(defect) {
                state.repaired_t = Some(t);
                state.possibly_repaired = false;
            }
            world.resource_mut::<Totals>().to_repair_s.push(t - first_t);
            Ok("crew reports it repaired")
        }
        (ActionKind::Repaired, Some(status)) => Err(format!("is {}", status.name())),
        (ActionKind::Verified, Some(Status::Repaired)) => {
            set_status(world, defect, Status::Verified);
            Ok("inspector verified the repair")
        }
        (ActionKind::Verified, Some(status)) => Err(format!("is {}, not repaired", status.name())),
    };
    match outcome {
        Ok("") => {}
        Ok(reason) => push_change(world, defect_change(world, defect, t, reason)),
        Err(why) => {
            let defect_id = world.get::<Defect>(defect).map_or(0, |d| d.id);
            refuse(
                world,
                t,
                id,
                &action.device,
                format!("{} defect {defect_id}: it {why}", action.action.name()),
            );
            return;
        }
    }
    dirty.defects.push(defect);
}

fn set_status(world: &mut World, defect: Entity, status: Status) {
    if let Some(mut state) = world.get_mut::<Defect>(defect) {
        state.status = status;
    }
}

/// Sends a defect to the maintenance unit whose area holds it, and to police on a major road.
pub(super) fn dispatch(world: &mut World, rules: &Rules, defect: Entity, t: f64) {
    let grid = world.resource::<Grid>().0.clone();
    let Some(state) = world.get::<Defect>(defect) else {
        return;
    };
    let (id, point) = (state.id, state.point);
    let segment = state
        .cells
        .first()
        .and_then(|&cell| world.get::<RoadCell>(cell))
        .map(|cell| cell.segment);
    let position = grid.projection().to_wgs84(Utm {
        easting: point[0],
        northing: point[1],
    });
    let areas = &world.resource::<Areas>().0;
    let Some(unit) = areas.maintenance_unit(position).map(str::to_owned) else {
        push_change(
            world,
            defect_change(
                world,
                defect,
                t,
                "confirmed, but no maintenance unit's area holds it",
            ),
        );
        return;
    };
    let major = segment.is_some_and(|s| rules.notifies_police(grid.segments()[s as usize].class));
    let police = if major {
        let named = areas.police(position);
        if named.is_empty() {
            vec!["traffic police".to_owned()]
        } else {
            named
        }
    } else {
        Vec::new()
    };
    if let Some(mut state) = world.get_mut::<Defect>(defect) {
        state.status = Status::Dispatched;
        state.unit = Some(unit.clone());
    }
    push_change(
        world,
        defect_change(world, defect, t, format!("dispatched to {unit}")),
    );
    push_change(
        world,
        Change::Dispatch {
            t,
            defect: id,
            unit,
            police,
        },
    );
}

/// A pass along a path: patrols count misses of the counted defects within the strip they see;
/// phones earn coverage points for the sections they crossed.
#[allow(clippy::too_many_arguments)] // The pass, and what it reads and writes.
pub(super) fn pass_over(
    world: &mut World,
    rows: &mut Rows,
    directory: &mut Directory,
    sectioning: &Sectioning,
    rules: &Rules,
    (t, source, device): (f64, Source, Entity),
    path: &[[f64; 2]],
    sections: &[u32],
) {
    if source.is_patrol() {
        let numbers = defects_along(directory, path, rules.lifecycle.pass_half_width_m);
        // Their rows lie anywhere in the city: ask for them all before reading any.
        if let Some(defects) = rows.defects_now(world) {
            for &number in &numbers {
                defects.prefetch_defect(number);
            }
        }
        for number in numbers {
            let Some(&defect) = directory.defects.get(number as usize) else {
                continue;
            };
            let flagged = {
                let Some(state) = rows.defect_by_id(world, defect_id(number), defect) else {
                    continue;
                };
                if !state.status.counts() || state.possibly_repaired {
                    continue;
                }
                state.misses += 1;
                if state.misses >= rules.lifecycle.passes_to_possibly_repaired {
                    state.possibly_repaired = true;
                    true
                } else {
                    false
                }
            };
            if flagged {
                let reason = format!(
                    "possibly repaired: {} patrol passes saw nothing",
                    rules.lifecycle.passes_to_possibly_repaired
                );
                push_change(world, defect_change(world, defect, t, reason));
            }
        }
        for &number in sections {
            if let Some(last) = directory.last_patrol_t.get_mut(number as usize) {
                *last = last.max(t);
            }
        }
        return;
    }
    let Some(citizen) = world.get::<Device>(device).and_then(|d| d.citizen) else {
        return;
    };
    let stale = rules.points.stale_days * DAY_S;
    let mut earned = 0;
    for &number in sections {
        let last_patrol_t = directory
            .last_patrol_t
            .get(number as usize)
            .copied()
            .unwrap_or(f64::NEG_INFINITY);
        let section = entities::section(world, directory, sectioning, number);
        let Some(mut row) = rows.section(world, section) else {
            continue;
        };
        let state = row.bypass_change_detection();
        let recently_covered = state
            .covered
            .get(&citizen)
            .is_some_and(|&last| t - last < stale);
        if t - last_patrol_t >= stale && !recently_covered {
            state.covered.insert(citizen, t);
            earned += rules.points.coverage_section;
        }
    }
    if earned > 0 {
        award(
            world,
            citizen,
            t,
            earned,
            "covered road sections that patrols have not passed lately",
        );
    }
}

/// The defects, by number (`defect_number`), with a cell whose centre lies within `half_width`
/// of a path, each once, in order of number (of creation). The search walks the path a tile at a
/// time and looks only at the tiles that list defects, so it costs what the path's length and the
/// defects near it cost, not its cells.
fn defects_along(directory: &Directory, path: &[[f64; 2]], half_width: f64) -> Vec<u32> {
    let half_width = half_width.max(0.0);
    let mut found = Vec::new();
    for piece in path.windows(2) {
        let (a, b) = (piece[0], piece[1]);
        let steps = (distance(a, b) / TILE_M).ceil().max(1.0) as usize;
        for step in 0..steps {
            let at = |f: f64| [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
            let (p0, p1) = (
                at(step as f64 / steps as f64),
                at((step + 1) as f64 / steps as f64),
            );
            let min = tile_of([p0[0].min(p1[0]) - half_width, p0[1].min(p1[1]) - half_width]);
            let max = tile_of([p0[0].max(p1[0]) + half_width, p0[1].max(p1[1]) + half_width]);
            for tx in min.0..=max.0 {
                for ty in min.1..=max.1 {
                    let listed = directory.road.listed_in((tx, ty));
                    found.extend(listed.iter().filter_map(|&(corner, defect)| {
                        (distance_2_to_piece(a, b, centre_of(corner)) <= half_width * half_width)
                            .then_some(defect)
                    }));
                }
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}
