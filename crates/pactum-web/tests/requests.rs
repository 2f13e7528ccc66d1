//! Data-subject requests through the web layer, in-process: the privacy centre's forms and the
//! public API take a request, the code arrives in the file outbox, verification, the admin queue by
//! time left, the decision (which enqueues execution), completion, and the expiring download link.

mod common;
use common::Answer;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use pactum_domain::model::{Regime, Right, Rights};
use pactum_store::accounts::{PasswordParams, Role};
use pactum_store::audit::Actor;
use pactum_store::clock::{ManualClock, Timestamp};
use pactum_store::requests::{Completion, RequestStatus};
use pactum_store::tokens::NewToken;
use pactum_store::{Store, StoreOptions};
use pactum_web::mail::{Mailer, read_outbox};
use pactum_web::requests::RequestPolicy;
use serde_json::{Value, json};

/// 2026-11-26 12:00 UTC.
const NOW: i64 = 1_795_694_400_000;

struct Harness {
    app: axum::Router,
    store: Store,
    clock: Arc<ManualClock>,
    outbox: tempfile::TempDir,
}

fn rights() -> Rights {
    Rights {
        response_days: 30,
        regimes: [
            (
                Regime::UkGdpr,
                vec![Right::Access, Right::Erasure, Right::Restriction],
            ),
            (Regime::Ccpa, vec![Right::Know, Right::OptOutSaleSharing]),
        ]
        .into_iter()
        .collect(),
        appeal: Some("Write to appeals@example.com.".to_owned()),
        ..Rights::default()
    }
}

async fn harness() -> Harness {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(NOW)));
    let store = Store::open_with(
        "sqlite::memory:",
        StoreOptions {
            max_connections: 1,
            clock: clock.clone(),
            password: PasswordParams::INSECURE_FOR_TESTS,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("an in-memory store");
    let outbox = tempfile::tempdir().expect("outbox");
    let site = pactum_web::Site::from_parts(
        "Example Ltd",
        "<!DOCTYPE html><title>n</title>",
        "# n",
        json!({}),
        json!({}),
        json!({"errors": 0}),
    )
    .with_requests(RequestPolicy::from_rights(&rights()));
    let options = pactum_web::Options {
        public_url: "https://privacy.example.com".to_owned(),
        mailer: Some(
            Mailer::outbox(outbox.path(), "Example Privacy <privacy@example.com>").expect("mailer"),
        ),
        ..pactum_web::Options::default()
    };
    let app = pactum_web::router(Arc::new(site), store.clone(), options);
    Harness {
        app,
        store,
        clock,
        outbox,
    }
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Answer {
        common::send(&self.app, request).await
    }

    async fn json(&self, method: Method, path: &str, bearer: Option<&str>, body: Value) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = Request::get(path);
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// A request from the person through the public API.
    async fn ask(&self, body: Value) -> Answer {
        self.json(Method::POST, "/api/v1/requests", None, body)
            .await
    }

    /// Posts a form as a same-origin browser would.
    async fn form(&self, path: &str, body: &str) -> Answer {
        self.send(
            Request::post(path)
                .header(header::HOST, "privacy.example.com")
                .header("sec-fetch-site", "same-origin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .expect("request"),
        )
        .await
    }

    async fn token(&self, role: Role) -> String {
        let (_, secret) = self
            .store
            .create_token(
                &Actor::Cli,
                &NewToken {
                    name: "test".to_owned(),
                    roles: vec![role],
                    expires_at: None,
                },
            )
            .await
            .expect("token");
        secret.expose().to_owned()
    }

    /// The newest message to `to`, and the code and links in it.
    fn last_mail(&self, to: &str) -> (String, Option<String>, Vec<String>) {
        let messages = read_outbox(self.outbox.path()).expect("outbox");
        let message = messages
            .iter()
            .rev()
            .find(|m| m.to == to)
            .unwrap_or_else(|| panic!("no mail to {to} in {messages:?}"));
        let code = message
            .body
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()));
        let links = message
            .body
            .split_whitespace()
            .filter(|w| w.starts_with("https://"))
            .map(str::to_owned)
            .collect();
        (message.body.clone(), code.map(str::to_owned), links)
    }
}

#[tokio::test]
async fn the_whole_journey_through_the_api() {
    let h = harness().await;
    let created = h
        .ask(json!({"type": "access", "regime": "uk_gdpr", "email": "Alex@Example.com"}))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let status = created.json();
    let public_id = status["id"].as_str().expect("id").to_owned();
    assert!(public_id.starts_with("dsr_"));
    assert_eq!(status["status"], "unverified");
    assert_eq!(status["code_sent"], true);
    // Received 26 November 2026: one calendar month ends on Saturday 26 December and moves past
    // the bank holidays to 29 December; the 30-day promise (26 December) is earlier and wins.
    assert_eq!(status["received_on"], "2026-11-26");
    assert_eq!(status["due_on"], "2026-12-26");
    assert!(
        !created.body.contains("Alex@"),
        "the address is never echoed"
    );

    // Addresses are compared in lower case.
    let (body, code, links) = h.last_mail("alex@example.com");
    let code = code.unwrap_or_else(|| panic!("a code in {body}"));
    assert!(
        links
            .iter()
            .any(|l| l.starts_with("https://privacy.example.com/requests/verify?token=pcv_")),
        "{body}"
    );

    // A wrong code uses an attempt; the right one verifies.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answer = h
        .json(
            Method::POST,
            &format!("/api/v1/requests/{public_id}/verify"),
            None,
            json!({"code": wrong}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let answer = h
        .json(
            Method::POST,
            &format!("/api/v1/requests/{public_id}/verify"),
            None,
            json!({"code": code}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["status"], "verified");
    // Confirmed: the person is told it was received and by when it will be answered.
    let (ack, _, _) = h.last_mail("alex@example.com");
    assert!(
        ack.contains("has received your request") && ack.contains("2026-12-26"),
        "{ack}"
    );

    // The queue: an analyst reads it (masked), may not decide.
    let analyst = h.token(Role::Analyst).await;
    let list = h.get("/api/v1/admin/requests", Some(&analyst)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.json();
    let item = &items.as_array().expect("a list")[0];
    assert_eq!(item["identity"], "a***@example.com");
    assert_eq!(item["urgency"], "on_track");
    assert_eq!(item["days_left"], 30);
    let id = item["id"].as_i64().expect("id");
    let refused = h
        .json(
            Method::POST,
            &format!("/api/v1/admin/requests/{id}/decision"),
            Some(&analyst),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Time passes: 25 days later it is due soon.
    h.clock.advance(Duration::from_secs(25 * 86_400));
    let list = h.get("/api/v1/admin/requests", Some(&analyst)).await.json();
    assert_eq!(list[0]["urgency"], "due_soon");
    assert_eq!(list[0]["days_left"], 5);

    // The privacy officer approves: execution is enqueued once.
    let officer = h.token(Role::PrivacyOfficer).await;
    let approved = h
        .json(
            Method::POST,
            &format!("/api/v1/admin/requests/{id}/decision"),
            Some(&officer),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["status"], "approved");
    let again = h
        .json(
            Method::POST,
            &format!("/api/v1/admin/requests/{id}/decision"),
            Some(&officer),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let jobs = h.store.jobs(0, 100).await.expect("jobs");
    let executions: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "request.execute")
        .collect();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].payload["request_id"], id);

    // Execution (done by the server's worker) completes it with a package: the link works until it
    // expires.
    let (_, token) = h
        .store
        .complete_request(
            &Actor::System,
            id,
            &Completion {
                outcome: json!({"records": 1}),
                package: Some(b"PK fake zip".to_vec()),
                package_lifetime: Duration::from_secs(3600),
            },
        )
        .await
        .expect("completed");
    let token = token.expect("a download token");
    let download = h
        .get(&format!("/requests/download?token={token}"), None)
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers[header::CONTENT_TYPE], "application/zip");
    assert_eq!(download.body, "PK fake zip");
    let status = h
        .get(&format!("/api/v1/requests/{public_id}"), None)
        .await
        .json();
    assert_eq!(status["status"], "completed");
    h.clock.advance(Duration::from_secs(3601));
    let expired = h
        .get(&format!("/requests/download?token={token}"), None)
        .await;
    assert_eq!(expired.status, StatusCode::GONE);

    // Every step is in the audit chain, and no entry holds the address.
    let mut out = Vec::new();
    h.store.audit_export(&mut out).await.expect("export");
    let log = String::from_utf8(out).expect("utf-8");
    for action in [
        "request.create",
        "request.verify",
        "request.acknowledge",
        "request.list",
        "request.approve",
        "request.complete",
        "request.download",
    ] {
        assert!(log.contains(action), "{action} missing from {log}");
    }
    assert!(!log.to_lowercase().contains("alex@example.com"));
    assert!(h.store.audit_verify().await.expect("verify").is_intact());
}

#[tokio::test]
async fn the_privacy_centre_forms_and_the_magic_link() {
    let h = harness().await;
    let form = h.get("/requests/new", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("value=\"uk_gdpr:erasure\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("value=\"ccpa:minor_content_removal\""));
    assert!(
        !form.body.contains("uk_gdpr:know"),
        "only what the map offers"
    );

    let answer = h
        .form(
            "/requests/new",
            "request=uk_gdpr%3Aerasure&email=sam%40example.net&details=",
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let status_path = answer.location().expect("a Location").to_owned();
    let page = h.get(&status_path, None).await;
    assert!(
        page.body.contains("data-status=\"unverified\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("sam@example.net"),
        "the status page never shows the address"
    );

    // The link opens a page whose button verifies: fetching the link alone changes nothing.
    let (_, _, links) = h.last_mail("sam@example.net");
    let link = links
        .iter()
        .find(|l| l.contains("/requests/verify?token="))
        .expect("a link");
    let path = link.trim_start_matches("https://privacy.example.com");
    let confirm = h.get(path, None).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        h.get(&status_path, None)
            .await
            .body
            .contains("data-status=\"unverified\"")
    );
    let token = path.split("token=").nth(1).expect("token");
    let verified = h.form("/requests/verify", &format!("token={token}")).await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER, "{}", verified.body);
    assert!(
        h.get(&status_path, None)
            .await
            .body
            .contains("data-status=\"verified\"")
    );
    // Used again (a double click), it verifies nothing new and shows the request.
    let reused = h.form("/requests/verify", &format!("token={token}")).await;
    assert_eq!(reused.status, StatusCode::SEE_OTHER);
    assert_eq!(reused.location(), Some(status_path.as_str()));
    // A made-up token is not valid.
    let forged = h
        .form(
            "/requests/verify",
            "token=pcv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);

    // A cross-site post is refused.
    let cross = h
        .send(
            Request::post("/requests/new")
                .header(header::HOST, "privacy.example.com")
                .header("sec-fetch-site", "cross-site")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("request=uk_gdpr%3Aaccess&email=x%40example.com"))
                .expect("request"),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // Not offered, bad address: the form again, with the error.
    let not_offered = h
        .form(
            "/requests/new",
            "request=uk_gdpr%3Aknow&email=a%40example.com",
        )
        .await;
    assert_eq!(not_offered.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = h
        .form("/requests/new", "request=uk_gdpr%3Aaccess&email=nobody")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("valid email address"));
}

#[tokio::test]
async fn opt_outs_need_no_verification_and_take_effect_at_once() {
    let h = harness().await;
    let answer = h
        .ask(json!({"type": "opt_out_sale_sharing", "regime": "ccpa", "email": "kim@example.org"}))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(answer.json()["code_sent"], false);
    assert_eq!(answer.json()["status"], "completed");
    let flags = h
        .store
        .subject_flags("email", "kim@example.org")
        .await
        .expect("flags");
    assert_eq!(flags.len(), 1);
}

#[tokio::test]
async fn types_the_map_does_not_offer_are_not_found() {
    let h = harness().await;
    let answer = h
        .ask(json!({"type": "know", "regime": "uk_gdpr", "email": "a@example.com"}))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert!(answer.body.contains("not offered"));
    let bad = h
        .ask(json!({"type": "access", "regime": "uk_gdpr", "email": "not an address"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}

#[tokio::test]
async fn intake_is_rate_limited_per_address() {
    let h = harness().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let answer = h
            .ask(json!({"type": "access", "regime": "uk_gdpr", "email": "flood@example.com"}))
            .await;
        statuses.push(answer.status);
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.headers.contains_key(header::RETRY_AFTER));
        }
    }
    assert_eq!(statuses[..5], [StatusCode::ACCEPTED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn admins_take_requests_on_someones_behalf_and_refuse_with_reasons() {
    let h = harness().await;
    let officer = h.token(Role::PrivacyOfficer).await;
    let created = h
        .json(
            Method::POST,
            "/api/v1/admin/requests",
            Some(&officer),
            json!({"type": "restriction", "regime": "uk_gdpr", "identity": {"phone": "+44 20 7946 0958"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let request = created.json();
    assert_eq!(request["status"], "verified");
    assert_eq!(request["channel"], "admin");
    let id = request["id"].as_i64().expect("id");
    let no_reason = h
        .json(
            Method::POST,
            &format!("/api/v1/admin/requests/{id}/decision"),
            Some(&officer),
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = h
        .json(
            Method::POST,
            &format!("/api/v1/admin/requests/{id}/decision"),
            Some(&officer),
            json!({"decision": "reject", "reason": "We could not match the number to any record."}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    let stored = h.store.request(id).await.expect("read").expect("exists");
    assert_eq!(stored.status, RequestStatus::Rejected);
    let page = h
        .get(&format!("/requests/{}", stored.public_id), None)
        .await;
    assert!(page.body.contains("could not match the number"));
    assert!(page.body.contains("appeals@example.com"));
}

#[tokio::test]
async fn a_privacy_officer_extends_a_deadline_once_and_the_person_is_told() {
    let h = harness().await;
    let created = h
        .ask(json!({"type": "access", "regime": "uk_gdpr", "email": "slow@example.com"}))
        .await
        .json();
    let public_id = created["id"].as_str().expect("id").to_owned();
    let (_, code, _) = h.last_mail("slow@example.com");
    let verified = h
        .json(
            Method::POST,
            &format!("/api/v1/requests/{public_id}/verify"),
            None,
            json!({"code": code.expect("a code")}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK);
    let officer = h.token(Role::PrivacyOfficer).await;
    let id = h.get("/api/v1/admin/requests", Some(&officer)).await.json()[0]["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/v1/admin/requests/{id}/extend");
    let extended = h
        .json(
            Method::POST,
            &path,
            Some(&officer),
            json!({"reason": "Your records span three archives."}),
        )
        .await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.body);
    // Received 26 November 2026: three months end on Friday 26 February 2027.
    assert_eq!(extended.json()["due_on"], "2027-02-26");
    let (body, _, _) = h.last_mail("slow@example.com");
    assert!(
        body.contains("2027-02-26") && body.contains("three archives"),
        "{body}"
    );
    let status = h
        .get(&format!("/api/v1/requests/{public_id}"), None)
        .await
        .json();
    assert_eq!(status["due_on"], "2027-02-26");
    let again = h
        .json(
            Method::POST,
            &path,
            Some(&officer),
            json!({"reason": "More."}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let analyst = h.token(Role::Analyst).await;
    let refused = h
        .json(
            Method::POST,
            &path,
            Some(&analyst),
            json!({"reason": "More."}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
