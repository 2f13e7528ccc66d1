//! `pactum check`: load, validate, and run the promise checks.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use pactum_domain::diagnostic::Severity;
use pactum_mapfile::report;

use crate::cli::MapArg;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// rustc-like text with source snippets.
    Human,
    /// One JSON document with every diagnostic.
    Json,
    /// SARIF 2.1.0, for code-scanning integrations.
    Sarif,
}

/// Exit status: 0 when clean (warnings allowed unless --deny-warnings), 1 with errors, 2 when the map
/// cannot be read at all.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = pactum_mapfile::load_and_check(&args.map.map)
        .with_context(|| format!("cannot load the data map at {}", args.map.map.display()))?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            write!(stdout, "{}", report::human(&loaded))?;
            let files = loaded.files.len();
            let m = &loaded.map;
            if loaded.diagnostics.is_empty() {
                writeln!(
                    stdout,
                    "ok: {} file{}, {} activities, {} purposes, {} datastores, {} processors: no problems found",
                    files,
                    if files == 1 { "" } else { "s" },
                    m.activities.len(),
                    m.purposes.len(),
                    m.datastores.len(),
                    m.processors.len()
                )?;
            } else {
                writeln!(stdout, "{}", report::summary(&loaded))?;
            }
        }
        Format::Json => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report::json(&loaded))?
        )?,
        Format::Sarif => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report::sarif(&loaded))?
        )?,
    }
    let warnings = loaded
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Warning);
    Ok(if loaded.has_errors() || (args.deny_warnings && warnings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
