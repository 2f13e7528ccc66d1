//! Development aid: times building the scanner, the first (cold) pass over a
//! file, repeated warm passes over the whole file, and a pass line by line.
//! Run it under `perf record` to see where the time goes.
//!
//! ```sh
//! cargo run --release -p pactum-scan --example prof -- tickets.txt 20
//! ```

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: prof FILE");
    let text = std::fs::read(&path).expect("readable file");
    let t = Instant::now();
    let scanner = pactum_scan::Scanner::new(pactum_scan::ScanOptions::default()).expect("scanner");
    println!("build: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut tmp = Vec::new();
    scanner.scan(b"call +44 20 7946 0958 or (212) 555-0134", &mut tmp);
    println!(
        "phone warm-up: {:.3} s ({} found)",
        t.elapsed().as_secs_f64(),
        tmp.len()
    );
    let mut out = Vec::new();
    let t = Instant::now();
    scanner.scan(&text, &mut out);
    println!("warm-up: {:.3} s", t.elapsed().as_secs_f64());
    let reps: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let t = Instant::now();
    for _ in 0..reps {
        out.clear();
        scanner.scan(&text, &mut out);
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "whole: {} findings, {:.3} s, {:.1} MB/s",
        out.len(),
        s,
        text.len() as f64 / 1e6 / s
    );
    let t = Instant::now();
    let mut n = 0;
    for line in text.split(|b| *b == b'\n') {
        out.clear();
        scanner.scan(line, &mut out);
        n += out.len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "per line: {} findings, {:.3} s, {:.1} MB/s",
        n,
        s,
        text.len() as f64 / 1e6 / s
    );
}
