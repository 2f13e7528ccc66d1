//! The public privacy centre: a person picks the law they ask under and the request type, gives
//! their email address, confirms it with the emailed code or link, follows the request's status,
//! and downloads the result through an expiring link.
//!
//! Pages work without JavaScript. State-changing forms are behind the same cross-site check as the
//! console; the emailed link opens a confirmation page whose button does the verifying, so a mail
//! scanner that fetches links cannot verify a request by itself.
//!
//! **Invariant:** a status page is reached only through its unguessable public id (`dsr_...`); it
//! never shows the person's address, only what they asked and where it stands.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use pactum_store::audit::Actor;
use pactum_store::requests::{
    Channel, Download, Request, RequestKind, RequestStatus, VerifyOutcome,
};
use serde::Deserialize;

use crate::AppState;
use crate::console::{escape, page, server_error};
use crate::requests::{Intake, IntakeError, day_of, parse_regime, regime_label, submit};

/// Where the request form is.
pub const NEW_REQUEST_PATH: &str = "/requests/new";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(NEW_REQUEST_PATH, get(new_form).post(create))
        .route("/requests/verify", get(confirm_link).post(verify_link))
        .route("/requests/download", get(download))
        .route("/requests/{public_id}", get(status))
        .route(
            "/requests/{public_id}/verify",
            axum::routing::post(verify_code),
        )
        .route("/requests/{public_id}/resend", axum::routing::post(resend))
}

/// The client's address, for rate limits only (never logged): the socket's peer, or, when the
/// peer is one of [`crate::Options::trusted_proxies`], the nearest address in `X-Forwarded-For`
/// that is not a trusted proxy (the header's right end is what our proxies appended; anything to
/// the left of the first untrusted hop could be forged by the client). Absent in in-process tests
/// without connect info.
pub(crate) struct ClientIp(pub(crate) Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer.map(|peer| {
            client_ip(peer, &parts.headers, &state.options.trusted_proxies).to_string()
        })))
    }
}

/// See [`ClientIp`].
fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|hop| hop.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

fn notice(text: &str, class: &str) -> String {
    format!("<p class=\"{class}\" role=\"alert\">{}</p>", escape(text))
}

/// The request form, optionally with an error and the values given before.
fn form_page(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    chosen: &str,
    email: &str,
) -> Response {
    let policy = &state.site.requests;
    let organisation = escape(&state.site.organisation);
    if policy.offered.is_empty() {
        return page(
            StatusCode::NOT_FOUND,
            "Privacy requests",
            &format!(
                "<h1>Privacy requests</h1><p>{organisation} takes no requests through this site; see the <a href=\"/\">privacy notice</a> for how to contact us.</p>"
            ),
        );
    }
    let mut options = String::new();
    for (regime, kinds) in &policy.offered {
        options.push_str(&format!(
            "<optgroup label=\"{}\">",
            escape(regime_label(*regime))
        ));
        for kind in kinds {
            let value = format!("{}:{}", regime.key(), kind.as_str());
            let selected = if value == chosen { " selected" } else { "" };
            options.push_str(&format!(
                "<option value=\"{value}\"{selected}>{}</option>",
                escape(kind.label())
            ));
        }
        options.push_str("</optgroup>");
    }
    let error = error.map_or(String::new(), |e| notice(e, "error"));
    page(
        status,
        "Make a privacy request",
        &format!(
            "<h1>Make a privacy request to {organisation}</h1>{error}\
             <p>Choose where you live and what you want us to do. We email you a code to confirm the \
             request comes from you, then answer by the deadline the law sets (or sooner, as we promise \
             in our <a href=\"/\">privacy notice</a>).</p>\
             <form method=\"post\" action=\"{NEW_REQUEST_PATH}\">\
             <label for=\"request\">Request</label>\
             <select id=\"request\" name=\"request\" required>{options}</select>\
             <label for=\"email\">Your email address</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required value=\"{email}\">\
             {corrections}\
             <label for=\"details\">Details (optional: what to correct, which data, anything that helps)</label>\
             <textarea id=\"details\" name=\"details\" maxlength=\"4000\"></textarea>\
             <br><button type=\"submit\">Send request</button></form>",
            email = escape(email),
            corrections = correction_inputs(&policy.rectifiable),
        ),
    )
}

/// The inputs for a rectification's corrected values, one per attribute the map lets people
/// correct (empty when it offers none).
fn correction_inputs(attributes: &[String]) -> String {
    if attributes.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<fieldset id=\"corrections\"><legend>To correct your data: the right values \
         (leave blank what is right)</legend>",
    );
    for attribute in attributes {
        let name = escape(attribute);
        html.push_str(&format!(
            "<label for=\"correct_{name}\">{label}</label>\
             <input id=\"correct_{name}\" name=\"correct_{name}\" maxlength=\"500\">",
            label = escape(&crate::requests::attribute_label(attribute)),
        ));
    }
    html.push_str("</fieldset>");
    html
}

async fn new_form(State(state): State<AppState>) -> Response {
    form_page(&state, StatusCode::OK, None, "", "")
}

#[derive(Deserialize)]
struct NewRequestForm {
    request: String,
    email: String,
    #[serde(default)]
    details: Option<String>,
    /// `correct_ATTRIBUTE` inputs, and anything else the form sent.
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    form: Result<Form<NewRequestForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return form_page(
            &state,
            StatusCode::BAD_REQUEST,
            Some("Choose a request and give your email address."),
            "",
            "",
        );
    };
    let parsed = form.request.split_once(':').and_then(|(regime, kind)| {
        Some((parse_regime(regime)?, kind.parse::<RequestKind>().ok()?))
    });
    let Some((regime, kind)) = parsed else {
        return form_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Choose one of the requests offered."),
            "",
            &form.email,
        );
    };
    let intake = Intake {
        kind,
        regime,
        identity_kind: "email".to_owned(),
        identity_value: form.email.clone(),
        details: form.details,
        corrections: form
            .rest
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("correct_")?.to_owned(), v.clone())))
            .collect(),
    };
    match submit(&state, &Actor::Subject, Channel::PrivacyCentre, intake, ip).await {
        Ok((request, _)) => {
            Redirect::to(&format!("/requests/{}", request.public_id)).into_response()
        }
        Err(IntakeError::Store(err)) => server_error(&err),
        Err(err) => {
            // On the form, an unoffered choice is a form error like any other.
            let status = match err {
                IntakeError::NotOffered(..) | IntakeError::BadCorrection(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => intake_status(&err),
            };
            let mut response = form_page(
                &state,
                status,
                Some(&err.to_string()),
                &form.request,
                &form.email,
            );
            if let IntakeError::RateLimited(after) = err
                && let Ok(value) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The HTTP status of a refused intake.
pub(crate) fn intake_status(err: &IntakeError) -> StatusCode {
    match err {
        IntakeError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        IntakeError::NoMailer | IntakeError::Mail(_) => StatusCode::SERVICE_UNAVAILABLE,
        IntakeError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // An attribute the map does not let people correct is not offered, like a request type.
        IntakeError::NotOffered(..) | IntakeError::BadCorrection(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// What a status means to the person.
fn explain(request: &Request) -> String {
    match request.status {
        RequestStatus::Unverified => {
            "Waiting for you to confirm it with the code we emailed.".to_owned()
        }
        RequestStatus::Verified => {
            "Confirmed; a member of our privacy team is reviewing it.".to_owned()
        }
        RequestStatus::Approved => "Approved; we are carrying it out.".to_owned(),
        RequestStatus::Completed if request.package_expires_at.is_some() => format!(
            "Done. We emailed you a link to download the result; it works until {} (UTC).",
            request
                .package_expires_at
                .map(|t| t.to_string())
                .unwrap_or_default()
        ),
        RequestStatus::Completed => "Done.".to_owned(),
        RequestStatus::Rejected => format!(
            "Refused: {}",
            request
                .decision_reason
                .as_deref()
                .unwrap_or("no reason was recorded")
        ),
    }
}

fn status_page(
    state: &AppState,
    request: &Request,
    message: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let d = &request.deadline;
    let mut body = format!(
        "<h1>Your privacy request</h1>{message}<table>\
         <tr><th>Request</th><td>{kind}</td></tr>\
         <tr><th>Reference</th><td><code>{id}</code></td></tr>\
         <tr><th>Received</th><td>{received}</td></tr>\
         <tr><th>We answer by</th><td>{due}</td></tr>\
         <tr><th>Status</th><td id=\"status\" data-status=\"{code}\">{explain}</td></tr></table>",
        message = message.map_or(String::new(), |(text, class)| notice(text, class)),
        kind = escape(request.kind.label()),
        id = escape(&request.public_id),
        received = escape(&d.received_on),
        due = escape(&d.due_on),
        code = request.status.as_str(),
        explain = escape(&explain(request)),
    );
    if request.status == RequestStatus::Unverified {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/requests/{id}/verify\">\
             <label for=\"code\">Code from the email</label>\
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" required>\
             <br><button type=\"submit\">Confirm</button></form>\
             <form method=\"post\" action=\"/requests/{id}/resend\"><button type=\"submit\">Email me a new code</button></form>",
            id = escape(&request.public_id)
        ));
    }
    let kept = crate::requests::kept_records(request.outcome.as_ref());
    if request.status == RequestStatus::Completed && !kept.is_empty() {
        body.push_str("<h2>What we kept, and why</h2><ul id=\"kept\">");
        for line in &kept {
            body.push_str(&format!("<li>{}</li>", escape(line)));
        }
        body.push_str("</ul>");
    }
    if request.status == RequestStatus::Rejected
        && let Some(appeal) = &state.site.requests.appeal
    {
        body.push_str(&format!("<p>To appeal: {}</p>", escape(appeal)));
    }
    body.push_str("<p>Keep this page's address to come back to it.</p>");
    page(status, "Your privacy request", &body)
}

async fn status(State(state): State<AppState>, Path(public_id): Path<String>) -> Response {
    match state.store.request_by_public_id(&public_id).await {
        Ok(Some(request)) => status_page(&state, &request, None, StatusCode::OK),
        Ok(None) => not_found(),
        Err(err) => server_error(&err),
    }
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!(
            "<h1>No such request</h1><p>Check the address, or <a href=\"{NEW_REQUEST_PATH}\">make a new request</a>.</p>"
        ),
    )
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn verify_code(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    ClientIp(ip): ClientIp,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let code = form.map(|Form(f)| f.code).unwrap_or_default();
    let outcome = state
        .store
        .verify_request_code(
            &public_id,
            code.trim(),
            ip.as_deref(),
            &state.options.rate_limits,
        )
        .await;
    after_verification(&state, &public_id, outcome).await
}

/// Shows the status page with what verification did.
async fn after_verification(
    state: &AppState,
    public_id: &str,
    outcome: Result<VerifyOutcome, pactum_store::error::StoreError>,
) -> Response {
    let (message, class, status) = match outcome {
        Ok(VerifyOutcome::Verified(request)) => {
            crate::requests::acknowledge(state, &request).await;
            return Redirect::to(&format!("/requests/{}", request.public_id)).into_response();
        }
        Ok(VerifyOutcome::AlreadyVerified(request)) => {
            return Redirect::to(&format!("/requests/{}", request.public_id)).into_response();
        }
        Ok(VerifyOutcome::WrongCode { attempts_left }) => (
            format!("That code is not right; {attempts_left} attempts left."),
            "error",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(VerifyOutcome::Expired) => (
            "That code has expired: ask for a new one below.".to_owned(),
            "error",
            StatusCode::GONE,
        ),
        Ok(VerifyOutcome::TooManyAttempts) => (
            "Too many wrong codes: ask for a new one below.".to_owned(),
            "error",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Ok(VerifyOutcome::Unknown) => return not_found(),
        Err(pactum_store::error::StoreError::RateLimited { .. }) => (
            "Too many attempts from your network; try again later.".to_owned(),
            "error",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(err) => return server_error(&err),
    };
    match state.store.request_by_public_id(public_id).await {
        Ok(Some(request)) => status_page(state, &request, Some((&message, class)), status),
        Ok(None) => not_found(),
        Err(err) => server_error(&err),
    }
}

async fn resend(State(state): State<AppState>, Path(public_id): Path<String>) -> Response {
    let request = match state.store.request_by_public_id(&public_id).await {
        Ok(Some(request)) => request,
        Ok(None) => return not_found(),
        Err(err) => return server_error(&err),
    };
    let (message, class, status) = match state
        .store
        .resend_verification(&public_id, &state.options.rate_limits)
        .await
    {
        Ok(Some(secrets)) => {
            match crate::requests::send_verification(&state, &request, &secrets).await {
                Ok(()) => ("We emailed you a new code.", "ok", StatusCode::OK),
                Err(err) => {
                    tracing::error!(error = %err, "cannot send the verification email");
                    (
                        "We could not send the email; try again later.",
                        "error",
                        StatusCode::SERVICE_UNAVAILABLE,
                    )
                }
            }
        }
        Ok(None) => ("This request needs no code.", "ok", StatusCode::OK),
        Err(pactum_store::error::StoreError::RateLimited { .. }) => (
            "Too many codes sent; try again later.",
            "error",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(err) => return server_error(&err),
    };
    status_page(&state, &request, Some((message, class)), status)
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The magic link's page: one button that verifies (a GET never changes anything).
async fn confirm_link(Query(query): Query<TokenQuery>) -> Response {
    page(
        StatusCode::OK,
        "Confirm your request",
        &format!(
            "<h1>Confirm your privacy request</h1><p>Press the button to confirm that you made this request.</p>\
             <form method=\"post\" action=\"/requests/verify\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Confirm my request</button></form>",
            escape(&query.token)
        ),
    )
}

async fn verify_link(
    State(state): State<AppState>,
    form: Result<Form<TokenQuery>, FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    match state.store.verify_request_link(token.trim()).await {
        Ok(VerifyOutcome::Verified(request)) => {
            crate::requests::acknowledge(&state, &request).await;
            Redirect::to(&format!("/requests/{}", request.public_id)).into_response()
        }
        Ok(VerifyOutcome::AlreadyVerified(request)) => {
            Redirect::to(&format!("/requests/{}", request.public_id)).into_response()
        }
        Ok(VerifyOutcome::Unknown) => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<h1>This link is not valid</h1><p>It may have been used already or replaced by a newer one. Open your request's page to ask for a new code.</p>",
        ),
        Ok(
            VerifyOutcome::Expired
            | VerifyOutcome::TooManyAttempts
            | VerifyOutcome::WrongCode { .. },
        ) => page(
            StatusCode::GONE,
            "Link expired",
            "<h1>This link has expired</h1><p>Open your request's page to ask for a new code.</p>",
        ),
        Err(err) => server_error(&err),
    }
}

async fn download(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    match state.store.download_package(query.token.trim()).await {
        Ok(Download::Ready(package)) => {
            let name = format!(
                "attachment; filename=\"{}-{}.zip\"",
                package.request.kind.as_str(),
                day_of(state.store.now())
            );
            let mut response = (StatusCode::OK, package.bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            );
            if let Ok(value) = HeaderValue::from_str(&name) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(Download::Expired) => page(
            StatusCode::GONE,
            "Link expired",
            "<h1>This download link has expired</h1><p>Make a new request to receive your data again.</p>",
        ),
        Ok(Download::Unknown) => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<h1>This download link is not valid</h1>",
        ),
        Err(err) => server_error(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy = ip("10.0.0.5");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9".parse().expect("ascii"),
        );
        // Not from a trusted proxy: the header is the client's own claim.
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers, &[proxy]),
            ip("192.0.2.1")
        );
        // From the proxy: the hop it appended (the right end), not what the client wrote before it.
        assert_eq!(client_ip(proxy, &headers, &[proxy]), ip("203.0.113.9"));
        // Through two trusted proxies.
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 10.0.0.6".parse().expect("ascii"),
        );
        assert_eq!(
            client_ip(proxy, &headers, &[proxy, ip("10.0.0.6")]),
            ip("203.0.113.9")
        );
        // A trusted proxy with no (or a garbled) header: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
        headers.insert("x-forwarded-for", "not-an-ip".parse().expect("ascii"));
        assert_eq!(client_ip(proxy, &headers, &[proxy]), proxy);
    }
}
