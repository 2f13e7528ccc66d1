//! `pactum config example|show`: the server's configuration, documented and resolved.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::settings::{EXAMPLE, Layer, Settings};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
    /// Print the effective settings (file, then PACTUM_* variables), secrets redacted.
    Show {
        /// The configuration file to read.
        #[arg(long, env = "PACTUM_CONFIG")]
        config: Option<PathBuf>,
    },
}

pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match &args.command {
        ConfigCommand::Example => write!(stdout, "{EXAMPLE}")?,
        ConfigCommand::Show { config } => {
            let settings = Settings::resolve(
                config.as_deref(),
                &|k| std::env::var(k).ok(),
                Layer::default(),
            )?;
            write!(stdout, "{}", settings.to_toml()?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
