//! Access requests end to end on the Fides sample database: `postgres_sample.sql` loaded into the real
//! PostgreSQL, its dataset imported with `pactum import fides`, and `pactum request run` for one
//! customer returns exactly their rows across all its tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;
use sqlx::Connection;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/fides")
}

fn admin_url() -> String {
    std::env::var("PACTUM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh database holding the Fides sample data; `None` (a loud skip) without PostgreSQL outside CI.
fn sample_database(rt: &tokio::runtime::Runtime, name: &str) -> Option<String> {
    let admin = admin_url();
    rt.block_on(async {
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("PostgreSQL is required under CI=true: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL unreachable ({e})");
                return None;
            }
        };
        for stmt in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(stmt))
                .execute(&mut conn)
                .await
                .expect("create database");
        }
        let url = format!(
            "{}/{name}",
            admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b)
        );
        let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
        let sql = std::fs::read_to_string(shared().join("sample_data/postgres_sample.sql"))
            .expect("sample sql");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await
            .expect("load the sample");
        Some(url)
    })
}

fn drop_database(rt: &tokio::runtime::Runtime, name: &str) {
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin_url())
            .await
            .expect("admin");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .expect("drop database");
    });
}

/// The Fides dataset imported as a map, completed with what Fides does not model.
fn imported_map(dir: &Path) {
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["import", "fides"])
        .arg(shared().join("dataset/postgres_example_test_dataset.yml"))
        .arg("--out")
        .arg(dir)
        .output()
        .expect("import runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.join("completion.yml"),
        "organisation:\n  name: Example Store Ltd\n  contact: {email: privacy@store.example}\n  regimes: [gdpr]\n  authorities:\n    gdpr: {name: Data Protection Commission}\n  notice: {version: \"1\", last_updated: 2026-01-01}\n\
         retention:\n  everything:\n    applies_to: {categories: [user]}\n    period: 2 years\n    from: relationship_end\n    action: delete\n\
         rights:\n  response_days: 30\n  verification: One-time code by email.\n  contact: {email: privacy@store.example}\n  regimes:\n    gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]\n",
    )
    .expect("write completion");
}

/// Runs an access request and returns (rows per collection, the whole output as text).
fn access(map: &Path, url: &str, email: &str) -> (BTreeMap<String, usize>, String) {
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["request", "run", "--type", "access", "--identity"])
        .arg(format!("email={email}"))
        .arg("--map")
        .arg(map)
        .env("POSTGRES_EXAMPLE_TEST_DATASET_URL", url)
        .output()
        .expect("request runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc: Value = serde_json::from_str(&text).expect("json");
    let counts = doc["records"]
        .as_object()
        .expect("records")
        .iter()
        .map(|(k, v)| {
            let short = k
                .trim_start_matches("postgres_example_test_dataset.")
                .to_owned();
            (short, v["rows"].as_array().map_or(0, Vec::len))
        })
        .collect();
    (counts, text)
}

#[test]
fn access_returns_exactly_one_customers_rows_across_the_fides_sample() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = format!("pactum_fides_{}", std::process::id());
    let Some(url) = sample_database(&rt, &db) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    imported_map(dir.path());

    // John (customer 1): his address and the address an order shipped to, one card, three orders,
    // six logins, one visit, one service request. Nothing of Jill, Jane or the employees, even where
    // they share an address or handled his request. Order items and products are reached on the way
    // but the dataset declares no personal data in them, so they are not part of the package.
    let (john, text) = access(dir.path(), &url, "customer-1@example.com");
    let want: BTreeMap<String, usize> = [
        ("address", 2),
        ("customer", 1),
        ("login", 6),
        ("orders", 3),
        ("payment_card", 1),
        ("service_request", 1),
        ("visit", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(john, want);
    for other in [
        "customer-2@example.com",
        "Jill Customer",
        "Jane",
        "Jack Employee",
        "pay_bbb-bbb",
        "ser_bbb-bbb",
    ] {
        assert!(
            !text.contains(other),
            "{other} leaked into John's access package"
        );
    }

    // Jane (customer 3) at address 4, one card, one order without items, one login.
    let (jane, text) = access(dir.path(), &url, "jane@example.com");
    let want: BTreeMap<String, usize> = [
        ("address", 1),
        ("customer", 1),
        ("login", 1),
        ("orders", 1),
        ("payment_card", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(jane, want);
    assert!(!text.contains("John Customer") && !text.contains("Jane Employee"));

    drop_database(&rt, &db);
}

#[test]
fn unknown_person_exits_one_and_missing_connection_exits_two() {
    let dir = tempfile::tempdir().expect("tempdir");
    imported_map(dir.path());
    // No URL in the environment: the request refuses to run rather than skip the datastore.
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "request",
            "run",
            "--type",
            "access",
            "--identity",
            "email=nobody@example.com",
            "--map",
        ])
        .arg(dir.path())
        .env_remove("POSTGRES_EXAMPLE_TEST_DATASET_URL")
        .output()
        .expect("request runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("POSTGRES_EXAMPLE_TEST_DATASET_URL is not set")
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = format!("pactum_fides_nobody_{}", std::process::id());
    let Some(url) = sample_database(&rt, &db) else {
        return;
    };
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "request",
            "run",
            "--type",
            "access",
            "--identity",
            "email=nobody@example.com",
            "--map",
        ])
        .arg(dir.path())
        .env("POSTGRES_EXAMPLE_TEST_DATASET_URL", &url)
        .output()
        .expect("request runs");
    drop_database(&rt, &db);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["records"], serde_json::json!({}));
}
