//! End-to-end scans through the input readers and report writers.

use std::io::Cursor;
use std::path::Path;

use pactum_scan::input::{self, FileReport, Format, InputOptions, Located, Sink};
use pactum_scan::report::{OutputFormat, Report};
use pactum_scan::{PiiType, ScanError, ScanOptions, Scanner};

fn scanner() -> Scanner {
    Scanner::new(ScanOptions {
        min_score: 0.5,
        reference_year: 2026,
    })
    .expect("patterns compile")
}

#[derive(Default)]
struct Collect(Vec<(u64, usize, usize, PiiType, Option<String>)>);

impl Sink for Collect {
    fn finding(&mut self, f: &Located<'_>) -> Result<(), ScanError> {
        self.0
            .push((f.line, f.start, f.end, f.kind, f.field.map(str::to_owned)));
        Ok(())
    }
}

fn scan(format: Format, data: &str, opts: InputOptions) -> (Collect, FileReport) {
    let mut sink = Collect::default();
    let report = input::scan_reader(
        &scanner(),
        Path::new("mem"),
        format,
        Cursor::new(data.as_bytes().to_vec()),
        &opts,
        &mut sink,
    )
    .expect("scan succeeds");
    (sink, report)
}

const TEXT: &str = "nothing here\n\
Customer Jane Smith (jane.smith@example.com) called.\n\
\n\
Card 4111 1111 1111 1111 — DOB 1985-03-02\n\
last line without newline: 203.0.113.9";

#[test]
fn text_lines_and_byte_offsets() {
    let (found, report) = scan(Format::Text, TEXT, InputOptions::default());
    let lines: Vec<&str> = TEXT.split('\n').collect();
    let got: Vec<(u64, &str, PiiType)> = found
        .0
        .iter()
        .map(|(l, s, e, k, _)| (*l, &lines[*l as usize - 1][*s..*e], *k))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "Jane Smith", PiiType::Person),
            (2, "jane.smith@example.com", PiiType::Email),
            (4, "4111 1111 1111 1111", PiiType::CreditCard),
            (4, "1985-03-02", PiiType::DateOfBirth),
            (5, "203.0.113.9", PiiType::IpAddress),
        ]
    );
    assert_eq!(report.records, 5);
    assert_eq!(report.bytes, TEXT.len() as u64);
    assert_eq!(report.findings(), 5);
}

#[test]
fn text_chunking_and_threads_do_not_change_results() {
    let mut big = String::new();
    for i in 0..3000 {
        big.push_str(&format!(
            "line {i}: mail user{i}@example.com or call (212) 555-01{:02}\n",
            i % 100
        ));
    }
    let one = scan(
        Format::Text,
        &big,
        InputOptions {
            threads: 1,
            chunk_bytes: 1 << 20,
        },
    )
    .0;
    let many = scan(
        Format::Text,
        &big,
        InputOptions {
            threads: 2,
            chunk_bytes: 4096,
        },
    )
    .0;
    assert_eq!(one.0.len(), 6000);
    assert_eq!(one.0, many.0);
}

#[test]
fn text_line_longer_than_a_chunk() {
    let long = format!("{} jane@example.com\nnext a@b.org\n", "x ".repeat(10_000));
    let (found, _) = scan(
        Format::Text,
        &long,
        InputOptions {
            threads: 2,
            chunk_bytes: 4096,
        },
    );
    let lines: Vec<u64> = found.0.iter().map(|f| f.0).collect();
    assert_eq!(lines, vec![1, 2]);
}

const CSV: &str = "id,name,email,dob,signup_date,note\n\
1,Jane Smith,jane@example.com,1985-03-02,2024-01-05,prefers email\n\
2,Xqzt Vbnmw,bob@example.org,03/04/1970,2023-11-30,\"alt phone (212) 555-0134\"\n\
3,,,,2025-02-01,\n\
4,José Álvarez,jose@example.es,\"May 5, 1990\",2022-06-07,\"card 4111 1111 1111 1111, line\nbreak\"\n";

#[test]
fn csv_cells_rows_and_columns() {
    let (found, report) = scan(Format::Csv, CSV, InputOptions::default());
    let got: Vec<(u64, PiiType, String)> = found
        .0
        .iter()
        .map(|(l, _, _, k, c)| (*l, *k, c.clone().unwrap_or_default()))
        .collect();
    let count =
        |col: &str, k: PiiType| got.iter().filter(|(_, kk, c)| c == col && *kk == k).count();
    assert_eq!(count("name", PiiType::Person), 3);
    assert_eq!(count("email", PiiType::Email), 3);
    assert_eq!(count("dob", PiiType::DateOfBirth), 3);
    assert_eq!(count("signup_date", PiiType::DateOfBirth), 0);
    assert_eq!(count("note", PiiType::Phone), 1);
    assert_eq!(count("note", PiiType::CreditCard), 1);
    assert!(got.contains(&(4, PiiType::CreditCard, "note".to_owned())));
    assert_eq!(report.records, 4);
    let verdict = |c: &str| {
        report
            .columns
            .iter()
            .find(|v| v.column == c)
            .expect("column present")
            .clone()
    };
    assert_eq!(verdict("email").kind, Some("EMAIL"));
    assert_eq!(verdict("email").category, Some("user.contact.email"));
    assert_eq!(verdict("name").kind, Some("PERSON"));
    assert_eq!(verdict("dob").kind, Some("DATE_OF_BIRTH"));
    assert_eq!(verdict("dob").non_empty, 3);
    assert_eq!(verdict("signup_date").kind, None);
    assert_eq!(verdict("id").kind, None);
}

#[test]
fn csv_threads_agree() {
    let mut big = String::from("name,phone\n");
    for i in 0..5000 {
        big.push_str(&format!("Mary Johnson,(212) 555-{:04}\n", i % 10_000));
    }
    let a = scan(
        Format::Csv,
        &big,
        InputOptions {
            threads: 1,
            chunk_bytes: 1 << 20,
        },
    );
    let b = scan(
        Format::Csv,
        &big,
        InputOptions {
            threads: 2,
            chunk_bytes: 4096,
        },
    );
    assert_eq!(a.0.0.len(), 10_000);
    assert_eq!(a.0.0, b.0.0);
    assert_eq!(a.1.columns, b.1.columns);
}

#[test]
fn ndjson_key_paths() {
    let data = r#"{"user": {"email": "a@example.com", "phones": ["+44 20 7946 0958"]}, "n": 4111111111111111}
{"user": {"email": "b@example.com", "dob": "1970-01-02"}}
"#;
    let (found, report) = scan(Format::Json, data, InputOptions::default());
    let got: Vec<(u64, PiiType, String)> = found
        .0
        .iter()
        .map(|(l, _, _, k, c)| (*l, *k, c.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, PiiType::CreditCard, "$.n".to_owned()),
            (1, PiiType::Email, "$.user.email".to_owned()),
            (1, PiiType::Phone, "$.user.phones[]".to_owned()),
            // serde_json orders object keys, so `dob` comes before `email`.
            (2, PiiType::DateOfBirth, "$.user.dob".to_owned()),
            (2, PiiType::Email, "$.user.email".to_owned()),
        ]
    );
    assert_eq!(report.records, 2);
    let email = report
        .columns
        .iter()
        .find(|c| c.column == "$.user.email")
        .expect("key path profiled");
    assert_eq!(email.kind, Some("EMAIL"));
}

#[test]
fn single_json_document_over_many_lines() {
    let data =
        "{\n  \"customers\": [\n    {\"name\": \"Jane Smith\", \"ip\": \"203.0.113.7\"}\n  ]\n}\n";
    let (found, report) = scan(Format::Json, data, InputOptions::default());
    let kinds: Vec<PiiType> = found.0.iter().map(|f| f.3).collect();
    assert_eq!(kinds, vec![PiiType::IpAddress, PiiType::Person]);
    assert_eq!(report.records, 1);
}

#[test]
fn bad_json_is_an_error_with_its_line() {
    let mut sink = Collect::default();
    let err = input::scan_reader(
        &scanner(),
        Path::new("bad.jsonl"),
        Format::Json,
        Cursor::new(b"{\"a\": 1}\n{oops}\n".to_vec()),
        &InputOptions::default(),
        &mut sink,
    )
    .expect_err("second line is not JSON");
    assert!(matches!(err, ScanError::Json { line: 2, .. }), "{err:?}");
}

#[test]
fn missing_file_is_a_read_error() {
    let mut sink = Collect::default();
    let err = input::scan_path(
        &scanner(),
        Path::new("/nonexistent/pactum/file.txt"),
        None,
        &InputOptions::default(),
        &mut sink,
    )
    .expect_err("no such file");
    assert!(matches!(err, ScanError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/pactum/file.txt: cannot read input")
    );
}

fn render(format: OutputFormat, input_format: Format, data: &str) -> String {
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut report = Report::new(format, &mut buf);
        report.begin_file(Path::new("in.txt"), input_format);
        let file = input::scan_reader(
            &scanner(),
            Path::new("in.txt"),
            input_format,
            Cursor::new(data.as_bytes().to_vec()),
            &InputOptions::default(),
            &mut report,
        )
        .expect("scan succeeds");
        report.end_file(file).expect("in-memory write");
        report.finish().expect("in-memory write");
    }
    String::from_utf8(buf).expect("reports are UTF-8")
}

#[test]
fn jsonl_contract() {
    let out = render(OutputFormat::Jsonl, Format::Text, "x\nmail a@example.com\n");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(
        v,
        serde_json::json!({"path": "in.txt", "line": 2, "start": 5, "end": 18, "type": "EMAIL", "score": 0.95})
    );
    let csv = render(OutputFormat::Jsonl, Format::Csv, "email\na@example.com\n");
    let v: serde_json::Value = serde_json::from_str(csv.trim()).expect("one JSON line");
    assert_eq!(v["column"], "email");
    assert_eq!(v["line"], 1);
}

#[test]
fn json_sarif_and_table_do_not_leak_values() {
    let data = "mail secret.person@example.com\n";
    for f in [
        OutputFormat::Json,
        OutputFormat::Sarif,
        OutputFormat::Table,
        OutputFormat::Jsonl,
    ] {
        let out = render(f, Format::Text, data);
        assert!(!out.contains("secret.person"), "{f:?} printed the value");
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&render(OutputFormat::Sarif, Format::Text, data))
            .expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "EMAIL");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let json: serde_json::Value = serde_json::from_str(&render(
        OutputFormat::Json,
        Format::Csv,
        "email\na@example.com\n",
    ))
    .expect("JSON");
    assert_eq!(json["files"][0]["columns"][0]["type"], "EMAIL");
    assert_eq!(json["files"][0]["counts"]["EMAIL"], 1);
    let table = render(OutputFormat::Table, Format::Csv, "email\na@example.com\n");
    assert!(table.contains("user.contact.email"), "{table}");
    assert!(table.contains("1 finding(s) in 1 file(s)"), "{table}");
}
