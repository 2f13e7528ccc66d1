//! The console's legal holds page (`/admin/holds`): the holds standing and released, a form to
//! place one, and a button to release each. The same store calls as the API
//! (`/api/v1/admin/holds`); listing needs `read_requests`, placing and releasing
//! `decide_requests`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pactum_store::audit::NewEntry;
use pactum_store::error::StoreError;
use pactum_store::holds::NewHold;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::console::{ConsoleSession, escape, forbidden, page, server_error};

/// The holds page, with `message` (an error) above the form when a step was refused.
async fn holds_html(
    state: &AppState,
    principal: &Principal,
    message: Option<&str>,
) -> Result<String, StoreError> {
    let holds = state.store.list_holds(true, 500).await?;
    state
        .store
        .audit_append(
            &NewEntry::new(principal.actor, "hold.list", None)
                .with_details(json!({ "count": holds.len() })),
        )
        .await?;
    let may = principal.may(Permission::DecideRequests);
    let mut rows = String::new();
    for h in &holds {
        let state_cell = match (&h.released_at, may) {
            (Some(at), _) => format!(
                "released {at} by {}",
                h.released_by.as_deref().map_or("—".to_owned(), escape)
            ),
            (None, true) => format!(
                "<form method=\"post\" action=\"/admin/holds/{}/release\">\
                 <button type=\"submit\" id=\"release-{}\">Release</button></form>",
                h.id, h.id
            ),
            (None, false) => "standing".to_owned(),
        };
        rows.push_str(&format!(
            "<tr data-active=\"{active}\"><td>#{id}</td><td>{kind}</td><td>{scope}</td><td>{reason}</td>\
             <td>{by}, {at}</td><td>{state_cell}</td></tr>",
            active = h.is_active(),
            id = h.id,
            kind = escape(&h.identity_kind),
            scope = if h.scope.is_empty() {
                "every datastore".to_owned()
            } else {
                escape(&h.scope.join(", "))
            },
            reason = escape(&h.reason),
            by = escape(&h.placed_by),
            at = h.placed_at,
        ));
    }
    let mut html = format!(
        "<p><a href=\"/admin\">Admin</a> · <a href=\"/admin/requests\">Requests</a></p>\
         <h1>Legal holds</h1><p>An erasure keeps the records a standing hold covers, tells the person \
         why, and erases them by itself when the hold is released. The person is kept only as a \
         hash: a hold shows whether it is on an email address or a phone number, not whose.</p>{message}\
         <table id=\"holds\"><tr><th>#</th><th>on</th><th>scope</th><th>reason (the person reads it)</th>\
         <th>placed</th><th></th></tr>{rows}</table>",
        message = message.map_or(String::new(), |m| format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(m)
        )),
    );
    if may {
        html.push_str(
            "<h2>Place a hold</h2><form method=\"post\" action=\"/admin/holds\">\
             <label for=\"identity_kind\">On</label>\
             <select id=\"identity_kind\" name=\"identity_kind\"><option value=\"email\">email address</option>\
             <option value=\"phone\">phone number</option></select>\
             <label for=\"identity\">Address or number</label>\
             <input id=\"identity\" name=\"identity\" required maxlength=\"254\">\
             <label for=\"scope\">Datastores or collections (`web_db` or `web_db.invoices`, separated by \
             spaces or commas; empty: every datastore)</label>\
             <input id=\"scope\" name=\"scope\">\
             <label for=\"hold-reason\">Reason (the person whose erasure it defers reads it)</label>\
             <textarea id=\"hold-reason\" name=\"reason\" maxlength=\"2000\" required></textarea>\
             <br><button type=\"submit\" id=\"place\">Place the hold</button></form>",
        );
    }
    Ok(html)
}

pub(crate) async fn holds_page(State(state): State<AppState>, session: ConsoleSession) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::ReadRequests) {
        return forbidden();
    }
    match holds_html(&state, &principal, None).await {
        Ok(html) => page(StatusCode::OK, "Legal holds", &html),
        Err(err) => server_error(&err),
    }
}

#[derive(Deserialize)]
pub(crate) struct HoldForm {
    identity_kind: String,
    identity: String,
    #[serde(default)]
    scope: String,
    reason: String,
}

/// The page again with why the step was refused (422 or 409), or the error page.
async fn refused(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    why: &str,
) -> Response {
    match holds_html(state, principal, Some(why)).await {
        Ok(html) => page(status, "Legal holds", &html),
        Err(err) => server_error(&err),
    }
}

pub(crate) async fn place(
    State(state): State<AppState>,
    session: ConsoleSession,
    form: Result<Form<HoldForm>, FormRejection>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    let Ok(Form(form)) = form else {
        return refused(
            &state,
            &principal,
            StatusCode::BAD_REQUEST,
            "The form was incomplete.",
        )
        .await;
    };
    let scope: Vec<String> = form
        .scope
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let known = &state.site.requests.collections;
    if let Some(unknown) = scope.iter().find(|s| !known.contains(s)) {
        let why = format!("`{unknown}` is no datastore or collection of the data map.");
        return refused(&state, &principal, StatusCode::UNPROCESSABLE_ENTITY, &why).await;
    }
    let new = NewHold {
        identity_kind: form.identity_kind,
        identity_value: form.identity,
        scope,
        reason: form.reason,
    };
    match state.store.place_hold(&principal.actor, &new).await {
        Ok(_) => Redirect::to("/admin/holds").into_response(),
        Err(StoreError::InvalidRequest(why)) => {
            refused(&state, &principal, StatusCode::UNPROCESSABLE_ENTITY, why).await
        }
        Err(StoreError::InvalidEmail) => {
            refused(
                &state,
                &principal,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Give a valid address or number.",
            )
            .await
        }
        Err(err) => server_error(&err),
    }
}

pub(crate) async fn release(
    State(state): State<AppState>,
    session: ConsoleSession,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let principal = session.principal();
    if !principal.may(Permission::DecideRequests) {
        return forbidden();
    }
    match state.store.release_hold(&principal.actor, id).await {
        Ok(_) => Redirect::to("/admin/holds").into_response(),
        Err(err @ StoreError::HoldReleased { .. }) => {
            refused(&state, &principal, StatusCode::CONFLICT, &err.to_string()).await
        }
        Err(StoreError::NotFound { .. }) => {
            page(StatusCode::NOT_FOUND, "Not found", "<h1>No such hold</h1>")
        }
        Err(err) => server_error(&err),
    }
}
