//! Road-cell and section entities, made on first use: a cell gets one when a defect first covers
//! it, a section when a cell of it or a phone's pass over it first needs one (a patrol's pass
//! writes only `Directory::last_patrol_t`, by section number). The road map says which
//! cells have theirs.

use bevy_ecs::prelude::{Entity, World};

use crate::engine::pci::Grade;
use crate::engine::road_map::Lookup;
use crate::engine::state::{Code, Corner, Directory, RoadCell, Section, Sectioning};

/// What the road map knows of a road cell now. Placement looked the cell up before fusion; an
/// earlier record of the tick may have made its entity since.
pub(super) fn current(directory: &Directory, corner: Corner, placed: Lookup) -> Lookup {
    match placed {
        Lookup::Entity(_) => placed,
        Lookup::Section(_) => directory.road.lookup(corner).unwrap_or(placed),
    }
}

/// The entity of a road cell, created (with its section's) if it has none; true when created.
/// `found` must be what the road map knows of the cell now (`current`).
pub(super) fn road_cell(
    world: &mut World,
    directory: &mut Directory,
    sectioning: &Sectioning,
    corner: Corner,
    found: Lookup,
) -> (Entity, bool) {
    let number = match found {
        Lookup::Entity(cell) => return (cell, false),
        Lookup::Section(number) => number,
    };
    let segment = sectioning.segments[number as usize];
    let section = section(world, directory, sectioning, number);
    let entity = world
        .spawn(RoadCell {
            corner,
            segment,
            section,
            section_number: number,
            code: Code::Green,
            defects: Default::default(),
        })
        .id();
    directory.road.set_cell(corner, entity);
    (entity, true)
}

/// The entity of a section, by number, created on first use.
pub(super) fn section(
    world: &mut World,
    directory: &mut Directory,
    sectioning: &Sectioning,
    number: u32,
) -> Entity {
    *directory.sections[number as usize].get_or_insert_with(|| {
        let (segment, index) = sectioning.segment_and_index(number);
        world
            .spawn(Section {
                segment,
                index,
                number,
                defects: Vec::new(),
                pci: 100.0,
                grade: Grade::Excellent,
                covered: Default::default(),
            })
            .id()
    })
}
