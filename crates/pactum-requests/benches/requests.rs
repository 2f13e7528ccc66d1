//! Benchmark: data-subject requests over 100,000 subjects with about ten rows each, spread over the
//! real PostgreSQL (customers, tickets), MariaDB (orders) and Redis (sessions) of this machine.
//!
//! `cargo bench -p pactum-requests --bench requests` loads the data once (kept between runs in the
//! databases `pactum_bench` and the Redis logical database 9), then measures access and erasure
//! requests one after another on kept connections, and prints p50 / p99 latency and requests per
//! minute next to the Fides anchor (2.7-5.7 s for one request on a tiny database, fides-notes.md).
//! Environment: PACTUM_BENCH_SUBJECTS (default 100000), PACTUM_BENCH_REQUESTS (default 300).

use std::time::{Duration, Instant};

use pactum_domain::model::IdentityKind;
use pactum_requests::{Connections, ErasureOptions, access_with, erase_with};
use sqlx::Connection;

const DB: &str = "pactum_bench";
const TICKETS: usize = 3;
const ORDERS: usize = 5;

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn with_db(url: &str, db: &str) -> String {
    format!("{}/{db}", url.rsplit_once('/').map_or(url, |(b, _)| b))
}

const MAP: &str = r#"
organisation:
  name: Bench Ltd
  contact: {email: privacy@bench.example}
  regimes: [gdpr]
  authorities: {gdpr: {name: DPC}}
  notice: {version: "1", last_updated: 2026-01-01}
subjects:
  customer: {name: Customers}
purposes:
  service: {name: Service, description: Service., legal_basis: {gdpr: contract}}
activities:
  all:
    name: All
    subjects: [customer]
    purposes: [service]
    categories: [user.contact.email, user.name, user.content, user.unique_id, user.authorization]
retention:
  all: {applies_to: {categories: [user]}, period: 2 years, from: relationship_end, action: delete}
rights:
  response_days: 30
  verification: Code by email.
  contact: {email: privacy@bench.example}
  regimes: {gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]}
datastores:
  crm:
    kind: postgres
    connection_env: BENCH_CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
      tickets:
        fields:
          id: {primary_key: true}
          customer_id: {references: [customers.id], categories: [user.unique_id], erasure: nullify}
          body: {categories: [user.content], erasure: nullify}
  shop:
    kind: mariadb
    connection_env: BENCH_SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          shipping_name: {categories: [user.name], erasure: nullify}
  cache:
    kind: redis
    connection_env: BENCH_CACHE_URL
    collections:
      sessions:
        key: "session:{customer_id}"
        fields:
          customer_id: {references: [crm.customers.id]}
          token: {categories: [user.authorization], erasure: delete_row}
"#;

async fn load(subjects: usize, pg_url: &str, my_url: &str, redis_url: &str) {
    let mut pg = sqlx::PgConnection::connect(pg_url).await.expect("crm");
    let have: Option<i64> = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut pg)
        .await
        .ok();
    if have == Some(subjects as i64) {
        println!("data already loaded: {subjects} subjects");
        return;
    }
    println!(
        "loading {subjects} subjects ({} rows) ...",
        subjects * (1 + TICKETS + ORDERS + 1)
    );
    let started = Instant::now();
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS tickets; DROP TABLE IF EXISTS customers;
         CREATE TABLE customers (id INT PRIMARY KEY, email TEXT, name TEXT);
         CREATE TABLE tickets (id INT PRIMARY KEY, customer_id INT, body TEXT);",
    )
    .execute(&mut pg)
    .await
    .expect("crm schema");
    let mut copy = pg
        .copy_in_raw("COPY customers FROM STDIN WITH (FORMAT csv)")
        .await
        .expect("copy");
    let mut buf = String::new();
    for i in 0..subjects {
        buf.push_str(&format!("{i},person{i}@example.com,Person {i}\n"));
    }
    copy.send(buf.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    let mut copy = pg
        .copy_in_raw("COPY tickets FROM STDIN WITH (FORMAT csv)")
        .await
        .expect("copy");
    let mut buf = String::new();
    for i in 0..subjects * TICKETS {
        buf.push_str(&format!(
            "{i},{},\"Ticket {i}: my printer is broken\"\n",
            i % subjects
        ));
    }
    copy.send(buf.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    sqlx::raw_sql(
        "CREATE UNIQUE INDEX ON customers (email); CREATE INDEX ON tickets (customer_id); ANALYZE;",
    )
    .execute(&mut pg)
    .await
    .expect("indexes");

    let mut my = sqlx::MySqlConnection::connect(my_url).await.expect("shop");
    for stmt in [
        "DROP TABLE IF EXISTS orders",
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, shipping_name VARCHAR(100), KEY (customer_id))",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(stmt))
            .execute(&mut my)
            .await
            .expect("shop schema");
    }
    let total = subjects * ORDERS;
    let mut i = 0;
    while i < total {
        let end = (i + 5000).min(total);
        let values: Vec<String> = (i..end)
            .map(|o| format!("({o},{},'Person {}')", o % subjects, o % subjects))
            .collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO orders VALUES {}",
            values.join(",")
        )))
        .execute(&mut my)
        .await
        .expect("orders");
        i = end;
    }

    let client = redis::Client::open(redis_url).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut conn)
        .await
        .expect("flush bench db");
    for chunk in (0..subjects).collect::<Vec<_>>().chunks(5000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("HSET")
                .arg(format!("session:{i}"))
                .arg("customer_id")
                .arg(i)
                .arg("token")
                .arg(format!("tok-{i}"))
                .ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.expect("sessions");
    }
    println!("loaded in {:.1} s", started.elapsed().as_secs_f64());
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let subjects: usize = env_or("PACTUM_BENCH_SUBJECTS", "100000")
        .parse()
        .expect("a number");
    let requests: usize = env_or("PACTUM_BENCH_REQUESTS", "300")
        .parse()
        .expect("a number");
    let pg_admin = env_or(
        "PACTUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let my_admin = env_or("PACTUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    let redis_url = format!(
        "{}/9",
        env_or("PACTUM_TEST_REDIS_URL", "redis://127.0.0.1:6379").trim_end_matches('/')
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (pg_url, my_url) = rt.block_on(async {
        let mut pg = sqlx::PgConnection::connect(&pg_admin)
            .await
            .expect("PostgreSQL");
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(DB)
                .fetch_optional(&mut pg)
                .await
                .expect("pg_database");
        if exists.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {DB}")))
                .execute(&mut pg)
                .await
                .expect("create");
        }
        let mut my = sqlx::MySqlConnection::connect(&my_admin)
            .await
            .expect("MariaDB");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE IF NOT EXISTS {DB}"
        )))
        .execute(&mut my)
        .await
        .expect("create");
        let pg_url = with_db(&pg_admin, DB);
        let my_url = with_db(&my_admin, DB);
        load(subjects, &pg_url, &my_url, &redis_url).await;
        (pg_url, my_url)
    });

    let loaded = pactum_mapfile::load_str("bench.yml", MAP);
    assert!(
        !loaded.has_errors(),
        "{}",
        pactum_mapfile::report::human(&loaded)
    );
    let map = loaded.map;
    let shop_url = my_url.replacen("mysql://", "mariadb://", 1);
    let url_of = move |ds: &str| match ds {
        "crm" => Some(pg_url.clone()),
        "shop" => Some(shop_url.clone()),
        "cache" => Some(redis_url.clone()),
        _ => None,
    };
    let options = ErasureOptions {
        hash_key: Some(b"bench-key".to_vec()),
        today: None,
        holds: Vec::new(),
    };
    // Subjects spread over the whole range, deterministic; erasures take different ones than accesses,
    // and a run erases subjects no earlier run erased (the offset moves with the clock's seconds).
    let step = (subjects / requests.max(1)).max(1);
    let offset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as usize)
        % step.max(2)
        / 2;
    rt.block_on(async {
        let mut conns = Connections::default();
        // Warm up: connect every datastore once, as a server would at start.
        let _ = access_with(&mut conns, &map, &[(IdentityKind::Email, "person1@example.com".into())], &url_of).await;
        let mut access_times = Vec::with_capacity(requests);
        let mut rows = 0;
        let started = Instant::now();
        for n in 0..requests {
            let who = format!("person{}@example.com", (n * step + 1) % subjects);
            let t = Instant::now();
            let result = access_with(&mut conns, &map, &[(IdentityKind::Email, who)], &url_of).await.expect("access");
            access_times.push(t.elapsed());
            rows += result.record_count();
        }
        let access_wall = started.elapsed();
        let mut erase_times = Vec::with_capacity(requests);
        let mut erased = 0u64;
        let started = Instant::now();
        for n in 0..requests {
            let who = format!("person{}@example.com", (n * step + offset + step / 2) % subjects);
            let t = Instant::now();
            let result = erase_with(&mut conns, &map, &[(IdentityKind::Email, who)], &url_of, &options)
                .await
                .expect("erasure");
            erase_times.push(t.elapsed());
            assert!(result.failed.is_empty(), "erasure rolled back: {:?}", result.failed);
            erased += result.erased.values().map(|e| e.rows).sum::<u64>();
        }
        let erase_wall = started.elapsed();
        access_times.sort();
        erase_times.sort();
        println!();
        println!("{subjects} subjects, about {} rows each over PostgreSQL, MariaDB and Redis; {requests} requests of each kind, one at a time", 1 + TICKETS + ORDERS + 1);
        println!("| request | p50 ms | p99 ms | requests/min | rows | Fides (anchor) | p50 vs Fides best |");
        println!("|---|---|---|---|---|---|---|");
        for (name, times, wall, count) in [("access", &access_times, access_wall, rows as u64), ("erasure", &erase_times, erase_wall, erased)] {
            let p50 = percentile(times, 0.5);
            println!(
                "| {name} | {p50:.1} | {:.1} | {:.0} | {count} | 2700-5700 ms | {:.0}x faster |",
                percentile(times, 0.99),
                requests as f64 / wall.as_secs_f64() * 60.0,
                2700.0 / p50
            );
        }
        println!("target: p50 under 200 ms per request");
    });
}
