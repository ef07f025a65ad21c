//! Section grades: PCI from the damaged area of the defects that count in a section (DESIGN.md,
//! "PCI"), recomputed only for the sections whose defects changed.

use bevy_ecs::prelude::{Query, Res, ResMut};

use crate::engine::change::Change;
use crate::engine::pci::{damage_ratio, pci};
use crate::engine::prefetch::prefetch_ahead;
use crate::engine::rules::Rules;
use crate::engine::state::{Clock, Defect, Dirty, Outbox, Section, Sectioning};

/// Recomputes PCI and grade of every section whose defects changed.
#[allow(clippy::too_many_arguments)] // A system's parameters are its data access, listed.
pub fn grade_sections(
    rules: Res<Rules>,
    clock: Res<Clock>,
    mut dirty: ResMut<Dirty>,
    mut sections: Query<&mut Section>,
    sectioning: Res<Sectioning>,
    defects: Query<&Defect>,
    mut outbox: ResMut<Outbox>,
) {
    // In the order of the sections' numbers (segment by segment), not of their entities.
    let in_order = std::mem::take(&mut dirty.sections);
    for (at, &(_, section_entity)) in in_order.iter().enumerate() {
        prefetch_ahead(&in_order, at, |(_, ahead)| sections.get(ahead).ok());
        let Ok(mut section) = sections.get_mut(section_entity) else {
            continue;
        };
        let area = sectioning.areas[section.number as usize];
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
        let value = pci(&rules, damage_ratio(weighted, f64::from(area)));
        let grade = rules.grade(value);
        if (value - section.pci).abs() > 1e-9 || grade != section.grade {
            section.pci = value;
            section.grade = grade;
            outbox.0.push(Change::Section {
                t: clock.0,
                segment: sectioning.ids[section.segment as usize],
                section: section.index,
                pci: value,
                grade,
            });
        }
    }
}
