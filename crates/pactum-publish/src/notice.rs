//! The privacy notice as a structured value: sections of headings, paragraphs, lists and tables.
//!
//! [`build`] derives it from a [`DataMap`]; [`crate::markdown`] and [`crate::html`] render it, and it
//! serialises to JSON as it is.
//!
//! **Invariant:** every sentence is driven by something the map declares. When the map is silent
//! about a topic, the sentence (or the whole section) is left out rather than filled with a default.

use pactum_domain::catalog::Catalog;
use pactum_domain::model::{
    Activity, Contact, DataMap, LegalBasis, Organisation, Processor, Regime, RetentionRule,
    SignalPolicy, Source,
};
use pactum_domain::rules;
use pactum_domain::taxonomy::ccpa_category_name;
use serde::Serialize;

use crate::derive;
use crate::wording;

/// A whole privacy notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The document's language (BCP 47); the generated wording is English.
    pub lang: String,
    /// The page title and only top-level heading.
    pub title: String,
    /// The controller's legal name.
    pub organisation: String,
    /// `organisation.notice.version`.
    pub version: String,
    /// `organisation.notice.last_updated` as written in the map (`YYYY-MM-DD`).
    pub last_updated: String,
    /// Top-level sections in reading order.
    pub sections: Vec<Section>,
}

/// A section: a heading, its content, then its subsections (one heading level deeper).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// A stable anchor, unique in the notice (`rights`, `rights-gdpr`).
    pub id: String,
    pub heading: String,
    pub blocks: Vec<Block>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subsections: Vec<Section>,
}

/// A block of content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of running text.
    Paragraph { content: Vec<Inline> },
    /// A bulleted list; each item is a line of inline content.
    List { items: Vec<Vec<Inline>> },
    /// A table whose first column heads its rows.
    Table(Table),
}

/// A table with a caption, column headings, and cells of inline content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

/// A run of inline content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// Emphasised text (a label such as "Email:").
    Strong(String),
    /// A link; renderers only emit `http(s):`, `mailto:` and `tel:` targets as links.
    Link { text: String, href: String },
    /// A line break inside a table cell (`<br>` in both HTML and Markdown, whose tables cannot
    /// otherwise break lines).
    Break,
}

fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

fn para(content: Vec<Inline>) -> Block {
    Block::Paragraph { content }
}

fn sentence(s: impl Into<String>) -> Block {
    para(vec![text(s)])
}

fn section(id: &str, heading: &str, blocks: Vec<Block>) -> Section {
    Section {
        id: id.to_owned(),
        heading: heading.to_owned(),
        blocks,
        subsections: Vec::new(),
    }
}

/// Builds the notice from a map. A map without an `organisation` section still yields a notice, but
/// callers should refuse to publish from a map with errors (the checks report the missing section).
pub fn build(map: &DataMap) -> Notice {
    let builder = Builder {
        map,
        catalog: Catalog::new(map),
        regimes: derive::applicable_regimes(map),
    };
    let org_name = map
        .organisation
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let sections: Vec<Section> = [
        builder.who_we_are(),
        builder.collection(),
        builder.sources(),
        builder.purposes(),
        builder.sharing(),
        builder.transfers(),
        builder.retention(),
        builder.security(),
        builder.children(),
        builder.automated_decisions(),
        builder.rights(),
        builder.complaints(),
        builder.california(),
        builder.signals(),
        builder.on_behalf(),
        builder.business_transfers(),
        builder.changes(),
        builder.contact(),
    ]
    .into_iter()
    .flatten()
    .collect();
    Notice {
        lang: "en".to_owned(),
        title: if org_name.is_empty() {
            "Privacy notice".to_owned()
        } else {
            format!("{org_name} privacy notice")
        },
        organisation: org_name,
        version: map
            .organisation
            .as_ref()
            .map(|o| o.notice.version.clone())
            .unwrap_or_default(),
        last_updated: map
            .organisation
            .as_ref()
            .map(|o| o.notice.last_updated.clone())
            .unwrap_or_default(),
        sections,
    }
}

struct Builder<'m> {
    map: &'m DataMap,
    catalog: Catalog<'m>,
    regimes: Vec<Regime>,
}

/// A contact block as list items: one line per declared channel.
fn contact_items(contact: &Contact) -> Vec<Vec<Inline>> {
    let mut items = Vec::new();
    if let Some(name) = &contact.name {
        items.push(vec![
            Inline::Strong("Name:".into()),
            text(format!(" {name}")),
        ]);
    }
    if let Some(address) = &contact.address {
        items.push(vec![
            Inline::Strong("Address:".into()),
            text(format!(" {address}")),
        ]);
    }
    if let Some(email) = &contact.email {
        items.push(vec![
            Inline::Strong("Email:".into()),
            text(" "),
            Inline::Link {
                text: email.clone(),
                href: format!("mailto:{email}"),
            },
        ]);
    }
    if let Some(phone) = &contact.phone {
        let digits: String = phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        items.push(vec![
            Inline::Strong("Phone:".into()),
            text(" "),
            Inline::Link {
                text: phone.clone(),
                href: format!("tel:{digits}"),
            },
        ]);
    }
    if let Some(url) = &contact.url {
        items.push(vec![
            Inline::Strong("Web:".into()),
            text(" "),
            Inline::Link {
                text: url.clone(),
                href: url.clone(),
            },
        ]);
    }
    items
}

/// A contact on one line: "Name, address, email, phone, url" with links.
fn contact_inline(contact: &Contact) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut push = |parts: Vec<Inline>| {
        if !out.is_empty() {
            out.push(text(", "));
        }
        out.extend(parts);
    };
    if let Some(name) = &contact.name {
        push(vec![text(name.clone())]);
    }
    if let Some(address) = &contact.address {
        push(vec![text(address.clone())]);
    }
    for item in contact_items(&Contact {
        name: None,
        address: None,
        ..contact.clone()
    }) {
        // Drop the "Email:" label: on one line the link speaks for itself.
        push(
            item.into_iter()
                .filter(|i| matches!(i, Inline::Link { .. }))
                .collect(),
        );
    }
    out
}

fn list(items: Vec<Vec<Inline>>) -> Option<Block> {
    (!items.is_empty()).then_some(Block::List { items })
}

impl<'m> Builder<'m> {
    fn org(&self) -> Option<&'m Organisation> {
        self.map.organisation.as_ref()
    }

    fn we(&self) -> String {
        self.org()
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "We".to_owned())
    }

    /// Processors and recipients of the organisation's own data (not subprocessors serving only
    /// processing done for customers).
    fn own_recipients(&self) -> Vec<&'m Processor> {
        self.map
            .processors
            .values()
            .filter(|p| !derive::serves_only_processing_for_others(self.map, p))
            .collect()
    }

    fn purpose_name(&self, key: &str) -> String {
        self.map
            .purposes
            .get(key)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| key.to_owned())
    }

    fn category_names(&self, keys: &[String]) -> String {
        let names: Vec<String> = keys.iter().map(|k| self.catalog.category_name(k)).collect();
        names.join(", ")
    }

    fn regime_label(&self, regime: Regime) -> &'static str {
        rules::rules(regime).label
    }

    fn who_we_are(&self) -> Option<Section> {
        let org = self.org()?;
        let mut blocks = Vec::new();
        let called = org
            .trading_name
            .as_ref()
            .map(|t| format!(" (trading as {t})"))
            .unwrap_or_default();
        blocks.push(sentence(format!(
            "This notice explains how {}{called} collects, uses, shares and protects personal data. {} is the controller of that data.",
            org.name, org.name
        )));
        if let Some(description) = &org.description {
            blocks.push(sentence(description.clone()));
        }
        let subjects = derive::controller_subjects(self.map);
        if !subjects.is_empty() {
            let names: Vec<String> = subjects
                .iter()
                .map(|s| self.catalog.subject_name(s))
                .collect();
            blocks.push(sentence(format!(
                "It covers the personal data of these groups of people: {}.",
                wording::and_list(&names)
            )));
        }
        if let Some(website) = &org.website {
            blocks.push(para(vec![
                text("Our website: "),
                Inline::Link {
                    text: website.clone(),
                    href: website.clone(),
                },
                text("."),
            ]));
        }
        blocks.push(sentence("You can reach us at:"));
        blocks.extend(list(contact_items(&org.contact)));
        let mut section = section("who-we-are", "Who we are", blocks);
        if let Some(dpo) = &org.dpo {
            let mut blocks = vec![sentence("Our data protection officer can be reached at:")];
            blocks.extend(list(contact_items(dpo)));
            section
                .subsections
                .push(self::section("dpo", "Data protection officer", blocks));
        }
        if !org.representatives.is_empty() {
            let items = org
                .representatives
                .iter()
                .map(|(regime, contact)| {
                    let mut line = vec![
                        Inline::Strong(format!("{}:", self.regime_label(*regime))),
                        text(" "),
                    ];
                    line.extend(contact_inline(contact));
                    line
                })
                .collect();
            section.subsections.push(self::section(
                "representatives",
                "Our representatives",
                vec![
                    sentence("Our representatives for people in these jurisdictions:"),
                    Block::List { items },
                ],
            ));
        }
        Some(section)
    }

    fn limit_cell(&self, purposes: &[String]) -> Vec<Inline> {
        let mut out = Vec::new();
        for key in purposes {
            let Some(limit) = self.map.purposes.get(key).and_then(|p| p.limit.as_ref()) else {
                continue;
            };
            if !out.is_empty() {
                out.push(Inline::Break);
            }
            if purposes.len() > 1 {
                out.push(Inline::Strong(format!("{}:", self.purpose_name(key))));
                out.push(text(" "));
            }
            out.push(text(format!(
                "{} {}",
                if limit.possible { "Yes." } else { "No." },
                limit.how
            )));
        }
        out
    }

    fn why_cell(&self, purposes: &[String]) -> Vec<Inline> {
        let mut out = Vec::new();
        for key in purposes {
            if !out.is_empty() {
                out.push(Inline::Break);
            }
            match self.map.purposes.get(key) {
                Some(p) => {
                    out.push(Inline::Strong(format!("{}:", p.name)));
                    out.push(text(format!(" {}", p.description)));
                }
                None => out.push(text(key.clone())),
            }
        }
        out
    }

    fn collection(&self) -> Option<Section> {
        let activities = derive::controller_activities(self.map);
        if activities.is_empty() {
            return None;
        }
        let mut section = section(
            "what-we-collect",
            "What we collect and why",
            vec![sentence(
                "For each group of people, the table lists the personal data we collect, why we collect it, and whether you can limit it.",
            )],
        );
        for subject in derive::controller_subjects(self.map) {
            let name = self.catalog.subject_name(subject);
            let mut blocks = Vec::new();
            if let Some(description) = self
                .map
                .subjects
                .get(subject)
                .and_then(|s| s.description.clone())
            {
                blocks.push(sentence(description));
            }
            let rows = activities
                .iter()
                .filter(|(_, a)| a.subjects.iter().any(|s| s == subject))
                .map(|(_, a)| {
                    vec![
                        vec![
                            Inline::Strong(a.name.clone()),
                            Inline::Break,
                            text(self.category_names(&a.categories)),
                        ],
                        self.why_cell(&a.purposes),
                        or_dash(self.limit_cell(&a.purposes)),
                    ]
                })
                .collect();
            blocks.push(Block::Table(Table {
                caption: format!("Personal data we collect about {}", name.to_lowercase()),
                columns: vec![
                    "What we collect".into(),
                    "Why we collect it".into(),
                    "Can you limit it?".into(),
                ],
                rows,
            }));
            section.subsections.push(Section {
                id: format!("collect-{}", slug(subject)),
                heading: name,
                blocks,
                subsections: Vec::new(),
            });
        }
        Some(section)
    }

    fn sources(&self) -> Option<Section> {
        let items: Vec<Vec<Inline>> = derive::controller_activities(self.map)
            .iter()
            .filter(|(_, a)| !a.sources.is_empty())
            .map(|(_, a)| {
                let mut sources: Vec<String> = a
                    .sources
                    .iter()
                    .map(|s| wording::source(*s).to_owned())
                    .collect();
                if let (Some(detail), Some(i)) = (
                    &a.source_detail,
                    a.sources.iter().position(|s| *s == Source::ThirdParty),
                ) {
                    sources[i] = format!("{} ({})", sources[i], detail.trim_end_matches('.'));
                }
                vec![
                    Inline::Strong(format!("{}:", a.name)),
                    text(format!(" {}.", capitalise(&wording::and_list(&sources)))),
                ]
            })
            .collect();
        let block = list(items)?;
        Some(section("sources", "Where the data comes from", vec![block]))
    }

    fn purposes(&self) -> Option<Section> {
        let keys = derive::controller_purposes(self.map);
        if keys.is_empty() {
            return None;
        }
        let mut section = section(
            "purposes",
            "Purposes and legal bases",
            vec![sentence("We use personal data for the following purposes.")],
        );
        for key in keys {
            let Some(purpose) = self.map.purposes.get(key) else {
                continue;
            };
            let mut blocks = vec![sentence(purpose.description.clone())];
            // Group regimes that rely on the same basis: "EU GDPR and UK GDPR: consent".
            let mut groups: Vec<(LegalBasis, Vec<&str>)> = Vec::new();
            for (regime, basis) in &purpose.legal_basis {
                match groups.iter_mut().find(|(b, _)| b == basis) {
                    Some((_, labels)) => labels.push(self.regime_label(*regime)),
                    None => groups.push((*basis, vec![self.regime_label(*regime)])),
                }
            }
            for (basis, labels) in &groups {
                blocks.push(para(vec![
                    Inline::Strong("Legal basis:".into()),
                    text(format!(
                        " {} (under {}).",
                        capitalise(wording::legal_basis(*basis)),
                        wording::and_list(labels)
                    )),
                ]));
            }
            if let Some(interest) = &purpose.legitimate_interest {
                blocks.push(para(vec![
                    Inline::Strong("Our legitimate interest:".into()),
                    text(format!(" {interest}")),
                ]));
            }
            if let Some(condition) = purpose.special_condition {
                blocks.push(para(vec![
                    Inline::Strong("Special-category data:".into()),
                    text(format!(
                        " we rely on {}.",
                        wording::special_condition(condition)
                    )),
                ]));
            }
            if let Some(requirement) = &purpose.requirement {
                blocks.push(para(vec![
                    Inline::Strong("Do you have to provide the data?".into()),
                    text(format!(" {requirement}")),
                ]));
            }
            if let Some(withdraw) = &purpose.withdraw {
                blocks.push(para(vec![
                    Inline::Strong("Withdrawing consent:".into()),
                    text(format!(" {withdraw}")),
                ]));
            }
            if purpose.direct_marketing
                && self
                    .regimes
                    .iter()
                    .any(|r| matches!(r, Regime::Gdpr | Regime::UkGdpr))
            {
                blocks.push(sentence(
                    "This is direct marketing: you can object to it at any time, and we will stop.",
                ));
            }
            section.subsections.push(Section {
                id: format!("purpose-{}", slug(key)),
                heading: purpose.name.clone(),
                blocks,
                subsections: Vec::new(),
            });
        }
        Some(section)
    }

    fn sharing(&self) -> Option<Section> {
        let mut blocks = Vec::new();
        if let Some(promises) = &self.map.promises {
            if promises.no_sale {
                blocks.push(para(vec![Inline::Strong(
                    "We do not sell personal data.".into(),
                )]));
            }
            if promises.no_sharing {
                blocks.push(para(vec![Inline::Strong(
                    "We do not share personal data for cross-context behavioural advertising."
                        .into(),
                )]));
            }
        }
        let own: Vec<&Processor> = self.own_recipients();
        if !own.is_empty() {
            blocks.push(sentence(
                "These service providers and other recipients receive personal data from us, only for the purposes listed:",
            ));
            let rows = own
                .iter()
                .map(|p| {
                    let mut role = wording::recipient_role(p.role).to_owned();
                    if let Some(parent) = p.parent.as_ref() {
                        let parent = self
                            .map
                            .processors
                            .get(parent)
                            .map(|x| x.name.clone())
                            .unwrap_or_else(|| parent.clone());
                        role = format!("{role} (engaged by {parent})");
                    }
                    let purposes: Vec<String> =
                        p.purposes.iter().map(|k| self.purpose_name(k)).collect();
                    let name = match &p.url {
                        Some(url) => vec![Inline::Link {
                            text: p.name.clone(),
                            href: url.clone(),
                        }],
                        None => vec![text(p.name.clone())],
                    };
                    vec![
                        name,
                        vec![text(format!("{} ({role})", p.service))],
                        vec![text(self.category_names(&p.categories))],
                        vec![text(purposes.join(", "))],
                        vec![text(p.countries.join(", "))],
                    ]
                })
                .collect();
            blocks.push(Block::Table(Table {
                caption: "Recipients of personal data".into(),
                columns: vec![
                    "Recipient".into(),
                    "Service".into(),
                    "Data they receive".into(),
                    "Purposes".into(),
                    "Where".into(),
                ],
                rows,
            }));
        }
        (!blocks.is_empty()).then(|| section("sharing", "Who we share data with", blocks))
    }

    fn transfers(&self) -> Option<Section> {
        let mut rows = Vec::new();
        let mut regimes: Vec<Regime> = Vec::new();
        for p in self.own_recipients() {
            for t in derive::transfers(self.map, p) {
                for r in &t.regimes {
                    if !regimes.contains(r) {
                        regimes.push(*r);
                    }
                }
                rows.push(vec![
                    vec![text(p.name.clone())],
                    vec![text(t.country.to_owned())],
                    vec![text(
                        t.mechanism
                            .map(|m| capitalise(wording::mechanism(m)))
                            .unwrap_or_else(|| "None declared".to_owned()),
                    )],
                ]);
            }
        }
        if rows.is_empty() {
            return None;
        }
        let outside: Vec<&str> = regimes.iter().map(|r| wording::territory(*r)).collect();
        Some(section(
            "transfers",
            "International transfers",
            vec![
                sentence(format!(
                    "Some recipients process personal data outside {}. Each such transfer and its safeguard:",
                    wording::and_list(&outside).replace(" and ", " or ")
                )),
                Block::Table(Table {
                    caption: "International transfers and their safeguards".into(),
                    columns: vec!["Recipient".into(), "Country".into(), "Safeguard".into()],
                    rows,
                }),
            ],
        ))
    }

    fn retention(&self) -> Option<Section> {
        let mut rows = Vec::new();
        let rules: Vec<&RetentionRule> = self
            .map
            .retention
            .values()
            .filter(|r| !derive::rule_covers_only_processing_for_others(self.map, r))
            .collect();
        for rule in &rules {
            let mut what: Vec<String> = rule
                .applies_to
                .categories
                .iter()
                .map(|c| self.catalog.category_name(c))
                .collect();
            what.extend(rule.applies_to.records.iter().cloned());
            what.extend(
                rule.applies_to
                    .collections
                    .iter()
                    .map(|c| self.collection_name(c)),
            );
            let what: Vec<&str> = what.iter().map(|w| w.trim_end_matches('.')).collect();
            let what = match &rule.description {
                Some(d) => format!("{}: {}", d.trim_end_matches('.'), what.join(", ")),
                None => what.join(", "),
            };
            rows.push(vec![
                vec![text(what)],
                vec![text(wording::period(&rule.period))],
                vec![text(capitalise(&self.event(&rule.from)))],
                vec![text(capitalise(wording::retention_action(rule.action)))],
                vec![text(
                    rule.statutory_minimum
                        .as_ref()
                        .map(|m| format!("{} ({})", wording::period(&m.period), m.law))
                        .unwrap_or_else(|| "—".to_owned()),
                )],
            ]);
        }
        if rows.is_empty() {
            return None;
        }
        let mut blocks = vec![
            sentence(
                "We keep personal data for the periods below, counted from the event shown; when a period ends the data is deleted, anonymised or reviewed as stated.",
            ),
            Block::Table(Table {
                caption: "Retention periods".into(),
                columns: vec![
                    "Data".into(),
                    "Kept for".into(),
                    "Counted from".into(),
                    "Then".into(),
                    "Legal minimum".into(),
                ],
                rows,
            }),
        ];
        if rules.iter().any(|r| r.legal_hold_overrides) {
            blocks.push(sentence(
                "If a legal hold applies (for example during litigation or an investigation), we keep the affected data until the hold ends.",
            ));
        }
        Some(section("retention", "How long we keep data", blocks))
    }

    fn event(&self, event: &pactum_domain::model::RetentionEvent) -> String {
        // A date field is shown by its description when it has one.
        if let pactum_domain::model::RetentionEvent::Field(field) = event {
            let described = self.map.datastores.iter().find_map(|(ds, _)| {
                self.catalog
                    .resolve_field(ds, field)
                    .and_then(|f| f.def.description.clone())
            });
            if let Some(d) = described {
                return d.trim_end_matches('.').to_owned();
            }
        }
        wording::retention_event(event)
    }

    fn collection_name(&self, reference: &str) -> String {
        reference
            .split_once('.')
            .and_then(|(ds, c)| {
                self.map
                    .datastores
                    .get(ds)?
                    .collections
                    .get(c)?
                    .description
                    .clone()
            })
            .unwrap_or_else(|| reference.to_owned())
    }

    fn security(&self) -> Option<Section> {
        let mut blocks = Vec::new();
        let measures = self
            .org()
            .map(|o| o.security_measures.as_slice())
            .unwrap_or_default();
        if !measures.is_empty() {
            blocks.push(sentence(
                "We protect personal data with these technical and organisational measures:",
            ));
            blocks.push(Block::List {
                items: measures.iter().map(|m| vec![text(m.clone())]).collect(),
            });
        }
        if self
            .map
            .promises
            .as_ref()
            .is_some_and(|p| p.no_payment_card_storage)
        {
            blocks.push(para(vec![Inline::Strong(
                "We do not store payment card data.".into(),
            )]));
        }
        if let Some(breach) = self.org().and_then(|o| o.breach_notification.as_ref()) {
            blocks.push(sentence(breach.clone()));
        }
        (!blocks.is_empty()).then(|| section("security", "How we protect data", blocks))
    }

    fn business_transfers(&self) -> Option<Section> {
        let text = self.org()?.business_transfers.as_ref()?;
        Some(section(
            "business-transfers",
            "If our business changes hands",
            vec![sentence(text.clone())],
        ))
    }

    fn children(&self) -> Option<Section> {
        let mut blocks = Vec::new();
        if let Some(children) = self.map.promises.as_ref().and_then(|p| p.children.as_ref()) {
            blocks.push(sentence(format!(
                "Our services are not directed at children under {}, and we do not knowingly collect their personal data.",
                children.min_age
            )));
            blocks.push(para(vec![
                text(format!(
                    "If we learn that we hold personal data of a child under {}: ",
                    children.min_age
                )),
                text(children.on_discovery.clone()),
            ]));
        }
        let items: Vec<Vec<Inline>> = self
            .map
            .subjects
            .values()
            .filter(|s| s.min_age.is_some() || s.children)
            .map(|s| {
                let mut line = vec![Inline::Strong(format!("{}:", s.name))];
                match (s.children, s.min_age) {
                    (true, Some(age)) => line.push(text(format!(" children aged {age} or over."))),
                    (true, None) => line.push(text(" children.")),
                    (false, Some(age)) => line.push(text(format!(" you must be {age} or over."))),
                    (false, None) => {}
                }
                line
            })
            .collect();
        if !items.is_empty() {
            blocks.push(sentence(
                "Age requirements for the people whose data we process:",
            ));
            blocks.push(Block::List { items });
        }
        (!blocks.is_empty()).then(|| section("children", "Children", blocks))
    }

    fn automated_decisions(&self) -> Option<Section> {
        let purposes = derive::controller_purposes(self.map);
        let flagged = |f: fn(&pactum_domain::model::Purpose) -> bool| -> Vec<String> {
            purposes
                .iter()
                .filter_map(|k| self.map.purposes.get(*k))
                .filter(|p| f(p))
                .map(|p| p.name.clone())
                .collect()
        };
        let automated = flagged(|p| p.automated_decisions);
        let profiling = flagged(|p| p.profiling);
        let mut blocks = Vec::new();
        if !automated.is_empty() {
            blocks.push(sentence(format!(
                "We make solely automated decisions with legal or similarly significant effects for: {}. You can ask for a person to review such a decision, express your view and contest it.",
                wording::and_list(&automated)
            )));
        } else if self
            .map
            .promises
            .as_ref()
            .is_some_and(|p| p.no_automated_decisions)
        {
            blocks.push(sentence(
                "We do not make decisions about you based solely on automated processing that have legal or similarly significant effects.",
            ));
        }
        if !profiling.is_empty() {
            blocks.push(sentence(format!(
                "We use profiling (automated evaluation of personal aspects) for: {}.",
                wording::and_list(&profiling)
            )));
        } else if self.map.promises.as_ref().is_some_and(|p| p.no_profiling) {
            blocks.push(sentence("We do not use your personal data for profiling."));
        }
        (!blocks.is_empty()).then(|| {
            section(
                "automated-decisions",
                "Automated decisions and profiling",
                blocks,
            )
        })
    }

    fn rights(&self) -> Option<Section> {
        let rights = self.map.rights.as_ref()?;
        let mut blocks = vec![sentence("To exercise any of your rights, contact us:")];
        blocks.extend(list(contact_items(&rights.contact)));
        blocks.push(para(vec![
            Inline::Strong("Verifying your identity:".into()),
            text(format!(" {}", rights.verification)),
        ]));
        blocks.push(para(vec![
            Inline::Strong("Response time:".into()),
            text(if rights.response_days_by_regime.is_empty() {
                format!(" we respond within {} days.", rights.response_days)
            } else {
                format!(
                    " we respond within {} days, unless a different time is given below for the law that applies to you.",
                    rights.response_days
                )
            }),
        ]));
        if let Some(agents) = &rights.authorised_agents {
            blocks.push(para(vec![
                Inline::Strong("Authorised agents:".into()),
                text(format!(" {agents}")),
            ]));
        }
        if let Some(appeal) = &rights.appeal {
            blocks.push(para(vec![
                Inline::Strong("If we refuse your request:".into()),
                text(format!(" {appeal}")),
            ]));
        }
        let mut section = section("rights", "Your rights", blocks);
        for (regime, granted) in &rights.regimes {
            if granted.is_empty() {
                continue;
            }
            let r = rules::rules(*regime);
            let mut law = format!(
                "We respond within {} days; the law allows at most {}",
                rights.response_days_for(*regime),
                r.response.describe()
            );
            if let Some(ext) = r.extension {
                law.push_str(&format!(", extendable by {} for complex or numerous requests, in which case we tell you why", ext.describe()));
            }
            law.push('.');
            section.subsections.push(Section {
                id: format!("rights-{}", slug(regime.key())),
                heading: r.label.to_owned(),
                blocks: vec![
                    sentence(format!("Under the {}, you have the right to:", r.name)),
                    Block::List {
                        items: granted
                            .iter()
                            .map(|g| vec![text(rules::right_label(*g))])
                            .collect(),
                    },
                    sentence(law),
                ],
                subsections: Vec::new(),
            });
        }
        Some(section)
    }

    fn complaints(&self) -> Option<Section> {
        let org = self.org()?;
        let mut blocks = Vec::new();
        if !org.authorities.is_empty() {
            blocks.push(sentence("You can complain to a supervisory authority:"));
            blocks.push(Block::List {
                items: org
                    .authorities
                    .iter()
                    .map(|(regime, contact)| {
                        let mut line = vec![
                            Inline::Strong(format!("{}:", self.regime_label(*regime))),
                            text(" "),
                        ];
                        line.extend(contact_inline(contact));
                        line
                    })
                    .collect(),
            });
        }
        if let Some(dispute) = &org.dispute_resolution {
            let mut line = vec![text("Independent dispute resolution: ")];
            line.extend(contact_inline(dispute));
            line.push(text("."));
            blocks.push(para(line));
        }
        (!blocks.is_empty()).then(|| section("complaints", "Complaints", blocks))
    }

    fn california(&self) -> Option<Section> {
        if !self.regimes.contains(&Regime::Ccpa) {
            return None;
        }
        let activities = derive::controller_activities(self.map);
        let letters = derive::ccpa_letters(self.map, &activities);
        let mut blocks = Vec::new();
        if !letters.is_empty() {
            blocks.push(sentence(
                "In the last 12 months we collected these categories of personal information, as the CCPA defines them:",
            ));
            let rows = letters
                .iter()
                .map(|(letter, keys)| {
                    let owned: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
                    let using: Vec<&(&str, &Activity)> = activities
                        .iter()
                        .filter(|(_, a)| a.categories.iter().any(|c| owned.contains(c)))
                        .collect();
                    let mut sources: Vec<&str> = Vec::new();
                    let mut purposes: Vec<String> = Vec::new();
                    for (_, a) in &using {
                        for s in &a.sources {
                            let w = wording::source(*s);
                            if !sources.contains(&w) {
                                sources.push(w);
                            }
                        }
                        for p in &a.purposes {
                            if !purposes.contains(p) {
                                purposes.push(p.clone());
                            }
                        }
                    }
                    let recipients: Vec<String> = self
                        .own_recipients()
                        .into_iter()
                        .filter(|p| {
                            p.categories.iter().any(|c| {
                                owned.iter().any(|o| {
                                    pactum_domain::taxonomy::is_same_or_descendant(o, c)
                                        || pactum_domain::taxonomy::is_same_or_descendant(c, o)
                                })
                            })
                        })
                        .map(|p| p.name.clone())
                        .collect();
                    let purpose_names: Vec<String> =
                        purposes.iter().map(|p| self.purpose_name(p)).collect();
                    vec![
                        vec![Inline::Strong(format!(
                            "{letter}. {}",
                            ccpa_category_name(*letter)
                        ))],
                        vec![text(self.category_names(&owned))],
                        vec![text(capitalise(&wording::and_list(&sources)))],
                        vec![text(purpose_names.join(", "))],
                        vec![text(if recipients.is_empty() {
                            "—".to_owned()
                        } else {
                            recipients.join(", ")
                        })],
                    ]
                })
                .collect();
            blocks.push(Block::Table(Table {
                caption: "Categories of personal information collected in the last 12 months"
                    .into(),
                columns: vec![
                    "CCPA category".into(),
                    "What it includes".into(),
                    "Sources".into(),
                    "Business purposes".into(),
                    "Disclosed to".into(),
                ],
                rows,
            }));
        }
        blocks.extend(self.sold_shared(&activities));
        let sensitive: Vec<String> = derive::categories_of(&activities)
            .into_iter()
            .filter(|c| self.catalog.traits(c).sensitive)
            .map(|c| c.to_owned())
            .collect();
        if !sensitive.is_empty() {
            let purposes: Vec<String> = activities
                .iter()
                .filter(|(_, a)| a.categories.iter().any(|c| sensitive.contains(c)))
                .flat_map(|(_, a)| a.purposes.iter().map(|p| self.purpose_name(p)))
                .fold(Vec::new(), |mut acc, p| {
                    if !acc.contains(&p) {
                        acc.push(p);
                    }
                    acc
                });
            blocks.push(sentence(format!(
                "We collect sensitive personal information ({}) and use it only for: {}.",
                self.category_names(&sensitive),
                wording::and_list(&purposes)
            )));
        }
        Some(section("california", "California residents (CCPA)", blocks))
    }

    fn sold_shared(&self, activities: &[(&'m str, &'m Activity)]) -> Vec<Block> {
        let mut blocks = Vec::new();
        for (verb, how, flag) in [
            (
                "sell",
                "",
                (|p: &pactum_domain::model::Purpose| p.sale)
                    as fn(&pactum_domain::model::Purpose) -> bool,
            ),
            ("share", " for cross-context behavioural advertising", |p| {
                p.sharing
            }),
        ] {
            let purposes: Vec<&str> = derive::controller_purposes(self.map)
                .into_iter()
                .filter(|k| self.map.purposes.get(*k).is_some_and(flag))
                .collect();
            if purposes.is_empty() {
                blocks.push(sentence(format!(
                    "We do not {verb} personal information{how}."
                )));
                continue;
            }
            let owned: Vec<String> = purposes.iter().map(|p| (*p).to_owned()).collect();
            let involved: Vec<(&str, &Activity)> = activities
                .iter()
                .filter(|(_, a)| a.purposes.iter().any(|p| owned.contains(p)))
                .copied()
                .collect();
            let letters: Vec<String> = derive::ccpa_letters(self.map, &involved)
                .keys()
                .map(|l| format!("{l}. {}", ccpa_category_name(*l)))
                .collect();
            let to: Vec<String> = derive::recipients_for(self.map, &owned)
                .into_iter()
                .map(|(_, p)| p.name.clone())
                .collect();
            let mut s = format!(
                "We {verb} personal information{how} in these categories: {}",
                wording::and_list(&letters)
            );
            if !to.is_empty() {
                s.push_str(&format!(", to {}", wording::and_list(&to)));
            }
            s.push('.');
            blocks.push(sentence(s));
        }
        blocks
    }

    fn signals(&self) -> Option<Section> {
        let promises = self.map.promises.as_ref()?;
        let gpc = promises.gpc.map(|p| match p {
            SignalPolicy::Honour => {
                "We treat a Global Privacy Control (GPC) signal from your browser as a request to opt out of the sale and sharing of your personal information for that browser."
            }
            SignalPolicy::NotHonoured => "We do not act on Global Privacy Control (GPC) signals.",
        });
        let dnt = promises.dnt.map(|p| match p {
            SignalPolicy::Honour => {
                "We treat a Do Not Track (DNT) signal from your browser as a request to opt out of tracking and targeted advertising."
            }
            SignalPolicy::NotHonoured => "We do not respond to Do Not Track (DNT) signals.",
        });
        // A map that declares neither says nothing about signals.
        let blocks: Vec<_> = gpc.into_iter().chain(dnt).map(sentence).collect();
        if blocks.is_empty() {
            return None;
        }
        Some(section(
            "privacy-signals",
            "Browser privacy signals",
            blocks,
        ))
    }

    fn on_behalf(&self) -> Option<Section> {
        let activities = derive::processor_activities(self.map);
        if activities.is_empty() {
            return None;
        }
        let mut for_whom: Vec<String> = Vec::new();
        for (_, a) in &activities {
            let who = match a.controller.as_deref() {
                Some(key) if key != "customers" => self
                    .map
                    .controllers
                    .get(key)
                    .and_then(|c| c.name.clone())
                    .unwrap_or_else(|| key.to_owned()),
                _ => "our customers".to_owned(),
            };
            if !for_whom.contains(&who) {
                for_whom.push(who);
            }
        }
        let names: Vec<String> = activities.iter().map(|(_, a)| a.name.clone()).collect();
        let mut section = section(
            "on-behalf-of-customers",
            "Data we process on behalf of others",
            vec![
                sentence(format!(
                    "We also process personal data as a processor, on behalf of and on the instructions of {}: {}.",
                    wording::and_list(&for_whom),
                    wording::and_list(&names)
                )),
                sentence(
                    "That processing is not covered by the sections above. The organisation we process the data for is its controller: its privacy notice applies, and requests about that data should go to it.",
                ),
            ],
        );
        let subprocessors: Vec<String> = self
            .map
            .processors
            .values()
            .filter(|p| derive::serves_only_processing_for_others(self.map, p))
            .map(|p| format!("{} ({}; {})", p.name, p.service, p.countries.join(", ")))
            .collect();
        if !subprocessors.is_empty() {
            section
                .blocks
                .push(sentence("Subprocessors we engage for that processing:"));
            section.blocks.push(Block::List {
                items: subprocessors.into_iter().map(|s| vec![text(s)]).collect(),
            });
        }
        Some(section)
    }

    fn changes(&self) -> Option<Section> {
        let org = self.org()?;
        let mut blocks = vec![sentence(format!(
            "This is version {} of this notice, last updated on {}.",
            org.notice.version,
            wording::date(&org.notice.last_updated)
        ))];
        if let Some(changes) = &org.notice.changes {
            blocks.push(sentence(changes.clone()));
        }
        if let Some(url) = &org.notice.url {
            blocks.push(para(vec![
                text("The current version is published at "),
                Inline::Link {
                    text: url.clone(),
                    href: url.clone(),
                },
                text("."),
            ]));
        }
        Some(section("changes", "Changes to this notice", blocks))
    }

    fn contact(&self) -> Option<Section> {
        let org = self.org()?;
        let who = self.we();
        // "Helpdeskly, Inc." already ends the sentence.
        let stop = if who.ends_with('.') { "" } else { "." };
        let mut blocks = vec![sentence(format!(
            "Questions about this notice or about your personal data: contact {who}{stop}"
        ))];
        blocks.extend(list(contact_items(&org.contact)));
        if let Some(dpo) = &org.dpo {
            let mut line = vec![text("Data protection officer: ")];
            line.extend(contact_inline(dpo));
            line.push(text("."));
            blocks.push(para(line));
        }
        Some(section("contact", "Contact us", blocks))
    }
}

/// An empty table cell reads as a dash, so screen readers and eyes do not skip it.
fn or_dash(cell: Vec<Inline>) -> Vec<Inline> {
    if cell.is_empty() {
        vec![text("—")]
    } else {
        cell
    }
}

/// `Providing the service` from `providing the service`.
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An anchor-safe form of a map key: lowercase ASCII letters, digits and hyphens.
fn slug(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

impl Notice {
    /// Every section and subsection, depth first, with its depth (0 for top-level sections).
    pub fn walk(&self) -> Vec<(usize, &Section)> {
        fn go<'a>(depth: usize, s: &'a Section, out: &mut Vec<(usize, &'a Section)>) {
            out.push((depth, s));
            for sub in &s.subsections {
                go(depth + 1, sub, out);
            }
        }
        let mut out = Vec::new();
        for s in &self.sections {
            go(0, s, &mut out);
        }
        out
    }

    /// The notice's plain text, for searching ("does it say X?") in tests and tools.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        let inline = |out: &mut String, items: &[Inline]| {
            for i in items {
                match i {
                    Inline::Text(t) | Inline::Strong(t) => out.push_str(t),
                    Inline::Break => out.push('\n'),
                    Inline::Link { text, .. } => out.push_str(text),
                }
            }
            out.push('\n');
        };
        for (_, s) in self.walk() {
            out.push_str(&s.heading);
            out.push('\n');
            for b in &s.blocks {
                match b {
                    Block::Paragraph { content } => inline(&mut out, content),
                    Block::List { items } => items.iter().for_each(|i| inline(&mut out, i)),
                    Block::Table(t) => {
                        out.push_str(&t.caption);
                        out.push('\n');
                        for row in &t.rows {
                            row.iter().for_each(|c| inline(&mut out, c));
                        }
                    }
                }
            }
        }
        out
    }
}
