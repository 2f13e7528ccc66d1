//! Routes. Each API handler carries its OpenAPI description, so the document is generated from code.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::{AppState, Site};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pactum API",
        description = "Privacy operations: the data map's published documents and, as they land, requests, consent and retention. Routes under `/api/v1/admin` need an API token (`Authorization: Bearer pct_...`, created with `pactum admin token create`) whose roles grant the route's permission."
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the admin routes name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pct_ followed by 43 base64url characters")
                    .description(Some(
                        "An API token from `pactum admin token create` or `POST /api/v1/admin/tokens`.",
                    ))
                    .build(),
            ),
        );
    }
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::admin_api::routes())
        .merge(crate::requests_api::routes())
        .merge(crate::holds_api::routes())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(notice))
        .routes(routes!(ropa))
        .routes(routes!(check))
        .route("/", axum::routing::get(privacy_notice_page))
        .route("/notice.md", axum::routing::get(notice_markdown))
}

/// Liveness and readiness answer.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// `ok` when the process serves requests.
    status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the published documents are loaded and requests can be served.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = Health)))]
async fn readyz(State(_site): State<Arc<Site>>) -> Json<Health> {
    Json(Health { status: "ok" })
}

/// A JSON document generated from the data map.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
struct Document(serde_json::Value);

/// The privacy notice's structure (sections, paragraphs, lists, tables), generated from the data map.
#[utoipa::path(get, path = "/api/v1/notice", tag = "publishing", responses((status = 200, body = Document)))]
async fn notice(State(site): State<Arc<Site>>) -> Json<serde_json::Value> {
    Json(site.notice_json.clone())
}

/// The GDPR Art. 30 record of processing activities (controller and processor records).
#[utoipa::path(get, path = "/api/v1/ropa", tag = "publishing", responses((status = 200, body = Document)))]
async fn ropa(State(site): State<Arc<Site>>) -> Json<serde_json::Value> {
    Json(site.ropa_json.clone())
}

/// The data map's diagnostics (`pactum check` as JSON).
#[utoipa::path(get, path = "/api/v1/check", tag = "publishing", responses((status = 200, body = Document)))]
async fn check(State(site): State<Arc<Site>>) -> Json<serde_json::Value> {
    Json(site.check_json.clone())
}

async fn privacy_notice_page(State(site): State<Arc<Site>>) -> Html<String> {
    Html(site.notice_html.clone())
}

async fn notice_markdown(State(site): State<Arc<Site>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        site.notice_markdown.clone(),
    )
}
