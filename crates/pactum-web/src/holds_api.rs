//! Legal holds over the JSON API, under `/api/v1/admin/holds`: placed on a person (by email
//! address or phone number) for some datastores or collections, listed, and released. An erasure
//! run while a hold stands keeps the records it covers and tells the person why; releasing the
//! hold erases them by itself (see `pactum_store::holds`).
//!
//! The hold's reason is shown to the person whose erasure it defers and never audited; the
//! identity is kept only hashed, so a listed hold shows its identity kind, not who it is on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pactum_store::error::StoreError;
use pactum_store::holds::{Hold, MAX_HOLD_REASON_CHARS, MAX_SCOPE_ENTRIES, NewHold};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::problem::Problem;
use crate::requests_api::AdminIdentity;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_holds, place_hold))
        .routes(routes!(release_hold))
}

/// The pattern of a scope entry: `datastore` or `datastore.collection`, no spaces or control
/// characters.
const SCOPE_PATTERN: &str = "^[^.\\s\\x00-\\x1f\\x7f-\\x9f]+(\\.[^.\\s\\x00-\\x1f\\x7f-\\x9f]+)?$";

/// A hold's scope: at most 100 `datastore` or `datastore.collection` keys of the data map.
fn scope_schema() -> Schema {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(SCOPE_PATTERN))
                .min_length(Some(1))
                .max_length(Some(200)),
        )
        .max_items(Some(MAX_SCOPE_ENTRIES))
        .description(Some(
            "`datastore` or `datastore.collection` keys of the data map (others: 404); empty holds every datastore",
        ))
        .examples([json!(["web_db.invoices"])])
        .into()
}

/// A hold to place.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewHoldBody {
    /// The person: `{"email": ...}` or `{"phone": ...}` (normalised, then kept only as a hash).
    identity: AdminIdentity,
    /// `datastore` or `datastore.collection` keys from the data map; empty holds every datastore.
    #[serde(default)]
    #[schema(schema_with = scope_schema)]
    scope: Vec<String>,
    /// Why: shown to the person whose erasure the hold defers, never written to the audit log.
    /// 1 to 2000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 2000, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    reason: String,
}

/// A legal hold.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HoldView {
    /// Internal id.
    id: i64,
    /// `email` or `phone` (the identity itself is kept only hashed).
    identity_kind: String,
    /// What it covers; empty: every datastore.
    scope: Vec<String>,
    /// Why.
    reason: String,
    /// Who placed it (`user:ID`, `token:ID`, `cli`).
    placed_by: String,
    /// When (RFC 3339, UTC).
    placed_at: String,
    /// When it was released, if it was.
    released_at: Option<String>,
    /// Who released it.
    released_by: Option<String>,
    /// True while it stands.
    active: bool,
}

impl From<Hold> for HoldView {
    fn from(hold: Hold) -> HoldView {
        HoldView {
            id: hold.id,
            active: hold.is_active(),
            identity_kind: hold.identity_kind,
            scope: hold.scope,
            reason: hold.reason,
            placed_by: hold.placed_by,
            placed_at: hold.placed_at.to_string(),
            released_at: hold.released_at.map(|t| t.to_string()),
            released_by: hold.released_by,
        }
    }
}

/// Store errors as this API answers them.
fn api_error(err: StoreError) -> ApiError {
    match err {
        StoreError::HoldReleased { .. } => ApiError::Conflict(err.to_string()),
        StoreError::InvalidEmail => ApiError::Unprocessable(err.to_string()),
        other => ApiError::from(other),
    }
}

/// Places a legal hold: erasures of this person keep the records in its scope (and say why)
/// until it is released. Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/holds",
    tag = "admin",
    request_body = NewHoldBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Placed", body = HoldView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A scope entry names no datastore or collection of the data map", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn place_hold(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<ApiJson<NewHoldBody>, ApiError>,
) -> Result<(StatusCode, Json<HoldView>), ApiError> {
    // The permission is checked before the body is looked at.
    principal.require(Permission::DecideRequests)?;
    let ApiJson(body) = body?;
    let length = body.reason.trim().chars().count();
    if length == 0 || length > MAX_HOLD_REASON_CHARS {
        return Err(ApiError::Unprocessable(
            "a hold needs a reason of 1 to 2000 characters".to_owned(),
        ));
    }
    if body.scope.len() > MAX_SCOPE_ENTRIES {
        return Err(ApiError::Unprocessable(
            "a hold's scope has at most 100 entries".to_owned(),
        ));
    }
    // A hold on a datastore the map does not have would hold nothing, silently.
    let known = &state.site.requests.collections;
    if body.scope.iter().any(|s| !known.contains(s)) {
        return Err(ApiError::NotFound(
            "datastore or collection in the data map",
        ));
    }
    let (identity_kind, identity_value) = match body.identity {
        AdminIdentity::Email { email } => ("email", email),
        AdminIdentity::Phone { phone } => ("phone", phone),
    };
    let new = NewHold {
        identity_kind: identity_kind.to_owned(),
        identity_value,
        scope: body.scope,
        reason: body.reason,
    };
    let hold = state
        .store
        .place_hold(&principal.actor, &new)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(hold.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HoldsQuery {
    /// Include released holds (newest first, with the active ones).
    released: Option<bool>,
    /// Most holds to return (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The legal holds, newest first: those standing, and with `released=true` the released ones.
/// Needs `read_requests`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/holds",
    tag = "admin",
    params(HoldsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Holds, newest first", body = [HoldView]),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant read_requests", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_holds(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<HoldsQuery>,
) -> Result<Json<Vec<HoldView>>, ApiError> {
    principal.require(Permission::ReadRequests)?;
    let limit = query.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".to_owned(),
        ));
    }
    let holds = state
        .store
        .list_holds(query.released.unwrap_or(false), limit)
        .await?;
    Ok(Json(holds.into_iter().map(HoldView::from).collect()))
}

/// A hold's internal id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct HoldId {
    /// Internal id.
    id: i64,
}

/// Releases a legal hold: the erasures it deferred run by themselves (at once, or when a
/// statutory retention period that also covers the records ends), unless another standing hold
/// still covers them. Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/holds/{id}/release",
    tag = "admin",
    params(HoldId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Released", body = HoldView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Released already", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn release_hold(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<HoldId>,
) -> Result<Json<HoldView>, ApiError> {
    principal.require(Permission::DecideRequests)?;
    let hold = state
        .store
        .release_hold(&principal.actor, path.id)
        .await
        .map_err(api_error)?;
    Ok(Json(hold.into()))
}
