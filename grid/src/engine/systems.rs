//! The systems of one tick, in schedule order: accept records → place them on cells → fuse evidence
//! into defects (and apply actions and passes, in record order) → confirm by the trust rules (and
//! dispatch hazards, award points) → set cell codes → grade sections.
//!
//! Systems that create entities take `&mut World` so that a record can build on the entity an
//! earlier record of the same tick created; the others are ordinary systems over queries.

use bevy_ecs::prelude::{Entity, Query, Res, ResMut, World};

use crate::cell::CellKey;
use crate::coord::Utm;
use crate::defect::DefectKind;
use crate::engine::change::Change;
use crate::engine::pci::{Grade, damage_ratio, pci};
use crate::engine::record::{ActionKind, Observation, Record, Source, Target};
use crate::engine::rules::Rules;
use crate::engine::state::{
    Accepted, AcceptedObservation, Areas, BUCKET_M, Citizen, Clock, Code, Counters, Defect, Device,
    Directory, Dirty, Evidence, Grid, Inbox, Outbox, Queue, RoadCell, Section, Sectioning, Status,
    Totals, Work, bucket_of,
};
use crate::raster::rasterise_polygon;

/// The most cells one outline may cover: a detection larger than this (10 × 10 m² … 5,000 m²) is
/// refused as implausible.
pub const MAX_OUTLINE_CELLS: usize = 5_000;

const DAY_S: f64 = 86_400.0;

/// A road cell's south-west corner and its segment index.
type RoadCorner = ((i32, i32), u32);

/// Checks each record for plausibility (accuracy, replays, impossible speeds, duplicates) and queues
/// the accepted ones; refusals become changes.
pub fn accept_records(world: &mut World) {
    let records = std::mem::take(&mut world.resource_mut::<Inbox>().0);
    let grid = world.resource::<Grid>().0.clone();
    let rules = world.resource::<Rules>().clone();
    // Project every observation's position in one call: much cheaper than one by one.
    let positions: Vec<_> = records
        .iter()
        .filter_map(|(_, record)| match record {
            Record::Observation(o) => Some(o.position),
            _ => None,
        })
        .collect();
    let mut points = grid.projection().to_utm_all(&positions).into_iter();
    let mut accepted = Vec::with_capacity(records.len());
    for (id, record) in records {
        {
            let mut clock = world.resource_mut::<Clock>();
            clock.0 = clock.0.max(record.t());
        }
        world.resource_mut::<Totals>().records += 1;
        match record {
            Record::Observation(observation) => {
                // One point per observation, in order.
                let Some(Utm { easting, northing }) = points.next() else {
                    continue;
                };
                let point = [easting, northing];
                let device = device_entity(
                    world,
                    &observation.device,
                    observation.source,
                    observation.citizen.as_deref(),
                );
                match plausibility(world, &rules, &observation, device, point) {
                    Ok(()) => accepted.push((
                        id,
                        Accepted::Observation(AcceptedObservation {
                            id,
                            observation,
                            device,
                            point,
                        }),
                    )),
                    Err(reason) => refuse(world, observation.t, id, &observation.device, reason),
                }
            }
            Record::Action(action) => accepted.push((id, Accepted::Action(action))),
            Record::Pass(pass) => {
                let device =
                    device_entity(world, &pass.device, pass.source, pass.citizen.as_deref());
                accepted.push((id, Accepted::Pass(pass, device)));
            }
        }
    }
    world.resource_mut::<Queue>().accepted = accepted;
}

/// The device's entity, created (with its citizen, for phones) on first sight.
fn device_entity(world: &mut World, name: &str, source: Source, citizen: Option<&str>) -> Entity {
    if let Some(&entity) = world.resource::<Directory>().devices.get(name) {
        return entity;
    }
    let citizen = (source == Source::Phone).then(|| {
        let citizen_name = citizen.unwrap_or(name);
        match world.resource::<Directory>().citizens.get(citizen_name) {
            Some(&entity) => entity,
            None => {
                let entity = world
                    .spawn(Citizen {
                        name: citizen_name.to_owned(),
                        points: 0,
                    })
                    .id();
                world
                    .resource_mut::<Directory>()
                    .citizens
                    .insert(citizen_name.to_owned(), entity);
                entity
            }
        }
    });
    let entity = world
        .spawn(Device {
            citizen,
            last: None,
            recent: Vec::new(),
        })
        .id();
    world
        .resource_mut::<Directory>()
        .devices
        .insert(name.to_owned(), entity);
    entity
}

/// Accepts an observation or says why not; on acceptance, remembers it on the device.
fn plausibility(
    world: &mut World,
    rules: &Rules,
    observation: &Observation,
    device: Entity,
    point: [f64; 2],
) -> Result<(), String> {
    if observation.accuracy_m > rules.fusion.max_accuracy_m {
        return Err(format!(
            "accuracy {} m is worse than {} m",
            observation.accuracy_m, rules.fusion.max_accuracy_m
        ));
    }
    let corner = (point[0].floor() as i32, point[1].floor() as i32);
    let fingerprint = (device, observation.t.to_bits(), observation.kind, corner);
    if world
        .resource::<Directory>()
        .fingerprints
        .contains(&fingerprint)
    {
        return Err("replay of an accepted record".into());
    }
    let t = observation.t;
    let window = rules.points.duplicate_window_s;
    {
        let Some(state) = world.get::<Device>(device) else {
            return Err("unknown device".into());
        };
        if observation.source != Source::Inspector
            && let Some((last_t, last_point)) = state.last
        {
            let distance =
                ((point[0] - last_point[0]).powi(2) + (point[1] - last_point[1]).powi(2)).sqrt();
            if t < last_t {
                return Err(format!(
                    "time goes backwards for this device ({t} after {last_t})"
                ));
            }
            let speed = if t > last_t {
                distance / (t - last_t)
            } else if distance > 1.0 {
                f64::INFINITY
            } else {
                0.0
            };
            if speed > rules.points.max_speed_m_per_s {
                return Err(format!(
                    "implausible speed {speed:.0} m/s since the device's last record"
                ));
            }
        }
        if state.recent.iter().any(|&(recent_t, kind, cell)| {
            t - recent_t <= window && kind == observation.kind && cell == corner
        }) {
            return Err(format!(
                "duplicate of a {} at the same cell within {window} s",
                observation.kind
            ));
        }
    }
    let Some(mut state) = world.get_mut::<Device>(device) else {
        return Err("unknown device".into());
    };
    state.last = Some((t, point));
    state
        .recent
        .retain(|&(recent_t, _, _)| t - recent_t <= window);
    state.recent.push((t, observation.kind, corner));
    world
        .resource_mut::<Directory>()
        .fingerprints
        .insert(fingerprint);
    world.resource_mut::<Totals>().evidence += 1;
    Ok(())
}

fn refuse(world: &mut World, t: f64, record: u64, device: &str, reason: String) {
    let mut totals = world.resource_mut::<Totals>();
    totals.refused += 1;
    world.resource_mut::<Outbox>().0.push(Change::Refused {
        t,
        record,
        device: device.to_owned(),
        reason,
    });
}

/// Finds the road cells of every accepted record (creating cell and section entities) and queues
/// the tick's work in record order.
pub fn place_observations(world: &mut World) {
    let accepted = std::mem::take(&mut world.resource_mut::<Queue>().accepted);
    let grid = world.resource::<Grid>().0.clone();
    let rules = world.resource::<Rules>().clone();
    let mut placed = Vec::with_capacity(accepted.len());
    for (id, item) in accepted {
        match item {
            Accepted::Observation(accepted) => {
                let observation = &accepted.observation;
                let point = accepted.point;
                let corners = match &observation.outline {
                    Some(outline) => outline_corners(world, &grid, outline),
                    None => snap(world, &grid, point, rules.fusion.snap_m)
                        .map(|c| vec![c])
                        .ok_or_else(|| format!("no road cell within {} m", rules.fusion.snap_m)),
                };
                match corners {
                    Ok(corners) => {
                        let cells = corners
                            .into_iter()
                            .map(|(corner, segment)| cell_entity(world, &grid, corner, segment))
                            .collect();
                        placed.push(Work::Evidence {
                            accepted,
                            point,
                            cells,
                        });
                    }
                    Err(reason) => {
                        world.resource_mut::<Totals>().evidence -= 1;
                        let (t, device) = (observation.t, observation.device.clone());
                        refuse(world, t, id, &device, reason);
                    }
                }
            }
            Accepted::Action(action) => {
                let point = match &action.target {
                    Target::Position(position, _) => {
                        let utm = grid.projection().to_utm(*position);
                        Some([utm.easting, utm.northing])
                    }
                    Target::Defect(_) => None,
                };
                placed.push(Work::Action(id, action, point));
            }
            Accepted::Pass(pass, device) => {
                let _ = id;
                let path: Vec<[f64; 2]> = pass
                    .path
                    .iter()
                    .map(|p| {
                        let utm = grid.projection().to_utm(*p);
                        [utm.easting, utm.northing]
                    })
                    .collect();
                // Only cells that already carry evidence can hold a defect to miss.
                let cells: Vec<Entity> = {
                    let directory = world.resource::<Directory>();
                    grid.index()
                        .along(&path, rules.lifecycle.pass_half_width_m)
                        .into_iter()
                        .filter_map(|cell| {
                            directory.cells.get(&(cell.easting, cell.northing)).copied()
                        })
                        .collect()
                };
                let sections = sections_along(world, &grid, &path);
                placed.push(Work::Pass(pass, device, cells, sections));
            }
        }
    }
    world.resource_mut::<Queue>().placed = placed;
}

/// The sections a path crosses, found by sampling it every 5 m.
fn sections_along(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    path: &[[f64; 2]],
) -> Vec<Entity> {
    const STEP_M: f64 = 5.0;
    let mut sections = Vec::new();
    for piece in path.windows(2) {
        let (a, b) = (piece[0], piece[1]);
        let length = (b[0] - a[0]).hypot(b[1] - a[1]);
        let steps = (length / STEP_M).ceil().max(1.0) as usize;
        for step in 0..=steps {
            let f = step as f64 / steps as f64;
            let point = [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
            let corner = (point[0].floor() as i32, point[1].floor() as i32);
            if let Some(segment) = road_segment(world, grid, corner) {
                let centre = [f64::from(corner.0) + 0.5, f64::from(corner.1) + 0.5];
                let section = section_entity(world, grid, segment, centre);
                if !sections.contains(&section) {
                    sections.push(section);
                }
            }
        }
    }
    sections
}

/// The road cell at a point, or the nearest within `snap_m`: (corner, segment index).
fn snap(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    point: [f64; 2],
    snap_m: f64,
) -> Option<((i32, i32), u32)> {
    let corner = (point[0].floor() as i32, point[1].floor() as i32);
    if let Some(segment) = road_segment(world, grid, corner) {
        return Some((corner, segment));
    }
    let (cell, _) = grid.index().at_or_near(point, snap_m)?;
    Some(((cell.easting, cell.northing), cell.segment))
}

/// The segment of the road cell at a corner, remembered so that repeated places cost one hash.
fn road_segment(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    corner: (i32, i32),
) -> Option<u32> {
    let mut directory = world.resource_mut::<Directory>();
    *directory.placement.entry(corner).or_insert_with(|| {
        grid.index()
            .at([f64::from(corner.0) + 0.5, f64::from(corner.1) + 0.5])
            .map(|cell| cell.segment)
    })
}

/// The road cells under an outline.
fn outline_corners(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    outline: &[crate::coord::Wgs84],
) -> Result<Vec<RoadCorner>, String> {
    let ring: Vec<(f64, f64)> = grid
        .projection()
        .to_utm_all(outline)
        .into_iter()
        .map(|utm| (utm.easting, utm.northing))
        .collect();
    let polygon = geo::Polygon::new(geo::LineString::from(ring), vec![]);
    let area = geo::Area::unsigned_area(&polygon);
    if area > MAX_OUTLINE_CELLS as f64 {
        return Err(format!(
            "outline of {area:.0} m² is larger than {MAX_OUTLINE_CELLS} m²"
        ));
    }
    let corners: Vec<RoadCorner> = rasterise_polygon(&polygon)
        .into_iter()
        .filter_map(|corner| road_segment(world, grid, corner).map(|segment| (corner, segment)))
        .collect();
    if corners.is_empty() {
        return Err("the outline covers no road cell".into());
    }
    Ok(corners)
}

/// The entity of a road cell, created with its section's entity on first use.
fn cell_entity(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    corner: (i32, i32),
    segment: u32,
) -> Entity {
    if let Some(&entity) = world.resource::<Directory>().cells.get(&corner) {
        return entity;
    }
    let centre = [f64::from(corner.0) + 0.5, f64::from(corner.1) + 0.5];
    let section = section_entity(world, grid, segment, centre);
    let entity = world
        .spawn(RoadCell {
            corner,
            segment,
            section,
            code: Code::Green,
            defects: Vec::new(),
        })
        .id();
    world
        .resource_mut::<Directory>()
        .cells
        .insert(corner, entity);
    entity
}

/// The entity of the section of `segment` that holds a point, created on first use.
fn section_entity(
    world: &mut World,
    grid: &crate::road_grid::RoadGrid,
    segment: u32,
    point: [f64; 2],
) -> Entity {
    let index = section_index(world.resource::<Sectioning>(), grid, segment, point);
    if let Some(&entity) = world
        .resource::<Directory>()
        .sections
        .get(&(segment, index))
    {
        return entity;
    }
    let entity = world
        .spawn(Section {
            segment,
            index,
            area_m2: None,
            defects: Vec::new(),
            pci: 100.0,
            grade: Grade::Excellent,
            last_patrol_t: f64::NEG_INFINITY,
            covered: Default::default(),
        })
        .id();
    world
        .resource_mut::<Directory>()
        .sections
        .insert((segment, index), entity);
    entity
}

/// How many sections a segment of `length_m` has, and how long each is.
pub fn sections_of(rules: &Rules, length_m: f64) -> (u32, f64) {
    let count = (length_m / rules.pci.section_length_m).ceil().max(1.0);
    (count as u32, (length_m / count).max(f64::MIN_POSITIVE))
}

/// The index of the section of `segment` that holds a point.
fn section_index(
    sectioning: &Sectioning,
    grid: &crate::road_grid::RoadGrid,
    segment: u32,
    point: [f64; 2],
) -> u32 {
    let (_, count, length) = sectioning.segments[segment as usize];
    section_at(
        grid.segments()[segment as usize].along(point),
        count,
        length,
    )
}

/// The section that holds a point `along` metres from a segment's start, of `count` sections of
/// `length` metres each.
fn section_at(along: f64, count: u32, length: f64) -> u32 {
    ((along / length) as u32).min(count - 1)
}

/// The lengths and sections of every segment of a grid, and every section's surface: one pass over
/// all cells at start-up, so that grading a section never searches the R-tree.
pub fn sectioning(grid: &crate::road_grid::RoadGrid, rules: &Rules) -> Sectioning {
    let segments: Vec<(f64, u32, f64)> = grid
        .segments()
        .iter()
        .map(|segment| {
            let length = segment.length_m();
            let (count, each) = sections_of(rules, length);
            (length, count, each)
        })
        .collect();
    let mut areas: Vec<Vec<u32>> = segments
        .iter()
        .map(|&(_, count, _)| vec![0; count as usize])
        .collect();
    for cell in grid.index().iter() {
        let (_, count, length) = segments[cell.segment as usize];
        let along = grid.segments()[cell.segment as usize].along(cell.centre());
        let index = section_at(along, count, length) as usize;
        areas[cell.segment as usize][index] += 1;
    }
    Sectioning { segments, areas }
}

/// Fuses evidence into defects, applies inspectors' actions and patrol passes, in record order.
pub fn fuse_evidence(world: &mut World) {
    let placed = std::mem::take(&mut world.resource_mut::<Queue>().placed);
    let rules = world.resource::<Rules>().clone();
    for work in placed {
        match work {
            Work::Evidence {
                accepted,
                point,
                cells,
            } => fuse(world, &rules, accepted, point, cells),
            Work::Action(id, action, point) => act(world, &rules, id, action, point),
            Work::Pass(pass, device, cells, sections) => pass_over(
                world,
                &rules,
                pass.t,
                pass.source,
                device,
                &cells,
                &sections,
            ),
        }
    }
}

fn fuse(
    world: &mut World,
    rules: &Rules,
    accepted: AcceptedObservation,
    point: [f64; 2],
    cells: Vec<Entity>,
) {
    let observation = &accepted.observation;
    let target = match observation.outline {
        Some(_) => defect_on_cells(world, observation.kind, &cells),
        None => nearest_defect(
            world,
            observation.kind,
            point,
            rules.fusion.radius_m,
            |_| true,
        ),
    };
    let evidence = Evidence {
        id: accepted.id,
        t: observation.t,
        source: observation.source,
        device: accepted.device,
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
                    cells: Vec::new(),
                    sections: Vec::new(),
                    evidence: Vec::new(),
                    epoch_t: observation.t,
                    first_t: observation.t,
                    confirmed_t: None,
                    repaired_t: None,
                    unit: None,
                })
                .id();
            let mut directory = world.resource_mut::<Directory>();
            directory.defects.insert(id, entity);
            let (bx, by) = bucket_of(point, BUCKET_M);
            directory
                .buckets
                .entry((observation.kind, bx, by))
                .or_default()
                .push(entity);
            push_change(
                world,
                defect_change(
                    world,
                    entity,
                    observation.t,
                    format!("new, seen by {}", observation.source.name()),
                ),
            );
            entity
        }
    };
    // Reopen a repaired or closed defect that is seen again.
    let created = target.is_none();
    let (reopened, worse, pending) = {
        let Some(mut state) = world.get_mut::<Defect>(defect) else {
            return;
        };
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
        (reopened, worse, state.status == Status::Pending)
    };
    if let Some(reason) = reopened {
        push_change(
            world,
            defect_change(world, defect, observation.t, reason.into()),
        );
    }
    let grown = attach_cells(world, defect, &cells);
    let mut dirty = world.resource_mut::<Dirty>();
    // Evidence alone changes no code: only a new, reopened, worse or larger defect does.
    if created || reopened.is_some() || worse || grown {
        dirty.defects.push(defect);
    }
    if pending {
        dirty.trust.push(defect);
    }
}

/// Adds cells to a defect, and the defect to the cells and their sections; whether any was new.
fn attach_cells(world: &mut World, defect: Entity, cells: &[Entity]) -> bool {
    let mut grown = false;
    for &cell in cells {
        let section = {
            let Some(mut road_cell) = world.get_mut::<RoadCell>(cell) else {
                continue;
            };
            if road_cell.defects.contains(&defect) {
                continue;
            }
            road_cell.defects.push(defect);
            road_cell.section
        };
        grown = true;
        if let Some(mut state) = world.get_mut::<Defect>(defect) {
            state.cells.push(cell);
            match state.sections.iter_mut().find(|(s, _)| *s == section) {
                Some((_, count)) => *count += 1,
                None => state.sections.push((section, 1)),
            }
        }
        if let Some(mut section) = world.get_mut::<Section>(section)
            && !section.defects.contains(&defect)
        {
            section.defects.push(defect);
        }
    }
    grown
}

/// An open defect of `kind` on any of the cells (the oldest).
fn defect_on_cells(world: &World, kind: DefectKind, cells: &[Entity]) -> Option<Entity> {
    cells
        .iter()
        .filter_map(|&cell| world.get::<RoadCell>(cell))
        .flat_map(|cell| cell.defects.iter().copied())
        .filter_map(|entity| world.get::<Defect>(entity).map(|d| (entity, d)))
        .filter(|(_, d)| d.kind == kind && d.status != Status::Rejected)
        .min_by_key(|(_, d)| d.id)
        .map(|(entity, _)| entity)
}

/// The nearest defect of `kind` within `radius` of a point (ties to the oldest), among those `keep`
/// accepts; rejected defects are never found.
fn nearest_defect(
    world: &World,
    kind: DefectKind,
    point: [f64; 2],
    radius: f64,
    keep: impl Fn(&Defect) -> bool,
) -> Option<Entity> {
    let directory = world.resource::<Directory>();
    let (x0, y0) = bucket_of([point[0] - radius, point[1] - radius], BUCKET_M);
    let (x1, y1) = bucket_of([point[0] + radius, point[1] + radius], BUCKET_M);
    let mut best: Option<(f64, u64, Entity)> = None;
    for bx in x0..=x1 {
        for by in y0..=y1 {
            let Some(candidates) = directory.buckets.get(&(kind, bx, by)) else {
                continue;
            };
            for &entity in candidates {
                let Some(defect) = world.get::<Defect>(entity) else {
                    continue;
                };
                if defect.status == Status::Rejected || !keep(defect) {
                    continue;
                }
                let d = (defect.point[0] - point[0]).hypot(defect.point[1] - point[1]);
                if d <= radius && best.is_none_or(|(bd, bid, _)| (d, defect.id) < (bd, bid)) {
                    best = Some((d, defect.id, entity));
                }
            }
        }
    }
    best.map(|(_, _, entity)| entity)
}

/// Applies an inspector's action.
fn act(
    world: &mut World,
    rules: &Rules,
    id: u64,
    action: crate::engine::record::Action,
    point: Option<[f64; 2]>,
) {
    let target =
        match (&action.target, point) {
            (Target::Defect(defect), _) => {
                world.resource::<Directory>().defects.get(defect).copied()
            }
            (Target::Position(_, kind), Some(point)) => {
                let kinds: Vec<DefectKind> = match kind {
                    Some(kind) => vec![*kind],
                    None => DefectKind::ALL.to_vec(),
                };
                let wanted = action.action;
                kinds
                    .into_iter()
                    .filter_map(|kind| {
                        let entity =
                            nearest_defect(world, kind, point, rules.fusion.radius_m, |d| {
                                match wanted {
                                    ActionKind::Verified => d.status == Status::Repaired,
                                    _ => !matches!(d.status, Status::Verified),
                                }
                            })?;
                        let defect = world.get::<Defect>(entity)?;
                        Some((
                            (defect.point[0] - point[0]).hypot(defect.point[1] - point[1]),
                            defect.id,
                            entity,
                        ))
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                    .map(|(_, _, entity)| entity)
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
                let point = state.point;
                let severity = state.severity;
                state.evidence.push(Evidence {
                    id,
                    t,
                    source: Source::Inspector,
                    device: Entity::PLACEHOLDER,
                    confidence: 1.0,
                    severity,
                    point,
                });
            }
            Ok("inspector confirms it")
        }
        (ActionKind::Confirmed, Some(status)) => Err(format!("is already {}", status.name())),
        (ActionKind::Rejected, Some(Status::Verified)) => Err("is closed".into()),
        (ActionKind::Rejected, Some(_)) => {
            set_status(world, defect, Status::Rejected);
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
        Ok(reason) => push_change(world, defect_change(world, defect, t, reason.into())),
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
    world.resource_mut::<Dirty>().defects.push(defect);
}

fn set_status(world: &mut World, defect: Entity, status: Status) {
    if let Some(mut state) = world.get_mut::<Defect>(defect) {
        state.status = status;
    }
}

/// Sends a defect to the maintenance unit whose area holds it, and to police on a major road.
fn dispatch(world: &mut World, rules: &Rules, defect: Entity, t: f64) {
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
                "confirmed, but no maintenance unit's area holds it".into(),
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

/// A pass over cells: patrols count misses of counted defects there; phones earn coverage points.
fn pass_over(
    world: &mut World,
    rules: &Rules,
    t: f64,
    source: Source,
    device: Entity,
    cells: &[Entity],
    sections: &[Entity],
) {
    let mut defects: Vec<Entity> = cells
        .iter()
        .filter_map(|&cell| world.get::<RoadCell>(cell))
        .flat_map(|cell| cell.defects.iter().copied())
        .collect();
    defects.sort_unstable();
    defects.dedup();
    if source.is_patrol() {
        for defect in defects {
            let flagged = {
                let Some(mut state) = world.get_mut::<Defect>(defect) else {
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
        for &section in sections {
            if let Some(mut state) = world.get_mut::<Section>(section) {
                state.last_patrol_t = state.last_patrol_t.max(t);
            }
        }
        return;
    }
    let Some(citizen) = world.get::<Device>(device).and_then(|d| d.citizen) else {
        return;
    };
    let stale = rules.points.stale_days * DAY_S;
    let mut earned = 0;
    for &section in sections {
        let Some(mut state) = world.get_mut::<Section>(section) else {
            continue;
        };
        let recently_covered = state
            .covered
            .get(&citizen)
            .is_some_and(|&last| t - last < stale);
        if t - state.last_patrol_t >= stale && !recently_covered {
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
            "covered road sections that patrols have not passed lately".into(),
        );
    }
}

fn award(world: &mut World, citizen: Entity, t: f64, points: i64, reason: String) {
    let Some(mut state) = world.get_mut::<Citizen>(citizen) else {
        return;
    };
    state.points += points;
    let change = Change::Points {
        t,
        citizen: state.name.clone(),
        points,
        total: state.points,
        reason,
    };
    push_change(world, change);
}

fn push_change(world: &mut World, change: Change) {
    world.resource_mut::<Outbox>().0.push(change);
}

fn defect_change(world: &World, defect: Entity, t: f64, reason: String) -> Change {
    let state = world
        .get::<Defect>(defect)
        .expect("a defect entity has a Defect");
    Change::Defect {
        t,
        defect: state.id,
        kind: state.kind,
        severity: state.severity,
        status: state.status,
        possibly_repaired: state.possibly_repaired,
        reason,
    }
}

/// Confirms pending defects that now meet the trust rules; dispatches confirmed hazards; awards
/// points to the phones that helped.
pub fn confirm_defects(world: &mut World) {
    let mut dirty = std::mem::take(&mut world.resource_mut::<Dirty>().trust);
    dirty.extend_from_slice(&world.resource::<Dirty>().defects);
    dirty.sort_unstable();
    dirty.dedup();
    let mut confirmed = Vec::new();
    let rules = world.resource::<Rules>().clone();
    for &defect in &dirty {
        let Some(state) = world.get::<Defect>(defect) else {
            continue;
        };
        if state.status == Status::Pending
            && let Some((t, reason)) = trusted(&rules, state)
        {
            let first_t = state.first_t;
            let phones = phone_devices_in_order(state);
            if let Some(mut state) = world.get_mut::<Defect>(defect) {
                state.status = Status::Confirmed;
                state.confirmed_t = Some(t);
            }
            world
                .resource_mut::<Totals>()
                .to_confirmation_s
                .push(t - first_t);
            confirmed.push(defect);
            push_change(world, defect_change(world, defect, t, reason));
            for (rank, device) in phones.into_iter().enumerate() {
                let Some(citizen) = world.get::<Device>(device).and_then(|d| d.citizen) else {
                    continue;
                };
                let (points, why) = if rank == 0 {
                    (
                        rules.points.confirm_first,
                        "first evidence of a confirmed defect",
                    )
                } else {
                    (
                        rules.points.confirm_other,
                        "evidence that helped confirm a defect",
                    )
                };
                award(world, citizen, t, points, why.into());
            }
        }
        let Some(state) = world.get::<Defect>(defect) else {
            continue;
        };
        if state.status == Status::Confirmed
            && state.unit.is_none()
            && rules.is_hazard(state.kind, state.severity)
        {
            let t = world.resource::<Clock>().0;
            dispatch(world, &rules, defect, t);
        }
    }
    world.resource_mut::<Dirty>().defects.extend(confirmed);
}

/// When and why a defect's evidence since it (re)opened meets the trust rules, if it does.
pub fn trusted(rules: &Rules, defect: &Defect) -> Option<(f64, String)> {
    let evidence: Vec<&Evidence> = defect
        .evidence
        .iter()
        .filter(|e| e.t >= defect.epoch_t)
        .collect();
    let mut best: Option<(f64, String)> = None;
    let mut consider = |t: f64, reason: String| {
        if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
            best = Some((t, reason));
        }
    };
    if let Some(e) = evidence.iter().find(|e| e.source == Source::Inspector) {
        consider(e.t, "confirmed by an inspector".into());
    }
    if let Some(e) = evidence
        .iter()
        .find(|e| e.source.is_patrol() && f64::from(e.confidence) >= rules.trust.vehicle_confidence)
    {
        consider(
            e.t,
            format!(
                "confirmed by a patrol {} detection ({:.2})",
                e.source.name(),
                e.confidence
            ),
        );
    }
    let phones: Vec<&&Evidence> = evidence
        .iter()
        .filter(|e| {
            e.source == Source::Phone
                && (e.point[0] - defect.point[0]).hypot(e.point[1] - defect.point[1])
                    <= rules.trust.phone_radius_m
        })
        .collect();
    if let (Some(phone), Some(patrol)) = (
        phones.first(),
        evidence.iter().find(|e| e.source.is_patrol()),
    ) {
        consider(
            phone.t.max(patrol.t),
            "confirmed by a phone and a patrol vehicle agreeing".into(),
        );
    }
    // Slide a window over phone evidence in time order: the first moment enough devices agree.
    let window = rules.trust.phone_window_days * DAY_S;
    let mut start = 0;
    for end in 0..phones.len() {
        while phones[end].t - phones[start].t > window {
            start += 1;
        }
        let mut devices: Vec<Entity> = phones[start..=end].iter().map(|e| e.device).collect();
        devices.sort_unstable();
        devices.dedup();
        if devices.len() >= rules.trust.phone_devices {
            consider(
                phones[end].t,
                format!("confirmed by {} independent phones", devices.len()),
            );
            break;
        }
    }
    best
}

/// The distinct phone devices of a defect's evidence since it opened, in order of their first evidence.
fn phone_devices_in_order(defect: &Defect) -> Vec<Entity> {
    let mut devices = Vec::new();
    for e in defect
        .evidence
        .iter()
        .filter(|e| e.t >= defect.epoch_t && e.source == Source::Phone)
    {
        if !devices.contains(&e.device) {
            devices.push(e.device);
        }
    }
    devices
}

/// Recomputes the code of every cell of the tick's changed defects.
#[allow(clippy::too_many_arguments)] // A system's parameters are its data access, listed.
pub fn set_cell_codes(
    rules: Res<Rules>,
    grid: Res<Grid>,
    clock: Res<Clock>,
    mut dirty: ResMut<Dirty>,
    mut cells: Query<&mut RoadCell>,
    defects: Query<&Defect>,
    mut outbox: ResMut<Outbox>,
    mut totals: ResMut<Totals>,
) {
    let mut touched: Vec<Entity> = dirty
        .defects
        .iter()
        .filter_map(|&defect| defects.get(defect).ok())
        .flat_map(|defect| defect.cells.iter().copied())
        .collect();
    touched.sort_unstable();
    touched.dedup();
    let zone = grid.0.zone();
    let mut sections = Vec::new();
    for cell in touched {
        let Ok(mut road_cell) = cells.get_mut(cell) else {
            continue;
        };
        let counted: Vec<&Defect> = road_cell
            .defects
            .iter()
            .filter_map(|&d| defects.get(d).ok())
            .filter(|d| d.status.counts())
            .collect();
        let code = code_of(&rules, &counted);
        sections.push(road_cell.section);
        if code == road_cell.code {
            continue;
        }
        let previous = road_cell.code;
        road_cell.code = code;
        for (c, delta) in [(previous, -1i64), (code, 1)] {
            match c {
                Code::Red => totals.red_cells = totals.red_cells.saturating_add_signed(delta),
                Code::Yellow => {
                    totals.yellow_cells = totals.yellow_cells.saturating_add_signed(delta)
                }
                Code::Green => {}
            }
        }
        let mut defect_ids: Vec<u64> = counted.iter().map(|d| d.id).collect();
        defect_ids.sort_unstable();
        let mut evidence: Vec<u64> = counted
            .iter()
            .flat_map(|d| d.evidence.iter().filter(|e| e.t >= d.epoch_t).map(|e| e.id))
            .collect();
        evidence.sort_unstable();
        outbox.0.push(Change::CellCode {
            t: clock.0,
            cell: CellKey {
                zone,
                easting: road_cell.corner.0,
                northing: road_cell.corner.1,
            },
            segment: grid.0.segments()[road_cell.segment as usize].id,
            code,
            previous,
            rules: rules.version.clone(),
            defects: defect_ids,
            evidence,
        });
    }
    sections.sort_unstable();
    sections.dedup();
    dirty.sections = sections;
    dirty.defects.clear();
}

/// The code of a cell from the defects that count on it (DESIGN.md, "Cell code").
pub fn code_of(rules: &Rules, defects: &[&Defect]) -> Code {
    let mut highest: f64 = 0.0;
    for defect in defects {
        let weight = rules.weight(defect.kind, defect.severity);
        if weight >= rules.codes.red_weight || rules.is_hazard(defect.kind, defect.severity) {
            return Code::Red;
        }
        highest = highest.max(weight);
    }
    if highest >= rules.codes.yellow_weight {
        Code::Yellow
    } else {
        Code::Green
    }
}

/// Recomputes PCI and grade of every section whose defects changed.
#[allow(clippy::too_many_arguments)] // A system's parameters are its data access, listed.
pub fn grade_sections(
    rules: Res<Rules>,
    grid: Res<Grid>,
    clock: Res<Clock>,
    mut dirty: ResMut<Dirty>,
    mut sections: Query<(Entity, &mut Section)>,
    sectioning: Res<Sectioning>,
    defects: Query<&Defect>,
    mut outbox: ResMut<Outbox>,
) {
    for section_entity in std::mem::take(&mut dirty.sections) {
        let Ok((_, mut section)) = sections.get_mut(section_entity) else {
            continue;
        };
        if section.area_m2.is_none() {
            let areas = &sectioning.areas[section.segment as usize];
            section.area_m2 = Some(areas.get(section.index as usize).copied().unwrap_or(0));
        }
        let area = f64::from(section.area_m2.unwrap_or(0));
        let weighted: f64 = section
            .defects
            .iter()
            .filter_map(|&d| defects.get(d).ok())
            .filter(|d| d.status.counts())
            .map(|d| {
                let cells_here = d
                    .sections
                    .iter()
                    .find(|(s, _)| *s == section_entity)
                    .map_or(0, |(_, count)| *count);
                rules.weight(d.kind, d.severity) * f64::from(cells_here)
            })
            .sum();
        let value = pci(&rules, damage_ratio(weighted, area));
        let grade = rules.grade(value);
        if (value - section.pci).abs() > 1e-9 || grade != section.grade {
            section.pci = value;
            section.grade = grade;
            outbox.0.push(Change::Section {
                t: clock.0,
                segment: grid.0.segments()[section.segment as usize].id,
                section: section.index,
                pci: value,
                grade,
            });
        }
    }
}
