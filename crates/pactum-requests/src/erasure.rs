//! Erasure: each field's declared strategy applied to exactly the person's rows, one transaction per
//! datastore, every affected row counted.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use pactum_connectors::{ConnectorError, Datastore, RowChange, RowErasure};
use pactum_domain::catalog::Catalog;
use pactum_domain::model::{DataMap, Erasure, IdentityKind};
use pactum_domain::traversal::CollectionRef;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{Connections, FoundRows, RequestError, collect, collection};

/// Secrets and facts an erasure may need.
#[derive(Clone, Default)]
pub struct ErasureOptions {
    /// Key for `keyed_hash` (HMAC-SHA-256). Erasures that need it refuse to run without it.
    pub hash_key: Option<Vec<u8>>,
    /// Today, from the caller's clock: a statutory retention period that counts from a date field
    /// of the record has ended when `date + period <= today`. Without it, every statutory period
    /// is taken as still running.
    pub today: Option<time::Date>,
    /// The legal holds standing on the person: rows in collections they cover are kept, and their
    /// erasure is planned into [`ErasurePlan::deferred`] for when the holds are released.
    pub holds: Vec<HoldScope>,
}

/// A legal hold, as erasure planning needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldScope {
    /// The hold's id (named in the answer: "legal hold #ID").
    pub id: i64,
    /// `datastore` or `datastore.collection` entries; empty holds every datastore.
    pub scope: Vec<String>,
    /// Why (shown to the person).
    pub reason: String,
}

impl HoldScope {
    /// True when the hold covers `collection` (`datastore.collection`).
    pub fn covers(&self, collection: &str) -> bool {
        let datastore = collection.split_once('.').map_or(collection, |(d, _)| d);
        self.scope.is_empty() || self.scope.iter().any(|s| s == collection || s == datastore)
    }
}

impl std::fmt::Debug for ErasureOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasureOptions")
            .field("hash_key", &self.hash_key.as_ref().map(|_| "<redacted>"))
            .field("today", &self.today)
            .field(
                "holds",
                &self.holds.iter().map(|h| h.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What an erasure did to one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Erased {
    /// Rows changed (or deleted), as counted by the datastore.
    pub rows: u64,
    /// True when rows were deleted rather than masked.
    pub deleted: bool,
    /// The fields masked.
    pub fields: Vec<String>,
}

/// Rows found but deliberately not erased, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub collection: String,
    pub rows: usize,
    pub reason: String,
    /// When the obligation to keep them ends, where the map lets us compute it (the latest row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// When the erasure deferred until the obligation ends runs (the latest row's date), where
    /// it is known: rows kept by statutory retention with a computable end are erased then, by
    /// themselves. Rows under a legal hold are erased when it is released (no date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_until: Option<String>,
    /// The fields kept, when the obligation covers only some of the record (a retention rule by
    /// category): its other personal fields were erased now. Empty: the whole record was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The legal holds keeping them (their erasure runs when the last is released). Empty: no
    /// hold, the reason is another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<i64>,
}

/// Which of a collection's personal fields a planned change sets.
#[derive(Debug, Clone, Copy)]
enum FieldSet<'a> {
    /// Every personal field with an erasure strategy.
    All,
    /// All but these (kept by statutory retention, for now).
    Except(&'a [String]),
    /// Only these (kept until now).
    Only(&'a [String]),
}

impl FieldSet<'_> {
    fn includes(&self, field: &str) -> bool {
        match self {
            FieldSet::All => true,
            FieldSet::Except(kept) => !kept.iter().any(|k| k == field),
            FieldSet::Only(these) => these.iter().any(|k| k == field),
        }
    }
}

/// Everything an erasure did, by datastore and collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErasureResult {
    pub erased: BTreeMap<String, Erased>,
    pub kept: Vec<Kept>,
    pub manual_tasks: Vec<crate::ManualTask>,
    /// Processor-role datastores, not changed: the request is passed to their controller.
    pub routed_to_controller: Vec<crate::Routed>,
    /// Datastores whose transaction failed and was rolled back, with the reason. Other datastores'
    /// changes stand: the request is incomplete and must be retried.
    pub failed: Vec<(String, String)>,
}

/// Everything an erasure decides before it changes anything: per datastore the row changes to
/// make, the rows kept and why, the manual tasks and the datastores routed to their controller.
///
/// A plan is made once ([`plan_erasure`]) and applied one datastore at a time
/// ([`apply_datastore`]), so that a run interrupted after some datastores committed can finish the
/// others from the stored plan: re-planning could not, since the values that led from one datastore
/// to the next (an email leading to a customer id) are erased by then.
///
/// It serialises (serde) so that it can be stored between attempts. **It holds personal data**: the
/// key values of the rows to change (a primary key, or a whole row where no key is declared) and the
/// values they are set to (a keyed hash of an email). Whoever stores it must delete it when the
/// request completes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErasurePlan {
    /// Row changes by datastore key; only datastores with something to change appear.
    pub datastores: BTreeMap<String, DatastorePlan>,
    /// Rows found but deliberately not erased, and why.
    pub kept: Vec<Kept>,
    pub manual_tasks: Vec<crate::ManualTask>,
    /// Processor-role datastores, not changed: the request is passed to their controller.
    pub routed_to_controller: Vec<crate::Routed>,
    /// The row changes held back (by a legal hold, or statutory retention with a known end),
    /// decided now so that they can be applied later: by then, the records that led to these rows
    /// may be erased. Not applied by [`apply_datastore`] on this plan: see [`DeferredPlan`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<DeferredPlan>,
    /// For a rectification ([`crate::plan_rectification`], which plans its corrections as the
    /// same row changes): the attributes to correct that none of the person's records holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_found: Vec<String>,
}

/// A held-back part of an erasure: the row changes to make once the legal holds in `holds` are
/// released and `due_on` has come. **It holds personal data**, like [`ErasurePlan`]: whoever
/// stores it must delete it once applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeferredPlan {
    /// The legal holds covering these rows when planned (empty: statutory retention only).
    #[serde(default)]
    pub holds: Vec<i64>,
    /// The day (`YYYY-MM-DD`) statutory retention of these rows ends, when one keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<String>,
    /// Row changes by datastore key, as in [`ErasurePlan::datastores`].
    pub datastores: BTreeMap<String, DatastorePlan>,
}

impl DeferredPlan {
    /// The collections (`datastore.collection`) it changes.
    pub fn collections(&self) -> Vec<String> {
        self.datastores
            .iter()
            .flat_map(|(ds, plan)| plan.collections.keys().map(move |c| format!("{ds}.{c}")))
            .collect()
    }

    /// A plan of these changes alone, to apply with [`apply_datastore`] (same rules as the main
    /// plan: one transaction per datastore, each change matching exactly one row, re-application
    /// detected).
    pub fn to_plan(&self) -> ErasurePlan {
        ErasurePlan {
            datastores: self.datastores.clone(),
            ..ErasurePlan::default()
        }
    }
}

/// One datastore's part of an [`ErasurePlan`], applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatastorePlan {
    /// By collection key in the map, in the order they are applied.
    pub collections: BTreeMap<String, CollectionPlan>,
}

/// The changes planned in one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionPlan {
    /// The collection's Redis key pattern, when it declares one (else its key in the map).
    pub table: String,
    /// True when rows are deleted rather than masked.
    pub deleted: bool,
    /// The fields masked (empty when rows are deleted).
    pub fields: Vec<String>,
    /// One entry per row, each of which must match exactly one row.
    pub rows: Vec<PlannedRow>,
    /// For `http` datastores: one erase call per record, made in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<crate::http::HttpCall>,
}

/// One row to change, found by its key fields' values as they were when planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// Fields that identify the row, with their values (the primary key, a Redis key pattern's
    /// placeholders, or every non-null value when the collection declares no key).
    pub key: Vec<(String, String)>,
    pub change: PlannedChange,
    /// True when the row already held the erased values when planned (a name that was already
    /// NULL): such a change is applied (it matches its row) but proves nothing about whether the
    /// datastore was applied before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noop: bool,
}

/// What to do to a planned row. The values set are literal, computed when planning (a random
/// replacement is drawn once), so applying the same plan twice writes the same values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedChange {
    /// Delete the row (or Redis key).
    Delete,
    /// Set these fields (`None` is NULL, or removal of a Redis hash field).
    Set(Vec<(String, Option<String>)>),
}

impl ErasurePlan {
    /// The datastores to change, in the order [`erase_with`] applies them.
    pub fn datastore_keys(&self) -> impl Iterator<Item = &str> {
        self.datastores.keys().map(String::as_str)
    }

    /// What applying `datastore` changes, by `datastore.collection`, as planned: one row per
    /// planned change. For reporting a datastore found already applied ([`RequestError::AlreadyApplied`]).
    pub fn planned(&self, datastore: &str) -> BTreeMap<String, Erased> {
        self.datastores
            .get(datastore)
            .map(|ds| {
                ds.collections
                    .iter()
                    .map(|(key, c)| {
                        (
                            format!("{datastore}.{key}"),
                            Erased {
                                rows: (c.rows.len() + c.calls.len()) as u64,
                                deleted: c.deleted,
                                fields: c.fields.clone(),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The result of the whole erasure from what each datastore's application reported
    /// (`erased`, by `datastore.collection`) and the datastores that failed. Collections where
    /// nothing changed are left out.
    pub fn result(
        &self,
        erased: BTreeMap<String, Erased>,
        failed: Vec<(String, String)>,
    ) -> ErasureResult {
        ErasureResult {
            erased: erased.into_iter().filter(|(_, e)| e.rows > 0).collect(),
            kept: self.kept.clone(),
            manual_tasks: self.manual_tasks.clone(),
            routed_to_controller: self.routed_to_controller.clone(),
            failed,
        }
    }
}

/// Erases every record of the person identified by `identities`.
///
/// Rows are addressed by their primary key (or a Redis key pattern's placeholders; without either,
/// by all their values), and each change must match exactly one row. Before anything changes, every
/// personal field must have a strategy; otherwise the request
/// fails with the list of what is missing. Rows reached only by reference (an address) are erased
/// only when no other record refers to them; otherwise they are kept and reported.
pub async fn erase(
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    options: &ErasureOptions,
) -> Result<ErasureResult, RequestError> {
    erase_with(
        &mut Connections::default(),
        map,
        identities,
        url_of,
        options,
    )
    .await
}

/// [`erase`] on connections kept across requests: [`plan_erasure`], then [`apply_datastore`] for
/// each datastore of the plan. A datastore whose transaction fails is rolled back and listed in
/// [`ErasureResult::failed`]; the others' changes stand.
pub async fn erase_with(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    options: &ErasureOptions,
) -> Result<ErasureResult, RequestError> {
    let plan = plan_erasure(connections, map, identities, url_of, options).await?;
    let mut erased = BTreeMap::new();
    let mut failed = Vec::new();
    for datastore in plan.datastores.keys() {
        match apply_datastore(connections, map, &plan, datastore, url_of).await {
            Ok(done) => erased.extend(done),
            Err(RequestError::Connector { source, .. }) => {
                failed.push((datastore.clone(), error_chain(&source)));
            }
            Err(RequestError::Http { source, .. }) => {
                failed.push((datastore.clone(), error_chain(&source)));
            }
            Err(e @ RequestError::AlreadyApplied { .. }) => {
                failed.push((datastore.clone(), e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(plan.result(erased, failed))
}

/// An error and its causes in one line, each thing said once (database errors often repeat their
/// cause's text).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.contains(&text) {
            reason.push_str(&format!(": {text}"));
        }
        source = s.source();
    }
    reason
}

/// Decides everything an erasure of the person identified by `identities` does, changing nothing:
/// finds their rows across the datastores, applies the rules on shared rows and statutory
/// retention, and computes each row's erased values. Fails with [`RequestError::CannotErase`]
/// when a personal field has no strategy (or `keyed_hash` has no key), and when a datastore the
/// person's data may be in is unreachable. See [`erase`] for the rules.
pub async fn plan_erasure(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    options: &ErasureOptions,
) -> Result<ErasurePlan, RequestError> {
    let mut collected = collect(connections, map, identities, url_of).await?;
    let catalog = Catalog::new(map);
    let mut plan = ErasurePlan {
        manual_tasks: std::mem::take(&mut collected.manual_tasks),
        routed_to_controller: std::mem::take(&mut collected.routed),
        ..ErasurePlan::default()
    };
    let mut problems: Vec<String> = Vec::new();
    let mut rows: Vec<(CollectionRef, FoundRows)> = collected.rows.into_iter().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    // Rows held back, by (holds covering them, day their retention ends).
    type DeferKey = (Vec<i64>, Option<time::Date>);
    // A row held back, and the only fields to change later (`None`: the whole row's).
    type HeldRow = (CollectionRef, Vec<Option<String>>, Option<Vec<String>>);
    let mut deferred_rows: BTreeMap<DeferKey, Vec<HeldRow>> = BTreeMap::new();

    for (coll_ref, found) in &rows {
        let Some(coll) = collection(map, coll_ref) else {
            continue;
        };
        let fields: Vec<&String> = coll.fields.keys().collect();
        if !coll.fields.values().any(|f| catalog.field_is_personal(f)) || found.is_empty() {
            continue;
        }
        // Which rows to change: the person's own, and references nobody else holds.
        let mut targets: Vec<&Vec<Option<String>>> = Vec::new();
        let mut shared = 0;
        for (row, owned) in found {
            if *owned
                || !referenced_by_others(map, coll_ref, row, &fields, &rows, connections, url_of)
                    .await?
            {
                targets.push(row);
            } else {
                shared += 1;
            }
        }
        if shared > 0 {
            plan.kept.push(Kept {
                collection: coll_ref.to_string(),
                rows: shared,
                reason: "also referenced by records of other people".to_owned(),
                ..Kept::default()
            });
        }
        // Legal holds covering this collection keep every row of it; statutory retention (a rule
        // with a statutory minimum covering this collection or one of its fields' categories) keeps
        // rows until the period ends. Kept rows are left as they are now; their changes are planned
        // into a deferred part when they can run later by themselves (a hold's release, or a
        // retention period's known end).
        let here = coll_ref.to_string();
        let held: Vec<&HoldScope> = options.holds.iter().filter(|h| h.covers(&here)).collect();
        let held_ids: Vec<i64> = held.iter().map(|h| h.id).collect();
        let statutory = statutory_rules(map, coll_ref, coll);
        let mut now_rows: Vec<&Vec<Option<String>>> = Vec::new();
        let mut held_rows = 0;
        let mut exempt = 0;
        let mut exempt_until: Option<time::Date> = None;
        let mut exempt_reasons: Vec<String> = Vec::new();
        let mut deferred_until: Option<time::Date> = None;
        // The personal fields an erasure changes here (a delete_row collection changes the row).
        let erasable: Vec<&String> = erasable_fields(&catalog, coll);
        // Rows of which statutory retention keeps only some fields, by those fields: the rest of
        // each is erased now.
        let mut partly: BTreeMap<Vec<String>, Vec<&Vec<Option<String>>>> = BTreeMap::new();
        let mut partly_reasons: Vec<String> = Vec::new();
        let mut partly_until: Option<time::Date> = None;
        let mut partly_deferred: Option<time::Date> = None;
        for row in targets {
            let mut retained = false;
            let mut open_ended = false;
            let mut row_until: Option<time::Date> = None;
            // The fields the running rules keep; `None` once one keeps the whole record.
            let mut kept_fields: Option<Vec<String>> = Some(Vec::new());
            let mut reasons: Vec<&str> = Vec::new();
            for rule in &statutory {
                let until = rule.until(row, &fields);
                let running = match (until, options.today) {
                    (Some(until), Some(today)) => until > today,
                    _ => true,
                };
                if running {
                    retained = true;
                    reasons.push(&rule.reason);
                    match (&mut kept_fields, &rule.fields) {
                        (Some(kept), Some(covered)) => {
                            for f in covered {
                                if !kept.contains(f) {
                                    kept.push(f.clone());
                                }
                            }
                        }
                        _ => kept_fields = None,
                    }
                    match until {
                        Some(u) => row_until = Some(row_until.map_or(u, |r: time::Date| r.max(u))),
                        None => open_ended = true,
                    }
                }
            }
            // The day the retention of this row ends, when every rule keeping it says.
            let due = if open_ended { None } else { row_until };
            // Only some fields kept, and others to erase now: not when the row is deleted whole,
            // nor through an `http` erase call (which erases the whole record).
            let partial = kept_fields.filter(|kept| {
                !coll
                    .fields
                    .values()
                    .any(|f| f.erasure == Some(Erasure::DeleteRow))
                    && !crate::http::is_http(map, &coll_ref.datastore)
                    && erasable.iter().any(|f| !kept.contains(*f))
            });
            if held.is_empty()
                && retained
                && let Some(mut kept) = partial
            {
                kept.sort();
                for reason in reasons {
                    if !partly_reasons.iter().any(|r| r == reason) {
                        partly_reasons.push(reason.to_owned());
                    }
                }
                if let Some(u) = row_until {
                    partly_until = Some(partly_until.map_or(u, |e: time::Date| e.max(u)));
                }
                if let Some(d) = due {
                    partly_deferred = Some(partly_deferred.map_or(d, |e: time::Date| e.max(d)));
                    deferred_rows
                        .entry((Vec::new(), Some(d)))
                        .or_default()
                        .push((coll_ref.clone(), row.clone(), Some(kept.clone())));
                }
                partly.entry(kept).or_default().push(row);
                continue;
            }
            if retained {
                for reason in reasons {
                    if !exempt_reasons.iter().any(|r| r == reason) {
                        exempt_reasons.push(reason.to_owned());
                    }
                }
            }
            if !held.is_empty() {
                held_rows += 1;
                // Kept with no known end after the hold: nothing to defer.
                if !(retained && due.is_none()) {
                    deferred_rows
                        .entry((held_ids.clone(), if retained { due } else { None }))
                        .or_default()
                        .push((coll_ref.clone(), row.clone(), None));
                }
            } else if retained {
                exempt += 1;
                if let Some(u) = row_until {
                    exempt_until = Some(exempt_until.map_or(u, |e: time::Date| e.max(u)));
                }
                if let Some(d) = due {
                    deferred_until = Some(deferred_until.map_or(d, |e: time::Date| e.max(d)));
                    deferred_rows
                        .entry((Vec::new(), Some(d)))
                        .or_default()
                        .push((coll_ref.clone(), row.clone(), None));
                }
            } else {
                now_rows.push(row);
            }
        }
        if held_rows > 0 {
            plan.kept.push(Kept {
                collection: here.clone(),
                rows: held_rows,
                reason: held
                    .iter()
                    .map(|h| format!("legal hold #{}: {}", h.id, h.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
                holds: held_ids.clone(),
                ..Kept::default()
            });
        }
        if exempt > 0 {
            plan.kept.push(Kept {
                collection: here,
                rows: exempt,
                reason: exempt_reasons.join("; "),
                until: exempt_until.map(|d| d.to_string()),
                deferred_until: deferred_until.map(|d| d.to_string()),
                ..Kept::default()
            });
        }
        if !partly.is_empty() {
            let mut kept_fields: Vec<String> = partly.keys().flatten().cloned().collect();
            kept_fields.sort();
            kept_fields.dedup();
            plan.kept.push(Kept {
                collection: coll_ref.to_string(),
                rows: partly.values().map(Vec::len).sum(),
                reason: partly_reasons.join("; "),
                until: partly_until.map(|d| d.to_string()),
                deferred_until: partly_deferred.map(|d| d.to_string()),
                fields: kept_fields,
                ..Kept::default()
            });
            for (kept, rows) in &partly {
                plan_rows(
                    &mut plan,
                    map,
                    &catalog,
                    coll_ref,
                    coll,
                    rows,
                    FieldSet::Except(kept),
                    options,
                    &mut problems,
                );
            }
        }
        if !now_rows.is_empty() {
            plan_rows(
                &mut plan,
                map,
                &catalog,
                coll_ref,
                coll,
                &now_rows,
                FieldSet::All,
                options,
                &mut problems,
            );
        }
    }
    // The held-back parts, one per (holds, due date), planned like the rest.
    for ((holds, due), rows) in deferred_rows {
        let mut part = ErasurePlan::default();
        type Group<'r> = (
            &'r CollectionRef,
            &'r Option<Vec<String>>,
            Vec<&'r Vec<Option<String>>>,
        );
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (coll_ref, row, only) in &rows {
            match groups
                .iter_mut()
                .find(|(c, o, _)| *c == coll_ref && *o == only)
            {
                Some((_, _, list)) => list.push(row),
                None => groups.push((coll_ref, only, vec![row])),
            }
        }
        for (coll_ref, only, targets) in &groups {
            if let Some(coll) = collection(map, coll_ref) {
                let set = match only {
                    Some(fields) => FieldSet::Only(fields),
                    None => FieldSet::All,
                };
                plan_rows(
                    &mut part,
                    map,
                    &catalog,
                    coll_ref,
                    coll,
                    targets,
                    set,
                    options,
                    &mut problems,
                );
            }
        }
        // An `http` collection without an erase call is a task for people, when the time comes.
        plan.manual_tasks
            .extend(part.manual_tasks.into_iter().map(|mut task| {
                let when = match &due {
                    Some(d) => format!("on {d}, once no legal hold stands"),
                    None => "once the legal hold is released".to_owned(),
                };
                task.instructions = Some(match task.instructions {
                    Some(text) => format!("{text} ({when})"),
                    None => when,
                });
                task
            }));
        if !part.datastores.is_empty() {
            plan.deferred.push(DeferredPlan {
                holds,
                due_on: due.map(|d| d.to_string()),
                datastores: part.datastores,
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    problems.retain(|p| seen.insert(p.clone()));
    if !problems.is_empty() {
        return Err(RequestError::CannotErase { problems });
    }
    Ok(plan)
}

/// Plans the changes to `targets` (rows of `coll_ref`, in the collection's field order) into
/// `plan`: erase calls for an `http` collection, else one [`PlannedRow`] per row.
#[allow(clippy::too_many_arguments)]
fn plan_rows(
    plan: &mut ErasurePlan,
    map: &DataMap,
    catalog: &Catalog<'_>,
    coll_ref: &CollectionRef,
    coll: &pactum_domain::model::Collection,
    targets: &[&Vec<Option<String>>],
    set: FieldSet<'_>,
    options: &ErasureOptions,
    problems: &mut Vec<String>,
) {
    let fields: Vec<&String> = coll.fields.keys().collect();
    if crate::http::is_http(map, &coll_ref.datastore) {
        crate::http::plan_calls(plan, map, coll_ref, coll, targets, problems);
        return;
    }
    let key_fields = key_fields(coll);
    let delete = coll
        .fields
        .values()
        .any(|f| f.erasure == Some(Erasure::DeleteRow));
    let masked: Vec<(&String, &Erasure)> = coll
        .fields
        .iter()
        .filter(|(k, f)| !f.primary_key && !key_fields.contains(k) && catalog.field_is_personal(f))
        .filter(|(k, _)| set.includes(k))
        .filter_map(|(k, f)| match &f.erasure {
            Some(e) => Some((k, e)),
            None => {
                if !delete {
                    problems.push(format!(
                        "`{coll_ref}.{k}` holds personal data but declares no `erasure` strategy"
                    ));
                }
                None
            }
        })
        .collect();
    if masked.iter().any(|(_, e)| **e == Erasure::KeyedHash)
        && options.hash_key.is_none()
        && !delete
    {
        problems.push(format!(
            "`{coll_ref}` uses keyed_hash, but no hash key was given"
        ));
    }
    let planned = plan
        .datastores
        .entry(coll_ref.datastore.clone())
        .or_default()
        .collections
        .entry(coll_ref.collection.clone())
        .or_default();
    planned.table = coll
        .key
        .clone()
        .unwrap_or_else(|| coll_ref.collection.clone());
    planned.deleted = delete;
    if !delete {
        // Rows planned in several calls (some partly kept) report every field changed.
        for (k, _) in &masked {
            if !planned.fields.contains(k) {
                planned.fields.push((*k).clone());
            }
        }
    }
    for row in targets {
        let value_of = |name: &str| value_in(&fields, row, name);
        let key = row_key(&fields, &key_fields, row);
        let (change, noop) = if delete {
            (PlannedChange::Delete, false)
        } else {
            let set: Vec<(String, Option<String>)> = masked
                .iter()
                .map(|(k, e)| ((*k).clone(), mask(e, value_of(k).as_deref(), options)))
                .collect();
            let noop = set.iter().all(|(k, v)| *v == value_of(k));
            (PlannedChange::Set(set), noop)
        };
        planned.rows.push(PlannedRow { key, change, noop });
    }
}

/// The personal fields of `coll` an erasure changes one by one: not keys, not a Redis key
/// pattern's placeholders.
fn erasable_fields<'c>(
    catalog: &Catalog<'_>,
    coll: &'c pactum_domain::model::Collection,
) -> Vec<&'c String> {
    let keys = key_fields(coll);
    coll.fields
        .iter()
        .filter(|(k, f)| !f.primary_key && !keys.contains(k) && catalog.field_is_personal(f))
        .map(|(k, _)| k)
        .collect()
}

/// The fields a row of `coll` is addressed by: its primary key, or its Redis key pattern's
/// placeholders; empty when it declares neither (a row is then found by all its values).
pub(crate) fn key_fields(coll: &pactum_domain::model::Collection) -> Vec<&String> {
    match &coll.key {
        Some(pattern) => coll
            .fields
            .keys()
            .filter(|f| pattern.contains(&format!("{{{f}}}")))
            .collect(),
        None => coll
            .fields
            .iter()
            .filter(|(_, f)| f.primary_key)
            .map(|(k, _)| k)
            .collect(),
    }
}

/// The value of field `name` in `row` (values in `fields` order).
pub(crate) fn value_in(fields: &[&String], row: &[Option<String>], name: &str) -> Option<String> {
    fields
        .iter()
        .position(|f| *f == name)
        .and_then(|i| row.get(i).cloned().flatten())
}

/// How a planned change finds `row`: its key fields' values, or, without a declared key, every
/// non-null value (the change must still match exactly one row, so duplicates fail loudly
/// instead of being half-changed).
pub(crate) fn row_key(
    fields: &[&String],
    key_fields: &[&String],
    row: &[Option<String>],
) -> Vec<(String, String)> {
    if key_fields.is_empty() {
        fields
            .iter()
            .filter_map(|f| value_in(fields, row, f).map(|v| ((*f).clone(), v)))
            .collect()
    } else {
        key_fields
            .iter()
            .map(|f| ((*f).clone(), value_in(fields, row, f).unwrap_or_default()))
            .collect()
    }
}

/// Applies `plan`'s changes in `datastore`, all in one transaction, and reports what changed by
/// `datastore.collection`. Each change must match exactly one row, or nothing of the datastore
/// changes ([`RequestError::Connector`]). A datastore the plan does not change gives an empty map.
///
/// Re-application (a run that died after the datastore committed but before its caller recorded
/// it as done) is detected before anything is written: when every planned change is already in
/// effect (each deleted row is gone and each masked row holds exactly its planned values, at least
/// one of which it did not hold when planned), nothing is written and the result is
/// [`RequestError::AlreadyApplied`]; the caller decides whether that counts as done (a checkpointed
/// run does: [`ErasurePlan::planned`] gives the counts). Where that cannot be seen (a value the
/// database gives back in another text form, a Redis key pattern with several placeholders), a
/// masked row is written again with the same literal values (no change in effect), and a deleted
/// row matches nothing, so the transaction rolls back and the error says so: a re-application
/// never silently reports rows it did not change.
pub async fn apply_datastore(
    connections: &mut Connections,
    map: &DataMap,
    plan: &ErasurePlan,
    datastore: &str,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<BTreeMap<String, Erased>, RequestError> {
    if crate::http::is_http(map, datastore) {
        return crate::http::apply(connections, map, plan, datastore, url_of).await;
    }
    let Some(ds_plan) = plan.datastores.get(datastore) else {
        return Ok(BTreeMap::new());
    };
    let store = connections.get(map, datastore, url_of).await?;
    let connector = |source| RequestError::Connector {
        datastore: datastore.to_owned(),
        source,
    };
    if already_applied(store, ds_plan).await.map_err(connector)? {
        return Err(RequestError::AlreadyApplied {
            datastore: datastore.to_owned(),
        });
    }
    let mut ops: Vec<RowErasure> = Vec::new();
    let mut owners: Vec<&str> = Vec::new();
    for (key, coll) in &ds_plan.collections {
        let table = table_name(store, key, coll);
        for row in &coll.rows {
            ops.push(RowErasure {
                collection: table.to_owned(),
                key: row.key.clone(),
                change: match &row.change {
                    PlannedChange::Delete => RowChange::Delete,
                    PlannedChange::Set(set) => RowChange::Set(set.clone()),
                },
            });
            owners.push(key);
        }
    }
    let counts = store.erase(&ops).await.map_err(connector)?;
    let mut erased: BTreeMap<String, Erased> = ds_plan
        .collections
        .iter()
        .map(|(key, c)| {
            (
                format!("{datastore}.{key}"),
                Erased {
                    rows: 0,
                    deleted: c.deleted,
                    fields: c.fields.clone(),
                },
            )
        })
        .collect();
    for (key, n) in owners.into_iter().zip(counts) {
        if let Some(e) = erased.get_mut(&format!("{datastore}.{key}")) {
            e.rows += n;
        }
    }
    Ok(erased)
}

/// The name a planned collection goes by in its datastore (see [`crate::collection_name`]).
fn table_name<'a>(store: &Datastore, key: &'a str, coll: &'a CollectionPlan) -> &'a str {
    match store {
        Datastore::Redis(_) => &coll.table,
        Datastore::Sql(_) => key,
    }
}

/// True when every planned change of the datastore is already in effect and at least one of them
/// was not in effect when planned. Reads each planned collection once (its rows by one key field).
async fn already_applied(
    store: &mut Datastore,
    plan: &DatastorePlan,
) -> Result<bool, ConnectorError> {
    let mut any_change = false;
    for (key, coll) in &plan.collections {
        if coll.rows.is_empty() {
            continue;
        }
        any_change |= coll.rows.iter().any(|r| !r.noop);
        // The field to look rows up by: a key field no change sets, the same for every row.
        let set_fields = |row: &PlannedRow| match &row.change {
            PlannedChange::Delete => Vec::new(),
            PlannedChange::Set(set) => set.iter().map(|(f, _)| f.clone()).collect(),
        };
        let anchor = coll.rows.iter().try_fold(None::<String>, |acc, row| {
            let set = set_fields(row);
            let candidate = row
                .key
                .iter()
                .find(|(f, _)| !set.contains(f))
                .map(|(f, _)| f.clone())?;
            match acc {
                Some(a) if a != candidate => None,
                _ => Some(Some(candidate)),
            }
        });
        let Some(Some(anchor)) = anchor else {
            return Ok(false);
        };
        if matches!(store, Datastore::Redis(_)) && coll.rows.iter().any(|r| r.key.len() != 1) {
            // A lookup by one placeholder of several would not find the key.
            return Ok(false);
        }
        let mut fields: Vec<String> = Vec::new();
        for row in &coll.rows {
            for f in row
                .key
                .iter()
                .map(|(f, _)| f.clone())
                .chain(set_fields(row))
            {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
        }
        let values: Vec<String> = coll
            .rows
            .iter()
            .filter_map(|r| {
                r.key
                    .iter()
                    .find(|(f, _)| *f == anchor)
                    .map(|(_, v)| v.clone())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let table = table_name(store, key, coll).to_owned();
        let found = store.find(&table, &fields, &anchor, &values).await?;
        let cell = |row: &[Option<String>], name: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .and_then(|i| row.get(i).cloned().flatten())
        };
        for row in &coll.rows {
            let set = set_fields(row);
            let matching: Vec<&Vec<Option<String>>> = found
                .iter()
                .filter(|r| {
                    row.key
                        .iter()
                        .filter(|(f, _)| !set.contains(f))
                        .all(|(f, v)| cell(r, f).as_deref() == Some(v.as_str()))
                })
                .collect();
            let in_effect = match &row.change {
                PlannedChange::Delete => matching.is_empty(),
                PlannedChange::Set(values) => {
                    matching.len() == 1 && values.iter().all(|(f, v)| cell(matching[0], f) == *v)
                }
            };
            if !in_effect {
                return Ok(false);
            }
        }
    }
    Ok(any_change)
}

/// True when some row outside the person's own refers to `row` of `target` through a declared
/// reference (another customer shipping to the same address).
pub(crate) async fn referenced_by_others(
    map: &DataMap,
    target: &CollectionRef,
    row: &[Option<String>],
    fields: &[&String],
    found: &[(CollectionRef, FoundRows)],
    connections: &mut Connections,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<bool, RequestError> {
    let catalog = Catalog::new(map);
    for (ds_key, ds) in &map.datastores {
        for (c_key, coll) in &ds.collections {
            for (f_key, field) in &coll.fields {
                for r in &field.references {
                    let Some(loc) = catalog.resolve_field(ds_key, r) else {
                        continue;
                    };
                    if loc.datastore != target.datastore || loc.collection != target.collection {
                        continue;
                    }
                    let Some(i) = fields.iter().position(|f| *f == loc.field) else {
                        continue;
                    };
                    let Some(value) = row[i].clone() else {
                        continue;
                    };
                    // A datastore we cannot open might hold references: keep the row.
                    let Ok(store) = connections.get(map, ds_key, url_of).await else {
                        return Ok(true);
                    };
                    let referrer_fields: Vec<String> = coll.fields.keys().cloned().collect();
                    let name = super::collection_name(store, c_key, coll);
                    let referrers = store
                        .find(name, &referrer_fields, f_key, &[value])
                        .await
                        .map_err(|source| RequestError::Connector {
                            datastore: ds_key.clone(),
                            source,
                        })?;
                    let ours = found
                        .iter()
                        .find(|(c, _)| c.datastore == *ds_key && c.collection == *c_key);
                    for referrer in referrers {
                        let is_ours =
                            ours.is_some_and(|(_, rows)| rows.get(&referrer) == Some(&true));
                        if !is_ours {
                            return Ok(true);
                        }
                    }
                }
            }
        }
    }
    Ok(false)
}

/// The masked value of one field under its strategy (`None` is NULL).
fn mask(strategy: &Erasure, value: Option<&str>, options: &ErasureOptions) -> Option<String> {
    let value = value?;
    match strategy {
        Erasure::Nullify | Erasure::DeleteRow => None,
        Erasure::Fixed(s) => Some(s.clone()),
        Erasure::KeyedHash => {
            let key = options.hash_key.as_deref().unwrap_or_default();
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
            mac.update(value.as_bytes());
            Some(hex::encode(mac.finalize().into_bytes()))
        }
        Erasure::Random => Some(random_like(value)),
        Erasure::TruncateDate => Some(truncate_date(value)),
    }
}

/// Random text of the same length and kind: digits for digits, letters for letters.
fn random_like(value: &str) -> String {
    let mut bytes = vec![0u8; value.chars().count()];
    // The OS random source failing is not recoverable; fall back to zeros rather than keep the value.
    let _ = getrandom::fill(&mut bytes);
    value
        .chars()
        .zip(bytes)
        .map(|(c, b)| {
            if c.is_ascii_digit() {
                char::from(b'0' + b % 10)
            } else if c.is_alphabetic() {
                char::from(b'a' + b % 26)
            } else {
                c
            }
        })
        .collect()
}

/// Keeps only the year: `1990-02-03` -> `1990-01-01`, `2020-04-01 11:47:42` -> `2020-01-01 00:00:00`.
fn truncate_date(value: &str) -> String {
    let year = value
        .get(..4)
        .filter(|y| y.chars().all(|c| c.is_ascii_digit()));
    match year {
        Some(y) if value.len() > 10 => format!("{y}-01-01 00:00:00"),
        Some(y) => format!("{y}-01-01"),
        None => String::new(),
    }
}

/// A retention rule with a statutory minimum that covers a collection.
struct Statutory {
    /// "statutory retention: <law> requires <period> from <event>".
    reason: String,
    period: Option<pactum_domain::period::Period>,
    /// The record's date field the period counts from, when the rule names one in this collection.
    date_field: Option<String>,
    /// The fields it keeps: `None` for the whole record (a rule naming the collection), else the
    /// personal fields whose categories the rule covers.
    fields: Option<Vec<String>>,
}

impl Statutory {
    /// The day the obligation ends for `row`, when the rule counts from one of its date fields.
    fn until(&self, row: &[Option<String>], fields: &[&String]) -> Option<time::Date> {
        let field = self.date_field.as_deref()?;
        let value = fields
            .iter()
            .position(|f| *f == field)
            .and_then(|i| row[i].clone())?;
        let date = parse_date(&value)?;
        Some(self.period?.after(date))
    }
}

/// `2021-03-04` or `2021-03-04 10:00:00` (the date part).
fn parse_date(text: &str) -> Option<time::Date> {
    let (y, rest) = text.get(..10)?.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// The statutory rules covering `coll`: by collection (`datastore.collection`), or by a category of
/// one of its personal fields (a rule on `user.financial` covers `user.financial.bank_account`).
fn statutory_rules(
    map: &DataMap,
    at: &CollectionRef,
    coll: &pactum_domain::model::Collection,
) -> Vec<Statutory> {
    use pactum_domain::model::RetentionEvent;
    use pactum_domain::taxonomy::is_same_or_descendant;
    let here = format!("{}.{}", at.datastore, at.collection);
    let catalog = Catalog::new(map);
    map.retention
        .values()
        .filter_map(|rule| {
            let minimum = rule.statutory_minimum.as_ref()?;
            let by_collection = rule.applies_to.collections.contains(&here);
            let covered: Vec<String> = coll
                .fields
                .iter()
                .filter(|(_, f)| catalog.field_is_personal(f))
                .filter(|(_, f)| {
                    f.categories.iter().any(|c| {
                        rule.applies_to
                            .categories
                            .iter()
                            .any(|r| is_same_or_descendant(c, r))
                    })
                })
                .map(|(k, _)| k.clone())
                .collect();
            if !by_collection && covered.is_empty() {
                return None;
            }
            let period = pactum_domain::period::Period::parse(&minimum.period).ok();
            let date_field = match &rule.from {
                RetentionEvent::Field(f) => catalog
                    .resolve_field(&at.datastore, f)
                    .filter(|loc| loc.datastore == at.datastore && loc.collection == at.collection)
                    .map(|loc| loc.field.to_owned()),
                _ => None,
            };
            let event = match &rule.from {
                RetentionEvent::Creation => "creation".to_owned(),
                RetentionEvent::LastContact => "the last contact".to_owned(),
                RetentionEvent::RelationshipEnd => "the end of the relationship".to_owned(),
                RetentionEvent::AccountClosure => "the account's closure".to_owned(),
                RetentionEvent::Field(f) => format!("`{f}`"),
            };
            Some(Statutory {
                fields: (!by_collection).then_some(covered),
                reason: format!(
                    "statutory retention: {} requires {} from {event}",
                    minimum.law, minimum.period
                ),
                period,
                date_field,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_mask_values() {
        let opts = ErasureOptions {
            hash_key: Some(b"key".to_vec()),
            today: None,
            holds: Vec::new(),
        };
        assert_eq!(mask(&Erasure::Nullify, Some("ada"), &opts), None);
        assert_eq!(
            mask(&Erasure::Fixed("[erased]".into()), Some("ada"), &opts),
            Some("[erased]".into())
        );
        let h1 = mask(&Erasure::KeyedHash, Some("ada@example.com"), &opts).expect("hash");
        let h2 = mask(&Erasure::KeyedHash, Some("ada@example.com"), &opts).expect("hash");
        assert_eq!(
            (h1.len(), h1 == h2),
            (64, true),
            "keyed hash is stable, so joins still work"
        );
        assert_ne!(
            h1,
            mask(&Erasure::KeyedHash, Some("bob@example.com"), &opts).expect("hash")
        );
        let r = mask(&Erasure::Random, Some("AB-1234"), &opts).expect("random");
        assert_eq!(r.len(), 7);
        assert_eq!(&r[2..3], "-");
        assert!(r[3..].chars().all(|c| c.is_ascii_digit()));
        assert_eq!(truncate_date("1990-02-03"), "1990-01-01");
        assert_eq!(truncate_date("2020-04-01 11:47:42"), "2020-01-01 00:00:00");
        assert_eq!(mask(&Erasure::TruncateDate, None, &opts), None);
    }
}
