//! Checkpoints of request execution: an approved erasure's plan, stored before anything is changed,
//! and each datastore whose part of it is committed, so that a run stopped half-way (the process
//! killed, a datastore down) resumes where it stopped instead of planning again.
//!
//! - [`Store::save_erasure_plan`] stores the plan once (a retry keeps the first one).
//! - [`Store::mark_datastore_done`] records that one datastore's changes are committed, with what
//!   they changed.
//! - [`Store::erasure_checkpoint`] reads both back.
//!
//! The plan is JSON of the caller's making (`pactum_requests::ErasurePlan`); the store does not
//! look inside it. **It holds personal data** (the keys of the person's rows and their erased
//! values), so it lives only as long as it is needed: [`Store::complete_request`] deletes the plan
//! and its steps in the transaction that completes the request. Audit entries (`request.plan`,
//! `request.step`) carry the request's id, the plan's size and datastore keys (names from the
//! map), never anything from inside the plan.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::requests::RequestStatus;
use crate::{Store, with_pool, with_tx};

/// The most bytes of a datastore key.
const MAX_DATASTORE_CHARS: usize = 200;

/// A request's stored erasure plan and the datastores done so far.
#[derive(Clone, PartialEq)]
pub struct Checkpoint {
    /// The plan, as saved.
    pub plan: Value,
    /// When the plan was saved.
    pub created_at: Timestamp,
    /// The datastores whose changes are committed, with what the caller recorded for each.
    pub done: BTreeMap<String, Value>,
}

impl std::fmt::Debug for Checkpoint {
    // The plan holds personal data: show only its shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("created_at", &self.created_at)
            .field("done", &self.done.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Corrupt {
        table: "request_plans",
        id,
        what: what.to_owned(),
    }
}

impl Store {
    /// Stores the erasure plan of approved request `request_id`, before any of it is applied.
    /// Returns `false`, and changes nothing, when the request already has one: a retried run
    /// resumes the first plan ([`Store::erasure_checkpoint`]) rather than replacing it. Appends
    /// `request.plan` (the plan's size in bytes) when it stores one.
    ///
    /// [`StoreError::NotFound`] when there is no such request; [`StoreError::RequestState`] when it
    /// is not approved.
    #[tracing::instrument(skip_all, fields(request = request_id))]
    pub async fn save_erasure_plan(
        &self,
        actor: &Actor,
        request_id: i64,
        plan: &Value,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(plan)
            .map_err(|_| StoreError::InvalidRequest("the erasure plan cannot be serialised"))?;
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let status: Option<String> = with_tx!(&mut tx.tx, conn => {
            sqlx::query("SELECT status FROM requests WHERE id = $1")
                .bind(request_id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?
        });
        let Some(status) = status else {
            return Err(StoreError::NotFound {
                kind: "request",
                id: request_id,
            });
        };
        let status: RequestStatus = status.parse()?;
        if status != RequestStatus::Approved {
            return Err(StoreError::RequestState {
                id: request_id,
                status,
                action: "planned",
            });
        }
        let inserted = with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "INSERT INTO request_plans (request_id, plan, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(request_id)
            .bind(&text)
            .bind(now.as_millis())
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }) == 1;
        if inserted {
            let entry = NewEntry::new(
                *actor,
                "request.plan",
                Some(Target::new("request", request_id)),
            )
            .with_details(json!({ "plan_bytes": text.len() }));
            tx.audit_append(&entry).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The stored erasure plan of request `request_id` and the datastores done so far, or `None`
    /// when it has none (never planned, or completed: completion deletes it).
    pub async fn erasure_checkpoint(
        &self,
        request_id: i64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        // One snapshot, so that the steps read belong to the plan read.
        let mut tx = self.begin_snapshot().await?;
        let (plan, steps) = with_tx!(&mut tx, conn => {
            let plan = sqlx::query("SELECT plan, created_at FROM request_plans WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(&mut *conn)
                .await?;
            let steps = sqlx::query(
                "SELECT datastore, result FROM request_steps WHERE request_id = $1 ORDER BY datastore",
            )
            .bind(request_id)
            .fetch_all(&mut *conn)
            .await?;
            let plan: Option<(String, i64)> = match plan {
                Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
                None => None,
            };
            let steps: Vec<(String, String)> = steps
                .iter()
                .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, _>>()?;
            (plan, steps)
        });
        tx.commit().await?;
        let Some((plan, created_at)) = plan else {
            return Ok(None);
        };
        let plan: Value =
            serde_json::from_str(&plan).map_err(|_| corrupt(request_id, "the plan is not JSON"))?;
        let mut done = BTreeMap::new();
        for (datastore, result) in steps {
            let result: Value = serde_json::from_str(&result)
                .map_err(|_| corrupt(request_id, "a step's result is not JSON"))?;
            done.insert(datastore, result);
        }
        Ok(Some(Checkpoint {
            plan,
            created_at: Timestamp::from_millis(created_at),
            done,
        }))
    }

    /// Records that `datastore`'s part of request `request_id`'s erasure plan is committed, with
    /// `result` (what it changed: counts by collection, never row values). Returns `false`, and
    /// changes nothing, when it was already recorded (the first result stands). Appends
    /// `request.step` (the datastore's key) when it records one.
    ///
    /// [`StoreError::NotFound`] (`erasure plan`) when the request has no stored plan.
    #[tracing::instrument(skip_all, fields(request = request_id))]
    pub async fn mark_datastore_done(
        &self,
        actor: &Actor,
        request_id: i64,
        datastore: &str,
        result: &Value,
    ) -> Result<bool, StoreError> {
        if datastore.is_empty() || datastore.len() > MAX_DATASTORE_CHARS {
            return Err(StoreError::InvalidRequest(
                "a datastore key must be 1 to 200 bytes",
            ));
        }
        let text = serde_json::to_string(result)
            .map_err(|_| StoreError::InvalidRequest("the step's result cannot be serialised"))?;
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let inserted = with_tx!(&mut tx.tx, conn => {
            let planned = sqlx::query("SELECT 1 FROM request_plans WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
            if !planned {
                return Err(StoreError::NotFound {
                    kind: "erasure plan",
                    id: request_id,
                });
            }
            sqlx::query(
                "INSERT INTO request_steps (request_id, datastore, result, done_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, datastore) DO NOTHING",
            )
            .bind(request_id)
            .bind(datastore)
            .bind(&text)
            .bind(now.as_millis())
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }) == 1;
        if inserted {
            let entry = NewEntry::new(
                *actor,
                "request.step",
                Some(Target::new("request", request_id)),
            )
            .with_details(json!({ "datastore": datastore }));
            tx.audit_append(&entry).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// How many stored erasure plans there are (for tests and metrics: plans of completed
    /// requests are deleted with their completion).
    pub async fn erasure_plan_count(&self) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT COUNT(*) FROM request_plans").fetch_one(pool).await?;
            Ok(row.try_get::<i64, _>(0)?)
        })
    }
}

/// Deletes request `id`'s erasure plan and steps inside `tx` (completion does, in its transaction).
pub(crate) async fn delete_in(tx: &mut crate::Tx, id: i64) -> Result<(), StoreError> {
    with_tx!(tx, conn => {
        sqlx::query("DELETE FROM request_steps WHERE request_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM request_plans WHERE request_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}
