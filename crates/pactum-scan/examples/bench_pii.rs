//! Times the scanner the way the shared PII benchmark times its anchors
//! (`run_anchor.py`): load the corpus, warm up on 200 documents, then time
//! only the scan loop, on the current thread. Prints one JSON object.
//!
//! ```sh
//! taskset -c 1 bench_pii tickets      DATA_DIR   # one call per ticket line
//! taskset -c 1 bench_pii tickets-blob DATA_DIR   # the whole file in one call
//! taskset -c 1 bench_pii customers    DATA_DIR   # one call per CSV cell, column by column
//! ```
//!
//! MB = 10^6 bytes of text handed to the scanner (line text without the
//! newline; CSV cell values), as in the anchors' tables. `scan_s` is that
//! first timed pass; `steady_s` is a second identical pass, once the lazy DFA
//! has built its states (a one-time cost of about 0.1 s, large next to a
//! 1.6 MB corpus and small next to a large one).

use std::path::Path;
use std::time::Instant;

use pactum_scan::{FieldHint, ScanOptions, Scanner};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(workload), Some(data)) = (args.next(), args.next()) else {
        eprintln!("usage: bench_pii tickets|tickets-blob|customers DATA_DIR");
        std::process::exit(2);
    };
    let data = Path::new(&data);
    let t_load = Instant::now();
    let scanner = Scanner::new(ScanOptions::default()).expect("built-in patterns compile");
    let mut out = Vec::new();
    let (bytes, rows, scan_s, steady_s, findings) = match workload.as_str() {
        "tickets" | "tickets-blob" => {
            let text = std::fs::read(data.join("tickets.txt")).expect("tickets.txt readable");
            let lines: Vec<&[u8]> = text
                .strip_suffix(b"\n")
                .unwrap_or(&text)
                .split(|b| *b == b'\n')
                .collect();
            let load_s = t_load.elapsed().as_secs_f64();
            for l in lines.iter().take(200) {
                scanner.scan(l, &mut out);
            }
            out.clear();
            let bytes: usize = lines.iter().map(|l| l.len()).sum();
            let mut pass = || {
                let t = Instant::now();
                let mut n = 0usize;
                if workload == "tickets" {
                    for l in &lines {
                        out.clear();
                        scanner.scan(l, &mut out);
                        n += out.len();
                    }
                } else {
                    out.clear();
                    scanner.scan(&text, &mut out);
                    n = out.len();
                }
                (t.elapsed().as_secs_f64(), n)
            };
            let (s, n) = pass();
            let (steady, _) = pass();
            eprintln!("load {load_s:.3} s");
            (bytes, lines.len(), s, steady, n)
        }
        "customers" => {
            let mut rdr =
                csv::Reader::from_path(data.join("customers.csv")).expect("customers.csv readable");
            let header: Vec<String> = rdr
                .headers()
                .expect("header row")
                .iter()
                .map(str::to_owned)
                .collect();
            let mut columns: Vec<Vec<String>> = vec![Vec::new(); header.len()];
            let mut rows = 0usize;
            for rec in rdr.records() {
                let rec = rec.expect("well-formed CSV");
                for (c, v) in rec.iter().enumerate() {
                    columns[c].push(v.to_owned());
                }
                rows += 1;
            }
            let hints: Vec<FieldHint> = header.iter().map(|h| FieldHint::from_name(h)).collect();
            for (c, col) in columns.iter().enumerate() {
                for v in col.iter().take(200 / header.len() + 1) {
                    scanner.scan_field(&hints[c], v.as_bytes(), &mut out);
                }
            }
            out.clear();
            let bytes: usize = columns.iter().flatten().map(String::len).sum();
            let mut pass = || {
                let t = Instant::now();
                let mut n = 0usize;
                for (c, col) in columns.iter().enumerate() {
                    for v in col {
                        out.clear();
                        scanner.scan_field(&hints[c], v.as_bytes(), &mut out);
                        n += out.len();
                    }
                }
                (t.elapsed().as_secs_f64(), n)
            };
            let (s, n) = pass();
            let (steady, _) = pass();
            (bytes, rows, s, steady, n)
        }
        other => {
            eprintln!("unknown workload {other}");
            std::process::exit(2);
        }
    };
    println!(
        "{{\"workload\": \"{workload}\", \"bytes\": {bytes}, \"rows\": {rows}, \"findings\": {findings}, \"scan_s\": {scan_s:.6}, \"mb_per_s\": {:.3}, \"rows_per_s\": {:.1}, \"steady_s\": {steady_s:.6}, \"steady_mb_per_s\": {:.3}}}",
        bytes as f64 / 1e6 / scan_s,
        rows as f64 / scan_s,
        bytes as f64 / 1e6 / steady_s
    );
}
