//! The fixture the request tests share: two databases, a CRM and a shop, on SQLite files or on
//! the real PostgreSQL (CRM) and MariaDB (shop) servers, each test in databases of its own; the
//! map's `CRM_KIND` and `SHOP_KIND` stand for their kinds. Under `CI=true` an unreachable server
//! fails the test; elsewhere the server variant is skipped, loudly.

#![allow(dead_code)] // each test file uses part of it

use pactum_domain::model::DataMap;

/// The shop's data map up to its datastores: organisation, a customer subject, one purpose and
/// activity, retention, and the UK GDPR rights. [`shop_map`] adds the datastores.
const SHOP_HEADER: &str = r#"
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
"#;

/// The shop's map with `datastores` (YAML starting with `datastores:`).
pub fn shop_map(datastores: &str) -> String {
    format!("{SHOP_HEADER}{datastores}")
}
use sqlx::Connection;

pub type Table = Vec<(Option<String>, Option<String>, Option<String>)>;

/// The two datastores of one scenario: their URLs and how to run SQL on them.
pub struct Stores {
    pub crm_kind: &'static str,
    pub shop_kind: &'static str,
    pub crm_url: String,
    pub shop_url: String,
    _dir: Option<tempfile::TempDir>,
    cleanup: Vec<(String, String)>,
}

pub async fn exec(url: &str, sql: &str) {
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
pub async fn state(url: &str, queries: &[&str]) -> Vec<Table> {
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
    /// Two SQLite files, seeded with `crm` and `shop` (SQL scripts).
    pub async fn sqlite(crm: &str, shop: &str) -> Stores {
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
        stores.seed(crm, shop).await;
        stores
    }

    /// The CRM on PostgreSQL and the shop on MariaDB, each in a database of its own; `None` when
    /// a server is unreachable outside CI.
    pub async fn servers(crm: &str, shop: &str) -> Option<Stores> {
        let env_or =
            |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
        let pg_admin = env_or(
            "PACTUM_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        );
        let my_admin = env_or("PACTUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let db = format!("pactum_req_{}_{n}", std::process::id());
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
        stores.seed(crm, shop).await;
        Some(stores)
    }

    async fn seed(&self, crm: &str, shop: &str) {
        exec(&self.crm_url, crm).await;
        exec(&self.shop_url, shop).await;
    }

    pub async fn drop_databases(&self) {
        for (admin, db) in &self.cleanup {
            let sql = if admin.starts_with("postgres") {
                format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            } else {
                format!("DROP DATABASE IF EXISTS {db}")
            };
            exec(admin, &sql).await;
        }
    }

    /// `template` with the datastores' kinds filled in, loaded and checked.
    pub fn map(&self, template: &str) -> DataMap {
        let text = template
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

    pub fn url_of(&self) -> impl Fn(&str) -> Option<String> + Sync + '_ {
        |key: &str| match key {
            "crm" => Some(self.crm_url.clone()),
            "shop" => Some(self.shop_url.clone()),
            _ => None,
        }
    }
}

/// Runs each `scenario(&Stores)` on SQLite files and on the PostgreSQL and MariaDB servers,
/// seeded with the calling file's `CRM_SCHEMA` and `SHOP_SCHEMA`.
#[macro_export]
macro_rules! on_sqlite_and_servers {
    ($($name:ident => $scenario:ident,)*) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let stores = super::Stores::sqlite(super::CRM_SCHEMA, super::SHOP_SCHEMA).await;
                    super::$scenario(&stores).await;
                }
            )*
        }
        mod postgres_and_mariadb {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(stores) = super::Stores::servers(super::CRM_SCHEMA, super::SHOP_SCHEMA).await else {
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
