//! Where a request's execution stands, and trying it again once every attempt has failed.
//!
//! A `request.execute` job that fails is retried with backoff; after its last attempt it is dead
//! and the request stays approved, with its deadline running: the privacy team sees why on the
//! request ([`Store::request_execution`]: the job's status, attempts and last error, which names
//! datastores, never people) and, once the cause is mended (a database back up, a credential
//! renewed), runs it again ([`Store::retry_request`]). The new job resumes from the stored plan
//! (checkpoints), so nothing applied before is applied twice.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target};
use crate::error::StoreError;
use crate::jobs::{JobStatus, NewJob};
use crate::requests::{Lookup, REQUEST_EXECUTE_JOB, RequestStatus, request_in};
use crate::{Store, with_pool, with_tx};

/// The latest `request.execute` job of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// The job's id.
    pub job_id: i64,
    /// Where it stands.
    pub status: JobStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// Its most recent error (datastores and causes, never personal data).
    pub last_error: Option<String>,
}

/// The SQL condition matching request `$1`'s execution jobs by their keys
/// (`request.execute:ID`, `request.execute:ID:...`).
const KEYS: &str = "kind = 'request.execute' AND (idempotency_key = $1 OR idempotency_key LIKE $2)";

fn keys(id: i64) -> (String, String) {
    let key = format!("{REQUEST_EXECUTE_JOB}:{id}");
    let more = format!("{key}:%");
    (key, more)
}

impl Store {
    /// The latest execution job of request `id`, if it has one.
    pub async fn request_execution(&self, id: i64) -> Result<Option<Execution>, StoreError> {
        let (key, more) = keys(id);
        let row: Option<(i64, String, i64, Option<String>)> = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, status, attempts, last_error FROM jobs WHERE {KEYS} \
                 ORDER BY id DESC LIMIT 1"
            )))
            .bind(&key)
            .bind(&more)
            .fetch_optional(pool)
            .await?
            .map(|row| {
                Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
            })
            .transpose()?
        });
        row.map(|(job_id, status, attempts, last_error)| {
            Ok(Execution {
                job_id,
                status: status.parse().map_err(|()| StoreError::Corrupt {
                    table: "jobs",
                    id: job_id,
                    what: format!("unknown status {status:?}"),
                })?,
                attempts,
                last_error,
            })
        })
        .transpose()
    }

    /// Runs approved request `id` again after its execution job died: enqueues a new
    /// `request.execute` job (it resumes from the stored plan) and appends `request.retry`.
    /// [`StoreError::RequestState`] when the request is not approved, or its execution is not
    /// dead (it is queued, running, retrying or done).
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn retry_request(&self, actor: &Actor, id: i64) -> Result<i64, StoreError> {
        let mut tx = self.transaction().await?;
        let Some(request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
            return Err(StoreError::NotFound {
                kind: "request",
                id,
            });
        };
        let (key, more) = keys(id);
        let latest: Option<(i64, String)> = with_tx!(&mut tx.tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, status FROM jobs WHERE {KEYS} ORDER BY id DESC LIMIT 1"
            )))
            .bind(&key)
            .bind(&more)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
            .transpose()?
        });
        let dead = latest.as_ref().is_some_and(|(_, status)| status == "dead");
        if request.status != RequestStatus::Approved || !dead {
            return Err(StoreError::RequestState {
                id,
                status: request.status,
                action: "retried (only an approved request whose execution stopped can be)",
            });
        }
        let previous = latest.map_or(0, |(job, _)| job);
        let job = NewJob::new(REQUEST_EXECUTE_JOB, json!({ "request_id": id }))
            .with_key(&format!("{key}:retry:{previous}"));
        let enqueued = tx.enqueue(&job).await?;
        tx.audit_append(
            &NewEntry::new(*actor, "request.retry", Some(Target::new("request", id)))
                .with_details(json!({ "job_id": enqueued.id, "after_job": previous })),
        )
        .await?;
        tx.commit().await?;
        Ok(enqueued.id)
    }
}
