//! Confirmation by the trust rules (DESIGN.md, "Trust"): an inspector, a confident patrol
//! detection, a phone and a patrol vehicle agreeing, or enough independent phones within a radius
//! and a window. Confirmed hazards are dispatched; phones that helped earn points.

use bevy_ecs::prelude::{Entity, World};
use smallvec::SmallVec;

use crate::engine::change::Reason;
use crate::engine::prefetch::ROWS_AHEAD;
use crate::engine::record::Source;
use crate::engine::rules::Rules;
use crate::engine::state::{
    Clock, Defect, Device, Directory, Dirty, Evidence, Status, Totals, defect_number,
};
use crate::engine::systems::lifecycle::dispatch;
use crate::engine::systems::{DAY_S, Rows, award, defect_change, push_change};

/// Confirms pending defects that now meet the trust rules; dispatches confirmed hazards; awards
/// points to the phones that helped.
pub fn confirm_defects(world: &mut World) {
    let rules = world.resource::<Rules>().clone();
    let order = to_judge(world);
    let mut rows = Rows::new(world);
    let mut confirmed = Vec::new();
    for (at, &(id, defect)) in order.iter().enumerate() {
        // Rows spread over the city: ask for the row a few defects ahead, and for the evidence of
        // one whose row has had time to arrive.
        if let Some(defects) = rows.defects_now(world) {
            let ahead = |places: usize| {
                let &(id, _) = order.get(at + places)?;
                defect_number(id)
            };
            if let Some(number) = ahead(2 * ROWS_AHEAD) {
                defects.prefetch_defect(number);
            }
            if let Some(number) = ahead(ROWS_AHEAD) {
                defects.prefetch_evidence(number);
            }
        }
        let Some(state) = rows.defect_by_id(world, id, defect) else {
            continue;
        };
        if state.status == Status::Pending
            && let Some((t, reason)) = trusted(&rules, state)
        {
            let first_t = state.first_t;
            let phones = phone_devices_in_order(state);
            state.status = Status::Confirmed;
            state.confirmed_t = Some(t);
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
                award(world, citizen, t, points, why);
            }
        }
        let Some(state) = rows.defect_by_id(world, id, defect) else {
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

/// The defects the trust rules look at in this tick, each once, in order of id (of creation):
/// the pending ones that received evidence, and those whose status or severity changed.
fn to_judge(world: &mut World) -> Vec<(u64, Entity)> {
    let mut ids = std::mem::take(&mut world.resource_mut::<Dirty>().trust);
    let changed = &world.resource::<Dirty>().defects;
    ids.extend(
        changed
            .iter()
            .filter_map(|&defect| world.get::<Defect>(defect).map(|d| d.id)),
    );
    ids.sort_unstable();
    ids.dedup();
    let directory = world.resource::<Directory>();
    ids.into_iter()
        .filter_map(|id| Some((id, directory.defect(id)?)))
        .collect()
}

/// When and why a defect's evidence since it (re)opened meets the trust rules, if it does.
///
/// It runs for every pending defect that received evidence in the tick, so a defect with little
/// evidence is judged without allocating, and only the rule that confirms it is put into words.
pub fn trusted(rules: &Rules, defect: &Defect) -> Option<(f64, Reason)> {
    let since: SmallVec<[&Evidence; 16]> = defect
        .evidence
        .iter()
        .filter(|e| e.t >= defect.epoch_t)
        .collect();
    let evidence = || since.iter().copied();
    let mut best: Option<(f64, Rule)> = None;
    let mut consider = |t: f64, rule: Rule| {
        if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
            best = Some((t, rule));
        }
    };
    if let Some(e) = evidence().find(|e| e.source() == Source::Inspector) {
        consider(e.t, Rule::Inspector);
    }
    if let Some(e) = evidence().find(|e| {
        e.source().is_patrol() && f64::from(e.confidence) >= rules.trust.vehicle_confidence
    }) {
        consider(e.t, Rule::Patrol(e.source(), e.confidence));
    }
    let phones: SmallVec<[&Evidence; 16]> = evidence()
        .filter(|e| e.source() == Source::Phone && e.near())
        .collect();
    if let (Some(phone), Some(patrol)) =
        (phones.first(), evidence().find(|e| e.source().is_patrol()))
    {
        consider(phone.t.max(patrol.t), Rule::PhoneAndPatrol);
    }
    // Slide a window over phone evidence in time order: the first moment enough devices agree.
    // The window gains one piece of evidence a step, so the first count that reaches the
    // threshold equals it, and counting can stop there.
    let window = rules.trust.phone_window_days * DAY_S;
    let needed = rules.trust.phone_devices;
    let mut start = 0;
    for end in 0..phones.len() {
        while phones[end].t - phones[start].t > window {
            start += 1;
        }
        let mut devices: SmallVec<[Entity; 4]> = SmallVec::new();
        for e in &phones[start..=end] {
            if !devices.contains(&e.device()) {
                devices.push(e.device());
                if devices.len() >= needed {
                    break;
                }
            }
        }
        if devices.len() >= needed {
            consider(phones[end].t, Rule::Phones(devices.len()));
            break;
        }
    }
    best.map(|(t, rule)| (t, rule.reason()))
}

/// A trust rule that evidence met (`trusted`), with what its reason names.
enum Rule {
    Inspector,
    /// A patrol detection of this source and confidence.
    Patrol(Source, f32),
    PhoneAndPatrol,
    /// This many independent phones.
    Phones(usize),
}

impl Rule {
    fn reason(self) -> Reason {
        match self {
            Rule::Inspector => "confirmed by an inspector".into(),
            Rule::Patrol(source, confidence) => format!(
                "confirmed by a patrol {} detection ({:.2})",
                source.name(),
                confidence
            )
            .into(),
            Rule::PhoneAndPatrol => "confirmed by a phone and a patrol vehicle agreeing".into(),
            Rule::Phones(count) => format!("confirmed by {count} independent phones").into(),
        }
    }
}

/// The distinct phone devices of a defect's evidence since it opened, in order of their first evidence.
fn phone_devices_in_order(defect: &Defect) -> Vec<Entity> {
    let mut devices = Vec::new();
    for e in defect
        .evidence
        .iter()
        .filter(|e| e.t >= defect.epoch_t && e.source() == Source::Phone)
    {
        if !devices.contains(&e.device()) {
            devices.push(e.device());
        }
    }
    devices
}
