//! API tokens for automation: `pct_` and 32 random bytes (base64url), shown once at creation,
//! stored only as a SHA-256 hash, scoped to roles, with an optional expiry, revocable.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::accounts::Role;
use crate::audit::{Actor, NewEntry, Target, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Store, with_pool, with_tx};

/// What every token starts with, so that secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "pct_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A token as listed: everything but the secret, which the store does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Internal id: what `revoke` and audit entries use.
    pub id: i64,
    /// A label chosen at creation (e.g. `ci-deploy`).
    pub name: String,
    /// The roles the token acts with.
    pub roles: Vec<Role>,
    /// Who created it (an [`Actor`]'s stored form).
    pub created_by: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// Whether the token authenticates at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// The token's secret, returned once by [`Store::create_token`]. `Debug` and `Display` hide it;
/// call [`TokenSecret::expose`] to show it to the person who asked for it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// The full token text (`pct_...`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A label: 1 to 100 printable characters.
    pub name: String,
    /// At least one role.
    pub roles: Vec<Role>,
    /// When it stops working; `None` for never.
    pub expires_at: Option<Timestamp>,
}

/// The result of presenting a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token is known, unexpired and not revoked.
    Valid(ApiToken),
    /// No such token (or not a Pactum token at all).
    Unknown,
    /// The token expired.
    Expired(ApiToken),
    /// The token was revoked.
    Revoked(ApiToken),
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn roles_text(roles: &[Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The token columns [`token_from_row`] reads, followed by `$tail` (a literal, so the SQL stays
/// static).
macro_rules! select_token {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, roles, created_by, created_at, expires_at, revoked_at, token_hash \
             FROM api_tokens ",
            $tail
        )
    };
}

fn token_from_row<R: Row>(row: &R) -> Result<(ApiToken, String), StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get(0)?;
    let roles: String = row.try_get(2)?;
    let roles = roles
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<Role>, _>>()
        .map_err(|e| StoreError::Corrupt {
            table: "api_tokens",
            id,
            what: e.to_string(),
        })?;
    let token = ApiToken {
        id,
        name: row.try_get(1)?,
        roles,
        created_by: row.try_get(3)?,
        created_at: Timestamp::from_millis(row.try_get(4)?),
        expires_at: row
            .try_get::<Option<i64>, _>(5)?
            .map(Timestamp::from_millis),
        revoked_at: row
            .try_get::<Option<i64>, _>(6)?
            .map(Timestamp::from_millis),
    };
    Ok((token, row.try_get(7)?))
}

impl Store {
    /// Creates a token and appends `token.create` (id, roles and expiry; never the secret). The
    /// secret is returned here and nowhere else: only its SHA-256 is stored.
    #[tracing::instrument(skip_all)]
    pub async fn create_token(
        &self,
        actor: &Actor,
        new: &NewToken,
    ) -> Result<(ApiToken, TokenSecret), StoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.contains(char::is_control) {
            return Err(StoreError::InvalidTokenName);
        }
        if new.roles.is_empty() {
            return Err(StoreError::NoRoles);
        }
        let now = self.now();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(StoreError::ExpiryInPast);
        }
        let mut random = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut random).map_err(StoreError::Random)?;
        let secret = TokenSecret(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random)));
        let roles = roles_text(&new.roles);
        let created_by = actor.to_string();
        let expires = new.expires_at.map(Timestamp::as_millis);

        let mut tx = self.begin_write().await?;
        let id: i64 = with_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO api_tokens (name, token_hash, roles, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(token_hash(secret.expose()))
            .bind(&roles)
            .bind(&created_by)
            .bind(now.as_millis())
            .bind(expires)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        let entry = NewEntry::new(*actor, "token.create", Some(Target::new("token", id)))
            .with_details(
                json!({ "roles": roles.split(',').collect::<Vec<_>>(), "expires_at": expires }),
            );
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;

        let mut sorted = new.roles.clone();
        sorted.sort();
        sorted.dedup();
        let token = ApiToken {
            id,
            name: name.to_owned(),
            roles: sorted,
            created_by,
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        Ok((token, secret))
    }

    /// Revokes token `id` and appends `token.revoke`. Revoking a revoked token changes nothing and
    /// appends nothing.
    #[tracing::instrument(skip_all, fields(token_id = id))]
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<ApiToken, StoreError> {
        let now = self.now();
        let sql = select_token!("WHERE id = $1");
        let mut tx = self.begin_write().await?;
        let (mut token, _) = with_tx!(&mut tx, conn => {
            match sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await? {
                Some(row) => token_from_row(&row)?,
                None => return Err(StoreError::NotFound { kind: "token", id }),
            }
        });
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        with_tx!(&mut tx, conn => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
                .bind(now.as_millis())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        });
        let entry = NewEntry::new(*actor, "token.revoke", Some(Target::new("token", id)));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        token.revoked_at = Some(now);
        Ok(token)
    }

    /// Every token, by id, without secrets.
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = select_token!("ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(|r| token_from_row(r).map(|(t, _)| t)).collect()
        })
    }

    /// Checks a presented token (e.g. from `Authorization: Bearer`). Looks it up by its SHA-256
    /// and compares the hashes in constant time. Read-only: it appends no audit entry.
    pub async fn authenticate_token(&self, presented: &str) -> Result<TokenCheck, StoreError> {
        if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 100 {
            return Ok(TokenCheck::Unknown);
        }
        let hash = token_hash(presented);
        let sql = select_token!("WHERE token_hash = $1");
        let found = with_pool!(self, pool => {
            match sqlx::query(sql).bind(&hash).fetch_optional(pool).await? {
                Some(row) => Some(token_from_row(&row)?),
                None => None,
            }
        });
        let Some((token, stored)) = found else {
            return Ok(TokenCheck::Unknown);
        };
        if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(TokenCheck::Unknown);
        }
        let now = self.now();
        Ok(if token.revoked_at.is_some() {
            TokenCheck::Revoked(token)
        } else if token.expires_at.is_some_and(|at| at <= now) {
            TokenCheck::Expired(token)
        } else {
            TokenCheck::Valid(token)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_sorted_and_unique() {
        assert_eq!(
            roles_text(&[Role::Engineer, Role::Analyst, Role::Engineer]),
            "analyst,engineer"
        );
    }

    #[test]
    fn secrets_are_hidden_from_debug() {
        let secret = TokenSecret("pct_abc".into());
        assert_eq!(format!("{secret:?}"), "TokenSecret(<redacted>)");
        assert_eq!(secret.expose(), "pct_abc");
    }
}
