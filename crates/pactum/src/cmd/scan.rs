//! `pactum scan`: find personal data in files.
//!
//! Thin by design: arguments become a [`Scanner`] and [`InputOptions`], each
//! file goes through `pactum_scan::input::scan_path`, and a
//! [`Report`] prints the findings. All logic lives in the `pactum-scan` crate.
//!
//! Exit codes: 0 when every file was scanned (whether or not anything was
//! found), 1 when `--fail-on-findings` is given and something was found;
//! errors (unreadable file, bad JSON) are returned to `main`, which exits 2.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use pactum_scan::input::{self, FileReport, Format, InputOptions, Located, Sink};
use pactum_scan::report::{OutputFormat, Report};
use pactum_scan::{ScanError, ScanOptions, Scanner};

/// Arguments of `pactum scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Files to scan; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// How to read the inputs (default: from each file's extension).
    #[arg(long, value_enum)]
    pub input: Option<InputArg>,
    /// Report findings with at least this score (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    pub min_score: f32,
    /// Worker threads (default: the cores this process may use).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Exit with code 1 when anything is found (for CI gates).
    #[arg(long)]
    pub fail_on_findings: bool,
    /// Print per-file timing and throughput as JSON lines on standard error.
    #[arg(long)]
    pub stats: bool,
}

/// `--format` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Per-file summary, column verdicts and the first findings.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per finding.
    Jsonl,
    /// SARIF 2.1.0.
    Sarif,
}

/// `--input` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputArg {
    /// Plain text or logs, per line.
    Text,
    /// CSV with a header row, per cell.
    Csv,
    /// TSV with a header row, per cell.
    Tsv,
    /// JSON or NDJSON, per key path.
    Json,
}

/// A progress line on standard error, only when it is a terminal.
struct Progress<'r, 'w> {
    report: &'r mut Report<'w>,
    tty: bool,
    total: u64,
    last: Instant,
}

impl Sink for Progress<'_, '_> {
    fn finding(&mut self, found: &Located<'_>) -> Result<(), ScanError> {
        self.report.finding(found)
    }
    fn progress(&mut self, done: u64) {
        if self.tty && self.last.elapsed().as_millis() >= 200 {
            self.last = Instant::now();
            let pct = (done * 100).checked_div(self.total).unwrap_or(0);
            eprint!("\rscanning: {:.1} MB ({pct}%)   ", done as f64 / 1e6);
        }
    }
}

/// The current calendar year (UTC), for telling birth dates from recent dates.
fn current_year() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil-from-days (Howard Hinnant's algorithm), year only.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u32::try_from(year).unwrap_or(2026)
}

fn is_broken_pipe(err: &ScanError) -> bool {
    matches!(err, ScanError::Write(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs `pactum scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let scanner = Scanner::new(ScanOptions {
        min_score: args.min_score,
        reference_year: current_year(),
    })
    .context("cannot build the scanner")?;
    let mut opts = InputOptions::default();
    if let Some(t) = args.threads {
        opts.threads = t.max(1);
    }
    let format = match args.format {
        FormatArg::Table => OutputFormat::Table,
        FormatArg::Json => OutputFormat::Json,
        FormatArg::Jsonl => OutputFormat::Jsonl,
        FormatArg::Sarif => OutputFormat::Sarif,
    };
    let input = args.input.map(|i| match i {
        InputArg::Text => Format::Text,
        InputArg::Csv => Format::Csv,
        InputArg::Tsv => Format::Tsv,
        InputArg::Json => Format::Json,
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut report = Report::new(format, &mut out);
    let tty = std::io::stderr().is_terminal();
    let mut found = 0u64;
    for path in &args.files {
        let fmt = input.unwrap_or_else(|| Format::from_path(path));
        report.begin_file(path, fmt);
        let total = std::fs::metadata(path).map_or(0, |m| m.len());
        let mut sink = Progress {
            report: &mut report,
            tty,
            total,
            last: Instant::now(),
        };
        let result: Result<FileReport, ScanError> =
            input::scan_path(&scanner, path, Some(fmt), &opts, &mut sink);
        if tty {
            eprint!("\r\x1b[K");
        }
        let file = match result {
            Ok(f) => f,
            Err(e) if is_broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).with_context(|| format!("{}: scan failed", path.display())),
        };
        if args.stats {
            let secs = file.elapsed.as_secs_f64();
            eprintln!(
                "{{\"path\":{:?},\"bytes\":{},\"scanned_bytes\":{},\"records\":{},\"findings\":{},\"seconds\":{secs:.6},\"mb_per_s\":{:.2}}}",
                path.display().to_string(),
                file.bytes,
                file.scanned_bytes,
                file.records,
                file.findings(),
                if secs > 0.0 {
                    file.scanned_bytes as f64 / 1e6 / secs
                } else {
                    0.0
                }
            );
        }
        found += file.findings();
        report.end_file(file)?;
    }
    match report.finish() {
        Err(e) if is_broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
        r => r?,
    }
    out.flush().ok();
    Ok(if args.fail_on_findings && found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
