//! `pactum import fides` end to end: the binary writes a map that `pactum check` reads, prints the
//! report on stderr, and rejects Fides's deliberately invalid dataset with exit 2.

use std::path::PathBuf;

use assert_cmd::Command;

fn pactum() -> Command {
    Command::cargo_bin("pactum").expect("the pactum binary is built for integration tests")
}

/// A file or folder of the Fides reference resources beside the clone.
fn fides(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/fides")
        .join(rel)
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn imports_a_dataset_that_check_then_reads() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("map");
    let output = pactum()
        .args(["import", "fides"])
        .arg(fides("dataset/postgres_example_test_dataset.yml"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("pactum runs");
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let report =
        std::fs::read_to_string(out.join("IMPORT-REPORT.md")).expect("the report is written");
    assert!(
        stderr.starts_with(&report),
        "stderr prints the report first:\n{stderr}"
    );
    assert!(report.contains(
        "- 1 datastore with 11 collections and 48 fields (6 identity fields, 10 references)"
    ));
    assert!(report.contains("## Not represented in the map"));
    assert!(report.contains("error[missing-organisation]"));
    assert!(stderr.contains(&format!(
        "wrote {} (1 datastore, 0 systems, 0 activities)",
        out.display()
    )));
    let datastores = std::fs::read_to_string(out.join("datastores.yml")).expect("datastores.yml");
    assert!(datastores.contains("connection_env: POSTGRES_EXAMPLE_TEST_DATASET_URL"));

    // The map is incomplete (no organisation, no retention), never malformed.
    let check = pactum()
        .args(["check", "--format", "json", "--map"])
        .arg(&out)
        .output()
        .expect("pactum check runs");
    assert_eq!(check.status.code(), Some(1), "completeness errors remain");
    let json = String::from_utf8_lossy(&check.stdout);
    for code in [
        "unknown-reference",
        "unknown-key",
        "invalid-value",
        "duplicate-key",
        "yaml-syntax",
    ] {
        assert!(
            !json.contains(&format!("\"{code}\"")),
            "check reports `{code}`: {json}"
        );
    }
    assert!(json.contains("\"missing-organisation\""));
}

#[test]
fn imports_several_sources_together() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("map");
    let output = pactum()
        .args(["import", "fides"])
        .arg(fides("demo_resources"))
        .arg(fides("dataset/mysql_example_test_dataset.yml"))
        .args(["--kind", "sqlite", "-o"])
        .arg(&out)
        .output()
        .expect("pactum runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let datastores = std::fs::read_to_string(out.join("datastores.yml")).expect("datastores.yml");
    assert!(
        datastores.contains("kind: mysql"),
        "the kind in the dataset key wins"
    );
    assert!(
        datastores.contains("kind: sqlite"),
        "--kind applies to the demo dataset"
    );
    let org = std::fs::read_to_string(out.join("organisation.yml")).expect("organisation.yml");
    assert!(org.contains("name: Demo Organization"));
}

#[test]
fn the_invalid_dataset_is_rejected_with_exit_2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("map");
    let file = fides("dataset/postgres_example_invalid_masking_strategy_override_dataset.yml");
    let output = pactum()
        .args(["import", "fides"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("pactum runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_of(&output),
        format!(
            "error: cannot import the Fides resources\n  caused by: {}: dataset `postgres_example_invalid_masking_strategy_override`, field `employee.name`: masking strategy `hash` cannot override a field: it needs a secret key generated for each request, which Fides allows only in a policy's erasure rule; use null_rewrite, string_rewrite or random_string_rewrite\n",
            file.display()
        )
    );
    assert!(
        !out.exists(),
        "nothing is written when the input is rejected"
    );
}

#[test]
fn import_needs_a_source_and_an_output() {
    let output = pactum()
        .args(["import", "fides", "--out", "x"])
        .output()
        .expect("pactum runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("<SRC>..."));
}
