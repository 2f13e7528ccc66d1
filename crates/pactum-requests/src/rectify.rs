//! Rectification (GDPR Art. 16, CCPA "correct"): the corrected values a person gives, by
//! attribute (`name`, `postal_address`), written into every field of their records that declares
//! that attribute (`rectify: name` in the map).
//!
//! A rectification is planned like an erasure ([`plan_rectification`] gives an [`ErasurePlan`]
//! whose changes set the corrected values) and applied with the same [`apply_datastore`]: one
//! transaction per datastore, each change matching exactly one row, every row counted, a
//! re-application detected. Rows reached only by reference (an address) are corrected only when
//! nobody else's record refers to them; a shared one is kept and reported, since correcting it
//! would change someone else's data. `http` datastores declare no update call: their fields to
//! correct come back as manual tasks.

use std::collections::{BTreeMap, BTreeSet};

use pactum_domain::model::{DataMap, IdentityKind};
use pactum_domain::traversal::CollectionRef;

use crate::erasure::{
    ErasurePlan, ErasureResult, Kept, PlannedChange, PlannedRow, apply_datastore, key_fields,
    referenced_by_others, row_key, value_in,
};
use crate::{Connections, FoundRows, ManualTask, RequestError, collect, collection};

/// The corrections a person asked for: attribute (a field's `rectify` name) to corrected value.
pub type Corrections = BTreeMap<String, String>;

/// Longest corrected value accepted, in characters.
pub const MAX_CORRECTION_CHARS: usize = 500;

/// Checks `corrections` against the attributes the map lets people correct: none empty, none
/// unknown, none too long, no control characters.
fn check_corrections(map: &DataMap, corrections: &Corrections) -> Result<(), RequestError> {
    let offered = map.rectifiable();
    let mut problems = Vec::new();
    if corrections.is_empty() {
        problems.push("no correction was given".to_owned());
    }
    for (attribute, value) in corrections {
        if !offered.contains(&attribute.as_str()) {
            problems.push(format!(
                "`{attribute}` is not something the data map lets people correct (it offers: {})",
                if offered.is_empty() {
                    "nothing".to_owned()
                } else {
                    offered.join(", ")
                }
            ));
        }
        let chars = value.chars().count();
        if value.trim().is_empty() || chars > MAX_CORRECTION_CHARS {
            problems.push(format!(
                "the corrected `{attribute}` must be 1 to {MAX_CORRECTION_CHARS} characters"
            ));
        }
        if value.chars().any(char::is_control) {
            problems.push(format!(
                "the corrected `{attribute}` holds control characters"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RequestError::CannotRectify { problems })
    }
}

/// Decides every change a rectification makes, changing nothing: finds the person's records, and
/// in each collection with fields declaring a corrected attribute, plans those fields set to the
/// corrected values on each of the person's rows. Fails with [`RequestError::CannotRectify`] when
/// a correction names an attribute the map does not offer (or is empty or too long), before any
/// datastore is read. Attributes none of the person's records hold are listed in
/// [`ErasurePlan::not_found`].
pub async fn plan_rectification(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    corrections: &Corrections,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<ErasurePlan, RequestError> {
    check_corrections(map, corrections)?;
    let mut collected = collect(connections, map, identities, url_of).await?;
    let mut plan = ErasurePlan {
        manual_tasks: std::mem::take(&mut collected.manual_tasks),
        routed_to_controller: std::mem::take(&mut collected.routed),
        ..ErasurePlan::default()
    };
    let mut rows: Vec<(CollectionRef, FoundRows)> = collected.rows.into_iter().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for (coll_ref, found) in &rows {
        let Some(coll) = collection(map, coll_ref) else {
            continue;
        };
        let keys = key_fields(coll);
        // The fields to correct here, with their new values (never a key: see the map checks).
        let corrected: Vec<(&String, &str, &String)> = coll
            .fields
            .iter()
            .filter(|(k, _)| !keys.contains(k))
            .filter_map(|(k, f)| {
                let attribute = f.rectify.as_deref()?;
                let (name, value) = corrections.get_key_value(attribute)?;
                Some((k, name.as_str(), value))
            })
            .collect();
        if corrected.is_empty() || found.is_empty() {
            continue;
        }
        matched.extend(corrected.iter().map(|(_, attribute, _)| *attribute));
        if crate::http::is_http(map, &coll_ref.datastore) {
            let names: Vec<&str> = corrected.iter().map(|(k, _, _)| k.as_str()).collect();
            plan.manual_tasks.push(ManualTask {
                datastore: coll_ref.datastore.clone(),
                instructions: Some(format!(
                    "correct {} of the person's {} record(s) in `{coll_ref}` (its API declares no update call)",
                    names.join(", "),
                    found.len()
                )),
            });
            continue;
        }
        let fields: Vec<&String> = coll.fields.keys().collect();
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
                reason:
                    "also referenced by records of other people: correcting it would change theirs"
                        .to_owned(),
                ..Kept::default()
            });
        }
        if targets.is_empty() {
            continue;
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
        planned.fields = corrected.iter().map(|(k, _, _)| (*k).clone()).collect();
        for row in targets {
            let set: Vec<(String, Option<String>)> = corrected
                .iter()
                .map(|(k, _, v)| ((*k).clone(), Some((*v).clone())))
                .collect();
            let noop = set.iter().all(|(k, v)| *v == value_in(&fields, row, k));
            planned.rows.push(PlannedRow {
                key: row_key(&fields, &keys, row),
                change: PlannedChange::Set(set),
                noop,
            });
        }
    }
    plan.not_found = corrections
        .keys()
        .filter(|a| !matched.contains(a.as_str()))
        .cloned()
        .collect();
    Ok(plan)
}

/// Corrects the person's records: [`plan_rectification`], then [`apply_datastore`] for each
/// datastore. The result's `erased` lists, by collection, the rows corrected and the fields
/// written. A datastore whose transaction fails is rolled back and listed in `failed`.
pub async fn rectify(
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    corrections: &Corrections,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<(ErasureResult, Vec<String>), RequestError> {
    rectify_with(
        &mut Connections::default(),
        map,
        identities,
        corrections,
        url_of,
    )
    .await
}

/// [`rectify`] on connections kept across requests. Also returns the attributes no record held.
pub async fn rectify_with(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    corrections: &Corrections,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<(ErasureResult, Vec<String>), RequestError> {
    let plan = plan_rectification(connections, map, identities, corrections, url_of).await?;
    let mut written = BTreeMap::new();
    let mut failed = Vec::new();
    for datastore in plan.datastores.keys() {
        match apply_datastore(connections, map, &plan, datastore, url_of).await {
            Ok(done) => written.extend(done),
            Err(e @ (RequestError::Connector { .. } | RequestError::AlreadyApplied { .. })) => {
                failed.push((datastore.clone(), crate::erasure::error_chain(&e)));
            }
            Err(e) => return Err(e),
        }
    }
    let not_found = plan.not_found.clone();
    Ok((plan.result(written, failed), not_found))
}
