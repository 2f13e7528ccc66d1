//! The `pactum` command. Parsing, then `cli::run`; every subcommand lives in `cmd/`.

#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod demo;
mod executor;
mod notify;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => cli::report(&err),
    }
}
