//! Rectification end to end, on a real `pactum serve --demo`: the demo person asks through the
//! public API to correct their name, confirms with the emailed code, a privacy officer approves,
//! and the worker writes the new name into every field of their records that declares `rectify:
//! name`, and nobody else's. A correction the map does not offer is refused at intake.

mod common;

use common::{Server, json_of, officer_token, run_request_body, server_send};
use sqlx::Connection;

const PERSON: &str = "alex.morgan@example.com";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Every portal user's (email, name), by id.
async fn portal_users(url: &str) -> Vec<(String, Option<String>)> {
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("web_db");
    sqlx::query_as("SELECT email, name FROM portal_users ORDER BY id")
        .fetch_all(&mut db)
        .await
        .expect("portal users")
}

#[test]
fn a_person_corrects_their_name_through_the_privacy_api() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[]);
    let token = officer_token(data.path());
    let web_db = format!(
        "sqlite://{}",
        data.path().join("demo-datastores/web_db.db").display()
    );
    let before = block_on(portal_users(&web_db));
    assert!(before.iter().any(|(email, _)| email == PERSON));

    // An attribute the map does not let people correct is not offered (404), with what it does offer.
    let json = [("Content-Type", "application/json")];
    let refused = serde_json::json!({
        "type": "rectification", "regime": "gdpr", "email": PERSON,
        "corrections": {"salary": "1000000"},
    });
    let (status, _, body) = server_send(
        &server,
        "POST",
        "/api/v1/requests",
        &json,
        &refused.to_string(),
    );
    assert_eq!(status, 404, "not offered, like a request type: {body}");
    assert!(
        body.contains("name"),
        "the offered attributes are named: {body}"
    );

    // The privacy centre's form offers the attributes.
    let (status, form) = common::get(&server.addr, "/requests/new");
    assert_eq!(status, 200);
    assert!(form.contains("name=\"correct_name\""), "{form}");

    let request = serde_json::json!({
        "type": "rectification", "regime": "gdpr", "email": PERSON,
        "corrections": {"name": "Alex Morgan-Smith"},
        "details": "I married.",
    });
    let done = run_request_body(&server, data.path(), &token, PERSON, &request);
    let outcome = &done["outcome"];
    assert!(
        outcome["rows_corrected"].as_u64().expect("a count") >= 1,
        "{outcome:#}"
    );
    assert!(
        outcome["corrected"].get("web_db.portal_users").is_some(),
        "{outcome:#}"
    );

    let after = block_on(portal_users(&web_db));
    for ((email, old), (_, new)) in before.iter().zip(&after) {
        if email == PERSON {
            assert_eq!(new.as_deref(), Some("Alex Morgan-Smith"));
        } else {
            assert_eq!(new, old, "{email} is untouched");
        }
    }
    // The officer saw what was asked.
    let id = done["id"].as_i64().expect("id");
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let (_, _, single) = server_send(
        &server,
        "GET",
        &format!("/api/v1/admin/requests/{id}"),
        &auth,
        "",
    );
    assert_eq!(json_of(&single)["corrections"]["name"], "Alex Morgan-Smith");
    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    assert!(
        !logs.contains("Morgan-Smith"),
        "no corrected value in the logs"
    );
}
