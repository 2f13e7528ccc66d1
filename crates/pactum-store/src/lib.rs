//! Pactum's own state: admin accounts, API tokens, login counters and the tamper-evident audit log,
//! kept in embedded SQLite (the default) or PostgreSQL.
//!
//! The main type is [`Store`], a cheap-to-clone handle over a connection pool.
//! [`Store::open`] picks the backend from the URL scheme (`sqlite://PATH` or `postgres://...`),
//! applies the migrations embedded in the binary and refuses a database whose schema is newer than
//! the binary knows.
//!
//! - [`audit`]: the append-only, hash-chained audit log ([`Store::audit_append`],
//!   [`Store::audit_verify`], [`Store::audit_export`]).
//! - [`accounts`]: admin users with Argon2id passwords, [`accounts::Role`]s and login lock-out
//!   and per-address login rate limits ([`Store::create_user`], [`Store::login_from`]).
//! - [`tokens`]: API tokens (`pct_...`), shown once and stored as SHA-256
//!   ([`Store::create_token`], [`Store::authenticate_token`]).
//! - [`sessions`]: admin console sessions (cookie secret stored as SHA-256, expiry, idle
//!   timeout, sign-out) ([`Store::create_session`], [`Store::authenticate_session`]).
//! - [`secrets`]: secrets encrypted at rest (envelope encryption with XChaCha20-Poly1305 under a
//!   key-encryption key from a file or the environment) ([`Store::put_secret`],
//!   [`Store::get_secret`], [`Store::rotate_key`]).
//! - [`jobs`]: the durable job queue and recurring schedules ([`Store::enqueue`],
//!   [`Store::claim`], [`jobs::Worker`]).
//! - [`requests`]: data-subject requests as the server receives them: intake with rate limits,
//!   verification by one-time code or magic link, decisions, completion with a downloadable
//!   package, and subject flags ([`Store::create_request`], [`Store::verify_request_code`],
//!   [`Store::decide_request`], [`Store::complete_request`], [`Store::download_package`]).
//! - [`checkpoints`]: an approved erasure's stored plan and the datastores done so far, so that an
//!   interrupted run resumes ([`Store::save_erasure_plan`], [`Store::mark_datastore_done`],
//!   [`Store::erasure_checkpoint`]); deleted when the request completes.
//! - [`extensions`]: a request's deadline extended once, as its law allows, with the reason the
//!   person is told ([`Store::extend_request`]).
//! - [`holds`]: legal holds on a person's records, and the erasures they or statutory retention
//!   defer, stored at completion and run by a `request.deferred` job when the hold is released or
//!   the period ends ([`Store::place_hold`], [`Store::release_hold`], [`Store::complete_erasure`]).
//! - [`execution`]: where a request's execution job stands, and running it again once every
//!   attempt failed ([`Store::retry_request`]).
//! - [`tasks`]: a request's manual tasks, done by people and recorded in the console; the request
//!   completes when the last is done ([`Store::open_tasks`], [`Store::complete_task`]).
//! - [`clock`]: the injectable clock every timestamp comes from.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pactum_store::error::StoreError> {
//! use pactum_store::Store;
//! use pactum_store::accounts::Role;
//! use pactum_store::audit::Actor;
//!
//! let store = Store::open("sqlite:///var/lib/pactum/pactum.db").await?;
//! let user = store
//!     .create_user(&Actor::Cli, "dpo@example.com", "a long passphrase", Role::PrivacyOfficer)
//!     .await?;
//! let report = store.audit_verify().await?;
//! assert!(report.is_intact());
//! # let _ = user;
//! # Ok(())
//! # }
//! ```
//!
//! Invariants:
//! - Every state change appends its audit entry in the same transaction as the change, so a change
//!   without its entry (or the reverse) is never committed.
//! - Appends are serialised (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT ... FOR UPDATE` on the
//!   chain's head row), so the chain never forks.
//! - Audit entries hold internal ids and non-personal details only, never an email address or a
//!   secret; API token secrets and passwords are never stored, only their hashes.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod checkpoints;
pub mod clock;
pub mod error;
pub mod execution;
pub mod extensions;
pub mod holds;
pub mod jobs;
mod migrate;
mod rate_limits;
pub mod requests;
pub mod secrets;
pub mod sessions;
pub mod tasks;
pub mod tokens;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::accounts::{LockoutPolicy, LoginLimits, PasswordParams};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::error::StoreError;

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// How a [`Store`] is opened: pool size, clock, password hashing cost, lock-out policy and login
/// rate limits.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of pooled connections (PostgreSQL and file SQLite; in-memory SQLite uses 1).
    pub max_connections: u32,
    /// Where every timestamp comes from; tests inject a [`clock::ManualClock`].
    pub clock: Arc<dyn Clock>,
    /// Argon2id cost for new password hashes (existing hashes keep the cost they were made with).
    pub password: PasswordParams,
    /// When repeated login failures lock an account out.
    pub lockout: LockoutPolicy,
    /// How many login attempts one client address may make (see [`Store::login_from`]).
    pub login_limits: LoginLimits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            clock: Arc::new(SystemClock),
            password: PasswordParams::RECOMMENDED,
            lockout: LockoutPolicy::default(),
            login_limits: LoginLimits::default(),
        }
    }
}

/// A handle on Pactum's state. Cloning is cheap (the pool and settings are shared), so a web server
/// keeps one in its application state and clones it into each request.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    password: PasswordParams,
    lockout: LockoutPolicy,
    login_limits: LoginLimits,
    /// A hash verified against when a login names no known user, so that both cases cost the same.
    dummy_hash: OnceLock<String>,
}

impl fmt::Debug for Store {
    // Connection options hold the database password: show only the backend.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either backend: a write transaction from [`Store::begin_write`] or a read-only
/// snapshot from [`Store::begin_snapshot`].
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the pool of `$store`, once per backend: the body is
/// type-checked against each concrete pool type, so one SQL text (with `$1` placeholders, which
/// both backends accept) serves both.
macro_rules! with_pool {
    ($store:expr, $conn:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($conn) => $body,
            $crate::Pool::Postgres($conn) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` with `$conn` bound to the connection of the transaction `$tx`, once per
/// backend (see [`with_pool`]). Use `&mut *$conn` as the executor.
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
pub(crate) use with_tx;

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// The SQLite file's name inside a data directory (see [`Store::open_dir`]).
pub const SQLITE_FILE_NAME: &str = "pactum.db";

impl Store {
    /// Opens (creating it and `dir` if missing) the SQLite store `dir/pactum.db`: the default when
    /// no database URL is configured. The path is used as is, never parsed as a URL.
    pub async fn open_dir(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let connect = SqliteConnectOptions::new().filename(dir.join(SQLITE_FILE_NAME));
        let pool = open_sqlite(connect, false, options.max_connections).await?;
        Store::finish_open(Pool::Sqlite(pool), options).await
    }

    /// Opens the store at `url` with default options. See [`Store::open_with`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, StoreOptions::default()).await
    }

    /// Opens the store at `url` and brings its schema up to date.
    ///
    /// `sqlite://PATH` (or `sqlite:PATH`) opens or creates a SQLite file in WAL mode; `sqlite::memory:`
    /// keeps everything in memory on one connection. `postgres://...` (or `postgresql://...`)
    /// connects to PostgreSQL. Fails with [`StoreError::SchemaTooNew`] if the database was migrated
    /// by a newer Pactum than this one.
    #[tracing::instrument(skip_all)]
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        let pool = match scheme {
            "sqlite" => {
                let connect =
                    SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                        backend: Backend::Sqlite,
                        source,
                    })?;
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                Pool::Sqlite(open_sqlite(connect, in_memory, options.max_connections).await?)
            }
            "postgres" | "postgresql" => {
                Pool::Postgres(open_postgres(url, options.max_connections).await?)
            }
            other => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: other.to_owned(),
                });
            }
        };
        Store::finish_open(pool, options).await
    }

    async fn finish_open(pool: Pool, options: StoreOptions) -> Result<Store, StoreError> {
        let store = Store {
            pool,
            inner: Arc::new(Inner {
                clock: options.clock,
                password: options.password,
                lockout: options.lockout,
                login_limits: options.login_limits,
                dummy_hash: OnceLock::new(),
            }),
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The schema version this binary brings the database to (the newest embedded migration).
    pub fn schema_version(&self) -> i64 {
        migrate::latest(self.backend())
    }

    /// Closes every pooled connection; later calls on any clone fail.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// Now, according to the store's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite, so that the write lock is taken
    /// before anything is read and concurrent writers wait (up to the busy timeout) instead of
    /// failing on a lock upgrade.
    pub(crate) async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Begins a read-only transaction that sees one consistent snapshot of the database (SQLite in
    /// WAL mode gives every read transaction a snapshot; PostgreSQL needs REPEATABLE READ).
    pub(crate) async fn begin_snapshot(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }
}

async fn open_sqlite(
    options: SqliteConnectOptions,
    in_memory: bool,
    max_connections: u32,
) -> Result<SqlitePool, StoreError> {
    let connect = |source| StoreError::Connect {
        backend: Backend::Sqlite,
        source,
    };
    let mut options = options
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if !in_memory {
        options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
    }
    let pool_options = if in_memory {
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(max_connections.max(1))
    };
    // Turning a new file to WAL needs a moment alone with it, and SQLite answers "database is
    // locked" at once (the busy timeout does not cover that step) when several processes or tasks
    // open the same new store together. Such a race resolves in milliseconds: retry briefly.
    let mut attempt: u32 = 0;
    loop {
        match pool_options.clone().connect_with(options.clone()).await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("5") && attempt < 40 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt.min(8)))).await;
            }
            other => return other.map_err(connect),
        }
    }
}

async fn open_postgres(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    let connect = |source| StoreError::Connect {
        backend: Backend::Postgres,
        source,
    };
    let options = PgConnectOptions::from_str(url).map_err(connect)?;
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A web server runs store calls inside `Send` futures on a multi-threaded runtime: this only
    /// has to compile.
    #[allow(dead_code)]
    fn store_and_its_futures_are_send(store: Store, out: &mut (dyn std::io::Write + Send)) {
        fn send<T: Send + Sync + Clone + 'static>(_: &T) {}
        fn send_future<T: Send>(_: T) {}
        send(&store);
        let actor = audit::Actor::System;
        send_future(store.login("", ""));
        send_future(store.login_from("", "", Some("192.0.2.1")));
        send_future(store.user(1));
        send_future(store.list_users());
        send_future(store.create_user(&actor, "", "", accounts::Role::Owner));
        send_future(store.authenticate_token(""));
        let new = tokens::NewToken {
            name: String::new(),
            roles: Vec::new(),
            expires_at: None,
        };
        send_future(store.create_token(&actor, &new));
        send_future(store.revoke_token(&actor, 1));
        send_future(store.list_tokens());
        let entry = audit::NewEntry::new(actor, "x", None);
        send_future(store.audit_append(&entry));
        send_future(store.audit_entries(0, 1));
        send_future(store.audit_head());
        send_future(store.audit_verify());
        send_future(store.audit_export(out));
        let kek = secrets::Kek::generate().expect("random");
        let value = secrets::SecretValue::from("x");
        send_future(store.put_secret(&actor, &kek, "x", &value));
        send_future(store.get_secret(&actor, &kek, "x"));
        send_future(store.list_secrets());
        send_future(store.delete_secret(&actor, "x"));
        send_future(store.rotate_key(&actor, &kek, &kek));

        let limits = requests::RateLimits::default();
        let new = requests::NewRequest {
            kind: requests::RequestKind::Access,
            regimes: Vec::new(),
            identity_kind: String::new(),
            identity_value: String::new(),
            channel: requests::Channel::PrivacyCentre,
            details: None,
            corrections: Default::default(),
            deadline: requests::Deadline {
                received_on: String::new(),
                acknowledge_by: None,
                legal_due: String::new(),
                extended_due: None,
                promised_due: None,
                due_on: String::new(),
                regime: String::new(),
            },
            client_ip: None,
        };
        send_future(store.create_request(&actor, &new, &limits));
        send_future(store.resend_verification("", &limits));
        send_future(store.verify_request_code("", "", None, &limits));
        send_future(store.verify_request_link(""));
        send_future(store.request_by_public_id(""));
        send_future(store.request(1));
        send_future(store.list_requests(true, 1));
        send_future(store.decide_request(&actor, 1, &requests::Decision::Approve));
        let completion = requests::Completion {
            outcome: serde_json::Value::Null,
            package: None,
            package_lifetime: Duration::ZERO,
        };
        send_future(store.complete_request(&actor, 1, &completion));
        send_future(store.complete_opt_out(&actor, 1));
        send_future(store.download_package(""));
        send_future(store.subject_flags("", ""));
        send_future(store.purge_expired_packages());
        send_future(store.purge_rate_limits());
        send_future(store.save_erasure_plan(&actor, 1, &serde_json::Value::Null));
        send_future(store.erasure_checkpoint(1));
        send_future(store.mark_datastore_done(&actor, 1, "x", &serde_json::Value::Null));
    }

    /// A job handler completes a request inside the job's transaction: this only has to compile.
    #[allow(dead_code)]
    async fn completion_in_a_job_transaction_is_send(store: Store) {
        fn send_future<T: Send>(_: T) {}
        let completion = requests::Completion {
            outcome: serde_json::Value::Null,
            package: None,
            package_lifetime: Duration::ZERO,
        };
        if let Ok(mut tx) = store.transaction().await {
            send_future(store.complete_request_in(&mut tx, &audit::Actor::System, 1, &completion));
        }
    }
}
