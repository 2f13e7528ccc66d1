//! One test suite, two backends: each case in `both!` runs on a SQLite file in a temporary directory
//! and on a fresh PostgreSQL database created through `PACTUM_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards. Under `CI=true` an unreachable
//! PostgreSQL fails the test; elsewhere it is skipped loudly.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use pactum_store::accounts::{LockoutPolicy, LoginLimits, PasswordParams};
use pactum_store::clock::{Clock, ManualClock, SystemClock, Timestamp};
use pactum_store::{Store, StoreOptions};
use sqlx::Connection;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Which backend a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The admin URL and the database to drop afterwards (PostgreSQL only).
    drop: Option<(String, String)>,
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> Option<TestDb> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required under CI=true but unreachable: {err}");
    }
    eprintln!("SKIPPED: {what} unreachable ({err}); set CI=true to make this a failure");
    None
}

/// Replaces the database name (the last path segment) of a URL, keeping any query string.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A clock for tests: 2026-11-26T12:00:00Z until moved.
pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(1_795_694_400_000)))
}

impl TestDb {
    /// A fresh database, or `None` when PostgreSQL is unreachable outside CI.
    pub async fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("pactum.db").display());
                Some(TestDb {
                    kind,
                    url,
                    _dir: Some(dir),
                    drop: None,
                })
            }
            Kind::Postgres => {
                let admin = std::env::var("PACTUM_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(conn) => conn,
                    Err(e) => return unavailable("PostgreSQL", e),
                };
                let name = format!(
                    "pactum_store_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let create = format!("CREATE DATABASE {name}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let _ = conn.close().await;
                Some(TestDb {
                    kind,
                    url: with_database(&admin, &name),
                    _dir: None,
                    drop: Some((admin, name)),
                })
            }
        }
    }

    /// Options for tests: cheap password hashing, the given clock, a small lock-out policy and a
    /// small per-address login limit (4 attempts per 10 minutes).
    pub fn options(clock: Arc<dyn Clock>) -> StoreOptions {
        StoreOptions {
            max_connections: 5,
            clock,
            password: PasswordParams::INSECURE_FOR_TESTS,
            lockout: LockoutPolicy {
                max_failures: 3,
                window: std::time::Duration::from_secs(600),
                lockout: std::time::Duration::from_secs(900),
            },
            login_limits: LoginLimits {
                per_ip: 4,
                window: std::time::Duration::from_secs(600),
            },
        }
    }

    /// Opens the store with the system clock.
    pub async fn open(&self) -> Store {
        self.open_with_clock(Arc::new(SystemClock)).await
    }

    /// Opens the store with `clock`.
    pub async fn open_with_clock(&self, clock: Arc<dyn Clock>) -> Store {
        Store::open_with(&self.url, TestDb::options(clock))
            .await
            .expect("the store opens")
    }

    /// Runs SQL on a connection of its own, as an attacker with database access would.
    pub async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    /// Drops the append-only triggers first, then runs `sql`: tampering by someone who owns the
    /// database.
    pub async fn tamper(&self, sql: &str) {
        let drop_guards = match self.kind {
            Kind::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
            Kind::Postgres => {
                "DROP TRIGGER audit_log_no_update ON audit_log; \
                 DROP TRIGGER audit_log_no_truncate ON audit_log;"
            }
        };
        self.exec(&format!("{drop_guards} {sql}"))
            .await
            .expect("tampering SQL runs");
    }

    /// Drops the PostgreSQL database (the SQLite directory goes with `self`).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.drop
            && let Ok(mut conn) = sqlx::PgConnection::connect(admin).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

/// Runs `case` on `db`, then drops the database even if the case panicked, then re-raises.
pub async fn run<F>(db: TestDb, case: F)
where
    F: for<'a> AsyncFnOnce(&'a TestDb),
{
    use futures_util::FutureExt as _;
    let outcome = std::panic::AssertUnwindSafe(case(&db)).catch_unwind().await;
    db.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each `async fn case(db: &TestDb)` once and generates a `sqlite::case` and a
/// `postgres::case` test that run it on a fresh database of that backend.
#[macro_export]
macro_rules! both {
    ($(async fn $name:ident($db:ident: &TestDb) $body:block)*) => {
        $(async fn $name($db: &$crate::support::TestDb) $body)*

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::new($crate::support::Kind::Sqlite).await
                    else {
                        return;
                    };
                    $crate::support::run(db, super::$name).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) =
                        $crate::support::TestDb::new($crate::support::Kind::Postgres).await
                    else {
                        return;
                    };
                    $crate::support::run(db, super::$name).await;
                }
            )*
        }
    };
}

/// A request about `email`, received on the admin channel (verified at once).
pub fn admin_request(
    kind: pactum_store::requests::RequestKind,
    email: &str,
) -> pactum_store::requests::NewRequest {
    use pactum_store::requests::{Channel, Deadline, NewRequest};
    NewRequest {
        kind,
        regimes: vec!["gdpr".into()],
        identity_kind: "email".into(),
        identity_value: email.into(),
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
    }
}

/// An erasure request about `email` from the admin channel, approved (by user 1) when `approve`.
pub async fn erasure_request(
    store: &Store,
    email: &str,
    approve: bool,
) -> pactum_store::requests::Request {
    use pactum_store::audit::Actor;
    use pactum_store::requests::{Decision, RateLimits, RequestKind};
    let (request, _) = store
        .create_request(
            &Actor::User(1),
            &admin_request(RequestKind::Erasure, email),
            &RateLimits::default(),
        )
        .await
        .expect("creates");
    if !approve {
        return request;
    }
    store
        .decide_request(&Actor::User(1), request.id, &Decision::Approve)
        .await
        .expect("approves")
}
