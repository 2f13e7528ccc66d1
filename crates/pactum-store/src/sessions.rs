//! Admin console sessions: a random secret in a cookie, stored only as a SHA-256 hash, with an
//! absolute lifetime, an idle timeout and revocation on sign-out.
//!
//! A session is created after a successful [`Store::login`] and presented on every console request
//! ([`Store::authenticate_session`]). It stops working at its expiry, after its idle timeout without
//! use, when it is revoked ([`Store::end_session`]) or when its user is disabled.
//!
//! Audit: creating a session appends `session.create` and signing out appends `auth.logout`, both
//! naming the session and user by internal id. Keeping a session alive (its last-seen time) is
//! bookkeeping, not a state change anyone decides, so it is not audited.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::accounts::User;
use crate::audit::{Actor, NewEntry, Target, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Store, with_pool, with_tx};

/// What every session secret starts with (distinct from API tokens' `pct_`).
pub const SESSION_PREFIX: &str = "pcs_";

/// Random bytes in a session secret.
const SESSION_BYTES: usize = 32;

/// A session's last-seen time is written at most this often, so that a busy console does not turn
/// every page view into a database write. The idle timeout is therefore exact to within this.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// The most a session lives, however busy.
    pub lifetime: Duration,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
}

impl Default for SessionPolicy {
    /// 12 hours at most, 30 minutes idle.
    fn default() -> Self {
        SessionPolicy {
            lifetime: Duration::from_secs(12 * 60 * 60),
            idle_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A session as stored (the secret is not: only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Internal id: what audit entries refer to.
    pub id: i64,
    /// The signed-in user's internal id.
    pub user_id: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used (to within a minute).
    pub last_seen_at: Timestamp,
    /// When it ends, however busy.
    pub expires_at: Timestamp,
    /// How long it may stay unused.
    pub idle_timeout: Duration,
    /// When it was revoked (signed out), if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Session {
    /// When the session ends if it is not used again: the earlier of its expiry and its idle
    /// deadline.
    pub fn ends_at(&self) -> Timestamp {
        self.expires_at
            .min(self.last_seen_at.plus(self.idle_timeout))
    }
}

/// A session's secret, returned once by [`Store::create_session`] to be put in a cookie. `Debug`
/// hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// The secret text (`pcs_...`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// The result of presenting a session secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCheck {
    /// The session is live and its user enabled.
    Valid(Session, User),
    /// No such session (or not a session secret at all).
    Unknown,
    /// The session passed its lifetime or idle timeout.
    Expired(Session),
    /// The session was signed out.
    Revoked(Session),
    /// The session's user has been disabled since it started.
    UserDisabled(Session),
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

const SELECT_SESSION: &str = "SELECT id, user_id, created_at, last_seen_at, expires_at, \
     idle_timeout_ms, revoked_at, token_hash FROM sessions WHERE token_hash = $1";

fn session_from_row<R: Row>(row: &R) -> Result<(Session, String), StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let idle: i64 = row.try_get(5)?;
    let session = Session {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        created_at: Timestamp::from_millis(row.try_get(2)?),
        last_seen_at: Timestamp::from_millis(row.try_get(3)?),
        expires_at: Timestamp::from_millis(row.try_get(4)?),
        idle_timeout: Duration::from_millis(u64::try_from(idle).unwrap_or(0)),
        revoked_at: row
            .try_get::<Option<i64>, _>(6)?
            .map(Timestamp::from_millis),
    };
    Ok((session, row.try_get(7)?))
}

impl Store {
    /// Starts a session for `user` (who has just signed in) and appends `session.create`. The
    /// secret is returned here and nowhere else: only its SHA-256 is stored.
    #[tracing::instrument(skip_all, fields(user_id = user.id))]
    pub async fn create_session(
        &self,
        user: &User,
        policy: SessionPolicy,
    ) -> Result<(Session, SessionSecret), StoreError> {
        let mut random = [0u8; SESSION_BYTES];
        getrandom::fill(&mut random).map_err(StoreError::Random)?;
        let secret = SessionSecret(format!(
            "{SESSION_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random)
        ));
        let now = self.now();
        let expires_at = now.plus(policy.lifetime);
        let mut tx = self.begin_write().await?;
        let id: i64 = with_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, \
                 idle_timeout_ms) VALUES ($1, $2, $3, $3, $4, $5) RETURNING id",
            )
            .bind(secret_hash(secret.expose()))
            .bind(user.id)
            .bind(now.as_millis())
            .bind(expires_at.as_millis())
            .bind(millis(policy.idle_timeout))
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        let entry = NewEntry::new(
            Actor::User(user.id),
            "session.create",
            Some(Target::new("session", id)),
        )
        .with_details(json!({ "expires_at": expires_at.as_millis() }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        let session = Session {
            id,
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at,
            idle_timeout: policy.idle_timeout,
            revoked_at: None,
        };
        Ok((session, secret))
    }

    async fn find_session(&self, presented: &str) -> Result<Option<Session>, StoreError> {
        if !presented.starts_with(SESSION_PREFIX) || presented.len() > 100 {
            return Ok(None);
        }
        let hash = secret_hash(presented);
        let found = with_pool!(self, pool => {
            match sqlx::query(SELECT_SESSION).bind(&hash).fetch_optional(pool).await? {
                Some(row) => Some(session_from_row(&row)?),
                None => None,
            }
        });
        Ok(found.and_then(|(session, stored)| {
            bool::from(stored.as_bytes().ct_eq(hash.as_bytes())).then_some(session)
        }))
    }

    /// Checks a presented session secret (from the session cookie). A valid session's last-seen
    /// time moves to now (at most once a minute), which keeps it from idling out.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_session(&self, presented: &str) -> Result<SessionCheck, StoreError> {
        let Some(mut session) = self.find_session(presented).await? else {
            return Ok(SessionCheck::Unknown);
        };
        let now = self.now();
        if session.revoked_at.is_some() {
            return Ok(SessionCheck::Revoked(session));
        }
        if session.ends_at() <= now {
            return Ok(SessionCheck::Expired(session));
        }
        let user = self.user(session.user_id).await?;
        if user.disabled_at.is_some() {
            return Ok(SessionCheck::UserDisabled(session));
        }
        if now.minus(TOUCH_INTERVAL) >= session.last_seen_at {
            with_pool!(self, pool => {
                sqlx::query(
                    "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1",
                )
                .bind(now.as_millis())
                .bind(session.id)
                .execute(pool)
                .await?;
            });
            session.last_seen_at = now;
        }
        Ok(SessionCheck::Valid(session, user))
    }

    /// Signs out: revokes the session the secret names and appends `auth.logout`. Returns whether a
    /// live session was revoked; an unknown, expired or already revoked one changes nothing and
    /// appends nothing.
    #[tracing::instrument(skip_all)]
    pub async fn end_session(&self, presented: &str) -> Result<bool, StoreError> {
        let Some(session) = self.find_session(presented).await? else {
            return Ok(false);
        };
        let now = self.now();
        if session.revoked_at.is_some() || session.ends_at() <= now {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        let changed = with_tx!(&mut tx, conn => {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now.as_millis())
                .bind(session.id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            // Signed out concurrently: that request audited it.
            return Ok(false);
        }
        let entry = NewEntry::new(
            Actor::User(session.user_id),
            "auth.logout",
            Some(Target::new("session", session.id)),
        );
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes sessions that can no longer be used (expired, idle too long, or revoked before
    /// `before`), and returns how many. Sign-ins and sign-outs stay in the audit log.
    #[tracing::instrument(skip_all)]
    pub async fn purge_sessions(&self, before: crate::clock::Timestamp) -> Result<u64, StoreError> {
        let now = self.now().as_millis();
        let before = before.as_millis();
        let mut tx = self.begin_write().await?;
        let purged = with_tx!(&mut tx, conn => {
            sqlx::query(
                "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_timeout_ms <= $1 \
                 OR (revoked_at IS NOT NULL AND revoked_at <= $2)",
            )
            .bind(now)
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_from_debug() {
        let secret = SessionSecret("pcs_abc".into());
        assert_eq!(format!("{secret:?}"), "SessionSecret(<redacted>)");
        assert_eq!(secret.expose(), "pcs_abc");
    }

    #[test]
    fn a_session_ends_at_the_earlier_of_expiry_and_idle_deadline() {
        let mut session = Session {
            id: 1,
            user_id: 1,
            created_at: Timestamp::from_millis(0),
            last_seen_at: Timestamp::from_millis(0),
            expires_at: Timestamp::from_millis(10_000),
            idle_timeout: Duration::from_secs(3),
            revoked_at: None,
        };
        assert_eq!(session.ends_at(), Timestamp::from_millis(3_000));
        session.last_seen_at = Timestamp::from_millis(9_000);
        assert_eq!(session.ends_at(), Timestamp::from_millis(10_000));
    }
}
