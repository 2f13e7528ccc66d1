//! Connectors against the real PostgreSQL, MariaDB, SQLite and Redis of this machine.

mod support;

use std::collections::BTreeMap;

use pactum_connectors::{Datastore, Sample};
use sqlx::Connection;

/// Reads everything a datastore holds as `collection.column -> values`.
async fn dump(store: &mut Datastore, sample: Sample) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let collections = store.collections(sample).await.expect("list collections");
    for c in &collections {
        let mut seen: Vec<(usize, String)> = Vec::new();
        store
            .sample(c, sample, &mut |i, v| seen.push((i, v.to_owned())))
            .await
            .expect("sample");
        for (i, v) in seen {
            out.entry(format!("{}.{}", c.name, c.columns[i]))
                .or_default()
                .push(v);
        }
    }
    out
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200), born DATE, note TEXT)",
    "INSERT INTO customers VALUES (1, 'ada@example.com', '1990-02-03', NULL)",
    "INSERT INTO customers VALUES (2, 'bob@example.org', '1985-11-30', 'call 555')",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total DECIMAL(8,2))",
    "INSERT INTO orders VALUES (10, 1, 12.50)",
];

fn expected() -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    m.insert(
        "customers.id".to_owned(),
        vec!["1".to_owned(), "2".to_owned()],
    );
    m.insert(
        "customers.email".to_owned(),
        vec!["ada@example.com".to_owned(), "bob@example.org".to_owned()],
    );
    m.insert(
        "customers.born".to_owned(),
        vec!["1990-02-03".to_owned(), "1985-11-30".to_owned()],
    );
    m.insert("customers.note".to_owned(), vec!["call 555".to_owned()]);
    m.insert("orders.id".to_owned(), vec!["10".to_owned()]);
    m.insert("orders.customer_id".to_owned(), vec!["1".to_owned()]);
    m.insert("orders.total".to_owned(), vec!["12.50".to_owned()]);
    m
}

#[tokio::test]
async fn postgres_lists_and_reads_every_column_as_text() {
    let admin_url = support::postgres_admin_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => return support::unavailable("PostgreSQL", e).unwrap_or(()),
    };
    let db = support::unique("pactum_conn");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = support::with_database(&admin_url, &db);
    {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect test db");
        for stmt in SCHEMA {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        let mut store = Datastore::connect(&url, None)
            .await
            .expect("connector connects");
        assert_eq!(dump(&mut store, Sample::All).await, expected());
        let limited = dump(&mut store, Sample::Rows(1)).await;
        assert_eq!(limited["customers.email"], ["ada@example.com"]);
        drop(store);
        let _ = conn.close().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

#[tokio::test]
async fn mariadb_lists_and_reads_every_column_as_text() {
    let admin_url = support::mysql_admin_url();
    let mut admin = match sqlx::MySqlConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => return support::unavailable("MariaDB", e).unwrap_or(()),
    };
    let db = support::unique("pactum_conn");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = support::with_database(&admin_url, &db);
    {
        let mut conn = sqlx::MySqlConnection::connect(&url)
            .await
            .expect("connect test db");
        for stmt in SCHEMA {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        let mariadb_url = url.replacen("mysql://", "mariadb://", 1);
        let mut store = Datastore::connect(&mariadb_url, None)
            .await
            .expect("connector connects");
        assert_eq!(dump(&mut store, Sample::All).await, expected());
        let _ = conn.close().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
        .execute(&mut admin)
        .await
        .expect("drop database");
}

#[tokio::test]
async fn sqlite_is_read_only_and_reads_every_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts)
            .await
            .expect("create sqlite");
        for stmt in SCHEMA {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        let _ = conn.close().await;
    }
    let url = format!("sqlite://{}", path.display());
    let mut store = Datastore::connect(&url, None)
        .await
        .expect("connector connects");
    let mut found = dump(&mut store, Sample::All).await;
    // SQLite keeps DECIMAL as a number: 12.50 reads back as 12.5.
    assert_eq!(found.remove("orders.total"), Some(vec!["12.5".to_owned()]));
    let mut want = expected();
    want.remove("orders.total");
    assert_eq!(found, want);
}

#[tokio::test]
async fn redis_groups_keys_into_patterns_and_reads_values() {
    let url = support::redis_url();
    let client = match redis::Client::open(url.as_str()) {
        Ok(c) => c,
        Err(e) => return support::unavailable("Redis", e).unwrap_or(()),
    };
    let mut conn = match client.get_multiplexed_async_connection().await {
        Ok(c) => c,
        Err(e) => return support::unavailable("Redis", e).unwrap_or(()),
    };
    let prefix = format!("{}:", support::unique("pactumtest"));
    let cmds: Vec<(&str, Vec<String>)> = vec![
        (
            "HSET",
            vec![
                format!("{prefix}user:1"),
                "email".into(),
                "ada@example.com".into(),
                "plan".into(),
                "pro".into(),
            ],
        ),
        (
            "HSET",
            vec![
                format!("{prefix}user:2"),
                "email".into(),
                "bob@example.org".into(),
            ],
        ),
        (
            "SET",
            vec![format!("{prefix}session:8f3a9c2e11aa"), "token-1".into()],
        ),
        (
            "RPUSH",
            vec![
                format!("{prefix}recent:ada@example.com"),
                "viewed pricing".into(),
            ],
        ),
    ];
    for (cmd, args) in &cmds {
        let _: () = redis::cmd(cmd)
            .arg(args)
            .query_async(&mut conn)
            .await
            .expect("seed redis");
    }
    let mut store = Datastore::connect(&url, Some(&prefix))
        .await
        .expect("connector connects");
    let found = dump(&mut store, Sample::All).await;
    let user = format!("{prefix}user:*");
    assert_eq!(
        found[&format!("{user}.email")],
        ["ada@example.com", "bob@example.org"]
    );
    assert_eq!(found[&format!("{user}.plan")], ["pro"]);
    assert_eq!(found[&format!("{prefix}session:*.(value)")], ["token-1"]);
    assert_eq!(
        found[&format!("{prefix}recent:*.(key)")],
        [format!("{prefix}recent:ada@example.com")]
    );
    assert_eq!(
        found[&format!("{prefix}recent:*.(value)")],
        ["viewed pricing"]
    );
    let keys: Vec<String> = cmds.iter().map(|(_, a)| a[0].clone()).collect();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .expect("clean up");
}
