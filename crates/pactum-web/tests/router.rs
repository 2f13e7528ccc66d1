//! The router in-process (`tower::ServiceExt::oneshot`), as axum's testing example does.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn app() -> axum::Router {
    let store = pactum_store::Store::open("sqlite::memory:")
        .await
        .expect("an in-memory store");
    pactum_web::router(
        Arc::new(pactum_web::Site::from_parts(
            "Example Ltd",
            "<!DOCTYPE html><html lang=\"en\"><title>Privacy notice</title></html>",
            "# Privacy notice",
            json!({"title": "Privacy notice"}),
            json!({"controller_record": {}}),
            json!({"errors": 0, "warnings": 0, "diagnostics": []}),
        )),
        store,
        pactum_web::Options::default(),
    )
}

async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app()
        .await
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn health_and_documents() {
    for (path, want) in [
        ("/healthz", json!({"status": "ok"})),
        ("/readyz", json!({"status": "ok"})),
        ("/api/v1/notice", json!({"title": "Privacy notice"})),
        (
            "/api/v1/check",
            json!({"errors": 0, "warnings": 0, "diagnostics": []}),
        ),
    ] {
        let (status, headers, body) = get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers.contains_key("x-request-id"),
            "{path} has a request id"
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("json"),
            want,
            "{path}"
        );
    }
    let (status, headers, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&body).contains("Privacy notice"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn unknown_paths_are_problem_json() {
    let (status, headers, body) = get("/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let problem: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let (status, _, body) = get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/admin/audit/entries",
            "/api/v1/admin/audit/verify",
            "/api/v1/admin/holds",
            "/api/v1/admin/holds/{id}/release",
            "/api/v1/admin/requests",
            "/api/v1/admin/requests/{id}",
            "/api/v1/admin/requests/{id}/decision",
            "/api/v1/admin/requests/{id}/extend",
            "/api/v1/admin/requests/{id}/retry",
            "/api/v1/admin/requests/{id}/tasks/{task_id}/done",
            "/api/v1/admin/tokens",
            "/api/v1/admin/tokens/{id}",
            "/api/v1/admin/users",
            "/api/v1/check",
            "/api/v1/me",
            "/api/v1/notice",
            "/api/v1/requests",
            "/api/v1/requests/{id}",
            "/api/v1/requests/{id}/verify",
            "/api/v1/ropa",
            "/healthz",
            "/readyz"
        ]
    );
    // Every documented public document answers 200 (the document cannot list a route the router
    // lacks); the admin ones are walked in `tests/auth.rs`, the requests ones in
    // `tests/requests.rs`.
    for path in paths.iter().filter(|p| {
        !p.starts_with("/api/v1/admin/")
            && !p.starts_with("/api/v1/requests")
            && **p != "/api/v1/me"
    }) {
        assert_eq!(get(path).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(
        get("/api/v1/requests/dsr_unknown").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let _ = get("/healthz").await;
    let _ = get("/nope/alice@example.com").await;
    let (status, headers, body) = get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(
            "pactum_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{text}"
    );
    // Unmatched paths are never recorded as they were typed: they may hold personal data.
    assert!(!text.contains("alice@example.com"), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
}
