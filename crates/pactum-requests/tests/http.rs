//! The `http` connector against a real HTTP service on loopback (an axum router holding support-desk
//! contacts in memory, checking a bearer token), next to a CRM in a SQLite file.
//!
//! Ada's email finds her customer id in the CRM and her contact in the desk (the desk's search is
//! fuzzy: it also answers with a neighbour, who must not be taken for her); her customer id finds a
//! second contact of hers through the desk's per-customer listing (a reference from the desk to the
//! CRM). Erasure deletes exactly those two contacts, once each; a failing call fails the desk alone,
//! and applying the stored plan again completes it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use pactum_domain::model::{DataMap, IdentityKind};
use pactum_requests::http::HttpError;
use pactum_requests::{
    Connections, ErasureOptions, ErasurePlan, RequestError, access_with, apply_datastore,
    erase_with, plan_erasure,
};
use sqlx::Connection;

const TOKEN: &str = "desk-token-7f3a9c";

const MAP: &str = r#"
organisation:
  name: Shop Ltd
  contact: {email: privacy@shop.example}
  regimes: [uk_gdpr]
  authorities: {uk_gdpr: {name: ICO}}
  notice: {version: "1", last_updated: 2026-01-01}
subjects:
  customer: {name: Customers}
purposes:
  support: {name: Support, description: Helping customers., legal_basis: {uk_gdpr: contract}}
activities:
  support: {name: Support, subjects: [customer], purposes: [support], categories: [user.contact, user.name, user.content]}
retention:
  accounts:
    applies_to: {categories: [user.contact, user.name, user.content]}
    period: 2 years
    from: account_closure
    action: delete
rights:
  response_days: 30
  verification: Code by email.
  contact: {email: privacy@shop.example}
  regimes: {uk_gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]}
datastores:
  crm:
    kind: sqlite
    connection_env: HTTP_TEST_CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: customer_id}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
  desk:
    kind: http
    connection_env: HTTP_TEST_DESK_URL
    auth: {bearer_env: HTTP_TEST_DESK_TOKEN}
    collections:
      contacts:
        find:
          - {path: "/contacts/search?email={email}", records: /data}
          - {path: "/customers/{customer_id}/contacts", records: /data}
        erase: {method: DELETE, path: "/contacts/{id}"}
        fields:
          id: {primary_key: true}
          email: {categories: [user.contact.email], identity: email}
          name: {categories: [user.name]}
          customer_id: {path: /customer/id, references: [crm.customers.id]}
      tickets:
        description: Not searchable through the API.
        fields:
          id: {primary_key: true}
          contact_id: {references: [contacts.id]}
          subject: {categories: [user.content]}
"#;

/// One contact of the desk.
#[derive(Debug, Clone)]
struct Contact {
    id: &'static str,
    email: &'static str,
    name: &'static str,
    customer: i64,
}

/// The desk's state: its contacts, the calls it received, and the erase calls it is told to fail.
#[derive(Default)]
struct Desk {
    contacts: Vec<Contact>,
    /// Every call as `METHOD path`, with whether it carried the right token.
    calls: Vec<(String, bool)>,
    /// Contact ids whose erase call answers 500.
    failing: BTreeSet<String>,
}

type Shared = Arc<Mutex<Desk>>;

fn contacts() -> Vec<Contact> {
    vec![
        Contact {
            id: "c1",
            email: "ada+desk@example.com",
            name: "Ada Lovelace",
            customer: 7,
        },
        Contact {
            id: "c2",
            email: "ada.l@example.org",
            name: "A. Lovelace",
            customer: 7,
        },
        // The fuzzy search's neighbour: same first letters, someone else.
        Contact {
            id: "c3",
            email: "adam@example.net",
            name: "Adam Smith",
            customer: 9,
        },
        Contact {
            id: "c4",
            email: "bob@example.org",
            name: "Bob Jones",
            customer: 8,
        },
    ]
}

fn json(c: &Contact) -> serde_json::Value {
    serde_json::json!({"id": c.id, "email": c.email, "name": c.name, "customer": {"id": c.customer}})
}

fn answer(records: Vec<serde_json::Value>) -> axum::response::Response {
    (
        [("content-type", "application/json")],
        serde_json::json!({"data": records}).to_string(),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` decoding, as services do: `+` is a space.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

/// Records the call; `false` when the token is wrong (the caller answers 401).
fn admit(desk: &mut Desk, headers: &HeaderMap, call: String) -> bool {
    let ok = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
    desk.calls.push((call, ok));
    ok
}

async fn search(State(desk): State<Shared>, headers: HeaderMap, uri: Uri) -> impl IntoResponse {
    let mut desk = desk.lock().expect("not poisoned");
    if !admit(&mut desk, &headers, format!("GET {uri}")) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let email = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("email="))
        .map(form_decode)
        .unwrap_or_default();
    // A fuzzy search, as desks have: the first three letters.
    let prefix: String = email.chars().take(3).collect();
    let found = desk
        .contacts
        .iter()
        .filter(|c| c.email.starts_with(&prefix))
        .map(json)
        .collect();
    answer(found)
}

async fn by_customer(
    State(desk): State<Shared>,
    headers: HeaderMap,
    Path(customer): Path<i64>,
) -> impl IntoResponse {
    let mut desk = desk.lock().expect("not poisoned");
    if !admit(
        &mut desk,
        &headers,
        format!("GET /customers/{customer}/contacts"),
    ) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let found = desk
        .contacts
        .iter()
        .filter(|c| c.customer == customer)
        .map(json)
        .collect();
    answer(found)
}

async fn delete(
    State(desk): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> StatusCode {
    let mut desk = desk.lock().expect("not poisoned");
    if !admit(&mut desk, &headers, format!("DELETE /contacts/{id}")) {
        return StatusCode::UNAUTHORIZED;
    }
    if desk.failing.contains(&id) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    match desk.contacts.iter().position(|c| c.id == id) {
        Some(i) => {
            desk.contacts.remove(i);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// The CRM (a SQLite file) and the desk (a service on a loopback port).
struct World {
    _dir: tempfile::TempDir,
    crm_url: String,
    desk_url: String,
    desk: Shared,
    map: DataMap,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crm.db");
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts)
            .await
            .expect("creates the file");
        sqlx::raw_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
             INSERT INTO customers VALUES (7, 'ada+desk@example.com', 'Ada Lovelace'),
                                          (8, 'bob@example.org', 'Bob Jones'),
                                          (9, 'adam@example.net', 'Adam Smith');",
        )
        .execute(&mut c)
        .await
        .expect("seeded");
        c.close().await.expect("closes");

        let desk: Shared = Arc::new(Mutex::new(Desk {
            contacts: contacts(),
            ..Desk::default()
        }));
        let app = axum::Router::new()
            .route("/api/contacts/search", axum::routing::get(search))
            .route(
                "/api/customers/{customer}/contacts",
                axum::routing::get(by_customer),
            )
            .route("/api/contacts/{id}", axum::routing::delete(delete))
            .with_state(Arc::clone(&desk));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let loaded = pactum_mapfile::load_str("map.yml", MAP);
        assert!(
            !loaded.has_errors(),
            "{}",
            pactum_mapfile::report::human(&loaded)
        );
        World {
            crm_url: format!("sqlite://{}", path.display()),
            // A trailing slash on the base URL is allowed.
            desk_url: format!("http://{addr}/api/"),
            _dir: dir,
            desk,
            map: loaded.map,
        }
    }

    fn url_of(&self) -> impl Fn(&str) -> Option<String> + Sync + '_ {
        |key: &str| match key {
            "crm" => Some(self.crm_url.clone()),
            "desk" => Some(self.desk_url.clone()),
            _ => None,
        }
    }

    fn remaining(&self) -> Vec<&'static str> {
        let desk = self.desk.lock().expect("not poisoned");
        desk.contacts.iter().map(|c| c.id).collect()
    }

    /// The erase calls the desk received, in order.
    fn deletes(&self) -> Vec<String> {
        let desk = self.desk.lock().expect("not poisoned");
        desk.calls
            .iter()
            .filter(|(c, _)| c.starts_with("DELETE"))
            .map(|(c, _)| c.clone())
            .collect()
    }

    async fn crm_names(&self) -> Vec<(i64, String)> {
        let mut c = sqlx::SqliteConnection::connect(&self.crm_url)
            .await
            .expect("sqlite");
        sqlx::query_as("SELECT id, name FROM customers ORDER BY id")
            .fetch_all(&mut c)
            .await
            .expect("select")
    }
}

/// Connections whose desk token is `token` (as if read from `HTTP_TEST_DESK_TOKEN`).
fn connections(token: &'static str) -> Connections {
    Connections::with_credentials(move |var| {
        (var == "HTTP_TEST_DESK_TOKEN").then(|| token.to_owned())
    })
}

fn ada() -> [(IdentityKind, String); 1] {
    [(IdentityKind::Email, "ada+desk@example.com".to_owned())]
}

fn options() -> ErasureOptions {
    ErasureOptions {
        hash_key: Some(b"a test key".to_vec()),
        today: None,
        holds: Vec::new(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[tokio::test]
async fn access_finds_exactly_the_persons_contacts_by_email_and_by_customer_id() {
    let world = World::new().await;
    let url_of = world.url_of();
    let result = access_with(&mut connections(TOKEN), &world.map, &ada(), &url_of)
        .await
        .expect("access runs");
    let desk = &result.records["desk.contacts"];
    assert_eq!(desk.fields, ["id", "email", "name", "customer_id"]);
    // c1 by her email (the neighbour c3 the search also gave is dropped), c2 by her customer id.
    assert_eq!(
        desk.rows,
        [
            vec![
                s("c1"),
                s("ada+desk@example.com"),
                s("Ada Lovelace"),
                s("7")
            ],
            vec![s("c2"), s("ada.l@example.org"), s("A. Lovelace"), s("7")],
        ]
    );
    assert_eq!(
        result.records["crm.customers"].rows,
        [vec![s("7"), s("ada+desk@example.com"), s("Ada Lovelace")]]
    );
    // The tickets have no find call: a person searches them, and the task says so.
    assert_eq!(result.manual_tasks.len(), 1, "{:?}", result.manual_tasks);
    assert_eq!(result.manual_tasks[0].datastore, "desk");
    let instructions = result.manual_tasks[0].instructions.as_deref().unwrap_or("");
    assert!(
        instructions.contains("`tickets` by `contact_id`"),
        "{instructions}"
    );

    let desk = world.desk.lock().expect("not poisoned");
    let calls: BTreeSet<&str> = desk.calls.iter().map(|(c, _)| c.as_str()).collect();
    // The `+` reached the service encoded (a raw `+` would have been read as a space), each value
    // was asked for once, and every call carried the token.
    assert_eq!(
        calls,
        BTreeSet::from([
            "GET /api/contacts/search?email=ada%2Bdesk%40example.com",
            "GET /customers/7/contacts",
        ])
    );
    assert_eq!(desk.calls.len(), 2, "{:?}", desk.calls);
    assert!(desk.calls.iter().all(|(_, authorised)| *authorised));
}

#[tokio::test]
async fn a_wrong_or_missing_credential_fails_without_revealing_it() {
    let world = World::new().await;
    let url_of = world.url_of();
    let err = access_with(
        &mut connections("wrong-token-e1d2"),
        &world.map,
        &ada(),
        &url_of,
    )
    .await
    .expect_err("the desk answers 401");
    assert!(
        matches!(
            &err,
            RequestError::Http {
                source: HttpError::Status { status: 401, .. },
                ..
            }
        ),
        "{err:?}"
    );
    let texts = [format!("{err}"), format!("{err:?}"), error_chain(&err)];
    for text in &texts {
        assert!(!text.contains("wrong-token-e1d2"), "{text}");
        assert!(!text.contains(&world.desk_url), "{text}");
        assert!(!text.contains("ada"), "personal data in {text}");
    }
    assert!(
        error_chain(&err).contains("HTTP 401"),
        "{}",
        error_chain(&err)
    );

    // No credential at all: nothing is sent, and the error names the variable only.
    let mut none = Connections::with_credentials(|_| None);
    let err = access_with(&mut none, &world.map, &ada(), &url_of)
        .await
        .expect_err("no credential");
    assert!(
        error_chain(&err).contains("HTTP_TEST_DESK_TOKEN"),
        "{err:?}"
    );
    assert!(world.desk.lock().expect("not poisoned").calls.len() == 1);

    // Open connections show neither the token nor the base URL.
    let mut open = connections(TOKEN);
    access_with(&mut open, &world.map, &ada(), &url_of)
        .await
        .expect("access runs");
    let shown = format!("{open:?}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains(&world.desk_url),
        "{shown}"
    );
}

#[tokio::test]
async fn a_plain_http_base_url_elsewhere_than_loopback_is_refused() {
    let world = World::new().await;
    let url_of = |key: &str| match key {
        "crm" => Some(world.crm_url.clone()),
        _ => Some("http://desk.example.com/api".to_owned()),
    };
    let err = access_with(&mut connections(TOKEN), &world.map, &ada(), &url_of)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            &err,
            RequestError::Http {
                source: HttpError::InsecureUrl,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn erasure_calls_erase_once_per_record() {
    let world = World::new().await;
    let url_of = world.url_of();
    let result = erase_with(
        &mut connections(TOKEN),
        &world.map,
        &ada(),
        &url_of,
        &options(),
    )
    .await
    .expect("erasure runs");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    let desk = &result.erased["desk.contacts"];
    assert_eq!((desk.rows, desk.deleted), (2, true));
    assert_eq!(
        world.deletes(),
        ["DELETE /contacts/c1", "DELETE /contacts/c2"]
    );
    assert_eq!(world.remaining(), ["c3", "c4"]);
    assert_eq!(
        world.crm_names().await,
        [
            (7, "[erased]".to_owned()),
            (8, "Bob Jones".to_owned()),
            (9, "Adam Smith".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_failing_erase_call_fails_the_datastore_and_a_retry_from_the_plan_completes() {
    let world = World::new().await;
    let url_of = world.url_of();
    world
        .desk
        .lock()
        .expect("not poisoned")
        .failing
        .insert("c2".to_owned());

    // Through `erase_with`: the desk is reported failed, the CRM's change stands.
    let result = erase_with(
        &mut connections(TOKEN),
        &world.map,
        &ada(),
        &url_of,
        &options(),
    )
    .await
    .expect("erasure runs");
    assert_eq!(result.failed.len(), 1, "{:?}", result.failed);
    let (datastore, reason) = &result.failed[0];
    assert_eq!(datastore, "desk");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(reason.contains("erase call 2 of 2"), "{reason}");
    assert!(
        !reason.contains(TOKEN) && !reason.contains("ada"),
        "{reason}"
    );
    assert_eq!(world.remaining(), ["c2", "c3", "c4"]);
    assert!(result.erased.contains_key("crm.customers"));
    assert!(!result.erased.contains_key("desk.contacts"));
}

#[tokio::test]
async fn a_stored_plan_applied_again_after_a_partial_failure_completes() {
    let world = World::new().await;
    let url_of = world.url_of();
    world
        .desk
        .lock()
        .expect("not poisoned")
        .failing
        .insert("c2".to_owned());
    let mut conns = connections(TOKEN);
    let plan = plan_erasure(&mut conns, &world.map, &ada(), &url_of, &options())
        .await
        .expect("planned");
    // The plan carries the calls, and survives storage as the server stores it.
    let stored = serde_json::to_value(&plan).expect("serialises");
    let calls = &stored["datastores"]["desk"]["collections"]["contacts"]["calls"];
    assert_eq!(
        calls,
        &serde_json::json!([
            {"method": "DELETE", "path": "/contacts/c1"},
            {"method": "DELETE", "path": "/contacts/c2"},
        ])
    );
    let plan: ErasurePlan = serde_json::from_value(stored).expect("reads back");
    assert_eq!(plan.planned("desk")["desk.contacts"].rows, 2);

    let err = apply_datastore(&mut conns, &world.map, &plan, "desk", &url_of)
        .await
        .expect_err("c2 answers 500");
    assert!(
        matches!(
            &err,
            RequestError::Http {
                source: HttpError::Status { status: 500, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(world.remaining(), ["c2", "c3", "c4"]);

    // The service recovers; the retry re-sends c1's call (404: already erased, counted) and c2's.
    world.desk.lock().expect("not poisoned").failing.clear();
    let done = apply_datastore(&mut conns, &world.map, &plan, "desk", &url_of)
        .await
        .expect("the retry completes");
    assert_eq!(done["desk.contacts"].rows, 2);
    assert_eq!(world.remaining(), ["c3", "c4"]);
    assert_eq!(
        world.deletes(),
        [
            "DELETE /contacts/c1",
            "DELETE /contacts/c2",
            "DELETE /contacts/c1",
            "DELETE /contacts/c2"
        ]
    );
    // The CRM is applied from the same plan, whatever happened to the desk.
    let crm = apply_datastore(&mut conns, &world.map, &plan, "crm", &url_of)
        .await
        .expect("crm applied");
    assert_eq!(crm["crm.customers"].rows, 1);
}

/// An error and its causes in one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
