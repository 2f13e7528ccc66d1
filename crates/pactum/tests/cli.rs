//! The map commands as a user runs them: init, check (all formats, exit codes), schema.

use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;

fn pactum() -> Command {
    Command::cargo_bin("pactum").expect("binary")
}

#[test]
fn init_scaffolds_a_map_that_checks_clean_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("map");
    pactum().arg("init").arg(&map).assert().success();
    let out = pactum()
        .args(["check", "--deny-warnings", "--map"])
        .arg(&map)
        .output()
        .expect("check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems found"));
    let again = pactum().arg("init").arg(&map).output().expect("init again");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

fn broken_map() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    pactum().arg("init").arg(dir.path()).assert().success();
    let purposes = std::fs::read_to_string(dir.path().join("purposes.yml")).expect("read");
    std::fs::write(
        dir.path().join("purposes.yml"),
        purposes.replacen("purposes: [newsletter]", "purposes: [newsleter]", 1),
    )
    .expect("write");
    dir
}

#[test]
fn check_reports_errors_with_positions_in_every_format() {
    let dir = broken_map();
    let human = pactum()
        .args(["check", "--map"])
        .arg(dir.path())
        .output()
        .expect("check");
    assert_eq!(human.status.code(), Some(1));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("error[unknown-reference]: unknown purpose `newsleter`"),
        "{text}"
    );
    assert!(text.contains("purposes.yml:"), "{text}");
    assert!(text.contains("did you mean `newsletter`?"), "{text}");

    let json = pactum()
        .args(["check", "--format", "json", "--map"])
        .arg(dir.path())
        .output()
        .expect("json");
    assert_eq!(json.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&json.stdout).expect("valid json");
    let first = doc["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["code"] == "unknown-reference")
        .expect("the broken reference");
    assert!(
        first["file"]
            .as_str()
            .expect("file")
            .ends_with("purposes.yml")
    );
    assert!(first["line"].as_u64().expect("line") > 1);

    let sarif = pactum()
        .args(["check", "--format", "sarif", "--map"])
        .arg(dir.path())
        .output()
        .expect("sarif");
    let doc: Value = serde_json::from_slice(&sarif.stdout).expect("valid json");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let broken = results
        .iter()
        .find(|r| r["ruleId"] == "unknown-reference")
        .expect("the broken reference is a result");
    assert_eq!(broken["level"], "error");
    assert!(broken["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() > Some(1));
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    pactum().arg("init").arg(dir.path()).assert().success();
    let subjects = std::fs::read_to_string(dir.path().join("organisation.yml")).expect("read");
    std::fs::write(
        dir.path().join("organisation.yml"),
        format!("{subjects}  prospect:\n    name: Prospects\n"),
    )
    .expect("write");
    pactum()
        .args(["check", "--map"])
        .arg(dir.path())
        .assert()
        .code(0);
    pactum()
        .args(["check", "--deny-warnings", "--map"])
        .arg(dir.path())
        .assert()
        .code(1);
}

#[test]
fn unreadable_map_exits_two() {
    let out = pactum()
        .args(["check", "--map", "/nonexistent/map"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or directory"));
}

#[test]
fn schema_describes_every_section() {
    let out = pactum().arg("schema").output().expect("schema");
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).expect("json schema");
    let props = schema["properties"].as_object().expect("properties");
    for section in [
        "organisation",
        "subjects",
        "categories",
        "purposes",
        "activities",
        "systems",
        "datastores",
        "processors",
        "controllers",
        "retention",
        "rights",
        "promises",
    ] {
        assert!(props.contains_key(section), "schema lacks {section}");
    }
    assert_eq!(schema["additionalProperties"], false);
}
