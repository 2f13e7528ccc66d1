//! Carries out approved data-subject requests: the `request.execute` job the store enqueues when a
//! privacy officer approves a request.
//!
//! Access, know and portability collect the person's records across the map's datastores and
//! store the download package; erasure, delete and removal of a minor's content apply each field's
//! erasure strategy; restriction, objection, withdrawal of consent and the CCPA opt-outs are
//! recorded as flags on the person (set when the request completes) for other controls to honour.
//! The person is then emailed: a download link that expires, or a note that the request is done.
//!
//! **Invariants:** a job for a request that is already completed does nothing (a retried job after a
//! crash never completes twice); a failed datastore fails the job (it is retried with backoff) and
//! the request stays approved, so nothing is reported done that was not; nothing here logs an
//! identity or a record.

use std::sync::Arc;
use std::time::Duration;

use pactum_domain::model::{DataMap, IdentityKind};
use pactum_requests::{Connections, ErasureOptions};
use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::jobs::ClaimedJob;
use pactum_store::requests::{Completion, Request, RequestKind, RequestStatus};
use pactum_web::mail::Mailer;
use serde_json::json;
use tokio::sync::Mutex;

/// A datastore's connection URL by datastore key.
pub type UrlOf = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Everything the job needs, shared by every run.
pub struct Executor {
    pub store: Store,
    pub map: Arc<DataMap>,
    pub url_of: UrlOf,
    pub mailer: Option<Mailer>,
    /// Links in emails start with this.
    pub public_url: String,
    pub organisation: String,
    pub package_lifetime: Duration,
    /// Key for `keyed_hash` erasure.
    pub hash_key: Option<Vec<u8>>,
    /// Connections kept across requests (one request at a time per worker).
    pub connections: Mutex<Connections>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("organisation", &self.organisation)
            .finish_non_exhaustive()
    }
}

/// What to do for a request type.
enum Plan {
    Access,
    Erase,
    Flag,
    /// No connector writes corrections yet: the outcome lists the task for the privacy team.
    Manual(&'static str),
}

fn plan(kind: RequestKind) -> Plan {
    use RequestKind as K;
    match kind {
        K::Access | K::Know | K::Portability => Plan::Access,
        K::Erasure | K::Delete | K::MinorContentRemoval => Plan::Erase,
        K::Restriction
        | K::Objection
        | K::WithdrawConsent
        | K::OptOutSaleSharing
        | K::LimitSensitive => Plan::Flag,
        K::Rectification | K::Correct => Plan::Manual(
            "apply the correction the person described to the records an access request finds",
        ),
    }
}

impl Executor {
    /// Runs one `request.execute` job. `Err` makes the job retry (with backoff) or fail for good
    /// after its last attempt; the message names datastores, never people.
    pub async fn run(&self, job: &ClaimedJob) -> Result<(), String> {
        let id = job
            .payload
            .get("request_id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| "the job names no request_id".to_owned())?;
        let request = self
            .store
            .request(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("request {id} does not exist"))?;
        match request.status {
            RequestStatus::Completed => return Ok(()),
            RequestStatus::Approved => {}
            other => return Err(format!("request {id} is {other}, not approved")),
        }
        let identity = match request.identity_kind.as_str() {
            "email" => IdentityKind::Email,
            "phone" => IdentityKind::Phone,
            other => {
                return Err(format!(
                    "request {id} has an unknown identity kind `{other}`"
                ));
            }
        };
        let identities = [(identity, request.identity_value.clone())];
        let url_of = |key: &str| (self.url_of)(key);
        let (outcome, package) = match plan(request.kind) {
            Plan::Access => {
                let mut connections = self.connections.lock().await;
                let result =
                    pactum_requests::access_with(&mut connections, &self.map, &identities, &url_of)
                        .await
                        .map_err(|e| e.to_string())?;
                let package = pactum_requests::package::access_package(&result, &self.organisation)
                    .map_err(|e| format!("cannot build the package: {e}"))?;
                let outcome = json!({
                    "records": result.record_count(),
                    "collections": result.records.iter().map(|(c, r)| (c.clone(), r.rows.len())).collect::<std::collections::BTreeMap<_, _>>(),
                    "manual_tasks": result.manual_tasks,
                    "routed_to_controller": result.routed_to_controller,
                });
                (outcome, Some(package))
            }
            Plan::Erase => {
                let options = ErasureOptions {
                    hash_key: self.hash_key.clone(),
                    today: Some(pactum_web::requests::day_of(self.store.now())),
                };
                let mut connections = self.connections.lock().await;
                let result = pactum_requests::erase_with(
                    &mut connections,
                    &self.map,
                    &identities,
                    &url_of,
                    &options,
                )
                .await
                .map_err(|e| e.to_string())?;
                if !result.failed.is_empty() {
                    let failed: Vec<String> = result
                        .failed
                        .iter()
                        .map(|(ds, reason)| format!("{ds}: {reason}"))
                        .collect();
                    return Err(format!("erasure rolled back in {}", failed.join("; ")));
                }
                let outcome = json!({
                    "rows_erased": result.erased.values().map(|e| e.rows).sum::<u64>(),
                    "erased": result.erased,
                    "kept": result.kept,
                    "manual_tasks": result.manual_tasks,
                    "routed_to_controller": result.routed_to_controller,
                });
                (outcome, None)
            }
            Plan::Flag => (
                json!({ "recorded": request.kind.as_str(), "note": "recorded on the person; other controls honour it" }),
                None,
            ),
            Plan::Manual(task) => (json!({ "manual_tasks": [task] }), None),
        };
        let (request, token) = self
            .store
            .complete_request(
                &Actor::System,
                id,
                &Completion {
                    outcome,
                    package,
                    package_lifetime: self.package_lifetime,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        // Completion is committed: a mail failure is logged, not retried (the status page says
        // the request is done; a retry could not re-issue the download link).
        if let Err(err) = self.tell(&request, token.as_deref()).await {
            tracing::error!(request = id, error = %err, "cannot email the person that their request is done");
        }
        tracing::info!(
            request = id,
            kind = request.kind.as_str(),
            "request completed"
        );
        Ok(())
    }

    async fn tell(&self, request: &Request, token: Option<&str>) -> Result<(), String> {
        let Some(mailer) = &self.mailer else {
            return Ok(());
        };
        if request.identity_kind != "email" {
            return Ok(());
        }
        let base = self.public_url.trim_end_matches('/');
        let status = format!("{base}/requests/{}", request.public_id);
        let text = match token {
            Some(token) => format!(
                "Your request to {org} is done: {label}.\n\nDownload your data here (a ZIP file with \
                 JSON and CSV files and a readable summary):\n\n  {base}/requests/download?token={token}\n\n\
                 The link works until {expires} (UTC). Keep the file safe: it holds your personal data.\n\n\
                 Your request: {status}\n",
                org = self.organisation,
                label = request.kind.label(),
                expires = request
                    .package_expires_at
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
            None => format!(
                "Your request to {org} is done: {label}.\n\nYour request: {status}\n",
                org = self.organisation,
                label = request.kind.label(),
            ),
        };
        mailer
            .send(
                &request.identity_value,
                &format!("Your privacy request to {} is done", self.organisation),
                &text,
            )
            .await
            .map_err(|e| e.to_string())
    }
}
