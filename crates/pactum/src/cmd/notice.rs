//! `pactum notice`: the privacy notice generated from the map, as Markdown, HTML or JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cmd::load_without_errors;
use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::cli::MapArg;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// CommonMark with GitHub-style tables.
    Md,
    /// A standalone, accessible HTML page with inline styles and no external assets.
    Html,
    /// The notice's structure: sections, paragraphs, lists and tables.
    Json,
}

/// Exit status: 0 when written, 1 when the map has errors (nothing is published), 2 when the map or
/// the output file cannot be read or written.
#[derive(Debug, Args)]
pub struct NoticeArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

pub fn run(args: &NoticeArgs) -> anyhow::Result<ExitCode> {
    // A notice generated from a broken map would state things the organisation did not mean.
    let Some(loaded) = load_without_errors(&args.map.map, "publish a privacy notice")? else {
        return Ok(ExitCode::from(1));
    };
    let notice = pactum_publish::notice::build(&loaded.map);
    let text = match args.format {
        Format::Md => pactum_publish::markdown::render(&notice),
        Format::Html => pactum_publish::html::render(&notice),
        Format::Json => pactum_publish::notice_json(&notice)?,
    };
    write_output(args.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a document to `out`, or to standard output when no file is given.
pub(crate) fn write_output(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    let text = if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}
