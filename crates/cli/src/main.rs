//! The `aftercare` command. Thin on purpose: it parses arguments, loads the clinical content and
//! hands over to the library crates. Exit codes: 0 success, 1 failure (including content
//! problems), 2 bad input (a one-line message naming the field).

mod admin;
mod cli;
mod serve;
mod triage;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aftercare: {e:#}");
            ExitCode::from(1)
        }
    }
}
