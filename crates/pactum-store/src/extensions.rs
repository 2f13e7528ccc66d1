//! Extending a request's deadline, once, as the law allows: GDPR and UK GDPR by two further months
//! (Art. 12(3)), CCPA by 45 days, PIPEDA by 30, each with notice to the person, with reasons,
//! within the first period.
//!
//! The extended deadline itself is computed at intake (the request's `extended_due`); extending
//! makes it the effective one. The reason is what the person is told: it is stored, never audited.

use serde_json::json;
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::requests::{Lookup, Request, RequestStatus, request_in};
use crate::{Store, with_pool, with_tx};

/// Longest reason accepted.
pub const MAX_EXTENSION_REASON_CHARS: usize = 2000;

/// A request's extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub extended_at: Timestamp,
    /// The effective deadline before the extension.
    pub previous_due: String,
    /// The effective deadline after it.
    pub new_due: String,
    /// What the person was told.
    pub reason: String,
}

impl Store {
    /// Extends request `id` to its `extended_due`, on `today` (`YYYY-MM-DD`, from the caller's
    /// clock, as the deadlines are). Refused with [`StoreError::RequestState`] unless the request
    /// is verified or approved, and with [`StoreError::InvalidRequest`] when its law allows no
    /// extension, when it was extended already, when `today` is past its legal deadline (notice
    /// must come within the first period) or when the reason is empty or too long. Appends
    /// `request.extend` with the dates only.
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn extend_request(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
        today: &str,
    ) -> Result<Request, StoreError> {
        let reason = reason.trim();
        let length = reason.chars().count();
        if length == 0 || length > MAX_EXTENSION_REASON_CHARS {
            return Err(StoreError::InvalidRequest(
                "an extension needs a reason of 1 to 2000 characters",
            ));
        }
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let Some(mut request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
            return Err(StoreError::NotFound {
                kind: "request",
                id,
            });
        };
        if !matches!(
            request.status,
            RequestStatus::Verified | RequestStatus::Approved
        ) {
            return Err(StoreError::RequestState {
                id,
                status: request.status,
                action: "extended",
            });
        }
        let Some(new_due) = request.deadline.extended_due.clone() else {
            return Err(StoreError::InvalidRequest(
                "the law this request is made under allows no extension",
            ));
        };
        if today > request.deadline.legal_due.as_str() {
            return Err(StoreError::InvalidRequest(
                "an extension must be notified before the first deadline has passed",
            ));
        }
        let previous_due = request.deadline.due_on.clone();
        let inserted = with_tx!(&mut tx.tx, conn => {
            let inserted = sqlx::query(
                "INSERT INTO request_extensions (request_id, extended_at, previous_due, new_due, reason) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(id)
            .bind(now.as_millis())
            .bind(&previous_due)
            .bind(&new_due)
            .bind(reason)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE requests SET due_on = $1 WHERE id = $2")
                    .bind(&new_due)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            inserted
        });
        if inserted == 0 {
            return Err(StoreError::InvalidRequest(
                "this request's deadline was extended already",
            ));
        }
        tx.audit_append(
            &NewEntry::new(*actor, "request.extend", Some(Target::new("request", id)))
                .with_details(json!({ "previous_due": previous_due, "new_due": new_due })),
        )
        .await?;
        tx.commit().await?;
        request.deadline.due_on = new_due;
        Ok(request)
    }

    /// The extension of request `id`, if it was extended.
    pub async fn request_extension(&self, id: i64) -> Result<Option<Extension>, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT extended_at, previous_due, new_due, reason FROM request_extensions \
                 WHERE request_id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match row {
                Some(row) => Ok(Some(Extension {
                    extended_at: Timestamp::from_millis(row.try_get(0)?),
                    previous_due: row.try_get(1)?,
                    new_due: row.try_get(2)?,
                    reason: row.try_get(3)?,
                })),
                None => Ok(None),
            }
        })
    }
}
