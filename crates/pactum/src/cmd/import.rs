//! `pactum import`: convert another tool's privacy resources into a data map.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use pactum_domain::model::ConnectorKind;
use pactum_import::report::count;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Import Fides manifests (datasets, systems, organization, taxonomy, policies).
    ///
    /// Writes one YAML file per map section into DIR and IMPORT-REPORT.md, which lists everything
    /// the map could not hold and what `pactum check` still asks for; the report is also printed
    /// on stderr. Nothing Fides does not state is made up: no organisation, regime, legal basis,
    /// retention period or erasure strategy.
    Fides(FidesArgs),
}

#[derive(Debug, Args)]
pub struct FidesArgs {
    /// Fides YAML files, or directories of them (searched recursively); imported together.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,
    /// The directory to write the map into (created if needed; must hold no other map files).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Connector kind for datasets whose database Fides does not name (in its namespace, the
    /// dataset key or the file name).
    #[arg(long, value_enum, default_value_t = Kind::Manual)]
    pub kind: Kind,
}

/// The connector kinds a dataset can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
    Redis,
    Http,
    /// No connector: requests become tasks for a person.
    Manual,
}

impl From<Kind> for ConnectorKind {
    fn from(k: Kind) -> ConnectorKind {
        match k {
            Kind::Postgres => ConnectorKind::Postgres,
            Kind::Mysql => ConnectorKind::Mysql,
            Kind::Mariadb => ConnectorKind::Mariadb,
            Kind::Sqlite => ConnectorKind::Sqlite,
            Kind::Redis => ConnectorKind::Redis,
            Kind::Http => ConnectorKind::Http,
            Kind::Manual => ConnectorKind::Manual,
        }
    }
}

/// Exit status: 0 when the map was written (the report says what is left to do), 2 when the input
/// was rejected or nothing could be written.
pub fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    match &args.source {
        ImportSource::Fides(fides) => run_fides(fides),
    }
}

fn run_fides(args: &FidesArgs) -> anyhow::Result<ExitCode> {
    let options = pactum_import::fides::Options {
        default_kind: args.kind.into(),
    };
    let mut import = pactum_import::fides::import(&args.sources, &options)
        .context("cannot import the Fides resources")?;
    pactum_import::write(&mut import, &args.out)
        .with_context(|| format!("cannot write the map into {}", args.out.display()))?;
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{}", import.report.markdown())?;
    let s = &import.report.summary;
    let remaining = import.report.check.len();
    writeln!(
        stderr,
        "\nwrote {} ({}, {}, {}) and {}; `pactum check --map {}` lists {}",
        args.out.display(),
        count(s.datastores, "datastore", "datastores"),
        count(s.systems, "system", "systems"),
        count(s.activities, "activity", "activities"),
        pactum_import::REPORT_FILE,
        args.out.display(),
        count(remaining, "remaining item", "remaining items"),
    )?;
    Ok(ExitCode::SUCCESS)
}
