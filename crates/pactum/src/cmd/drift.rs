//! `pactum drift`: scan the map's live datastores for personal data and compare with the map.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use pactum_connectors::{CollectionInfo, Datastore, Sample};
use pactum_domain::diagnostic::{Diagnostic, MapPath};
use pactum_domain::model::ConnectorKind;
use pactum_mapfile::{Loaded, report};
use pactum_scan::drift::{Drift, DriftKind, ScannedCollection, ScannedDatastore, drift};
use pactum_scan::{ColumnProfile, FieldHint, ScanOptions, Scanner};

use crate::cli::MapArg;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Column verdicts per datastore, then the drift as located diagnostics.
    Table,
    /// One JSON document: verdicts, drift, skipped datastores.
    Json,
    /// One JSON object per drift item per line.
    Jsonl,
    /// SARIF 2.1.0, located in the map files.
    Sarif,
}

/// Exit status: 0 no drift, 1 drift found, 2 the map or a datastore could not be read.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// Only these datastores (map keys); default: every datastore whose connection variable is set.
    #[arg(long = "datastore", value_name = "KEY")]
    pub datastores: Vec<String>,
    /// Rows (or Redis keys) to sample per collection.
    #[arg(long, default_value_t = 1000, conflicts_with = "all")]
    pub sample: u64,
    /// Read every row instead of a sample.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A datastore that was not scanned, and why.
struct Skipped {
    datastore: String,
    reason: String,
}

pub fn run(args: &DriftArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = crate::cmd::load_without_errors(&args.map.map, "report drift")? else {
        return Ok(ExitCode::from(2));
    };
    for wanted in &args.datastores {
        if !loaded.map.datastores.contains_key(wanted) {
            anyhow::bail!("the map declares no datastore `{wanted}`");
        }
    }
    let sample = if args.all {
        Sample::All
    } else {
        Sample::Rows(args.sample)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let scanner =
        Arc::new(Scanner::new(ScanOptions::default()).context("cannot build the scanner")?);
    let (scanned, skipped, failed) = runtime.block_on(scan_all(&loaded, args, sample, &scanner));
    let found = drift(&loaded.map, &scanned);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Table => table(&mut stdout, &loaded, &scanned, &skipped, &failed, &found)?,
        Format::Json => {
            let doc = serde_json::json!({
                "datastores": scanned.iter().map(|d| serde_json::json!({
                    "datastore": d.datastore,
                    "collections": d.collections.iter().map(|c| serde_json::json!({
                        "name": c.name, "columns": c.columns,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "drift": found,
                "skipped": skipped.iter().map(|s| serde_json::json!({"datastore": s.datastore, "reason": s.reason})).collect::<Vec<_>>(),
                "failed": failed.iter().map(|s| serde_json::json!({"datastore": s.datastore, "reason": s.reason})).collect::<Vec<_>>(),
            });
            writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Jsonl => {
            for d in &found {
                writeln!(stdout, "{}", serde_json::to_string(d)?)?;
            }
        }
        Format::Sarif => {
            let located = located(&loaded, &found);
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&report::sarif(&located))?
            )?;
        }
    }
    for f in &failed {
        eprintln!(
            "error: datastore `{}` could not be scanned: {}",
            f.datastore, f.reason
        );
    }
    Ok(if !failed.is_empty() {
        ExitCode::from(2)
    } else if !found.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn scan_all(
    loaded: &Loaded,
    args: &DriftArgs,
    sample: Sample,
    scanner: &Arc<Scanner>,
) -> (Vec<ScannedDatastore>, Vec<Skipped>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut jobs = tokio::task::JoinSet::new();
    for (key, ds) in &loaded.map.datastores {
        if !args.datastores.is_empty() && !args.datastores.contains(key) {
            continue;
        }
        let skip = |reason: String| Skipped {
            datastore: key.clone(),
            reason,
        };
        if matches!(ds.kind, ConnectorKind::Manual | ConnectorKind::Http) {
            skipped.push(skip(
                format!("{:?} datastores cannot be scanned", ds.kind).to_lowercase(),
            ));
            continue;
        }
        let Some(var) = &ds.connection_env else {
            skipped.push(skip("no `connection_env` in the map".to_owned()));
            continue;
        };
        let Ok(url) = std::env::var(var) else {
            skipped.push(skip(format!("environment variable {var} is not set")));
            continue;
        };
        // Datastores are scanned side by side: fetching from one overlaps scanning another, and the
        // runtime spreads the scanning over both cores.
        let key = key.clone();
        let scanner = Arc::clone(scanner);
        jobs.spawn(async move {
            let result = scan_one(&key, &url, sample, &scanner).await;
            (key, result)
        });
    }
    let mut scanned = Vec::new();
    let mut failed = Vec::new();
    while let Some(done) = jobs.join_next().await {
        match done {
            Ok((key, Ok(collections))) => scanned.push(ScannedDatastore {
                datastore: key,
                collections,
            }),
            // The error chain never includes the URL (connectors leave it out: it may hold a password).
            Ok((key, Err(e))) => failed.push(Skipped {
                datastore: key,
                reason: format!("{e:#}"),
            }),
            Err(e) => failed.push(Skipped {
                datastore: "?".to_owned(),
                reason: format!("the scan task failed: {e}"),
            }),
        }
    }
    // Report in the map's order, whatever order the scans finished in.
    let order = |k: &str| loaded.map.datastores.get_index_of(k).unwrap_or(usize::MAX);
    scanned.sort_by_key(|d| order(&d.datastore));
    failed.sort_by_key(|d| order(&d.datastore));
    (scanned, skipped, failed)
}

async fn scan_one(
    key: &str,
    url: &str,
    sample: Sample,
    scanner: &Scanner,
) -> anyhow::Result<Vec<ScannedCollection>> {
    let mut store = Datastore::connect(url, None).await?;
    let collections: Vec<CollectionInfo> = store.collections(sample).await?;
    let mut out = Vec::with_capacity(collections.len());
    for (n, c) in collections.iter().enumerate() {
        let hints: Vec<FieldHint> = c.columns.iter().map(|n| FieldHint::from_name(n)).collect();
        let mut profiles: Vec<ColumnProfile> =
            c.columns.iter().map(|n| ColumnProfile::new(n)).collect();
        let mut findings = Vec::new();
        let rows = store
            .sample(c, sample, &mut |i, value| {
                findings.clear();
                scanner.scan_field(&hints[i], value.as_bytes(), &mut findings);
                profiles[i].add(value.as_bytes(), &findings);
            })
            .await?;
        // Progress on standard error, one line per collection: standard output stays machine-readable.
        eprintln!(
            "  {key}: {}/{} `{}`: {rows} rows",
            n + 1,
            collections.len(),
            c.name
        );
        out.push(ScannedCollection {
            name: c.name.clone(),
            columns: profiles.iter().map(ColumnProfile::verdict).collect(),
        });
    }
    Ok(out)
}

/// Drift as diagnostics placed in the map files (the datastore, collection or field they concern).
fn located(loaded: &Loaded, found: &[Drift]) -> Loaded {
    let mut out = loaded.clone();
    out.diagnostics = found
        .iter()
        .map(|d| {
            let mut path = MapPath::keys(["datastores", d.datastore.as_str()]);
            let declared = loaded
                .map
                .datastores
                .get(&d.datastore)
                .is_some_and(|ds| ds.collections.contains_key(&d.collection));
            if declared {
                path = path.key("collections").key(d.collection.as_str());
                if let Some(col) = &d.column
                    && d.kind != DriftKind::Undeclared
                {
                    path = path.key("fields").key(col.as_str());
                }
            }
            let (code, severe) = match d.kind {
                DriftKind::Undeclared => ("drift-undeclared", true),
                DriftKind::CategoryMismatch => ("drift-category-mismatch", true),
                DriftKind::PromiseViolation => ("drift-promise-violation", true),
                DriftKind::NotFound => ("drift-not-found", false),
                DriftKind::Missing => ("drift-missing", false),
            };
            let mut diag = if severe {
                Diagnostic::error(code, path, d.message.clone())
            } else {
                Diagnostic::warning(code, path, d.message.clone())
            };
            let column = d.column.as_deref().unwrap_or("?");
            let help = match (d.kind, d.suggested_category) {
                (DriftKind::Undeclared, Some(cat)) if declared => {
                    Some(format!("declare `{column}: {{categories: [{cat}]}}` under `{}`'s fields", d.collection))
                }
                (DriftKind::Undeclared, Some(cat)) => Some(format!(
                    "declare collection `{}` with `{column}: {{categories: [{cat}]}}`",
                    d.collection
                )),
                (DriftKind::CategoryMismatch, Some(cat)) => {
                    Some(format!("add `{cat}` to the field's categories, or fix the data"))
                }
                (DriftKind::PromiseViolation, _) => Some(
                    "remove the card numbers (or tokenise them with the payment processor), or change the promise"
                        .to_owned(),
                ),
                (DriftKind::Missing, _) => Some("remove it from the map, or check the datastore".to_owned()),
                _ => None,
            };
            if let Some(help) = help {
                diag = diag.with_help(help);
            }
            out.locate(diag)
        })
        .collect();
    out
}

fn table(
    out: &mut impl Write,
    loaded: &Loaded,
    scanned: &[ScannedDatastore],
    skipped: &[Skipped],
    failed: &[Skipped],
    found: &[Drift],
) -> anyhow::Result<()> {
    for ds in scanned {
        writeln!(out, "datastore `{}`", ds.datastore)?;
        for c in &ds.collections {
            for v in &c.columns {
                let Some(kind) = v.kind else { continue };
                let share = v.shares.first().map_or(0.0, |s| s.share * 100.0);
                writeln!(
                    out,
                    "  {:<40} {:<14} {:>5.1}% of {:>6} values  -> {}",
                    format!("{}.{}", c.name, v.column),
                    kind,
                    share,
                    v.non_empty,
                    v.category.unwrap_or("-")
                )?;
            }
        }
    }
    let mut reasons: BTreeMap<&str, &str> = BTreeMap::new();
    for s in skipped {
        reasons.insert(&s.datastore, &s.reason);
    }
    for (ds, reason) in reasons {
        writeln!(out, "skipped `{ds}`: {reason}")?;
    }
    for f in failed {
        writeln!(out, "failed `{}`: {}", f.datastore, f.reason)?;
    }
    writeln!(out)?;
    write!(out, "{}", report::human(&located(loaded, found)))?;
    if found.is_empty() {
        writeln!(
            out,
            "no drift: the scanned datastores hold what the map declares"
        )?;
    } else {
        writeln!(
            out,
            "{} drift item{} found",
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}
