//! End-to-end tests of `pactum notice` and `pactum ropa` on a scaffolded map.

use std::path::Path;

use assert_cmd::Command;

fn pactum() -> Command {
    Command::cargo_bin("pactum").expect("the pactum binary is built")
}

/// A fresh `pactum init` map in a temporary directory.
fn scaffold() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    pactum()
        .arg("init")
        .arg(dir.path().join("map"))
        .assert()
        .success();
    dir
}

fn map(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("map")
}

#[test]
fn notice_html_is_written_to_the_out_file() {
    let dir = scaffold();
    let out = dir.path().join("notice.html");
    pactum()
        .args(["notice", "--format", "html", "--map"])
        .arg(map(&dir))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let html = std::fs::read_to_string(&out).expect("the notice was written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h1>Example Ltd privacy notice</h1>"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn notice_markdown_and_json_go_to_stdout() {
    let dir = scaffold();
    let md = pactum()
        .args(["notice", "--format", "md", "--map"])
        .arg(map(&dir))
        .assert()
        .success();
    let md = String::from_utf8_lossy(&md.get_output().stdout).into_owned();
    assert!(md.starts_with("# Example Ltd privacy notice\n"));
    let json = pactum()
        .args(["notice", "--format", "json", "--map"])
        .arg(map(&dir))
        .assert()
        .success();
    let value: serde_json::Value =
        serde_json::from_slice(&json.get_output().stdout).expect("the notice is JSON");
    assert_eq!(value["organisation"], "Example Ltd");
    assert!(value["sections"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn ropa_csv_has_a_header_and_one_row_per_activity() {
    let dir = scaffold();
    let out = pactum()
        .args(["ropa", "--format", "csv", "--map"])
        .arg(map(&dir))
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("record,activity_key,activity,controller,"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("controller,accounts,Customer accounts,Example Ltd,"));
    assert!(lines[2].starts_with("controller,newsletter,Newsletter subscriptions,Example Ltd,"));
}

#[test]
fn ropa_json_has_both_records() {
    let dir = scaffold();
    let out = pactum()
        .args(["ropa", "--format", "json", "--map"])
        .arg(map(&dir))
        .assert()
        .success();
    let value: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("the record is JSON");
    assert_eq!(
        value["controller_record"]["controller"]["name"],
        "Example Ltd"
    );
    assert_eq!(
        value["controller_record"]["activities"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(value["processor_record"], serde_json::json!([]));
}

fn break_map(dir: &Path) {
    // An activity naming an unknown purpose is an error (with a "did you mean" for `service`).
    let path = dir.join("purposes.yml");
    let text = std::fs::read_to_string(&path).expect("the scaffold has purposes.yml");
    let broken = text.replace("purposes: [service]", "purposes: [servise]");
    assert_ne!(text, broken, "the scaffold changed: update this test");
    std::fs::write(&path, broken).expect("write purposes.yml");
}

#[test]
fn a_map_with_errors_is_not_published() {
    let dir = scaffold();
    break_map(&map(&dir));
    let out = dir.path().join("notice.html");
    let assert = pactum()
        .args(["notice", "--format", "html", "--map"])
        .arg(map(&dir))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("servise"), "{stderr}");
    assert!(
        stderr.contains("error: refusing to publish a privacy notice from a data map with errors"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written from a broken map");
    let assert = pactum()
        .args(["ropa", "--format", "csv", "--map"])
        .arg(map(&dir))
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("refusing to publish a record of processing activities"),
        "{stderr}"
    );
}

#[test]
fn a_missing_map_is_a_usage_failure() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    pactum()
        .args(["notice", "--map"])
        .arg(dir.path().join("nowhere"))
        .assert()
        .code(2);
}
