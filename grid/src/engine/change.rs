//! The changes a tick emits: what the ledger records and subscribers receive, in the order they
//! happened. Converting them to a wire format is the application's job.

use std::borrow::Cow;

use crate::cell::CellKey;
use crate::defect::{DefectKind, Severity};
use crate::engine::pci::Grade;
use crate::engine::state::{Code, Status};

/// Why a change happened: most reasons are fixed text, which needs no allocation.
pub type Reason = Cow<'static, str>;

/// One change of the engine's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A cell's code changed.
    CellCode {
        /// Tick time (latest record time), Unix seconds.
        t: f64,
        /// The cell.
        cell: CellKey,
        /// The segment's id in the network.
        segment: u32,
        /// The new code.
        code: Code,
        /// The code before.
        previous: Code,
        /// The rules version that made the code (`Rules::version`).
        rules: &'static str,
        /// The defects that made it (empty for green), by id.
        defects: Vec<u64>,
        /// The evidence behind those defects, by id.
        evidence: Vec<u64>,
    },
    /// A defect was created, changed status, or was flagged possibly repaired.
    Defect {
        /// Time of the record that caused it.
        t: f64,
        /// The defect's id.
        defect: u64,
        /// Its kind.
        kind: DefectKind,
        /// Its severity.
        severity: Severity,
        /// Its status now.
        status: Status,
        /// Whether patrols think it is repaired.
        possibly_repaired: bool,
        /// Why.
        reason: Reason,
    },
    /// A confirmed defect was sent to a maintenance unit (and to police on a major road).
    Dispatch {
        /// Time.
        t: f64,
        /// The defect's id.
        defect: u64,
        /// The maintenance unit.
        unit: String,
        /// The police areas notified.
        police: Vec<String>,
    },
    /// A section's PCI or grade changed.
    Section {
        /// Tick time.
        t: f64,
        /// The segment's id in the network.
        segment: u32,
        /// The section's index along the segment.
        section: u32,
        /// New PCI.
        pci: f64,
        /// New grade.
        grade: Grade,
    },
    /// A citizen earned points.
    Points {
        /// Time.
        t: f64,
        /// The citizen.
        citizen: String,
        /// Points earned (positive).
        points: i64,
        /// Their total now.
        total: i64,
        /// Why.
        reason: Reason,
    },
    /// A record was refused: no evidence, no points.
    Refused {
        /// Time of the record.
        t: f64,
        /// The record's sequence number.
        record: u64,
        /// Its device.
        device: String,
        /// Why.
        reason: Reason,
    },
}
