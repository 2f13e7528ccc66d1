//! The admin API under `/api/v1/admin`: the audit log, users and API tokens. Every handler takes a
//! [`Principal`] (bearer token) and requires one [`Permission`] before touching anything; reads of
//! protected data append an audit entry naming who read what (never the data itself).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pactum_store::accounts::{Role, User};
use pactum_store::audit::{Entry, NewEntry, VerifyReport};
use pactum_store::tokens::{ApiToken, NewToken};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::problem::Problem;

/// Most audit entries returned by one page.
const MAX_PAGE: i64 = 1000;
/// Entries per page when `limit` is not given.
const DEFAULT_PAGE: i64 = 100;
/// Longest token lifetime accepted, in days (ten years).
const MAX_EXPIRY_DAYS: u32 = 3650;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(audit_verify))
        .routes(routes!(audit_entries))
        .routes(routes!(list_users))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A role, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RoleName {
    /// Everything, including users and tokens.
    Owner,
    /// Decides data subject requests.
    PrivacyOfficer,
    /// Reads the data map, requests and reports.
    Analyst,
    /// Reads the audit log and evidence only.
    Auditor,
    /// Manages datastores and connectors.
    Engineer,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> RoleName {
        match role {
            Role::Owner => RoleName::Owner,
            Role::PrivacyOfficer => RoleName::PrivacyOfficer,
            Role::Analyst => RoleName::Analyst,
            Role::Auditor => RoleName::Auditor,
            Role::Engineer => RoleName::Engineer,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Role {
        match role {
            RoleName::Owner => Role::Owner,
            RoleName::PrivacyOfficer => Role::PrivacyOfficer,
            RoleName::Analyst => Role::Analyst,
            RoleName::Auditor => Role::Auditor,
            RoleName::Engineer => Role::Engineer,
        }
    }
}

/// The result of walking the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditVerification {
    /// Whether every entry and the head are intact.
    intact: bool,
    /// Entries read.
    entries: u64,
    /// The seq of the last intact entry (0 if none).
    last_seq: i64,
    /// The hash of the last intact entry: record it elsewhere to anchor the chain.
    last_hash: String,
    /// The first broken link, if any.
    broken: Option<BrokenLinkView>,
}

/// Where and why the chain is broken.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BrokenLinkView {
    /// The seq where the break shows.
    seq: i64,
    /// What is wrong there, in words.
    reason: String,
}

impl From<VerifyReport> for AuditVerification {
    fn from(report: VerifyReport) -> AuditVerification {
        AuditVerification {
            intact: report.is_intact(),
            entries: report.entries,
            last_seq: report.last_seq,
            last_hash: report.last_hash,
            broken: report.broken.map(|b| BrokenLinkView {
                seq: b.seq,
                reason: b.reason.to_string(),
            }),
        }
    }
}

/// One audit log entry, with everything needed to re-verify the chain.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryView {
    /// Position in the chain, from 1.
    seq: i64,
    /// When it was appended (RFC 3339, UTC).
    timestamp: String,
    /// When it was appended, in milliseconds since the epoch (the hashed value).
    timestamp_ms: i64,
    /// Who acted: `system`, `cli`, `user:ID` or `token:ID`.
    actor: String,
    /// What was done, e.g. `token.revoke`.
    action: String,
    /// The kind of object acted on, if any.
    target_kind: Option<String>,
    /// The internal id of the object acted on, if any.
    target_id: Option<String>,
    /// Non-personal details, as stored (canonical JSON text).
    details: String,
    /// The previous entry's hash.
    prev_hash: String,
    /// This entry's hash.
    hash: String,
}

impl From<Entry> for AuditEntryView {
    fn from(e: Entry) -> AuditEntryView {
        AuditEntryView {
            seq: e.seq,
            timestamp: e.timestamp.to_string(),
            timestamp_ms: e.timestamp.as_millis(),
            actor: e.actor,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            details: e.details,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// Paging through the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditPage {
    /// Return entries with seq greater than this (default 0: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Most entries to return (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// An admin user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    /// Internal id.
    id: i64,
    /// Sign-in address.
    email: String,
    /// What the user may do.
    role: RoleName,
    /// When the user was created (RFC 3339).
    created_at: String,
    /// When the user was disabled, if they were.
    disabled_at: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id,
            email: u.email.as_str().to_owned(),
            role: u.role.into(),
            created_at: u.created_at.to_string(),
            disabled_at: u.disabled_at.map(|t| t.to_string()),
        }
    }
}

/// Whether a token authenticates now.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenStatus {
    /// It authenticates.
    Active,
    /// Its expiry has passed.
    Expired,
    /// It was revoked.
    Revoked,
}

/// An API token, without its secret (which the server does not keep).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenView {
    /// Internal id: what `DELETE /api/v1/admin/tokens/{id}` takes.
    id: i64,
    /// The label given at creation.
    name: String,
    /// The roles it acts with.
    roles: Vec<RoleName>,
    /// Who created it (`cli`, `user:ID`, `token:ID`).
    created_by: String,
    /// When it was created (RFC 3339).
    created_at: String,
    /// When it stops working, if ever.
    expires_at: Option<String>,
    /// When it was revoked, if it was.
    revoked_at: Option<String>,
    /// Whether it authenticates now.
    status: TokenStatus,
}

fn token_view(t: ApiToken, now: pactum_store::clock::Timestamp) -> TokenView {
    let status = if t.revoked_at.is_some() {
        TokenStatus::Revoked
    } else if t.is_active(now) {
        TokenStatus::Active
    } else {
        TokenStatus::Expired
    };
    TokenView {
        id: t.id,
        name: t.name,
        roles: t.roles.into_iter().map(RoleName::from).collect(),
        created_by: t.created_by,
        created_at: t.created_at.to_string(),
        expires_at: t.expires_at.map(|at| at.to_string()),
        revoked_at: t.revoked_at.map(|at| at.to_string()),
        status,
    }
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenRequest {
    /// A label (e.g. `ci-deploy`): at most 100 characters, no control characters, at least one
    /// ASCII letter or digit.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[0-9A-Za-z][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    name: String,
    /// The roles it acts with: at least one.
    #[schema(min_items = 1)]
    roles: Vec<RoleName>,
    /// Days until it expires (1 to 3650); absent for a token that never expires.
    #[schema(minimum = 1, maximum = 3650)]
    // JSON Schema counts `30.0` as an integer, so the number is read as a float and checked.
    #[schema(value_type = Option<u32>)]
    expires_in_days: Option<f64>,
}

/// `days` as a whole number of days from 1 to [`MAX_EXPIRY_DAYS`], if it is one.
fn whole_days(days: f64) -> Option<u32> {
    // Invariant: a whole number in 1..=3650 converts to u32 exactly.
    (days.fract() == 0.0 && (1.0..=f64::from(MAX_EXPIRY_DAYS)).contains(&days))
        .then_some(days as u32)
}

/// Exactly what the schema's `pattern` and `maxLength` for a token name allow.
fn valid_token_name(name: &str) -> bool {
    name.chars().count() <= 100
        && !name.chars().any(char::is_control)
        && name.chars().any(|c| c.is_ascii_alphanumeric())
}

/// A created token and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// The token as listed.
    token: TokenView,
    /// The secret (`pct_...`): store it now, the server keeps only its hash.
    secret: String,
}

/// Who the caller is: the token's internal id, roles and what they grant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// `token:ID`.
    actor: String,
    roles: Vec<RoleName>,
    /// Permission names, e.g. `read_audit`.
    permissions: Vec<&'static str>,
}

/// The caller's own identity and permissions. Any valid token may ask; nothing is audited, because
/// it reads no one's data but the caller's own credentials.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
    )
)]
async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        actor: principal.actor.to_string(),
        roles: principal
            .roles
            .iter()
            .copied()
            .map(RoleName::from)
            .collect(),
        permissions: Permission::ALL
            .iter()
            .filter(|p| principal.may(**p))
            .map(|p| p.as_str())
            .collect(),
    })
}

/// Verifies the audit log's hash chain and reports the first broken link. Audited as `audit.verify`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit/verify",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verification report", body = AuditVerification),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant read_audit", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn audit_verify(
    principal: Principal,
    State(state): State<AppState>,
) -> Result<Json<AuditVerification>, ApiError> {
    principal.require(Permission::ReadAudit)?;
    let report = state.store.audit_verify().await?;
    let intact = report.is_intact();
    let entries = report.entries;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "audit.verify", None)
                .with_details(json!({ "intact": intact, "entries": entries })),
        )
        .await?;
    Ok(Json(report.into()))
}

/// Pages through the audit log in seq order. Audited as `audit.read` (the range read).
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit/entries",
    tag = "admin",
    security(("bearer" = [])),
    params(AuditPage),
    responses(
        (status = 200, description = "Entries after `after`, at most `limit`", body = Vec<AuditEntryView>),
        (status = 400, description = "Malformed or out-of-range parameters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant read_audit", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn audit_entries(
    principal: Principal,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<AuditPage>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    principal.require(Permission::ReadAudit)?;
    let after = page.after.unwrap_or(0);
    let limit = page.limit.unwrap_or(DEFAULT_PAGE);
    if after < 0 {
        return Err(ApiError::BadRequest("`after` must be 0 or more".to_owned()));
    }
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be 1 to {MAX_PAGE}"
        )));
    }
    let entries = state.store.audit_entries(after, limit).await?;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "audit.read", None)
                .with_details(json!({ "after": after, "count": entries.len() })),
        )
        .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Lists the admin users (owner only). Audited as `user.list`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every admin user, by id", body = Vec<UserView>),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant manage_users", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_users(
    principal: Principal,
    State(state): State<AppState>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    principal.require(Permission::ManageUsers)?;
    let users = state.store.list_users().await?;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "user.list", None)
                .with_details(json!({ "count": users.len() })),
        )
        .await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// Lists the API tokens, without secrets (owner only). Audited as `token.list`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/tokens",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every token, by id", body = Vec<TokenView>),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant manage_tokens", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_tokens(
    principal: Principal,
    State(state): State<AppState>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    principal.require(Permission::ManageTokens)?;
    let tokens = state.store.list_tokens().await?;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "token.list", None)
                .with_details(json!({ "count": tokens.len() })),
        )
        .await?;
    let now = state.store.now();
    Ok(Json(
        tokens.into_iter().map(|t| token_view(t, now)).collect(),
    ))
}

/// Creates an API token (owner only) and returns its secret, this once. Audited as `token.create`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/tokens",
    tag = "admin",
    security(("bearer" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token and its secret", body = CreatedToken),
        (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant manage_tokens", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name, roles or expiry are not acceptable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_token(
    principal: Principal,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    principal.require(Permission::ManageTokens)?;
    if !valid_token_name(&request.name) {
        return Err(ApiError::Unprocessable(
            "the token name must be at most 100 characters, with no control characters and at least one ASCII letter or digit".to_owned(),
        ));
    }
    let now = state.store.now();
    let expires_at = match request.expires_in_days.map(whole_days) {
        None => None,
        Some(Some(days)) => Some(now.plus(std::time::Duration::from_secs(
            u64::from(days) * 24 * 60 * 60,
        ))),
        Some(None) => {
            return Err(ApiError::Unprocessable(format!(
                "`expires_in_days` must be a whole number from 1 to {MAX_EXPIRY_DAYS}"
            )));
        }
    };
    let new = NewToken {
        name: request.name,
        roles: request.roles.into_iter().map(Role::from).collect(),
        expires_at,
    };
    let (token, secret) = state.store.create_token(&principal.actor, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token_view(token, now),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Revokes an API token at once (owner only). Revoking a revoked token changes nothing. Audited as
/// `token.revoke`.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/tokens/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The token's internal id")),
    responses(
        (status = 200, description = "The revoked token", body = TokenView),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant manage_tokens", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No token with this id", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke_token(
    principal: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TokenView>, ApiError> {
    principal.require(Permission::ManageTokens)?;
    let token = state.store.revoke_token(&principal.actor, id).await?;
    tracing::info!(token_id = id, "token revoked");
    Ok(Json(token_view(token, state.store.now())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_whole_number_of_days_in_range() {
        assert_eq!(whole_days(30.0), Some(30));
        assert_eq!(whole_days(1.0), Some(1));
        assert_eq!(whole_days(3650.0), Some(3650));
        for bad in [0.0, -1.0, 1.5, 3651.0, f64::NAN, f64::INFINITY] {
            assert_eq!(whole_days(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_names_match_the_documented_pattern() {
        for good in ["ci-deploy", " a ", "é1", "x".repeat(100).as_str()] {
            assert!(valid_token_name(good), "{good:?}");
        }
        for bad in [
            "",
            "   ",
            "--",
            "a\u{84}",
            "a\tb",
            "\u{2003}",
            "x".repeat(101).as_str(),
        ] {
            assert!(!valid_token_name(bad), "{bad:?}");
        }
    }
}
