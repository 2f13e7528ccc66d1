//! Output: JSON Lines, JSON, SARIF 2.1.0 and a human-readable table.
//!
//! A [`Report`] is a [`Sink`]: the input layer hands it findings as it finds
//! them. JSON Lines are written at once (constant memory); the other formats
//! need the whole run and are written by [`Report::finish`]. No format prints
//! the matched values themselves: a report about personal data must not
//! become a copy of it.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::input::{FileReport, Format, Located, Sink};
use crate::{PiiType, ScanError};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A summary per file: counts per type, column verdicts, first findings.
    Table,
    /// One JSON document with every finding and every file's verdicts.
    Json,
    /// One JSON object per finding and line (the benchmark contract).
    Jsonl,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
}

/// Findings the table prints per file before it summarises the rest.
const TABLE_ROWS: usize = 50;

#[derive(Debug, Clone, Serialize)]
struct Row {
    path: String,
    line: u64,
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    kind: &'static str,
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

/// Collects findings and writes them in one [`OutputFormat`].
pub struct Report<'w> {
    format: OutputFormat,
    out: &'w mut dyn Write,
    path: String,
    input: Format,
    rows: Vec<Row>,
    rows_in_file: usize,
    files: Vec<FileReport>,
}

fn round2(x: f32) -> f64 {
    (f64::from(x) * 100.0).round() / 100.0
}

impl<'w> Report<'w> {
    /// A report writing to `out`.
    pub fn new(format: OutputFormat, out: &'w mut dyn Write) -> Report<'w> {
        Report {
            format,
            out,
            path: String::new(),
            input: Format::Text,
            rows: Vec::new(),
            rows_in_file: 0,
            files: Vec::new(),
        }
    }

    /// Starts the findings of one input.
    pub fn begin_file(&mut self, path: &Path, format: Format) {
        self.path = path.display().to_string();
        self.input = format;
        self.rows_in_file = 0;
    }

    /// Ends one input with its summary (used by the table, JSON and SARIF).
    pub fn end_file(&mut self, report: FileReport) -> Result<(), ScanError> {
        if self.format == OutputFormat::Table {
            write_table_file(self.out, &report, &self.rows).map_err(ScanError::Write)?;
            self.rows.clear();
        }
        self.files.push(report);
        Ok(())
    }

    /// Writes what is left (JSON and SARIF documents, the table's total).
    pub fn finish(self) -> Result<(), ScanError> {
        let w = self.out;
        match self.format {
            OutputFormat::Jsonl => {}
            OutputFormat::Table => {
                let total: u64 = self.files.iter().map(FileReport::findings).sum();
                writeln!(w, "{total} finding(s) in {} file(s)", self.files.len())
                    .map_err(ScanError::Write)?;
            }
            OutputFormat::Json => {
                #[derive(Serialize)]
                struct Doc<'a> {
                    files: Vec<FileDoc<'a>>,
                    findings: &'a [Row],
                }
                #[derive(Serialize)]
                struct FileDoc<'a> {
                    #[serde(flatten)]
                    report: &'a FileReport,
                    counts: std::collections::BTreeMap<&'static str, u64>,
                }
                let files = self
                    .files
                    .iter()
                    .map(|r| FileDoc {
                        report: r,
                        counts: counts(r),
                    })
                    .collect();
                serde_json::to_writer_pretty(
                    &mut *w,
                    &Doc {
                        files,
                        findings: &self.rows,
                    },
                )
                .map_err(|e| ScanError::Write(e.into()))?;
                writeln!(w).map_err(ScanError::Write)?;
            }
            OutputFormat::Sarif => {
                let doc = sarif(&self.rows);
                serde_json::to_writer_pretty(&mut *w, &doc)
                    .map_err(|e| ScanError::Write(e.into()))?;
                writeln!(w).map_err(ScanError::Write)?;
            }
        }
        w.flush().map_err(ScanError::Write)
    }
}

fn counts(r: &FileReport) -> std::collections::BTreeMap<&'static str, u64> {
    PiiType::ALL
        .iter()
        .filter(|t| r.per_type[t.index()] > 0)
        .map(|t| (t.name(), r.per_type[t.index()]))
        .collect()
}

impl Sink for Report<'_> {
    fn finding(&mut self, f: &Located<'_>) -> Result<(), ScanError> {
        if self.format == OutputFormat::Jsonl {
            // Borrowed fields: one line per finding without allocating.
            #[derive(Serialize)]
            struct Line<'a> {
                path: &'a str,
                line: u64,
                start: usize,
                end: usize,
                #[serde(rename = "type")]
                kind: &'static str,
                score: f64,
                #[serde(skip_serializing_if = "Option::is_none")]
                column: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                key: Option<&'a str>,
            }
            let json = self.input == Format::Json;
            let line = Line {
                path: &self.path,
                line: f.line,
                start: f.start,
                end: f.end,
                kind: f.kind.name(),
                score: round2(f.score),
                column: f.field.filter(|_| !json),
                key: f.field.filter(|_| json),
            };
            serde_json::to_writer(&mut *self.out, &line).map_err(|e| ScanError::Write(e.into()))?;
            return self.out.write_all(b"\n").map_err(ScanError::Write);
        }
        let (column, key) = match (self.input, f.field) {
            (Format::Json, Some(k)) => (None, Some(k.to_owned())),
            (_, Some(c)) => (Some(c.to_owned()), None),
            (_, None) => (None, None),
        };
        let row = Row {
            path: self.path.clone(),
            line: f.line,
            start: f.start,
            end: f.end,
            kind: f.kind.name(),
            score: round2(f.score),
            column,
            key,
        };
        match self.format {
            OutputFormat::Jsonl => {}
            OutputFormat::Table => {
                self.rows_in_file += 1;
                if self.rows_in_file <= TABLE_ROWS {
                    self.rows.push(row);
                }
            }
            OutputFormat::Json | OutputFormat::Sarif => self.rows.push(row),
        }
        Ok(())
    }
}

fn write_table_file(w: &mut dyn Write, r: &FileReport, rows: &[Row]) -> std::io::Result<()> {
    let unit = match r.format {
        Format::Text => "lines",
        Format::Csv | Format::Tsv => "rows",
        Format::Json => "documents",
    };
    writeln!(
        w,
        "{}: {} {unit}, {} bytes, {} finding(s) in {:.2} s",
        r.path.display(),
        r.records,
        r.bytes,
        r.findings(),
        r.elapsed.as_secs_f64()
    )?;
    for t in PiiType::ALL {
        let n = r.per_type[t.index()];
        if n > 0 {
            writeln!(w, "  {:<14} {n:>10}", t.name())?;
        }
    }
    if !r.columns.is_empty() {
        writeln!(
            w,
            "  {:<28} {:<14} {:>7}  {:<14} category",
            "column", "type", "share", "header"
        )?;
        for c in &r.columns {
            let share = c.shares.first().map_or(0.0, |s| s.share);
            writeln!(
                w,
                "  {:<28} {:<14} {:>6.1}%  {:<14} {}",
                c.column,
                c.kind.unwrap_or("-"),
                share * 100.0,
                c.header_signal.unwrap_or("-"),
                c.category.unwrap_or("-")
            )?;
        }
    }
    for row in rows {
        let field = row.column.as_deref().or(row.key.as_deref()).unwrap_or("");
        writeln!(
            w,
            "  {}:{}:{}-{} {} {:.2} {field}",
            row.path, row.line, row.start, row.end, row.kind, row.score
        )?;
    }
    if (r.findings() as usize) > rows.len() {
        writeln!(
            w,
            "  ... {} more (use --format jsonl for all)",
            r.findings() as usize - rows.len()
        )?;
    }
    Ok(())
}

fn sarif(rows: &[Row]) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<serde_json::Value> = PiiType::ALL
        .iter()
        .map(|t| {
            json!({
                "id": t.name(),
                "shortDescription": {"text": format!("Personal data: {}", t.name())},
                "properties": {"category": t.category()},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut props = json!({"start": r.start, "end": r.end, "score": r.score});
            if let Some(c) = &r.column {
                props["column"] = json!(c);
                props["row"] = json!(r.line);
            }
            if let Some(k) = &r.key {
                props["key"] = json!(k);
            }
            // CSV rows are reported one line below the header row.
            let line = if r.column.is_some() {
                r.line + 1
            } else {
                r.line
            };
            json!({
                "ruleId": r.kind,
                "level": "warning",
                "message": {"text": format!("{} found (score {:.2})", r.kind, r.score)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": r.path},
                    "region": {"startLine": line},
                }}],
                "properties": props,
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pactum scan", "informationUri": "https://example.invalid/pactum", "rules": rules}},
            "results": results,
        }],
    })
}
