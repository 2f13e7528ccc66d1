//! Telling recipients (GDPR Art. 19) as durable jobs: when a request that erases, rectifies or
//! restricts completes, one `recipient.notify` job per recipient that received the person's data
//! and declares a webhook; each job POSTs a signed event and retries with backoff until the
//! recipient answers 2xx. Recipients without a webhook are listed in the request's outcome as tasks
//! for people.
//!
//! **Invariants:** a job's payload holds internal ids and a processor key, never the person's
//! identity (read from the request when the job runs); the webhook id is the same on every retry,
//! so a recipient can drop duplicates; nothing here logs the identity.

use std::sync::Arc;

use pactum_domain::model::DataMap;
use pactum_requests::recipients::{Event, EventData, Sender, recipients_of, secret_bytes};
use pactum_store::Store;
use pactum_store::audit::{Actor, NewEntry, Target};
use pactum_store::jobs::{ClaimedJob, NewJob};
use pactum_store::requests::{Request, RequestKind};
use serde_json::json;

/// The job that delivers one webhook.
pub const NOTIFY_JOB: &str = "recipient.notify";

/// Attempts before a delivery is given up (with the store's exponential backoff, about a day).
const ATTEMPTS: u32 = 12;

/// What Art. 19 asks recipients to do for a request type, if anything.
pub fn action(kind: RequestKind) -> Option<&'static str> {
    use RequestKind as K;
    match kind {
        K::Erasure | K::Delete | K::MinorContentRemoval => Some("erase"),
        K::Rectification | K::Correct => Some("rectify"),
        K::Restriction => Some("restrict"),
        _ => None,
    }
}

/// The recipients to tell about `request`, whose records were found in `collections`: jobs for
/// those with a webhook (keyed, so enqueueing twice is harmless) and the names of those without.
pub fn plan(
    map: &DataMap,
    request: &Request,
    collections: &[String],
) -> (Vec<NewJob>, Vec<String>) {
    if action(request.kind).is_none() {
        return (Vec::new(), Vec::new());
    }
    let mut jobs = Vec::new();
    let mut manual = Vec::new();
    for key in recipients_of(map, collections) {
        let Some(processor) = map.processors.get(key) else {
            continue;
        };
        if processor.notify.is_some() {
            jobs.push(job(request.id, key));
        } else {
            manual.push(processor.name.clone());
        }
    }
    (jobs, manual)
}

/// The job that tells recipient `key` about request `request_id` (keyed: enqueued once).
pub fn job(request_id: i64, key: &str) -> NewJob {
    NewJob::new(
        NOTIFY_JOB,
        json!({ "request_id": request_id, "processor": key }),
    )
    .with_key(&format!("{NOTIFY_JOB}:{request_id}:{key}"))
    .with_max_attempts(ATTEMPTS)
}

/// Delivers `recipient.notify` jobs.
#[derive(Debug)]
pub struct Notifier {
    pub store: Store,
    pub map: Arc<DataMap>,
    pub sender: Sender,
    pub organisation: String,
}

impl Notifier {
    /// Delivers one job's webhook; `Err` retries it later.
    pub async fn run(&self, job: &ClaimedJob) -> Result<(), String> {
        let id = job
            .payload
            .get("request_id")
            .and_then(serde_json::Value::as_i64)
            .ok_or("the job names no request_id")?;
        let key = job
            .payload
            .get("processor")
            .and_then(serde_json::Value::as_str)
            .ok_or("the job names no processor")?;
        let request = self
            .store
            .request(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("request {id} does not exist"))?;
        let processor = self
            .map
            .processors
            .get(key)
            .ok_or_else(|| format!("the map has no processor `{key}`"))?;
        let notify = processor
            .notify
            .as_ref()
            .ok_or_else(|| format!("processor `{key}` declares no webhook"))?;
        let env = |var: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{var} (the webhook of `{key}`) is not set"))
        };
        let url = env(&notify.webhook_env)?;
        let secret = secret_bytes(&env(&notify.secret_env)?);
        let now = self.store.now();
        let timestamp = now.as_millis().div_euclid(1000);
        let event = Event {
            r#type: match action(request.kind) {
                Some("erase") => "privacy_request.erasure",
                Some("rectify") => "privacy_request.rectification",
                _ => "privacy_request.restriction",
            },
            timestamp: now.to_string(),
            data: EventData {
                request: &request.public_id,
                kind: request.kind.as_str(),
                regimes: &request.regimes,
                subject: json!({ request.identity_kind.as_str(): request.identity_value }),
                action: action(request.kind).unwrap_or("restrict"),
                controller: &self.organisation,
            },
        };
        let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        // The same id on every retry: recipients drop duplicates by it.
        let message_id = format!("msg_pactum_{}_{key}", request.id);
        let status = self
            .sender
            .deliver(&url, &secret, &message_id, timestamp, &body)
            .await
            .map_err(|e| format!("webhook to `{key}`: {e}"))?;
        self.store
            .audit_append(
                &NewEntry::new(
                    Actor::System,
                    "recipient.notified",
                    Some(Target::new("request", request.id)),
                )
                .with_details(json!({ "processor": key, "status": status })),
            )
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            request = request.id,
            processor = key,
            status,
            "recipient told"
        );
        Ok(())
    }
}
