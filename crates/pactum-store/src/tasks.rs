//! The manual tasks of a request: the part people do by hand in systems Pactum has no connector
//! for (a `manual` datastore, an `http` one without the call needed, a correction described only
//! in words).
//!
//! The executor records a request's tasks with [`Store::open_tasks`] (idempotent: one task per
//! datastore) and leaves the request approved while any is open, so it stays in the queue with its
//! deadline and is never reported done early. Someone records each task done in the console or the
//! API with [`Store::complete_task`]; completing the last one enqueues, in the same transaction,
//! the `request.execute` job again, which finds the automated part done (checkpointed) and
//! completes the request.
//!
//! Privacy: the note is free text (it may name who did what): it is kept with the task and never
//! audited; `request.task_done` carries the task's id and datastore only.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::jobs::NewJob;
use crate::requests::{Lookup, REQUEST_EXECUTE_JOB, RequestStatus, request_in};
use crate::{Store, with_pool, with_tx};

/// Longest note accepted when a task is done.
pub const MAX_TASK_NOTE_CHARS: usize = 2000;

/// A manual task of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Internal id.
    pub id: i64,
    /// The request it belongs to.
    pub request_id: i64,
    /// The datastore (map key) to do it in, or `privacy_team` for a task of the request itself.
    pub datastore: String,
    /// What to do, from the map.
    pub instructions: Option<String>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// When it was done.
    pub done_at: Option<Timestamp>,
    /// Who recorded it done (an [`Actor`]'s stored form).
    pub done_by: Option<String>,
    /// What they wrote.
    pub note: Option<String>,
}

impl Task {
    /// True once done.
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// A task to record: the datastore and its instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// The datastore (map key), or `privacy_team`.
    pub datastore: String,
    /// What to do.
    pub instructions: Option<String>,
}

const TASK_COLUMNS: &str =
    "id, request_id, datastore, instructions, created_at, done_at, done_by, note";

fn task_from_row<R: Row>(row: &R) -> Result<Task, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(Task {
        id: row.try_get(0)?,
        request_id: row.try_get(1)?,
        datastore: row.try_get(2)?,
        instructions: row.try_get(3)?,
        created_at: Timestamp::from_millis(row.try_get(4)?),
        done_at: row
            .try_get::<Option<i64>, _>(5)?
            .map(Timestamp::from_millis),
        done_by: row.try_get(6)?,
        note: row.try_get(7)?,
    })
}

impl Store {
    /// Records `tasks` for approved request `id` (those recorded before are left as they are)
    /// and returns all its tasks, in the order recorded. Appends `request.tasks_open` with the
    /// number of tasks added, when some were.
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn open_tasks(
        &self,
        actor: &Actor,
        id: i64,
        tasks: &[NewTask],
    ) -> Result<Vec<Task>, StoreError> {
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let Some(request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
            return Err(StoreError::NotFound {
                kind: "request",
                id,
            });
        };
        if request.status != RequestStatus::Approved {
            return Err(StoreError::RequestState {
                id,
                status: request.status,
                action: "given tasks",
            });
        }
        let mut added = 0;
        for task in tasks {
            added += with_tx!(&mut tx.tx, conn => {
                sqlx::query(
                    "INSERT INTO request_tasks (request_id, datastore, instructions, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, datastore) DO NOTHING",
                )
                .bind(id)
                .bind(&task.datastore)
                .bind(&task.instructions)
                .bind(now.as_millis())
                .execute(&mut *conn)
                .await?
                .rows_affected()
            });
        }
        if added > 0 {
            tx.audit_append(
                &NewEntry::new(
                    *actor,
                    "request.tasks_open",
                    Some(Target::new("request", id)),
                )
                .with_details(json!({ "added": added })),
            )
            .await?;
        }
        let all = tasks_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(all)
    }

    /// Request `id`'s tasks, in the order recorded.
    pub async fn request_tasks(&self, id: i64) -> Result<Vec<Task>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TASK_COLUMNS} FROM request_tasks WHERE request_id = $1 ORDER BY id"
            )))
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter().map(task_from_row).collect()
        })
    }

    /// Records task `task_id` of request `id` done by `actor`, with `note` (1 to
    /// [`MAX_TASK_NOTE_CHARS`] characters: what was done). When it was the last open task, the
    /// `request.execute` job is enqueued in the same transaction to complete the request.
    /// [`StoreError::TaskDone`] when it was done already; [`StoreError::RequestState`] when the
    /// request is not approved. Appends `request.task_done` (the task's id and datastore).
    #[tracing::instrument(skip_all, fields(request = id, task = task_id))]
    pub async fn complete_task(
        &self,
        actor: &Actor,
        id: i64,
        task_id: i64,
        note: &str,
    ) -> Result<Task, StoreError> {
        let note = note.trim();
        let length = note.chars().count();
        if length == 0 || length > MAX_TASK_NOTE_CHARS {
            return Err(StoreError::InvalidRequest(
                "say what was done, in 1 to 2000 characters",
            ));
        }
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let Some(request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
            return Err(StoreError::NotFound {
                kind: "request",
                id,
            });
        };
        let tasks = tasks_in(&mut tx, id).await?;
        let Some(task) = tasks.iter().find(|t| t.id == task_id) else {
            return Err(StoreError::NotFound {
                kind: "task",
                id: task_id,
            });
        };
        if task.is_done() {
            return Err(StoreError::TaskDone { id: task_id });
        }
        if request.status != RequestStatus::Approved {
            return Err(StoreError::RequestState {
                id,
                status: request.status,
                action: "worked on",
            });
        }
        let by = actor.to_string();
        with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "UPDATE request_tasks SET done_at = $1, done_by = $2, note = $3 \
                 WHERE id = $4 AND done_at IS NULL",
            )
            .bind(now.as_millis())
            .bind(&by)
            .bind(note)
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
        });
        tx.audit_append(
            &NewEntry::new(
                *actor,
                "request.task_done",
                Some(Target::new("request", id)),
            )
            .with_details(json!({ "task_id": task_id, "datastore": task.datastore })),
        )
        .await?;
        let open = tasks
            .iter()
            .filter(|t| !t.is_done() && t.id != task_id)
            .count();
        if open == 0 {
            let job = NewJob::new(REQUEST_EXECUTE_JOB, json!({ "request_id": id }))
                .with_key(&format!("{REQUEST_EXECUTE_JOB}:{id}:tasks-done"));
            tx.enqueue(&job).await?;
        }
        tx.commit().await?;
        Ok(Task {
            done_at: Some(now),
            done_by: Some(by),
            note: Some(note.to_owned()),
            ..task.clone()
        })
    }
}

async fn tasks_in(tx: &mut crate::jobs::Transaction, id: i64) -> Result<Vec<Task>, StoreError> {
    with_tx!(&mut tx.tx, conn => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM request_tasks WHERE request_id = $1 ORDER BY id"
        )))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(task_from_row).collect()
    })
}
