//! Acceptance: every record's positions projected onto the grid's plane, its device found, and its
//! observation checked for plausibility (accuracy, replays, impossible speeds, duplicates).

use bevy_ecs::prelude::{Entity, Mut, World};

use crate::engine::record::{Observation, Record, Source, Target};
use crate::engine::rules::Rules;
use crate::engine::state::{
    Citizen, Clock, Device, Directory, Grid, Inbox, Queue, Totals, Work, corner_at,
};
use crate::engine::systems::{ById, RowsOf, distance, refuse};

/// Projects the tick's records, checks observations for plausibility and queues the accepted
/// records in order; refusals become changes.
pub fn accept_records(world: &mut World) {
    let inbox = std::mem::take(&mut *world.resource_mut::<Inbox>());
    let grid = world.resource::<Grid>().0.clone();
    let rules = world.resource::<Rules>().clone();
    let mut queue = std::mem::take(&mut *world.resource_mut::<Queue>());
    queue.clear();
    queue.first_id = inbox.first_id;
    queue.records = inbox.records;

    // Every position of the tick in one call, through the grid's polynomial fit of the projection
    // (within 1 µm of the exact series over the city, a tenth of its cost).
    let mut positions = Vec::with_capacity(queue.records.len());
    queue.work.reserve(queue.records.len());
    for record in &queue.records {
        let start = positions.len();
        match record {
            Record::Observation(o) => {
                positions.push(o.position);
                positions.extend(o.outline.iter().flatten());
            }
            Record::Pass(pass) => positions.extend(&pass.path),
            Record::Action(action) => {
                if let Target::Position(position, _) = &action.target {
                    positions.push(*position);
                }
            }
        }
        queue.work.push(Work {
            points: start..positions.len(),
            ..Work::default()
        });
    }
    queue.points.extend(grid.to_plane_all(&positions));

    let mut clock = world.resource::<Clock>().0;
    world.resource_scope(|world, mut directory: Mut<Directory>| {
        // Made once a tick: `World::get_mut` looks the component's id up by type on every call.
        let mut devices: RowsOf<Device> = RowsOf::new(world);
        let mut by_number: ById<Device> = ById::new(world);
        // Per record, the device's number (`Directory::devices`), once known.
        let mut numbers = vec![u32::MAX; queue.records.len()];
        let Queue {
            first_id,
            records,
            work,
            points,
            ..
        } = &mut queue;
        // Known devices first, in a short loop of independent look-ups whose rows are prefetched:
        // twenty thousand phones' rows do not stay in the cache between two records of one phone.
        let rows = by_number.now(world);
        for ((record, work), number) in records.iter().zip(work.iter_mut()).zip(&mut numbers) {
            if let Some(name) = device_name(record)
                && let Some(&(device, known)) = directory.devices.get(name)
            {
                work.device = Some(device);
                *number = known;
                if let Some(rows) = &rows {
                    rows.prefetch(known as usize, true);
                }
            }
        }
        for ((id, (record, work)), number) in (*first_id..)
            .zip(records.iter().zip(work.iter_mut()))
            .zip(numbers)
        {
            clock = clock.max(record.t());
            // Inspectors' actions name no device entity.
            let (name, source, citizen) = match record {
                Record::Observation(o) => (&o.device, o.source, &o.citizen),
                Record::Pass(p) => (&p.device, p.source, &p.citizen),
                Record::Action(_) => continue,
            };
            let (device, number) = match work.device {
                Some(device) => (device, number),
                // New in this tick (an earlier record of the tick may have made it already).
                None => device_entity(world, &mut directory, name, source, citizen.as_deref()),
            };
            work.device = Some(device);
            if let Record::Observation(o) = record {
                let row = by_number.get_mut_or_query(&mut devices, world, number as usize, device);
                let verdict = match row {
                    Some(row) => plausibility(row, &rules, o, points[work.points.start]),
                    None => Err("unknown device".into()),
                };
                if let Err(reason) = verdict {
                    refuse(world, o.t, id, &o.device, reason);
                    work.refused = true;
                }
            }
        }
    });
    world.resource_mut::<Clock>().0 = clock;
    world.resource_mut::<Totals>().records += queue.records.len() as u64;
    *world.resource_mut::<Queue>() = queue;
}

/// The name of the device that sent a record (inspectors' actions name none).
fn device_name(record: &Record) -> Option<&str> {
    match record {
        Record::Observation(o) => Some(&o.device),
        Record::Pass(p) => Some(&p.device),
        Record::Action(_) => None,
    }
}

/// The device's entity and number, created (with its citizen, for phones) on first sight.
fn device_entity(
    world: &mut World,
    directory: &mut Directory,
    name: &str,
    source: Source,
    citizen: Option<&str>,
) -> (Entity, u32) {
    if let Some(&known) = directory.devices.get(name) {
        return known;
    }
    let citizen = (source == Source::Phone).then(|| {
        let citizen_name = citizen.unwrap_or(name);
        match directory.citizens.get(citizen_name) {
            Some(&entity) => entity,
            None => {
                let entity = world
                    .spawn(Citizen {
                        name: citizen_name.to_owned(),
                        points: 0,
                    })
                    .id();
                directory.citizens.insert(citizen_name.to_owned(), entity);
                entity
            }
        }
    });
    let entity = world
        .spawn(Device {
            citizen,
            last: None,
            recent: Default::default(),
        })
        .id();
    // Devices count from 0 in order of creation; memory runs out long before 2³² of them.
    let number = directory.devices.len() as u32;
    directory.devices.insert(name.into(), (entity, number));
    (entity, number)
}

/// Accepts an observation or says why not; on acceptance, remembers it on the device.
///
/// A device's records come in time order (inspectors', typed in at a desk, excepted): a record
/// from before the device's last one is refused, as an exact replay of one of its recent records
/// if it is one. What a device remembers is bounded by the duplicate window, so the engine's
/// memory does not grow with the records it has seen.
fn plausibility(
    state: &mut Device,
    rules: &Rules,
    observation: &Observation,
    point: [f64; 2],
) -> Result<(), String> {
    if observation.accuracy_m > rules.fusion.max_accuracy_m {
        return Err(format!(
            "accuracy {} m is worse than {} m",
            observation.accuracy_m, rules.fusion.max_accuracy_m
        ));
    }
    let t = observation.t;
    let corner = corner_at(point);
    let fingerprint = (t, observation.kind, corner);
    if state.recent.contains(&fingerprint) {
        return Err("replay of an accepted record".into());
    }
    if observation.source != Source::Inspector
        && let Some((last_t, last_point)) = state.last
    {
        if t < last_t {
            return Err(format!(
                "time goes backwards for this device ({t} after {last_t})"
            ));
        }
        let distance = distance(point, last_point);
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
    let window = rules.points.duplicate_window_s;
    if state.recent.iter().any(|&(recent_t, kind, cell)| {
        (t - recent_t).abs() <= window && kind == observation.kind && cell == corner
    }) {
        return Err(format!(
            "duplicate of a {} at the same cell within {window} s",
            observation.kind
        ));
    }
    state.last = Some((t, point));
    state
        .recent
        .retain(|&mut (recent_t, _, _)| t - recent_t <= window);
    state.recent.push(fingerprint);
    Ok(())
}
