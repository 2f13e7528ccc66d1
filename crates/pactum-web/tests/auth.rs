//! Authentication and authorisation, in-process: every admin route refuses strangers, tokens are
//! scoped to their roles, console sign-in, lock-out, per-address limits, session expiry and
//! sign-out, CSRF.

mod common;
use common::Answer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use pactum_store::accounts::{LockoutPolicy, LoginLimits, PasswordParams, Role};
use pactum_store::audit::Actor;
use pactum_store::clock::{ManualClock, Timestamp};
use pactum_store::sessions::SessionPolicy;
use pactum_store::tokens::NewToken;
use pactum_store::{Store, StoreOptions};
use pactum_web::console::{CONSOLE_PAGES, LOGIN_FAILED, LOGIN_PATH};
use serde_json::json;

const OWNER_EMAIL: &str = "owner@example.com";
const AUDITOR_EMAIL: &str = "auditor@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// Documented paths anyone may call: the published documents and health. Anything else documented
/// must be an admin route.
const PUBLIC_API: &[&str] = &[
    "/api/v1/check",
    "/api/v1/notice",
    "/api/v1/requests",
    "/api/v1/requests/{id}",
    "/api/v1/requests/{id}/verify",
    "/api/v1/ropa",
    "/healthz",
    "/readyz",
];

struct Harness {
    app: axum::Router,
    store: Store,
    clock: Arc<ManualClock>,
}

impl Answer {
    /// The `name=value` part of the `Set-Cookie` header.
    fn cookie(&self) -> String {
        let set = self.headers[header::SET_COOKIE].to_str().expect("ascii");
        set.split(';').next().expect("a pair").to_owned()
    }
}

async fn harness_with(options: pactum_web::Options) -> Harness {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_795_694_400_000)));
    let store = Store::open_with(
        "sqlite::memory:",
        StoreOptions {
            max_connections: 1,
            clock: clock.clone(),
            password: PasswordParams::INSECURE_FOR_TESTS,
            lockout: LockoutPolicy {
                max_failures: 3,
                window: Duration::from_secs(600),
                lockout: Duration::from_secs(900),
            },
            login_limits: LoginLimits {
                per_ip: 4,
                window: Duration::from_secs(600),
            },
        },
    )
    .await
    .expect("an in-memory store");
    store
        .create_user(&Actor::Cli, OWNER_EMAIL, PASSWORD, Role::Owner)
        .await
        .expect("owner");
    store
        .create_user(&Actor::Cli, AUDITOR_EMAIL, PASSWORD, Role::Auditor)
        .await
        .expect("auditor");
    let site = pactum_web::Site::from_parts(
        "Example Ltd",
        "<!DOCTYPE html><title>n</title>",
        "# n",
        json!({}),
        json!({}),
        json!({"errors": 0}),
    );
    let app = pactum_web::router(Arc::new(site), store.clone(), options);
    Harness { app, store, clock }
}

async fn harness() -> Harness {
    harness_with(pactum_web::Options {
        tls: false,
        session: SessionPolicy {
            lifetime: Duration::from_secs(8 * 3600),
            idle_timeout: Duration::from_secs(1800),
        },
        ..pactum_web::Options::default()
    })
    .await
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Answer {
        common::send(&self.app, request).await
    }

    async fn call(&self, method: Method, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = Request::builder().method(method.clone()).uri(path);
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = if method == Method::POST {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(r#"{"name":"walk","roles":["analyst"]}"#)
        } else {
            Body::empty()
        };
        self.send(request.body(body).expect("request")).await
    }

    async fn token(&self, roles: &[Role]) -> (i64, String) {
        let (token, secret) = self
            .store
            .create_token(
                &Actor::Cli,
                &NewToken {
                    name: "test".to_owned(),
                    roles: roles.to_vec(),
                    expires_at: None,
                },
            )
            .await
            .expect("token");
        (token.id, secret.expose().to_owned())
    }

    /// Posts the sign-in form as a same-origin browser would, with no client address (as when
    /// the router is served without connect info).
    async fn login(&self, email: &str, password: &str) -> Answer {
        self.login_from(email, password, None).await
    }

    /// Posts the sign-in form from `client` (the connect info `pactum serve` gives handlers).
    async fn login_from(&self, email: &str, password: &str, client: Option<SocketAddr>) -> Answer {
        let body = format!(
            "email={}&password={}",
            email.replace('@', "%40"),
            password.replace(' ', "+")
        );
        let mut request = Request::post(LOGIN_PATH)
            .header(header::HOST, "pactum.test")
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        if let Some(client) = client {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(client));
        }
        self.send(request).await
    }

    async fn page(&self, method: Method, path: &str, cookie: Option<&str>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "pactum.test")
            .header("sec-fetch-site", "same-origin");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    async fn actions(&self) -> Vec<(String, String)> {
        self.store
            .audit_entries(0, 1000)
            .await
            .expect("entries")
            .into_iter()
            .map(|e| (e.actor, e.action))
            .collect()
    }
}

fn assert_unauthorised(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        answer.body
    );
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/problem+json",
        "{what}"
    );
    let challenge = answer.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .expect("ascii");
    assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
    assert_eq!(answer.json()["status"], 401, "{what}");
}

/// THE test of issue 3: every route of the admin API (taken from the OpenAPI document, which is
/// generated from the router's own handlers) and every console page (the list the console router is
/// built from) refuses requests without valid credentials, and refuses roles without the
/// permission.
#[tokio::test]
async fn every_admin_route_requires_authentication() {
    let h = harness().await;
    let (analyst_id, analyst) = h
        .token(&[Role::Analyst, Role::Engineer, Role::PrivacyOfficer])
        .await;
    // Roles without the request permissions, for the request queue's routes.
    let (_, auditor) = h.token(&[Role::Auditor, Role::Engineer]).await;
    let (revoked_id, revoked) = h.token(&[Role::Owner]).await;
    h.store
        .revoke_token(&Actor::Cli, revoked_id)
        .await
        .expect("revokes");
    let (_, expiring) = h
        .store
        .create_token(
            &Actor::Cli,
            &NewToken {
                name: "short".to_owned(),
                roles: vec![Role::Owner],
                expires_at: Some(h.clock_now().plus(Duration::from_secs(60))),
            },
        )
        .await
        .expect("token");
    let expiring = expiring.expose().to_owned();
    h.clock.advance(Duration::from_secs(61));

    let doc = h
        .call(Method::GET, "/api/v1/openapi.json", None)
        .await
        .json();
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if PUBLIC_API.contains(&path.as_str()) {
            continue;
        }
        let identity_only = path == "/api/v1/me";
        assert!(
            path.starts_with("/api/v1/admin/") || identity_only,
            "{path} is neither public nor an admin route"
        );
        for (method, operation) in item.as_object().expect("operations") {
            let method: Method = method.to_uppercase().parse().expect("a method");
            assert_eq!(
                operation["security"],
                json!([{"bearer": []}]),
                "{method} {path} declares bearer security"
            );
            let url = path
                .replace("{id}", &analyst_id.to_string())
                .replace("{task_id}", "1");
            let what = format!("{method} {path}");
            assert_unauthorised(
                &h.call(method.clone(), &url, None).await,
                &format!("{what} without a token"),
            );
            assert_unauthorised(
                &h.call(method.clone(), &url, Some("pct_wrong")).await,
                &format!("{what} with a wrong token"),
            );
            assert_unauthorised(
                &h.call(method.clone(), &url, Some(&revoked)).await,
                &format!("{what} with a revoked token"),
            );
            assert_unauthorised(
                &h.call(method.clone(), &url, Some(&expiring)).await,
                &format!("{what} with an expired token"),
            );
            let basic = h
                .send(
                    Request::builder()
                        .method(method.clone())
                        .uri(&url)
                        .header(header::AUTHORIZATION, format!("Basic {analyst}"))
                        .body(Body::empty())
                        .expect("request"),
                )
                .await;
            assert_unauthorised(&basic, &format!("{what} with a token under another scheme"));
            walked += 1;
            if identity_only {
                // Any valid token may ask who it is.
                let me = h.call(method.clone(), &url, Some(&analyst)).await;
                assert_eq!(me.status, StatusCode::OK, "{what} as analyst");
                assert_eq!(me.json()["actor"], format!("token:{analyst_id}"));
                continue;
            }
            // The analyst token holds every role except owner and auditor: every admin route but
            // the request queue's and the legal holds' needs one of those; those need a privacy
            // role, which the auditor-and-engineer token lacks.
            let outsider = if path.starts_with("/api/v1/admin/requests")
                || path.starts_with("/api/v1/admin/holds")
            {
                &auditor
            } else {
                &analyst
            };
            let forbidden = h.call(method.clone(), &url, Some(outsider)).await;
            assert_eq!(
                forbidden.status,
                StatusCode::FORBIDDEN,
                "{what} as analyst: {}",
                forbidden.body
            );
            assert_eq!(
                forbidden.headers[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
    }
    assert_eq!(walked, 17, "every authenticated operation was walked");
    // The analyst token was never revoked by the walk (DELETE was refused).
    assert!(
        h.store.list_tokens().await.expect("tokens")[0]
            .revoked_at
            .is_none()
    );

    let public: Vec<(&str, &str)> = CONSOLE_PAGES
        .iter()
        .filter(|p| p.public)
        .map(|p| (p.method, p.path))
        .collect();
    assert_eq!(
        public,
        [("GET", LOGIN_PATH), ("POST", LOGIN_PATH)],
        "only the sign-in form is public"
    );
    for page in CONSOLE_PAGES.iter().filter(|p| !p.public) {
        let method: Method = page.method.parse().expect("a method");
        for cookie in [
            None,
            Some("pactum_session=pcs_forged"),
            Some("pactum_session="),
        ] {
            let answer = h.page(method.clone(), page.path, cookie).await;
            assert_eq!(
                (answer.status, answer.location()),
                (StatusCode::SEE_OTHER, Some(LOGIN_PATH)),
                "{} {} with {cookie:?}",
                page.method,
                page.path
            );
        }
    }
    assert_eq!(
        h.page(Method::GET, "/admin/anything-else", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

impl Harness {
    fn clock_now(&self) -> Timestamp {
        use pactum_store::clock::Clock as _;
        self.clock.now()
    }
}

#[tokio::test]
async fn tokens_are_scoped_to_their_roles() {
    let h = harness().await;
    let (_, auditor) = h.token(&[Role::Auditor]).await;
    let (_, owner) = h.token(&[Role::Owner]).await;
    let (_, engineer) = h.token(&[Role::Engineer]).await;
    let cases = [
        (
            "/api/v1/admin/audit/verify",
            [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "/api/v1/admin/audit/entries",
            [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "/api/v1/admin/users",
            [StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "/api/v1/admin/tokens",
            [StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
    ];
    for (path, expected) in cases {
        for (token, want) in [&auditor, &owner, &engineer].into_iter().zip(expected) {
            let answer = h.call(Method::GET, path, Some(token)).await;
            assert_eq!(answer.status, want, "{path}: {}", answer.body);
        }
    }
    let verify = h
        .call(Method::GET, "/api/v1/admin/audit/verify", Some(&auditor))
        .await
        .json();
    assert_eq!(verify["intact"], true);
    assert!(verify["entries"].as_u64().expect("a count") > 0);
    let page = h
        .call(
            Method::GET,
            "/api/v1/admin/audit/entries?after=1&limit=2",
            Some(&auditor),
        )
        .await
        .json();
    let seqs: Vec<i64> = page
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, [2, 3]);
    for bad in ["limit=0", "limit=1001", "after=-1", "limit=many"] {
        let answer = h
            .call(
                Method::GET,
                &format!("/api/v1/admin/audit/entries?{bad}"),
                Some(&auditor),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    // Privileged reads are audited: who (the token) and what, never the data.
    let actions = h.actions().await;
    for action in ["audit.verify", "audit.read", "user.list", "token.list"] {
        assert!(
            actions
                .iter()
                .any(|(actor, a)| a == action && actor.starts_with("token:")),
            "{action} in {actions:?}"
        );
    }
    let mut export = Vec::new();
    h.store.audit_export(&mut export).await.expect("exports");
    let export = String::from_utf8(export).expect("utf-8");
    assert!(!export.contains("example.com"), "{export}");
}

#[tokio::test]
async fn owners_create_list_and_revoke_tokens() {
    let h = harness().await;
    let (_, owner) = h.token(&[Role::Owner]).await;
    let created = h
        .send(
            Request::post("/api/v1/admin/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {owner}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"name":"ci","roles":["auditor"],"expires_in_days":30}"#,
                ))
                .expect("request"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.json();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("pct_"));
    assert_eq!(created["token"]["roles"], json!(["auditor"]));
    assert_eq!(created["token"]["status"], "active");
    let id = created["token"]["id"].as_i64().expect("id");

    // The new token works, within its scope.
    let verify = h
        .call(Method::GET, "/api/v1/admin/audit/verify", Some(&secret))
        .await;
    assert_eq!(verify.status, StatusCode::OK);
    // The list never shows a secret.
    let list = h
        .call(Method::GET, "/api/v1/admin/tokens", Some(&owner))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(&secret[4..]), "{}", list.body);
    assert!(!list.body.contains(&owner[4..]), "{}", list.body);

    for (body, status) in [
        (
            r#"{"name":"","roles":["auditor"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"name":"x","roles":[]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"name":"x","roles":["root"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"name":"x","roles":["owner"],"expires_in_days":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"name":"x""#, StatusCode::BAD_REQUEST),
    ] {
        let answer = h
            .send(
                Request::post("/api/v1/admin/tokens")
                    .header(header::AUTHORIZATION, format!("Bearer {owner}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    let revoked = h
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/tokens/{id}"),
            Some(&owner),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.json()["status"], "revoked");
    assert_unauthorised(
        &h.call(Method::GET, "/api/v1/admin/audit/verify", Some(&secret))
            .await,
        "a revoked token",
    );
    assert_eq!(
        h.call(Method::DELETE, "/api/v1/admin/tokens/999", Some(&owner))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(Method::DELETE, "/api/v1/admin/tokens/abc", Some(&owner))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let actions = h.actions().await;
    assert!(
        actions.contains(&("token:1".to_owned(), "token.create".to_owned())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("token:1".to_owned(), "token.revoke".to_owned())),
        "{actions:?}"
    );
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_opens_the_console() {
    let h = harness().await;
    let form = h.page(Method::GET, LOGIN_PATH, None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<form method=\"post\""), "{}", form.body);

    let answer = h.login("Owner@Example.com", PASSWORD).await;
    assert_eq!(
        (answer.status, answer.location()),
        (StatusCode::SEE_OTHER, Some("/admin"))
    );
    let set = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(set.starts_with("pactum_session=pcs_"), "{set}");
    assert!(
        set.contains("; HttpOnly") && set.contains("; SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: {set}");

    let console = h.page(Method::GET, "/admin", Some(&answer.cookie())).await;
    assert_eq!(console.status, StatusCode::OK, "{}", console.body);
    assert_eq!(console.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        console
            .body
            .contains("Chain: <span class=\"ok\">intact</span>"),
        "{}",
        console.body
    );
    assert!(console.body.contains(AUDITOR_EMAIL), "owners see the users");
    assert!(console.body.contains("<h2>API tokens</h2>"));

    // An auditor sees the audit log, not users or tokens.
    let auditor = h.login(AUDITOR_EMAIL, PASSWORD).await;
    let console = h.page(Method::GET, "/admin", Some(&auditor.cookie())).await;
    assert!(console.body.contains("<h2>Audit log</h2>"));
    assert!(!console.body.contains("<h2>Users</h2>") && !console.body.contains(OWNER_EMAIL));
    assert!(!console.body.contains("<h2>API tokens</h2>"));

    let actions = h.actions().await;
    for expected in [
        ("user:1", "auth.login"),
        ("user:1", "session.create"),
        ("user:1", "user.list"),
        ("user:2", "audit.verify"),
    ] {
        assert!(
            actions.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn secure_cookies_over_tls_or_behind_an_https_proxy() {
    let h = harness().await;
    let answer = h
        .send(
            Request::post(LOGIN_PATH)
                .header(header::HOST, "pactum.test")
                .header("x-forwarded-proto", "https")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "email=owner%40example.com&password={}",
                    PASSWORD.replace(' ', "+")
                )))
                .expect("request"),
        )
        .await;
    let set = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        set.starts_with("__Host-pactum_session=pcs_") && set.ends_with("; Secure"),
        "{set}"
    );

    let tls = harness_with(pactum_web::Options {
        tls: true,
        session: SessionPolicy::default(),
        ..pactum_web::Options::default()
    })
    .await;
    let answer = tls.login(OWNER_EMAIL, PASSWORD).await;
    let set = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        set.starts_with("__Host-pactum_session=") && set.contains("; Secure"),
        "{set}"
    );
    // Over HTTPS, the plain cookie name is not accepted (it could have been planted).
    let secret = answer.cookie().split_once('=').expect("pair").1.to_owned();
    let plain = tls
        .page(
            Method::GET,
            "/admin",
            Some(&format!("pactum_session={secret}")),
        )
        .await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
    let host = tls
        .page(Method::GET, "/admin", Some(&answer.cookie()))
        .await;
    assert_eq!(host.status, StatusCode::OK);
}

#[tokio::test]
async fn failed_sign_ins_are_generic_and_lock_the_account_out() {
    let h = harness().await;
    let wrong_password = h.login(OWNER_EMAIL, "not the password at all").await;
    let unknown_email = h.login("nobody@example.com", PASSWORD).await;
    for answer in [&wrong_password, &unknown_email] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body.contains(LOGIN_FAILED), "{}", answer.body);
        assert!(!answer.headers.contains_key(header::SET_COOKIE));
    }
    assert_eq!(
        wrong_password.body, unknown_email.body,
        "nothing says which was wrong"
    );

    // Two more failures (three in all) lock the account: then even the right password fails.
    h.login(OWNER_EMAIL, "not the password either").await;
    let third = h.login(OWNER_EMAIL, "still not the password").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    let locked = h.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains(LOGIN_FAILED));
    assert!(!locked.headers.contains_key(header::SET_COOKIE));
    assert_eq!(locked.headers[header::RETRY_AFTER], "901");

    // An unknown address locks the same way, so the lock-out says nothing about who exists.
    for _ in 0..3 {
        h.login("nobody@example.com", "wrong wrong wrong").await;
    }
    assert_eq!(
        h.login("nobody@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // After the lock-out period, the right password works again.
    h.clock.advance(Duration::from_secs(901));
    assert_eq!(
        h.login(OWNER_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let malformed = h
        .send(
            Request::post(LOGIN_PATH)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("email=only"))
                .expect("request"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body.contains(LOGIN_FAILED));
}

#[tokio::test]
async fn sign_ins_from_one_address_are_limited_across_accounts() {
    let h = harness().await;
    let client: SocketAddr = "192.0.2.7:50000".parse().expect("an address");
    // The harness allows 4 attempts per address per 10 minutes; two per account stays under
    // each account's own lock-out (3 failures).
    for email in [OWNER_EMAIL, OWNER_EMAIL, AUDITOR_EMAIL, AUDITOR_EMAIL] {
        let answer = h
            .login_from(email, "not the password at all", Some(client))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    }
    // The fifth attempt is refused even with the right password, from another port too.
    let other_port: SocketAddr = "192.0.2.7:50001".parse().expect("an address");
    let limited = h.login_from(OWNER_EMAIL, PASSWORD, Some(other_port)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers[header::RETRY_AFTER], "600");
    assert!(limited.body.contains(LOGIN_FAILED), "{}", limited.body);
    assert!(!limited.headers.contains_key(header::SET_COOKIE));

    // Another address signs in; the limited one again once its window has passed.
    let elsewhere: SocketAddr = "[2001:db8::1]:443".parse().expect("an address");
    assert_eq!(
        h.login_from(OWNER_EMAIL, PASSWORD, Some(elsewhere))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    h.clock.advance(Duration::from_secs(600));
    assert_eq!(
        h.login_from(AUDITOR_EMAIL, PASSWORD, Some(client))
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let refusals: Vec<(String, String)> = h
        .actions()
        .await
        .into_iter()
        .filter(|(_, action)| action == "auth.login_rate_limited")
        .collect();
    assert_eq!(
        refusals,
        [("system".to_owned(), "auth.login_rate_limited".to_owned())]
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_their_lifetime() {
    let h = harness().await;
    let cookie = h.login(OWNER_EMAIL, PASSWORD).await.cookie();
    // Used every 29 minutes, the session outlives its 30-minute idle timeout ...
    for _ in 0..3 {
        h.clock.advance(Duration::from_secs(29 * 60));
        assert_eq!(
            h.page(Method::GET, "/admin", Some(&cookie)).await.status,
            StatusCode::OK
        );
    }
    // ... but not 31 idle minutes.
    h.clock.advance(Duration::from_secs(31 * 60));
    let expired = h.page(Method::GET, "/admin", Some(&cookie)).await;
    assert_eq!(
        (expired.status, expired.location()),
        (StatusCode::SEE_OTHER, Some(LOGIN_PATH))
    );
    let cleared = expired.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        cleared.starts_with("pactum_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // A busy session still ends after its 8-hour lifetime.
    let cookie = h.login(OWNER_EMAIL, PASSWORD).await.cookie();
    for _ in 0..16 {
        h.clock.advance(Duration::from_secs(29 * 60));
        assert_eq!(
            h.page(Method::GET, "/admin", Some(&cookie)).await.status,
            StatusCode::OK
        );
    }
    h.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(
        h.page(Method::GET, "/admin", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_out_revokes_the_session() {
    let h = harness().await;
    let cookie = h.login(OWNER_EMAIL, PASSWORD).await.cookie();
    let out = h.page(Method::POST, "/admin/logout", Some(&cookie)).await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::SEE_OTHER, Some(LOGIN_PATH))
    );
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    // The old cookie no longer works, even if the browser kept it.
    assert_eq!(
        h.page(Method::GET, "/admin", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        h.actions()
            .await
            .contains(&("user:1".to_owned(), "auth.logout".to_owned()))
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let h = harness().await;
    let cookie = h.login(OWNER_EMAIL, PASSWORD).await.cookie();
    let cross_site = |path: &str, headers: &[(&str, &str)]| {
        let mut request = Request::post(path)
            .header(header::HOST, "pactum.test")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .body(Body::from(format!(
                "email=owner%40example.com&password={}",
                PASSWORD.replace(' ', "+")
            )))
            .expect("request")
    };
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ][..],
    ] {
        for path in ["/admin/logout", LOGIN_PATH] {
            let answer = h.send(cross_site(path, headers)).await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{path} with {headers:?}"
            );
            assert!(
                !answer.headers.contains_key(header::SET_COOKIE),
                "{path} with {headers:?}"
            );
        }
    }
    // The forged sign-out did nothing: the session is still live.
    assert_eq!(
        h.page(Method::GET, "/admin", Some(&cookie)).await.status,
        StatusCode::OK
    );
    // The same post from the console's own origin works.
    let same_origin = h
        .send(cross_site(
            "/admin/logout",
            &[("origin", "http://pactum.test")],
        ))
        .await;
    assert_eq!(same_origin.status, StatusCode::SEE_OTHER);
    assert_eq!(
        h.page(Method::GET, "/admin", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn legal_holds_are_placed_and_released_in_the_console() {
    let h = harness().await;
    let owner = h.login(OWNER_EMAIL, PASSWORD).await.cookie();
    let post = |path: &'static str, body: &'static str| {
        let cookie = owner.clone();
        let h = &h;
        async move {
            h.send(
                Request::post(path)
                    .header(header::HOST, "pactum.test")
                    .header("sec-fetch-site", "same-origin")
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await
        }
    };
    let empty = h.page(Method::GET, "/admin/holds", Some(&owner)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("id=\"place\""), "{}", empty.body);

    // A scope the map does not have would hold nothing: refused, with the reason.
    let unknown = post(
        "/admin/holds",
        "identity_kind=email&identity=grace%40example.org&scope=nowhere.at_all&reason=Matter+7",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("nowhere.at_all"), "{}", unknown.body);

    let placed = post(
        "/admin/holds",
        "identity_kind=email&identity=Grace%40Example.org&scope=&reason=Matter+7%3A+%3Cb%3Ehold%3C%2Fb%3E",
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let listed = h.page(Method::GET, "/admin/holds", Some(&owner)).await;
    assert!(listed.body.contains("every datastore"), "{}", listed.body);
    assert!(
        listed.body.contains("Matter 7: &lt;b&gt;hold&lt;/b&gt;"),
        "escaped: {}",
        listed.body
    );
    assert!(
        !listed.body.contains("grace@example.org"),
        "only a hash is kept"
    );
    let holds = h.store.list_holds(true, 10).await.expect("holds");
    assert_eq!(holds.len(), 1);
    assert!(holds[0].is_active());

    let released = post("/admin/holds/1/release", "").await;
    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    assert!(!h.store.list_holds(true, 10).await.expect("holds")[0].is_active());
    let again = post("/admin/holds/1/release", "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let none = post("/admin/holds/99/release", "").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    // The auditor reads the audit log, not the holds.
    let auditor = h.login(AUDITOR_EMAIL, PASSWORD).await.cookie();
    let refused = h.page(Method::GET, "/admin/holds", Some(&auditor)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let actions = h.actions().await;
    for action in ["hold.place", "hold.release", "hold.list"] {
        assert!(
            actions.iter().any(|(_, a)| a == action),
            "{action}: {actions:?}"
        );
    }
}
