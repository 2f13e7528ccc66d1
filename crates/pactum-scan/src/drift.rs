//! Drift: what the scanner found against what the data map declares.
//!
//! Three kinds of drift matter to a privacy team: personal data in places the map does not declare
//! (the map is incomplete, so requests and retention miss it), declared personal fields where nothing
//! is found (the map is stale, or the data moved), and promise violations (card numbers anywhere
//! while the map promises payment data is not stored).

use pactum_domain::model::{Collection, DataMap};
use pactum_domain::taxonomy::is_same_or_descendant;
use serde::Serialize;

use crate::column::ColumnVerdict;
use crate::kind::PiiType;

/// The verdicts of one scanned collection (table, or Redis key pattern).
#[derive(Debug, Clone)]
pub struct ScannedCollection {
    pub name: String,
    pub columns: Vec<ColumnVerdict>,
}

/// The verdicts of one scanned datastore, under its key in the map.
#[derive(Debug, Clone)]
pub struct ScannedDatastore {
    pub datastore: String,
    pub collections: Vec<ScannedCollection>,
}

/// What kind of disagreement between map and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Personal data in a collection or field the map does not declare (or declares as not personal).
    Undeclared,
    /// Personal data of a category the field does not declare.
    CategoryMismatch,
    /// A declared personal field in which the scan found nothing of its category.
    NotFound,
    /// A declared collection or field that the datastore does not have.
    Missing,
    /// Data that breaks a promise of the map.
    PromiseViolation,
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub datastore: String,
    pub collection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The type the scanner found, e.g. `EMAIL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<&'static str>,
    /// The data category to declare, e.g. `user.contact.email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_category: Option<&'static str>,
    /// What the map declares for the field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<String>,
    pub message: String,
}

/// Compares scan verdicts with the map. `scanned` lists only datastores that were actually scanned:
/// a datastore that was not reachable is not reported as drift.
pub fn drift(map: &DataMap, scanned: &[ScannedDatastore]) -> Vec<Drift> {
    let no_cards = map
        .promises
        .as_ref()
        .is_some_and(|p| p.no_payment_card_storage);
    let mut out = Vec::new();
    for ds in scanned {
        let declared = map.datastores.get(&ds.datastore);
        for coll in &ds.collections {
            let map_coll = declared.and_then(|d| find_collection(&d.collections, &coll.name));
            for v in &coll.columns {
                let here =
                    |kind, detected, suggested, declared: Vec<String>, message: String| Drift {
                        kind,
                        datastore: ds.datastore.clone(),
                        collection: coll.name.clone(),
                        column: Some(v.column.clone()),
                        detected,
                        suggested_category: suggested,
                        declared,
                        message,
                    };
                if no_cards
                    && v.shares
                        .iter()
                        .any(|s| s.kind == PiiType::CreditCard.name())
                {
                    out.push(here(
                        DriftKind::PromiseViolation,
                        Some(PiiType::CreditCard.name()),
                        Some(PiiType::CreditCard.category()),
                        Vec::new(),
                        format!(
                            "payment card numbers found in `{}.{}`, but the map promises `no_payment_card_storage`",
                            coll.name, v.column
                        ),
                    ));
                }
                let (Some(detected), Some(category)) = (v.kind, v.category) else {
                    continue;
                };
                let field = map_coll.and_then(|c| c.fields.get(&field_name(&v.column)));
                match field {
                    None if map_coll.is_some_and(|c| c.key.is_some()) && v.column == "(key)" => {
                        // A Redis key pattern with placeholders declares what its keys embed.
                    }
                    None => out.push(here(
                        DriftKind::Undeclared,
                        Some(detected),
                        Some(category),
                        Vec::new(),
                        match map_coll {
                            Some(_) => format!(
                                "`{}.{}` holds {detected} data, but the map does not declare the field",
                                coll.name, v.column
                            ),
                            None => format!(
                                "`{}` holds {detected} data (column `{}`), but the map does not declare the collection",
                                coll.name, v.column
                            ),
                        },
                    )),
                    Some(f) if f.categories.is_empty() && f.identity.is_none() => out.push(here(
                        DriftKind::Undeclared,
                        Some(detected),
                        Some(category),
                        Vec::new(),
                        format!(
                            "`{}.{}` holds {detected} data, but the map declares no data category for it",
                            coll.name, v.column
                        ),
                    )),
                    Some(f) => {
                        let covered = f.categories.iter().any(|c| {
                            is_same_or_descendant(category, c) || is_same_or_descendant(c, category)
                        });
                        if !covered && !f.categories.is_empty() {
                            out.push(here(
                                DriftKind::CategoryMismatch,
                                Some(detected),
                                Some(category),
                                f.categories.clone(),
                                format!(
                                    "`{}.{}` holds {detected} data, but the map declares it as {}",
                                    coll.name,
                                    v.column,
                                    f.categories.join(", ")
                                ),
                            ));
                        }
                    }
                }
            }
        }
        // Declared fields that hold nothing of their category, and declared fields that do not exist.
        let Some(declared) = declared else { continue };
        for (c_key, c) in &declared.collections {
            let Some(found) = ds
                .collections
                .iter()
                .find(|s| find_collection_key(c_key, c, &s.name))
            else {
                out.push(Drift {
                    kind: DriftKind::Missing,
                    datastore: ds.datastore.clone(),
                    collection: c_key.clone(),
                    column: None,
                    detected: None,
                    suggested_category: None,
                    declared: Vec::new(),
                    message: format!(
                        "the map declares `{c_key}`, but the datastore has no such collection"
                    ),
                });
                continue;
            };
            for (f_key, f) in &c.fields {
                let Some(v) = found
                    .columns
                    .iter()
                    .find(|v| field_name(&v.column) == *f_key)
                else {
                    if c.key.is_none() {
                        out.push(Drift {
                            kind: DriftKind::Missing,
                            datastore: ds.datastore.clone(),
                            collection: c_key.clone(),
                            column: Some(f_key.clone()),
                            detected: None,
                            suggested_category: None,
                            declared: f.categories.clone(),
                            message: format!("the map declares `{c_key}.{f_key}`, but the datastore has no such field"),
                        });
                    }
                    continue;
                };
                let detectable: Vec<&String> = f
                    .categories
                    .iter()
                    .filter(|d| {
                        PiiType::ALL
                            .iter()
                            .any(|t| is_same_or_descendant(d, t.category()))
                    })
                    .collect();
                if detectable.is_empty() || v.non_empty == 0 {
                    continue;
                }
                let seen = v.shares.iter().any(|s| {
                    PiiType::from_name(s.kind).is_some_and(|t| {
                        detectable
                            .iter()
                            .any(|d| is_same_or_descendant(d, t.category()))
                    })
                });
                if !seen {
                    out.push(Drift {
                        kind: DriftKind::NotFound,
                        datastore: ds.datastore.clone(),
                        collection: c_key.clone(),
                        column: Some(f_key.clone()),
                        detected: None,
                        suggested_category: None,
                        declared: f.categories.clone(),
                        message: format!(
                            "`{c_key}.{f_key}` is declared as {}, but none of its {} values looks like it",
                            f.categories.join(", "),
                            v.non_empty
                        ),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.datastore, &a.collection, &a.column, a.kind).cmp(&(
            &b.datastore,
            &b.collection,
            &b.column,
            b.kind,
        ))
    });
    out
}

/// Redis hash fields and SQL columns match map fields by name; a Redis string value is the field `value`.
fn field_name(column: &str) -> String {
    match column {
        "(value)" => "value".to_owned(),
        other => other.to_owned(),
    }
}

fn find_collection<'m>(
    collections: &'m indexmap::IndexMap<String, Collection>,
    scanned: &str,
) -> Option<&'m Collection> {
    collections
        .iter()
        .find(|(k, c)| find_collection_key(k, c, scanned))
        .map(|(_, c)| c)
}

/// A scanned collection is the map's collection when the names match (ignoring a `public.` schema), or,
/// for Redis, when the map's key pattern (`session:{user_id}`) generalises to the scanned pattern. A
/// Redis datastore's collections served as SQL tables (the demo's) match by name.
fn find_collection_key(key: &str, collection: &Collection, scanned: &str) -> bool {
    if scanned == key || scanned.strip_prefix("public.") == Some(key) {
        return true;
    }
    if let Some(pattern) = &collection.key {
        let mut generic = String::with_capacity(pattern.len());
        let mut in_placeholder = false;
        for ch in pattern.chars() {
            match ch {
                '{' => {
                    in_placeholder = true;
                    generic.push('*');
                }
                '}' => in_placeholder = false,
                c if !in_placeholder => generic.push(c),
                _ => {}
            }
        }
        return scanned == generic || scanned.ends_with(&generic);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::ColumnProfile;
    use crate::engine::{ScanOptions, Scanner};
    use crate::hint::FieldHint;

    fn verdict(column: &str, values: &[&str]) -> ColumnVerdict {
        let scanner = Scanner::new(ScanOptions::default()).expect("scanner");
        let mut profile = ColumnProfile::new(column);
        let hint = FieldHint::from_name(column);
        for v in values {
            let mut found = Vec::new();
            scanner.scan_field(&hint, v.as_bytes(), &mut found);
            profile.add(v.as_bytes(), &found);
        }
        profile.verdict()
    }

    fn map(yaml_fields: &[(&str, Vec<&str>)], no_cards: bool) -> DataMap {
        let mut m = DataMap::default();
        let mut coll = Collection::default();
        for (name, cats) in yaml_fields {
            coll.fields.insert(
                (*name).to_owned(),
                pactum_domain::model::Field {
                    categories: cats.iter().map(|c| (*c).to_owned()).collect(),
                    ..Default::default()
                },
            );
        }
        let mut collections = indexmap::IndexMap::new();
        collections.insert("customers".to_owned(), coll);
        m.datastores.insert(
            "crm".to_owned(),
            pactum_domain::model::Datastore {
                name: None,
                description: None,
                system: None,
                kind: pactum_domain::model::ConnectorKind::Postgres,
                connection_env: Some("CRM_URL".to_owned()),
                auth: None,
                instructions: None,
                role: Default::default(),
                controller: None,
                collections,
            },
        );
        if no_cards {
            m.promises = Some(pactum_domain::model::Promises {
                no_payment_card_storage: true,
                ..Default::default()
            });
        }
        m
    }

    fn kinds(
        map: &DataMap,
        collections: Vec<ScannedCollection>,
    ) -> Vec<(DriftKind, Option<String>)> {
        drift(
            map,
            &[ScannedDatastore {
                datastore: "crm".to_owned(),
                collections,
            }],
        )
        .into_iter()
        .map(|d| (d.kind, d.column))
        .collect()
    }

    #[test]
    fn undeclared_field_and_collection() {
        let m = map(&[("email", vec!["user.contact.email"])], false);
        let found = kinds(
            &m,
            vec![
                ScannedCollection {
                    name: "customers".to_owned(),
                    columns: vec![
                        verdict("email", &["ada@example.com", "bob@example.org"]),
                        verdict("backup_email", &["ada@example.com", "bob@example.org"]),
                    ],
                },
                ScannedCollection {
                    name: "audit".to_owned(),
                    columns: vec![verdict("actor", &["ada@example.com"])],
                },
            ],
        );
        assert_eq!(
            found,
            vec![
                (DriftKind::Undeclared, Some("actor".to_owned())),
                (DriftKind::Undeclared, Some("backup_email".to_owned())),
            ]
        );
    }

    #[test]
    fn mismatch_not_found_missing_and_promise() {
        let m = map(
            &[
                ("email", vec!["user.name"]),
                ("phone", vec!["user.contact.phone_number"]),
                ("gone", vec!["user.contact.email"]),
            ],
            true,
        );
        let found = kinds(
            &m,
            vec![ScannedCollection {
                name: "customers".to_owned(),
                columns: vec![
                    verdict("email", &["ada@example.com", "bob@example.org"]),
                    verdict("phone", &["n/a", "unknown"]),
                    verdict("note", &["paid with 4111 1111 1111 1111"]),
                ],
            }],
        );
        assert_eq!(
            found,
            vec![
                (DriftKind::CategoryMismatch, Some("email".to_owned())),
                // Declared as a name, and no names in it either.
                (DriftKind::NotFound, Some("email".to_owned())),
                (DriftKind::Missing, Some("gone".to_owned())),
                (DriftKind::Undeclared, Some("note".to_owned())),
                (DriftKind::PromiseViolation, Some("note".to_owned())),
                (DriftKind::NotFound, Some("phone".to_owned())),
            ]
        );
    }

    #[test]
    fn redis_patterns_match_map_key_patterns() {
        let c = Collection {
            key: Some("session:{user_id}".to_owned()),
            ..Default::default()
        };
        assert!(find_collection_key("sessions", &c, "session:*"));
        assert!(find_collection_key("sessions", &c, "app1:session:*"));
        assert!(!find_collection_key("sessions", &c, "cart:*"));
        // The same collection served as a SQL table (the demo's SQLite files) goes by its map key.
        assert!(find_collection_key("sessions", &c, "sessions"));
        assert!(!find_collection_key("sessions", &c, "session"));
        let t = Collection::default();
        assert!(find_collection_key("orders", &t, "public.orders"));
        assert!(!find_collection_key("orders", &t, "sales.orders"));
    }
}
