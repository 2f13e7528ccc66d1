//! The record of processing activities (GDPR Art. 30), derived from the map.
//!
//! The controller record has one entry per controller-role activity with every item of Art. 30(1)(a)-(g)
//! plus the columns regulators' templates add (legal basis, Art. 9 condition, sources, systems). The
//! processor record (Art. 30(2)(a)-(d)) has one entry per controller the organisation acts for, and
//! exists only when the map has processor-role activities or datastores.
//!
//! Two renderings: [`to_json`] (the structure as it is) and [`to_csv`] (one sheet, one row per
//! activity, a `record` column telling controller rows from processor rows).

use pactum_domain::catalog::Catalog;
use pactum_domain::model::{Activity, Contact, DataMap, Role};
use pactum_domain::rules;
use serde::Serialize;

use crate::PublishError;
use crate::derive;
use crate::wording;

/// The whole Art. 30 record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ropa {
    pub controller_record: ControllerRecord,
    /// Empty when the organisation processes no data on anyone else's behalf.
    pub processor_record: Vec<ProcessorEntry>,
}

/// A name and contact details.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Party {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A representative (GDPR/UK GDPR Art. 27) for one regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Representative {
    /// The regime's map key (`gdpr`, `uk_gdpr`).
    pub regime: String,
    pub party: Party,
}

/// A key and its human name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named {
    pub key: String,
    pub name: String,
}

/// Art. 30(1): the controller's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControllerRecord {
    /// (a) The controller.
    pub controller: Party,
    /// (a) Representatives, by regime.
    pub representatives: Vec<Representative>,
    /// (a) The data protection officer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpo: Option<Party>,
    /// The notice version of the map the record was generated from, so a copy can be reproduced.
    pub map_version: String,
    pub map_last_updated: String,
    pub activities: Vec<ActivityRecord>,
}

/// One processing activity of the controller record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityRecord {
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `controller` or `joint_controller`.
    pub role: String,
    /// (a) The joint controller, for `joint_controller` activities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint_controller: Option<Party>,
    /// (b) Purposes, with the lawful basis per regime and any Art. 9 condition.
    pub purposes: Vec<PurposeEntry>,
    /// (c) Categories of data subjects.
    pub data_subjects: Vec<Named>,
    /// (c) Categories of personal data.
    pub data_categories: Vec<CategoryEntry>,
    /// (d) Recipients: processors whose purposes include one of the activity's purposes.
    pub recipients: Vec<RecipientEntry>,
    /// (e) Transfers outside the territory of a regime that applies.
    pub transfers: Vec<TransferEntry>,
    /// (f) Retention rules covering the activity's data.
    pub retention: Vec<RetentionEntry>,
    /// The data only passes through and is not stored (so it needs no retention rule).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
    /// (g) Technical and organisational security measures.
    pub security_measures: Vec<String>,
    /// Where the data comes from (`direct`, `automatic`, `third_party`).
    pub sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_detail: Option<String>,
    /// Systems used.
    pub systems: Vec<Named>,
}

/// A purpose of an activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurposeEntry {
    pub key: String,
    pub name: String,
    pub description: String,
    pub legal_basis: Vec<BasisEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legitimate_interest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_condition: Option<String>,
    pub profiling: bool,
    pub automated_decisions: bool,
}

/// A lawful basis under one regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasisEntry {
    pub regime: String,
    pub basis: String,
}

/// A data category with the traits that matter to a regulator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryEntry {
    pub key: String,
    pub name: String,
    /// GDPR Art. 9/10 data.
    pub special: bool,
}

/// A recipient of an activity's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecipientEntry {
    pub key: String,
    pub name: String,
    pub service: String,
    /// `processor`, `subprocessor`, `joint controller`, `third party` or `public authority`.
    pub role: String,
    pub countries: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
}

/// An international transfer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferEntry {
    pub recipient: String,
    pub country: String,
    /// The safeguard, or `None` when the map declares none (the checks flag that).
    pub mechanism: Option<String>,
}

/// A retention rule as it applies to one activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionEntry {
    pub rule: String,
    /// The activity's categories (and collections) the rule covers.
    pub covers: Vec<String>,
    pub period: String,
    pub from: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statutory_minimum: Option<String>,
    pub legal_hold_overrides: bool,
}

/// Art. 30(2): the record kept for one controller the organisation processes data for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessorEntry {
    /// The key in `controllers`, or `customers` for every customer.
    pub controller_key: String,
    /// (a) The controller on whose behalf we act.
    pub controller: Party,
    /// (a) The processor: the organisation.
    pub processor: Party,
    /// (a) The processor's representatives.
    pub representatives: Vec<Representative>,
    /// (a) The processor's data protection officer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpo: Option<Party>,
    /// (b) Categories of processing carried out for this controller.
    pub processing: Vec<ProcessingEntry>,
    /// Datastores holding this controller's data.
    pub datastores: Vec<Named>,
    /// (c) Transfers by the subprocessors involved.
    pub transfers: Vec<TransferEntry>,
    /// (d) Technical and organisational security measures.
    pub security_measures: Vec<String>,
}

/// One kind of processing done on a controller's behalf.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessingEntry {
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub purposes: Vec<Named>,
    pub data_subjects: Vec<Named>,
    pub data_categories: Vec<Named>,
    /// Subprocessors engaged for this processing.
    pub subprocessors: Vec<RecipientEntry>,
}

fn party(contact: &Contact, fallback_name: &str) -> Party {
    Party {
        name: contact
            .name
            .clone()
            .unwrap_or_else(|| fallback_name.to_owned()),
        address: contact.address.clone(),
        email: contact.email.clone(),
        phone: contact.phone.clone(),
        url: contact.url.clone(),
    }
}

/// The key a processor-role item names its controller by; `customers` when it names none.
const CUSTOMERS: &str = "customers";

/// Builds the record from a map.
pub fn build(map: &DataMap) -> Ropa {
    let catalog = Catalog::new(map);
    let org = map.organisation.clone().unwrap_or_default();
    let controller = Party {
        name: org.name.clone(),
        ..party(&org.contact, &org.name)
    };
    let representatives: Vec<Representative> = org
        .representatives
        .iter()
        .map(|(r, c)| Representative {
            regime: r.key().to_owned(),
            party: party(c, rules::rules(*r).label),
        })
        .collect();
    let dpo = org
        .dpo
        .as_ref()
        .map(|c| party(c, "Data protection officer"));
    let named_subjects = |keys: &[String]| -> Vec<Named> {
        keys.iter()
            .map(|k| Named {
                key: k.clone(),
                name: catalog.subject_name(k),
            })
            .collect()
    };
    let activities = derive::controller_activities(map)
        .into_iter()
        .map(|(key, a)| ActivityRecord {
            key: key.to_owned(),
            name: a.name.clone(),
            description: a.description.clone(),
            role: wording::role_key(a.role).to_owned(),
            joint_controller: (a.role == Role::JointController)
                .then_some(a.controller.as_ref())
                .flatten()
                .map(|k| controller_party(map, k)),
            purposes: purposes(map, &a.purposes),
            data_subjects: named_subjects(&a.subjects),
            data_categories: a
                .categories
                .iter()
                .map(|c| CategoryEntry {
                    key: c.clone(),
                    name: catalog.category_name(c),
                    special: catalog.traits(c).special,
                })
                .collect(),
            recipients: recipients(map, &a.purposes),
            transfers: transfers(map, &a.purposes),
            retention: retention(map, a),
            transient: a.transient,
            security_measures: org.security_measures.clone(),
            sources: a
                .sources
                .iter()
                .map(|s| wording::source_key(*s).to_owned())
                .collect(),
            source_detail: a.source_detail.clone(),
            systems: a
                .systems
                .iter()
                .map(|k| Named {
                    key: k.clone(),
                    name: map
                        .systems
                        .get(k)
                        .map(|s| s.name.clone())
                        .unwrap_or_else(|| k.clone()),
                })
                .collect(),
        })
        .collect();
    Ropa {
        controller_record: ControllerRecord {
            controller: controller.clone(),
            representatives: representatives.clone(),
            dpo: dpo.clone(),
            map_version: org.notice.version.clone(),
            map_last_updated: org.notice.last_updated.clone(),
            activities,
        },
        processor_record: processor_record(
            map,
            &controller,
            &representatives,
            dpo.as_ref(),
            &org.security_measures,
        ),
    }
}

fn controller_party(map: &DataMap, key: &str) -> Party {
    if key == CUSTOMERS {
        return Party {
            name: "Each customer (the controller of its own data)".to_owned(),
            ..Party::default()
        };
    }
    match map.controllers.get(key) {
        Some(c) => party(c, key),
        None => Party {
            name: key.to_owned(),
            ..Party::default()
        },
    }
}

fn purposes(map: &DataMap, keys: &[String]) -> Vec<PurposeEntry> {
    keys.iter()
        .map(|k| match map.purposes.get(k) {
            Some(p) => PurposeEntry {
                key: k.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                legal_basis: p
                    .legal_basis
                    .iter()
                    .map(|(r, b)| BasisEntry {
                        regime: r.key().to_owned(),
                        basis: wording::legal_basis_key(*b).to_owned(),
                    })
                    .collect(),
                legitimate_interest: p.legitimate_interest.clone(),
                special_condition: p
                    .special_condition
                    .map(|c| wording::special_condition(c).to_owned()),
                profiling: p.profiling,
                automated_decisions: p.automated_decisions,
            },
            None => PurposeEntry {
                key: k.clone(),
                name: k.clone(),
                description: String::new(),
                legal_basis: Vec::new(),
                legitimate_interest: None,
                special_condition: None,
                profiling: false,
                automated_decisions: false,
            },
        })
        .collect()
}

fn recipients(map: &DataMap, purposes: &[String]) -> Vec<RecipientEntry> {
    derive::recipients_for(map, purposes)
        .into_iter()
        .map(|(k, p)| RecipientEntry {
            key: k.to_owned(),
            name: p.name.clone(),
            service: p.service.clone(),
            role: wording::recipient_role(p.role).to_owned(),
            countries: p.countries.clone(),
            agreement: p.agreement.clone(),
        })
        .collect()
}

fn transfers(map: &DataMap, purposes: &[String]) -> Vec<TransferEntry> {
    derive::recipients_for(map, purposes)
        .into_iter()
        .flat_map(|(_, p)| {
            derive::transfers(map, p)
                .into_iter()
                .map(|t| TransferEntry {
                    recipient: p.name.clone(),
                    country: t.country.to_owned(),
                    mechanism: t.mechanism.map(|m| wording::mechanism(m).to_owned()),
                })
        })
        .collect()
}

fn retention(map: &DataMap, activity: &Activity) -> Vec<RetentionEntry> {
    derive::retention_for(map, &activity.categories, &activity.systems)
        .into_iter()
        .map(|c| RetentionEntry {
            rule: c.key.to_owned(),
            covers: c
                .categories
                .iter()
                .chain(&c.collections)
                .map(|s| (*s).to_owned())
                .collect(),
            period: wording::period(&c.rule.period),
            from: wording::retention_event(&c.rule.from),
            action: wording::retention_action(c.rule.action).to_owned(),
            statutory_minimum: c
                .rule
                .statutory_minimum
                .as_ref()
                .map(|m| format!("{} ({})", wording::period(&m.period), m.law)),
            legal_hold_overrides: c.rule.legal_hold_overrides,
        })
        .collect()
}

fn processor_record(
    map: &DataMap,
    organisation: &Party,
    representatives: &[Representative],
    dpo: Option<&Party>,
    security: &[String],
) -> Vec<ProcessorEntry> {
    let catalog = Catalog::new(map);
    // Controllers in order of first mention, activities first, then datastores.
    let mut keys: Vec<&str> = Vec::new();
    let activities = derive::processor_activities(map);
    let stores: Vec<(&str, &str)> = map
        .datastores
        .iter()
        .filter(|(_, d)| d.role == Role::Processor)
        .map(|(k, d)| (k.as_str(), d.controller.as_deref().unwrap_or(CUSTOMERS)))
        .collect();
    for key in activities
        .iter()
        .map(|(_, a)| a.controller.as_deref().unwrap_or(CUSTOMERS))
        .chain(stores.iter().map(|(_, c)| *c))
    {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|key| {
            let mine: Vec<(&str, &Activity)> = activities
                .iter()
                .filter(|(_, a)| a.controller.as_deref().unwrap_or(CUSTOMERS) == key)
                .copied()
                .collect();
            let mut all_purposes: Vec<String> = Vec::new();
            for (_, a) in &mine {
                for p in &a.purposes {
                    if !all_purposes.contains(p) {
                        all_purposes.push(p.clone());
                    }
                }
            }
            let processing = mine
                .iter()
                .map(|(k, a)| ProcessingEntry {
                    key: (*k).to_owned(),
                    name: a.name.clone(),
                    description: a.description.clone(),
                    purposes: a
                        .purposes
                        .iter()
                        .map(|p| Named {
                            key: p.clone(),
                            name: map
                                .purposes
                                .get(p)
                                .map(|x| x.name.clone())
                                .unwrap_or_else(|| p.clone()),
                        })
                        .collect(),
                    data_subjects: a
                        .subjects
                        .iter()
                        .map(|s| Named {
                            key: s.clone(),
                            name: catalog.subject_name(s),
                        })
                        .collect(),
                    data_categories: a
                        .categories
                        .iter()
                        .map(|c| Named {
                            key: c.clone(),
                            name: catalog.category_name(c),
                        })
                        .collect(),
                    subprocessors: recipients(map, &a.purposes),
                })
                .collect();
            ProcessorEntry {
                controller_key: key.to_owned(),
                controller: controller_party(map, key),
                processor: organisation.clone(),
                representatives: representatives.to_vec(),
                dpo: dpo.cloned(),
                processing,
                datastores: stores
                    .iter()
                    .filter(|(_, c)| *c == key)
                    .map(|(k, _)| Named {
                        key: (*k).to_owned(),
                        name: map
                            .datastores
                            .get(*k)
                            .and_then(|d| d.name.clone())
                            .unwrap_or_else(|| (*k).to_owned()),
                    })
                    .collect(),
                transfers: transfers(map, &all_purposes),
                security_measures: security.to_vec(),
            }
        })
        .collect()
}

/// The record as pretty-printed JSON: `{"controller_record": {...}, "processor_record": [...]}`.
pub fn to_json(ropa: &Ropa) -> Result<String, PublishError> {
    serde_json::to_string_pretty(ropa).map_err(PublishError::Json)
}

/// The CSV columns, in order. Multi-valued cells join their values with `; `.
pub const CSV_COLUMNS: [&str; 20] = [
    "record",
    "activity_key",
    "activity",
    "controller",
    "controller_contact",
    "joint_controller",
    "representatives",
    "dpo",
    "processor",
    "purposes",
    "legal_basis",
    "special_condition",
    "data_subjects",
    "data_categories",
    "recipients",
    "transfers",
    "retention",
    "security_measures",
    "sources",
    "systems",
];

fn contact_line(p: &Party) -> String {
    [&p.address, &p.email, &p.phone, &p.url]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

fn party_line(p: &Party) -> String {
    let contact = contact_line(p);
    if contact.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({contact})", p.name)
    }
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join("; ")
}

fn transfer_line(t: &TransferEntry) -> String {
    format!(
        "{} -> {} ({})",
        t.recipient,
        t.country,
        t.mechanism.as_deref().unwrap_or("no safeguard declared")
    )
}

fn recipient_line(r: &RecipientEntry) -> String {
    format!("{} ({}; {})", r.name, r.role, r.countries.join(", "))
}

/// The record as one CSV sheet: a header row ([`CSV_COLUMNS`]), then one row per controller activity
/// (`record` = `controller`), then one row per processing done for each controller (`record` =
/// `processor`). This is the shape regulators' spreadsheet templates take: one row per activity,
/// one column per Art. 30 item.
pub fn to_csv(ropa: &Ropa) -> Result<String, PublishError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    let c = &ropa.controller_record;
    let reps = join(&c.representatives, |r| {
        format!("{}: {}", r.regime, party_line(&r.party))
    });
    let dpo = c.dpo.as_ref().map(party_line).unwrap_or_default();
    for a in &c.activities {
        let row: [String; 20] = [
            "controller".into(),
            a.key.clone(),
            a.name.clone(),
            c.controller.name.clone(),
            contact_line(&c.controller),
            a.joint_controller
                .as_ref()
                .map(party_line)
                .unwrap_or_default(),
            reps.clone(),
            dpo.clone(),
            String::new(),
            join(&a.purposes, |p| format!("{}: {}", p.name, p.description)),
            join(&a.purposes, |p| {
                format!(
                    "{}: {}{}",
                    p.name,
                    p.legal_basis
                        .iter()
                        .map(|b| format!("{} {}", b.regime, b.basis))
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.legitimate_interest
                        .as_ref()
                        .map(|i| format!(" (interest: {i})"))
                        .unwrap_or_default()
                )
            }),
            join(
                &a.purposes
                    .iter()
                    .filter(|p| p.special_condition.is_some())
                    .collect::<Vec<_>>(),
                |p| {
                    format!(
                        "{}: {}",
                        p.name,
                        p.special_condition.as_deref().unwrap_or_default()
                    )
                },
            ),
            join(&a.data_subjects, |s| s.name.clone()),
            join(&a.data_categories, |d| {
                if d.special {
                    format!("{} [special category]", d.name)
                } else {
                    d.name.clone()
                }
            }),
            join(&a.recipients, recipient_line),
            join(&a.transfers, transfer_line),
            {
                let rules = join(&a.retention, |r| {
                    let mut s = format!(
                        "{}: {} from {}, then {}",
                        r.covers.join(", "),
                        r.period,
                        r.from,
                        r.action
                    );
                    if let Some(m) = &r.statutory_minimum {
                        s.push_str(&format!(" (statutory minimum {m})"));
                    }
                    s
                });
                match (a.transient, rules.is_empty()) {
                    (true, true) => "not stored (the data only passes through)".to_owned(),
                    (true, false) => format!("not stored (the data only passes through); {rules}"),
                    (false, _) => rules,
                }
            },
            a.security_measures.join("; "),
            a.sources.join("; "),
            join(&a.systems, |s| s.name.clone()),
        ];
        w.write_record(&row)?;
    }
    for p in &ropa.processor_record {
        let reps = join(&p.representatives, |r| {
            format!("{}: {}", r.regime, party_line(&r.party))
        });
        let dpo = p.dpo.as_ref().map(party_line).unwrap_or_default();
        let base = |key: String,
                    name: String,
                    purposes: String,
                    subjects: String,
                    categories: String,
                    recipients: String|
         -> [String; 20] {
            [
                "processor".into(),
                key,
                name,
                p.controller.name.clone(),
                contact_line(&p.controller),
                String::new(),
                reps.clone(),
                dpo.clone(),
                party_line(&p.processor),
                purposes,
                String::new(),
                String::new(),
                subjects,
                categories,
                recipients,
                join(&p.transfers, transfer_line),
                String::new(),
                p.security_measures.join("; "),
                String::new(),
                join(&p.datastores, |d| d.name.clone()),
            ]
        };
        if p.processing.is_empty() {
            w.write_record(base(
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ))?;
        }
        for e in &p.processing {
            w.write_record(base(
                e.key.clone(),
                e.name.clone(),
                join(&e.purposes, |x| x.name.clone()),
                join(&e.data_subjects, |x| x.name.clone()),
                join(&e.data_categories, |x| x.name.clone()),
                join(&e.subprocessors, recipient_line),
            ))?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PublishError::Csv(e.into_error().into()))?;
    // Every cell came from a `String`, so the bytes are UTF-8; lossy conversion cannot lose anything.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
