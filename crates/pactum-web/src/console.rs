//! The admin console: sign-in and sign-out, and one page showing the audit chain's status, the
//! users and the API tokens, each section only to roles that may see it.
//!
//! Sessions live in the store ([`pactum_store::sessions`]); the browser holds the secret in a
//! cookie that is `HttpOnly`, `SameSite=Strict`, and `Secure` (named `__Host-pactum_session`)
//! whenever the request arrived over HTTPS (the server's own TLS, or `X-Forwarded-Proto: https`
//! from a proxy). Every state-changing form is protected from cross-site requests by
//! `tower_http::csrf` (the `Sec-Fetch-Site`/`Origin` check that Go 1.25 introduced) on top of the
//! `SameSite=Strict` cookie.
//!
//! **Invariant:** the console's routes are exactly [`CONSOLE_PAGES`]; a page that is not marked
//! `public` takes a [`ConsoleSession`], so without a live session it redirects to the sign-in form.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use pactum_store::accounts::{LoginOutcome, User};
use pactum_store::audit::{Actor, NewEntry};
use pactum_store::error::StoreError;
use pactum_store::sessions::SessionCheck;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::error::log_store_error;
use crate::privacy_centre::ClientIp;

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "pactum_session";
/// The session cookie's name over HTTPS: the `__Host-` prefix makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`, so a sibling subdomain cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-pactum_session";

/// Where the sign-in form is.
pub const LOGIN_PATH: &str = "/admin/login";

/// The one message for every failed sign-in: it never says whether the email address or the
/// password was wrong, nor whether the account exists.
pub const LOGIN_FAILED: &str = "Sign-in failed: the email address or password is not right, or there were too many attempts. Try again later.";

/// One console route.
#[derive(Debug, Clone, Copy)]
pub struct ConsolePage {
    /// The HTTP method (`GET`, `POST`).
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// Whether it answers without a session (only the sign-in form and its submission).
    pub public: bool,
    /// Builds the route's handler.
    pub(crate) handler: fn() -> MethodRouter<AppState>,
}

/// Every console route. The console router is built from this list and nothing else, so a test
/// that walks it covers every console page.
pub const CONSOLE_PAGES: &[ConsolePage] = &[
    ConsolePage {
        method: "GET",
        path: LOGIN_PATH,
        public: true,
        handler: || get(login_form),
    },
    ConsolePage {
        method: "POST",
        path: LOGIN_PATH,
        public: true,
        handler: || post(login),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/logout",
        public: false,
        handler: || post(logout),
    },
    ConsolePage {
        method: "GET",
        path: "/admin",
        public: false,
        handler: || get(console),
    },
    ConsolePage {
        method: "GET",
        path: "/admin/requests",
        public: false,
        handler: || get(requests_page),
    },
    ConsolePage {
        method: "GET",
        path: "/admin/requests/{id}",
        public: false,
        handler: || get(request_page),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/requests/{id}/decision",
        public: false,
        handler: || post(decide),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/requests/{id}/extend",
        public: false,
        handler: || post(extend),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/requests/{id}/tasks/{task_id}/done",
        public: false,
        handler: || post(task_done),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/requests/{id}/retry",
        public: false,
        handler: || post(retry),
    },
    ConsolePage {
        method: "GET",
        path: "/admin/holds",
        public: false,
        handler: || get(crate::console_holds::holds_page),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/holds",
        public: false,
        handler: || post(crate::console_holds::place),
    },
    ConsolePage {
        method: "POST",
        path: "/admin/holds/{id}/release",
        public: false,
        handler: || post(crate::console_holds::release),
    },
];

pub(crate) fn routes() -> Router<AppState> {
    CONSOLE_PAGES.iter().fold(Router::new(), |router, page| {
        router.route(page.path, (page.handler)())
    })
}

/// Whether the request reached us over HTTPS: our own TLS, or a proxy that says so.
fn is_secure(headers: &HeaderMap, state: &AppState) -> bool {
    state.options.tls
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The value of cookie `name`, from any `Cookie` header.
fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for the session. No `Max-Age`: the browser drops it when it closes; the store
/// enforces the lifetime and idle timeout either way.
fn session_cookie(secure: bool, value: &str) -> HeaderValue {
    let mut cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict",
        cookie_name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(secure: bool) -> HeaderValue {
    let mut cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        cookie_name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole console page; pages are never cached (they show who is signed in and what they see).
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><link rel=\"icon\" href=\"data:,\">\
         <title>{title} · Pactum</title><style>\
         :root{{--bg:#f6f7f9;--card:#fff;--fg:#1d2026;--muted:#5b6270;--line:#dfe3ea;--accent:#2f5bd3;--bad:#b42318;--good:#067647}}\
         @media (prefers-color-scheme:dark){{:root{{--bg:#14161a;--card:#1c1f25;--fg:#e8eaee;--muted:#a1a8b5;--line:#333a45;--accent:#8fb0ff;--bad:#ff8a80;--good:#7ee0a8}}}}\
         body{{font:16px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--fg);margin:0}}\
         main{{max-width:62rem;margin:2.5rem auto;padding:1.5rem 2rem;background:var(--card);border:1px solid var(--line);border-radius:12px}}\
         h1{{font-size:1.6rem;margin:0 0 1rem}}h2{{font-size:1.15rem;margin:1.8rem 0 .5rem}}\
         table{{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.95rem}}\
         th,td{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line)}}th{{color:var(--muted);font-weight:600}}\
         label{{display:block;margin:.9rem 0 .25rem;font-weight:600}}\
         input,select,textarea{{font:inherit;padding:.5rem .6rem;width:22rem;max-width:100%;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}}\
         input:focus,button:focus{{outline:3px solid var(--accent);outline-offset:1px}}\
         button{{font:inherit;margin-top:1.2rem;padding:.5rem 1.2rem;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer}}\
         .error,.overdue{{color:var(--bad)}}.ok{{color:var(--good)}}.due_soon{{color:#b54708;font-weight:600}}.overdue{{font-weight:700}}textarea{{width:32rem;height:6rem}}code{{word-break:break-all}}</style></head><body><main>\n{body}\n</main></body></html>\n",
        title = escape(title)
    );
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(html),
    )
        .into_response()
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    page(
        status,
        "Sign in",
        &format!(
            "<h1>Sign in to Pactum</h1>{error}\
             <form method=\"post\" action=\"{LOGIN_PATH}\">\
             <label for=\"email\">Email address</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <br><button type=\"submit\">Sign in</button></form>"
        ),
    )
}

pub(crate) fn server_error(err: &StoreError) -> Response {
    log_store_error(err);
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "<h1>Something went wrong</h1><p>The error was logged. Try again in a moment.</p>",
    )
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

/// The sign-in form's fields. No `Debug`: it holds a password.
#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

/// The sign-in form's submission. The connection's address goes to the store's per-address limit
/// (never logged); every refusal reads the same [`LOGIN_FAILED`].
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, Some(LOGIN_FAILED));
    };
    let outcome = match state
        .store
        .login_from(&form.email, &form.password, ip.as_deref())
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return server_error(&err),
    };
    match outcome {
        LoginOutcome::Success(user) => {
            match state
                .store
                .create_session(&user, state.options.session)
                .await
            {
                Ok((_, secret)) => {
                    let secure = is_secure(&headers, &state);
                    let mut response = Redirect::to("/admin").into_response();
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, session_cookie(secure, secret.expose()));
                    response
                        .headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    response
                }
                Err(err) => server_error(&err),
            }
        }
        LoginOutcome::InvalidCredentials => {
            login_page(StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED))
        }
        LoginOutcome::Locked { until } => {
            let seconds = (until.as_millis() - state.store.now().as_millis()).max(0) / 1000 + 1;
            too_many_attempts(&seconds.to_string())
        }
        LoginOutcome::RateLimited { retry_after } => {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            too_many_attempts(&seconds.max(1).to_string())
        }
    }
}

/// 429 with `Retry-After: seconds` and the one generic failure message, so a locked account and
/// a rate-limited address say no more than a wrong password does.
fn too_many_attempts(seconds: &str) -> Response {
    let mut response = login_page(StatusCode::TOO_MANY_REQUESTS, Some(LOGIN_FAILED));
    if let Ok(value) = HeaderValue::from_str(seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A signed-in console user. Extracting it from a request without a live session answers with a
/// redirect to the sign-in form (clearing a stale cookie).
pub(crate) struct ConsoleSession {
    user: User,
    secret: String,
    secure: bool,
}

impl ConsoleSession {
    pub(crate) fn principal(&self) -> Principal {
        Principal {
            actor: Actor::User(self.user.id),
            roles: vec![self.user.role],
        }
    }
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let secure = is_secure(&parts.headers, state);
        let to_login = |clear: bool| {
            let mut response = Redirect::to(LOGIN_PATH).into_response();
            if clear {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, clear_cookie(secure));
            }
            response
        };
        let Some(secret) = read_cookie(&parts.headers, cookie_name(secure)) else {
            return Err(to_login(false));
        };
        match state.store.authenticate_session(secret).await {
            Ok(SessionCheck::Valid(_, user)) => Ok(ConsoleSession {
                user,
                secret: secret.to_owned(),
                secure,
            }),
            Ok(_) => Err(to_login(true)),
            Err(err) => Err(server_error(&err)),
        }
    }
}

async fn logout(State(state): State<AppState>, session: ConsoleSession) -> Response {
    if let Err(err) = state.store.end_session(&session.secret).await {
        return server_error(&err);
    }
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(session.secure));
    response
}

async fn console(State(state): State<AppState>, session: ConsoleSession) -> Response {
    match render_console(&state, &session).await {
        Ok(html) => page(StatusCode::OK, "Admin", &html),
        Err(err) => server_error(&err),
    }
}

/// The console's sections, each shown only with its permission; each privileged read is audited
/// (who and what, never the data).
async fn render_console(state: &AppState, session: &ConsoleSession) -> Result<String, StoreError> {
    let principal = session.principal();
    let store = &state.store;
    let mut html = format!(
        "<h1>Pactum admin</h1><p>Signed in as {} ({}). \
         <form method=\"post\" action=\"/admin/logout\" style=\"display:inline\">\
         <button type=\"submit\">Sign out</button></form></p>",
        escape(session.user.email.as_str()),
        session.user.role
    );
    if principal.may(Permission::ReadRequests) {
        html.push_str(
            "<p><a href=\"/admin/requests\">Data-subject requests</a>: the queue by time left.</p>\
             <p><a href=\"/admin/holds\">Legal holds</a>: records kept from erasure while a matter stands.</p>",
        );
    }

    if principal.may(Permission::ReadAudit) {
        let report = store.audit_verify().await?;
        store
            .audit_append(
                &NewEntry::new(principal.actor, "audit.verify", None).with_details(
                    json!({ "intact": report.is_intact(), "entries": report.entries }),
                ),
            )
            .await?;
        let status = match &report.broken {
            None => "<span class=\"ok\">intact</span>".to_owned(),
            Some(broken) => format!(
                "<span class=\"error\">broken at {}</span>",
                escape(&broken.to_string())
            ),
        };
        html.push_str(&format!(
            "<h2>Audit log</h2><p>Chain: {status}. {} entries; last intact entry {}, hash <code>{}</code>.</p>",
            report.entries, report.last_seq, escape(&report.last_hash)
        ));
    }

    if principal.may(Permission::ManageUsers) {
        let users = store.list_users().await?;
        store
            .audit_append(
                &NewEntry::new(principal.actor, "user.list", None)
                    .with_details(json!({ "count": users.len() })),
            )
            .await?;
        html.push_str("<h2>Users</h2><table><tr><th>id</th><th>email</th><th>role</th><th>created</th><th>status</th></tr>");
        for u in &users {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                u.id,
                escape(u.email.as_str()),
                u.role,
                u.created_at,
                if u.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                }
            ));
        }
        html.push_str("</table>");
    }

    if principal.may(Permission::ManageTokens) {
        let tokens = store.list_tokens().await?;
        store
            .audit_append(
                &NewEntry::new(principal.actor, "token.list", None)
                    .with_details(json!({ "count": tokens.len() })),
            )
            .await?;
        let now = store.now();
        html.push_str("<h2>API tokens</h2><table><tr><th>id</th><th>name</th><th>roles</th><th>created by</th><th>expires</th><th>status</th></tr>");
        for t in &tokens {
            let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
            let status = if t.revoked_at.is_some() {
                "revoked"
            } else if t.is_active(now) {
                "active"
            } else {
                "expired"
            };
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
                t.id,
                escape(&t.name),
                roles.join(", "),
                escape(&t.created_by),
                t.expires_at.map_or("never".to_owned(), |at| at.to_string()),
            ));
        }
        html.push_str("</table><p>Create and revoke tokens with <code>pactum admin token</code> or the API (<code>POST /api/v1/admin/tokens</code>).</p>");
    }
    Ok(html)
}

pub(crate) fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "<h1>Not for your role</h1><p><a href=\"/admin\">Back</a></p>",
    )
}

/// The request queue: open requests by time left (overdue first), then the latest closed ones.
/// Identities are masked; the read is audited.
async fn requests_page(State(state): State<AppState>, session: ConsoleSession) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::ReadRequests) {
        return forbidden();
    }
    let result = async {
        let requests = state.store.list_requests(true, 500).await?;
        state
            .store
            .audit_append(
                &NewEntry::new(principal.actor, "request.list", None)
                    .with_details(json!({ "count": requests.len() })),
            )
            .await?;
        Ok::<_, StoreError>(requests)
    }
    .await;
    let requests = match result {
        Ok(requests) => requests,
        Err(err) => return server_error(&err),
    };
    let today = crate::requests::day_of(state.store.now());
    let mut counts = [0usize; 3];
    let mut rows = String::new();
    for r in &requests {
        let (left, urgency) = crate::requests::time_left(r, today);
        let (class, when) = match (urgency, left) {
            (crate::requests::Urgency::Overdue, Some(days)) => {
                counts[0] += 1;
                ("overdue", format!("overdue by {} days", -days))
            }
            (crate::requests::Urgency::Overdue, None) => ("overdue", "overdue".to_owned()),
            (crate::requests::Urgency::DueSoon, Some(days)) => {
                counts[1] += 1;
                ("due_soon", format!("{days} days left"))
            }
            (crate::requests::Urgency::OnTrack, Some(days)) => {
                counts[2] += 1;
                ("on_track", format!("{days} days left"))
            }
            _ => ("closed", "closed".to_owned()),
        };
        rows.push_str(&format!(
            "<tr class=\"{class}\" data-urgency=\"{class}\"><td><a href=\"/admin/requests/{id}\">#{id}</a></td><td>{kind}</td><td>{regimes}</td>\
             <td>{identity}</td><td>{status}</td><td>{received}</td><td>{due}</td><td>{when}</td></tr>",
            id = r.id,
            kind = escape(r.kind.label()),
            regimes = escape(&r.regimes.join(", ")),
            identity = escape(&crate::requests::mask_identity(&r.identity_value)),
            status = r.status.as_str(),
            received = escape(&r.deadline.received_on),
            due = escape(&r.deadline.due_on),
        ));
    }
    let body = format!(
        "<p><a href=\"/admin\">Admin</a></p><h1>Requests</h1>\
         <p><span class=\"overdue\">{} overdue</span> · <span class=\"due_soon\">{} due within {} days</span> · {} on track. \
         Requests waiting for the person to confirm their address are not listed.</p>\
         <table><tr><th>#</th><th>request</th><th>law</th><th>person</th><th>status</th><th>received</th><th>due</th><th>time left</th></tr>{rows}</table>",
        counts[0],
        counts[1],
        crate::requests::DUE_SOON_DAYS,
        counts[2],
    );
    page(StatusCode::OK, "Requests", &body)
}

/// One request with the person's identity, its clocks, and the decision form. The read is audited.
async fn request_page(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::ReadRequests) {
        return forbidden();
    }
    let request = match state.store.request(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return page(
                StatusCode::NOT_FOUND,
                "Not found",
                "<h1>No such request</h1>",
            );
        }
        Err(err) => return server_error(&err),
    };
    if let Err(err) = state
        .store
        .audit_append(&NewEntry::new(
            principal.actor,
            "request.read",
            Some(pactum_store::audit::Target::new("request", request.id)),
        ))
        .await
    {
        return server_error(&err);
    }
    let extension = match state.store.request_extension(request.id).await {
        Ok(extension) => extension,
        Err(err) => return server_error(&err),
    };
    let tasks = match state.store.request_tasks(request.id).await {
        Ok(tasks) => tasks,
        Err(err) => return server_error(&err),
    };
    let mut html = request_html(
        &state,
        &request,
        &principal,
        None,
        extension.as_ref(),
        &tasks,
    );
    match state.store.request_execution(request.id).await {
        Ok(execution) => html.push_str(&execution_html(&request, execution.as_ref(), &principal)),
        Err(err) => return server_error(&err),
    }
    page(StatusCode::OK, "Request", &html)
}

/// How an approved request's execution stands, when it is in trouble: retrying after a failed
/// attempt, or stopped after the last one (with a button to run it again).
fn execution_html(
    r: &pactum_store::requests::Request,
    execution: Option<&pactum_store::execution::Execution>,
    principal: &Principal,
) -> String {
    use pactum_store::jobs::JobStatus;
    let Some(e) = execution else {
        return String::new();
    };
    if r.status != pactum_store::requests::RequestStatus::Approved {
        return String::new();
    }
    let error = e.last_error.as_deref().map_or("—".to_owned(), escape);
    match e.status {
        JobStatus::Failed => format!(
            "<p id=\"execution\" class=\"due_soon\">Attempt {} failed: {error}. It is tried again.</p>",
            e.attempts
        ),
        JobStatus::Dead => {
            let mut html = format!(
                "<h2>Execution stopped</h2><p id=\"execution\" class=\"overdue\">Every attempt failed \
                 ({}); the last: {error}. The datastores already done stay done.</p>",
                e.attempts
            );
            if principal.may(Permission::DecideRequests) {
                html.push_str(&format!(
                    "<form method=\"post\" action=\"/admin/requests/{}/retry\">\
                     <button type=\"submit\" id=\"retry\">Try again (once the cause is mended)</button></form>",
                    r.id
                ));
            }
            html
        }
        _ => String::new(),
    }
}

async fn retry(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    match state.store.retry_request(&principal.actor, id).await {
        Ok(_) => Redirect::to(&format!("/admin/requests/{id}")).into_response(),
        Err(err) => after_refused_step(&state, &principal, id, &err).await,
    }
}

/// A request's manual tasks: the done ones with who and what, the open ones with a form to
/// record them done (for those who may decide requests).
fn tasks_html(
    r: &pactum_store::requests::Request,
    tasks: &[pactum_store::tasks::Task],
    principal: &Principal,
) -> String {
    if tasks.is_empty() {
        return String::new();
    }
    let open = tasks.iter().filter(|t| !t.is_done()).count();
    let mut html = format!(
        "<h2>Manual tasks</h2><p id=\"tasks-open\">{open} of {} open{}</p><ul id=\"tasks\">",
        tasks.len(),
        if open > 0 {
            ": the request completes when the last is recorded done"
        } else {
            ""
        }
    );
    let may = principal.may(Permission::DecideRequests)
        && r.status == pactum_store::requests::RequestStatus::Approved;
    for t in tasks {
        html.push_str(&format!(
            "<li><strong>{}</strong>: {}",
            escape(&t.datastore),
            t.instructions.as_deref().map_or("—".to_owned(), escape)
        ));
        match (&t.done_at, may) {
            (Some(at), _) => html.push_str(&format!(
                "<br>Done {} by {}: {}",
                at,
                t.done_by.as_deref().map_or("—".to_owned(), escape),
                t.note.as_deref().map_or("—".to_owned(), escape)
            )),
            (None, true) => html.push_str(&format!(
                "<form method=\"post\" action=\"/admin/requests/{id}/tasks/{task}/done\">\
                 <label for=\"note-{task}\">What was done</label>\
                 <textarea id=\"note-{task}\" name=\"note\" maxlength=\"2000\" required></textarea>\
                 <br><button type=\"submit\" id=\"done-{task}\">Record done</button></form>",
                id = r.id,
                task = t.id
            )),
            (None, false) => html.push_str("<br>Open"),
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    html
}

fn request_html(
    state: &AppState,
    r: &pactum_store::requests::Request,
    principal: &Principal,
    message: Option<&str>,
    extension: Option<&pactum_store::extensions::Extension>,
    tasks: &[pactum_store::tasks::Task],
) -> String {
    let d = &r.deadline;
    let (left, urgency) = crate::requests::time_left(r, crate::requests::day_of(state.store.now()));
    let opt = |v: &Option<String>| v.as_deref().map_or("—".to_owned(), escape);
    let mut html = format!(
        "<p><a href=\"/admin/requests\">All requests</a></p><h1>Request #{id}: {kind}</h1>{message}<table>\
         <tr><th>status</th><td id=\"status\">{status}</td></tr>\
         <tr><th>person</th><td>{ikind} <code>{identity}</code></td></tr>\
         <tr><th>law</th><td>{regimes}</td></tr><tr><th>channel</th><td>{channel}</td></tr>\
         <tr><th>details</th><td>{details}</td></tr>{corrections}\
         <tr><th>received</th><td>{received}</td></tr><tr><th>acknowledge by</th><td>{ack}</td></tr>\
         <tr><th>legal deadline</th><td>{legal}</td></tr><tr><th>with extension</th><td>{extended}</td></tr>\
         <tr><th>promised</th><td>{promised}</td></tr>\
         <tr><th>due (effective)</th><td class=\"{class}\">{due} ({left})</td></tr></table>",
        id = r.id,
        kind = escape(r.kind.label()),
        message = message.map_or(String::new(), |m| format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(m)
        )),
        status = r.status.as_str(),
        ikind = escape(&r.identity_kind),
        identity = escape(&r.identity_value),
        regimes = escape(&r.regimes.join(", ")),
        channel = r.channel.as_str(),
        details = opt(&r.details),
        corrections = if r.corrections.is_empty() {
            String::new()
        } else {
            format!(
                "<tr><th>corrections</th><td><ul id=\"corrections\">{}</ul></td></tr>",
                r.corrections
                    .iter()
                    .map(|(k, v)| format!("<li>{}: {}</li>", escape(k), escape(v)))
                    .collect::<String>()
            )
        },
        received = escape(&d.received_on),
        ack = opt(&d.acknowledge_by),
        legal = escape(&d.legal_due),
        extended = opt(&d.extended_due),
        promised = opt(&d.promised_due),
        due = escape(&d.due_on),
        class = match urgency {
            crate::requests::Urgency::Overdue => "overdue",
            crate::requests::Urgency::DueSoon => "due_soon",
            _ => "",
        },
        left = left.map_or("closed".to_owned(), |days| if days < 0 {
            format!("overdue by {} days", -days)
        } else {
            format!("{days} days left")
        }),
    );
    if let Some(reason) = &r.decision_reason {
        html.push_str(&format!("<p>Reason given: {}</p>", escape(reason)));
    }
    if let Some(e) = extension {
        html.push_str(&format!(
            "<p>Extended on {} from {} to {}; the person was told: {}</p>",
            e.extended_at,
            escape(&e.previous_due),
            escape(&e.new_due),
            escape(&e.reason)
        ));
    } else if let Some(extended) = &d.extended_due
        && matches!(
            r.status,
            pactum_store::requests::RequestStatus::Verified
                | pactum_store::requests::RequestStatus::Approved
        )
        && principal.may(Permission::DecideRequests)
    {
        html.push_str(&format!(
            "<h2>Extend the deadline</h2><p>The law allows one extension, to {extended}, notified \
             before {legal} with the reason; the person is emailed.</p>\
             <form method=\"post\" action=\"/admin/requests/{id}/extend\">\
             <label for=\"extension\">Reason (the person reads it)</label>\
             <textarea id=\"extension\" name=\"reason\" maxlength=\"2000\" required></textarea>\
             <br><button type=\"submit\">Extend to {extended}</button></form>",
            extended = escape(extended),
            legal = escape(&d.legal_due),
            id = r.id
        ));
    }
    html.push_str(&tasks_html(r, tasks, principal));
    if let Some(outcome) = &r.outcome {
        let pretty = serde_json::to_string_pretty(outcome).unwrap_or_default();
        html.push_str(&format!("<h2>Outcome</h2><pre>{}</pre>", escape(&pretty)));
    }
    if r.status == pactum_store::requests::RequestStatus::Verified
        && principal.may(Permission::DecideRequests)
    {
        html.push_str(&format!(
            "<h2>Decide</h2><form method=\"post\" action=\"/admin/requests/{id}/decision\">\
             <input type=\"hidden\" name=\"decision\" value=\"approve\">\
             <button type=\"submit\" id=\"approve\">Approve and carry out</button></form>\
             <form method=\"post\" action=\"/admin/requests/{id}/decision\">\
             <input type=\"hidden\" name=\"decision\" value=\"reject\">\
             <label for=\"reason\">Reason for refusing (the person sees it)</label>\
             <textarea id=\"reason\" name=\"reason\" maxlength=\"2000\" required></textarea>\
             <br><button type=\"submit\">Refuse</button></form>",
            id = r.id
        ));
    }
    html
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path(id): axum::extract::Path<i64>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "<h1>The form was incomplete</h1>",
        );
    };
    let reason = form.reason.as_deref().map(str::trim).unwrap_or_default();
    let decision = match form.decision.as_str() {
        "approve" => pactum_store::requests::Decision::Approve,
        "reject" if !reason.is_empty() && reason.chars().count() <= 2000 => {
            pactum_store::requests::Decision::Reject {
                reason: reason.to_owned(),
            }
        }
        _ => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Decision",
                "<h1>Approve, or refuse with a reason</h1>",
            );
        }
    };
    match state
        .store
        .decide_request(&principal.actor, id, &decision)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/requests/{id}")).into_response(),
        Err(err) => after_refused_step(&state, &principal, id, &err).await,
    }
}

#[derive(Deserialize)]
struct ExtendForm {
    reason: String,
}

async fn extend(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path(id): axum::extract::Path<i64>,
    form: Result<Form<ExtendForm>, FormRejection>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "<h1>Give a reason</h1>",
        );
    };
    match crate::requests::extend(&state, &principal.actor, id, &form.reason).await {
        Ok(_) => Redirect::to(&format!("/admin/requests/{id}")).into_response(),
        Err(err) => after_refused_step(&state, &principal, id, &err).await,
    }
}

#[derive(Deserialize)]
struct TaskForm {
    note: String,
}

async fn task_done(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path((id, task_id)): axum::extract::Path<(i64, i64)>,
    form: Result<Form<TaskForm>, FormRejection>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "<h1>Say what was done</h1>",
        );
    };
    match state
        .store
        .complete_task(&principal.actor, id, task_id, &form.note)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/requests/{id}")).into_response(),
        Err(err) => after_refused_step(&state, &principal, id, &err).await,
    }
}

/// The answer to a decision or extension the store refused: the request's page with the reason
/// (409) when the request is in the wrong state or the step is not allowed, 404 when there is no
/// such request, else the error page.
async fn after_refused_step(
    state: &AppState,
    principal: &Principal,
    id: i64,
    err: &StoreError,
) -> Response {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            "Not found",
            "<h1>No such request</h1>",
        )
    };
    match err {
        StoreError::NotFound { .. } => not_found(),
        StoreError::RequestState { .. }
        | StoreError::InvalidRequest(_)
        | StoreError::TaskDone { .. } => match state.store.request(id).await {
            Ok(Some(r)) => page(
                StatusCode::CONFLICT,
                "Request",
                &request_html(
                    state,
                    &r,
                    principal,
                    Some(&err.to_string()),
                    None,
                    &state.store.request_tasks(id).await.unwrap_or_default(),
                ),
            ),
            Ok(None) => not_found(),
            Err(err) => server_error(&err),
        },
        other => server_error(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_only() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; pactum_session=pcs_x"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-pactum_session=pcs_y"),
        );
        assert_eq!(read_cookie(&headers, SESSION_COOKIE), Some("pcs_x"));
        assert_eq!(read_cookie(&headers, SECURE_SESSION_COOKIE), Some("pcs_y"));
        assert_eq!(read_cookie(&headers, "pactum"), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict_and_secure_over_https() {
        assert_eq!(
            session_cookie(false, "pcs_x"),
            "pactum_session=pcs_x; Path=/; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            session_cookie(true, "pcs_x"),
            "__Host-pactum_session=pcs_x; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            clear_cookie(true),
            "__Host-pactum_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
        );
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
