//! Raw command-line arguments, as clap parses them. Each area of the system has one subcommand
//! (`roadcode grid ...`, `roadcode ledger ...`) whose arguments live in that area's module.

use clap::{Parser, Subcommand};

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
    /// Sensor recordings: detect and classify road events, IRI.
    Sensors(crate::sensors_cmd::SensorsArgs),
}
