//! How a request finds a person's records: from the identities they gave, across collections and
//! datastores, by the map's references.
//!
//! Traversal starts at every field that holds one of the given identity kinds. From a collection whose
//! rows belong to the person ("owned"), it follows references both ways:
//!
//! - **outgoing** (`customer.address_id -> address.id`): the referenced rows (the person's address)
//!   are fetched, but they are *leaves*: other rows that reference them (an employee living at the
//!   same address) do not belong to the person, so traversal does not continue from them;
//! - **incoming** (`login.customer_id -> customer.id`): rows that reference the person's rows (their
//!   logins, orders) are owned, and traversal continues from them;
//! - an outgoing reference into a collection that identifies people of its own (it has an identity
//!   field: `service_request.employee_id -> employee.id`) is not followed: that row is someone else.
//!
//! Ownership is a property of the rows a step finds, not of a collection: only rows found by owned
//! steps feed later lookups.
//!
//! This is the distinction Fides encodes with `direction: to | from` on each reference, derived from
//! the shape of the data instead of written by hand.

use std::collections::{BTreeSet, VecDeque};

use crate::model::{DataMap, IdentityKind};

/// A collection, by datastore and collection key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CollectionRef {
    pub datastore: String,
    pub collection: String,
}

impl std::fmt::Display for CollectionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.datastore, self.collection)
    }
}

/// Where the values a step matches on come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The identity the requester gave.
    Identity(IdentityKind),
    /// The values of `field` in the rows already found in `collection`.
    Field {
        collection: CollectionRef,
        field: String,
    },
}

/// One lookup: rows of `collection` whose `field` equals one of the source's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub collection: CollectionRef,
    pub field: String,
    pub source: Source,
    /// True when the rows found belong to the person (traversal continues from them).
    pub owned: bool,
}

/// The lookups of a request, in an order where every source is looked up before it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The collections the plan reaches.
    pub fn collections(&self) -> BTreeSet<&CollectionRef> {
        self.steps.iter().map(|s| &s.collection).collect()
    }
}

/// Plans the lookups for a person identified by `identities`.
pub fn plan(map: &DataMap, identities: &[IdentityKind]) -> Plan {
    let cat = crate::catalog::Catalog::new(map);
    // Every reference as (from collection, from field) -> (to collection, to field).
    let mut edges: Vec<(CollectionRef, String, CollectionRef, String)> = Vec::new();
    for (ds_key, ds) in &map.datastores {
        for (c_key, coll) in &ds.collections {
            for (f_key, field) in &coll.fields {
                for r in &field.references {
                    if let Some(loc) = cat.resolve_field(ds_key, r) {
                        edges.push((
                            cref(ds_key, c_key),
                            f_key.clone(),
                            cref(loc.datastore, loc.collection),
                            loc.field.to_owned(),
                        ));
                    }
                }
            }
        }
    }
    // Collections that identify people themselves: they hold an identity field.
    let identifying: BTreeSet<CollectionRef> = map
        .datastores
        .iter()
        .flat_map(|(d, ds)| {
            ds.collections
                .iter()
                .filter(|(_, c)| c.fields.values().any(|f| f.identity.is_some()))
                .map(move |(c, _)| cref(d, c))
        })
        .collect();
    let mut steps = Vec::new();
    let mut queue: VecDeque<CollectionRef> = VecDeque::new();
    let mut owned: BTreeSet<CollectionRef> = BTreeSet::new();
    for (ds_key, ds) in &map.datastores {
        for (c_key, coll) in &ds.collections {
            for (f_key, field) in &coll.fields {
                if let Some(kind) = field.identity
                    && identities.contains(&kind)
                {
                    let c = cref(ds_key, c_key);
                    steps.push(Step {
                        collection: c.clone(),
                        field: f_key.clone(),
                        source: Source::Identity(kind),
                        owned: true,
                    });
                    if owned.insert(c.clone()) {
                        queue.push_back(c);
                    }
                }
            }
        }
    }
    while let Some(here) = queue.pop_front() {
        for (from, from_field, to, to_field) in &edges {
            // Outgoing: the rows we reference (their address, the products they ordered) are
            // leaves. A collection that identifies people of its own (employees) is never entered this
            // way: the employee who handled a ticket is not the requester.
            if *from == here && !identifying.contains(to) {
                steps.push(Step {
                    collection: to.clone(),
                    field: to_field.clone(),
                    source: Source::Field {
                        collection: here.clone(),
                        field: from_field.clone(),
                    },
                    owned: false,
                });
            }
            if *to == here {
                // Incoming: rows that reference ours belong to the person.
                steps.push(Step {
                    collection: from.clone(),
                    field: from_field.clone(),
                    source: Source::Field {
                        collection: here.clone(),
                        field: to_field.clone(),
                    },
                    owned: true,
                });
                if owned.insert(from.clone()) {
                    queue.push_back(from.clone());
                }
            }
        }
    }
    steps.dedup();
    Plan { steps }
}

fn cref(datastore: &str, collection: &str) -> CollectionRef {
    CollectionRef {
        datastore: datastore.to_owned(),
        collection: collection.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectorKind, Datastore, Field};

    /// A datastore from `collection.field` specs: `("customer.email", Some(Email), &[])`.
    fn store(fields: &[(&str, Option<IdentityKind>, &[&str])]) -> DataMap {
        let mut ds = Datastore {
            name: None,
            description: None,
            system: None,
            kind: ConnectorKind::Postgres,
            connection_env: Some("DB_URL".into()),
            instructions: None,
            role: Default::default(),
            controller: None,
            auth: None,
            collections: Default::default(),
        };
        for (path, identity, refs) in fields {
            let (c, f) = path.split_once('.').expect("collection.field");
            ds.collections
                .entry(c.to_owned())
                .or_default()
                .fields
                .insert(
                    f.to_owned(),
                    Field {
                        identity: *identity,
                        references: refs.iter().map(|r| (*r).to_owned()).collect(),
                        ..Field::default()
                    },
                );
        }
        let mut map = DataMap::default();
        map.datastores.insert("db".into(), ds);
        map
    }

    fn reached(plan: &Plan) -> Vec<String> {
        plan.collections()
            .iter()
            .map(|c| c.collection.clone())
            .collect()
    }

    #[test]
    fn follows_fides_sample_shape_without_leaking_to_neighbours() {
        let map = store(&[
            ("customer.id", None, &[]),
            ("customer.email", Some(IdentityKind::Email), &[]),
            ("customer.address_id", None, &["address.id"]),
            ("address.id", None, &[]),
            ("employee.id", None, &[]),
            ("employee.address_id", None, &["address.id"]),
            ("login.customer_id", None, &["customer.id"]),
            ("orders.id", None, &[]),
            ("orders.customer_id", None, &["customer.id"]),
            ("order_item.order_id", None, &["orders.id"]),
            ("order_item.product_id", None, &["product.id"]),
            ("product.id", None, &[]),
            ("employee.email", Some(IdentityKind::Email), &[]),
            ("service_request.email", Some(IdentityKind::Email), &[]),
            ("service_request.employee_id", None, &["employee.id"]),
        ]);
        let plan = plan(&map, &[IdentityKind::Email]);
        // The product is a leaf; employees are reached only by their own email, never through the
        // address they share with a customer or the ticket they handled.
        assert_eq!(
            reached(&plan),
            [
                "address",
                "customer",
                "employee",
                "login",
                "order_item",
                "orders",
                "product",
                "service_request"
            ]
        );
        let into_employee: Vec<&Step> = plan
            .steps
            .iter()
            .filter(|s| s.collection.collection == "employee")
            .collect();
        assert_eq!(into_employee.len(), 1);
        assert_eq!(
            into_employee[0].source,
            Source::Identity(IdentityKind::Email)
        );
        let owned: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.owned)
            .map(|s| s.collection.collection.as_str())
            .collect();
        assert!(!owned.contains(&"address") && !owned.contains(&"product"));
        // Sources are always looked up before they are used.
        for (i, step) in plan.steps.iter().enumerate() {
            if let Source::Field { collection, .. } = &step.source {
                assert!(
                    plan.steps[..i].iter().any(|s| &s.collection == collection),
                    "step {i} uses {collection} before it is looked up"
                );
            }
        }
    }

    #[test]
    fn only_the_given_identities_start_traversal() {
        let map = store(&[
            ("customer.email", Some(IdentityKind::Email), &[]),
            ("device.device_id", Some(IdentityKind::DeviceId), &[]),
        ]);
        assert_eq!(reached(&plan(&map, &[IdentityKind::Email])), ["customer"]);
        assert_eq!(
            reached(&plan(&map, &[IdentityKind::Email, IdentityKind::DeviceId])),
            ["customer", "device"]
        );
        assert!(plan(&map, &[IdentityKind::Phone]).steps.is_empty());
    }
}
