//! Legal holds end to end, on a real `pactum serve --demo`: a hold placed through the API keeps the
//! demo person's invoices through their erasure (and their answer says so and why), everything
//! else is erased, and releasing the hold through the API erases the invoices by themselves.

mod common;

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use common::{Server, json_of, officer_token, run_request, server_send};
use sqlx::Connection;

const PERSON: &str = "alex.morgan@example.com";
const REASON: &str = "Litigation hold: matter 2026-114";

/// Runs `f` on a fresh single-threaded runtime (the HTTP helpers are blocking; sqlx is async).
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The demo person's invoices in the demo `web_db` file: (id, bill_to, payment_ref), by id.
type Invoices = Vec<(i64, Option<String>, Option<String>)>;

async fn invoices(url: &str, ids: &[i64]) -> Invoices {
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("web_db");
    let mut out = Vec::new();
    for id in ids {
        let row: (i64, Option<String>, Option<String>) =
            sqlx::query_as("SELECT id, bill_to, payment_ref FROM invoices WHERE id = ?")
                .bind(id)
                .fetch_one(&mut db)
                .await
                .expect("the invoice row");
        out.push(row);
    }
    out
}

#[test]
fn a_legal_hold_keeps_invoices_through_an_erasure_and_its_release_erases_them() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[]);
    let token = officer_token(data.path());
    let web_db = format!(
        "sqlite://{}",
        data.path().join("demo-datastores/web_db.db").display()
    );
    // The demo's invoices are recent, so statutory retention (3 years from `issued_on`) would keep
    // them anyway: date them back past that, so the hold is the only thing keeping them.
    let ids: Vec<i64> = block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&web_db)
            .await
            .expect("web_db");
        sqlx::query("UPDATE invoices SET issued_on = '2019-01-02'")
            .execute(&mut db)
            .await
            .expect("back-dated");
        sqlx::query_scalar(
            "SELECT i.id FROM invoices i JOIN portal_users u ON i.user_id = u.id \
             WHERE u.email = ? ORDER BY i.id",
        )
        .bind(PERSON)
        .fetch_all(&mut db)
        .await
        .expect("the person's invoices")
    });
    assert!(!ids.is_empty(), "the demo person has invoices");
    let before = block_on(invoices(&web_db, &ids));
    assert!(
        before
            .iter()
            .all(|(_, bill_to, _)| bill_to.as_deref() != Some("[erased]"))
    );

    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = serde_json::json!({
        "identity": {"email": "Alex.Morgan@Example.com"},
        "scope": ["web_db.invoices"],
        "reason": REASON,
    })
    .to_string();
    let (status, _, placed) = server_send(&server, "POST", "/api/v1/admin/holds", &auth, &body);
    assert_eq!(status, 201, "{placed}");
    let hold = json_of(&placed);
    let hold_id = hold["id"].as_i64().expect("an id");
    assert_eq!(hold["active"], true);
    assert_eq!(hold["scope"], serde_json::json!(["web_db.invoices"]));

    let erasure = run_request(&server, data.path(), &token, "erasure");
    let outcome = &erasure["outcome"];
    assert!(
        outcome["rows_erased"].as_u64().expect("a count") >= 4,
        "{outcome:#}"
    );
    assert!(
        outcome["erased"].get("web_db.invoices").is_none(),
        "{outcome:#}"
    );
    assert!(
        outcome["erased"].get("web_db.portal_users").is_some(),
        "{outcome:#}"
    );
    let kept = outcome["kept"]
        .as_array()
        .expect("kept")
        .iter()
        .find(|k| k["collection"] == "web_db.invoices")
        .unwrap_or_else(|| panic!("invoices are reported kept: {outcome:#}"));
    assert_eq!(kept["reason"], format!("legal hold #{hold_id}: {REASON}"));
    assert_eq!(kept["holds"], serde_json::json!([hold_id]));
    assert_eq!(kept["rows"], ids.len());
    assert_eq!(
        block_on(invoices(&web_db, &ids)),
        before,
        "the held invoices are untouched"
    );

    // The person's answer says what was kept and why: on the status page and in the email.
    let public_id = erasure["public_id"].as_str().expect("a public id");
    let (status, page) = common::get(&server.addr, &format!("/requests/{public_id}"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("What we kept, and why"), "{page}");
    assert!(
        page.contains(&format!("legal hold #{hold_id}: {REASON}")),
        "{page}"
    );
    assert!(page.contains("erased when the hold is released"), "{page}");
    let mut told = false;
    for _ in 0..100 {
        let outbox = pactum_web::mail::read_outbox(&data.path().join("outbox")).expect("outbox");
        if outbox
            .iter()
            .any(|m| m.to == PERSON && m.body.contains("What we kept") && m.body.contains(REASON))
        {
            told = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(told, "the completion email says what was kept and why");

    let (status, _, listed) = server_send(&server, "GET", "/api/v1/admin/holds", &auth, "");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(json_of(&listed)[0]["id"], hold_id);

    let path = format!("/api/v1/admin/holds/{hold_id}/release");
    let (status, _, released) = server_send(&server, "POST", &path, &auth, "");
    assert_eq!(status, 200, "{released}");
    assert_eq!(json_of(&released)["active"], false);
    let (status, head, again) = server_send(&server, "POST", &path, &auth, "");
    assert_eq!(status, 409, "{again}");
    assert!(head.contains("application/problem+json"), "{head}");

    // The deferred erasure runs by itself.
    let mut after = Vec::new();
    for _ in 0..200 {
        after = block_on(invoices(&web_db, &ids));
        if after
            .iter()
            .all(|(_, bill_to, pay)| bill_to.as_deref() == Some("[erased]") && pay.is_none())
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        after
            .iter()
            .all(|(_, bill_to, pay)| bill_to.as_deref() == Some("[erased]") && pay.is_none()),
        "the invoices were not erased after the release: {after:?}"
    );
    // Other people's invoices are untouched.
    let others: i64 = block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&web_db)
            .await
            .expect("web_db");
        sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE bill_to <> '[erased]'")
            .fetch_one(&mut db)
            .await
            .expect("counts")
    });
    assert!(others > 0, "other people's invoices are kept");

    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    assert!(!logs.contains("alex.morgan"), "{logs}");
    let export = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["audit", "export", "--data"])
        .arg(data.path())
        .output()
        .expect("export");
    assert!(export.status.success());
    let audit = String::from_utf8_lossy(&export.stdout);
    for action in [
        "\"hold.place\"",
        "\"request.defer\"",
        "\"hold.release\"",
        "\"request.deferred_step\"",
        "\"request.deferred_applied\"",
    ] {
        assert_eq!(audit.matches(action).count(), 1, "{action} in {audit}");
    }
    assert!(
        !audit.contains("Litigation hold"),
        "the reason is never audited"
    );
    assert!(
        !audit.to_lowercase().contains("alex.morgan"),
        "no identity in the audit"
    );
}
