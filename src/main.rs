//! The `roadcode` command: wires the crates together behind one CLI.

mod cli;
mod sensors_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Sensors(args) => sensors_cmd::run(args),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
