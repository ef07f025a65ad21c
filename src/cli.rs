//! Raw command-line arguments, as clap parses them. Each area of the system has one subcommand
//! (`roadcode grid ...`, `roadcode ledger ...`) whose arguments live in that area's module.

use clap::{Parser, Subcommand};

use crate::ledger_cmd;

/// Health codes for every square metre of a city's road surface.
#[derive(Debug, Parser)]
#[command(name = "roadcode", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The areas of the system.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The 1 m² road grid: build it, find cells.
    Grid(crate::grid_cmd::GridArgs),
    /// The health-code engine: replay records, simulate them, measure it.
    Engine(crate::engine_cmd::EngineArgs),
    /// The append-only verifiable ledger.
    Ledger(ledger_cmd::LedgerArgs),
    /// Sensor recordings: detect and classify road events, IRI.
    Sensors(crate::sensors_cmd::SensorsArgs),
}
