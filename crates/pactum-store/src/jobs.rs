//! The durable job queue: jobs kept in the store (no external broker), claimed under leases with
//! heartbeats, retried with exponential backoff and jitter, and recurring schedules on top.
//!
//! - [`NewJob`] is enqueued with [`Store::enqueue`], or with [`Transaction::enqueue`] inside the
//!   same transaction as the state change that needs it (and its audit entry, through
//!   [`Transaction::audit_append`]): the change and its job are committed together or not at all.
//! - A worker claims a job with [`Store::claim`] and gets a [`ClaimedJob`] with a lease, extends the
//!   lease with [`Store::heartbeat`] while it works, and finishes with [`Store::complete`] (or
//!   [`Transaction::complete`], to commit the job's effects and its completion atomically) or
//!   [`Store::fail`] (retried after a backoff until `max_attempts`, then `dead`).
//! - [`Worker`] does all of that in a loop on tokio, with a heartbeat beside the handler and a
//!   graceful stop on a [`CancellationToken`].
//! - [`NewSchedule`]s enqueue one job per interval ([`Store::run_due_schedules`], looped by
//!   [`run_scheduler`]), exactly once per slot however many instances run the scheduler.
//!
//! ```no_run
//! # async fn demo(store: pactum_store::Store) -> Result<(), pactum_store::error::StoreError> {
//! use std::time::Duration;
//! use pactum_store::jobs::{NewJob, Worker, WorkerConfig};
//! use serde_json::json;
//! use tokio_util::sync::CancellationToken;
//!
//! store.enqueue(&NewJob::new("erasure.run", json!({ "request": 42 })).with_key("erasure:42")).await?;
//!
//! let worker = Worker::new(store.clone(), WorkerConfig::new(&["erasure.run"]));
//! let shutdown = CancellationToken::new();
//! worker
//!     .run(|job| async move {
//!         // Do the work idempotently: it may run again after a crash.
//!         let _request = job.payload["request"].as_i64();
//!         Ok(())
//!     }, shutdown)
//!     .await;
//! # Ok(())
//! # }
//! ```
//!
//! The contract (see `docs/jobs.md`):
//! - **At least once.** A job whose worker dies mid-job is claimed again once its lease expires, so
//!   a job may *run* more than once. Handlers must be idempotent: check before acting, use keys,
//!   make each step safe to repeat.
//! - **Completed once.** Only the current claim can complete or fail a job (each claim is
//!   identified by the job's attempt number), so a worker that lost its lease cannot overwrite the
//!   outcome of the worker that took over. A handler that commits its effects with
//!   [`Transaction::complete`] gets its effects recorded exactly once.
//! - **Never lost.** A job leaves the queue only as `done` or `dead`.
//!
//! Invariants:
//! - A job's `attempts` grows by one at each claim and never otherwise; `(id, attempts)` names
//!   one claim. (The claim that finds the lease of the last attempt expired counts too, so a
//!   job that died that way shows one attempt more than `max_attempts`.)
//! - Claims are serialised per job: PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED`, SQLite
//!   `UPDATE ... RETURNING` inside `BEGIN IMMEDIATE`. Two claimers never hold the same job.
//! - Payloads and error texts hold internal ids, never personal data or secrets.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::audit::{Entry, NewEntry, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Backend, Store, Tx, with_pool, with_tx};

/// Attempts a job gets unless [`NewJob::with_max_attempts`] says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Longest stored error text, in characters; longer texts are cut.
const MAX_ERROR_CHARS: usize = 2000;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its `run_at`, never tried.
    Queued,
    /// Claimed by a worker under a lease (claimable again once the lease expires).
    Running,
    /// Completed.
    Done,
    /// The last attempt failed; waiting for its retry at `run_at`.
    Failed,
    /// Every attempt failed (or the lease expired on the last one): never tried again.
    Dead,
}

impl JobStatus {
    /// The stored name: `queued`, `running`, `done`, `failed` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Dead => "dead",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<JobStatus, ()> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
            JobStatus::Dead,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or(())
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to do: lowercase dotted words (`a-z`, `0-9`, `_`, `.`), e.g. `retention.sweep`.
    pub kind: String,
    /// Parameters as JSON: internal ids, never personal data.
    pub payload: serde_json::Value,
    /// Not before this instant; `None` means now.
    pub run_at: Option<Timestamp>,
    /// Claims before the job is `dead` (at least 1).
    pub max_attempts: u32,
    /// A key naming the work: enqueueing a job whose key is taken returns the existing job.
    pub idempotency_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload`, to run now, with [`DEFAULT_MAX_ATTEMPTS`] and no key.
    pub fn new(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_owned(),
            payload,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            idempotency_key: None,
        }
    }

    /// This job with idempotency key `key`.
    pub fn with_key(mut self, key: &str) -> NewJob {
        self.idempotency_key = Some(key.to_owned());
        self
    }

    /// This job, not to run before `at`.
    pub fn run_at(mut self, at: Timestamp) -> NewJob {
        self.run_at = Some(at);
        self
    }

    /// This job with at most `attempts` claims.
    pub fn with_max_attempts(mut self, attempts: u32) -> NewJob {
        self.max_attempts = attempts;
        self
    }

    fn validate(&self) -> Result<(), StoreError> {
        validate_kind(&self.kind)?;
        if self.max_attempts == 0 {
            return Err(StoreError::InvalidJob("max_attempts must be at least 1"));
        }
        if let Some(key) = &self.idempotency_key
            && (key.is_empty() || key.len() > 200 || key.contains(char::is_control))
        {
            return Err(StoreError::InvalidJob(
                "the idempotency key must be 1 to 200 printable characters",
            ));
        }
        Ok(())
    }
}

fn validate_kind(kind: &str) -> Result<(), StoreError> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidJob(
            "the kind must be 1 to 64 of a-z, 0-9, `_` and `.`",
        ))
    }
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// The job's id: the new job's, or the existing job's when the key was taken.
    pub id: i64,
    /// Whether a new job was created (false: a job with the same idempotency key existed).
    pub created: bool,
}

/// A job as stored: for inspection and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Internal id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Parameters.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Not before this instant (the next retry for a failed job).
    pub run_at: Timestamp,
    /// Claims so far.
    pub attempts: i64,
    /// Claims allowed.
    pub max_attempts: i64,
    /// The worker holding (or that last held) the lease.
    pub locked_by: Option<String>,
    /// When the lease expires (running jobs only).
    pub locked_until: Option<Timestamp>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it became `done` or `dead`.
    pub finished_at: Option<Timestamp>,
}

/// A job claimed by a worker: the work to do and the claim that proves the right to finish it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// Internal id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Parameters.
    pub payload: serde_json::Value,
    /// This claim's number, from 1: above 1 the job ran (at least partly) before.
    pub attempt: i64,
    /// Claims allowed.
    pub max_attempts: i64,
    /// The worker holding the lease.
    pub worker: String,
    /// When the lease expires unless extended by [`Store::heartbeat`].
    pub locked_until: Timestamp,
    /// The idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
}

/// How long a failed job waits before its retry: exponential in the attempt number, capped, with
/// "equal jitter" (a random point in the upper half of the window) so retries of many jobs that
/// failed together spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The window after the first failed attempt.
    pub base: Duration,
    /// The largest window.
    pub max: Duration,
}

impl Backoff {
    /// 10 seconds after the first failure, doubling, at most one hour.
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(3600),
    };

    /// The window after failed attempt `attempt` (from 1): `min(base * 2^(attempt-1), max)`.
    pub fn window(&self, attempt: i64) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
        self.base
            .checked_mul(2u32.saturating_pow(doublings))
            .map_or(self.max, |w| w.min(self.max))
    }

    /// The delay after failed attempt `attempt` for a random `jitter` in `[0, 1]`: between half
    /// the window and the whole window.
    pub fn delay(&self, attempt: i64, jitter: f64) -> Duration {
        let window = self.window(attempt);
        window / 2 + (window / 2).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::DEFAULT
    }
}

/// A random number in `[0, 1]` for jitter. Not security relevant: a failing random source gives
/// the middle of the range.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}

/// A connection of either backend, borrowed from a [`Transaction`]: for SQL of other modules or
/// crates that must commit together with jobs and audit entries.
pub enum Connection<'a> {
    /// A SQLite connection.
    Sqlite(&'a mut sqlx::SqliteConnection),
    /// A PostgreSQL connection.
    Postgres(&'a mut sqlx::PgConnection),
}

/// A write transaction: state changes, the jobs they need and their audit entries, committed
/// together by [`Transaction::commit`] or not at all (dropping it rolls back).
///
/// On SQLite it holds the database write lock from the start (`BEGIN IMMEDIATE`), so keep it short:
/// no network calls inside.
pub struct Transaction {
    // Crate-visible so that other store modules can offer `..._in(&mut Transaction)` state
    // changes that commit with jobs and audit entries.
    pub(crate) tx: Tx,
    pub(crate) now: Timestamp,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("backend", &self.tx.backend())
            .field("now", &self.now)
            .finish()
    }
}

impl Transaction {
    /// The instant this transaction began (by the store's clock): every timestamp it writes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Which database this transaction runs on.
    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }

    /// The transaction's connection, for SQL of the caller's own (with `$1` placeholders, which
    /// both backends accept).
    pub fn connection(&mut self) -> Connection<'_> {
        match &mut self.tx {
            Tx::Sqlite(t) => Connection::Sqlite(&mut *t),
            Tx::Postgres(t) => Connection::Postgres(&mut *t),
        }
    }

    /// Enqueues `job` in this transaction: it exists only if the transaction commits.
    pub async fn enqueue(&mut self, job: &NewJob) -> Result<Enqueued, StoreError> {
        enqueue_in(&mut self.tx, self.now, job).await
    }

    /// Appends an audit entry in this transaction.
    pub async fn audit_append(&mut self, entry: &NewEntry) -> Result<Entry, StoreError> {
        append_in(&mut self.tx, self.now, entry).await
    }

    /// Marks `job` done in this transaction, so that the handler's effects written here and the
    /// completion commit together. Fails with [`StoreError::LeaseLost`] if this claim no longer
    /// holds the job; then roll back.
    pub async fn complete(&mut self, job: &ClaimedJob) -> Result<(), StoreError> {
        complete_in(&mut self.tx, self.now, job).await
    }

    /// Commits everything done in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await
    }

    /// Discards everything done in this transaction (as dropping it does).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

const JOB_COLUMNS: &str = "id, kind, payload, status, run_at, attempts, max_attempts, locked_by, \
     locked_until, last_error, idempotency_key, created_at, finished_at";

fn corrupt(id: i64, what: String) -> StoreError {
    StoreError::Corrupt {
        table: "jobs",
        id,
        what,
    }
}

fn parse_payload(id: i64, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(id, format!("payload is not JSON: {e}")))
}

fn job_from_row<R: Row>(row: &R) -> Result<Job, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get(0)?;
    let payload: String = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    Ok(Job {
        id,
        kind: row.try_get(1)?,
        payload: parse_payload(id, &payload)?,
        status: status
            .parse()
            .map_err(|()| corrupt(id, format!("unknown status {status:?}")))?,
        run_at: Timestamp::from_millis(row.try_get(4)?),
        attempts: row.try_get(5)?,
        max_attempts: row.try_get(6)?,
        locked_by: row.try_get(7)?,
        locked_until: row
            .try_get::<Option<i64>, _>(8)?
            .map(Timestamp::from_millis),
        last_error: row.try_get(9)?,
        idempotency_key: row.try_get(10)?,
        created_at: Timestamp::from_millis(row.try_get(11)?),
        finished_at: row
            .try_get::<Option<i64>, _>(12)?
            .map(Timestamp::from_millis),
    })
}

/// Inserts `job` unless its idempotency key is taken; returns the job's id either way.
async fn enqueue_in(tx: &mut Tx, now: Timestamp, job: &NewJob) -> Result<Enqueued, StoreError> {
    job.validate()?;
    let payload = serde_json::to_string(&job.payload)
        .map_err(|_| StoreError::InvalidJob("the payload cannot be serialised"))?;
    let run_at = job.run_at.unwrap_or(now).as_millis();
    with_tx!(tx, conn => {
        // ON CONFLICT DO NOTHING: a concurrent enqueue of the same key waits for the other
        // transaction and then inserts nothing, instead of failing.
        let inserted = sqlx::query(
            "INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, \
             idempotency_key, created_at) VALUES ($1, $2, 'queued', $3, 0, $4, $5, $6) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&job.kind)
        .bind(&payload)
        .bind(run_at)
        .bind(i64::from(job.max_attempts))
        .bind(&job.idempotency_key)
        .bind(now.as_millis())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = inserted {
            return Ok(Enqueued { id: row.try_get(0)?, created: true });
        }
        let existing = sqlx::query("SELECT id FROM jobs WHERE idempotency_key = $1")
            .bind(&job.idempotency_key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Enqueued { id: existing.try_get(0)?, created: false })
    })
}

/// Why an update guarded by a claim matched no row: the claim finished the job already (`Ok`), or
/// the lease is gone.
async fn check_claim(tx: &mut Tx, job: &ClaimedJob, done_ok: bool) -> Result<(), StoreError> {
    let row = with_tx!(tx, conn => {
        sqlx::query("SELECT status, locked_by, attempts FROM jobs WHERE id = $1")
            .bind(job.id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| -> Result<(String, Option<String>, i64), sqlx::Error> {
                Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
            })
            .transpose()?
    });
    match row {
        Some((status, Some(worker), attempts))
            if done_ok && status == "done" && worker == job.worker && attempts == job.attempt =>
        {
            Ok(())
        }
        _ => Err(StoreError::LeaseLost { id: job.id }),
    }
}

async fn complete_in(tx: &mut Tx, now: Timestamp, job: &ClaimedJob) -> Result<(), StoreError> {
    let updated = with_tx!(tx, conn => {
        sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = NULL \
             WHERE id = $2 AND status = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(now.as_millis())
        .bind(job.id)
        .bind(&job.worker)
        .bind(job.attempt)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    if updated == 1 {
        Ok(())
    } else {
        // Completing twice with the same claim (a handler that completed in its own transaction,
        // then the worker) is fine; anything else means the lease was lost.
        check_claim(tx, job, true).await
    }
}

/// The claim statement: marks the oldest claimable job of the given kinds running under a new
/// lease. `$1` worker, `$2` lease end, `$3` now, `$4` the kinds as a JSON array.
const CLAIM_SQLITE: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
     locked_by = $1, locked_until = $2 \
     WHERE id = (SELECT id FROM jobs \
         WHERE kind IN (SELECT value FROM json_each($4)) \
         AND ((status IN ('queued', 'failed') AND run_at <= $3) \
              OR (status = 'running' AND locked_until <= $3)) \
         ORDER BY run_at, id LIMIT 1) \
     RETURNING id, kind, payload, attempts, max_attempts, idempotency_key, created_at";

// SKIP LOCKED: concurrent claimers pass over rows another transaction is claiming instead of
// waiting for it; a row claimed and committed meanwhile is re-checked against the WHERE clause
// and skipped, so two claimers never get the same job.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
     locked_by = $1, locked_until = $2 \
     WHERE id = (SELECT id FROM jobs \
         WHERE kind IN (SELECT jsonb_array_elements_text($4::jsonb)) \
         AND ((status IN ('queued', 'failed') AND run_at <= $3) \
              OR (status = 'running' AND locked_until <= $3)) \
         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, payload, attempts, max_attempts, idempotency_key, created_at";

/// A recurring schedule to create or update.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    /// A unique name: 1 to 64 of `a-z`, `0-9`, `_`, `-` and `.`.
    pub name: String,
    /// The kind of the jobs it enqueues.
    pub kind: String,
    /// The payload of the jobs it enqueues.
    pub payload: serde_json::Value,
    /// Time between runs (whole seconds, at least one).
    pub interval: Duration,
    /// Attempts each enqueued job gets.
    pub max_attempts: u32,
    /// The first slot, for a new schedule; `None` means now. An existing schedule keeps its slot.
    pub first_run_at: Option<Timestamp>,
}

impl NewSchedule {
    /// A schedule `name` enqueueing `kind` with `payload` every `interval`, starting now.
    pub fn new(
        name: &str,
        kind: &str,
        payload: serde_json::Value,
        interval: Duration,
    ) -> NewSchedule {
        NewSchedule {
            name: name.to_owned(),
            kind: kind.to_owned(),
            payload,
            interval,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            first_run_at: None,
        }
    }

    /// This schedule with its first slot at `at` (if it is new).
    pub fn first_run_at(mut self, at: Timestamp) -> NewSchedule {
        self.first_run_at = Some(at);
        self
    }

    fn validate(&self) -> Result<(), StoreError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            });
        if !name_ok {
            return Err(StoreError::InvalidJob(
                "the schedule name must be 1 to 64 of a-z, 0-9, `_`, `-` and `.`",
            ));
        }
        validate_kind(&self.kind)?;
        if self.interval.as_secs() == 0 {
            return Err(StoreError::InvalidJob(
                "the schedule interval must be at least one second",
            ));
        }
        if self.max_attempts == 0 {
            return Err(StoreError::InvalidJob("max_attempts must be at least 1"));
        }
        Ok(())
    }
}

/// A recurring schedule as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// Its unique name.
    pub name: String,
    /// The kind of the jobs it enqueues.
    pub kind: String,
    /// The payload of the jobs it enqueues.
    pub payload: serde_json::Value,
    /// Whole seconds between slots.
    pub interval_seconds: i64,
    /// Attempts each enqueued job gets.
    pub max_attempts: i64,
    /// The next slot: the scheduler enqueues a job for it once it has come.
    pub next_run_at: Timestamp,
}

impl Schedule {
    /// The idempotency key of the job for the slot at `slot`: `schedule:NAME:MILLIS`.
    pub fn slot_key(&self, slot: Timestamp) -> String {
        format!("schedule:{}:{}", self.name, slot.as_millis())
    }

    /// The first slot after `now`, on the grid `next_run_at + k * interval`. Missed slots are
    /// skipped: a scheduler that was down for a day enqueues one catch-up run, not a backlog.
    pub fn slot_after(&self, now: Timestamp) -> Timestamp {
        let interval = self.interval_seconds.max(1).saturating_mul(1000);
        let slot = self.next_run_at.as_millis();
        if slot > now.as_millis() {
            return self.next_run_at;
        }
        let missed = (now.as_millis() - slot) / interval + 1;
        Timestamp::from_millis(slot.saturating_add(missed.saturating_mul(interval)))
    }
}

const SCHEDULE_COLUMNS: &str = "name, kind, payload, interval_seconds, max_attempts, next_run_at";

fn schedule_from_row<R: Row>(row: &R) -> Result<Schedule, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let payload: String = row.try_get(2)?;
    let name: String = row.try_get(0)?;
    Ok(Schedule {
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
            table: "schedules",
            id: 0,
            what: format!("schedule {name:?}: payload is not JSON: {e}"),
        })?,
        name,
        kind: row.try_get(1)?,
        interval_seconds: row.try_get(3)?,
        max_attempts: row.try_get(4)?,
        next_run_at: Timestamp::from_millis(row.try_get(5)?),
    })
}

/// How many jobs are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Waiting for their first attempt.
    pub queued: i64,
    /// Claimed under a lease.
    pub running: i64,
    /// Completed.
    pub done: i64,
    /// Waiting for a retry.
    pub failed: i64,
    /// Given up.
    pub dead: i64,
}

impl Store {
    /// Begins a [`Transaction`] in which state changes, jobs and audit entries commit together.
    pub async fn transaction(&self) -> Result<Transaction, StoreError> {
        Ok(Transaction {
            tx: self.begin_write().await?,
            now: self.now(),
        })
    }

    /// Enqueues `job` in its own transaction. If its idempotency key is taken, nothing is inserted
    /// and the existing job's id is returned with `created: false`.
    #[tracing::instrument(skip_all, fields(kind = %job.kind))]
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let mut tx = self.transaction().await?;
        let enqueued = tx.enqueue(job).await?;
        tx.commit().await?;
        Ok(enqueued)
    }

    /// Claims the oldest claimable job whose kind is one of `kinds` for `worker`, under a lease
    /// of `lease` from now; `None` when there is none. Claimable: queued or failed with `run_at`
    /// come, or running with an expired lease (its worker stopped or crashed).
    ///
    /// A job whose lease expired on its last allowed attempt is marked `dead` instead of being
    /// handed out again, so a job that crashes its worker every time does not loop forever.
    #[tracing::instrument(skip_all, fields(worker = %worker))]
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let kinds_json = serde_json::to_string(kinds)
            .map_err(|_| StoreError::InvalidJob("the kinds cannot be serialised"))?;
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        loop {
            let now = self.now();
            let locked_until = now.plus(lease);
            let mut tx = self.begin_write().await?;
            let row = with_tx!(&mut tx, conn => {
                sqlx::query(sql)
                    .bind(worker)
                    .bind(locked_until.as_millis())
                    .bind(now.as_millis())
                    .bind(&kinds_json)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|row| -> Result<_, sqlx::Error> {
                        Ok((
                            row.try_get::<i64, _>(0)?,
                            row.try_get::<String, _>(1)?,
                            row.try_get::<String, _>(2)?,
                            row.try_get::<i64, _>(3)?,
                            row.try_get::<i64, _>(4)?,
                            row.try_get::<Option<String>, _>(5)?,
                            row.try_get::<i64, _>(6)?,
                        ))
                    })
                    .transpose()?
            });
            let Some((id, kind, payload, attempt, max_attempts, key, created_at)) = row else {
                tx.commit().await?;
                return Ok(None);
            };
            if attempt > max_attempts {
                // Only an expired lease gets here (a failed last attempt is already dead).
                with_tx!(&mut tx, conn => {
                    sqlx::query(
                        "UPDATE jobs SET status = 'dead', finished_at = $1, locked_until = NULL, \
                         last_error = 'the lease expired during the last attempt' WHERE id = $2",
                    )
                    .bind(now.as_millis())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                });
                tx.commit().await?;
                tracing::warn!(
                    job = id,
                    "job is dead: its lease expired on the last attempt"
                );
                continue;
            }
            tx.commit().await?;
            return Ok(Some(ClaimedJob {
                id,
                kind,
                payload: parse_payload(id, &payload)?,
                attempt,
                max_attempts,
                worker: worker.to_owned(),
                locked_until,
                idempotency_key: key,
                created_at: Timestamp::from_millis(created_at),
            }));
        }
    }

    /// Extends the lease on `job` to `lease` from now and returns the new expiry. Fails with
    /// [`StoreError::LeaseLost`] if another worker has claimed the job since (the caller must
    /// stop) or it is no longer running.
    #[tracing::instrument(skip_all, fields(job = job.id))]
    pub async fn heartbeat(
        &self,
        job: &ClaimedJob,
        lease: Duration,
    ) -> Result<Timestamp, StoreError> {
        let until = self.now().plus(lease);
        let updated = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET locked_until = $1 \
                 WHERE id = $2 AND status = 'running' AND locked_by = $3 AND attempts = $4",
            )
            .bind(until.as_millis())
            .bind(job.id)
            .bind(&job.worker)
            .bind(job.attempt)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 1 {
            Ok(until)
        } else {
            Err(StoreError::LeaseLost { id: job.id })
        }
    }

    /// Marks `job` done. Fails with [`StoreError::LeaseLost`] if another worker has claimed it
    /// since; completing again with the same claim is a no-op.
    #[tracing::instrument(skip_all, fields(job = job.id))]
    pub async fn complete(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let mut tx = self.transaction().await?;
        tx.complete(job).await?;
        tx.commit().await
    }

    /// Records a failed attempt with [`Backoff::DEFAULT`]. See [`Store::fail_with`].
    pub async fn fail(&self, job: &ClaimedJob, error: &str) -> Result<JobStatus, StoreError> {
        self.fail_with(job, error, &Backoff::DEFAULT).await
    }

    /// Records a failed attempt of `job` with `error` (internal ids only, no personal data; cut
    /// to 2,000 characters): the job is `failed` and retried after `backoff`, or `dead` if this
    /// was its last attempt. Returns the new status; fails with [`StoreError::LeaseLost`] if
    /// another worker has claimed the job since.
    #[tracing::instrument(skip_all, fields(job = job.id))]
    pub async fn fail_with(
        &self,
        job: &ClaimedJob,
        error: &str,
        backoff: &Backoff,
    ) -> Result<JobStatus, StoreError> {
        let now = self.now();
        let retry_at = now.plus(backoff.delay(job.attempt, jitter()));
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let mut tx = self.begin_write().await?;
        let status = with_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE jobs SET \
                     status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END, \
                     finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
                     run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE $2 END, \
                     locked_until = NULL, last_error = $3 \
                 WHERE id = $4 AND status = 'running' AND locked_by = $5 AND attempts = $6 \
                 RETURNING status",
            )
            .bind(now.as_millis())
            .bind(retry_at.as_millis())
            .bind(&error)
            .bind(job.id)
            .bind(&job.worker)
            .bind(job.attempt)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get::<String, _>(0))
            .transpose()?
        });
        let Some(status) = status else {
            return Err(StoreError::LeaseLost { id: job.id });
        };
        tx.commit().await?;
        status
            .parse()
            .map_err(|()| corrupt(job.id, format!("unknown status {status:?}")))
    }

    /// The job with id `id`.
    pub async fn job(&self, id: i64) -> Result<Job, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"));
        with_pool!(self, pool => {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(row) => job_from_row(&row),
                None => Err(StoreError::NotFound { kind: "job", id }),
            }
        })
    }

    /// Up to `limit` jobs with id greater than `after_id`, in id order: for paging through the
    /// queue.
    pub async fn jobs(&self, after_id: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id > $1 ORDER BY id LIMIT $2"
        ));
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(after_id).bind(limit).fetch_all(pool).await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// How many jobs are in each status: for metrics and for waiting on the queue in tests.
    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        let mut counts = JobCounts::default();
        for (status, n) in rows {
            match status.parse() {
                Ok(JobStatus::Queued) => counts.queued = n,
                Ok(JobStatus::Running) => counts.running = n,
                Ok(JobStatus::Done) => counts.done = n,
                Ok(JobStatus::Failed) => counts.failed = n,
                Ok(JobStatus::Dead) => counts.dead = n,
                Err(()) => return Err(corrupt(0, format!("unknown status {status:?}"))),
            }
        }
        Ok(counts)
    }

    /// Deletes `done` and `dead` jobs that finished before `before` and returns how many. Their
    /// idempotency keys become free again, so keep finished jobs longer than a key is reused.
    #[tracing::instrument(skip_all)]
    pub async fn purge_finished_jobs(&self, before: Timestamp) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query(
                "DELETE FROM jobs WHERE status IN ('done', 'dead') AND finished_at < $1",
            )
            .bind(before.as_millis())
            .execute(pool)
            .await?
            .rows_affected())
        })
    }

    /// Creates the schedule `schedule.name`, or updates its kind, payload, interval and attempts
    /// (keeping its next slot), and returns it as stored.
    #[tracing::instrument(skip_all, fields(schedule = %schedule.name))]
    pub async fn put_schedule(&self, schedule: &NewSchedule) -> Result<Schedule, StoreError> {
        schedule.validate()?;
        let payload = serde_json::to_string(&schedule.payload)
            .map_err(|_| StoreError::InvalidJob("the payload cannot be serialised"))?;
        let first = schedule.first_run_at.unwrap_or_else(|| self.now());
        let interval = i64::try_from(schedule.interval.as_secs()).unwrap_or(i64::MAX);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, \
             interval_seconds = excluded.interval_seconds, max_attempts = excluded.max_attempts \
             RETURNING {SCHEDULE_COLUMNS}"
        ));
        with_pool!(self, pool => {
            let row = sqlx::query(sql)
                .bind(&schedule.name)
                .bind(&schedule.kind)
                .bind(&payload)
                .bind(interval)
                .bind(i64::from(schedule.max_attempts))
                .bind(first.as_millis())
                .fetch_one(pool)
                .await?;
            schedule_from_row(&row)
        })
    }

    /// Deletes the schedule `name`; returns whether it existed. Jobs it enqueued stay.
    pub async fn delete_schedule(&self, name: &str) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query("DELETE FROM schedules WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
                == 1)
        })
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
        ));
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(schedule_from_row).collect()
        })
    }

    /// The schedules whose next slot has come, by name.
    pub async fn due_schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at <= $1 ORDER BY name"
        ));
        let now = self.now().as_millis();
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(now).fetch_all(pool).await?;
            rows.iter().map(schedule_from_row).collect()
        })
    }

    /// The scheduler step: for each due schedule, enqueues the job for its slot (run at the slot,
    /// idempotency key [`Schedule::slot_key`]) and moves the schedule to its next slot after now,
    /// all in one transaction. Returns what was enqueued (`created: false` for a slot another
    /// instance enqueued already).
    ///
    /// Exactly once per slot with any number of instances: the schedule rows are locked
    /// (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's write lock), and even an instance acting
    /// on a stale read finds the slot's key taken.
    #[tracing::instrument(skip_all)]
    pub async fn run_due_schedules(&self) -> Result<Vec<Enqueued>, StoreError> {
        let mut tx = self.transaction().await?;
        let now = tx.now();
        let select = match self.backend() {
            Backend::Sqlite => format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at <= $1 ORDER BY name"
            ),
            Backend::Postgres => format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at <= $1 ORDER BY name \
                 FOR UPDATE SKIP LOCKED"
            ),
        };
        let due: Vec<Schedule> = with_tx!(&mut tx.tx, conn => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(now.as_millis())
                .fetch_all(&mut *conn)
                .await?;
            rows.iter().map(schedule_from_row).collect::<Result<_, _>>()?
        });
        let mut enqueued = Vec::with_capacity(due.len());
        for schedule in &due {
            let slot = schedule.next_run_at;
            let job = NewJob {
                kind: schedule.kind.clone(),
                payload: schedule.payload.clone(),
                run_at: Some(slot),
                max_attempts: u32::try_from(schedule.max_attempts).unwrap_or(DEFAULT_MAX_ATTEMPTS),
                idempotency_key: Some(schedule.slot_key(slot)),
            };
            enqueued.push(tx.enqueue(&job).await?);
            let next = schedule.slot_after(now);
            with_tx!(&mut tx.tx, conn => {
                sqlx::query(
                    "UPDATE schedules SET next_run_at = $1 WHERE name = $2 AND next_run_at = $3",
                )
                .bind(next.as_millis())
                .bind(&schedule.name)
                .bind(slot.as_millis())
                .execute(&mut *conn)
                .await?;
            });
            tracing::debug!(schedule = %schedule.name, slot = %slot, next = %next, "schedule ran");
        }
        tx.commit().await?;
        Ok(enqueued)
    }
}

/// How a [`Worker`] claims and runs jobs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in `locked_by`: unique per worker (the default has the process id and a
    /// random part).
    pub id: String,
    /// The kinds of job it runs.
    pub kinds: Vec<String>,
    /// How long a claim holds without a heartbeat: after a crash, the job waits this long.
    pub lease: Duration,
    /// How often the lease is extended while the handler runs (well under `lease`).
    pub heartbeat: Duration,
    /// How long to wait when the queue is empty or the store is unreachable.
    pub poll: Duration,
    /// Retry delays after failed attempts.
    pub backoff: Backoff,
}

impl WorkerConfig {
    /// A worker for `kinds` with a fresh id, a 60 s lease, a 20 s heartbeat and a 1 s poll.
    pub fn new(kinds: &[&str]) -> WorkerConfig {
        WorkerConfig {
            id: default_worker_id(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(20),
            poll: Duration::from_secs(1),
            backoff: Backoff::DEFAULT,
        }
    }
}

/// `worker-PID-RANDOM`: distinct across processes and across workers of one process.
fn default_worker_id() -> String {
    let random = getrandom::u64().unwrap_or(0);
    format!("worker-{}-{:08x}", std::process::id(), random & 0xffff_ffff)
}

/// What happened to one claimed job in [`Worker::run_one`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The queue had no claimable job.
    Idle,
    /// The job completed.
    Completed(i64),
    /// The handler failed; the job is retried later or dead.
    Failed(i64, JobStatus),
    /// The lease was lost (another worker claimed the job); the handler was cancelled or its
    /// result discarded.
    LeaseLost(i64),
}

/// Claims jobs of its kinds one at a time and runs a handler on each, extending the lease beside
/// it. Run several workers (or processes) for parallelism.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    config: WorkerConfig,
}

impl Worker {
    /// A worker on `store`.
    pub fn new(store: Store, config: WorkerConfig) -> Worker {
        Worker { store, config }
    }

    /// This worker's configuration.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Runs jobs until `shutdown` is cancelled. A job already running when it is cancelled is
    /// finished first (its lease keeps being extended), so a graceful stop loses no work; a
    /// process killed outright leaves its job to be claimed again when the lease expires.
    ///
    /// Store errors are logged and retried after `poll`; they never end the loop.
    pub async fn run<F, Fut>(&self, handler: F, shutdown: CancellationToken)
    where
        F: Fn(ClaimedJob) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        tracing::info!(worker = %self.config.id, "job worker started");
        while !shutdown.is_cancelled() {
            let idle = match self.run_one(&handler).await {
                Ok(RunOutcome::Idle) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(worker = %self.config.id, error = %e, "job worker: store error");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(self.config.poll) => {}
                }
            }
        }
        tracing::info!(worker = %self.config.id, "job worker stopped");
    }

    /// Claims one job and runs `handler` on it (on its own task, so a panic counts as a failure)
    /// while a heartbeat extends the lease; then records the outcome.
    #[tracing::instrument(skip_all, fields(worker = %self.config.id))]
    pub async fn run_one<F, Fut>(&self, handler: &F) -> Result<RunOutcome, StoreError>
    where
        F: Fn(ClaimedJob) -> Fut,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let kinds: Vec<&str> = self.config.kinds.iter().map(String::as_str).collect();
        let Some(job) = self
            .store
            .claim(&self.config.id, &kinds, self.config.lease)
            .await?
        else {
            return Ok(RunOutcome::Idle);
        };
        let id = job.id;
        tracing::debug!(job = id, kind = %job.kind, attempt = job.attempt, "job claimed");
        let mut task = tokio::spawn(handler(job.clone()));
        let mut beat = tokio::time::interval_at(
            tokio::time::Instant::now() + self.config.heartbeat,
            self.config.heartbeat,
        );
        // After a stall, beat once and carry on rather than in a burst.
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                joined = &mut task => break Some(joined),
                _ = beat.tick() => match self.store.heartbeat(&job, self.config.lease).await {
                    Ok(_) => {}
                    Err(StoreError::LeaseLost { .. }) => {
                        task.abort();
                        break None;
                    }
                    // A passing database hiccup: the lease still holds until it expires.
                    Err(e) => tracing::warn!(job = id, error = %e, "job heartbeat failed"),
                },
            }
        };
        let outcome = match result {
            None => Err(StoreError::LeaseLost { id }),
            Some(Ok(Ok(()))) => self
                .store
                .complete(&job)
                .await
                .map(|()| RunOutcome::Completed(id)),
            Some(Ok(Err(error))) => self
                .store
                .fail_with(&job, &error, &self.config.backoff)
                .await
                .map(|status| RunOutcome::Failed(id, status)),
            Some(Err(join)) => {
                let error = if join.is_panic() {
                    "the handler panicked"
                } else {
                    "the handler was cancelled"
                };
                self.store
                    .fail_with(&job, error, &self.config.backoff)
                    .await
                    .map(|status| RunOutcome::Failed(id, status))
            }
        };
        match outcome {
            Err(StoreError::LeaseLost { id }) => {
                tracing::warn!(job = id, "job lease lost: another worker took it over");
                Ok(RunOutcome::LeaseLost(id))
            }
            other => other,
        }
    }
}

/// Runs the scheduler step ([`Store::run_due_schedules`]) every `tick` until `shutdown` is
/// cancelled. Safe to run in every instance.
pub async fn run_scheduler(store: Store, tick: Duration, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(e) = store.run_due_schedules().await {
            tracing::warn!(error = %e, "scheduler step failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        let windows: Vec<u64> = (1..=6).map(|a| b.window(a).as_secs()).collect();
        assert_eq!(windows, [10, 20, 40, 60, 60, 60]);
        assert_eq!(b.window(0), Duration::from_secs(10));
        assert_eq!(b.window(i64::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_the_window() {
        let b = Backoff::DEFAULT;
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(20));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(40));
        assert_eq!(b.delay(3, 0.5), Duration::from_secs(30));
        assert_eq!(b.delay(3, 7.0), Duration::from_secs(40));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..=1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn slots_stay_on_the_grid_and_skip_missed_ones() {
        let schedule = Schedule {
            name: "sweep".into(),
            kind: "retention.sweep".into(),
            payload: serde_json::Value::Null,
            interval_seconds: 60,
            max_attempts: 1,
            next_run_at: Timestamp::from_millis(600_000),
        };
        let at = |ms| schedule.slot_after(Timestamp::from_millis(ms)).as_millis();
        assert_eq!(at(599_999), 600_000, "not due: unchanged");
        assert_eq!(at(600_000), 660_000);
        assert_eq!(at(659_999), 660_000);
        assert_eq!(at(660_000), 720_000);
        assert_eq!(at(600_000 + 10 * 60_000 + 5), 600_000 + 11 * 60_000);
        assert_eq!(
            schedule.slot_key(Timestamp::from_millis(600_000)),
            "schedule:sweep:600000"
        );
    }

    #[test]
    fn new_jobs_are_validated() {
        let ok = NewJob::new("retention.sweep", serde_json::Value::Null);
        assert!(ok.validate().is_ok());
        for bad in [
            NewJob::new("", serde_json::Value::Null),
            NewJob::new("Retention", serde_json::Value::Null),
            NewJob::new("a b", serde_json::Value::Null),
            ok.clone().with_max_attempts(0),
            ok.clone().with_key(""),
            ok.clone().with_key("a\nb"),
        ] {
            assert!(
                matches!(bad.validate(), Err(StoreError::InvalidJob(_))),
                "{bad:?}"
            );
        }
    }

    /// A server spawns the worker and scheduler loops on a multi-threaded runtime: this only has
    /// to compile.
    #[allow(dead_code)]
    fn worker_futures_are_send(store: Store) {
        fn send_future<T: Send>(_: T) {}
        let worker = Worker::new(store.clone(), WorkerConfig::new(&["x"]));
        send_future(worker.run(|_job| async { Ok(()) }, CancellationToken::new()));
        send_future(run_scheduler(
            store.clone(),
            Duration::from_secs(1),
            CancellationToken::new(),
        ));
        send_future(store.transaction());
        send_future(store.run_due_schedules());
        send_future(store.claim("w", &["x"], Duration::from_secs(1)));
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["queued", "running", "done", "failed", "dead"] {
            assert_eq!(s.parse::<JobStatus>().map(JobStatus::as_str), Ok(s));
        }
        assert!("other".parse::<JobStatus>().is_err());
    }
}
