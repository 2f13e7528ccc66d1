//! Data-subject requests executed across the organisation's datastores.
//!
//! [`access`] finds every record of a person: it plans the lookups from the identities given
//! ([`pactum_domain::traversal::plan`]), then runs them through the connectors, feeding the values found
//! in one collection (a customer id) into the lookups of the next (their orders), across datastores.
//!
//! [`erase`] does the same lookups, then applies each field's erasure strategy. It is a plan
//! ([`plan_erasure`]: everything decided before anything changes, serialisable so that it can be
//! stored) applied one datastore at a time ([`apply_datastore`]: one transaction each), so that a
//! run that stops half-way can finish the remaining datastores from the stored plan.
//!
//! [`rectify`] writes the corrections a person asked for (by attribute: `name`, `postal_address`)
//! into every field of their records that declares that attribute (`rectify: name` in the map),
//! through the same plan and per-datastore transactions as erasure ([`plan_rectification`]).
//!
//! **Invariants:** a request never runs partially because a datastore was forgotten: every datastore
//! the plan needs must be reachable before the first lookup runs, and manual datastores come back as
//! tasks for a person, never as silently empty results.

#![forbid(unsafe_code)]

mod erasure;
pub mod http;
pub mod package;
pub mod recipients;
mod rectify;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use erasure::{
    CollectionPlan, DatastorePlan, DeferredPlan, Erased, ErasureOptions, ErasurePlan,
    ErasureResult, HoldScope, Kept, PlannedChange, PlannedRow, apply_datastore, erase, erase_with,
    plan_erasure,
};
pub use rectify::{Corrections, plan_rectification, rectify, rectify_with};

use pactum_connectors::{ConnectorError, Datastore};
use pactum_domain::model::{ConnectorKind, DataMap, IdentityKind, Role};
use pactum_domain::traversal::{CollectionRef, Source, plan};
use serde::{Deserialize, Serialize};

/// Why a request could not run.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no identity given")]
    NoIdentity,
    #[error("no field of the map holds any of the identities given, so no record can be found")]
    NothingReachable,
    #[error("datastore `{datastore}` cannot be reached: {reason}")]
    Unreachable { datastore: String, reason: String },
    #[error("cannot erase: {}", problems.join("; "))]
    CannotErase { problems: Vec<String> },
    #[error("cannot rectify: {}", problems.join("; "))]
    CannotRectify { problems: Vec<String> },
    /// Every change an [`ErasurePlan`] makes in this datastore is already in effect: it was
    /// applied before (see [`apply_datastore`]). Nothing was written.
    #[error(
        "datastore `{datastore}` already holds every change of the erasure plan: it was applied before, and nothing was written"
    )]
    AlreadyApplied { datastore: String },
    #[error("datastore `{datastore}` failed")]
    Connector {
        datastore: String,
        #[source]
        source: ConnectorError,
    },
    /// A call to an `http` datastore failed.
    #[error("datastore `{datastore}` failed")]
    Http {
        datastore: String,
        #[source]
        source: http::HttpError,
    },
}

/// The records found in one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Records {
    /// The collection's declared fields, in map order.
    pub fields: Vec<String>,
    /// One entry per record, values as text, in `fields` order.
    pub rows: Vec<Vec<Option<String>>>,
}

/// A manual datastore's part of a request: a person must do it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualTask {
    pub datastore: String,
    pub instructions: Option<String>,
}

/// A datastore where the organisation is a processor: the request belongs to that data's controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    pub datastore: String,
    /// The controller's key in the map (`customers` for each customer).
    pub controller: Option<String>,
}

/// Everything an access request found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccessResult {
    /// By `datastore.collection`.
    pub records: BTreeMap<String, Records>,
    pub manual_tasks: Vec<ManualTask>,
    /// Processor-role datastores, not searched: the request is passed to their controller.
    pub routed_to_controller: Vec<Routed>,
}

impl AccessResult {
    /// Number of records found, all collections together.
    pub fn record_count(&self) -> usize {
        self.records.values().map(|r| r.rows.len()).sum()
    }
}

/// The rows found in one collection: each row's values (in field order) and whether it is the
/// person's own (`true`) or only reached by reference.
pub(crate) type FoundRows = BTreeMap<Vec<Option<String>>, bool>;

/// The rows a request found, by collection, each marked owned (the person's own) or not (reached
/// by reference), plus the open connections and the manual tasks.
struct Collected {
    rows: HashMap<CollectionRef, FoundRows>,
    manual_tasks: Vec<ManualTask>,
    routed: Vec<Routed>,
}

/// Open connections to the datastores, kept across requests (a server or a batch reuses them;
/// opening a pool per request would cost more than the request). They are opened for writing,
/// since erasure and rectification change data.
#[derive(Debug, Default)]
pub struct Connections {
    stores: HashMap<String, Datastore>,
    http: http::HttpStores,
}

impl Connections {
    /// Connections whose `http` datastores take their credentials from `credential_of` (given the
    /// environment variable the map names) instead of the environment.
    pub fn with_credentials(
        credential_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Connections {
        let mut connections = Connections::default();
        connections.http.credential_of = Some(std::sync::Arc::new(credential_of));
        connections
    }

    /// The open datastore `key`, connecting on first use with the URL `url_of` gives.
    pub(crate) async fn get(
        &mut self,
        map: &DataMap,
        key: &str,
        url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<&mut Datastore, RequestError> {
        if !self.stores.contains_key(key) {
            let reason = match map
                .datastores
                .get(key)
                .and_then(|d| d.connection_env.as_ref())
            {
                Some(var) => format!("environment variable {var} is not set"),
                None => "the map names no connection_env".to_owned(),
            };
            let url = url_of(key).ok_or_else(|| RequestError::Unreachable {
                datastore: key.to_owned(),
                reason,
            })?;
            let store = Datastore::connect_as(&url, None, pactum_connectors::Mode::ReadWrite)
                .await
                .map_err(|source| RequestError::Connector {
                    datastore: key.to_owned(),
                    source,
                })?;
            self.stores.insert(key.to_owned(), store);
        }
        self.stores
            .get_mut(key)
            .ok_or_else(|| RequestError::Unreachable {
                datastore: key.to_owned(),
                reason: "the connection was lost".to_owned(),
            })
    }
}

/// Finds every record of the person identified by `identities`. `url_of` gives a datastore's
/// connection URL (from the environment variable the map names) by datastore key.
pub async fn access(
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<AccessResult, RequestError> {
    access_with(&mut Connections::default(), map, identities, url_of).await
}

/// [`access`] on connections kept across requests.
pub async fn access_with(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<AccessResult, RequestError> {
    let collected = collect(connections, map, identities, url_of).await?;
    let mut result = AccessResult {
        manual_tasks: collected.manual_tasks,
        routed_to_controller: collected.routed,
        ..AccessResult::default()
    };
    let catalog = pactum_domain::catalog::Catalog::new(map);
    for (coll_ref, found) in collected.rows {
        let Some(coll) = collection(map, &coll_ref) else {
            continue;
        };
        // Lookup tables reached on the way (the products someone ordered) are not their personal data.
        if found.is_empty() || !coll.fields.values().any(|f| catalog.field_is_personal(f)) {
            continue;
        }
        result.records.insert(
            coll_ref.to_string(),
            Records {
                fields: coll.fields.keys().cloned().collect(),
                rows: found.into_keys().collect(),
            },
        );
    }
    Ok(result)
}

fn collection<'m>(
    map: &'m DataMap,
    c: &CollectionRef,
) -> Option<&'m pactum_domain::model::Collection> {
    map.datastores
        .get(&c.datastore)
        .and_then(|d| d.collections.get(&c.collection))
}

/// The name a collection goes by in its datastore: its key pattern on a Redis connection, its key
/// in the map on a SQL one (a Redis datastore's collections served as SQL tables, as the demo does).
fn collection_name<'a>(
    store: &Datastore,
    key: &'a str,
    coll: &'a pactum_domain::model::Collection,
) -> &'a str {
    match store {
        Datastore::Redis(_) => coll.key.as_deref().unwrap_or(key),
        Datastore::Sql(_) => key,
    }
}

async fn collect(
    connections: &mut Connections,
    map: &DataMap,
    identities: &[(IdentityKind, String)],
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Collected, RequestError> {
    if identities.is_empty() {
        return Err(RequestError::NoIdentity);
    }
    let kinds: Vec<IdentityKind> = identities.iter().map(|(k, _)| *k).collect();
    let plan = plan(map, &kinds);
    if plan.steps.is_empty() {
        return Err(RequestError::NothingReachable);
    }
    // Connect to every datastore the plan needs before running anything.
    let mut manual_tasks = Vec::new();
    let mut routed = Vec::new();
    let mut reachable: BTreeSet<String> = BTreeSet::new();
    let needed: BTreeSet<&str> = plan
        .steps
        .iter()
        .map(|s| s.collection.datastore.as_str())
        .collect();
    for ds_key in needed {
        let Some(ds) = map.datastores.get(ds_key) else {
            continue;
        };
        // As a processor we act only on the controller's instructions (GDPR Art. 28(3)(e)): the
        // request goes to them, and nothing here is read or changed.
        if ds.role == Role::Processor {
            routed.push(Routed {
                datastore: ds_key.to_owned(),
                controller: ds.controller.clone(),
            });
            continue;
        }
        if ds.kind == ConnectorKind::Http && http::connects(ds) {
            connections.http.open(map, ds_key, url_of)?;
            reachable.insert(ds_key.to_owned());
            continue;
        }
        if matches!(ds.kind, ConnectorKind::Manual | ConnectorKind::Http) {
            manual_tasks.push(ManualTask {
                datastore: ds_key.to_owned(),
                instructions: ds.instructions.clone(),
            });
            continue;
        }
        connections.get(map, ds_key, url_of).await?;
        reachable.insert(ds_key.to_owned());
    }

    // Values known so far, by (collection, field); rows found so far, deduplicated, with ownership.
    let mut values: HashMap<(CollectionRef, String), BTreeSet<String>> = HashMap::new();
    let mut rows: HashMap<CollectionRef, FoundRows> = HashMap::new();
    let mut http_lookups = http::Lookups::default();
    // Lookups feed each other; repeat until nothing new is found (a handful of passes at most).
    for _pass in 0..8 {
        let mut grew = false;
        for step in &plan.steps {
            if !reachable.contains(&step.collection.datastore) {
                continue;
            }
            let wanted: Vec<String> = match &step.source {
                Source::Identity(kind) => identities
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .map(|(_, v)| v.clone())
                    .collect(),
                Source::Field { collection, field } => values
                    .get(&(collection.clone(), field.clone()))
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default(),
            };
            if wanted.is_empty() {
                continue;
            }
            let Some(coll) = collection(map, &step.collection) else {
                continue;
            };
            let fields: Vec<String> = coll.fields.keys().cloned().collect();
            let found = if http::is_http(map, &step.collection.datastore) {
                http_lookups
                    .find(&connections.http, map, step, &wanted)
                    .await?
            } else {
                let store = connections
                    .get(map, &step.collection.datastore, url_of)
                    .await?;
                let name = collection_name(store, &step.collection.collection, coll);
                store
                    .find(name, &fields, &step.field, &wanted)
                    .await
                    .map_err(|source| RequestError::Connector {
                        datastore: step.collection.datastore.clone(),
                        source,
                    })?
            };
            let known = rows.entry(step.collection.clone()).or_default();
            for row in found {
                // Only the person's own rows feed later lookups: a leaf (their address) is reported but
                // never followed, or a shared row would lead to other people's records.
                if step.owned {
                    for (f, v) in fields.iter().zip(&row) {
                        if let Some(v) = v {
                            values
                                .entry((step.collection.clone(), f.clone()))
                                .or_default()
                                .insert(v.clone());
                        }
                    }
                }
                let owned = known.entry(row).or_insert(false);
                if step.owned && !*owned {
                    *owned = true;
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    manual_tasks.extend(http_lookups.manual_tasks(map));
    Ok(Collected {
        rows,
        manual_tasks,
        routed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pactum_domain::model::{Collection, Datastore as DatastoreDef, Field};

    #[tokio::test]
    async fn processor_datastores_are_routed_to_their_controller_not_searched() {
        let mut coll = Collection::default();
        coll.fields.insert(
            "email".into(),
            Field {
                identity: Some(IdentityKind::Email),
                categories: vec!["user.contact.email".into()],
                ..Field::default()
            },
        );
        let mut map = DataMap::default();
        map.datastores.insert(
            "backups".into(),
            DatastoreDef {
                name: None,
                description: None,
                system: None,
                kind: ConnectorKind::Postgres,
                connection_env: Some("BACKUPS_URL".into()),
                instructions: None,
                role: Role::Processor,
                controller: Some("customers".into()),
                auth: None,
                collections: [("files".to_owned(), coll)].into_iter().collect(),
            },
        );
        // No URL is given: a processor datastore is never connected to.
        let result = access(
            &map,
            &[(IdentityKind::Email, "ada@example.com".into())],
            &|_| None,
        )
        .await
        .expect("routed, not failed");
        assert!(result.records.is_empty());
        assert_eq!(
            result.routed_to_controller,
            vec![Routed {
                datastore: "backups".into(),
                controller: Some("customers".into())
            }]
        );
    }
}
