//! `pactum drift` against the real PostgreSQL, MariaDB, Redis and a SQLite file on this machine:
//! each holds some personal data the map declares and some it does not.

use std::path::Path;
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn unavailable(what: &str, err: impl std::fmt::Display) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required under CI=true but unreachable: {err}");
    }
    eprintln!("SKIPPED: {what} unreachable ({err}); set CI=true to make this a failure");
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A small valid map whose one datastore (`kind`, reached through `env`) declares `customers` with
/// `id` and `email` only.
fn write_map(dir: &Path, kind: &str, env: &str, collection: &str) {
    let status = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["init"])
        .arg(dir)
        .output()
        .expect("init runs");
    assert!(status.status.success());
    let key = if kind == "redis" {
        "        key: \"customer:{id}\"\n".to_owned()
    } else {
        String::new()
    };
    let systems = format!(
        "systems:\n  app: {{name: App, processors: [cloudhost]}}\n\
         datastores:\n  app_db:\n    system: app\n    kind: {kind}\n    connection_env: {env}\n    collections:\n      {collection}:\n{key}        fields:\n          id: {{primary_key: true, identity: user_id}}\n          email: {{categories: [user.contact.email], identity: email, erasure: keyed_hash}}\n\
         processors:\n  cloudhost:\n    name: Example Cloud Hosting Inc.\n    service: Hosting\n    purposes: [service]\n    categories: [user.name, user.contact.email, user.account.username]\n    countries: [US]\n    transfer: dpf\n"
    );
    std::fs::write(dir.join("systems.yml"), systems).expect("write systems");
}

/// Runs `pactum drift --format json` and returns (exit code, drift items as `kind collection.column`).
fn drift(dir: &Path, env: &str, url: &str) -> (i32, Vec<String>) {
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["drift", "--format", "json", "--map"])
        .arg(dir)
        .env(env, url)
        .output()
        .expect("drift runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(url) || !url.contains('@'),
        "connection URL leaked: {stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json output ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let items = doc["drift"]
        .as_array()
        .expect("drift list")
        .iter()
        .map(|d| {
            format!(
                "{} {}.{}",
                d["kind"].as_str().unwrap_or("?"),
                d["collection"].as_str().unwrap_or("?"),
                d["column"].as_str().unwrap_or("-")
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), items)
}

const SQL: &[&str] = &[
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), mobile VARCHAR(40))",
    "INSERT INTO customers VALUES (1, 'ada@example.com', '+44 20 7946 0958'), (2, 'bob@example.org', '+1 415 555 2671')",
    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note VARCHAR(200))",
    "INSERT INTO audit_log VALUES (1, 'refund to card 4111 1111 1111 1111')",
];

fn expected_sql() -> Vec<String> {
    vec![
        "undeclared audit_log.note".to_owned(),
        "promise_violation audit_log.note".to_owned(),
        "undeclared customers.mobile".to_owned(),
    ]
}

#[test]
fn sqlite_drift() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("app.db");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use sqlx::Connection;
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts)
            .await
            .expect("sqlite");
        for stmt in SQL {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
    });
    let map = dir.path().join("map");
    write_map(&map, "sqlite", "DRIFT_SQLITE_URL", "customers");
    let (code, items) = drift(
        &map,
        "DRIFT_SQLITE_URL",
        &format!("sqlite://{}", db.display()),
    );
    assert_eq!(items, expected_sql());
    assert_eq!(code, 1, "drift exits 1");
}

#[test]
fn postgres_drift() {
    let admin = env_or(
        "PACTUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = unique("pactum_drift");
    let url = format!(
        "{}/{db}",
        admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b)
    );
    let ready = rt.block_on(async {
        use sqlx::Connection;
        let mut a = match sqlx::PgConnection::connect(&admin).await {
            Ok(a) => a,
            Err(e) => {
                unavailable("PostgreSQL", e);
                return false;
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut a)
            .await
            .expect("create db");
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        for stmt in SQL {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        true
    });
    if !ready {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_map(dir.path(), "postgres", "DRIFT_PG_URL", "customers");
    let (code, items) = drift(dir.path(), "DRIFT_PG_URL", &url);
    rt.block_on(async {
        use sqlx::Connection;
        let mut a = sqlx::PgConnection::connect(&admin).await.expect("admin");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {db} WITH (FORCE)"
        )))
        .execute(&mut a)
        .await
        .expect("drop db");
    });
    assert_eq!(items, expected_sql());
    assert_eq!(code, 1);
}

#[test]
fn mariadb_drift() {
    let admin = env_or("PACTUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = unique("pactum_drift");
    let url = format!(
        "{}/{db}",
        admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b)
    );
    let ready = rt.block_on(async {
        use sqlx::Connection;
        let mut a = match sqlx::MySqlConnection::connect(&admin).await {
            Ok(a) => a,
            Err(e) => {
                unavailable("MariaDB", e);
                return false;
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut a)
            .await
            .expect("create db");
        let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("connect");
        for stmt in SQL {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        true
    });
    if !ready {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_map(dir.path(), "mariadb", "DRIFT_MYSQL_URL", "customers");
    let (code, items) = drift(
        dir.path(),
        "DRIFT_MYSQL_URL",
        &url.replacen("mysql://", "mariadb://", 1),
    );
    rt.block_on(async {
        use sqlx::Connection;
        let mut a = sqlx::MySqlConnection::connect(&admin).await.expect("admin");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
            .execute(&mut a)
            .await
            .expect("drop db");
    });
    assert_eq!(items, expected_sql());
    assert_eq!(code, 1);
}

#[test]
fn redis_drift() {
    // A logical database of its own, and a unique key prefix: other tests never touch either.
    let base = env_or("PACTUM_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    let url = format!("{}/7", base.trim_end_matches('/'));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let prefix = unique("pactumdrift");
    let declared = format!("{prefix}:customer:1");
    let undeclared = format!("{prefix}:cart:ada@example.com");
    let seeded = rt.block_on(async {
        let client = match redis::Client::open(url.as_str()) {
            Ok(c) => c,
            Err(e) => {
                unavailable("Redis", e);
                return None;
            }
        };
        let mut conn = match client.get_multiplexed_async_connection().await {
            Ok(c) => c,
            Err(e) => {
                unavailable("Redis", e);
                return None;
            }
        };
        let _: () = redis::cmd("HSET")
            .arg(&declared)
            .arg("id")
            .arg("1")
            .arg("email")
            .arg("ada@example.com")
            .query_async(&mut conn)
            .await
            .expect("seed hash");
        let _: () = redis::cmd("RPUSH")
            .arg(&undeclared)
            .arg("viewed pricing")
            .query_async(&mut conn)
            .await
            .expect("seed list");
        Some(conn)
    });
    let Some(mut conn) = seeded else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    write_map(dir.path(), "redis", "DRIFT_REDIS_URL", "customers");
    let systems = std::fs::read_to_string(dir.path().join("systems.yml")).expect("read");
    std::fs::write(
        dir.path().join("systems.yml"),
        systems.replace("customer:{id}", &format!("{prefix}:customer:{{id}}")),
    )
    .expect("write");
    let (code, items) = drift(dir.path(), "DRIFT_REDIS_URL", &url);
    rt.block_on(async {
        let _: () = redis::cmd("DEL")
            .arg(&declared)
            .arg(&undeclared)
            .query_async(&mut conn)
            .await
            .expect("clean");
    });
    let ours: Vec<&String> = items.iter().filter(|i| i.contains(&prefix)).collect();
    assert_eq!(ours, [&format!("undeclared {prefix}:cart:*.(key)")]);
    assert_eq!(code, 1);
}
