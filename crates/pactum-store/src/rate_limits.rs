//! Rate-limit counters kept in the store (`rate_limits` table), so limits hold across restarts
//! and across server instances sharing one database.
//!
//! Windows are fixed: aligned to multiples of the window length since the epoch, one row per
//! bucket and window. A burst across a window boundary may therefore reach twice a limit. Rows
//! carry their window's end as `expires_at`; [`crate::Store::purge_rate_limits`] deletes old ones.
//!
//! Invariant: buckets never hold personal data in clear; callers name them by a purpose prefix
//! and a SHA-256 (`request:ip:HEX`, `login:ip:HEX`, ...).

use std::time::Duration;

use sqlx::Row;

use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Tx, with_tx};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Takes one hit from `bucket`'s allowance of `limit` per `window`, atomically: the count is
/// raised only while it is below `limit` (a conditional upsert, so concurrent callers on either
/// backend can never push it past the limit). Returns `None` when the hit was counted, or how long
/// until the current window ends when the allowance is used up; a refused hit is not counted.
/// A `limit` of 0 refuses every hit.
pub(crate) async fn hit(
    tx: &mut Tx,
    now: Timestamp,
    bucket: &str,
    limit: u32,
    window: Duration,
) -> Result<Option<Duration>, StoreError> {
    let window_ms = millis(window).max(1);
    let start = now.as_millis() - now.as_millis().rem_euclid(window_ms);
    let end = start.saturating_add(window_ms);
    let retry_after = Duration::from_millis(u64::try_from(end - now.as_millis()).unwrap_or(0));
    if limit == 0 {
        return Ok(Some(retry_after));
    }
    // With the condition false, the upsert changes nothing and returns no row.
    let counted = with_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO rate_limits (bucket, window_start, count, expires_at) \
             VALUES ($1, $2, 1, $3) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 \
             WHERE rate_limits.count < $4 \
             RETURNING count",
        )
        .bind(bucket)
        .bind(start)
        .bind(end)
        .bind(i64::from(limit))
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?
    });
    Ok(counted.is_none().then_some(retry_after))
}
