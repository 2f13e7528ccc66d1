//! The mapping itself: parsed Fides resources into a [`DataMap`], with report entries for all the rest.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use pactum_domain::model::{
    Activity, Collection, ConnectorKind, Contact, CustomCategory, DataMap, Datastore, Erasure,
    Field, NoticeMeta, Organisation, Purpose, Regime, Subject, System,
};
use pactum_domain::taxonomy::{self, is_same_or_descendant};

use super::masking::{self, Place};
use super::names::{self, KindHint};
use super::schema;
use super::{Options, Parsed};
use crate::Problem;
use crate::report::{EntryKind, Report};

use EntryKind::{Approximated, Inferred, NotRepresented, ToComplete};

/// Converts every parsed manifest; `Err` lists everything Fides itself would reject.
pub(crate) fn convert(
    files: &[Parsed],
    options: &Options,
    report: &mut Report,
) -> Result<DataMap, Vec<Problem>> {
    let mut cx = Cx {
        files,
        options,
        report,
        problems: Vec::new(),
        map: DataMap::default(),
        datasets: HashMap::new(),
        custom_uses: IndexMap::new(),
        preserved: HashSet::new(),
        org_key: None,
        purpose_uses: HashMap::new(),
        typed: HashSet::new(),
    };
    cx.unique_keys();
    cx.organisation();
    cx.taxonomy();
    cx.datasets();
    cx.systems();
    cx.custom_purposes();
    cx.policies();
    cx.undeclared_categories();
    if cx.problems.is_empty() {
        Ok(cx.map)
    } else {
        Err(cx.problems)
    }
}

/// A custom Fides data use, remembered until a purpose needs it.
struct CustomUse {
    name: Option<String>,
    description: Option<String>,
    parent: Option<String>,
}

/// A reference waiting for every dataset to be converted.
struct PendingRef {
    resource: String,
    /// Where the reference is written: datastore, collection and field keys of the map.
    at: (String, String, String),
    /// The Fides target: dataset and `collection.field[.sub]`.
    dataset: String,
    field: String,
    direction: Option<String>,
}

struct Cx<'a> {
    files: &'a [Parsed],
    options: &'a Options,
    report: &'a mut Report,
    problems: Vec<Problem>,
    map: DataMap,
    /// Fides dataset key -> datastore key.
    datasets: HashMap<String, String>,
    custom_uses: IndexMap<String, CustomUse>,
    /// Fields whose Fides override is `preserve`: no policy rule may give them an erasure.
    preserved: HashSet<(String, String, String)>,
    /// The imported organization's fides_key.
    org_key: Option<String>,
    /// Purpose key -> the Fides data use it stands for.
    purpose_uses: HashMap<String, String>,
    /// Fields with a Fides `data_type`: Fides masks only those with a non-null strategy.
    typed: HashSet<(String, String, String)>,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out: String = out.trim_end_matches('_').chars().take(48).collect();
    while out.ends_with('_') {
        out.pop();
    }
    out
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

impl Cx<'_> {
    fn problem(&mut self, file: &Parsed, resource: &str, field: Option<String>, problem: String) {
        self.problems.push(Problem {
            file: file.file(),
            resource: resource.to_owned(),
            field,
            problem,
        });
    }

    /// Reports the keys every resource has but a map keeps nowhere.
    fn common(&mut self, resource: &str, tags: &[String], org: Option<&str>) {
        if !tags.is_empty() {
            self.report.note(
                NotRepresented,
                resource,
                format!(
                    "tags {} not represented: a map has no tags",
                    backticked(tags)
                ),
            );
        }
        if let (Some(org), Some(imported)) = (org, &self.org_key)
            && org != imported
        {
            self.report.note(
                NotRepresented,
                resource,
                format!("belongs to organization `{org}`, not the imported `{imported}`: a map describes one organisation"),
            );
        }
    }

    /// Every fides_key must be valid and unique per resource type, as Fides requires.
    fn unique_keys(&mut self) {
        let files = self.files;
        let mut seen: HashMap<(&str, String), String> = HashMap::new();
        for file in files {
            let m = &file.manifest;
            let keys = m
                .dataset
                .iter()
                .map(|r| ("dataset", &r.fides_key))
                .chain(m.system.iter().map(|r| ("system", &r.fides_key)))
                .chain(
                    m.organization
                        .iter()
                        .map(|r| ("organization", &r.fides_key)),
                )
                .chain(m.policy.iter().map(|r| ("policy", &r.fides_key)))
                .chain(
                    m.data_category
                        .iter()
                        .map(|r| ("data_category", &r.fides_key)),
                )
                .chain(m.data_use.iter().map(|r| ("data_use", &r.fides_key)))
                .chain(
                    m.data_subject
                        .iter()
                        .map(|r| ("data_subject", &r.fides_key)),
                );
            for (kind, key) in keys {
                let resource = format!("{kind} `{key}`");
                if !names::is_fides_key(key) {
                    self.problem(
                        file,
                        &resource,
                        None,
                        "a fides_key may only hold letters, digits and `_ . < > -`".to_owned(),
                    );
                }
                // Keys that differ only in characters the map cannot keep would collide too.
                let mapped = names::map_key(key);
                if let Some(first) = seen.get(&(kind, mapped.clone())) {
                    let problem = format!("defined twice (also in `{first}`)");
                    self.problem(file, &resource, None, problem);
                } else {
                    seen.insert((kind, mapped), file.file());
                }
            }
        }
    }

    fn taxonomy(&mut self) {
        let files = self.files;
        for file in files {
            for c in &file.manifest.data_category {
                let resource = format!("data_category `{}`", c.fides_key);
                self.common(&resource, &c.tags, c.organization_fides_key.as_deref());
                if taxonomy::data_category(&c.fides_key).is_some() {
                    self.report.note(
                        NotRepresented,
                        resource,
                        "already built in: the built-in definition is kept",
                    );
                    continue;
                }
                let parent = c.parent_key.clone().filter(|p| {
                    let known = taxonomy::data_category(p).is_some()
                        || files.iter().any(|f| {
                            f.manifest.data_category.iter().any(|x| &x.fides_key == p)
                        });
                    if !known {
                        self.report.note(
                            NotRepresented,
                            &resource,
                            format!("parent `{p}` is neither built in nor declared: the category has no parent"),
                        );
                    }
                    known
                });
                self.map.categories.insert(
                    c.fides_key.clone(),
                    CustomCategory {
                        name: nonempty(&c.name).unwrap_or_else(|| c.fides_key.clone()),
                        description: nonempty(&c.description),
                        parent,
                        ..CustomCategory::default()
                    },
                );
            }
            for u in &file.manifest.data_use {
                let resource = format!("data_use `{}`", u.fides_key);
                self.common(&resource, &u.tags, u.organization_fides_key.as_deref());
                if taxonomy::data_use(&u.fides_key).is_some() {
                    self.report.note(
                        NotRepresented,
                        resource,
                        "already built in: the built-in definition is kept",
                    );
                    continue;
                }
                self.custom_uses.insert(
                    u.fides_key.clone(),
                    CustomUse {
                        name: nonempty(&u.name),
                        description: nonempty(&u.description),
                        parent: u.parent_key.clone(),
                    },
                );
            }
            for s in &file.manifest.data_subject {
                let resource = format!("data_subject `{}`", s.fides_key);
                self.common(&resource, &s.tags, s.organization_fides_key.as_deref());
                if let Some(rights) = &s.rights {
                    let values = if rights.values.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", backticked(&rights.values))
                    };
                    self.report.note(
                        NotRepresented,
                        &resource,
                        format!(
                            "rights `{}`{values} not represented: a map states rights per regime in `rights`",
                            rights.strategy
                        ),
                    );
                }
                if s.automated_decisions_or_profiling == Some(true) {
                    self.report.note(
                        NotRepresented,
                        &resource,
                        "`automated_decisions_or_profiling` not represented: set `profiling` / `automated_decisions` on the purposes concerned",
                    );
                }
                self.map.subjects.insert(
                    names::map_key(&s.fides_key),
                    Subject {
                        name: nonempty(&s.name).unwrap_or_else(|| s.fides_key.clone()),
                        description: nonempty(&s.description),
                        ..Subject::default()
                    },
                );
            }
        }
    }

    fn organisation(&mut self) {
        let files = self.files;
        let mut orgs = files
            .iter()
            .flat_map(|f| f.manifest.organization.iter().map(move |o| (f, o)));
        let Some((_, org)) = orgs.next() else {
            return;
        };
        let resource = format!("organization `{}`", org.fides_key);
        self.org_key = Some(org.fides_key.clone());
        for (_, other) in orgs {
            self.report.note(
                NotRepresented,
                format!("organization `{}`", other.fides_key),
                format!(
                    "a map describes one organisation: only `{}` was imported",
                    org.fides_key
                ),
            );
        }
        self.common(&resource, &org.tags, None);
        let contact = |c: &schema::ContactDetails| Contact {
            name: nonempty(&c.name),
            address: nonempty(&c.address),
            email: nonempty(&c.email),
            phone: nonempty(&c.phone),
            url: None,
        };
        if org.controller.is_none() {
            self.report.note(
                ToComplete,
                &resource,
                "no controller contact: add `organisation.contact` (address, email)",
            );
        }
        if let Some(rep) = &org.representative {
            let who = rep.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
            self.report.note(
                NotRepresented,
                &resource,
                format!("representative `{who}` not represented: a map names representatives per regime (gdpr, uk_gdpr) and Fides does not say which; add it under `organisation.representatives`"),
            );
        }
        let mut security_measures = Vec::new();
        if let Some(url) = nonempty(&org.security_policy) {
            security_measures.push(format!("Security policy: {url}"));
            self.report.note(
                Approximated,
                &resource,
                "`security_policy` (a URL) written as a line of `security_measures`: list the measures themselves",
            );
        }
        self.report.note(
            ToComplete,
            &resource,
            "Fides does not say which laws apply: list them in `organisation.regimes`",
        );
        self.report.note(
            ToComplete,
            &resource,
            "Fides has no notice version or date: fill `organisation.notice.version` and `last_updated`",
        );
        self.map.organisation = Some(Organisation {
            name: nonempty(&org.name).unwrap_or_else(|| org.fides_key.clone()),
            description: nonempty(&org.description),
            contact: org.controller.as_ref().map(contact).unwrap_or_default(),
            dpo: org.data_protection_officer.as_ref().map(contact),
            regimes: Vec::new(),
            notice: NoticeMeta {
                version: String::new(),
                last_updated: String::new(),
                ..NoticeMeta::default()
            },
            security_measures,
            ..Organisation::default()
        });
    }

    fn datasets(&mut self) {
        let files = self.files;
        for file in files {
            for ds in &file.manifest.dataset {
                self.datasets
                    .insert(ds.fides_key.clone(), names::map_key(&ds.fides_key));
            }
        }
        let mut pending = Vec::new();
        for file in files {
            for ds in &file.manifest.dataset {
                let datastore = self.dataset(file, ds, &mut pending);
                self.map
                    .datastores
                    .insert(names::map_key(&ds.fides_key), datastore);
            }
        }
        for r in pending {
            self.resolve(r);
        }
    }

    fn kind(&mut self, file: &Parsed, ds: &schema::Dataset, resource: &str) -> ConnectorKind {
        let declared = ds
            .fides_meta
            .as_ref()
            .and_then(|m| m.namespace.as_ref())
            .and_then(|n| n.connection_type.clone());
        let stem = file
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let found = [
            (
                declared.as_deref().and_then(names::kind_hint),
                "its `fides_meta.namespace.connection_type`",
            ),
            (names::kind_in_name(&ds.fides_key), "its fides_key"),
            (names::kind_in_name(&stem), "its file name"),
        ]
        .into_iter()
        .find_map(|(hint, from)| hint.map(|h| (h, from)));
        let default = self.options.default_kind;
        match found {
            Some((KindHint::Supported(kind), from)) => {
                self.report.note(
                    Inferred,
                    resource,
                    format!(
                        "connector kind `{}` inferred from {from}",
                        names::kind_key(kind)
                    ),
                );
                kind
            }
            Some((KindHint::Unsupported(db), from)) => {
                self.report.note(
                    Approximated,
                    resource,
                    format!(
                        "{from} says `{db}`, which Pactum has no connector for: written as `{}`",
                        names::kind_key(default)
                    ),
                );
                default
            }
            None => {
                self.report.note(
                    Inferred,
                    resource,
                    format!("Fides does not say which database holds the dataset: written as `{}` (choose another with `--kind`)", names::kind_key(default)),
                );
                default
            }
        }
    }

    fn dataset(
        &mut self,
        file: &Parsed,
        ds: &schema::Dataset,
        pending: &mut Vec<PendingRef>,
    ) -> Datastore {
        let resource = format!("dataset `{}`", ds.fides_key);
        let key = names::map_key(&ds.fides_key);
        self.common(&resource, &ds.tags, ds.organization_fides_key.as_deref());
        if key != ds.fides_key {
            self.report.note(
                Approximated,
                &resource,
                format!("written as datastore `{key}`: dots and brackets would break `datastore.collection.field` references"),
            );
        }
        let kind = self.kind(file, ds, &resource);
        let connection_env = (kind != ConnectorKind::Manual).then(|| names::connection_env(&key));
        if let Some(env) = &connection_env {
            self.report.note(
                Inferred,
                &resource,
                format!("the connection URL is expected in the environment variable `{env}`"),
            );
        }
        if let Some(cats) = ds.data_categories.as_ref().filter(|c| !c.is_empty()) {
            self.report.note(
                NotRepresented,
                &resource,
                format!("dataset-level data categories {} not represented: a map puts categories on fields", backticked(cats)),
            );
        }
        if ds.meta.is_some_and(|m| m.non_empty) {
            self.report.note(
                NotRepresented,
                &resource,
                "`meta` not represented: a map has no free-form metadata",
            );
        }
        let mut collections = IndexMap::new();
        for coll in &ds.collections {
            let ckey = names::map_key(&coll.name);
            if collections.contains_key(&ckey) {
                self.problem(
                    file,
                    &resource,
                    Some(coll.name.clone()),
                    "collection defined twice".to_owned(),
                );
                continue;
            }
            if ckey != coll.name {
                self.report.note_item(
                    Approximated,
                    &resource,
                    "collections renamed: dots would break `datastore.collection.field` references",
                    format!("{} -> {ckey}", coll.name),
                );
            }
            if let Some(cats) = coll.data_categories.as_ref().filter(|c| !c.is_empty()) {
                self.report.note_item(
                    NotRepresented,
                    &resource,
                    &format!("collection-level data categories not represented (a map puts categories on fields): {}", backticked(cats)),
                    coll.name.clone(),
                );
            }
            let mut fields = IndexMap::new();
            let at = FieldAt {
                file,
                resource: &resource,
                datastore: &key,
                collection: &ckey,
                fides_collection: &coll.name,
            };
            self.fields(&at, "", &coll.fields, &mut fields, pending);
            if let Some(o) = coll
                .fides_meta
                .as_ref()
                .and_then(|m| m.masking_strategy_override.as_ref())
            {
                match masking::collection_override(o) {
                    Ok(erasure) => {
                        for f in fields
                            .values_mut()
                            .filter(|f: &&mut Field| f.erasure.is_none())
                        {
                            f.erasure = Some(erasure.clone());
                        }
                    }
                    Err(p) => self.problem(file, &resource, Some(coll.name.clone()), p),
                }
            }
            collections.insert(
                ckey,
                Collection {
                    description: nonempty(&coll.description),
                    key: None,
                    fields,
                    ..Collection::default()
                },
            );
        }
        Datastore {
            name: nonempty(&ds.name),
            description: nonempty(&ds.description),
            system: None,
            kind,
            connection_env,
            instructions: None,
            role: Default::default(),
            controller: None,
            auth: None,
            collections,
        }
    }

    fn fields(
        &mut self,
        at: &FieldAt<'_>,
        prefix: &str,
        fides: &[schema::Field],
        out: &mut IndexMap<String, Field>,
        pending: &mut Vec<PendingRef>,
    ) {
        for f in fides {
            let path = format!("{prefix}{}", f.name);
            let item = format!("{}.{path}", at.fides_collection);
            if out.contains_key(&path) {
                self.problem(
                    at.file,
                    at.resource,
                    Some(item),
                    "field defined twice".to_owned(),
                );
                continue;
            }
            let meta = f.fides_meta.as_ref();
            if let Some(dt) = meta.and_then(|m| m.data_type.as_deref()) {
                self.typed.insert((
                    at.datastore.to_owned(),
                    at.collection.to_owned(),
                    path.clone(),
                ));
                let base = dt.strip_suffix("[]").unwrap_or(dt);
                const TYPES: [&str; 7] = [
                    "string",
                    "integer",
                    "float",
                    "boolean",
                    "object_id",
                    "object",
                    "no_op",
                ];
                if !TYPES.contains(&base) {
                    self.problem(
                        at.file,
                        at.resource,
                        Some(item.clone()),
                        format!(
                            "unknown data_type `{dt}` (Fides has {}, each optionally with `[]`)",
                            TYPES.join(", ")
                        ),
                    );
                } else if !f.fields.is_empty() && base != "object" {
                    self.problem(
                        at.file,
                        at.resource,
                        Some(item.clone()),
                        format!("a field with nested fields must have data_type `object` or `object[]`, not `{dt}`"),
                    );
                }
                let message = if dt.ends_with("[]") {
                    format!(
                        "`data_type` `{dt}` not represented: a map has no arrays, the field is one value"
                    )
                } else {
                    "`fides_meta.data_type` not represented: a map records no value types (connectors read them from the database)".to_owned()
                };
                self.report
                    .note_item(NotRepresented, at.resource, &message, item.clone());
            }
            if !prefix.is_empty() {
                self.report.note_item(
                    Approximated,
                    at.resource,
                    "nested fields written as dotted field names",
                    item.clone(),
                );
            }
            let mut field = Field {
                description: nonempty(&f.description),
                categories: f.data_categories.clone().unwrap_or_default(),
                primary_key: meta.and_then(|m| m.primary_key).unwrap_or(false),
                ..Field::default()
            };
            if let Some(id) = meta.and_then(|m| m.identity.as_deref()) {
                let (kind, exact) = names::identity(id);
                if !exact {
                    self.report.note_item(
                        Approximated,
                        at.resource,
                        &format!(
                            "custom identity `{id}` written as `{}`",
                            names::identity_key(kind)
                        ),
                        item.clone(),
                    );
                }
                field.identity = Some(kind);
            }
            if let Some(o) = meta.and_then(|m| m.masking_strategy_override.as_ref()) {
                match masking::translate(o, Place::FieldOverride) {
                    Ok(t) => {
                        for note in t.approximations {
                            self.report
                                .note_item(Approximated, at.resource, &note, item.clone());
                        }
                        if t.erasure.is_none() {
                            self.preserved.insert((
                                at.datastore.to_owned(),
                                at.collection.to_owned(),
                                path.clone(),
                            ));
                        }
                        field.erasure = t.erasure;
                    }
                    Err(p) => self.problem(at.file, at.resource, Some(item.clone()), p),
                }
            }
            for r in meta.map(|m| m.references.as_slice()).unwrap_or(&[]) {
                if !r.field.contains('.') {
                    self.problem(
                        at.file,
                        at.resource,
                        Some(item.clone()),
                        format!("reference field `{}` must be `collection.field`", r.field),
                    );
                    continue;
                }
                if let Some(d) = r.direction.as_deref()
                    && d != "from"
                    && d != "to"
                {
                    self.problem(
                        at.file,
                        at.resource,
                        Some(item.clone()),
                        format!("reference direction `{d}` must be `from` or `to`"),
                    );
                    continue;
                }
                pending.push(PendingRef {
                    resource: at.resource.to_owned(),
                    at: (
                        at.datastore.to_owned(),
                        at.collection.to_owned(),
                        path.clone(),
                    ),
                    dataset: r.dataset.clone(),
                    field: r.field.clone(),
                    direction: r.direction.clone(),
                });
            }
            out.insert(path.clone(), field);
            if !f.fields.is_empty() {
                self.fields(at, &format!("{path}."), &f.fields, out, pending);
            }
        }
    }

    /// Writes a reference on the field that declares it when its target was imported; reports it otherwise.
    fn resolve(&mut self, r: PendingRef) {
        let (ds, coll, field) = &r.at;
        let shown = format!("{}.{} -> {}.{}", coll, field, r.dataset, r.field);
        let target = self.datasets.get(&r.dataset).and_then(|ds_key| {
            let (c, f) = r.field.split_once('.')?;
            let c = names::map_key(c);
            let found = self
                .map
                .datastores
                .get(ds_key)?
                .collections
                .get(&c)?
                .fields
                .contains_key(f);
            found.then(|| format!("{ds_key}.{c}.{f}"))
        });
        let Some(target) = target else {
            let why = if self.datasets.contains_key(&r.dataset) {
                "references to fields the dataset does not declare not represented"
            } else {
                "references to datasets outside this import not represented (import them together to keep them)"
            };
            self.report
                .note_item(NotRepresented, &r.resource, why, shown);
            return;
        };
        if let Some(d) = &r.direction {
            self.report.note_item(
                NotRepresented,
                &r.resource,
                "reference directions not represented: Pactum follows references both ways from the identity fields",
                format!("{shown} ({d})"),
            );
        }
        if let Some(f) = self
            .map
            .datastores
            .get_mut(ds)
            .and_then(|d| d.collections.get_mut(coll))
            .and_then(|c| c.fields.get_mut(field))
            && !f.references.contains(&target)
        {
            f.references.push(target);
        }
    }

    fn systems(&mut self) {
        let files = self.files;
        for file in files {
            for sys in &file.manifest.system {
                self.system(sys);
            }
        }
    }

    fn system(&mut self, sys: &schema::System) {
        let key = names::map_key(&sys.fides_key);
        let resource = format!("system `{}`", sys.fides_key);
        self.common(&resource, &sys.tags, sys.organization_fides_key.as_deref());
        let name = nonempty(&sys.name).unwrap_or_else(|| sys.fides_key.clone());
        let flows = sys
            .egress
            .iter()
            .map(|f| ("egress to", f))
            .chain(sys.ingress.iter().map(|f| ("ingress from", f)));
        for (dir, flow) in flows {
            let kind = flow.kind.as_deref().unwrap_or("system");
            self.report.note_item(
                NotRepresented,
                &resource,
                "data flows not represented: a map records which systems an activity uses, not flows between them",
                format!("{dir} {} ({kind})", flow.fides_key),
            );
        }
        for d in &sys.dataset_references {
            self.link_dataset(&resource, d, &key);
        }
        self.map.systems.insert(
            key.clone(),
            System {
                name: name.clone(),
                description: nonempty(&sys.description),
                owner: nonempty(&sys.administrating_department).filter(|d| d != "Not defined"),
                processors: Vec::new(),
            },
        );
        for (i, decl) in sys.privacy_declarations.iter().enumerate() {
            let label = nonempty(&decl.name)
                .unwrap_or_else(|| format!("declaration {i} ({})", decl.data_use));
            for d in &decl.dataset_references {
                self.link_dataset(&resource, d, &key);
            }
            for (dir, flows) in [("egress to", &decl.egress), ("ingress from", &decl.ingress)] {
                for flow in flows {
                    self.report.note_item(
                        NotRepresented,
                        &resource,
                        "data flows not represented: a map records which systems an activity uses, not flows between them",
                        format!("{label}: {dir} {flow}"),
                    );
                }
            }
            if let Some(period) = nonempty(&decl.retention_period) {
                self.report.note(
                    NotRepresented,
                    &resource,
                    format!("declaration `{label}`: retention `{period}` not represented: write a rule under `retention` with a period and the event it counts from"),
                );
            }
            let purpose = self.purpose_for_use(&decl.data_use, &resource);
            self.legal_basis(&resource, &label, decl, &purpose);
            let subjects: Vec<String> = decl
                .data_subjects
                .iter()
                .map(|s| self.subject(s, &resource))
                .collect();
            if subjects.is_empty() {
                self.report.note(
                    ToComplete,
                    &resource,
                    format!(
                        "declaration `{label}` names no data subjects: add them to its activity"
                    ),
                );
            }
            let base = nonempty(&decl.name)
                .map(|n| slug(&n))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| slug(&decl.data_use));
            let mut activity_key = format!("{key}_{base}");
            let mut n = 2;
            while self.map.activities.contains_key(&activity_key) {
                activity_key = format!("{key}_{base}_{n}");
                n += 1;
            }
            self.map.activities.insert(
                activity_key,
                Activity {
                    name: nonempty(&decl.name)
                        .unwrap_or_else(|| format!("{name}: {}", decl.data_use)),
                    subjects,
                    categories: decl.data_categories.clone(),
                    purposes: vec![purpose],
                    systems: vec![key.clone()],
                    ..Activity::default()
                },
            );
            self.report.note_item(
                ToComplete,
                &resource,
                "Fides does not say where data comes from: add `sources` (direct, automatic, third_party) to the activities",
                label,
            );
        }
    }

    fn legal_basis(
        &mut self,
        resource: &str,
        label: &str,
        decl: &schema::PrivacyDeclaration,
        purpose: &str,
    ) {
        let Some(p) = self.map.purposes.get_mut(purpose) else {
            return;
        };
        if let Some(text) = nonempty(&decl.legal_basis_for_processing) {
            match names::legal_basis(&text) {
                Some(basis) => match p.legal_basis.get(&Regime::Gdpr) {
                    Some(existing) if *existing != basis => self.report.note(
                        NotRepresented,
                        resource,
                        format!("declaration `{label}`: legal basis `{text}` differs from another declaration's for data use `{}`; the first is kept on purpose `{purpose}`", decl.data_use),
                    ),
                    _ => {
                        p.legal_basis.insert(Regime::Gdpr, basis);
                        self.report.note_item(
                            Approximated,
                            resource,
                            "Fides's GDPR Art. 6 legal basis recorded under `gdpr` (Fides states no regime): check it for the other regimes",
                            label.to_owned(),
                        );
                    }
                },
                None => self.report.note(
                    NotRepresented,
                    resource,
                    format!("declaration `{label}`: legal basis `{text}` is not one Pactum knows"),
                ),
            }
        }
        if let Some(text) = nonempty(&decl.special_category_legal_basis) {
            match names::special_condition(&text) {
                Some(c) if p.special_condition.is_none() => p.special_condition = Some(c),
                Some(_) => {}
                None => self.report.note(
                    NotRepresented,
                    resource,
                    format!("declaration `{label}`: special-category basis `{text}` is not one Pactum knows"),
                ),
            }
        }
    }

    /// Links a dataset to the system that uses it, or reports why it cannot.
    fn link_dataset(&mut self, resource: &str, dataset: &str, system: &str) {
        let Some(ds_key) = self.datasets.get(dataset).cloned() else {
            self.report.note_item(
                NotRepresented,
                resource,
                "dataset references not represented: the dataset is not part of this import",
                dataset.to_owned(),
            );
            return;
        };
        let Some(ds) = self.map.datastores.get_mut(&ds_key) else {
            return;
        };
        match &ds.system {
            None => ds.system = Some(system.to_owned()),
            Some(s) if s == system => {}
            Some(s) => {
                let message = format!(
                    "also used by system `{system}`: a datastore belongs to one system, `{s}` is kept"
                );
                self.report
                    .note(NotRepresented, format!("dataset `{dataset}`"), message);
            }
        }
    }

    /// The purpose for a Fides data use, created on first use.
    fn purpose_for_use(&mut self, data_use: &str, resource: &str) -> String {
        let base = names::map_key(data_use);
        let mut key = base.clone();
        let mut n = 2;
        // Two data uses that differ only in `.` and `_` must not share a purpose.
        while let Some(existing) = self.purpose_uses.get(&key) {
            if existing == data_use {
                return key;
            }
            key = format!("{base}_{n}");
            n += 1;
        }
        self.purpose_uses.insert(key.clone(), data_use.to_owned());
        let builtin = taxonomy::data_use(data_use);
        let custom = self.custom_uses.get(data_use);
        let name = custom
            .and_then(|c| c.name.clone())
            .or_else(|| builtin.map(|b| b.name.to_owned()))
            .unwrap_or_else(|| data_use.to_owned());
        let description = custom
            .and_then(|c| c.description.clone())
            .or_else(|| builtin.map(|b| b.description.to_owned()))
            .unwrap_or_else(|| name.clone());
        let data_use_key = if builtin.is_some() {
            Some(data_use.to_owned())
        } else {
            // The nearest built-in ancestor, following the declared parent first.
            let mut at = custom
                .and_then(|c| c.parent.clone())
                .or_else(|| data_use.rsplit_once('.').map(|(p, _)| p.to_owned()));
            let mut found = None;
            while let Some(candidate) = at {
                if taxonomy::data_use(&candidate).is_some() {
                    found = Some(candidate);
                    break;
                }
                at = candidate.rsplit_once('.').map(|(p, _)| p.to_owned());
            }
            let resource = if custom.is_some() {
                format!("data_use `{data_use}`")
            } else {
                resource.to_owned()
            };
            match &found {
                Some(a) => self.report.note(
                    Approximated,
                    resource,
                    format!("custom data use `{data_use}` is purpose `{key}` with its nearest built-in ancestor `{a}` as `data_use`"),
                ),
                None => self.report.note(
                    NotRepresented,
                    resource,
                    format!("data use `{data_use}` is neither built in nor declared, nor below a built-in one: purpose `{key}` has no `data_use`"),
                ),
            }
            found
        };
        self.map.purposes.insert(
            key.clone(),
            Purpose {
                name,
                description,
                data_use: data_use_key,
                ..Purpose::default()
            },
        );
        key
    }

    /// Custom data uses no declaration used still become purposes, so nothing is dropped.
    fn custom_purposes(&mut self) {
        let keys: Vec<String> = self.custom_uses.keys().cloned().collect();
        for k in keys {
            let resource = format!("data_use `{k}`");
            self.purpose_for_use(&k, &resource);
        }
    }

    /// The subject key for a Fides data subject, declaring built-in ones on first use.
    fn subject(&mut self, fides: &str, resource: &str) -> String {
        let key = names::map_key(fides);
        if self.map.subjects.contains_key(&key) {
            return key;
        }
        let subject = match taxonomy::data_subject(fides) {
            Some(e) => Subject {
                name: e.name.to_owned(),
                description: Some(e.description.to_owned()).filter(|d| !d.is_empty()),
                ..Subject::default()
            },
            None => {
                self.report.note_item(
                    Approximated,
                    resource,
                    "data subjects neither built in nor declared: declared with their key as name",
                    fides.to_owned(),
                );
                Subject {
                    name: fides.to_owned(),
                    ..Subject::default()
                }
            }
        };
        self.map.subjects.insert(key.clone(), subject);
        key
    }

    fn policies(&mut self) {
        let files = self.files;
        for file in files {
            for policy in &file.manifest.policy {
                let resource = match nonempty(&policy.name) {
                    Some(name) => format!("policy `{}` ({name})", policy.fides_key),
                    None => format!("policy `{}`", policy.fides_key),
                };
                if let Some(d) = nonempty(&policy.description) {
                    self.report.note(
                        NotRepresented,
                        &resource,
                        format!("description \"{d}\" not represented"),
                    );
                }
                self.common(
                    &resource,
                    &policy.tags,
                    policy.organization_fides_key.as_deref(),
                );
                for (i, rule) in policy.rules.iter().enumerate() {
                    let label = nonempty(&rule.name).unwrap_or_else(|| format!("rule {i}"));
                    let desc = nonempty(&rule.description)
                        .map(|d| format!(" (\"{d}\")"))
                        .unwrap_or_default();
                    match rule.action_type.as_deref() {
                        Some("erasure") => self.erasure_rule(file, &resource, &label, &desc, rule),
                        Some(a @ ("access" | "consent")) => self.report.note(
                            NotRepresented,
                            &resource,
                            format!("{a} rule `{label}`{desc} not represented: Pactum answers {a} requests from the whole map"),
                        ),
                        Some(other) => self.problem(
                            file,
                            &resource,
                            Some(label),
                            format!("action_type `{other}` is not supported (Fides has access, erasure and consent)"),
                        ),
                        None => {
                            let dim = |m: &Option<schema::RuleMatch>| match m {
                                Some(m) => format!("{} {}", m.matches, backticked(&m.values)),
                                None => "(any)".to_owned(),
                            };
                            self.report.note(
                                NotRepresented,
                                &resource,
                                format!(
                                    "evaluation rule `{label}`{desc}: categories {} x uses {} x subjects {}: not represented: Pactum's checks are built in, a map cannot declare its own",
                                    dim(&rule.data_categories),
                                    dim(&rule.data_uses),
                                    dim(&rule.data_subjects)
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    /// A DSR policy's erasure rule sets the erasure of every imported field under its target
    /// categories that has none yet (field and collection overrides win, as in Fides).
    fn erasure_rule(
        &mut self,
        file: &Parsed,
        resource: &str,
        label: &str,
        desc: &str,
        rule: &schema::PolicyRule,
    ) {
        let Some(strategy) = &rule.masking_strategy else {
            self.problem(
                file,
                resource,
                Some(label.to_owned()),
                "an erasure rule needs a `masking_strategy`".to_owned(),
            );
            return;
        };
        if rule.targets.is_empty() {
            self.problem(
                file,
                resource,
                Some(label.to_owned()),
                "an erasure rule needs `targets`".to_owned(),
            );
            return;
        }
        let t = match masking::translate(strategy, Place::PolicyRule) {
            Ok(t) => t,
            Err(p) => {
                self.problem(file, resource, Some(label.to_owned()), p);
                return;
            }
        };
        for note in &t.approximations {
            self.report
                .note_item(Approximated, resource, note, label.to_owned());
        }
        let Some(erasure) = t.erasure else {
            return;
        };
        let targets: Vec<&str> = rule
            .targets
            .iter()
            .map(|t| t.data_category.as_str())
            .collect();
        let mut count = 0;
        let mut untyped = Vec::new();
        for (ds_key, ds) in &mut self.map.datastores {
            for (c_key, coll) in &mut ds.collections {
                for (f_key, f) in &mut coll.fields {
                    let matches = f
                        .categories
                        .iter()
                        .any(|c| targets.iter().any(|t| is_same_or_descendant(c, t)));
                    let preserved =
                        self.preserved
                            .contains(&(ds_key.clone(), c_key.clone(), f_key.clone()));
                    if matches && f.erasure.is_none() && !preserved {
                        f.erasure = Some(erasure.clone());
                        count += 1;
                        let at = (ds_key.clone(), c_key.clone(), f_key.clone());
                        if erasure != Erasure::Nullify && !self.typed.contains(&at) {
                            untyped.push(format!("{ds_key}.{c_key}.{f_key}"));
                        }
                    }
                }
            }
        }
        self.report.note(
            Inferred,
            resource,
            format!(
                "erasure rule `{label}`{desc}: `{}` written as `erasure: {}` on {count} field{} under {}",
                strategy.strategy,
                erasure_key(&erasure),
                if count == 1 { "" } else { "s" },
                backticked(&targets)
            ),
        );
        // Fides silently skips a non-null strategy on a field without `data_type` and still
        // reports the request complete; the imported map erases those fields: say so.
        for field in untyped {
            self.report.note_item(
                Inferred,
                resource,
                &format!("erasure rule `{label}`: Fides would skip these fields (no `data_type`), Pactum erases them"),
                field,
            );
        }
    }

    /// Categories that are neither built in nor declared become custom categories, so every
    /// reference in the map resolves and the report says which to describe.
    fn undeclared_categories(&mut self) {
        let mut used: Vec<String> = Vec::new();
        for ds in self.map.datastores.values() {
            for coll in ds.collections.values() {
                for f in coll.fields.values() {
                    used.extend(f.categories.iter().cloned());
                }
            }
        }
        for a in self.map.activities.values() {
            used.extend(a.categories.iter().cloned());
        }
        for c in used {
            if taxonomy::data_category(&c).is_some() || self.map.categories.contains_key(&c) {
                continue;
            }
            let mut parent = c.rsplit_once('.').map(|(p, _)| p.to_owned());
            while let Some(p) = &parent {
                if taxonomy::data_category(p).is_some() || self.map.categories.contains_key(p) {
                    break;
                }
                parent = p.rsplit_once('.').map(|(p, _)| p.to_owned());
            }
            self.report.note_item(
                Approximated,
                "data categories",
                "neither built in nor declared: declared as custom categories named after their key (describe them)",
                c.clone(),
            );
            self.map.categories.insert(
                c.clone(),
                CustomCategory {
                    name: c,
                    parent,
                    ..CustomCategory::default()
                },
            );
        }
    }
}

/// Where fields are being converted.
struct FieldAt<'a> {
    file: &'a Parsed,
    resource: &'a str,
    datastore: &'a str,
    collection: &'a str,
    fides_collection: &'a str,
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

fn erasure_key(e: &Erasure) -> String {
    match e {
        Erasure::Nullify => "nullify".to_owned(),
        Erasure::Fixed(v) => format!("{{fixed: {v}}}"),
        Erasure::KeyedHash => "keyed_hash".to_owned(),
        Erasure::Random => "random".to_owned(),
        Erasure::TruncateDate => "truncate_date".to_owned(),
        Erasure::DeleteRow => "delete_row".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_snake_case() {
        assert_eq!(
            slug("Analyze customer behaviour for improvements."),
            "analyze_customer_behaviour_for_improvements"
        );
        assert_eq!(slug("marketing.advertising"), "marketing_advertising");
        assert!(slug(&"x y ".repeat(40)).len() <= 48);
        assert!(!slug(&"ab ".repeat(40)).ends_with('_'));
    }

    #[test]
    fn lists_are_backticked() {
        assert_eq!(backticked(&["a", "b"]), "[`a`, `b`]");
    }
}
