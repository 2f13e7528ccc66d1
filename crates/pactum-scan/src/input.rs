//! Streaming inputs: plain text and logs (per line), CSV (per cell) and JSON /
//! NDJSON (per key path).
//!
//! Each reader pulls bounded chunks (about [`InputOptions::chunk_bytes`] per
//! thread), scans them on up to [`InputOptions::threads`] threads, and hands
//! findings to a [`Sink`] in input order. Memory stays bounded by the chunk
//! size times the thread count, except for a JSON file that is one single
//! document (not NDJSON), which is parsed whole.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::column::{ColumnProfile, ColumnVerdict};
use crate::hint::FieldHint;
use crate::{Finding, PiiType, ScanError, Scanner};

/// How to read an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text or logs, scanned per line.
    Text,
    /// Comma-separated values with a header row, scanned per cell.
    Csv,
    /// Tab-separated values with a header row, scanned per cell.
    Tsv,
    /// JSON: NDJSON (one document per line) or one document, per key path.
    Json,
}

impl Format {
    /// Guesses the format from the file extension (`.csv`, `.tsv`, `.json`,
    /// `.jsonl`, `.ndjson`); anything else is text.
    pub fn from_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("tsv" | "tab") => Format::Tsv,
            Some("json" | "jsonl" | "ndjson") => Format::Json,
            _ => Format::Text,
        }
    }
}

/// How to read and parallelise.
#[derive(Debug, Clone, Copy)]
pub struct InputOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Target bytes per chunk of text, or of CSV cells per batch and thread.
    pub chunk_bytes: usize,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            chunk_bytes: 1 << 20,
        }
    }
}

/// A finding placed in its input.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    /// 1-based line (text), data row (CSV: row 1 is the first row after the
    /// header) or line of the JSON document (NDJSON; 1 for a single document).
    pub line: u64,
    /// Byte offset of the start within the line, cell or JSON string.
    pub start: usize,
    /// Byte offset of the end within the line, cell or JSON string.
    pub end: usize,
    /// The type found.
    pub kind: PiiType,
    /// The score.
    pub score: f32,
    /// CSV column name or JSON key path; `None` for text.
    pub field: Option<&'a str>,
}

/// Receives findings in input order, and progress.
pub trait Sink {
    /// One finding.
    fn finding(&mut self, found: &Located<'_>) -> Result<(), ScanError>;
    /// Bytes of input consumed so far (for a progress bar).
    fn progress(&mut self, _bytes_done: u64) {}
}

/// What a scanned input held, for summaries and column verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The input's path as given.
    pub path: PathBuf,
    /// How it was read.
    pub format: Format,
    /// Bytes read from the input.
    pub bytes: u64,
    /// Bytes handed to the recognisers (CSV: cell values only).
    pub scanned_bytes: u64,
    /// Lines (text), data rows (CSV) or documents (JSON).
    pub records: u64,
    /// Findings per type, in [`PiiType::ALL`] order.
    #[serde(skip)]
    pub per_type: [u64; PiiType::ALL.len()],
    /// Column (CSV) or key path (JSON) verdicts; empty for text.
    pub columns: Vec<ColumnVerdict>,
    /// Wall time spent reading and scanning.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl FileReport {
    fn new(path: &Path, format: Format) -> FileReport {
        FileReport {
            path: path.to_owned(),
            format,
            bytes: 0,
            scanned_bytes: 0,
            records: 0,
            per_type: [0; PiiType::ALL.len()],
            columns: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// Total findings.
    pub fn findings(&self) -> u64 {
        self.per_type.iter().sum()
    }
}

/// Opens and scans one file (`-` reads standard input). `format` overrides
/// the guess from the extension.
pub fn scan_path(
    scanner: &Scanner,
    path: &Path,
    format: Option<Format>,
    opts: &InputOptions,
    sink: &mut dyn Sink,
) -> Result<FileReport, ScanError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let read_err = |source| ScanError::Read {
        path: path.to_owned(),
        source,
    };
    if path == Path::new("-") {
        let stdin = io::stdin();
        return scan_reader(scanner, path, format, stdin.lock(), opts, sink);
    }
    let file = std::fs::File::open(path).map_err(read_err)?;
    scan_reader(scanner, path, format, file, opts, sink)
}

/// Scans one input from a reader. `path` is used for messages and the report.
pub fn scan_reader<R: Read>(
    scanner: &Scanner,
    path: &Path,
    format: Format,
    reader: R,
    opts: &InputOptions,
    sink: &mut dyn Sink,
) -> Result<FileReport, ScanError> {
    let started = Instant::now();
    let mut report = FileReport::new(path, format);
    let opts = InputOptions {
        threads: opts.threads.max(1),
        chunk_bytes: opts.chunk_bytes.max(4096),
    };
    match format {
        Format::Text => scan_text(scanner, reader, &opts, sink, &mut report)?,
        Format::Csv => scan_csv(scanner, reader, b',', &opts, sink, &mut report)?,
        Format::Tsv => scan_csv(scanner, reader, b'\t', &opts, sink, &mut report)?,
        Format::Json => scan_json(scanner, reader, sink, &mut report)?,
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Reads into `buf` until it holds at least `want` bytes or the input ends.
/// Returns true at end of input.
fn fill<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
    path: &Path,
) -> Result<bool, ScanError> {
    while buf.len() < want {
        let old = buf.len();
        buf.resize(want.max(old + 8192), 0);
        let n = loop {
            match reader.read(&mut buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ScanError::Read {
                        path: path.to_owned(),
                        source,
                    });
                }
            }
        };
        buf.truncate(old + n);
        if n == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A finding mapped to a line of its chunk.
struct LineFinding {
    line: u64,
    start: usize,
    end: usize,
    kind: PiiType,
    score: f32,
}

/// Scans a chunk of whole lines and maps findings to (line, offset in line).
fn scan_chunk(scanner: &Scanner, chunk: &[u8]) -> (Vec<LineFinding>, u64) {
    let mut found: Vec<Finding> = Vec::new();
    scanner.scan(chunk, &mut found);
    let mut out = Vec::with_capacity(found.len());
    let mut line = 0u64;
    let mut line_start = 0usize;
    let mut newlines = memchr::memchr_iter(b'\n', chunk).peekable();
    for f in found {
        while let Some(&nl) = newlines.peek() {
            if nl < f.start {
                line += 1;
                line_start = nl + 1;
                newlines.next();
            } else {
                break;
            }
        }
        out.push(LineFinding {
            line,
            start: f.start - line_start,
            end: f.end - line_start,
            kind: f.kind,
            score: f.score,
        });
    }
    let mut lines = memchr::memchr_iter(b'\n', chunk).count() as u64;
    if chunk.last().is_some_and(|&b| b != b'\n') {
        lines += 1;
    }
    (out, lines)
}

fn scan_text<R: Read>(
    scanner: &Scanner,
    mut reader: R,
    opts: &InputOptions,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), ScanError> {
    let mut carry: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut base_line = 0u64;
    while !(eof && carry.is_empty()) {
        // Collect up to `threads` chunks of whole lines.
        let mut batch: Vec<Vec<u8>> = Vec::with_capacity(opts.threads);
        while batch.len() < opts.threads && !(eof && carry.is_empty()) {
            let mut buf = std::mem::take(&mut carry);
            let mut want = opts.chunk_bytes;
            loop {
                eof = fill(&mut reader, &mut buf, want, &report.path)? || eof;
                if eof {
                    break;
                }
                match memchr::memrchr(b'\n', &buf) {
                    Some(p) => {
                        carry = buf[p + 1..].to_vec();
                        buf.truncate(p + 1);
                        break;
                    }
                    // One line longer than a chunk: keep reading until it ends.
                    None => want = buf.len() * 2,
                }
            }
            if !buf.is_empty() {
                batch.push(buf);
            }
        }
        let results: Vec<(Vec<LineFinding>, u64)> = if batch.len() == 1 {
            vec![scan_chunk(scanner, &batch[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|c| s.spawn(move || scan_chunk(scanner, c)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("scanner threads do not panic"))
                    .collect()
            })
        };
        for (chunk, (found, lines)) in batch.iter().zip(results) {
            for f in found {
                report.per_type[f.kind.index()] += 1;
                sink.finding(&Located {
                    line: base_line + f.line + 1,
                    start: f.start,
                    end: f.end,
                    kind: f.kind,
                    score: f.score,
                    field: None,
                })?;
            }
            base_line += lines;
            report.bytes += chunk.len() as u64;
        }
        report.scanned_bytes = report.bytes;
        sink.progress(report.bytes);
    }
    report.records = base_line;
    Ok(())
}

/// One finding in a cell, tagged with its row and column.
struct CellFinding {
    row: u64,
    col: usize,
    found: Finding,
}

fn scan_csv<R: Read>(
    scanner: &Scanner,
    reader: R,
    delimiter: u8,
    opts: &InputOptions,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), ScanError> {
    let csv_err = |source| ScanError::Csv {
        path: report.path.clone(),
        source,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .byte_headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let mut profiles: Vec<ColumnProfile> = headers.iter().map(|h| ColumnProfile::new(h)).collect();
    let hints: Vec<FieldHint> = profiles.iter().map(|p| *p.hint()).collect();
    let mut row = 0u64;
    let mut done = false;
    while !done {
        // Read a batch: about chunk_bytes of records per thread.
        let mut batch: Vec<csv::ByteRecord> = Vec::new();
        let mut batch_bytes = 0usize;
        while batch_bytes < opts.chunk_bytes * opts.threads {
            let mut rec = csv::ByteRecord::new();
            if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
                done = true;
                break;
            }
            batch_bytes += rec.as_slice().len();
            batch.push(rec);
        }
        // Columns beyond the header get a generated name.
        let widest = batch.iter().map(csv::ByteRecord::len).max().unwrap_or(0);
        while profiles.len() < widest {
            profiles.push(ColumnProfile::new(&format!(
                "column_{}",
                profiles.len() + 1
            )));
        }
        let mut hints = hints.clone();
        hints.resize(profiles.len(), FieldHint::NONE);
        let names: Vec<String> = profiles.iter().map(|p| p.name().to_owned()).collect();
        let per = batch.len().div_ceil(opts.threads).max(1);
        let work = |part: &[csv::ByteRecord], first_row: u64| {
            let mut out: Vec<CellFinding> = Vec::new();
            let mut local: Vec<ColumnProfile> =
                names.iter().map(|n| ColumnProfile::new(n)).collect();
            let mut found = Vec::new();
            let mut bytes = 0u64;
            for (i, rec) in part.iter().enumerate() {
                for (col, cell) in rec.iter().enumerate() {
                    found.clear();
                    bytes += cell.len() as u64;
                    scanner.scan_field(&hints[col], cell, &mut found);
                    local[col].add(cell, &found);
                    out.extend(found.iter().map(|&f| CellFinding {
                        row: first_row + i as u64,
                        col,
                        found: f,
                    }));
                }
            }
            (out, local, bytes)
        };
        let results: Vec<(Vec<CellFinding>, Vec<ColumnProfile>, u64)> =
            if opts.threads == 1 || batch.len() < 2 {
                vec![work(&batch, row)]
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = batch
                        .chunks(per)
                        .enumerate()
                        .map(|(k, part)| {
                            let work = &work;
                            s.spawn(move || work(part, row + (k * per) as u64))
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("scanner threads do not panic"))
                        .collect()
                })
            };
        for (cells, local, bytes) in results {
            for c in cells {
                let f = c.found;
                report.per_type[f.kind.index()] += 1;
                sink.finding(&Located {
                    line: c.row + 1,
                    start: f.start,
                    end: f.end,
                    kind: f.kind,
                    score: f.score,
                    field: Some(&names[c.col]),
                })?;
            }
            for (p, l) in profiles.iter_mut().zip(&local) {
                p.merge(l);
            }
            report.scanned_bytes += bytes;
        }
        row += batch.len() as u64;
        report.bytes = rdr.position().byte();
        sink.progress(report.bytes);
    }
    report.records = row;
    report.columns = profiles.iter().map(ColumnProfile::verdict).collect();
    Ok(())
}

/// Walks a JSON value, scanning every string and number leaf with the hint of
/// its key, and recording per-key-path profiles (array indices collapsed to `[]`).
struct JsonWalk<'s> {
    scanner: &'s Scanner,
    profiles: BTreeMap<String, ColumnProfile>,
    found: Vec<Finding>,
    scanned: u64,
}

impl JsonWalk<'_> {
    fn walk(
        &mut self,
        v: &serde_json::Value,
        path: &mut String,
        line: u64,
        report: &mut FileReport,
        sink: &mut dyn Sink,
    ) -> Result<(), ScanError> {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    self.walk(child, path, line, report, sink)?;
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                let len = path.len();
                path.push_str("[]");
                for child in items {
                    self.walk(child, path, line, report, sink)?;
                }
                path.truncate(len);
            }
            Value::String(s) => self.leaf(s.as_bytes(), path, line, report, sink)?,
            Value::Number(n) => {
                let s = n.to_string();
                self.leaf(s.as_bytes(), path, line, report, sink)?;
            }
            Value::Bool(_) | Value::Null => {}
        }
        Ok(())
    }

    fn leaf(
        &mut self,
        value: &[u8],
        path: &str,
        line: u64,
        report: &mut FileReport,
        sink: &mut dyn Sink,
    ) -> Result<(), ScanError> {
        let key = path
            .rsplit('.')
            .next()
            .unwrap_or(path)
            .trim_end_matches("[]");
        let profile = self.profiles.entry(path.to_owned()).or_insert_with(|| {
            let mut p = ColumnProfile::new(key);
            p.rename(path);
            p
        });
        self.found.clear();
        self.scanner
            .scan_field(profile.hint(), value, &mut self.found);
        profile.add(value, &self.found);
        self.scanned += value.len() as u64;
        for f in &self.found {
            report.per_type[f.kind.index()] += 1;
            sink.finding(&Located {
                line,
                start: f.start,
                end: f.end,
                kind: f.kind,
                score: f.score,
                field: Some(path),
            })?;
        }
        Ok(())
    }
}

fn scan_json<R: Read>(
    scanner: &Scanner,
    reader: R,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), ScanError> {
    use std::io::BufRead;
    let path = report.path.clone();
    let read_err = |source| ScanError::Read {
        path: path.clone(),
        source,
    };
    let mut walk = JsonWalk {
        scanner,
        profiles: BTreeMap::new(),
        found: Vec::new(),
        scanned: 0,
    };
    let mut rd = io::BufReader::new(reader);
    let mut line = String::new();
    let mut lineno = 0u64;
    let mut docs = 0u64;
    let mut key = String::from("$");
    loop {
        line.clear();
        let n = rd.read_line(&mut line).map_err(read_err)?;
        if n == 0 {
            break;
        }
        lineno += 1;
        report.bytes += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => {
                docs += 1;
                walk.walk(&v, &mut key, lineno, report, sink)?;
            }
            Err(e) if docs == 0 && e.is_eof() => {
                // Not NDJSON: one document over many lines. Parse it whole.
                let mut rest = std::mem::take(&mut line);
                rd.read_to_string(&mut rest).map_err(read_err)?;
                report.bytes += (rest.len() - n) as u64;
                let v: serde_json::Value =
                    serde_json::from_str(&rest).map_err(|source| ScanError::Json {
                        path: path.clone(),
                        line: lineno,
                        source,
                    })?;
                docs += 1;
                walk.walk(&v, &mut key, 1, report, sink)?;
                break;
            }
            Err(source) => {
                return Err(ScanError::Json {
                    path: path.clone(),
                    line: lineno,
                    source,
                });
            }
        }
        sink.progress(report.bytes);
    }
    report.records = docs;
    report.scanned_bytes = walk.scanned;
    report.columns = walk.profiles.values().map(ColumnProfile::verdict).collect();
    Ok(())
}
