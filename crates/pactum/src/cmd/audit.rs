//! `pactum audit`: verify the hash-chained audit log, or export it as JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::cmd::admin::StoreArgs;

/// Check or export the tamper-evident audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first broken link. Exit status: 0 intact, 1 broken,
    /// 2 the log could not be read.
    Verify,
    /// Write every entry as one JSON object per line, for regulators and forensics.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = args.store.open(false).await?;
        let result = match &args.command {
            AuditCommand::Verify => verify(&store).await,
            AuditCommand::Export(export) => export_to(&store, export).await,
        };
        store.close().await;
        result
    })
}

async fn verify(store: &pactum_store::Store) -> anyhow::Result<ExitCode> {
    let report = store
        .audit_verify()
        .await
        .context("cannot read the audit log")?;
    match &report.broken {
        None => {
            println!(
                "audit log intact: {} entries; head: entry {} with hash {}",
                report.entries, report.last_seq, report.last_hash
            );
            println!("(record the head hash elsewhere to detect a rewrite of the whole chain)");
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!("audit log BROKEN at {broken}");
            println!(
                "the {} entries before it are intact (last intact: entry {} with hash {})",
                report.entries, report.last_seq, report.last_hash
            );
            Ok(ExitCode::from(1))
        }
    }
}

async fn export_to(store: &pactum_store::Store, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let written = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let written = store
                .audit_export(&mut out)
                .await
                .with_context(|| format!("cannot export the audit log to {}", path.display()))?;
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            written
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            store
                .audit_export(&mut out)
                .await
                .context("cannot export the audit log")?
        }
    };
    eprintln!("exported {written} audit entries");
    Ok(ExitCode::SUCCESS)
}
