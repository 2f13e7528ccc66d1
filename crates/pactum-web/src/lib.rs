//! Pactum's web layer: the public privacy centre, the JSON API under `/api/v1` with an OpenAPI 3.1
//! document generated from the handlers themselves (so it cannot drift), and health endpoints.
//!
//! The router is built from a [`Site`]: the documents published from the data map (notice, Art. 30
//! record, check results), computed once at start-up. Handlers only serve them.
//!
//! ```
//! use std::sync::Arc;
//! let site = pactum_web::Site::from_parts("Example Ltd", "<!DOCTYPE html><title>n</title>", "# n",
//!     serde_json::json!({}), serde_json::json!({}), serde_json::json!({"errors": 0}));
//! let app = pactum_web::router(Arc::new(site));
//! # let _ = app;
//! ```
//!
//! **Invariants:** every error is an RFC 9457 `application/problem+json` body; request ids are set on
//! every response; nothing here logs request bodies (they may hold personal data).

#![forbid(unsafe_code)]

mod api;
mod metrics;
mod problem;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use problem::Problem;

/// What the server publishes, derived once from the data map.
#[derive(Debug, Clone)]
pub struct Site {
    pub organisation: String,
    pub notice_html: String,
    pub notice_markdown: String,
    pub notice_json: serde_json::Value,
    pub ropa_json: serde_json::Value,
    pub check_json: serde_json::Value,
}

impl Site {
    /// Assembles a site from already rendered documents.
    pub fn from_parts(
        organisation: &str,
        notice_html: &str,
        notice_markdown: &str,
        notice_json: serde_json::Value,
        ropa_json: serde_json::Value,
        check_json: serde_json::Value,
    ) -> Site {
        Site {
            organisation: organisation.to_owned(),
            notice_html: notice_html.to_owned(),
            notice_markdown: notice_markdown.to_owned(),
            notice_json,
            ropa_json,
            check_json,
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: pages, API, OpenAPI document, health endpoints and middleware.
pub fn router(site: Arc<Site>) -> Router {
    let (api, openapi) = api::routes().split_for_parts();
    let openapi = Arc::new(openapi);
    api.route("/metrics", axum::routing::get(metrics::render))
        .route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let doc = openapi.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .fallback(problem::not_found)
    .with_state(site)
    .layer(SetResponseHeaderLayer::if_not_present(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        // Pages carry their styles inline and load nothing from elsewhere.
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ))
    .layer(axum::middleware::from_fn(metrics::track))
    .layer(CatchPanicLayer::custom(problem::panic_to_problem))
    .layer(TimeoutLayer::with_status_code(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(30),
    ))
    .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
    .layer(
        // Spans carry the method, the route *template* and the request id only: never headers, bodies,
        // query strings or the concrete path, which may hold an email address or a token.
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", |p| p.as_str());
                tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
            })
            .on_request(())
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
    .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}
