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

fn escape(text: &str) -> String {
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
fn page(status: StatusCode, title: &str, body: &str) -> Response {
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
         input{{font:inherit;padding:.5rem .6rem;width:22rem;max-width:100%;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}}\
         input:focus,button:focus{{outline:3px solid var(--accent);outline-offset:1px}}\
         button{{font:inherit;margin-top:1.2rem;padding:.5rem 1.2rem;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer}}\
         .error{{color:var(--bad)}}.ok{{color:var(--good)}}code{{word-break:break-all}}</style></head><body><main>\n{body}\n</main></body></html>\n",
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

fn server_error(err: &StoreError) -> Response {
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

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, Some(LOGIN_FAILED));
    };
    let outcome = match state.store.login(&form.email, &form.password).await {
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
            let mut response = login_page(StatusCode::TOO_MANY_REQUESTS, Some(LOGIN_FAILED));
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// A signed-in console user. Extracting it from a request without a live session answers with a
/// redirect to the sign-in form (clearing a stale cookie).
pub(crate) struct ConsoleSession {
    user: User,
    secret: String,
    secure: bool,
}

impl ConsoleSession {
    fn principal(&self) -> Principal {
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
