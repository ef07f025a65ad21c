//! District figures: cells by code, sections by grade, defects by status, and how fast defects are
//! confirmed and repaired.

use bevy_ecs::prelude::World;

use crate::engine::pci::Grade;
use crate::engine::state::{Defect, Grid, Section, Sectioning, Status, Totals};

/// The figures of the whole district.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Records applied.
    pub records: u64,
    /// Observations accepted as evidence.
    pub evidence: u64,
    /// Records refused.
    pub refused: u64,
    /// Cells with a red code.
    pub red_cells: u64,
    /// Cells with a yellow code.
    pub yellow_cells: u64,
    /// All road cells (the rest are green).
    pub road_cells: u64,
    /// Defects by status, in `Status::ALL` order.
    pub defects: Vec<(crate::engine::state::Status, u64)>,
    /// Defects that patrols think repaired.
    pub possibly_repaired: u64,
    /// Sections by grade, in `Grade::ALL` order (sections without defects are 优).
    pub sections: Vec<(Grade, u64)>,
    /// Median hours from first evidence to confirmation.
    pub median_hours_to_confirmation: Option<f64>,
    /// Median hours from first evidence to repair.
    pub median_hours_to_repair: Option<f64>,
}

pub(crate) fn figures(world: &mut World) -> Figures {
    let totals = world.resource::<Totals>().clone();
    let grid = world.resource::<Grid>().0.clone();
    let mut by_status = [0u64; 6];
    let mut possibly_repaired = 0;
    for defect in world.query::<&Defect>().iter(world) {
        by_status[defect.status as usize] += 1;
        possibly_repaired += u64::from(defect.possibly_repaired);
    }
    let all_sections = world.resource::<Sectioning>().areas.len() as u64;
    let mut by_grade = [0u64; 5];
    let mut graded = 0;
    for section in world.query::<&Section>().iter(world) {
        by_grade[section.grade as usize] += 1;
        graded += 1;
    }
    by_grade[Grade::Excellent as usize] += all_sections.saturating_sub(graded);
    Figures {
        records: totals.records,
        evidence: totals.evidence,
        refused: totals.refused,
        red_cells: totals.red_cells,
        yellow_cells: totals.yellow_cells,
        road_cells: grid.cell_count() as u64,
        defects: Status::ALL
            .iter()
            .map(|&s| (s, by_status[s as usize]))
            .collect(),
        possibly_repaired,
        sections: Grade::ALL
            .iter()
            .map(|&g| (g, by_grade[g as usize]))
            .collect(),
        median_hours_to_confirmation: median_hours(&totals.to_confirmation_s),
        median_hours_to_repair: median_hours(&totals.to_repair_s),
    }
}

fn median_hours(seconds: &[f64]) -> Option<f64> {
    if seconds.is_empty() {
        return None;
    }
    let mut sorted = seconds.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    Some(median / 3600.0)
}
