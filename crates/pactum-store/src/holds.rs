//! Legal holds, and the erasures they (or statutory retention) defer.
//!
//! A **legal hold** keeps a person's records in some datastores or collections (its scope) from
//! being erased while it stands: litigation, an investigation, a regulator's order. An erasure run
//! while a hold stands erases everything else and leaves the held records as they are; the row
//! changes it would have made to them are decided then (the traversal that finds them may lead
//! through records the same erasure removes) and stored as a **deferred erasure**. Statutory
//! retention with a known end date defers the same way, until that date.
//!
//! - [`Store::place_hold`] / [`Store::release_hold`] / [`Store::active_holds`] /
//!   [`Store::list_holds`]: the holds. Releasing a hold enqueues, in the same transaction, a
//!   [`DEFERRED_ERASURE_JOB`] for each deferred erasure it held that no other active hold still
//!   covers (one still covered is handed to that hold).
//! - [`Store::complete_erasure`]: completes an erasure request and stores its deferred parts in the
//!   same transaction; a part no active hold covers is enqueued to run on its due date.
//! - [`Store::start_deferred`], [`Store::mark_deferred_datastore_done`],
//!   [`Store::finish_deferred`]: the job's steps (checkpointed per datastore, like the main plan).
//! - Housekeeping deletes applied deferrals: [`Store::purge_applied_deferrals`].
//!
//! Privacy: a hold keeps the person only as SHA-256 of `KIND:VALUE` (normalised), as subject flags
//! do; that is enough to match a request's identity. The hold's reason is shown to the person whose
//! erasure it defers and never written to the audit log (`hold.place` and `hold.release` carry ids
//! and the scope). **A deferred erasure's plan holds personal data** (its rows' keys and erased
//! values): it is cleared once applied, and applied deferrals are deleted by housekeeping.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::jobs::{NewJob, Transaction};
use crate::requests::{Completion, Request, normalise_identity, subject_key};
use crate::{Store, Tx, with_pool, with_tx};

/// The job kind that applies a deferred erasure; its payload is `{"deferred_id": ID}`.
pub const DEFERRED_ERASURE_JOB: &str = "request.deferred";

/// Longest hold reason accepted.
pub const MAX_HOLD_REASON_CHARS: usize = 2000;

/// Most entries in a hold's scope.
pub const MAX_SCOPE_ENTRIES: usize = 100;

/// Longest scope entry, in characters.
const MAX_SCOPE_ENTRY_CHARS: usize = 200;

/// A hold to place.
#[derive(Clone, PartialEq, Eq)]
pub struct NewHold {
    /// `email` or `phone`.
    pub identity_kind: String,
    /// The address or number (normalised, then hashed; never stored in clear).
    pub identity_value: String,
    /// `datastore` or `datastore.collection` entries; empty holds every datastore.
    pub scope: Vec<String>,
    /// Why (shown to the person whose erasure it defers; never audited).
    pub reason: String,
}

impl fmt::Debug for NewHold {
    // The identity is personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewHold")
            .field("identity_kind", &self.identity_kind)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Internal id.
    pub id: i64,
    /// `email` or `phone` (the value is kept only hashed).
    pub identity_kind: String,
    /// `datastore` or `datastore.collection` entries; empty holds every datastore.
    pub scope: Vec<String>,
    /// Why.
    pub reason: String,
    /// Who placed it (an [`Actor`]'s stored form).
    pub placed_by: String,
    /// When.
    pub placed_at: Timestamp,
    /// When it was released, if it was.
    pub released_at: Option<Timestamp>,
    /// Who released it.
    pub released_by: Option<String>,
}

impl Hold {
    /// True while the hold stands.
    pub fn is_active(&self) -> bool {
        self.released_at.is_none()
    }

    /// True when the hold's scope covers `collection` (`datastore.collection`).
    pub fn covers(&self, collection: &str) -> bool {
        scope_covers(&self.scope, collection)
    }
}

/// True when `scope` covers `collection` (`datastore.collection`): it is empty, or names the
/// collection or its datastore.
pub fn scope_covers(scope: &[String], collection: &str) -> bool {
    let datastore = collection.split_once('.').map_or(collection, |(d, _)| d);
    scope.is_empty() || scope.iter().any(|s| s == collection || s == datastore)
}

/// A deferred part of an erasure to store when the request completes.
#[derive(Clone, PartialEq)]
pub struct NewDeferral {
    /// The row changes, as the caller serialised them (`pactum_requests::DeferredPlan`).
    pub plan: Value,
    /// The collections (`datastore.collection`) it changes: what holds are matched against.
    pub collections: Vec<String>,
    /// The day (`YYYY-MM-DD`) statutory retention of these rows ends, if one keeps them.
    pub due_on: Option<String>,
}

impl fmt::Debug for NewDeferral {
    // The plan holds personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewDeferral")
            .field("collections", &self.collections)
            .field("due_on", &self.due_on)
            .finish_non_exhaustive()
    }
}

/// Why a deferred erasure waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferralReason {
    /// A legal hold (its id in [`DeferredErasure::hold_id`]).
    Hold,
    /// Statutory retention, until [`DeferredErasure::due_on`].
    Retention,
}

impl DeferralReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeferralReason::Hold => "hold",
            DeferralReason::Retention => "retention",
        }
    }
}

/// A stored deferred erasure.
#[derive(Clone, PartialEq)]
pub struct DeferredErasure {
    /// Internal id.
    pub id: i64,
    /// The erasure request it belongs to.
    pub request_id: i64,
    /// The collections it changes.
    pub collections: Vec<String>,
    /// The row changes; `None` once applied.
    pub plan: Option<Value>,
    /// What it waits for.
    pub reason: DeferralReason,
    /// The hold it waits for (or last waited for).
    pub hold_id: Option<i64>,
    /// The day statutory retention ends, if one keeps the rows.
    pub due_on: Option<String>,
    /// The datastores applied so far, with what they changed.
    pub done: BTreeMap<String, Value>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it was applied.
    pub done_at: Option<Timestamp>,
}

impl fmt::Debug for DeferredErasure {
    // The plan holds personal data: show only its shape.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredErasure")
            .field("id", &self.id)
            .field("request_id", &self.request_id)
            .field("collections", &self.collections)
            .field("reason", &self.reason)
            .field("hold_id", &self.hold_id)
            .field("due_on", &self.due_on)
            .field("done", &self.done.keys().collect::<Vec<_>>())
            .field("done_at", &self.done_at)
            .finish_non_exhaustive()
    }
}

/// What [`Store::start_deferred`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum DeferredStart {
    /// Nothing holds it: apply it (datastores in [`DeferredErasure::done`] are done already).
    Apply(DeferredErasure),
    /// An active hold covers it (perhaps one placed after it was scheduled): it now waits for that
    /// hold's release.
    Held {
        /// The hold.
        hold_id: i64,
    },
    /// Applied before.
    Done,
}

fn corrupt(table: &'static str, id: i64, what: &str) -> StoreError {
    StoreError::Corrupt {
        table,
        id,
        what: what.to_owned(),
    }
}

/// Checks a scope entry: `datastore` or `datastore.collection`, printable, no spaces.
fn valid_scope_entry(entry: &str) -> bool {
    let parts: Vec<&str> = entry.split('.').collect();
    !entry.is_empty()
        && entry.chars().count() <= MAX_SCOPE_ENTRY_CHARS
        && parts.len() <= 2
        && parts.iter().all(|p| !p.is_empty())
        && entry.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// Midnight UTC at the start of `date` (`YYYY-MM-DD`), or `None` when it is not a date.
fn midnight(date: &str) -> Option<Timestamp> {
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: i64 = date.get(5..7)?.parse().ok()?;
    let d: i64 = date.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(Timestamp::from_millis(days * 86_400_000))
}

const HOLD_COLUMNS: &str =
    "id, identity_kind, scope, reason, placed_by, placed_at, released_at, released_by";

fn hold_from_row<R: Row>(row: &R) -> Result<Hold, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = row.try_get("id")?;
    let scope: String = row.try_get("scope")?;
    Ok(Hold {
        id,
        identity_kind: row.try_get("identity_kind")?,
        scope: serde_json::from_str(&scope)
            .map_err(|_| corrupt("legal_holds", id, "the scope is not a JSON list"))?,
        reason: row.try_get("reason")?,
        placed_by: row.try_get("placed_by")?,
        placed_at: Timestamp::from_millis(row.try_get("placed_at")?),
        released_at: row
            .try_get::<Option<i64>, _>("released_at")?
            .map(Timestamp::from_millis),
        released_by: row.try_get("released_by")?,
    })
}

const DEFERRAL_COLUMNS: &str = "id, request_id, collections, plan, reason, hold_id, due_on, \
     done_datastores, created_at, done_at";

fn deferral_from_row<R: Row>(row: &R) -> Result<DeferredErasure, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = row.try_get("id")?;
    let bad = |what: &str| corrupt("deferred_erasures", id, what);
    let collections: String = row.try_get("collections")?;
    let plan: Option<String> = row.try_get("plan")?;
    let reason: String = row.try_get("reason")?;
    let done: String = row.try_get("done_datastores")?;
    Ok(DeferredErasure {
        id,
        request_id: row.try_get("request_id")?,
        collections: serde_json::from_str(&collections)
            .map_err(|_| bad("the collections are not a JSON list"))?,
        plan: plan
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|_| bad("the plan is not JSON"))?,
        reason: match reason.as_str() {
            "hold" => DeferralReason::Hold,
            "retention" => DeferralReason::Retention,
            _ => return Err(bad("unknown reason")),
        },
        hold_id: row.try_get("hold_id")?,
        due_on: row.try_get("due_on")?,
        done: serde_json::from_str(&done).map_err(|_| bad("the steps are not a JSON object"))?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        done_at: row
            .try_get::<Option<i64>, _>("done_at")?
            .map(Timestamp::from_millis),
    })
}

/// The active holds on `subject` inside `tx`, oldest first: (id, scope).
async fn active_scopes(tx: &mut Tx, subject: &str) -> Result<Vec<(i64, Vec<String>)>, StoreError> {
    let rows: Vec<(i64, String)> = with_tx!(tx, conn => {
        sqlx::query(
            "SELECT id, scope FROM legal_holds WHERE subject_key = $1 AND released_at IS NULL \
             ORDER BY id",
        )
        .bind(subject)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?
    });
    rows.into_iter()
        .map(|(id, scope)| {
            let scope: Vec<String> = serde_json::from_str(&scope)
                .map_err(|_| corrupt("legal_holds", id, "the scope is not a JSON list"))?;
            Ok((id, scope))
        })
        .collect()
}

/// The first of `holds` (besides `except`) that covers one of `collections`.
fn covering(
    holds: &[(i64, Vec<String>)],
    collections: &[String],
    except: Option<i64>,
) -> Option<i64> {
    holds
        .iter()
        .filter(|(id, _)| Some(*id) != except)
        .find(|(_, scope)| collections.iter().any(|c| scope_covers(scope, c)))
        .map(|(id, _)| *id)
}

/// Enqueues the job that applies deferral `id`, at the start of `due_on` or now, whichever is
/// later. Keyed by deferral and `cause`, so the same cause never enqueues it twice.
async fn enqueue_deferred(
    tx: &mut Transaction,
    id: i64,
    due_on: Option<&str>,
    cause: &str,
) -> Result<i64, StoreError> {
    let now = tx.now;
    let run_at = due_on
        .and_then(midnight)
        .filter(|at| at.as_millis() > now.as_millis())
        .unwrap_or(now);
    let job = NewJob::new(DEFERRED_ERASURE_JOB, json!({ "deferred_id": id }))
        .with_key(&format!("{DEFERRED_ERASURE_JOB}:{id}:{cause}"))
        .run_at(run_at);
    Ok(tx.enqueue(&job).await?.id)
}

/// Stores `deferrals` of request `request_id` (whose person is `subject`) inside `tx`: each is bound
/// to the first active hold covering it, or else enqueued for its due date. Returns the new ids.
pub(crate) async fn store_deferrals_in(
    tx: &mut Transaction,
    request_id: i64,
    subject: &str,
    deferrals: &[NewDeferral],
) -> Result<Vec<i64>, StoreError> {
    let now = tx.now;
    let holds = active_scopes(&mut tx.tx, subject).await?;
    let mut ids = Vec::new();
    for deferral in deferrals {
        if let Some(due) = &deferral.due_on
            && midnight(due).is_none()
        {
            return Err(StoreError::InvalidRequest(
                "a deferral's due date must be YYYY-MM-DD",
            ));
        }
        let plan = serde_json::to_string(&deferral.plan)
            .map_err(|_| StoreError::InvalidRequest("the deferred plan cannot be serialised"))?;
        let collections = serde_json::to_string(&deferral.collections)
            .map_err(|_| StoreError::InvalidRequest("the collections cannot be serialised"))?;
        let hold = covering(&holds, &deferral.collections, None);
        let reason = if hold.is_some() {
            DeferralReason::Hold
        } else {
            DeferralReason::Retention
        };
        let id: i64 = with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "INSERT INTO deferred_erasures (request_id, subject_key, collections, plan, \
                 reason, hold_id, due_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING id",
            )
            .bind(request_id)
            .bind(subject)
            .bind(&collections)
            .bind(&plan)
            .bind(reason.as_str())
            .bind(hold)
            .bind(&deferral.due_on)
            .bind(now.as_millis())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        let job = match hold {
            Some(_) => None,
            None => Some(enqueue_deferred(tx, id, deferral.due_on.as_deref(), "due").await?),
        };
        let entry = NewEntry::new(
            Actor::System,
            "request.defer",
            Some(Target::new("request", request_id)),
        )
        .with_details(json!({
            "deferred_id": id,
            "reason": reason.as_str(),
            "hold_id": hold,
            "due_on": deferral.due_on,
            "job_id": job,
        }));
        tx.audit_append(&entry).await?;
        ids.push(id);
    }
    Ok(ids)
}

impl Store {
    /// Places a legal hold on the person `new` identifies. [`StoreError::InvalidRequest`] when
    /// the identity cannot be normalised, the reason is empty or longer than
    /// [`MAX_HOLD_REASON_CHARS`], or a scope entry is not `datastore` or `datastore.collection`.
    /// Appends `hold.place` (the hold's id, identity kind and scope; never the reason).
    #[tracing::instrument(skip_all)]
    pub async fn place_hold(&self, actor: &Actor, new: &NewHold) -> Result<Hold, StoreError> {
        let identity_kind = new.identity_kind.trim();
        let value = normalise_identity(identity_kind, &new.identity_value)?;
        let reason = new.reason.trim();
        let length = reason.chars().count();
        if length == 0 || length > MAX_HOLD_REASON_CHARS {
            return Err(StoreError::InvalidRequest(
                "a hold needs a reason of 1 to 2000 characters",
            ));
        }
        if new.scope.len() > MAX_SCOPE_ENTRIES {
            return Err(StoreError::InvalidRequest(
                "a hold's scope has at most 100 entries",
            ));
        }
        let mut scope: Vec<String> = new.scope.iter().map(|s| s.trim().to_owned()).collect();
        if !scope.iter().all(|s| valid_scope_entry(s)) {
            return Err(StoreError::InvalidRequest(
                "a scope entry is `datastore` or `datastore.collection`",
            ));
        }
        scope.sort();
        scope.dedup();
        let scope_text = serde_json::to_string(&scope)
            .map_err(|_| StoreError::InvalidRequest("the scope cannot be serialised"))?;
        let placed_by = actor.to_string();
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let id: i64 = with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "INSERT INTO legal_holds (subject_key, identity_kind, scope, reason, placed_by, \
                 placed_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(subject_key(identity_kind, &value))
            .bind(identity_kind)
            .bind(&scope_text)
            .bind(reason)
            .bind(&placed_by)
            .bind(now.as_millis())
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        tx.audit_append(
            &NewEntry::new(*actor, "hold.place", Some(Target::new("hold", id)))
                .with_details(json!({ "identity_kind": identity_kind, "scope": scope })),
        )
        .await?;
        tx.commit().await?;
        Ok(Hold {
            id,
            identity_kind: identity_kind.to_owned(),
            scope,
            reason: reason.to_owned(),
            placed_by,
            placed_at: now,
            released_at: None,
            released_by: None,
        })
    }

    /// Releases hold `id`. In the same transaction, each deferred erasure waiting for it is handed
    /// to another active hold on the same person that covers one of its collections, or else
    /// enqueued ([`DEFERRED_ERASURE_JOB`], at its due date if statutory retention still runs).
    /// Appends `hold.release` (the deferrals released and the jobs enqueued, by id).
    ///
    /// [`StoreError::NotFound`] when there is no such hold; [`StoreError::HoldReleased`] when it
    /// was released already.
    #[tracing::instrument(skip_all, fields(hold = id))]
    pub async fn release_hold(&self, actor: &Actor, id: i64) -> Result<Hold, StoreError> {
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let released_by = actor.to_string();
        let (hold, subject) = with_tx!(&mut tx.tx, conn => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {HOLD_COLUMNS}, subject_key FROM legal_holds WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                Some(row) => (hold_from_row(&row)?, row.try_get::<String, _>("subject_key")?),
                None => return Err(StoreError::NotFound { kind: "hold", id }),
            }
        });
        if !hold.is_active() {
            return Err(StoreError::HoldReleased { id });
        }
        let updated = with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "UPDATE legal_holds SET released_at = $1, released_by = $2 \
                 WHERE id = $3 AND released_at IS NULL",
            )
            .bind(now.as_millis())
            .bind(&released_by)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if updated != 1 {
            return Err(StoreError::HoldReleased { id });
        }
        let others = active_scopes(&mut tx.tx, &subject).await?;
        let waiting: Vec<DeferredErasure> = with_tx!(&mut tx.tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DEFERRAL_COLUMNS} FROM deferred_erasures \
                 WHERE hold_id = $1 AND done_at IS NULL ORDER BY id"
            )))
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(deferral_from_row)
            .collect::<Result<_, _>>()?
        });
        let mut released = Vec::new();
        let mut handed = Vec::new();
        let mut jobs = Vec::new();
        for deferral in waiting {
            match covering(&others, &deferral.collections, Some(id)) {
                Some(other) => {
                    with_tx!(&mut tx.tx, conn => {
                        sqlx::query("UPDATE deferred_erasures SET hold_id = $1 WHERE id = $2")
                            .bind(other)
                            .bind(deferral.id)
                            .execute(&mut *conn)
                            .await?;
                    });
                    handed.push(json!({ "deferred_id": deferral.id, "hold_id": other }));
                }
                None => {
                    let cause = format!("hold{id}");
                    let job =
                        enqueue_deferred(&mut tx, deferral.id, deferral.due_on.as_deref(), &cause)
                            .await?;
                    released.push(deferral.id);
                    jobs.push(job);
                }
            }
        }
        tx.audit_append(
            &NewEntry::new(*actor, "hold.release", Some(Target::new("hold", id))).with_details(
                json!({ "scope": hold.scope, "released": released, "handed_over": handed, "job_ids": jobs }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Hold {
            released_at: Some(now),
            released_by: Some(released_by),
            ..hold
        })
    }

    /// The active holds on the person with this identity, oldest first. An identity that cannot
    /// be normalised has none.
    pub async fn active_holds(
        &self,
        identity_kind: &str,
        identity_value: &str,
    ) -> Result<Vec<Hold>, StoreError> {
        let identity_kind = identity_kind.trim();
        let Ok(value) = normalise_identity(identity_kind, identity_value) else {
            return Ok(Vec::new());
        };
        let key = subject_key(identity_kind, &value);
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE subject_key = $1 \
                 AND released_at IS NULL ORDER BY id"
            )))
            .bind(&key)
            .fetch_all(pool)
            .await?
            .iter()
            .map(hold_from_row)
            .collect()
        })
    }

    /// Holds, newest first, at most `limit`; released ones only when `include_released`.
    pub async fn list_holds(
        &self,
        include_released: bool,
        limit: i64,
    ) -> Result<Vec<Hold>, StoreError> {
        let filter = if include_released {
            ""
        } else {
            "WHERE released_at IS NULL "
        };
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {HOLD_COLUMNS} FROM legal_holds {filter}ORDER BY id DESC LIMIT $1"
            )))
            .bind(limit.clamp(0, 10_000))
            .fetch_all(pool)
            .await?
            .iter()
            .map(hold_from_row)
            .collect()
        })
    }

    /// Hold `id`, released or not.
    pub async fn hold(&self, id: i64) -> Result<Option<Hold>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(hold_from_row)
                .transpose()
        })
    }

    /// [`Store::complete_request`] for an erasure whose parts `deferred` were held back: the
    /// deferrals are stored in the completion's transaction (only when it completes the request: a
    /// retried completion adds nothing) and each is bound to an active hold covering it or
    /// enqueued for its due date. Appends `request.defer` per deferral (ids, hold, due date).
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn complete_erasure(
        &self,
        actor: &Actor,
        id: i64,
        completion: &Completion,
        deferred: &[NewDeferral],
    ) -> Result<(Request, Option<String>), StoreError> {
        let mut tx = self.transaction().await?;
        let completed =
            crate::requests::complete_with_deferrals_in(&mut tx, actor, id, completion, deferred)
                .await?;
        tx.commit().await?;
        Ok(completed)
    }

    /// Deferred erasure `id`.
    pub async fn deferred_erasure(&self, id: i64) -> Result<Option<DeferredErasure>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DEFERRAL_COLUMNS} FROM deferred_erasures WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(deferral_from_row)
            .transpose()
        })
    }

    /// The deferred erasures of request `request_id`, oldest first.
    pub async fn deferred_erasures_of(
        &self,
        request_id: i64,
    ) -> Result<Vec<DeferredErasure>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DEFERRAL_COLUMNS} FROM deferred_erasures WHERE request_id = $1 ORDER BY id"
            )))
            .bind(request_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(deferral_from_row)
            .collect()
        })
    }

    /// The job's first step: whether deferred erasure `id` may be applied now. When an active
    /// hold on the person covers it (one placed after it was scheduled), it is handed to that hold
    /// (appending `request.deferred_held`) and waits for its release.
    /// [`StoreError::NotFound`] when there is no such deferral.
    #[tracing::instrument(skip_all, fields(deferred = id))]
    pub async fn start_deferred(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<DeferredStart, StoreError> {
        let mut tx = self.transaction().await?;
        let (deferral, subject) = with_tx!(&mut tx.tx, conn => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DEFERRAL_COLUMNS}, subject_key FROM deferred_erasures WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                Some(row) => (deferral_from_row(&row)?, row.try_get::<String, _>("subject_key")?),
                None => return Err(StoreError::NotFound { kind: "deferred erasure", id }),
            }
        });
        if deferral.done_at.is_some() {
            return Ok(DeferredStart::Done);
        }
        let holds = active_scopes(&mut tx.tx, &subject).await?;
        if let Some(hold_id) = covering(&holds, &deferral.collections, None) {
            with_tx!(&mut tx.tx, conn => {
                sqlx::query("UPDATE deferred_erasures SET hold_id = $1, reason = 'hold' WHERE id = $2")
                    .bind(hold_id)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            });
            tx.audit_append(
                &NewEntry::new(
                    *actor,
                    "request.deferred_held",
                    Some(Target::new("request", deferral.request_id)),
                )
                .with_details(json!({ "deferred_id": id, "hold_id": hold_id })),
            )
            .await?;
            tx.commit().await?;
            return Ok(DeferredStart::Held { hold_id });
        }
        tx.commit().await?;
        Ok(DeferredStart::Apply(deferral))
    }

    /// Records that `datastore`'s part of deferred erasure `id` is committed, with `result`
    /// (counts, never values). Returns `false` when it was recorded already (the first stands).
    /// Appends `request.deferred_step` when it records one.
    #[tracing::instrument(skip_all, fields(deferred = id))]
    pub async fn mark_deferred_datastore_done(
        &self,
        actor: &Actor,
        id: i64,
        datastore: &str,
        result: &Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.transaction().await?;
        let Some((request_id, mut done)) = deferral_steps(&mut tx.tx, id).await? else {
            return Err(StoreError::NotFound {
                kind: "deferred erasure",
                id,
            });
        };
        if done.contains_key(datastore) {
            return Ok(false);
        }
        done.insert(datastore.to_owned(), result.clone());
        let text = serde_json::to_string(&done)
            .map_err(|_| StoreError::InvalidRequest("the step's result cannot be serialised"))?;
        with_tx!(&mut tx.tx, conn => {
            sqlx::query("UPDATE deferred_erasures SET done_datastores = $1 WHERE id = $2")
                .bind(&text)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        });
        tx.audit_append(
            &NewEntry::new(
                *actor,
                "request.deferred_step",
                Some(Target::new("request", request_id)),
            )
            .with_details(json!({ "deferred_id": id, "datastore": datastore })),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks deferred erasure `id` applied and clears its plan (the row keys are no longer
    /// needed). Returns `false`, and changes nothing, when it was applied already. Appends
    /// `request.deferred_applied` (the request, the deferral and the datastores, by id and key).
    #[tracing::instrument(skip_all, fields(deferred = id))]
    pub async fn finish_deferred(&self, actor: &Actor, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let Some((request_id, done)) = deferral_steps(&mut tx.tx, id).await? else {
            return Err(StoreError::NotFound {
                kind: "deferred erasure",
                id,
            });
        };
        let updated = with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "UPDATE deferred_erasures SET done_at = $1, plan = NULL \
                 WHERE id = $2 AND done_at IS NULL",
            )
            .bind(now.as_millis())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Ok(false);
        }
        tx.audit_append(
            &NewEntry::new(
                *actor,
                "request.deferred_applied",
                Some(Target::new("request", request_id)),
            )
            .with_details(json!({
                "deferred_id": id,
                "datastores": done.keys().collect::<Vec<_>>(),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Housekeeping: deletes deferred erasures applied before `before` (their plan is cleared when
    /// applied; the row stays a while for the record) and returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_applied_deferrals(&self, before: Timestamp) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query("DELETE FROM deferred_erasures WHERE done_at IS NOT NULL AND done_at < $1")
                .bind(before.as_millis())
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Deferred erasures not yet applied (for tests and metrics).
    pub async fn pending_deferral_count(&self) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT COUNT(*) FROM deferred_erasures WHERE done_at IS NULL")
                .fetch_one(pool)
                .await?;
            Ok(row.try_get::<i64, _>(0)?)
        })
    }
}

/// Deferral `id`'s request and done datastores, or `None` when there is none.
async fn deferral_steps(
    tx: &mut Tx,
    id: i64,
) -> Result<Option<(i64, BTreeMap<String, Value>)>, StoreError> {
    let row: Option<(i64, String)> = with_tx!(tx, conn => {
        sqlx::query("SELECT request_id, done_datastores FROM deferred_erasures WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
            .transpose()?
    });
    let Some((request_id, done)) = row else {
        return Ok(None);
    };
    let done = serde_json::from_str(&done)
        .map_err(|_| corrupt("deferred_erasures", id, "the steps are not a JSON object"))?;
    Ok(Some((request_id, done)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_datastores_and_collections() {
        let scope = vec!["shop".to_owned(), "crm.notes".to_owned()];
        assert!(scope_covers(&scope, "shop.orders"));
        assert!(scope_covers(&scope, "crm.notes"));
        assert!(!scope_covers(&scope, "crm.customers"));
        assert!(!scope_covers(&scope, "shopping.orders"));
        assert!(scope_covers(&[], "anything.at_all"));
    }

    #[test]
    fn scope_entries_are_checked() {
        for good in ["shop", "shop.orders", "web_db.invoices"] {
            assert!(valid_scope_entry(good), "{good}");
        }
        for bad in ["", "a.b.c", ".x", "x.", "a b", "x\n"] {
            assert!(!valid_scope_entry(bad), "{bad:?}");
        }
    }

    #[test]
    fn due_dates_start_at_midnight_utc() {
        assert_eq!(midnight("1970-01-01"), Some(Timestamp::from_millis(0)));
        assert_eq!(
            midnight("2031-06-30").map(Timestamp::as_millis),
            Some(1_940_544_000_000)
        );
        assert_eq!(
            midnight("2000-03-01").map(Timestamp::as_millis),
            Some(951_868_800_000)
        );
        for bad in ["2031-13-01", "2031-6-30", "yesterday", "2031-06-30T00"] {
            assert_eq!(midnight(bad), None, "{bad}");
        }
    }
}
