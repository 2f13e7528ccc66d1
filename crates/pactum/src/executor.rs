//! Carries out approved data-subject requests: the `request.execute` job the store enqueues when a
//! privacy officer approves a request.
//!
//! Access, know and portability collect the person's records across the map's datastores and
//! store the download package; erasure, delete and removal of a minor's content apply each field's
//! erasure strategy; restriction, objection, withdrawal of consent and the CCPA opt-outs are
//! recorded as flags on the person (set when the request completes) for other controls to honour.
//! The person is then emailed: a download link that expires, or a note that the request is done.
//!
//! Erasure is checkpointed in the store: its plan is stored before anything changes and each
//! datastore is marked done after its transaction commits, so a job retried after a crash (the
//! server killed mid-request) finishes the datastores left from the stored plan, with no datastore
//! lost or applied twice (see `Executor::erase`). Completion deletes the plan (it holds row keys).
//!
//! Legal holds standing on the person when the erasure is planned keep the records they cover,
//! and statutory retention with a known end keeps its records until then: the changes to those
//! records are planned with the rest and stored, at completion, as deferred erasures
//! (`pactum_store::holds`), which the `request.deferred` job applies (`Executor::run_deferred`)
//! when the hold is released or the period ends. The person's answer lists what was kept and why.
//!
//! **Invariants:** a job for a request that is already completed does nothing (a retried job after a
//! crash never completes twice); a failed datastore fails the job (it is retried with backoff) and
//! the request stays approved, so nothing is reported done that was not; nothing here logs an
//! identity or a record.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pactum_domain::model::{DataMap, IdentityKind};
use pactum_requests::{
    Connections, DeferredPlan, Erased, ErasureOptions, ErasurePlan, HoldScope, RequestError,
};
use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::holds::{DeferredStart, NewDeferral};
use pactum_store::jobs::ClaimedJob;
use pactum_store::requests::{Completion, Request, RequestKind, RequestStatus};
use pactum_store::tasks::NewTask;
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

/// Where the progress of a checkpointed plan is recorded.
#[derive(Debug, Clone, Copy)]
enum Progress {
    /// A request's plan (by request id).
    Request(i64),
    /// A deferred erasure (by its id).
    Deferred(i64),
}

/// The task key of work the privacy team does on the request itself (no datastore).
const PRIVACY_TEAM: &str = "privacy_team";

/// The manual tasks an outcome lists (`{"datastore", "instructions"}` each).
fn manual_tasks(outcome: &serde_json::Value) -> Vec<NewTask> {
    outcome
        .get("manual_tasks")
        .and_then(serde_json::Value::as_array)
        .map(|tasks| {
            tasks
                .iter()
                .filter_map(|t| {
                    Some(NewTask {
                        datastore: t.get("datastore")?.as_str()?.to_owned(),
                        instructions: t
                            .get("instructions")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What to do for a request type.
enum Plan {
    Access,
    Erase,
    /// Write the corrected values the person gave.
    Rectify,
    Flag,
    /// The privacy team does it by hand: the outcome lists the task.
    Manual(&'static str),
}

fn plan(kind: RequestKind, has_corrections: bool) -> Plan {
    use RequestKind as K;
    match kind {
        K::Rectification | K::Correct if has_corrections => Plan::Rectify,
        K::Access | K::Know | K::Portability => Plan::Access,
        K::Erasure | K::Delete | K::MinorContentRemoval => Plan::Erase,
        K::Restriction
        | K::Objection
        | K::WithdrawConsent
        | K::OptOutSaleSharing
        | K::LimitSensitive => Plan::Flag,
        K::Rectification | K::Correct => Plan::Manual(
            "apply the correction the person described (in the request's details) to the records an access request finds",
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
            // Done before: make sure the recipients' jobs exist (a crash may have come between
            // the completion and their enqueueing; they are keyed, so this never doubles them).
            RequestStatus::Completed => return self.enqueue_notifications(&request).await,
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
        let mut deferred: Vec<DeferredPlan> = Vec::new();
        let (outcome, package) = match plan(request.kind, !request.corrections.is_empty()) {
            Plan::Access => {
                let mut connections = self.connections.lock().await;
                let result =
                    pactum_requests::access_with(&mut connections, &self.map, &identities, &url_of)
                        .await
                        .map_err(|e| e.to_string())?;
                let package = if request.kind == RequestKind::Portability {
                    pactum_requests::package::portability_package(
                        &result,
                        &self.map,
                        &self.organisation,
                    )
                } else {
                    pactum_requests::package::access_package(&result, &self.organisation)
                }
                .map_err(|e| format!("cannot build the package: {e}"))?;
                let outcome = json!({
                    "records": result.record_count(),
                    "collections": result.records.iter().map(|(c, r)| (c.clone(), r.rows.len())).collect::<std::collections::BTreeMap<_, _>>(),
                    "manual_tasks": result.manual_tasks,
                    "routed_to_controller": result.routed_to_controller,
                });
                (outcome, Some(package))
            }
            Plan::Rectify => {
                let (result, plan) = self
                    .apply_checkpointed(id, &identities, Some(&request.corrections))
                    .await?;
                let outcome = json!({
                    "rows_corrected": result.erased.values().map(|e| e.rows).sum::<u64>(),
                    "corrected": result.erased,
                    "kept": result.kept,
                    "not_found": plan.not_found,
                    "manual_tasks": result.manual_tasks,
                    "routed_to_controller": result.routed_to_controller,
                });
                (outcome, None)
            }
            Plan::Erase => {
                let (result, plan) = self.apply_checkpointed(id, &identities, None).await?;
                deferred = plan.deferred;
                let outcome = json!({
                    "rows_erased": result.erased.values().map(|e| e.rows).sum::<u64>(),
                    "erased": result.erased,
                    "kept": result.kept,
                    "manual_tasks": result.manual_tasks,
                    "routed_to_controller": result.routed_to_controller,
                });
                (outcome, None)
            }
            Plan::Flag if crate::notify::action(request.kind).is_some() => {
                // A restriction is passed on to the recipients of the collections that hold the
                // person's records: find them (read only).
                let mut connections = self.connections.lock().await;
                let found =
                    pactum_requests::access_with(&mut connections, &self.map, &identities, &url_of)
                        .await
                        .map_err(|e| e.to_string())?;
                (
                    json!({
                        "recorded": request.kind.as_str(),
                        "note": "recorded on the person; other controls honour it",
                        "collections": found.records.keys().collect::<Vec<_>>(),
                    }),
                    None,
                )
            }
            Plan::Flag => (
                json!({ "recorded": request.kind.as_str(), "note": "recorded on the person; other controls honour it" }),
                None,
            ),
            Plan::Manual(task) => (
                json!({ "manual_tasks": [{ "datastore": PRIVACY_TEAM, "instructions": task }] }),
                None,
            ),
        };
        let mut outcome = outcome;
        // Manual tasks are done by people, recorded in the console: until the last one is, the
        // request stays approved (the automated part is done and checkpointed); recording the
        // last one enqueues this job again.
        let tasks = manual_tasks(&outcome);
        if !tasks.is_empty() {
            let recorded = self
                .store
                .open_tasks(&Actor::System, id, &tasks)
                .await
                .map_err(|e| e.to_string())?;
            let open = recorded.iter().filter(|t| !t.is_done()).count();
            if open > 0 {
                tracing::info!(request = id, open, "request waits for its manual tasks");
                return Ok(());
            }
            outcome["manual_tasks"] = recorded
                .iter()
                .map(|t| {
                    json!({
                        "datastore": t.datastore,
                        "instructions": t.instructions,
                        "done_at": t.done_at.map(|at| at.to_string()),
                        "done_by": t.done_by,
                    })
                })
                .collect();
        }
        // Art. 19: the recipients of the collections the person's records were in.
        let collections = touched_collections(&outcome);
        let (jobs, by_other_means) = crate::notify::plan(&self.map, &request, &collections);
        if crate::notify::action(request.kind).is_some() {
            let webhooks: Vec<&str> = jobs
                .iter()
                .filter_map(|j| j.payload.get("processor").and_then(|p| p.as_str()))
                .collect();
            outcome["recipients"] = json!({
                "webhooks": webhooks,
                "to_tell_by_other_means": by_other_means,
            });
        }
        let deferrals = deferred
            .iter()
            .map(|part| {
                Ok(NewDeferral {
                    plan: serde_json::to_value(part)
                        .map_err(|e| format!("cannot store a deferred erasure: {e}"))?,
                    collections: part.collections(),
                    due_on: part.due_on.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (request, token) = self
            .store
            .complete_erasure(
                &Actor::System,
                id,
                &Completion {
                    outcome,
                    package,
                    package_lifetime: self.package_lifetime,
                },
                &deferrals,
            )
            .await
            .map_err(|e| e.to_string())?;
        self.enqueue_notifications(&request).await?;
        // The person is told by the `request.tell` job the completion enqueued (with a fresh
        // download link): a mail server that is down delays the message, never loses it.
        drop(token);
        tracing::info!(
            request = id,
            kind = request.kind.as_str(),
            "request completed"
        );
        Ok(())
    }

    /// Erases the person's records, checkpointed: the plan is made and stored on the first
    /// attempt (or read back on a retry), then each datastore not yet done is applied in its own
    /// transaction and marked done. A run stopped anywhere resumes with the datastores left, from
    /// the stored plan: planning again could not find them (the values that led to them are
    /// erased by then).
    ///
    /// A run that died after a datastore committed but before it was marked done finds, on the
    /// retry, every planned change of that datastore already in effect:
    /// [`pactum_requests::apply_datastore`] writes nothing and says so, and the datastore is marked
    /// done with its planned counts. Where that cannot be seen, a masked row is written again with
    /// the same planned values (no change in effect) and a deleted one matches nothing, which
    /// fails the job loudly (it is retried, then dead) rather than report what it did not do.
    ///
    /// A rectification (`corrections` given) runs the same way: its plan sets the corrected
    /// values ([`pactum_requests::plan_rectification`]).
    async fn apply_checkpointed(
        &self,
        id: i64,
        identities: &[(IdentityKind, String)],
        corrections: Option<&pactum_requests::Corrections>,
    ) -> Result<(pactum_requests::ErasureResult, ErasurePlan), String> {
        let url_of = |key: &str| (self.url_of)(key);
        let mut connections = self.connections.lock().await;
        let checkpoint = match self
            .store
            .erasure_checkpoint(id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(checkpoint) => checkpoint,
            None => {
                let plan = match corrections {
                    Some(corrections) => pactum_requests::plan_rectification(
                        &mut connections,
                        &self.map,
                        identities,
                        corrections,
                        &url_of,
                    )
                    .await
                    .map_err(|e| e.to_string())?,
                    None => self.plan_erasure(&mut connections, identities).await?,
                };
                let value = serde_json::to_value(&plan)
                    .map_err(|e| format!("cannot store the plan: {e}"))?;
                // `false`: another run stored a plan first; the stored one is the one applied.
                self.store
                    .save_erasure_plan(&Actor::System, id, &value)
                    .await
                    .map_err(|e| e.to_string())?;
                self.store
                    .erasure_checkpoint(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("request {id}'s plan was not stored"))?
            }
        };
        let plan: ErasurePlan = serde_json::from_value(checkpoint.plan)
            .map_err(|e| format!("request {id}'s stored plan cannot be read: {e}"))?;
        let mut erased: BTreeMap<String, Erased> = BTreeMap::new();
        for (datastore, result) in &checkpoint.done {
            let done: BTreeMap<String, Erased> =
                serde_json::from_value(result.clone()).map_err(|e| {
                    format!("request {id}'s result for `{datastore}` cannot be read: {e}")
                })?;
            erased.extend(done);
        }
        let applied = self
            .apply_remaining(
                &mut connections,
                &plan,
                &checkpoint.done,
                Progress::Request(id),
            )
            .await
            .map_err(|failed| {
                format!(
                    "changes rolled back in {failed}; the datastores done stay done, and the retry resumes from the stored plan"
                )
            })?;
        erased.extend(applied);
        Ok((plan.result(erased, Vec::new()), plan))
    }

    /// Applies the datastores of `plan` not in `done`, each in its own transaction, and records
    /// each one applied at `progress` (with its counts) before the next. A datastore found with
    /// every change already in effect (a run that died after its commit, before its record)
    /// counts as applied with its planned counts. Returns what was applied, or the failed
    /// datastores with their errors (the others applied stay recorded).
    async fn apply_remaining(
        &self,
        connections: &mut pactum_requests::Connections,
        plan: &ErasurePlan,
        done: &BTreeMap<String, serde_json::Value>,
        progress: Progress,
    ) -> Result<BTreeMap<String, Erased>, String> {
        let url_of = |key: &str| (self.url_of)(key);
        let mut applied: BTreeMap<String, Erased> = BTreeMap::new();
        let mut failed: Vec<String> = Vec::new();
        for datastore in plan.datastore_keys() {
            if done.contains_key(datastore) {
                continue;
            }
            let result = match pactum_requests::apply_datastore(
                connections,
                &self.map,
                plan,
                datastore,
                &url_of,
            )
            .await
            {
                Ok(result) => result,
                Err(RequestError::AlreadyApplied { .. }) => {
                    tracing::warn!(
                        ?progress,
                        datastore,
                        "changes already in effect: a previous run committed them but stopped before recording it"
                    );
                    plan.planned(datastore)
                }
                Err(e) => {
                    failed.push(format!("{datastore}: {}", error_chain(&e)));
                    continue;
                }
            };
            let value = serde_json::to_value(&result).map_err(|e| e.to_string())?;
            match progress {
                Progress::Request(id) => {
                    self.store
                        .mark_datastore_done(&Actor::System, id, datastore, &value)
                        .await
                }
                Progress::Deferred(id) => {
                    self.store
                        .mark_deferred_datastore_done(&Actor::System, id, datastore, &value)
                        .await
                }
            }
            .map_err(|e| e.to_string())?;
            applied.extend(result);
        }
        if failed.is_empty() {
            Ok(applied)
        } else {
            Err(failed.join("; "))
        }
    }

    /// Plans the erasure of the person's records, with the legal holds standing on them.
    async fn plan_erasure(
        &self,
        connections: &mut pactum_requests::Connections,
        identities: &[(IdentityKind, String)],
    ) -> Result<ErasurePlan, String> {
        let url_of = |key: &str| (self.url_of)(key);
        let (kind, value) = identities
            .first()
            .ok_or_else(|| "the request has no identity".to_owned())?;
        let kind = match kind {
            IdentityKind::Phone => "phone",
            _ => "email",
        };
        let holds = self
            .store
            .active_holds(kind, value)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|h| HoldScope {
                id: h.id,
                scope: h.scope,
                reason: h.reason,
            })
            .collect();
        let options = ErasureOptions {
            hash_key: self.hash_key.clone(),
            today: Some(pactum_web::requests::day_of(self.store.now())),
            holds,
        };
        pactum_requests::plan_erasure(connections, &self.map, identities, &url_of, &options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs one `request.deferred` job: applies a deferred erasure's stored changes, datastore by
    /// datastore (each checkpointed; a datastore found already applied counts as done, as for the
    /// main plan), then marks it applied (its plan, which holds row keys, is cleared). A deferral
    /// that a hold placed since covers is handed to that hold and waits for its release.
    pub async fn run_deferred(&self, job: &ClaimedJob) -> Result<(), String> {
        let id = job
            .payload
            .get("deferred_id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| "the job names no deferred_id".to_owned())?;
        let deferral = match self
            .store
            .start_deferred(&Actor::System, id)
            .await
            .map_err(|e| e.to_string())?
        {
            DeferredStart::Done => return Ok(()),
            DeferredStart::Held { hold_id } => {
                tracing::info!(
                    deferred = id,
                    hold = hold_id,
                    "deferred erasure held again by a legal hold"
                );
                return Ok(());
            }
            DeferredStart::Apply(deferral) => deferral,
        };
        let stored = deferral
            .plan
            .clone()
            .ok_or_else(|| format!("deferred erasure {id} has no plan"))?;
        let part: DeferredPlan = serde_json::from_value(stored)
            .map_err(|e| format!("deferred erasure {id}'s plan cannot be read: {e}"))?;
        let plan = part.to_plan();
        let mut connections = self.connections.lock().await;
        self.apply_remaining(&mut connections, &plan, &deferral.done, Progress::Deferred(id))
            .await
            .map_err(|failed| {
                format!(
                    "deferred erasure rolled back in {failed}; the retry resumes with the datastores left"
                )
            })?;
        self.store
            .finish_deferred(&Actor::System, id)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            deferred = id,
            request = deferral.request_id,
            "deferred erasure applied"
        );
        Ok(())
    }

    /// Enqueues one `recipient.notify` job per recipient the completed request's outcome lists
    /// (keyed by request and recipient, so a second call adds nothing).
    async fn enqueue_notifications(&self, request: &Request) -> Result<(), String> {
        let Some(webhooks) = request
            .outcome
            .as_ref()
            .and_then(|o| o.pointer("/recipients/webhooks"))
            .and_then(serde_json::Value::as_array)
        else {
            return Ok(());
        };
        for key in webhooks.iter().filter_map(serde_json::Value::as_str) {
            self.store
                .enqueue(&crate::notify::job(request.id, key))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Runs one `request.tell` job: emails the person that their request is done, with a fresh
    /// download link when it has a package (each attempt issues a new one, so only the newest
    /// link works: a retry after a mail that did go out leaves the person one working link). A
    /// mail failure fails the job, which is retried with backoff.
    pub async fn run_tell(&self, job: &ClaimedJob) -> Result<(), String> {
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
        if request.status != RequestStatus::Completed || self.mailer.is_none() {
            return Ok(());
        }
        let token = if request.package_expires_at.is_some() {
            self.store
                .reissue_download_token(&Actor::System, id)
                .await
                .map_err(|e| e.to_string())?
        } else {
            None
        };
        self.tell(&request, token.as_deref()).await
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
        let kept = pactum_web::requests::kept_records(request.outcome.as_ref());
        let text = if kept.is_empty() {
            text
        } else {
            format!(
                "{text}\nWhat we kept, and why:\n\n{}\n",
                kept.iter()
                    .map(|line| format!("  - {line}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
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

/// An error and its causes in one line, each thing said once (database errors often repeat their
/// cause's text). Datastore errors never carry row values or connection URLs.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(&format!(": {next}"));
        }
        source = s.source();
    }
    text
}

/// The collections (`datastore.collection`) an outcome says the person's records were in: erased,
/// corrected, kept, or found.
fn touched_collections(outcome: &serde_json::Value) -> Vec<String> {
    let mut collections: Vec<String> = Vec::new();
    for changed in ["erased", "corrected"] {
        if let Some(map) = outcome.get(changed).and_then(serde_json::Value::as_object) {
            collections.extend(map.keys().cloned());
        }
    }
    if let Some(kept) = outcome.get("kept").and_then(serde_json::Value::as_array) {
        collections.extend(
            kept.iter()
                .filter_map(|k| k.get("collection").and_then(serde_json::Value::as_str))
                .map(str::to_owned),
        );
    }
    if let Some(found) = outcome.get("collections") {
        match found {
            serde_json::Value::Array(list) => collections.extend(
                list.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned),
            ),
            serde_json::Value::Object(map) => collections.extend(map.keys().cloned()),
            _ => {}
        }
    }
    collections.sort();
    collections.dedup();
    collections
}
