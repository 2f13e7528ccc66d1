//! Pactum's web layer: the public privacy centre, the JSON API under `/api/v1` with an OpenAPI 3.1
//! document generated from the handlers themselves (so it cannot drift), the admin console and the
//! admin API, and health endpoints.
//!
//! The router is built from a [`Site`] (the documents published from the data map, computed once at
//! start-up), the [`pactum_store::Store`] that holds accounts, sessions, tokens and the audit log,
//! and [`Options`].
//!
//! - [`auth`]: the [`auth::Permission`]s, the one table granting them to roles, and API token
//!   authentication (`Authorization: Bearer pct_...`) for `/api/v1/admin/...`.
//! - [`console`]: the admin console (`/admin`) with sign-in sessions in cookies and CSRF
//!   protection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pactum_store::error::StoreError> {
//! use std::sync::Arc;
//! let site = pactum_web::Site::from_parts("Example Ltd", "<!DOCTYPE html><title>n</title>", "# n",
//!     serde_json::json!({}), serde_json::json!({}), serde_json::json!({"errors": 0}));
//! let store = pactum_store::Store::open("sqlite::memory:").await?;
//! let app = pactum_web::router(Arc::new(site), store, pactum_web::Options::default());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! **Invariants:** every API error is an RFC 9457 `application/problem+json` body; request ids are
//! set on every response; nothing here logs request bodies, cookies or credentials (they may hold
//! personal data or secrets); every route under `/api/v1/admin` and `/admin` except the sign-in form
//! requires authentication (proven by `tests/router.rs`, which walks them all).

#![forbid(unsafe_code)]

mod admin_api;
mod api;
pub mod auth;
pub mod console;
mod console_holds;
mod error;
mod holds_api;
pub mod mail;
mod metrics;
mod privacy_centre;
mod problem;
pub mod requests;
mod requests_api;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use pactum_store::Store;
use pactum_store::sessions::SessionPolicy;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use privacy_centre::NEW_REQUEST_PATH as PRIVACY_CENTRE_PATH;
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
    /// Which data-subject requests are taken under which law (none until set with
    /// [`Site::with_requests`]).
    pub requests: requests::RequestPolicy,
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
            requests: requests::RequestPolicy::default(),
        }
    }

    /// The site with the request types and promises of the map's `rights` section.
    pub fn with_requests(mut self, policy: requests::RequestPolicy) -> Site {
        self.requests = policy;
        self
    }
}

/// How the web layer treats sign-in sessions, mail and links.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server speaks TLS itself, so session cookies are always `Secure`. (Behind a
    /// TLS-terminating proxy, `X-Forwarded-Proto: https` has the same effect per request.)
    pub tls: bool,
    /// Console session lifetime and idle timeout.
    pub session: SessionPolicy,
    /// The site's address as people reach it (`https://privacy.example.com`): links in emails are
    /// built on it, never on a request's `Host` header (which an attacker controls).
    pub public_url: String,
    /// Where verification codes and download links are sent; without one, requests that need
    /// verification are refused (503) before anything is stored.
    pub mailer: Option<mail::Mailer>,
    /// Intake and verification limits (per address and per client IP, held in the store).
    pub rate_limits: pactum_store::requests::RateLimits,
    /// How long a completed request's download link works.
    pub package_lifetime: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client's address (rate
    /// limits); empty: the socket's peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            session: SessionPolicy::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            mailer: None,
            rate_limits: pactum_store::requests::RateLimits::default(),
            package_lifetime: Duration::from_secs(7 * 24 * 3600),
            trusted_proxies: Vec::new(),
        }
    }
}

/// What every handler can reach: the published site, the store and the options.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) site: Arc<Site>,
    pub(crate) store: Store,
    pub(crate) options: Options,
}

impl FromRef<AppState> for Arc<Site> {
    fn from_ref(state: &AppState) -> Arc<Site> {
        Arc::clone(&state.site)
    }
}

/// Refuses cross-site state-changing requests (the `Sec-Fetch-Site`/`Origin` check).
fn csrf_layer()
-> CsrfLayer<impl Fn(tower_http::csrf::ProtectionError) -> axum::response::Response + Clone> {
    CsrfLayer::new().with_rejection_response(|_: tower_http::csrf::ProtectionError| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some("cross-site request refused".to_owned()),
        )
        .into_response()
    })
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: public pages, API, admin console, OpenAPI document, health endpoints
/// and middleware.
pub fn router(site: Arc<Site>, store: Store, options: Options) -> Router {
    let state = AppState {
        site,
        store,
        options,
    };
    let (api, openapi) = api::routes().split_for_parts();
    let openapi = Arc::new(openapi);
    // Cross-site form posts to the console are refused (the API takes bearer tokens only, which a
    // browser never sends on its own, so it needs no such check).
    // Cross-site form posts to the console and the privacy centre are refused (the API takes
    // bearer tokens or JSON bodies, which a browser never sends cross-site without CORS, so it
    // needs no such check).
    let console = console::routes().layer(csrf_layer());
    let privacy_centre = privacy_centre::routes().layer(csrf_layer());
    api.merge(console)
        .merge(privacy_centre)
        .route("/metrics", axum::routing::get(metrics::render))
        .route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let doc = openapi.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .fallback(problem::not_found)
    .with_state(state)
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
