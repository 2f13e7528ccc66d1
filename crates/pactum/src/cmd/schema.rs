//! `pactum schema`: the JSON Schema of a map file.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use pactum_domain::model::DataMap;

#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = schemars::schema_for!(DataMap);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&schema)?)?;
    Ok(ExitCode::SUCCESS)
}
