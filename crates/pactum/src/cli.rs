//! Command-line arguments and dispatch.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::cmd;

/// Pactum keeps an organisation's privacy promises: a data map as code, the documents generated
/// from it, and the controls that enforce it.
#[derive(Debug, Parser)]
#[command(name = "pactum", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data map is.
#[derive(Debug, Clone, Args)]
pub struct MapArg {
    /// The data map: a directory of YAML files, or one file.
    #[arg(long, short = 'm', default_value = ".", env = "PACTUM_MAP")]
    pub map: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a small, valid, commented data map.
    Init(cmd::init::InitArgs),
    /// Load and validate the map and run the promise checks.
    Check(cmd::check::CheckArgs),
    /// Print the JSON Schema of a map file, for editor completion.
    Schema(cmd::schema::SchemaArgs),
    /// Generate the privacy notice from the map (Markdown, HTML or JSON).
    Notice(cmd::notice::NoticeArgs),
    /// Generate the GDPR Art. 30 record of processing activities (CSV or JSON).
    Ropa(cmd::ropa::RopaArgs),
    /// Convert another tool's privacy resources (Fides) into a data map, with a report of what is left to do.
    Import(cmd::import::ImportArgs),
    /// Scan the map's live datastores for personal data and report where they disagree with the map.
    Drift(cmd::drift::DriftArgs),
    /// Find personal data in text, CSV and JSON files (and secrets): findings as table, JSON, JSONL or SARIF.
    Scan(cmd::scan::ScanArgs),
    /// Run the server: the privacy notice page, the JSON API (with OpenAPI) and health endpoints.
    Serve(cmd::serve::ServeArgs),
    /// Run a data-subject request directly against the map's datastores (no server).
    Request(cmd::request::RequestArgs),
    /// Show the server's configuration: a commented example, or the effective settings.
    Config(cmd::config::ConfigArgs),
    /// Manage admin users and API tokens in Pactum's store.
    Admin(cmd::admin::AdminArgs),
    /// Verify the tamper-evident audit log, or export it as JSON lines.
    Audit(cmd::audit::AuditArgs),
    /// Generate or rotate the key-encryption key that seals secrets at rest.
    Keys(cmd::keys::KeysArgs),
    /// Store, list and delete secrets (connector credentials, the erasure hash key), encrypted at rest.
    Secrets(cmd::keys::SecretsArgs),
}

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => cmd::init::run(&args),
        Command::Check(args) => cmd::check::run(&args),
        Command::Schema(args) => cmd::schema::run(&args),
        Command::Notice(args) => cmd::notice::run(&args),
        Command::Ropa(args) => cmd::ropa::run(&args),
        Command::Import(args) => cmd::import::run(&args),
        Command::Drift(args) => cmd::drift::run(&args),
        Command::Scan(args) => cmd::scan::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Request(args) => cmd::request::run(&args),
        Command::Config(args) => cmd::config::run(&args),
        Command::Admin(args) => cmd::admin::run(&args),
        Command::Audit(args) => cmd::audit::run(&args),
        Command::Keys(args) => cmd::keys::run_keys(&args),
        Command::Secrets(args) => cmd::keys::run_secrets(&args),
    }
}

/// Prints an error chain once and picks the exit code (2: the command could not run).
pub fn report(err: &anyhow::Error) -> ExitCode {
    // `pactum ... | head` closes the pipe early: that is success, not an error.
    if err
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == ErrorKind::BrokenPipe)
    {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(2)
}
