//! Questions both documents ask of the map: which activities are the organisation's own, who receives
//! an activity's data, which retention rules cover it, where data leaves a regime's territory, and
//! which CCPA categories were collected.

use std::collections::BTreeMap;

use pactum_domain::catalog::Catalog;
use pactum_domain::model::{
    Activity, DataMap, Processor, Regime, RetentionRule, Role, TransferMechanism,
};
use pactum_domain::rules;
use pactum_domain::taxonomy::is_same_or_descendant;

/// Activities the organisation runs as controller or joint controller, in declaration order.
pub(crate) fn controller_activities(map: &DataMap) -> Vec<(&str, &Activity)> {
    map.activities
        .iter()
        .filter(|(_, a)| a.role != Role::Processor)
        .map(|(k, a)| (k.as_str(), a))
        .collect()
}

/// Activities the organisation runs as a processor on someone else's behalf.
pub(crate) fn processor_activities(map: &DataMap) -> Vec<(&str, &Activity)> {
    map.activities
        .iter()
        .filter(|(_, a)| a.role == Role::Processor)
        .map(|(k, a)| (k.as_str(), a))
        .collect()
}

/// Purpose keys used by controller activities, in the order purposes are declared (undeclared keys
/// last, in order of first use).
pub(crate) fn controller_purposes(map: &DataMap) -> Vec<&str> {
    let used: Vec<&str> = controller_activities(map)
        .iter()
        .flat_map(|(_, a)| a.purposes.iter().map(String::as_str))
        .collect();
    order_by_declaration(map.purposes.keys().map(String::as_str), &used)
}

/// Subject keys used by controller activities, declared subjects first.
pub(crate) fn controller_subjects(map: &DataMap) -> Vec<&str> {
    let used: Vec<&str> = controller_activities(map)
        .iter()
        .flat_map(|(_, a)| a.subjects.iter().map(String::as_str))
        .collect();
    order_by_declaration(map.subjects.keys().map(String::as_str), &used)
}

fn order_by_declaration<'a>(
    declared: impl Iterator<Item = &'a str>,
    used: &[&'a str],
) -> Vec<&'a str> {
    let mut out: Vec<&str> = declared.filter(|k| used.contains(k)).collect();
    for key in used {
        if !out.contains(key) {
            out.push(key);
        }
    }
    out
}

/// True when the processor serves only processing done on others' behalf: every purpose it names is
/// used by processor activities and by no controller activity. Such subprocessors are not recipients
/// of the organisation's own data, so the controller's notice does not list them as such.
pub(crate) fn serves_only_processing_for_others(map: &DataMap, processor: &Processor) -> bool {
    let own = controller_purposes(map);
    let others: Vec<&str> = processor_activities(map)
        .iter()
        .flat_map(|(_, a)| a.purposes.iter().map(String::as_str))
        .collect();
    !processor.purposes.is_empty()
        && processor
            .purposes
            .iter()
            .all(|p| others.contains(&p.as_str()) && !own.contains(&p.as_str()))
}

/// True when a retention rule covers only data held for others: its categories are used by no
/// controller activity and its collections all belong to processor-role datastores.
pub(crate) fn rule_covers_only_processing_for_others(map: &DataMap, rule: &RetentionRule) -> bool {
    let scope = &rule.applies_to;
    if scope.categories.is_empty() && scope.collections.is_empty() {
        return false;
    }
    let own = categories_of(&controller_activities(map));
    let categories_for_others = scope.categories.iter().all(|c| {
        !own.iter()
            .any(|o| is_same_or_descendant(o, c) || is_same_or_descendant(c, o))
    });
    let collections_for_others = scope.collections.iter().all(|c| {
        c.split_once('.')
            .and_then(|(ds, _)| map.datastores.get(ds))
            .is_some_and(|ds| ds.role == Role::Processor)
    });
    categories_for_others && collections_for_others
}

/// Processors whose purposes intersect `purposes`: the recipients of an activity's data.
pub(crate) fn recipients_for<'m>(
    map: &'m DataMap,
    purposes: &[String],
) -> Vec<(&'m str, &'m Processor)> {
    map.processors
        .iter()
        .filter(|(_, p)| p.purposes.iter().any(|x| purposes.contains(x)))
        .map(|(k, p)| (k.as_str(), p))
        .collect()
}

/// A retention rule that covers some of an activity's data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Covering<'m> {
    pub key: &'m str,
    pub rule: &'m RetentionRule,
    /// The activity's categories the rule covers (a rule on `user.contact` covers
    /// `user.contact.email`; a rule on `user.contact.email` covers part of `user.contact`).
    pub categories: Vec<&'m str>,
    /// The rule's collections that belong to the activity's systems.
    pub collections: Vec<&'m str>,
}

/// Retention rules that cover the given categories, or collections of datastores of the given systems.
pub(crate) fn retention_for<'m>(
    map: &'m DataMap,
    categories: &'m [String],
    systems: &[String],
) -> Vec<Covering<'m>> {
    let mut out = Vec::new();
    for (key, rule) in &map.retention {
        let covered: Vec<&str> = categories
            .iter()
            .filter(|c| {
                rule.applies_to
                    .categories
                    .iter()
                    .any(|r| is_same_or_descendant(c, r) || is_same_or_descendant(r, c))
            })
            .map(String::as_str)
            .collect();
        let collections: Vec<&str> = rule
            .applies_to
            .collections
            .iter()
            .filter(|coll| collection_holds(map, coll, categories, systems))
            .map(String::as_str)
            .collect();
        if !covered.is_empty() || !collections.is_empty() {
            out.push(Covering {
                key,
                rule,
                categories: covered,
                collections,
            });
        }
    }
    out
}

/// True when `datastore.collection` belongs to one of `systems` and has a field of one of
/// `categories` (or of a broader or narrower category): the collection holds the activity's data.
fn collection_holds(
    map: &DataMap,
    reference: &str,
    categories: &[String],
    systems: &[String],
) -> bool {
    let Some((ds, coll)) = reference.split_once('.') else {
        return false;
    };
    let Some(ds) = map.datastores.get(ds) else {
        return false;
    };
    if !ds.system.as_ref().is_some_and(|s| systems.contains(s)) {
        return false;
    }
    ds.collections.get(coll).is_some_and(|c| {
        c.fields.values().flat_map(|f| &f.categories).any(|fc| {
            categories
                .iter()
                .any(|ac| is_same_or_descendant(fc, ac) || is_same_or_descendant(ac, fc))
        })
    })
}

/// Data sent to a country outside the territory of at least one regime that applies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transfer<'m> {
    pub country: &'m str,
    /// The regimes under which sending data there is a transfer.
    pub regimes: Vec<Regime>,
    /// The declared safeguard, or `Adequacy` when every such regime finds the country adequate.
    pub mechanism: Option<TransferMechanism>,
}

/// The international transfers a processor's countries amount to, under the organisation's regimes.
pub(crate) fn transfers<'m>(map: &DataMap, processor: &'m Processor) -> Vec<Transfer<'m>> {
    let regimes = applicable_regimes(map);
    let mut out = Vec::new();
    for country in &processor.countries {
        let under: Vec<Regime> = regimes
            .iter()
            .copied()
            .filter(|r| rules::rules(*r).is_transfer(country))
            .collect();
        if under.is_empty() {
            continue;
        }
        let adequate = under.iter().all(|r| rules::rules(*r).is_adequate(country));
        let mechanism = processor
            .transfer
            .or(adequate.then_some(TransferMechanism::Adequacy));
        out.push(Transfer {
            country,
            regimes: under,
            mechanism,
        });
    }
    out
}

/// The organisation's regimes, in the order they are declared, without repeats.
pub(crate) fn applicable_regimes(map: &DataMap) -> Vec<Regime> {
    let mut out: Vec<Regime> = Vec::new();
    for r in map.organisation.iter().flat_map(|o| &o.regimes) {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

/// CCPA category letter -> the personal-data category keys of the given activities that fall under it.
pub(crate) fn ccpa_letters<'m>(
    map: &'m DataMap,
    activities: &[(&'m str, &'m Activity)],
) -> BTreeMap<char, Vec<&'m str>> {
    let catalog = Catalog::new(map);
    let mut out: BTreeMap<char, Vec<&str>> = BTreeMap::new();
    for (_, activity) in activities {
        for category in &activity.categories {
            let traits = catalog.traits(category);
            if !traits.personal {
                continue;
            }
            for letter in traits.ccpa {
                let keys = out.entry(letter).or_default();
                if !keys.contains(&category.as_str()) {
                    keys.push(category);
                }
            }
        }
    }
    out
}

/// Category keys of the given activities, without repeats, in order of first use.
pub(crate) fn categories_of<'m>(activities: &[(&'m str, &'m Activity)]) -> Vec<&'m str> {
    let mut out: Vec<&str> = Vec::new();
    for (_, a) in activities {
        for c in &a.categories {
            if !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pactum_domain::model::{
        Activity, Organisation, RetentionAction, RetentionEvent, RetentionScope,
    };

    fn activity(categories: &[&str], purposes: &[&str]) -> Activity {
        Activity {
            name: "A".into(),
            subjects: vec!["customer".into()],
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            purposes: purposes.iter().map(|c| (*c).to_owned()).collect(),
            ..Activity::default()
        }
    }

    fn processor(
        purposes: &[&str],
        countries: &[&str],
        transfer: Option<TransferMechanism>,
    ) -> Processor {
        Processor {
            name: "P".into(),
            service: "S".into(),
            purposes: purposes.iter().map(|c| (*c).to_owned()).collect(),
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            transfer,
            ..Processor::default()
        }
    }

    #[test]
    fn ccpa_letters_group_categories_and_skip_non_personal() {
        let mut map = DataMap::default();
        map.activities.insert(
            "a".into(),
            activity(
                &[
                    "user.contact.email",
                    "user.name",
                    "user.financial.credit_card",
                    "system.operations",
                ],
                &["p"],
            ),
        );
        let acts = controller_activities(&map);
        let letters = ccpa_letters(&map, &acts);
        assert_eq!(
            letters.get(&'A'),
            Some(&vec!["user.contact.email", "user.name"])
        );
        assert_eq!(
            letters.get(&'B'),
            Some(&vec!["user.name", "user.financial.credit_card"])
        );
        assert_eq!(letters.get(&'L'), Some(&vec!["user.financial.credit_card"]));
        assert_eq!(
            letters.len(),
            3,
            "system.operations is not personal data: {letters:?}"
        );
    }

    #[test]
    fn recipients_are_processors_sharing_a_purpose() {
        let mut map = DataMap::default();
        map.processors.insert(
            "host".into(),
            processor(&["service", "support"], &["IE"], None),
        );
        map.processors
            .insert("mail".into(), processor(&["newsletter"], &["US"], None));
        let found: Vec<&str> = recipients_for(&map, &["support".to_owned()])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(found, ["host"]);
        assert!(recipients_for(&map, &["billing".to_owned()]).is_empty());
    }

    #[test]
    fn retention_covers_descendants_ancestors_and_system_collections() {
        let mut map = DataMap::default();
        let rule = |cats: &[&str], colls: &[&str]| RetentionRule {
            description: None,
            applies_to: RetentionScope {
                categories: cats.iter().map(|c| (*c).to_owned()).collect(),
                collections: colls.iter().map(|c| (*c).to_owned()).collect(),
                records: vec![],
            },
            period: "1 year".into(),
            from: RetentionEvent::Creation,
            action: RetentionAction::Delete,
            statutory_minimum: None,
            legal_hold_overrides: true,
        };
        map.retention
            .insert("contact".into(), rule(&["user.contact"], &[]));
        map.retention
            .insert("email_only".into(), rule(&["user.contact.email"], &[]));
        map.retention
            .insert("health".into(), rule(&["user.health_and_medical"], &[]));
        map.retention.insert("logs".into(), rule(&[], &["db.logs"]));
        // A collection of the same system that holds none of the activity's categories.
        map.retention
            .insert("stats".into(), rule(&[], &["db.stats"]));
        map.datastores.insert(
            "db".into(),
            pactum_domain::model::Datastore {
                name: None,
                description: None,
                system: Some("app".into()),
                kind: pactum_domain::model::ConnectorKind::Postgres,
                connection_env: None,
                instructions: None,
                role: Role::Controller,
                controller: None,
                auth: None,
                collections: [
                    ("logs", "user.contact.email"),
                    ("stats", "user.device.ip_address"),
                ]
                .into_iter()
                .map(|(name, category)| {
                    let field = pactum_domain::model::Field {
                        categories: vec![category.to_owned()],
                        ..Default::default()
                    };
                    let collection = pactum_domain::model::Collection {
                        fields: [("f".to_owned(), field)].into_iter().collect(),
                        ..Default::default()
                    };
                    (name.to_owned(), collection)
                })
                .collect(),
            },
        );
        let categories = vec!["user.contact.email".to_owned(), "user.contact".to_owned()];
        let found = retention_for(&map, &categories, &["app".to_owned()]);
        let keys: Vec<(&str, Vec<&str>, Vec<&str>)> = found
            .iter()
            .map(|c| (c.key, c.categories.clone(), c.collections.clone()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "contact",
                    vec!["user.contact.email", "user.contact"],
                    vec![]
                ),
                (
                    "email_only",
                    vec!["user.contact.email", "user.contact"],
                    vec![]
                ),
                ("logs", vec![], vec!["db.logs"]),
            ]
        );
        assert!(retention_for(&map, &categories, &["other".to_owned()]).len() == 2);
    }

    #[test]
    fn transfers_follow_the_regimes_that_apply() {
        let mut map = DataMap {
            organisation: Some(Organisation {
                regimes: vec![Regime::Gdpr, Regime::UkGdpr, Regime::Ccpa],
                ..Organisation::default()
            }),
            ..DataMap::default()
        };
        let p = processor(&[], &["IE", "US", "JP"], Some(TransferMechanism::Sccs));
        let t = transfers(&map, &p);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].country, "IE");
        assert_eq!(
            t[0].regimes,
            [Regime::UkGdpr],
            "IE is inside the EEA but outside the UK"
        );
        assert_eq!(t[1].regimes, [Regime::Gdpr, Regime::UkGdpr]);
        assert_eq!(t[1].mechanism, Some(TransferMechanism::Sccs));
        let japan = processor(&[], &["JP"], None);
        assert_eq!(
            transfers(&map, &japan)[0].mechanism,
            Some(TransferMechanism::Adequacy)
        );
        let us = processor(&[], &["US"], None);
        assert_eq!(transfers(&map, &us)[0].mechanism, None);
        map.organisation = Some(Organisation {
            regimes: vec![Regime::Ccpa],
            ..Organisation::default()
        });
        assert!(
            transfers(&map, &p).is_empty(),
            "the CCPA has no transfer rules"
        );
    }
}
