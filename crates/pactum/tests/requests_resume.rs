//! The server's worker resumes an erasure that a killed server left half-done.
//!
//! The first attempt is played here, up to its crash: it planned the erasure, stored the plan and
//! committed the CRM (the person's email keyed-hashed), then died before recording the CRM as done.
//! A fresh `pactum serve` then runs the `request.execute` job: it must finish the shop from the
//! stored plan (planning again could not find the shop's rows: the email leads nowhere any more),
//! find the CRM already erased without changing it again, complete the request with every
//! datastore counted once, and delete the stored plan. On real SQLite files.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::prelude::*;
use pactum_domain::model::IdentityKind;
use pactum_store::audit::Actor;
use pactum_store::requests::{
    Channel, Deadline, Decision, NewRequest, RateLimits, RequestKind, RequestStatus,
};
use pactum_store::{Store, StoreOptions};
use sqlx::Connection;

const ERASURE_KEY: &str = "resume-test-erasure-key";

const SYSTEMS: &str = r#"systems:
  app: {name: App}
datastores:
  crm:
    system: app
    kind: sqlite
    connection_env: RESUME_CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
  shop:
    system: app
    kind: sqlite
    connection_env: RESUME_SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          shipping_name: {categories: [user.name], erasure: nullify}
      wishlists:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id]}
          note: {categories: [user.name], erasure: delete_row}
"#;

fn write_map(dir: &Path) {
    let init = Command::cargo_bin("pactum")
        .expect("binary")
        .arg("init")
        .arg(dir)
        .output()
        .expect("init");
    assert!(init.status.success());
    std::fs::write(dir.join("systems.yml"), SYSTEMS).expect("write systems");
    let rights = std::fs::read_to_string(dir.join("rights.yml")).expect("read");
    std::fs::write(
        dir.join("rights.yml"),
        rights.replace(
            "      categories: [user.name, user.contact, user.account]",
            "      categories: [user.name, user.contact, user.account, user.unique_id]",
        ),
    )
    .expect("write rights");
}

async fn sqlite(path: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("sqlite");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut c)
        .await
        .expect("sql runs");
    use sqlx::Row as _;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).expect("text"))
                .collect()
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// A running `pactum serve`, stopped with SIGTERM when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn a_restarted_server_finishes_a_half_done_erasure_from_its_checkpoint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let map_dir = tmp.path().join("map");
    let data = tmp.path().join("data");
    write_map(&map_dir);
    let crm = tmp.path().join("crm.db");
    let shop = tmp.path().join("shop.db");
    let crm_url = format!("sqlite://{}", crm.display());
    let shop_url = format!("sqlite://{}", shop.display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let request_id = rt.block_on(async {
        for stmt in [
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT)",
            "INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace'), (2, 'bob@example.org', 'Bob Smith')",
        ] {
            sqlite(&crm, stmt).await;
        }
        for stmt in [
            "CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id INTEGER, shipping_name TEXT)",
            "INSERT INTO orders VALUES ('o-1', 1, 'Ada Lovelace'), ('o-2', 1, 'Ada Lovelace'), ('o-3', 2, 'Bob Smith')",
            "CREATE TABLE wishlists (id INTEGER PRIMARY KEY, customer_id INTEGER, note TEXT)",
            "INSERT INTO wishlists VALUES (1, 1, 'a loom'), (2, 2, 'a kettle')",
        ] {
            sqlite(&shop, stmt).await;
        }
        let loaded = pactum_mapfile::load(&map_dir).expect("map loads");
        assert!(!loaded.has_errors(), "{}", pactum_mapfile::report::human(&loaded));
        let map = loaded.map;

        // An approved erasure request, as the privacy officer left it.
        let store = Store::open_dir(&data, StoreOptions::default()).await.expect("store");
        let new = NewRequest {
            kind: RequestKind::Erasure,
            regimes: vec!["gdpr".into()],
            identity_kind: "email".into(),
            identity_value: "ada@example.com".into(),
            channel: Channel::Admin,
            details: None,
            corrections: Default::default(),
            deadline: Deadline {
                received_on: "2026-11-26".into(),
                acknowledge_by: None,
                legal_due: "2026-12-26".into(),
                extended_due: None,
                promised_due: None,
                due_on: "2026-12-26".into(),
                regime: "gdpr".into(),
            },
            client_ip: None,
        };
        let (request, _) = store
            .create_request(&Actor::User(1), &new, &RateLimits::default())
            .await
            .expect("creates");
        store
            .decide_request(&Actor::User(1), request.id, &Decision::Approve)
            .await
            .expect("approves");

        // The first attempt, up to its crash: planned, plan stored, CRM committed, not recorded.
        let url_of = |key: &str| match key {
            "crm" => Some(crm_url.clone()),
            "shop" => Some(shop_url.clone()),
            _ => None,
        };
        let mut connections = pactum_requests::Connections::default();
        let identities = [(IdentityKind::Email, "ada@example.com".to_owned())];
        let options = pactum_requests::ErasureOptions {
            hash_key: Some(ERASURE_KEY.as_bytes().to_vec()),
            today: None,
            holds: Vec::new(),
        };
        let plan = pactum_requests::plan_erasure(&mut connections, &map, &identities, &url_of, &options)
            .await
            .expect("plans");
        let value = serde_json::to_value(&plan).expect("serialises");
        assert!(store.save_erasure_plan(&Actor::System, request.id, &value).await.expect("saves"));
        pactum_requests::apply_datastore(&mut connections, &map, &plan, "crm", &url_of)
            .await
            .expect("the CRM is erased");
        // Planning again now would not reach the shop: that is what the checkpoint is for.
        let replanned = pactum_requests::plan_erasure(&mut connections, &map, &identities, &url_of, &options)
            .await
            .expect("plans again");
        assert!(!replanned.datastores.contains_key("shop"), "{replanned:?}");
        store.close().await;
        request.id
    });
    let crm_after_first_attempt = rt.block_on(sqlite(
        &crm,
        "SELECT CAST(id AS TEXT), email, name FROM customers ORDER BY id",
    ));

    let mut child = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["serve", "--listen", "127.0.0.1:0", "--map"])
        .arg(&map_dir)
        .arg("--data")
        .arg(&data)
        .env("RESUME_CRM_URL", &crm_url)
        .env("RESUME_SHOP_URL", &shop_url)
        .env("PACTUM_ERASURE_KEY", ERASURE_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a banner");
    let server = Server(child);
    assert!(first.contains("http://"), "{first}");

    let request = rt.block_on(async {
        let store = Store::open_dir(&data, StoreOptions::default())
            .await
            .expect("store");
        let started = Instant::now();
        loop {
            let request = store
                .request(request_id)
                .await
                .expect("reads")
                .expect("exists");
            if request.status == RequestStatus::Completed {
                break request;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not completed in 60 s: {:?}",
                request.status
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    drop(server);

    let outcome = request.outcome.expect("an outcome");
    assert_eq!(outcome["rows_erased"], 4, "{outcome}");
    assert_eq!(outcome["erased"]["crm.customers"]["rows"], 1, "{outcome}");
    assert_eq!(outcome["erased"]["shop.orders"]["rows"], 2, "{outcome}");
    assert_eq!(outcome["erased"]["shop.wishlists"]["rows"], 1, "{outcome}");
    rt.block_on(async {
        assert_eq!(
            sqlite(
                &crm,
                "SELECT CAST(id AS TEXT), email, name FROM customers ORDER BY id"
            )
            .await,
            crm_after_first_attempt,
            "the CRM is not changed again"
        );
        assert_eq!(
            sqlite(
                &shop,
                "SELECT id, CAST(customer_id AS TEXT), shipping_name FROM orders ORDER BY id"
            )
            .await,
            vec![
                vec![s("o-1"), None, None],
                vec![s("o-2"), None, None],
                vec![s("o-3"), s("2"), s("Bob Smith")],
            ]
        );
        assert_eq!(
            sqlite(
                &shop,
                "SELECT CAST(id AS TEXT), note FROM wishlists ORDER BY id"
            )
            .await,
            vec![vec![s("2"), s("a kettle")]]
        );
        let store = Store::open_dir(&data, StoreOptions::default())
            .await
            .expect("store");
        assert!(
            store
                .erasure_checkpoint(request_id)
                .await
                .expect("reads")
                .is_none(),
            "the plan is deleted"
        );
        let mut audit = Vec::new();
        store.audit_export(&mut audit).await.expect("exports");
        let audit = String::from_utf8(audit).expect("UTF-8");
        assert_eq!(audit.matches("\"request.plan\"").count(), 1, "{audit}");
        assert_eq!(audit.matches("\"request.step\"").count(), 2, "{audit}");
        assert!(
            !audit.contains("ada@example.com"),
            "no personal data in the audit log"
        );
    });
}
