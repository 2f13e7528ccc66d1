//! `pactum ropa`: the GDPR Art. 30 record of processing activities, as CSV or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::cli::MapArg;
use crate::cmd::load_without_errors;
use crate::cmd::notice::write_output;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One sheet: a `record` column (controller or processor), then one column per Art. 30 item.
    Csv,
    /// `{"controller_record": {...}, "processor_record": [...]}`.
    Json,
}

/// Exit status: 0 when written, 1 when the map has errors (nothing is written), 2 when the map or
/// the output file cannot be read or written.
#[derive(Debug, Args)]
pub struct RopaArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

pub fn run(args: &RopaArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) =
        load_without_errors(&args.map.map, "publish a record of processing activities")?
    else {
        return Ok(ExitCode::from(1));
    };
    let ropa = pactum_publish::ropa::build(&loaded.map);
    let text = match args.format {
        Format::Csv => pactum_publish::ropa::to_csv(&ropa)?,
        Format::Json => pactum_publish::ropa::to_json(&ropa)?,
    };
    write_output(args.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
