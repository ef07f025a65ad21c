//! The `roadcode` command: wires the crates together behind one CLI.

mod bench;
mod cli;
mod engine_cmd;
mod grid_cmd;
mod heap;
mod ledger_cmd;
mod progress;
mod sensors_cmd;
mod simulate;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    heap::keep_freed_memory();
    match run() {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                // A reader that went away (`roadcode ... | head`) is not an error.
                return ExitCode::SUCCESS;
            }
            eprintln!("roadcode: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Grid(args) => grid_cmd::run(args),
        Command::Engine(args) => engine_cmd::run(args),
        Command::Ledger(args) => ledger_cmd::run(args),
        Command::Sensors(args) => sensors_cmd::run(args),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
