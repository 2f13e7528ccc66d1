//! Data-subject requests over the JSON API: public intake, verification and status under
//! `/api/v1/requests`, and the privacy team's queue under `/api/v1/admin/requests` (listed by time
//! left, read with the person's identity, approved or refused).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pactum_store::audit::{Actor, NewEntry, Target};
use pactum_store::error::StoreError;
use pactum_store::requests::{Channel, Decision, Request, RequestKind, VerifyOutcome};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::privacy_centre::{ClientIp, intake_status};
use crate::problem::Problem;
use crate::requests::{Intake, IntakeError, Urgency, day_of, mask_identity, submit, time_left};
use pactum_domain::model::Regime;

/// A request type, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestType {
    Access,
    Portability,
    Rectification,
    Erasure,
    Restriction,
    Objection,
    WithdrawConsent,
    Know,
    Delete,
    Correct,
    OptOutSaleSharing,
    LimitSensitive,
    MinorContentRemoval,
}

impl From<RequestType> for RequestKind {
    fn from(t: RequestType) -> RequestKind {
        use RequestType as T;
        match t {
            T::Access => RequestKind::Access,
            T::Portability => RequestKind::Portability,
            T::Rectification => RequestKind::Rectification,
            T::Erasure => RequestKind::Erasure,
            T::Restriction => RequestKind::Restriction,
            T::Objection => RequestKind::Objection,
            T::WithdrawConsent => RequestKind::WithdrawConsent,
            T::Know => RequestKind::Know,
            T::Delete => RequestKind::Delete,
            T::Correct => RequestKind::Correct,
            T::OptOutSaleSharing => RequestKind::OptOutSaleSharing,
            T::LimitSensitive => RequestKind::LimitSensitive,
            T::MinorContentRemoval => RequestKind::MinorContentRemoval,
        }
    }
}

/// A law, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RegimeName {
    Gdpr,
    UkGdpr,
    Ccpa,
    Lgpd,
    Pipeda,
}

impl From<RegimeName> for Regime {
    fn from(r: RegimeName) -> Regime {
        match r {
            RegimeName::Gdpr => Regime::Gdpr,
            RegimeName::UkGdpr => Regime::UkGdpr,
            RegimeName::Ccpa => Regime::Ccpa,
            RegimeName::Lgpd => Regime::Lgpd,
            RegimeName::Pipeda => Regime::Pipeda,
        }
    }
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_request))
        .routes(routes!(request_status))
        .routes(routes!(verify_request))
        .routes(routes!(admin_list, admin_create))
        .routes(routes!(admin_get))
        .routes(routes!(admin_decide))
        .routes(routes!(admin_extend))
        .routes(routes!(admin_task_done))
        .routes(routes!(admin_retry))
}

/// A request from the person themselves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPublicRequest {
    /// What to do: one of the types the organisation offers under `regime` (others: 404).
    r#type: RequestType,
    /// The law asked under (one the map offers, else 404).
    regime: RegimeName,
    /// The person's email address: the code that confirms the request is sent there. ASCII
    /// addresses only (a dot-atom local part and a DNS domain).
    #[schema(
        example = "person@example.com",
        max_length = 254,
        pattern = "^(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(\\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    email: String,
    /// Free text (what to correct, which data), at most 4000 characters.
    #[schema(max_length = 4000)]
    details: Option<String>,
    /// For a rectification (`rectification`, `correct`): the right values, by attribute (those the
    /// organisation's data map lets people correct, e.g. `name`); each at most 500 characters.
    #[serde(default)]
    #[schema(schema_with = corrections_schema)]
    corrections: std::collections::BTreeMap<String, String>,
}

/// Where a request stands, as the person sees it (never their address).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicStatus {
    /// The request's public reference (`dsr_...`): keep it to follow the request.
    id: String,
    /// The request type.
    r#type: String,
    /// `unverified`, `verified`, `approved`, `completed` or `rejected`.
    status: String,
    /// The day it was received (UTC).
    received_on: String,
    /// The day it will be answered by at the latest.
    due_on: String,
    /// Whether a confirmation code was emailed (for a new request).
    #[serde(skip_serializing_if = "Option::is_none")]
    code_sent: Option<bool>,
    /// Why it was refused, if it was.
    reason: Option<String>,
    /// The status page in the privacy centre.
    status_url: String,
}

fn public_status(state: &AppState, r: &Request, code_sent: Option<bool>) -> PublicStatus {
    PublicStatus {
        id: r.public_id.clone(),
        r#type: r.kind.as_str().to_owned(),
        status: r.status.as_str().to_owned(),
        received_on: r.deadline.received_on.clone(),
        due_on: r.deadline.due_on.clone(),
        code_sent,
        reason: r.decision_reason.clone(),
        status_url: crate::requests::public_link(state, &format!("/requests/{}", r.public_id)),
    }
}

fn intake_problem(err: IntakeError) -> Response {
    let status = intake_status(&err);
    if let IntakeError::Store(err) = err {
        return ApiError::Store(err).into_response();
    }
    let retry = match &err {
        IntakeError::RateLimited(after) => Some(after.as_secs().max(1)),
        _ => None,
    };
    let mut response = Problem::new(
        status,
        status.canonical_reason().unwrap_or("Error"),
        Some(err.to_string()),
    )
    .into_response();
    if let Some(seconds) = retry
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Makes a request as the person it is about. Unless the type needs no verification (opt-outs of
/// sale or sharing and limiting sensitive data, which the CCPA forbids verifying), a 6-digit code
/// and a link are emailed to `email`; the request waits for them. Limited per address and per
/// client address.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    request_body = NewPublicRequest,
    responses(
        (status = 202, description = "Received; confirm it with the emailed code", body = PublicStatus),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The organisation does not take this type under this law, or does not let people correct an attribute given (or corrections come with another type)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address or from this client", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "Email is not available, so the request cannot be confirmed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<NewPublicRequest>,
) -> Response {
    let intake = Intake {
        kind: body.r#type.into(),
        regime: body.regime.into(),
        identity_kind: "email".to_owned(),
        identity_value: body.email,
        details: body.details,
        corrections: body.corrections,
    };
    match submit(&state, &Actor::Subject, Channel::Api, intake, ip).await {
        Ok((request, sent)) => (
            StatusCode::ACCEPTED,
            Json(public_status(&state, &request, Some(sent))),
        )
            .into_response(),
        Err(err) => intake_problem(err),
    }
}

/// A request's public reference.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PublicId {
    /// The reference returned when the request was made (`dsr_...`).
    id: String,
}

/// Where a request stands. The reference is the only key: it is unguessable and known only to the
/// person who made the request.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    params(PublicId),
    responses(
        (status = 200, description = "The request's status", body = PublicStatus),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn request_status(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PublicId>,
) -> Result<Json<PublicStatus>, ApiError> {
    let request = state
        .store
        .request_by_public_id(&path.id)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    Ok(Json(public_status(&state, &request, None)))
}

/// The code from the confirmation email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    /// The 6-digit code.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    code: String,
}

/// Confirms a request with the emailed code. Each wrong code uses one of a few attempts; codes
/// expire.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/verify",
    tag = "requests",
    params(PublicId),
    request_body = VerifyBody,
    responses(
        (status = 200, description = "Confirmed (or already confirmed)", body = PublicStatus),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired: ask for a new one", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong code (each uses one of a few attempts)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes, or too many attempts from this client", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_request(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PublicId>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Response {
    // Exactly what the schema says: six digits.
    if body.code.len() != 6 || !body.code.bytes().all(|b| b.is_ascii_digit()) {
        return ApiError::Unprocessable("the code is six digits".to_owned()).into_response();
    }
    let outcome = state
        .store
        .verify_request_code(
            &path.id,
            body.code.trim(),
            ip.as_deref(),
            &state.options.rate_limits,
        )
        .await;
    let problem = |status: StatusCode, detail: String| {
        Problem::new(
            status,
            status.canonical_reason().unwrap_or("Error"),
            Some(detail),
        )
        .into_response()
    };
    match outcome {
        Ok(VerifyOutcome::Verified(r)) => {
            crate::requests::acknowledge(&state, &r).await;
            Json(public_status(&state, &r, None)).into_response()
        }
        Ok(VerifyOutcome::AlreadyVerified(r)) => {
            Json(public_status(&state, &r, None)).into_response()
        }
        Ok(VerifyOutcome::WrongCode { attempts_left }) => problem(
            StatusCode::FORBIDDEN,
            format!("wrong code; {attempts_left} attempts left"),
        ),
        Ok(VerifyOutcome::Expired) => problem(StatusCode::GONE, "the code expired".to_owned()),
        Ok(VerifyOutcome::TooManyAttempts) => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong codes: ask for a new one".to_owned(),
        ),
        Ok(VerifyOutcome::Unknown) => ApiError::NotFound("request").into_response(),
        Err(StoreError::RateLimited { .. }) => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too many attempts from this client".to_owned(),
        ),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// A request in the privacy team's queue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestView {
    /// Internal id.
    id: i64,
    /// The person's reference (`dsr_...`).
    public_id: String,
    r#type: String,
    /// Regimes asked under.
    regimes: Vec<String>,
    status: String,
    /// `privacy_centre`, `api` or `admin`.
    channel: String,
    /// `email` or `phone`.
    identity_kind: String,
    /// The identity, masked in lists (`a***@example.com`) and in full on a single request.
    identity: String,
    received_on: String,
    /// The effective deadline: the earliest of the legal and the promised ones.
    due_on: String,
    /// The regime whose clock sets `due_on`.
    due_regime: String,
    /// The legal deadline, the latest one after an extension, and the promised one.
    legal_due: String,
    extended_due: Option<String>,
    promised_due: Option<String>,
    /// Receipt must be acknowledged by this day (CCPA).
    acknowledge_by: Option<String>,
    /// Days until `due_on` (negative when overdue); absent once closed.
    days_left: Option<i64>,
    urgency: Urgency,
    /// Who decided (`user:ID` or `token:ID`) and why, once decided.
    decided_by: Option<String>,
    reason: Option<String>,
    /// What execution found and did, once completed.
    #[schema(value_type = Option<Object>)]
    outcome: Option<serde_json::Value>,
    /// For a rectification, on a single request: the right values the person gave, by attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    corrections: Option<std::collections::BTreeMap<String, String>>,
    /// On a single request: its manual tasks (systems with no connector), done by people; the
    /// request completes when the last is recorded done.
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<Vec<TaskView>>,
    /// On a single request: its latest execution job (status `queued`, `running`, `done`,
    /// `failed` (retrying) or `dead` (stopped: see `POST .../retry`), attempts, last error).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    execution: Option<serde_json::Value>,
}

/// A manual task of a request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskView {
    /// Internal id.
    id: i64,
    /// The datastore (map key) it is in, or `privacy_team`.
    datastore: String,
    /// What to do.
    instructions: Option<String>,
    /// When it was recorded done (RFC 3339, UTC).
    done_at: Option<String>,
    /// Who recorded it (`user:ID`, `token:ID`).
    done_by: Option<String>,
    /// What they wrote was done.
    note: Option<String>,
}

impl From<pactum_store::tasks::Task> for TaskView {
    fn from(t: pactum_store::tasks::Task) -> TaskView {
        TaskView {
            id: t.id,
            datastore: t.datastore,
            instructions: t.instructions,
            done_at: t.done_at.map(|at| at.to_string()),
            done_by: t.done_by,
            note: t.note,
        }
    }
}

/// Request `id`, or 404.
async fn load(state: &AppState, id: i64) -> Result<Request, ApiError> {
    state
        .store
        .request(id)
        .await?
        .ok_or(ApiError::NotFound("request"))
}

/// A request's view with its tasks, for a single request.
async fn full_view(state: &AppState, request: &Request) -> Result<RequestView, ApiError> {
    let mut view = view(state, request, true);
    let tasks = state.store.request_tasks(request.id).await?;
    if !tasks.is_empty() {
        view.tasks = Some(tasks.into_iter().map(TaskView::from).collect());
    }
    view.execution = state.store.request_execution(request.id).await?.map(|e| {
        json!({
            "status": e.status.as_str(),
            "attempts": e.attempts,
            "last_error": e.last_error,
        })
    });
    Ok(view)
}

fn view(state: &AppState, r: &Request, full_identity: bool) -> RequestView {
    let (days_left, urgency) = time_left(r, day_of(state.store.now()));
    let d = &r.deadline;
    RequestView {
        id: r.id,
        public_id: r.public_id.clone(),
        r#type: r.kind.as_str().to_owned(),
        regimes: r.regimes.clone(),
        status: r.status.as_str().to_owned(),
        channel: r.channel.as_str().to_owned(),
        identity_kind: r.identity_kind.clone(),
        identity: if full_identity {
            r.identity_value.clone()
        } else {
            mask_identity(&r.identity_value)
        },
        received_on: d.received_on.clone(),
        due_on: d.due_on.clone(),
        due_regime: d.regime.clone(),
        legal_due: d.legal_due.clone(),
        extended_due: d.extended_due.clone(),
        promised_due: d.promised_due.clone(),
        acknowledge_by: d.acknowledge_by.clone(),
        days_left,
        urgency,
        decided_by: r.decided_by_actor.clone(),
        reason: r.decision_reason.clone(),
        outcome: r.outcome.clone(),
        corrections: (full_identity && !r.corrections.is_empty()).then(|| r.corrections.clone()),
        tasks: None,
        execution: None,
    }
}

/// Which requests to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Include completed and refused requests (after the open ones, newest first).
    closed: Option<bool>,
    /// Most requests to return (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The queue: open requests by time left (overdue first), then, with `closed=true`, closed ones.
/// Identities are masked; the read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/admin/requests",
    tag = "admin",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Requests by time left", body = [RequestView]),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant read_requests", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    principal.require(Permission::ReadRequests)?;
    let limit = query.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".to_owned(),
        ));
    }
    let requests = state
        .store
        .list_requests(query.closed.unwrap_or(false), limit)
        .await?;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "request.list", None)
                .with_details(json!({ "count": requests.len() })),
        )
        .await?;
    Ok(Json(
        requests.iter().map(|r| view(&state, r, false)).collect(),
    ))
}

/// A request taken on someone's behalf (by phone, by post, at the desk): the person's identity was
/// checked by whoever takes it, so it starts verified.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAdminRequest {
    r#type: RequestType,
    regime: RegimeName,
    /// Who the request is about: an email address or a phone number.
    identity: AdminIdentity,
    /// Free text, at most 4000 characters.
    #[schema(max_length = 4000)]
    details: Option<String>,
}

/// An email address (ASCII, as for the public API) or a phone number (7 to 15 digits, an
/// optional leading `+`, spaces, dots, dashes and parentheses). Its schema is written by hand
/// ([`closed_object`]): the derived one would allow other keys, which serde refuses.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(crate) enum AdminIdentity {
    Email { email: String },
    Phone { phone: String },
}

/// A string property's schema.
fn string(pattern: Option<&str>, min: Option<usize>, max: usize, description: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .min_length(min)
        .max_length(Some(max))
        .description(Some(description))
        .into()
}

/// A rectification's corrections: at most 20 attributes to values of at most 500 characters. Which attributes the organisation offers depends on
/// its data map: another one is answered 404, like a request type it does not offer.
fn corrections_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "For a rectification (`rectification`, `correct`): the right values, by attribute \
             (one the organisation's data map lets people correct, e.g. `name`; others: 404)",
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(string(
            None,
            None,
            500,
            "The right value (control characters become spaces; blank: ignored)",
        )))))
        .max_properties(Some(20))
        .into()
}

/// An object with exactly these properties (the required ones first): no others allowed.
fn closed_object(properties: Vec<(&str, Schema, bool)>, description: &str) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (name, schema, required) in properties {
        object = object.property(name, schema);
        if required {
            object = object.required(name);
        }
    }
    object.into()
}

impl utoipa::PartialSchema for AdminIdentity {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(closed_object(
                vec![(
                    "email",
                    string(
                        Some(crate::requests::EMAIL_PATTERN),
                        None,
                        254,
                        "An email address",
                    ),
                    true,
                )],
                "By email address",
            ))
            .item(closed_object(
                vec![(
                    "phone",
                    string(
                        Some(crate::requests::PHONE_PATTERN),
                        None,
                        40,
                        "A phone number",
                    ),
                    true,
                )],
                "By phone number",
            ))
            .description(Some(
                "Who the request is about: exactly one of `email` or `phone`.",
            ))
            .into()
    }
}

impl ToSchema for AdminIdentity {}

/// Records a request on someone's behalf. Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/requests",
    tag = "admin",
    request_body = NewAdminRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded, verified, awaiting a decision", body = RequestView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The organisation does not take this type under this law, or does not let people correct an attribute given (or corrections come with another type)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this identity", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_create(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<ApiJson<NewAdminRequest>, ApiError>,
) -> Response {
    // The permission is checked before the body is looked at.
    if let Err(err) = principal.require(Permission::DecideRequests) {
        return err.into_response();
    }
    let body = match body {
        Ok(ApiJson(body)) => body,
        Err(err) => return err.into_response(),
    };
    let (identity_kind, identity_value) = match body.identity {
        AdminIdentity::Email { email } => ("email", email),
        AdminIdentity::Phone { phone } => ("phone", phone),
    };
    let intake = Intake {
        kind: body.r#type.into(),
        regime: body.regime.into(),
        identity_kind: identity_kind.to_owned(),
        identity_value,
        details: body.details,
        // Taken on someone's behalf, a correction is described in the details and done by hand.
        corrections: Default::default(),
    };
    match submit(&state, &principal.actor, Channel::Admin, intake, None).await {
        Ok((request, _)) => {
            (StatusCode::CREATED, Json(view(&state, &request, true))).into_response()
        }
        Err(err) => intake_problem(err),
    }
}

/// A request's internal id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RequestId {
    /// Internal id.
    id: i64,
}

/// One request with the person's identity in full. The read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/admin/requests/{id}",
    tag = "admin",
    params(RequestId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant read_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    principal.require(Permission::ReadRequests)?;
    let request = load(&state, path.id).await?;
    state
        .store
        .audit_append(&NewEntry::new(
            principal.actor,
            "request.read",
            Some(Target::new("request", request.id)),
        ))
        .await?;
    Ok(Json(full_view(&state, &request).await?))
}

/// A decision on a verified request: `{"decision": "approve"}` or
/// `{"decision": "reject", "reason": "..."}`. Its schema is written by hand (see [`AdminIdentity`]).
#[derive(Debug, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum DecisionBody {
    /// Carry the request out (execution runs as a background job). A struct variant, so that
    /// serde refuses other keys here too.
    Approve {},
    /// Refuse it, with a reason the person sees (1 to 2000 characters, not only spaces).
    Reject { reason: String },
}

impl utoipa::PartialSchema for DecisionBody {
    fn schema() -> RefOr<Schema> {
        let decision = |value: &str| -> Schema {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([value]))
                .into()
        };
        OneOfBuilder::new()
            .item(closed_object(
                vec![("decision", decision("approve"), true)],
                "Carry the request out (execution runs as a background job).",
            ))
            .item(closed_object(
                vec![
                    ("decision", decision("reject"), true),
                    (
                        "reason",
                        string(
                            Some("^[\\s\\S]*\\S[\\s\\S]*$"),
                            Some(1),
                            2000,
                            "Why, in words the person reads: not only spaces.",
                        ),
                        true,
                    ),
                ],
                "Refuse it, with a reason the person sees.",
            ))
            .description(Some("Approve, or refuse with a reason."))
            .into()
    }
}

impl ToSchema for DecisionBody {}

/// Approves (execution is enqueued in the same transaction) or refuses a verified request. Needs
/// `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/requests/{id}/decision",
    tag = "admin",
    params(RequestId),
    request_body = DecisionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = RequestView),
        (status = 400, description = "Malformed body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting a decision (unverified or already decided)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A refusal without a reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_decide(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<RequestId>,
    body: Result<ApiJson<DecisionBody>, ApiError>,
) -> Result<Json<RequestView>, ApiError> {
    // The permission is checked before the body is looked at.
    principal.require(Permission::DecideRequests)?;
    let ApiJson(body) = body?;
    let decision = match body {
        DecisionBody::Approve {} => Decision::Approve,
        DecisionBody::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > 2000 {
                return Err(ApiError::Unprocessable(
                    "a refusal needs a reason of 1 to 2000 characters".to_owned(),
                ));
            }
            Decision::Reject {
                reason: reason.to_owned(),
            }
        }
    };
    let request = state
        .store
        .decide_request(&principal.actor, path.id, &decision)
        .await?;
    Ok(Json(view(&state, &request, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_refuse_what_their_schemas_refuse() {
        let decision = |text: &str| serde_json::from_str::<DecisionBody>(text).is_ok();
        assert!(decision(r#"{"decision":"approve"}"#));
        assert!(decision(r#"{"decision":"reject","reason":"why"}"#));
        assert!(!decision(r#"{"decision":"approve","reason":null}"#));
        assert!(!decision(r#"{"decision":"reject"}"#));
        assert!(!decision(r#"{"decision":"reject","reason":"x","other":1}"#));
        let identity = |text: &str| serde_json::from_str::<AdminIdentity>(text).is_ok();
        assert!(identity(r#"{"email":"a@example.com"}"#));
        assert!(identity(r#"{"phone":"+44 20 7946 0958"}"#));
        assert!(!identity(
            r#"{"email":"a@example.com","phone":"+1 555 0100"}"#
        ));
        assert!(!identity(r#"{"email":"a@example.com","x":1}"#));
    }
}

/// Why the deadline is extended: what the person is told.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtendBody {
    /// 1 to 2000 characters, not only spaces; emailed to the person.
    #[schema(min_length = 1, max_length = 2000, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    reason: String,
}

/// Extends a verified or approved request's deadline, once, as its law allows (GDPR and UK GDPR:
/// to three months; CCPA: 90 days; PIPEDA: 60 days), and emails the person the new deadline and
/// the reason. Only before the first deadline has passed. Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/requests/{id}/extend",
    tag = "admin",
    params(RequestId),
    request_body = ExtendBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Extended; the person was told", body = RequestView),
        (status = 400, description = "Malformed body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open, its law allows no extension, extended already, or past its first deadline", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_extend(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<RequestId>,
    body: Result<ApiJson<ExtendBody>, ApiError>,
) -> Result<Json<RequestView>, ApiError> {
    // The permission is checked before the body is looked at.
    principal.require(Permission::DecideRequests)?;
    let ApiJson(body) = body?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::Unprocessable("the reason is empty".to_owned()));
    }
    let request = crate::requests::extend(&state, &principal.actor, path.id, &body.reason)
        .await
        .map_err(|err| match err {
            StoreError::InvalidRequest(why) => ApiError::Conflict(why.to_owned()),
            other => ApiError::from(other),
        })?;
    Ok(Json(view(&state, &request, true)))
}

/// A request's task id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TaskPath {
    /// The request's internal id.
    id: i64,
    /// The task's id.
    task_id: i64,
}

/// What was done for a manual task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskDoneBody {
    /// 1 to 2000 characters, not only spaces: what was done, by whom. Never audited.
    #[schema(min_length = 1, max_length = 2000, pattern = "^[\\s\\S]*\\S[\\s\\S]*$")]
    note: String,
}

/// Records a manual task of an approved request done. When it is the last open one, the request
/// is completed by the background worker (the person is told). Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/requests/{id}/tasks/{task_id}/done",
    tag = "admin",
    params(TaskPath),
    request_body = TaskDoneBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded; the request with its tasks", body = RequestView),
        (status = 400, description = "Malformed body or ids", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or no such task of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Done already, or the request is not approved", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body the schema refuses", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_task_done(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<TaskPath>,
    body: Result<ApiJson<TaskDoneBody>, ApiError>,
) -> Result<Json<RequestView>, ApiError> {
    // The permission is checked before the body is looked at.
    principal.require(Permission::DecideRequests)?;
    let ApiJson(body) = body?;
    if body.note.trim().is_empty() {
        return Err(ApiError::Unprocessable("the note is empty".to_owned()));
    }
    state
        .store
        .complete_task(&principal.actor, path.id, path.task_id, &body.note)
        .await
        .map_err(|err| match err {
            StoreError::TaskDone { .. } | StoreError::RequestState { .. } => {
                ApiError::Conflict(err.to_string())
            }
            StoreError::InvalidRequest(why) => ApiError::Unprocessable(why.to_owned()),
            other => ApiError::from(other),
        })?;
    Ok(Json(
        full_view(&state, &load(&state, path.id).await?).await?,
    ))
}

/// Runs an approved request again after its execution stopped (every attempt failed), once the
/// cause is mended: a new job resumes from the stored plan. Needs `decide_requests`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/requests/{id}/retry",
    tag = "admin",
    params(RequestId),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enqueued; the request with its execution", body = RequestView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 403, description = "The token's roles do not grant decide_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, or its execution has not stopped", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn admin_retry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    principal.require(Permission::DecideRequests)?;
    state
        .store
        .retry_request(&principal.actor, path.id)
        .await
        .map_err(|err| match err {
            StoreError::RequestState { .. } => ApiError::Conflict(err.to_string()),
            other => ApiError::from(other),
        })?;
    Ok(Json(
        full_view(&state, &load(&state, path.id).await?).await?,
    ))
}
