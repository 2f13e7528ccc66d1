//! The `pactum scan` subcommand module, compiled here against the library
//! (the binary crate compiles the same file as `cmd::scan`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "../../pactum/src/cmd/scan.rs"]
mod scan;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: scan::ScanArgs,
}

fn parse(argv: &[&str]) -> Result<scan::ScanArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("scan").chain(argv.iter().copied())).map(|c| c.args)
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pactum-scan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("temp file");
    p
}

#[test]
fn arguments() {
    let a = parse(&[
        "--format",
        "jsonl",
        "--min-score",
        "0.8",
        "--threads",
        "1",
        "a.txt",
        "b.csv",
    ])
    .expect("valid arguments");
    assert_eq!(a.format, scan::FormatArg::Jsonl);
    assert_eq!(
        a.files,
        vec![PathBuf::from("a.txt"), PathBuf::from("b.csv")]
    );
    assert_eq!(a.min_score, 0.8);
    assert_eq!(a.threads, Some(1));
    assert!(!a.fail_on_findings);
    let d = parse(&["x.log"]).expect("defaults");
    assert_eq!(d.format, scan::FormatArg::Table);
    assert_eq!(d.input, None);
    assert!(parse(&[]).is_err(), "a file is required");
    assert!(parse(&["--format", "xml", "x"]).is_err());
    assert_eq!(
        parse(&["--input", "csv", "x"]).expect("valid").input,
        Some(scan::InputArg::Csv)
    );
}

#[test]
fn exit_codes() {
    let with = temp_file("with.txt", "mail a@example.com\n");
    let without = temp_file("without.txt", "nothing personal here\n");
    let w = with.to_str().expect("utf-8 temp path");
    let wo = without.to_str().expect("utf-8 temp path");
    let run = |argv: &[&str]| scan::run(&parse(argv).expect("valid arguments"));
    assert_eq!(
        run(&["--format", "jsonl", w]).expect("scan runs"),
        ExitCode::SUCCESS
    );
    assert_eq!(
        run(&["--format", "jsonl", "--fail-on-findings", w]).expect("scan runs"),
        ExitCode::from(1)
    );
    assert_eq!(
        run(&["--format", "json", "--fail-on-findings", wo]).expect("scan runs"),
        ExitCode::SUCCESS
    );
    let err = run(&["/nonexistent/pactum/nope.txt"]).expect_err("missing file");
    assert!(format!("{err:#}").contains("nope.txt"), "{err:#}");
}
