//! A stand-alone `scan` command with the same arguments as `pactum scan`: it
//! compiles the binary crate's subcommand module
//! (`crates/pactum/src/cmd/scan.rs`) on its own, so the scanner can be run and
//! benchmarked without building the rest of the CLI (database drivers, tokio).
//!
//! ```sh
//! cargo run --release -p pactum-scan --example scan -- --format jsonl tickets.txt
//! ```

use clap::Parser;

#[path = "../../../pactum/src/cmd/scan.rs"]
mod scan;

#[derive(Parser, Debug)]
#[command(name = "scan", about = "Find personal data in files")]
struct Cli {
    #[command(flatten)]
    args: scan::ScanArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match scan::run(&cli.args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
