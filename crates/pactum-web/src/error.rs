//! [`ApiError`]: the one error type of the API handlers, answered as RFC 9457 problem+json; and
//! extractors whose rejections are problem+json too (axum's own answer in plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pactum_store::error::StoreError;
use serde::de::DeserializeOwned;

use crate::auth::Permission;
use crate::problem::Problem;

/// Why an API request failed.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No credentials (`presented: false`) or credentials that are not a live token: 401 with
    /// `WWW-Authenticate: Bearer`.
    Unauthenticated { presented: bool },
    /// Authenticated, but no role of the caller grants this: 403.
    Forbidden(Permission),
    /// No such object: 404.
    NotFound(&'static str),
    /// The request is malformed (query, path, body): 400.
    BadRequest(String),
    /// The request is well-formed but not acceptable (e.g. an empty token name): 422.
    Unprocessable(String),
    /// The object is not in a state that allows this (e.g. deciding a decided request): 409.
    Conflict(String),
    /// Too many requests: 429 with `Retry-After`.
    TooManyRequests(std::time::Duration),
    /// The body is not JSON: 415.
    UnsupportedMediaType,
    /// The store failed: 500, logged once, no details to the caller.
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound { kind, .. } => ApiError::NotFound(kind),
            StoreError::InvalidTokenName
            | StoreError::NoRoles
            | StoreError::ExpiryInPast
            | StoreError::UnknownRole(_)
            | StoreError::InvalidRequest(_)
            | StoreError::UnknownName { .. } => ApiError::Unprocessable(err.to_string()),
            StoreError::RequestState { .. } => ApiError::Conflict(err.to_string()),
            StoreError::RateLimited { retry_after } => ApiError::TooManyRequests(retry_after),
            other => ApiError::Store(other),
        }
    }
}

/// Writes an error and its causes to the log on one line (store errors hold no personal data:
/// they name tables, ids and driver messages).
pub(crate) fn log_store_error(err: &StoreError) {
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "store error");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self {
            ApiError::Unauthenticated { presented } => {
                let detail = if presented {
                    "the bearer token is not valid (unknown, expired or revoked)"
                } else {
                    "this endpoint needs an API token: Authorization: Bearer pct_..."
                };
                let mut response = Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    Some(detail.to_owned()),
                )
                .into_response();
                let challenge = if presented {
                    "Bearer realm=\"pactum\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"pactum\""
                };
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                return response;
            }
            ApiError::Forbidden(permission) => Problem::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                Some(format!(
                    "none of this token's roles grants {}",
                    permission.as_str()
                )),
            ),
            ApiError::NotFound(kind) => Problem::new(
                StatusCode::NOT_FOUND,
                "Not Found",
                Some(format!("no such {kind}")),
            ),
            ApiError::BadRequest(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "Bad Request", Some(detail))
            }
            ApiError::Unprocessable(detail) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable Content",
                Some(detail),
            ),
            ApiError::Conflict(detail) => {
                Problem::new(StatusCode::CONFLICT, "Conflict", Some(detail))
            }
            ApiError::TooManyRequests(after) => {
                let seconds = after.as_secs().max(1);
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    Some(format!("try again in {seconds} seconds")),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            ApiError::UnsupportedMediaType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                Some("send the body as application/json".to_owned()),
            ),
            ApiError::Store(err) => {
                log_store_error(&err);
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    None,
                )
            }
        };
        problem.into_response()
    }
}

/// `axum::extract::Query` answering a malformed query string with a 400 problem.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// `axum::extract::Path` answering a malformed path parameter with a 400 problem.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// `axum::Json` answering a missing content type with 415 and a malformed body with 400 or 422,
/// as problems.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(e @ JsonRejection::JsonDataError(_)) => Err(ApiError::Unprocessable(e.body_text())),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}
