//! Checkpointed erasure: a plan made once and applied one datastore at a time survives a crash
//! between datastores, where planning again would lose the next datastore's rows for good.
//!
//! The person's email in the CRM leads to their customer id, which leads to their orders and
//! reviews in the shop (another database). Once the CRM is erased, the email leads nowhere.
//! On real SQLite files; the same scenario runs with the CRM on PostgreSQL and the shop on MariaDB
//! when those servers are reachable (under `CI=true` they must be).

use std::collections::BTreeMap;

use pactum_domain::model::{DataMap, IdentityKind};
use pactum_requests::{
    Connections, ErasureOptions, ErasurePlan, PlannedChange, RequestError, apply_datastore,
    erase_with, plan_erasure,
};
use sqlx::Connection;

const MAP: &str = r#"
organisation:
  name: Shop Ltd
  contact: {email: privacy@shop.example}
  regimes: [uk_gdpr]
  authorities: {uk_gdpr: {name: ICO}}
  notice: {version: "1", last_updated: 2026-01-01}
subjects:
  customer: {name: Customers}
purposes:
  sales: {name: Sales, description: Selling., legal_basis: {uk_gdpr: contract}}
activities:
  sales: {name: Sales, subjects: [customer], purposes: [sales], categories: [user.contact, user.name, user.unique_id]}
retention:
  accounts:
    applies_to: {categories: [user.contact, user.name, user.unique_id]}
    period: 2 years
    from: account_closure
    action: delete
rights:
  response_days: 30
  verification: Code by email.
  contact: {email: privacy@shop.example}
  regimes: {uk_gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]}
datastores:
  crm:
    kind: CRM_KIND
    connection_env: CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
          phone: {categories: [user.contact.phone_number], erasure: random}
  shop:
    kind: SHOP_KIND
    connection_env: SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          total: {}
          shipping_name: {categories: [user.name], erasure: nullify}
      wishlists:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id]}
          note: {categories: [user.name], erasure: delete_row}
      reviews:
        fields:
          customer_id: {references: [crm.customers.id]}
          author: {categories: [user.name], erasure: {fixed: "[erased]"}}
          stars: {}
"#;

const CRM_SCHEMA: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), name VARCHAR(100), phone VARCHAR(30));
INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace', '+44 20 7946 0001'), (2, 'bob@example.org', 'Bob Smith', '+44 20 7946 0002');";

const SHOP_SCHEMA: &str = "CREATE TABLE orders (id VARCHAR(20) PRIMARY KEY, customer_id INTEGER, total VARCHAR(20), shipping_name VARCHAR(100));
CREATE TABLE wishlists (id INTEGER PRIMARY KEY, customer_id INTEGER, note VARCHAR(100));
CREATE TABLE reviews (customer_id INTEGER, author VARCHAR(100), stars INTEGER);
INSERT INTO orders VALUES ('o-1', 1, '12.50', 'Ada Lovelace'), ('o-2', 1, '40.00', 'Ada Lovelace'), ('o-3', 2, '8.00', 'Bob Smith');
INSERT INTO wishlists VALUES (1, 1, 'Ada: a loom'), (2, 2, 'Bob: a kettle');
INSERT INTO reviews VALUES (1, 'Ada L.', 5), (2, 'Bob S.', 3);";

/// What the shop holds, in a fixed order, as text: orders, then wishlists, then reviews.
const SHOP_STATE: &[&str] = &[
    "SELECT id, CAST(customer_id AS CHAR(10)), shipping_name FROM orders ORDER BY id",
    "SELECT CAST(id AS CHAR(10)), CAST(customer_id AS CHAR(10)), note FROM wishlists ORDER BY id",
    "SELECT CAST(customer_id AS CHAR(10)), author, CAST(stars AS CHAR(10)) FROM reviews ORDER BY customer_id",
];

const CRM_STATE: &[&str] =
    &["SELECT CAST(id AS CHAR(10)), email, name, phone FROM customers ORDER BY id"];

type Table = Vec<(Option<String>, Option<String>, Option<String>)>;

/// The two datastores of one scenario: their URLs and how to run SQL on them.
struct Stores {
    crm_kind: &'static str,
    shop_kind: &'static str,
    crm_url: String,
    shop_url: String,
    _dir: Option<tempfile::TempDir>,
    cleanup: Vec<(String, String)>,
}

async fn exec(url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
    } else if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
    } else {
        let mut c = sqlx::MySqlConnection::connect(url).await.expect("mariadb");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
    }
}

/// Every row the queries return (three text columns; a fourth is appended to the third).
async fn state(url: &str, queries: &[&str]) -> Vec<Table> {
    let mut out = Vec::new();
    for q in queries {
        let q = sqlx::AssertSqlSafe(q.replace("CHAR(10)", char_type(url)));
        let rows: Vec<Vec<Option<String>>> = if url.starts_with("sqlite") {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
            rows_of(sqlx::query(q).fetch_all(&mut c).await.expect("select"))
        } else if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
            rows_of(sqlx::query(q).fetch_all(&mut c).await.expect("select"))
        } else {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("mariadb");
            rows_of(sqlx::query(q).fetch_all(&mut c).await.expect("select"))
        };
        out.push(
            rows.into_iter()
                .map(|r| {
                    let third = match (r.get(2).cloned().flatten(), r.get(3).cloned().flatten()) {
                        (a, None) => a,
                        (a, Some(b)) => Some(format!("{}|{b}", a.unwrap_or_default())),
                    };
                    (r[0].clone(), r[1].clone(), third)
                })
                .collect(),
        );
    }
    out
}

fn char_type(url: &str) -> &'static str {
    if url.starts_with("mysql") {
        "CHAR(20)"
    } else {
        "TEXT"
    }
}

fn rows_of<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).expect("text"))
                .collect()
        })
        .collect()
}

impl Stores {
    async fn sqlite() -> Stores {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut urls = Vec::new();
        for name in ["crm.db", "shop.db"] {
            let path = dir.path().join(name);
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            sqlx::SqliteConnection::connect_with(&opts)
                .await
                .expect("creates the file")
                .close()
                .await
                .expect("closes");
            urls.push(format!("sqlite://{}", path.display()));
        }
        let stores = Stores {
            crm_kind: "sqlite",
            shop_kind: "sqlite",
            crm_url: urls[0].clone(),
            shop_url: urls[1].clone(),
            _dir: Some(dir),
            cleanup: Vec::new(),
        };
        stores.seed().await;
        stores
    }

    /// The CRM on PostgreSQL and the shop on MariaDB, each in a database of its own; `None` when
    /// a server is unreachable outside CI.
    async fn servers() -> Option<Stores> {
        let env_or =
            |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
        let pg_admin = env_or(
            "PACTUM_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        );
        let my_admin = env_or("PACTUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let db = format!("pactum_resume_{}_{n}", std::process::id());
        let with_db = |url: &str| format!("{}/{db}", url.rsplit_once('/').map_or(url, |(b, _)| b));
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{what} is required under CI=true: {e}");
            }
            eprintln!("SKIPPED: {what} unreachable ({e})");
        };
        match sqlx::PgConnection::connect(&pg_admin).await {
            Ok(mut c) => {
                let sql = format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}");
                for s in sql.split("; ") {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_owned()))
                        .execute(&mut c)
                        .await
                        .expect("create database");
                }
            }
            Err(e) => {
                unavailable("PostgreSQL", &e);
                return None;
            }
        }
        match sqlx::MySqlConnection::connect(&my_admin).await {
            Ok(mut c) => {
                let sql = format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .expect("create database");
            }
            Err(e) => {
                unavailable("MariaDB", &e);
                return None;
            }
        }
        let stores = Stores {
            crm_kind: "postgres",
            shop_kind: "mariadb",
            crm_url: with_db(&pg_admin),
            shop_url: with_db(&my_admin),
            _dir: None,
            cleanup: vec![(pg_admin, db.clone()), (my_admin, db)],
        };
        stores.seed().await;
        Some(stores)
    }

    async fn seed(&self) {
        exec(&self.crm_url, CRM_SCHEMA).await;
        exec(&self.shop_url, SHOP_SCHEMA).await;
    }

    async fn drop_databases(&self) {
        for (admin, db) in &self.cleanup {
            let sql = if admin.starts_with("postgres") {
                format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            } else {
                format!("DROP DATABASE IF EXISTS {db}")
            };
            exec(admin, &sql).await;
        }
    }

    fn map(&self) -> DataMap {
        let text = MAP
            .replace("CRM_KIND", self.crm_kind)
            .replace("SHOP_KIND", self.shop_kind);
        let loaded = pactum_mapfile::load_str("shop.yml", &text);
        assert!(
            !loaded.has_errors(),
            "{}",
            pactum_mapfile::report::human(&loaded)
        );
        loaded.map
    }

    fn url_of(&self) -> impl Fn(&str) -> Option<String> + Sync + '_ {
        |key: &str| match key {
            "crm" => Some(self.crm_url.clone()),
            "shop" => Some(self.shop_url.clone()),
            _ => None,
        }
    }

    async fn shop(&self) -> Vec<Table> {
        state(&self.shop_url, SHOP_STATE).await
    }

    async fn crm(&self) -> Vec<Table> {
        state(&self.crm_url, CRM_STATE).await
    }
}

fn ada() -> [(IdentityKind, String); 1] {
    [(IdentityKind::Email, "ada@example.com".to_owned())]
}

fn options() -> ErasureOptions {
    ErasureOptions {
        hash_key: Some(b"a test key".to_vec()),
        today: None,
        holds: Vec::new(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// The shop after Ada's erasure: her orders lose her id and name, her wishlist goes, her review
/// keeps its stars under an erased author; Bob's rows are as they were.
fn shop_erased() -> Vec<Table> {
    vec![
        vec![
            (s("o-1"), None, None),
            (s("o-2"), None, None),
            (s("o-3"), s("2"), s("Bob Smith")),
        ],
        vec![(s("2"), s("2"), s("Bob: a kettle"))],
        vec![
            (s("1"), s("[erased]"), s("5")),
            (s("2"), s("Bob S."), s("3")),
        ],
    ]
}

/// Run with the plan's JSON as it would be stored between attempts.
async fn scenario_crash_between_datastores(stores: &Stores) {
    let map = stores.map();
    let url_of = stores.url_of();
    let shop_before = stores.shop().await;
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    // Planning changes nothing.
    assert_eq!(stores.shop().await, shop_before);
    assert_eq!(plan.datastore_keys().collect::<Vec<_>>(), ["crm", "shop"]);
    let stored = serde_json::to_string(&plan).expect("serialises");
    let back: ErasurePlan = serde_json::from_str(&stored).expect("deserialises");
    assert_eq!(back, plan, "the stored plan is the plan");

    let crm = apply_datastore(&mut connections, &map, &plan, "crm", &url_of)
        .await
        .expect("the CRM is erased");
    assert_eq!(crm["crm.customers"].rows, 1);
    let customers = &stores.crm().await[0];
    assert_eq!(
        customers[0].1.as_ref().map(String::len),
        Some(64),
        "email keyed-hashed"
    );
    // The crash: connections and everything in memory are gone; only the stored JSON is left.
    drop(connections);
    drop(plan);
    let mut connections = Connections::default();

    // Planning again cannot find the shop's rows any more: the email leads nowhere.
    let replanned = plan_erasure(&mut connections, &map, &ada(), &url_of, &options()).await;
    match replanned {
        Ok(p) => assert!(
            !p.datastores.contains_key("shop"),
            "a new plan should have lost the shop (that is the problem shown): {p:?}"
        ),
        Err(e) => panic!("planning again should run and find nothing: {e}"),
    }
    assert_eq!(
        stores.shop().await,
        shop_before,
        "nothing erased in the shop yet"
    );

    // The stored plan finishes the job.
    let plan: ErasurePlan = serde_json::from_str(&stored).expect("deserialises");
    let shop = apply_datastore(&mut connections, &map, &plan, "shop", &url_of)
        .await
        .expect("the shop is erased from the stored plan");
    assert_eq!(shop["shop.orders"].rows, 2);
    assert_eq!(shop["shop.wishlists"].rows, 1);
    assert!(shop["shop.wishlists"].deleted);
    assert_eq!(shop["shop.reviews"].rows, 1);
    assert_eq!(stores.shop().await, shop_erased());
    assert_eq!(
        shop,
        plan.planned("shop"),
        "the planned counts are what was done"
    );
}

/// A datastore committed but not recorded as done is found applied, and nothing is written again.
async fn scenario_reapplication_is_detected(stores: &Stores) {
    let map = stores.map();
    let url_of = stores.url_of();
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    // The random phone number is drawn once, into the plan.
    let customers = &plan.datastores["crm"].collections["customers"];
    let PlannedChange::Set(set) = &customers.rows[0].change else {
        panic!("customers are masked, not deleted");
    };
    let phone = set
        .iter()
        .find(|(f, _)| f == "phone")
        .and_then(|(_, v)| v.clone());
    for ds in ["crm", "shop"] {
        apply_datastore(&mut connections, &map, &plan, ds, &url_of)
            .await
            .expect("applies");
    }
    let crm_after = stores.crm().await;
    assert_eq!(
        crm_after[0][0]
            .2
            .as_deref()
            .map(|t| t.ends_with(phone.as_deref().unwrap_or("?"))),
        Some(true)
    );
    let mut connections = Connections::default();
    for ds in ["crm", "shop"] {
        match apply_datastore(&mut connections, &map, &plan, ds, &url_of).await {
            Err(RequestError::AlreadyApplied { datastore }) => assert_eq!(datastore, ds),
            other => panic!("{ds}: expected AlreadyApplied, got {other:?}"),
        }
    }
    assert_eq!(stores.crm().await, crm_after);
    assert_eq!(stores.shop().await, shop_erased());
}

/// A datastore someone else changed between plan and application (a planned row gone, others
/// not erased) is neither taken as done nor half-applied: it fails and nothing of it changes.
async fn scenario_partly_changed_datastore_fails_whole(stores: &Stores) {
    let map = stores.map();
    let url_of = stores.url_of();
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    exec(&stores.shop_url, "DELETE FROM wishlists WHERE id = 1").await;
    let before = stores.shop().await;
    match apply_datastore(&mut connections, &map, &plan, "shop", &url_of).await {
        Err(RequestError::Connector { datastore, source }) => {
            assert_eq!(datastore, "shop");
            let text = format!("{source}: {:?}", std::error::Error::source(&source));
            assert!(text.contains("matched 0 rows"), "{text}");
        }
        other => panic!("expected a rolled-back datastore, got {other:?}"),
    }
    assert_eq!(
        stores.shop().await,
        before,
        "rolled back: nothing of the shop changed"
    );
    // erase_with still plans and applies everything in one go (the CRM is untouched so far).
    let mut connections = Connections::default();
    exec(
        &stores.shop_url,
        "INSERT INTO wishlists VALUES (1, 1, 'Ada: a loom')",
    )
    .await;
    let result = erase_with(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("erases");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    let rows: BTreeMap<&str, u64> = result
        .erased
        .iter()
        .map(|(k, e)| (k.as_str(), e.rows))
        .collect();
    assert_eq!(
        rows,
        BTreeMap::from([
            ("crm.customers", 1),
            ("shop.orders", 2),
            ("shop.reviews", 1),
            ("shop.wishlists", 1)
        ])
    );
    assert_eq!(stores.shop().await, shop_erased());
}

macro_rules! on_sqlite_and_servers {
    ($($name:ident => $scenario:ident,)*) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let stores = super::Stores::sqlite().await;
                    super::$scenario(&stores).await;
                }
            )*
        }
        mod postgres_and_mariadb {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(stores) = super::Stores::servers().await else {
                        return;
                    };
                    use futures_util::FutureExt as _;
                    let outcome = std::panic::AssertUnwindSafe(super::$scenario(&stores)).catch_unwind().await;
                    stores.drop_databases().await;
                    if let Err(panic) = outcome {
                        std::panic::resume_unwind(panic);
                    }
                }
            )*
        }
    };
}

on_sqlite_and_servers! {
    crash_between_datastores_resumes_from_the_stored_plan => scenario_crash_between_datastores,
    reapplying_a_committed_datastore_is_detected => scenario_reapplication_is_detected,
    a_partly_changed_datastore_fails_whole => scenario_partly_changed_datastore_fails_whole,
}
