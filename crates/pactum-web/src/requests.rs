//! Data-subject requests as the web layer receives them: which request types the organisation
//! offers under which law ([`RequestPolicy`], from the map's `rights`), the deadline each request
//! gets, and intake shared by the privacy centre, the public API and the admin API: validate,
//! store (with rate limits), and email the verification code and magic link.
//!
//! **Invariants:** a request type is accepted only under a regime whose rights the map declares
//! (so the published notice and the intake cannot disagree); every stored request carries its
//! deadlines, computed from the domain's rules on the store's clock; the person's address goes to
//! the store and the mailer only, never to a log line.

use std::collections::BTreeMap;
use std::time::Duration;

use pactum_domain::deadline::deadlines;
use pactum_domain::model::{Regime, Right, Rights};
use pactum_store::audit::Actor;
use pactum_store::clock::Timestamp;
use pactum_store::error::StoreError;
use pactum_store::requests::{
    Channel, Deadline, NewRequest, Request, RequestKind, VerificationSecrets,
};
use time::{Date, OffsetDateTime};

use crate::AppState;
use crate::mail::MailError;

/// Which request types are offered under which regime, and what the organisation promises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestPolicy {
    /// Regimes in the map's order, each with the request types it offers.
    pub offered: Vec<(Regime, Vec<RequestKind>)>,
    /// Days the organisation promises to answer within, per regime.
    pub promised_days: BTreeMap<Regime, u32>,
    /// How a refused request is appealed (shown with a refusal).
    pub appeal: Option<String>,
    /// What a rectification may correct: the map's `rectify` attributes (`name`,
    /// `postal_address`), offered on the form.
    pub rectifiable: Vec<String>,
    /// The map's `datastore` and `datastore.collection` keys: what a legal hold may cover.
    pub collections: Vec<String>,
}

/// The request type that exercises `right`, if it is one a person asks for (the right to complain
/// to a regulator or not to be discriminated against is not a request to the organisation).
pub fn request_kind(right: Right) -> Option<RequestKind> {
    Some(match right {
        Right::Access | Right::Confirmation => RequestKind::Access,
        Right::Portability => RequestKind::Portability,
        Right::Rectification => RequestKind::Rectification,
        Right::Erasure | Right::Anonymisation => RequestKind::Erasure,
        Right::Restriction => RequestKind::Restriction,
        Right::Objection => RequestKind::Objection,
        Right::WithdrawConsent => RequestKind::WithdrawConsent,
        Right::Know | Right::InformationOnSharing => RequestKind::Know,
        Right::Delete => RequestKind::Delete,
        Right::Correct => RequestKind::Correct,
        Right::OptOutSaleSharing => RequestKind::OptOutSaleSharing,
        Right::LimitSensitive => RequestKind::LimitSensitive,
        Right::AutomatedDecisions | Right::Complain | Right::NonDiscrimination => return None,
    })
}

impl RequestPolicy {
    /// The policy the map's `rights` section declares. Under CCPA, removal of content a minor
    /// posted (California Business and Professions Code § 22581) is offered beside the CCPA
    /// rights.
    pub fn from_rights(rights: &Rights) -> RequestPolicy {
        let mut offered = Vec::new();
        let mut promised_days = BTreeMap::new();
        for (regime, rights_offered) in &rights.regimes {
            let mut kinds: Vec<RequestKind> = Vec::new();
            for kind in rights_offered.iter().filter_map(|r| request_kind(*r)) {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            if *regime == Regime::Ccpa && !kinds.contains(&RequestKind::MinorContentRemoval) {
                kinds.push(RequestKind::MinorContentRemoval);
            }
            promised_days.insert(*regime, rights.response_days_for(*regime));
            offered.push((*regime, kinds));
        }
        RequestPolicy {
            offered,
            promised_days,
            appeal: rights.appeal.clone(),
            rectifiable: Vec::new(),
            collections: Vec::new(),
        }
    }

    /// The policy the map declares: its `rights`, and the attributes its fields let people
    /// correct.
    pub fn from_map(map: &pactum_domain::model::DataMap) -> RequestPolicy {
        let mut policy = map
            .rights
            .as_ref()
            .map(RequestPolicy::from_rights)
            .unwrap_or_default();
        policy.rectifiable = map.rectifiable().into_iter().map(str::to_owned).collect();
        policy.collections = map
            .datastores
            .iter()
            .flat_map(|(ds, d)| {
                std::iter::once(ds.clone())
                    .chain(d.collections.keys().map(move |c| format!("{ds}.{c}")))
            })
            .collect();
        policy
    }

    /// Whether `kind` may be requested under `regime`.
    pub fn offers(&self, regime: Regime, kind: RequestKind) -> bool {
        self.offered
            .iter()
            .any(|(r, kinds)| *r == regime && kinds.contains(&kind))
    }

    /// The deadlines of a request under `regime` received on `received`.
    pub fn deadline(&self, regime: Regime, received: Date) -> Deadline {
        let promised = |r: Regime| self.promised_days.get(&r).copied();
        let date = |d: Date| d.to_string();
        // One regime always yields deadlines; the fallback keeps this total.
        match deadlines(&[regime], received, &promised) {
            Some(d) => {
                let clock = d.per_regime.first();
                Deadline {
                    received_on: date(received),
                    acknowledge_by: clock.and_then(|c| c.acknowledge_by).map(date),
                    legal_due: clock.map_or_else(|| date(d.effective), |c| date(c.legal)),
                    extended_due: clock.and_then(|c| c.extended).map(date),
                    promised_due: clock.and_then(|c| c.promised).map(date),
                    due_on: date(d.effective),
                    regime: d.effective_regime.key().to_owned(),
                }
            }
            None => Deadline {
                received_on: date(received),
                acknowledge_by: None,
                legal_due: date(received),
                extended_due: None,
                promised_due: None,
                due_on: date(received),
                regime: regime.key().to_owned(),
            },
        }
    }
}

/// A regime's name for people.
pub fn regime_label(regime: Regime) -> &'static str {
    match regime {
        Regime::Gdpr => "European Union (GDPR)",
        Regime::UkGdpr => "United Kingdom (UK GDPR)",
        Regime::Ccpa => "California (CCPA/CPRA)",
        Regime::Lgpd => "Brazil (LGPD)",
        Regime::Pipeda => "Canada (PIPEDA)",
    }
}

/// Parses a regime key (`gdpr`, `uk_gdpr`, ...).
pub fn parse_regime(key: &str) -> Option<Regime> {
    Regime::ALL.into_iter().find(|r| r.key() == key)
}

/// The UTC calendar day of a store timestamp.
pub fn day_of(at: Timestamp) -> Date {
    OffsetDateTime::from_unix_timestamp(at.as_millis().div_euclid(1000))
        .map_or(OffsetDateTime::UNIX_EPOCH.date(), |t| t.date())
}

/// How close a request is to its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Past its effective deadline.
    Overdue,
    /// Due within [`DUE_SOON_DAYS`] days.
    DueSoon,
    /// More time than that.
    OnTrack,
    /// Answered or refused.
    Closed,
}

/// Open requests due within this many days are flagged.
pub const DUE_SOON_DAYS: i64 = 7;

/// Days left until `due_on` (negative when overdue) and the urgency, for an open request.
pub fn time_left(request: &Request, today: Date) -> (Option<i64>, Urgency) {
    use pactum_store::requests::RequestStatus as S;
    if matches!(request.status, S::Completed | S::Rejected) {
        return (None, Urgency::Closed);
    }
    let Ok(due) = Date::parse(
        &request.deadline.due_on,
        time::macros::format_description!("[year]-[month]-[day]"),
    ) else {
        return (None, Urgency::Overdue);
    };
    let left = (due - today).whole_days();
    let urgency = if left < 0 {
        Urgency::Overdue
    } else if left <= DUE_SOON_DAYS {
        Urgency::DueSoon
    } else {
        Urgency::OnTrack
    };
    (Some(left), urgency)
}

/// Records an erasure kept, as its outcome's `kept` list says, in words for the person: what
/// (collection and how many records), why, and when they will be erased where that is known.
/// Empty when nothing was kept.
pub fn kept_records(outcome: Option<&serde_json::Value>) -> Vec<String> {
    let Some(kept) = outcome
        .and_then(|o| o.get("kept"))
        .and_then(serde_json::Value::as_array)
    else {
        return Vec::new();
    };
    kept.iter()
        .filter_map(|k| {
            let collection = k.get("collection")?.as_str()?;
            let rows = k
                .get("rows")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            let reason = k
                .get("reason")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("kept by law");
            let records = if rows == 1 { "record" } else { "records" };
            let when =
                if let Some(day) = k.get("deferred_until").and_then(serde_json::Value::as_str) {
                    format!(" They will be erased on {day}, by themselves.")
                } else if k
                    .get("holds")
                    .and_then(serde_json::Value::as_array)
                    .is_some_and(|h| !h.is_empty())
                {
                    " They will be erased when the hold is released.".to_owned()
                } else if let Some(day) = k.get("until").and_then(serde_json::Value::as_str) {
                    format!(" We must keep them until {day}.")
                } else {
                    String::new()
                };
            let fields: Vec<&str> = k
                .get("fields")
                .and_then(serde_json::Value::as_array)
                .map(|f| f.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default();
            let which = if fields.is_empty() {
                String::new()
            } else {
                format!(" (only {}; the rest was erased)", fields.join(", "))
            };
            Some(format!(
                "{rows} {records} in {collection}{which}: {reason}.{when}"
            ))
        })
        .collect()
}

/// `a***@example.com`: enough for a list, not the address itself.
pub fn mask_identity(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => {
            let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
            let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
            format!("***{tail}")
        }
    }
}

/// [`valid_email`] as a JSON Schema pattern (the API documents exactly what it accepts).
pub const EMAIL_PATTERN: &str = "^(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(\\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";

/// [`valid_phone`] as a JSON Schema pattern.
pub const PHONE_PATTERN: &str = "^(?=(\\D*\\d){7,15}\\D*$)\\+?[0-9 ().-]+$";

/// An email address Pactum can write to: a dot-atom local part of at most 64 characters from
/// `A-Z a-z 0-9 _ % + -`, and a domain of at least two DNS labels (letters, digits and inner
/// hyphens, at most 63 each), at most 254 characters in all. This is deliberately narrower than
/// RFC 5322 (no quoted local parts, no internationalised addresses): every address it accepts is
/// one SMTP servers take. It is exactly [`EMAIL_PATTERN`].
pub fn valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let atom = |a: &str| {
        !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_%+-".contains(&b))
    };
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    value.len() <= 254
        && (1..=64).contains(&local.len())
        && local.split('.').all(atom)
        && domain.split('.').count() >= 2
        && domain.split('.').all(label)
}

/// A phone number: an optional leading `+`, then digits, spaces, dots, dashes and parentheses,
/// with 7 to 15 digits (E.164). It is exactly [`PHONE_PATTERN`].
pub fn valid_phone(value: &str) -> bool {
    let rest = value.strip_prefix('+').unwrap_or(value);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    !rest.is_empty()
        && (7..=15).contains(&digits)
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || " ().-".contains(c))
}

/// What a person (or an admin on their behalf) asks for.
#[derive(Debug, Clone)]
pub struct Intake {
    pub kind: RequestKind,
    pub regime: Regime,
    /// `email` or `phone`.
    pub identity_kind: String,
    pub identity_value: String,
    pub details: Option<String>,
    /// For a rectification: attribute to corrected value (blank values are dropped).
    pub corrections: BTreeMap<String, String>,
}

/// Why a request was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{kind} requests are not offered under {regime}", kind = .0.label(), regime = regime_label(*.1))]
    NotOffered(RequestKind, Regime),
    #[error("give a valid email address")]
    BadEmail,
    #[error("give a valid phone number")]
    BadPhone,
    #[error("identify the person by email or phone")]
    BadIdentityKind,
    #[error("details are limited to {MAX_DETAILS} characters")]
    DetailsTooLong,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("{0}")]
    BadCorrection(String),
    #[error("too many requests; try again in {} minutes", .0.as_secs().div_ceil(60))]
    RateLimited(Duration),
    #[error("email is not configured on this server, so requests cannot be verified")]
    NoMailer,
    #[error("the request was stored but the confirmation email could not be sent")]
    Mail(#[source] MailError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IntakeError {
    fn from(err: StoreError) -> IntakeError {
        match err {
            StoreError::RateLimited { retry_after } => IntakeError::RateLimited(retry_after),
            StoreError::InvalidRequest(why) => IntakeError::Invalid(why),
            other => IntakeError::Store(other),
        }
    }
}

/// Longest free-text details accepted.
pub const MAX_DETAILS: usize = 4000;

/// Validates and stores a request, then emails the verification code and link when it needs
/// verification. Returns the request and whether a code was sent.
pub(crate) async fn submit(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
    intake: Intake,
    client_ip: Option<String>,
) -> Result<(Request, bool), IntakeError> {
    if !state.site.requests.offers(intake.regime, intake.kind) {
        return Err(IntakeError::NotOffered(intake.kind, intake.regime));
    }
    let value = intake.identity_value.trim().to_owned();
    match intake.identity_kind.as_str() {
        "email" if valid_email(&value) => {}
        "email" => return Err(IntakeError::BadEmail),
        // A phone number cannot receive the emailed code: only an admin takes such requests.
        "phone" if channel == Channel::Admin && valid_phone(&value) => {}
        "phone" if channel == Channel::Admin => return Err(IntakeError::BadPhone),
        _ => return Err(IntakeError::BadIdentityKind),
    }
    let details = intake
        .details
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if details
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DETAILS)
    {
        return Err(IntakeError::DetailsTooLong);
    }
    let corrections = corrections(&state.site.requests, intake.kind, intake.corrections)?;
    if intake.kind.needs_verification()
        && channel != Channel::Admin
        && state.options.mailer.is_none()
    {
        return Err(IntakeError::NoMailer);
    }
    let today = day_of(state.store.now());
    let new = NewRequest {
        kind: intake.kind,
        regimes: vec![intake.regime.key().to_owned()],
        identity_kind: intake.identity_kind.clone(),
        identity_value: value.clone(),
        channel,
        details,
        corrections,
        deadline: state.site.requests.deadline(intake.regime, today),
        client_ip,
    };
    let (request, secrets) = state
        .store
        .create_request(actor, &new, &state.options.rate_limits)
        .await?;
    // Opt-outs take effect at once: no verification, no decision (CCPA regs. 7026, 7027).
    let request = if request.kind.is_opt_out() {
        state.store.complete_opt_out(actor, request.id).await?
    } else {
        request
    };
    let sent = match secrets {
        Some(secrets) => {
            send_verification(state, &request, &secrets)
                .await
                .map_err(IntakeError::Mail)?;
            true
        }
        None => false,
    };
    Ok((request, sent))
}

/// A request's corrections, checked: blank values dropped (a form's empty inputs), and only for
/// a rectification, only attributes the map lets people correct.
fn corrections(
    policy: &RequestPolicy,
    kind: RequestKind,
    asked: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, IntakeError> {
    // The shape first (what the API schema says), blank values included; the names are checked
    // against what the map offers below.
    let well_formed = asked.len() <= pactum_store::requests::MAX_CORRECTIONS
        && asked
            .values()
            .all(|value| value.chars().count() <= pactum_store::requests::MAX_CORRECTION_CHARS);
    if !well_formed {
        return Err(IntakeError::Invalid(
            "corrections are at most 20, each value at most 500 characters",
        ));
    }
    // A corrected name or address is one line: control characters (a pasted line break) become
    // spaces.
    let asked: BTreeMap<String, String> = asked
        .into_iter()
        .map(|(k, v)| {
            let line: String = v
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            (k, line.trim().to_owned())
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if asked.is_empty() {
        return Ok(asked);
    }
    if !matches!(kind, RequestKind::Rectification | RequestKind::Correct) {
        return Err(IntakeError::BadCorrection(
            "only a request to correct data carries corrections".to_owned(),
        ));
    }
    if let Some(unknown) = asked.keys().find(|k| !policy.rectifiable.contains(k)) {
        let unknown: String = unknown.chars().take(40).collect();
        return Err(IntakeError::BadCorrection(format!(
            "`{unknown}` is not something this organisation's systems let people correct; use the details instead{}",
            if policy.rectifiable.is_empty() {
                String::new()
            } else {
                format!(" (correctable: {})", policy.rectifiable.join(", "))
            }
        )));
    }
    Ok(asked)
}

/// An attribute's name for people: `postal_address` is "Postal address".
pub fn attribute_label(attribute: &str) -> String {
    let words = attribute.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Extends request `id`'s deadline (see [`pactum_store::Store::extend_request`]) and emails the
/// person the new deadline with the reason. A mail failure is logged: the extension stands, and
/// the status page shows it.
pub(crate) async fn extend(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<Request, StoreError> {
    let today = day_of(state.store.now()).to_string();
    let request = state
        .store
        .extend_request(actor, id, reason, &today)
        .await?;
    if let (Some(mailer), "email") = (&state.options.mailer, request.identity_kind.as_str()) {
        let organisation = &state.site.organisation;
        let status = public_link(state, &format!("/requests/{}", request.public_id));
        let text = format!(
            "We need more time to answer your request to {organisation}:\n\n  {label}\n\n\
             The law lets us extend the deadline; we will answer by {due}.\n\nWhy: {reason}\n\n\
             Follow the request: {status}\n",
            label = request.kind.label(),
            due = request.deadline.due_on,
            reason = reason.trim(),
        );
        if let Err(err) = mailer
            .send(
                &request.identity_value,
                &format!("Your privacy request to {organisation}: a new deadline"),
                &text,
            )
            .await
        {
            tracing::error!(request = id, error = %err, "cannot email the person about the extension");
        }
    }
    Ok(request)
}

/// Acknowledges a request once its address is confirmed: an email saying it was received and by
/// when it will be answered (CCPA asks for this within 10 business days; it is sent at once), and
/// `request.acknowledge` in the audit log (its id only). A mail failure is logged, not fatal.
pub(crate) async fn acknowledge(state: &AppState, request: &Request) {
    let Some(mailer) = &state.options.mailer else {
        return;
    };
    if request.identity_kind != "email" || request.kind.is_opt_out() {
        return;
    }
    let organisation = &state.site.organisation;
    let status = public_link(state, &format!("/requests/{}", request.public_id));
    let text = format!(
        "{organisation} has received your request:\n\n  {label}\n\nWe will answer by {due} at the \
         latest. You can follow it here: {status}\n\nYour reference: {reference}\n",
        label = request.kind.label(),
        due = request.deadline.due_on,
        reference = request.public_id,
    );
    let subject = format!("We have received your privacy request to {organisation}");
    match mailer.send(&request.identity_value, &subject, &text).await {
        Ok(()) => {
            let entry = pactum_store::audit::NewEntry::new(
                Actor::System,
                "request.acknowledge",
                Some(pactum_store::audit::Target::new("request", request.id)),
            );
            if let Err(err) = state.store.audit_append(&entry).await {
                crate::error::log_store_error(&err);
            }
        }
        Err(err) => {
            tracing::error!(request = request.id, error = %err, "cannot send the acknowledgement");
        }
    }
}

/// The absolute URL of `path` on the public site (for links in emails).
pub(crate) fn public_link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.options.public_url.trim_end_matches('/'))
}

/// Emails the code and the magic link for `request`.
pub(crate) async fn send_verification(
    state: &AppState,
    request: &Request,
    secrets: &VerificationSecrets,
) -> Result<(), MailError> {
    let organisation = &state.site.organisation;
    let link = public_link(
        state,
        &format!("/requests/verify?token={}", secrets.link_token),
    );
    let status = public_link(state, &format!("/requests/{}", request.public_id));
    let text = format!(
        "Someone, we hope you, asked {organisation} for this:\n\n  {label}\n\n\
         To confirm that the request comes from you, enter this code on the request page:\n\n  \
         {code}\n\nor open this link:\n\n  {link}\n\n\
         The code and the link work until {expires} (UTC). If you did not ask for this, ignore this \
         message: nothing happens without confirmation.\n\nFollow the request: {status}\n",
        label = request.kind.label(),
        code = secrets.code,
        expires = secrets.expires_at,
    );
    let Some(mailer) = &state.options.mailer else {
        return Err(MailError::NotConfigured);
    };
    mailer
        .send(
            &request.identity_value,
            &format!("Confirm your privacy request to {organisation}"),
            &text,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    #[test]
    fn kept_records_are_told_in_words() {
        let outcome = serde_json::json!({"kept": [
            {"collection": "web_db.invoices", "rows": 2, "reason": "legal hold #4: matter 7", "holds": [4]},
            {"collection": "shop.orders", "rows": 1, "reason": "HMRC: 6 years",
             "until": "2031-06-30", "deferred_until": "2031-06-30"},
            {"collection": "crm.notes", "rows": 3, "reason": "also referenced by records of other people"},
            {"collection": "shop.payments", "rows": 1, "reason": "HMRC: 6 years", "fields": ["amount", "paid_on"],
             "until": "2031-06-30", "deferred_until": "2031-06-30"},
            {"rows": 1}
        ]});
        assert_eq!(
            kept_records(Some(&outcome)),
            [
                "2 records in web_db.invoices: legal hold #4: matter 7. They will be erased when the hold is released.",
                "1 record in shop.orders: HMRC: 6 years. They will be erased on 2031-06-30, by themselves.",
                "3 records in crm.notes: also referenced by records of other people.",
                "1 record in shop.payments (only amount, paid_on; the rest was erased): HMRC: 6 years. They will be erased on 2031-06-30, by themselves.",
            ]
        );
        assert!(kept_records(None).is_empty());
        assert!(kept_records(Some(&serde_json::json!({"erased": {}}))).is_empty());
    }

    #[test]
    fn emails_and_phones() {
        for ok in ["a@example.com", "first.last+tag@mail.example.co.uk"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@example.com",
            "a@example",
            "a@.example.com",
            "a@example.com.",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_phone("+44 20 7946 0958"));
        assert!(valid_phone("(555) 010-0123"));
        assert!(!valid_phone("12345"));
        assert!(!valid_phone("+1 555 0100 ext"));
        assert!(!valid_phone("1+2345678"));
        assert!(!valid_email("a..b@example.com"));
        assert!(!valid_email("a@-example.com"));
        assert!(!valid_email("a,b@example.com"));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_identity("alex@example.com"), "a***@example.com");
        assert_eq!(mask_identity("+44 20 7946 0958"), "***58");
    }

    fn rights(yaml_regimes: &[(Regime, Vec<Right>)]) -> Rights {
        Rights {
            response_days: 30,
            response_days_by_regime: [(Regime::Ccpa, 45)].into_iter().collect(),
            regimes: yaml_regimes.iter().cloned().collect(),
            ..Rights::default()
        }
    }

    #[test]
    fn policy_follows_the_maps_rights() {
        let policy = RequestPolicy::from_rights(&rights(&[
            (
                Regime::UkGdpr,
                vec![Right::Access, Right::Erasure, Right::Complain],
            ),
            (Regime::Ccpa, vec![Right::Know, Right::OptOutSaleSharing]),
        ]));
        assert!(policy.offers(Regime::UkGdpr, RequestKind::Erasure));
        assert!(!policy.offers(Regime::UkGdpr, RequestKind::Know));
        assert!(!policy.offers(Regime::Gdpr, RequestKind::Access));
        assert!(policy.offers(Regime::Ccpa, RequestKind::MinorContentRemoval));
        assert_eq!(
            policy.offered[0].1,
            vec![RequestKind::Access, RequestKind::Erasure]
        );
    }

    #[test]
    fn deadlines_come_from_the_rules_and_the_promise() {
        let policy = RequestPolicy::from_rights(&rights(&[
            (Regime::UkGdpr, vec![Right::Access]),
            (Regime::Ccpa, vec![Right::Know]),
        ]));
        let received = Date::from_calendar_date(2026, Month::January, 31).expect("a valid date");
        // UK GDPR: one calendar month to 28 February 2026 (a Saturday) moves to Monday 2 March;
        // the promise of 30 days (2 March) is the same day.
        let uk = policy.deadline(Regime::UkGdpr, received);
        assert_eq!(uk.legal_due, "2026-03-02");
        assert_eq!(uk.promised_due.as_deref(), Some("2026-03-02"));
        assert_eq!(uk.due_on, "2026-03-02");
        assert_eq!(uk.extended_due.as_deref(), Some("2026-04-30"));
        // CCPA: 45 days with the day of receipt as day one; acknowledgement within 10 business days.
        let ccpa = policy.deadline(Regime::Ccpa, received);
        assert_eq!(ccpa.legal_due, "2026-03-16");
        assert!(ccpa.acknowledge_by.is_some());
        assert_eq!(ccpa.regime, "ccpa");
    }
}
