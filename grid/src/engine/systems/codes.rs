//! Cell codes (DESIGN.md, "Cell code"): recomputed only for the cells of defects whose counting
//! state changed in the tick and the cells that counted defects grew onto, each change with the
//! rules version and the evidence behind it, in the order of the cells' corners.

use bevy_ecs::prelude::{Entity, Query, Res, ResMut};
use smallvec::SmallVec;

use crate::cell::CellKey;
use crate::engine::change::Change;
use crate::engine::prefetch::prefetch_ahead;
use crate::engine::rules::Rules;
use crate::engine::state::{
    Clock, Code, Corner, Defect, Dirty, Grid, Outbox, RoadCell, Sectioning, Totals,
};

/// Recomputes the code of every cell of the tick's changed defects.
#[allow(clippy::too_many_arguments)] // A system's parameters are its data access, listed.
pub fn set_cell_codes(
    rules: Res<Rules>,
    grid: Res<Grid>,
    sectioning: Res<Sectioning>,
    clock: Res<Clock>,
    mut dirty: ResMut<Dirty>,
    mut cells: Query<&mut RoadCell>,
    defects: Query<&Defect>,
    mut outbox: ResMut<Outbox>,
    mut totals: ResMut<Totals>,
) {
    let mut touched: Vec<Entity> = std::mem::take(&mut dirty.cells);
    touched.extend(
        dirty
            .defects
            .iter()
            .filter_map(|&defect| defects.get(defect).ok())
            .flat_map(|defect| defect.cells.iter().copied()),
    );
    // In the order of the cells' corners, so that the changes do not depend on the order in which
    // the cells' entities happened to be made. Reading the corners first moves each row's wait
    // on memory here, in a loop of independent loads; the loop below finds the rows cached. A
    // cell listed twice has the same key twice, which one sort of plain numbers groups.
    let mut in_order: Vec<(u64, Entity)> = Vec::with_capacity(touched.len());
    for (at, &cell) in touched.iter().enumerate() {
        prefetch_ahead(&touched, at, |ahead| cells.get(ahead).ok());
        if let Ok(road_cell) = cells.get(cell) {
            in_order.push((corner_order(road_cell.corner), cell));
        }
    }
    in_order.sort_unstable_by_key(|&(key, _)| key);
    in_order.dedup_by_key(|&mut (key, _)| key);
    let zone = grid.0.zone();
    let mut sections = Vec::with_capacity(in_order.len());
    for &(_, cell) in &in_order {
        let Ok(mut road_cell) = cells.get_mut(cell) else {
            continue;
        };
        let counted: SmallVec<[&Defect; 4]> = road_cell
            .defects
            .iter()
            .filter_map(|d| defects.get(d.entity()).ok())
            .filter(|d| d.status.counts())
            .collect();
        let code = code_of(&rules, &counted);
        sections.push((road_cell.section_number, road_cell.section));
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
        // Sized once: collecting a filtered list would grow it a doubling at a time.
        let mut evidence: Vec<u64> =
            Vec::with_capacity(counted.iter().map(|d| d.evidence.len()).sum());
        for defect in &counted {
            let since = defect.evidence.iter().filter(|e| e.t >= defect.epoch_t);
            evidence.extend(since.map(|e| e.id()));
        }
        // A defect's evidence is in id order (fusion appends it record by record), so only a
        // cell with several counted defects needs its list sorted, and the stable sort, which
        // merges the sorted runs it finds, does that in one pass.
        if counted.len() > 1 {
            evidence.sort();
        }
        outbox.0.push(Change::CellCode {
            t: clock.0,
            cell: CellKey {
                zone,
                easting: road_cell.corner.0,
                northing: road_cell.corner.1,
            },
            segment: sectioning.ids[road_cell.segment as usize],
            code,
            previous,
            rules: rules.version,
            defects: defect_ids,
            evidence,
        });
    }
    // By number: a section's number and entity go together, so this groups each section's
    // entries, and grading goes segment by segment.
    sections.sort_unstable_by_key(|&(number, _)| number);
    sections.dedup_by_key(|&mut (number, _)| number);
    dirty.sections = sections;
    dirty.defects.clear();
}

/// A corner as one number that sorts as the corner does (easting, then northing).
fn corner_order((easting, northing): Corner) -> u64 {
    // Flipping the sign bit maps i32 order onto u32 order.
    let unsigned = |v: i32| u64::from(v as u32 ^ 0x8000_0000);
    unsigned(easting) << 32 | unsigned(northing)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn corner_order_sorts_as_the_corners_do(a: (i32, i32), b: (i32, i32)) {
            prop_assert_eq!(corner_order(a).cmp(&corner_order(b)), a.cmp(&b));
        }
    }
}
