//! `pactum serve --demo` as a user runs it: a real process on a real port, stopped with SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{Server, get, get_bytes, json_of, run_request, send};

#[test]
fn demo_server_serves_the_notice_and_api_then_shuts_down_gracefully() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &["--log-format", "json"]);
    let addr = server.addr.clone();

    let (status, body) = get(&addr, "/healthz");
    assert_eq!((status, body.contains("\"ok\"")), (200, true), "{body}");
    let (status, body) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains("<h1") && body.contains("Helpdeskly"),
        "notice page: {body:.200}"
    );
    let (status, body) = get(&addr, "/api/v1/openapi.json");
    assert_eq!(status, 200);
    assert!(body.contains("\"/api/v1/notice\""));
    let (status, body) = get(&addr, "/api/v1/check");
    assert_eq!(status, 200);
    assert!(body.contains("\"errors\":0"), "{body}");
    assert!(data.path().join("demo-map/organisation.yml").exists());

    let (status, logs) = server.stop();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
    assert!(logs.contains("shut down"));
}

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let (cert_arg, key_arg) = (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    );
    let server = Server::start(
        &dir.path().join("data"),
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
    );
    let addr = server.addr.clone();
    let port = addr.rsplit(':').next().expect("port");
    // curl checks the certificate against the one we generated, so this is real TLS end to end.
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&cert_path)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg(format!("https://localhost:{port}/healthz"))
        .output()
        .expect("curl runs");
    let _ = server.stop();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"status\":\"ok\"}",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn logs_never_contain_personal_data_or_secrets() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &["--log-format", "json"]);
    let addr = server.addr.clone();
    let email = "planted.person@example.com";
    let password = "Tr0ub4dor&3-planted";
    for path in [
        format!("/api/v1/notice?email={email}&password={password}"),
        format!("/requests/{email}"),
        format!("/nowhere/{email}"),
        format!("/healthz?token={password}"),
    ] {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {password}\r\nX-Email: {email}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
    }
    let (_, logs) = server.stop();
    // The requests were logged (so the assertion below is not vacuous) ...
    assert!(logs.contains("\"route\":\"/api/v1/notice\""), "{logs}");
    assert!(logs.contains("\"route\":\"unmatched\""), "{logs}");
    assert!(
        logs.contains("\"route\":\"/requests/{public_id}\""),
        "{logs}"
    );
    // ... and nothing planted in them reached a log line.
    for planted in [email, password, "planted"] {
        assert!(
            !logs.contains(planted),
            "`{planted}` leaked into the logs:\n{logs}"
        );
    }
}

#[test]
fn demo_owner_is_printed_once_signs_in_and_never_reaches_the_logs() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &["--log-format", "json"]);
    let addr = server.addr.clone();
    let line = server
        .banner
        .lines()
        .find(|l| l.contains("demo sign-in:"))
        .unwrap_or_else(|| panic!("no demo account in the banner:\n{}", server.banner));
    let (email, password) = line
        .split("demo sign-in: ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .and_then(|creds| creds.split_once(" / "))
        .unwrap_or_else(|| panic!("unexpected banner line {line:?}"));
    let (email, password) = (email.to_owned(), password.to_owned());
    assert!(password.len() >= 20, "{password}");

    // The admin API and console refuse strangers.
    let (status, head, _) = send(&addr, "GET", "/api/v1/admin/users", &[], "");
    assert_eq!(status, 401);
    assert!(
        head.to_lowercase().contains("www-authenticate: bearer"),
        "{head}"
    );
    let (status, head, _) = send(&addr, "GET", "/admin", &[], "");
    assert_eq!(status, 303);
    assert!(head.contains("location: /admin/login"), "{head}");

    // The printed account signs in.
    let form = format!("email={}&password={password}", email.replace('@', "%40"));
    let (status, head, _) = send(
        &addr,
        "POST",
        "/admin/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &form,
    );
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie in {head}"))
        .to_owned();
    let (status, _, body) = send(&addr, "GET", "/admin", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert!(
        body.contains("Audit log") && body.contains("intact"),
        "{body}"
    );
    let (status, _, _) = send(
        &addr,
        "POST",
        "/admin/logout",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "cross-site")],
        "",
    );
    assert_eq!(status, 403, "a cross-site sign-out is refused");

    let (_, logs) = server.stop();
    assert!(logs.contains("\"route\":\"/admin/login\""), "{logs}");
    let secret = cookie.split_once('=').map_or("", |(_, v)| v);
    for leaked in [password.as_str(), email.as_str(), secret] {
        assert!(
            !logs.contains(leaked),
            "`{leaked}` leaked into the logs:\n{logs}"
        );
    }

    // A restart on the same data creates no second account and prints no password.
    let again = Server::start(data.path(), &[]);
    assert!(!again.banner.contains("demo sign-in"), "{}", again.banner);
    let _ = again.stop();
}

/// The whole journey on the demo: a person asks for their data and then for its erasure through
/// the API, confirms each with the emailed code, a privacy officer approves, the server's worker
/// runs them against the seeded SQLite datastores, the person downloads the package through the
/// emailed link, and the erasure leaves nothing for a later access request to find.
#[test]
fn demo_requests_run_end_to_end() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[]);
    let token = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "admin",
            "token",
            "create",
            "--name",
            "e2e",
            "--role",
            "privacy_officer",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("token");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    // The published notice sends people to the privacy centre.
    let (status, notice) = get(&server.addr, "/");
    assert_eq!(status, 200);
    assert!(
        notice.contains(&format!("href=\"http://{}/requests/new\"", server.addr)),
        "the notice links to the privacy centre"
    );

    let access = run_request(&server, data.path(), &token, "access");
    assert!(
        access["outcome"]["records"].as_u64().expect("a count") >= 5,
        "{access}"
    );
    assert_eq!(access["outcome"]["collections"]["web_db.portal_users"], 1);
    // The download link arrives by email and works once the request is done.
    let links = common::done_mail_links(data.path(), &access);
    let link = links
        .iter()
        .find(|l| l.contains("/requests/download?token=pcd_"))
        .unwrap_or_else(|| panic!("no download link in {links:?}"));
    let path = link.split_once(&server.addr).expect("our address").1;
    let (status, bytes) = get_bytes(&server.addr, path);
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut users = String::new();
    zip.by_name("records/web_db.portal_users.json")
        .expect("portal users in the package")
        .read_to_string(&mut users)
        .expect("utf-8");
    assert!(users.contains("alex.morgan@example.com"), "{users}");

    // Portability: one structured JSON document, without credentials.
    let portability = run_request(&server, data.path(), &token, "portability");
    let path = common::download_path(data.path(), &portability, &server.addr);
    let (status, bytes) = get_bytes(&server.addr, &path);
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    assert_eq!(zip.len(), 1);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("portability.json").expect("the document"),
        &mut text,
    )
    .expect("UTF-8");
    let portable: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        portable["records"]["web_db.portal_users"][0]["email"],
        "alex.morgan@example.com"
    );

    let erasure = run_request(&server, data.path(), &token, "erasure");
    assert!(
        erasure["outcome"]["rows_erased"].as_u64().expect("a count") >= 5,
        "{erasure}"
    );
    // The demo's manual datastores became tasks; the request completed only once each was
    // recorded done, and its outcome says by whom.
    let tasks = erasure["tasks"].as_array().expect("tasks");
    assert!(!tasks.is_empty(), "{erasure}");
    assert!(tasks.iter().all(|t| {
        t["done_by"]
            .as_str()
            .is_some_and(|by| by.starts_with("token:"))
    }));
    let listed = erasure["outcome"]["manual_tasks"]
        .as_array()
        .expect("manual tasks");
    assert_eq!(listed.len(), tasks.len(), "{erasure}");
    assert!(listed.iter().all(|t| t["done_at"].is_string()), "{erasure}");
    let again = run_request(&server, data.path(), &token, "access");
    assert_eq!(again["outcome"]["records"], 0, "{again}");

    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    assert!(
        !logs.contains("alex.morgan"),
        "the person's address reached the logs:\n{logs}"
    );
    let verify = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["audit", "verify", "--data"])
        .arg(data.path())
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// Every POST a [`Recipient`] received: headers and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A recipient of webhooks on loopback, recording every POST (headers and body).
struct Recipient {
    url: String,
    seen: Seen,
    _runtime: tokio::runtime::Runtime,
}

impl Recipient {
    fn start() -> Recipient {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let seen: Seen = std::sync::Arc::default();
        let record = std::sync::Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let record = std::sync::Arc::clone(&record);
                    async move {
                        record
                            .lock()
                            .expect("not poisoned")
                            .push((headers, body.to_vec()));
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recipient {
            url: format!("http://{addr}/hook"),
            seen,
            _runtime: runtime,
        }
    }
}

/// GDPR Art. 19 on the demo: with a webhook declared for one processor, an erasure tells that
/// recipient with a signed event it can verify, lists the other recipients as tasks, and audits
/// the delivery.
#[test]
fn an_erasure_tells_the_recipients_by_signed_webhook() {
    let data = tempfile::tempdir().expect("tempdir");
    // The first start writes the demo map; declare AWS's webhook in it. (Stopped once it answers:
    // its signal handler is in place by then.)
    let first = Server::start(data.path(), &[]);
    assert_eq!(get(&first.addr, "/healthz").0, 200);
    let (status, logs) = first.stop();
    assert!(status.success(), "{logs}");
    let processors = data.path().join("demo-map/processors.yml");
    let text = std::fs::read_to_string(&processors).expect("processors.yml");
    let text = text.replacen(
        "  aws:\n",
        "  aws:\n    notify: {webhook_env: AWS_PRIVACY_HOOK, secret_env: AWS_PRIVACY_SECRET}\n",
        1,
    );
    std::fs::write(&processors, text).expect("write");
    let recipient = Recipient::start();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let server = Server::start_with_env(
        data.path(),
        &[],
        &[
            ("AWS_PRIVACY_HOOK", recipient.url.as_str()),
            ("AWS_PRIVACY_SECRET", secret),
        ],
    );
    let token = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "admin",
            "token",
            "create",
            "--name",
            "hooks",
            "--role",
            "privacy_officer",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("token");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();

    let erasure = run_request(&server, data.path(), &token, "erasure");
    assert_eq!(
        erasure["outcome"]["recipients"]["webhooks"],
        serde_json::json!(["aws"]),
        "{erasure}"
    );
    let others = erasure["outcome"]["recipients"]["to_tell_by_other_means"].to_string();
    assert!(others.contains("Cloudflare"), "{others}");

    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = recipient.seen.lock().expect("not poisoned").clone();
        if !delivered.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if delivered.len() != 1 {
        let (_, logs) = server.stop();
        panic!("{} webhooks, not one:\n{logs}", delivered.len());
    }
    let (headers, body) = &delivered[0];
    let header = |name: &str| headers[name].to_str().expect("ascii").to_owned();
    let timestamp: i64 = header("webhook-timestamp").parse().expect("seconds");
    assert_eq!(
        header("webhook-signature"),
        pactum_requests::recipients::sign(
            &pactum_requests::recipients::secret_bytes(secret),
            &header("webhook-id"),
            timestamp,
            body
        )
    );
    let event = json_of(&String::from_utf8_lossy(body));
    assert_eq!(event["type"], "privacy_request.erasure");
    assert_eq!(event["data"]["action"], "erase");
    assert_eq!(event["data"]["subject"]["email"], "alex.morgan@example.com");
    assert_eq!(event["data"]["controller"], "Helpdeskly, Inc.");

    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    let export = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["audit", "export", "--data"])
        .arg(data.path())
        .output()
        .expect("export");
    let export = String::from_utf8_lossy(&export.stdout);
    assert!(export.contains("recipient.notified"), "{export}");
    assert!(
        !export.contains("alex.morgan"),
        "no address in the audit log"
    );
}
