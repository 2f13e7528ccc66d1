//! The promise checks: everything `pactum check` reports beyond syntax and types.
//!
//! [`check`] never stops at the first problem: it returns every diagnostic it finds, each pointing at
//! the place in the map a person would edit to fix it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, MapPath, did_you_mean};
use crate::model::{
    ConnectorKind, DataMap, LegalBasis, Regime, RetentionEvent, Right, Role, SignalPolicy,
    TransferMechanism,
};
use crate::period::Period;
use crate::rules::rules;
use crate::taxonomy::{self, is_same_or_descendant};

/// Runs every check on a map.
pub fn check(map: &DataMap) -> Vec<Diagnostic> {
    let mut cx = Cx {
        map,
        cat: Catalog::new(map),
        out: Vec::new(),
    };
    cx.organisation();
    cx.subjects();
    cx.categories();
    cx.purposes();
    cx.activities();
    cx.systems();
    cx.datastores();
    cx.identity_paths();
    cx.processors();
    cx.retention();
    cx.rights();
    cx.signals();
    cx.out
}

struct Cx<'m> {
    map: &'m DataMap,
    cat: Catalog<'m>,
    out: Vec<Diagnostic>,
}

/// The controller key that means "each of our customers" for processor activities.
pub const ALL_CUSTOMERS: &str = "customers";

impl<'m> Cx<'m> {
    fn regimes(&self) -> &'m [Regime] {
        self.map
            .organisation
            .as_ref()
            .map(|o| o.regimes.as_slice())
            .unwrap_or(&[])
    }

    fn promises(&self) -> crate::model::Promises {
        self.map.promises.clone().unwrap_or_default()
    }

    fn unknown<'a, I>(&mut self, path: MapPath, what: &str, key: &str, candidates: I)
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut d = Diagnostic::error("unknown-reference", path, format!("unknown {what} `{key}`"));
        if let Some(near) = did_you_mean(key, candidates) {
            d = d.with_help(format!("did you mean `{near}`?"));
        } else {
            d = d.with_help(format!("declare it, or use one of the declared {what}s"));
        }
        self.out.push(d);
    }

    fn check_category(&mut self, path: MapPath, key: &str) {
        if !self.cat.has_category(key) {
            let cands: Vec<&str> = self.cat.category_keys().collect();
            self.unknown(path, "data category", key, cands);
        }
    }

    fn check_purpose_ref(&mut self, path: MapPath, key: &str) {
        if !self.map.purposes.contains_key(key) {
            let cands: Vec<&str> = self.map.purposes.keys().map(String::as_str).collect();
            self.unknown(path, "purpose", key, cands);
        }
    }

    fn organisation(&mut self) {
        let Some(org) = &self.map.organisation else {
            self.out.push(
                Diagnostic::error(
                    "missing-organisation",
                    MapPath::default(),
                    "the map declares no `organisation`",
                )
                .with_help("add an `organisation:` section with the controller's name, contact, regimes and notice version"),
            );
            return;
        };
        let base = MapPath::keys(["organisation"]);
        if org.regimes.is_empty() {
            self.out.push(
                Diagnostic::error("missing-regimes", base.key("regimes"), "no regime applies")
                    .with_help("list the laws that apply, e.g. `regimes: [gdpr, uk_gdpr, ccpa]`"),
            );
        }
        if !is_iso_date(&org.notice.last_updated) {
            self.out.push(Diagnostic::error(
                "invalid-date",
                base.key("notice").key("last_updated"),
                format!(
                    "`{}` is not a date in the form YYYY-MM-DD",
                    org.notice.last_updated
                ),
            ));
        }
        if org.contact.email.is_none() && org.contact.address.is_none() {
            self.out.push(Diagnostic::error(
                "missing-contact",
                base.key("contact"),
                "the controller's contact needs at least an email or a postal address (GDPR Art. 13(1)(a))",
            ));
        }
        for regime in [Regime::Gdpr, Regime::UkGdpr] {
            if org.regimes.contains(&regime) && !org.authorities.contains_key(&regime) {
                self.out.push(
                    Diagnostic::warning(
                        "missing-authority",
                        base.key("authorities"),
                        format!(
                            "no supervisory authority named for `{}`: the notice must tell people where to complain",
                            regime.key()
                        ),
                    ),
                );
            }
        }
    }

    fn subjects(&mut self) {
        let child_rule = self
            .map
            .promises
            .as_ref()
            .and_then(|p| p.children.as_ref())
            .is_some();
        for (key, subject) in &self.map.subjects {
            let looks_like_child = subject.children || key == "child" || key == "children";
            if looks_like_child && subject.min_age.is_none() && !child_rule {
                self.out.push(
                    Diagnostic::error(
                        "children-without-age-rule",
                        MapPath::keys(["subjects", key]),
                        format!("subject `{key}` are children, but the map states no age rule"),
                    )
                    .with_help("set `min_age` on the subject or declare `promises.children` with `min_age` and `on_discovery`"),
                );
            }
        }
        for (key, subject) in &self.map.subjects {
            let used = self
                .map
                .activities
                .values()
                .any(|a| a.subjects.iter().any(|s| s == key));
            if !used {
                self.out.push(Diagnostic::warning(
                    "unused",
                    MapPath::keys(["subjects", key]),
                    format!("subject `{key}` ({}) appears in no activity", subject.name),
                ));
            }
        }
    }

    fn categories(&mut self) {
        for (key, custom) in &self.map.categories {
            let path = MapPath::keys(["categories", key]);
            if taxonomy::data_category(key).is_some() {
                self.out.push(Diagnostic::warning(
                    "shadows-builtin",
                    path.clone(),
                    format!("category `{key}` is built in; this declaration overrides its name and traits"),
                ));
            }
            if let Some(parent) = &custom.parent {
                self.check_category(path.key("parent"), parent);
            }
            if let Some(letters) = &custom.ccpa {
                for (i, l) in letters.iter().enumerate() {
                    if !('A'..='L').contains(l) {
                        self.out.push(Diagnostic::error(
                            "invalid-ccpa-category",
                            path.key("ccpa").index(i),
                            format!("`{l}` is not a CCPA category letter (A to L)"),
                        ));
                    }
                }
            }
        }
    }

    fn purposes(&mut self) {
        let regimes = self.regimes();
        let promises = self.promises();
        for (key, p) in &self.map.purposes {
            let path = MapPath::keys(["purposes", key]);
            if let Some(use_) = &p.data_use
                && taxonomy::data_use(use_).is_none()
            {
                let cands = taxonomy::data_uses().iter().map(|e| e.key);
                self.unknown(path.key("data_use"), "data use", use_, cands);
            }
            // Purposes served only as a processor take the controller's legal basis (GDPR Art. 28).
            let mut users = self
                .map
                .activities
                .values()
                .filter(|a| a.purposes.iter().any(|x| x == key))
                .peekable();
            let processor_only = users.peek().is_some() && users.all(|a| a.role == Role::Processor);
            for regime in regimes {
                if rules(*regime).needs_legal_basis
                    && !processor_only
                    && !p.legal_basis.contains_key(regime)
                {
                    self.out.push(
                        Diagnostic::error(
                            "missing-legal-basis",
                            path.key("legal_basis"),
                            format!(
                                "purpose `{key}` has no legal basis under `{}`",
                                regime.key()
                            ),
                        )
                        .with_help(format!(
                            "add `{}: <basis>` under `legal_basis`",
                            regime.key()
                        )),
                    );
                }
            }
            for regime in p.legal_basis.keys() {
                if !regimes.contains(regime) && !regimes.is_empty() {
                    self.out.push(Diagnostic::warning(
                        "regime-not-applicable",
                        path.key("legal_basis").key(regime.key()),
                        format!("`{}` is not among the organisation's regimes", regime.key()),
                    ));
                }
            }
            let bases: HashSet<LegalBasis> = p.legal_basis.values().copied().collect();
            if bases.contains(&LegalBasis::LegitimateInterests) && p.legitimate_interest.is_none() {
                self.out.push(
                    Diagnostic::error(
                        "legitimate-interest-without-balancing",
                        path.key("legal_basis"),
                        format!("purpose `{key}` relies on legitimate interests but states neither the interest nor the balancing test"),
                    )
                    .with_help("add `legitimate_interest:` with the interest pursued and why it is not overridden by the person's rights"),
                );
            }
            if bases.contains(&LegalBasis::Consent) && p.withdraw.is_none() {
                self.out.push(
                    Diagnostic::error(
                        "consent-without-withdrawal",
                        path.clone(),
                        format!("purpose `{key}` is based on consent but says no way to withdraw it (GDPR Art. 7(3))"),
                    )
                    .with_help("add `withdraw:` saying how, e.g. \"unsubscribe link in every email\""),
                );
            }
            if p.sale && promises.no_sale {
                self.out.push(Diagnostic::error(
                    "promise-no-sale",
                    path.key("sale"),
                    format!(
                        "purpose `{key}` sells personal information, but the map promises `no_sale`"
                    ),
                ));
            }
            if p.sharing && promises.no_sharing {
                self.out.push(Diagnostic::error(
                    "promise-no-sharing",
                    path.key("sharing"),
                    format!("purpose `{key}` shares personal information for cross-context advertising, but the map promises `no_sharing`"),
                ));
            }
            if p.profiling && promises.no_profiling {
                self.out.push(Diagnostic::error(
                    "promise-no-profiling",
                    path.key("profiling"),
                    format!("purpose `{key}` profiles people, but the map promises `no_profiling`"),
                ));
            }
            if p.automated_decisions && promises.no_automated_decisions {
                self.out.push(Diagnostic::error(
                    "promise-no-automated-decisions",
                    path.key("automated_decisions"),
                    format!("purpose `{key}` makes solely automated decisions, but the map promises `no_automated_decisions`"),
                ));
            }
            let used = self
                .map
                .activities
                .values()
                .any(|a| a.purposes.iter().any(|x| x == key));
            if !used {
                self.out.push(Diagnostic::warning(
                    "unused",
                    path,
                    format!(
                        "purpose `{key}` appears in no activity, so the notice never mentions it"
                    ),
                ));
            }
        }
    }

    fn activities(&mut self) {
        for (key, a) in &self.map.activities {
            let path = MapPath::keys(["activities", key]);
            for (i, s) in a.subjects.iter().enumerate() {
                if !self.map.subjects.contains_key(s) {
                    let cands: Vec<&str> = self.map.subjects.keys().map(String::as_str).collect();
                    self.unknown(path.key("subjects").index(i), "subject", s, cands);
                }
            }
            for (i, c) in a.categories.iter().enumerate() {
                self.check_category(path.key("categories").index(i), c);
            }
            for (i, p) in a.purposes.iter().enumerate() {
                self.check_purpose_ref(path.key("purposes").index(i), p);
            }
            for (i, s) in a.systems.iter().enumerate() {
                if !self.map.systems.contains_key(s) {
                    let cands: Vec<&str> = self.map.systems.keys().map(String::as_str).collect();
                    self.unknown(path.key("systems").index(i), "system", s, cands);
                }
            }
            self.role_controller(&path, a.role, a.controller.as_deref());
            for field in ["subjects", "categories", "purposes"] {
                let empty = match field {
                    "subjects" => a.subjects.is_empty(),
                    "categories" => a.categories.is_empty(),
                    _ => a.purposes.is_empty(),
                };
                if empty {
                    self.out.push(Diagnostic::error(
                        "empty-activity",
                        path.key(field),
                        format!("activity `{key}` lists no {field}"),
                    ));
                }
            }
            // Special-category data needs an Art. 9 condition on every purpose it serves.
            let special: Vec<&String> = a
                .categories
                .iter()
                .filter(|c| self.cat.has_category(c) && self.cat.traits(c).special)
                .collect();
            // As a processor, the Art. 9 condition is the controller's to establish.
            if let Some(first) = special.first()
                && a.role != Role::Processor
                && self
                    .regimes()
                    .iter()
                    .any(|r| matches!(r, Regime::Gdpr | Regime::UkGdpr))
            {
                for (i, p) in a.purposes.iter().enumerate() {
                    if let Some(purpose) = self.map.purposes.get(p)
                        && purpose.special_condition.is_none()
                    {
                        self.out.push(
                            Diagnostic::error(
                                "special-category-without-condition",
                                path.key("purposes").index(i),
                                format!("activity `{key}` processes special-category data (`{first}`) for purpose `{p}`, which names no Art. 9(2) condition"),
                            )
                            .with_help(format!("set `special_condition` on purpose `{p}` (e.g. `explicit_consent`)")),
                        );
                    }
                }
            }
        }
    }

    fn role_controller(&mut self, path: &MapPath, role: Role, controller: Option<&str>) {
        match (role, controller) {
            (Role::Processor, None) => self.out.push(
                Diagnostic::error(
                    "processor-without-controller",
                    path.key("role"),
                    "processor activity names no controller",
                )
                .with_help(format!("set `controller:` to a key of `controllers`, or `{ALL_CUSTOMERS}` when it is each customer")),
            ),
            (_, Some(c)) if c != ALL_CUSTOMERS && !self.map.controllers.contains_key(c) => {
                let cands: Vec<&str> = self.map.controllers.keys().map(String::as_str).collect();
                self.unknown(path.key("controller"), "controller", c, cands);
            }
            _ => {}
        }
    }

    fn systems(&mut self) {
        for (key, s) in &self.map.systems {
            for (i, p) in s.processors.iter().enumerate() {
                if !self.map.processors.contains_key(p) {
                    let cands: Vec<&str> = self.map.processors.keys().map(String::as_str).collect();
                    self.unknown(
                        MapPath::keys(["systems", key, "processors"]).index(i),
                        "processor",
                        p,
                        cands,
                    );
                }
            }
        }
    }

    fn datastores(&mut self) {
        let promises = self.promises();
        for (ds_key, ds) in &self.map.datastores {
            let path = MapPath::keys(["datastores", ds_key]);
            if let Some(system) = &ds.system
                && !self.map.systems.contains_key(system)
            {
                let cands: Vec<&str> = self.map.systems.keys().map(String::as_str).collect();
                self.unknown(path.key("system"), "system", system, cands);
            }
            match (&ds.kind, &ds.connection_env) {
                (ConnectorKind::Manual, _) if ds.instructions.is_none() => {
                    self.out.push(Diagnostic::warning(
                        "manual-without-instructions",
                        path.key("kind"),
                        format!("manual datastore `{ds_key}` has no `instructions` for the person who completes its tasks"),
                    ));
                }
                (ConnectorKind::Manual, _) => {}
                (_, None) => self.out.push(
                    Diagnostic::error(
                        "missing-connection",
                        path.key("kind"),
                        format!("datastore `{ds_key}` says no environment variable holds its connection URL"),
                    )
                    .with_help("add `connection_env: SOME_DATABASE_URL`"),
                ),
                (_, Some(env)) if !is_env_var_name(env) => self.out.push(
                    Diagnostic::error(
                        "inline-secret",
                        path.key("connection_env"),
                        "`connection_env` must name an environment variable, not hold a connection string",
                    )
                    .with_help("put the URL in an environment variable (e.g. `CRM_DATABASE_URL`) and name that variable here; a map is committed to version control and must hold no secrets"),
                ),
                _ => {}
            }
            self.role_controller(&path, ds.role, ds.controller.as_deref());
            self.http_calls(ds_key, ds, &path);
            for (c_key, coll) in &ds.collections {
                let cpath = path.key("collections").key(c_key);
                if ds.kind == ConnectorKind::Redis && coll.key.is_none() {
                    self.out.push(Diagnostic::error(
                        "redis-without-key-pattern",
                        cpath.clone(),
                        format!("Redis collection `{c_key}` needs a `key` pattern such as `session:{{user_id}}`"),
                    ));
                }
                for (f_key, field) in &coll.fields {
                    let fpath = cpath.key("fields").key(f_key);
                    for (i, c) in field.categories.iter().enumerate() {
                        self.check_category(fpath.key("categories").index(i), c);
                        if promises.no_payment_card_storage
                            && self.cat.has_category(c)
                            && self.cat.traits(c).payment_card
                        {
                            self.out.push(Diagnostic::error(
                                "promise-no-payment-card-storage",
                                fpath.key("categories").index(i),
                                format!("`{ds_key}.{c_key}.{f_key}` holds payment-card data (`{c}`), but the map promises `no_payment_card_storage`"),
                            ));
                        }
                    }
                    for (i, r) in field.references.iter().enumerate() {
                        if self.cat.resolve_field(ds_key, r).is_none() {
                            self.out.push(
                                Diagnostic::error(
                                    "unknown-reference",
                                    fpath.key("references").index(i),
                                    format!("unknown field `{r}`"),
                                )
                                .with_help(self.field_suggestion(ds_key, r)),
                            );
                        }
                    }
                    if let Some(name) = &field.rectify {
                        self.rectify(ds_key, c_key, f_key, field, name, fpath.key("rectify"));
                    }
                    // An `http` collection's erase call is the strategy for all its fields.
                    if self.cat.field_is_personal(field)
                        && field.erasure.is_none()
                        && ds.kind != ConnectorKind::Manual
                        && !field.primary_key
                        && coll.erase.is_none()
                    {
                        self.out.push(
                            Diagnostic::warning(
                                "missing-erasure",
                                fpath.clone(),
                                format!("personal field `{ds_key}.{c_key}.{f_key}` has no `erasure` strategy; erasure requests will fail on it"),
                            )
                            .with_help("add `erasure: nullify` (or fixed, keyed_hash, random, truncate_date, delete_row)"),
                        );
                    }
                }
            }
        }
    }

    /// A field's `rectify` name: a snake_case attribute, on a field no record finds another by
    /// (a key, a reference, or a field referred to), since a corrected value there would break
    /// the link between records.
    fn rectify(
        &mut self,
        ds_key: &str,
        c_key: &str,
        f_key: &str,
        field: &crate::model::Field,
        name: &str,
        at: MapPath,
    ) {
        let snake = !name.is_empty()
            && name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake {
            self.out.push(
                Diagnostic::error(
                    "rectify-name",
                    at.clone(),
                    format!("`rectify: {name}` must be a snake_case attribute name of at most 40 characters"),
                )
                .with_help("name what the person corrects, the same in every field that holds it: `rectify: name`, `rectify: postal_address`"),
            );
        }
        let referred_to = self.map.datastores.iter().any(|(d, ds)| {
            ds.collections.values().any(|c| {
                c.fields.values().any(|f| {
                    f.references.iter().any(|r| {
                        self.cat.resolve_field(d, r).is_some_and(|loc| {
                            loc.datastore == ds_key && loc.collection == c_key && loc.field == f_key
                        })
                    })
                })
            })
        });
        if field.primary_key || !field.references.is_empty() || referred_to {
            self.out.push(
                Diagnostic::error(
                    "rectify-link",
                    at,
                    format!("`{ds_key}.{c_key}.{f_key}` links records (a key or a reference): correcting it would break the link"),
                )
                .with_help("declare `rectify` on the fields that describe the person (name, address), not on keys or references"),
            );
        }
    }

    /// The `http` connector's declarations: credentials by environment variable, find and erase
    /// calls whose placeholders all stand for fields of their collection, JSON pointers.
    fn http_calls(&mut self, ds_key: &str, ds: &crate::model::Datastore, path: &MapPath) {
        let http = ds.kind == ConnectorKind::Http;
        let only_http = |out: &mut Vec<Diagnostic>, at: MapPath, what: &str| {
            if !http {
                out.push(Diagnostic::error(
                    "http-only",
                    at,
                    format!("`{what}` is for `kind: http` datastores; `{ds_key}` is not one"),
                ));
            }
        };
        if let Some(auth) = &ds.auth {
            let apath = path.key("auth");
            only_http(&mut self.out, apath.clone(), "auth");
            let complete = matches!(
                (&auth.bearer_env, &auth.header, &auth.value_env),
                (Some(_), None, None) | (None, Some(_), Some(_))
            );
            if !complete {
                self.out.push(
                    Diagnostic::error(
                        "http-auth",
                        apath.clone(),
                        format!("`auth` of `{ds_key}` must be either `bearer_env` or `header` with `value_env`"),
                    )
                    .with_help("write `auth: {bearer_env: DESK_API_TOKEN}` or `auth: {header: X-Api-Key, value_env: DESK_API_KEY}`"),
                );
            }
            for (key, var) in [
                ("bearer_env", &auth.bearer_env),
                ("value_env", &auth.value_env),
            ] {
                if let Some(var) = var
                    && !is_env_var_name(var)
                {
                    self.out.push(
                        Diagnostic::error(
                            "inline-secret",
                            apath.key(key),
                            format!("`{key}` must name an environment variable, not hold a credential"),
                        )
                        .with_help("put the credential in an environment variable and name that variable here; a map is committed to version control and must hold no secrets"),
                    );
                }
            }
            if let Some(header) = &auth.header
                && (header.is_empty()
                    || !header
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)))
            {
                self.out.push(Diagnostic::error(
                    "http-auth",
                    apath.key("header"),
                    format!("`{header}` is not an HTTP header name (letters, digits, `-`)"),
                ));
            }
        }
        for (c_key, coll) in &ds.collections {
            let cpath = path.key("collections").key(c_key);
            let call = |out: &mut Vec<Diagnostic>, at: MapPath, message: String| {
                out.push(Diagnostic::error("http-call", at, message));
            };
            for (i, find) in coll.find.iter().enumerate() {
                let fpath = if coll.find.len() == 1 {
                    cpath.key("find")
                } else {
                    cpath.key("find").index(i)
                };
                only_http(&mut self.out, fpath.clone(), "find");
                let mut looked_up: BTreeSet<&str> = BTreeSet::new();
                match self.template(coll, &find.path) {
                    Ok(fields) => looked_up.extend(fields),
                    Err(e) => call(&mut self.out, fpath.key("path"), e),
                }
                if looked_up.len() != 1 {
                    call(
                        &mut self.out,
                        fpath.key("path"),
                        format!(
                            "a find call looks records up by one field; `{}` names {}",
                            find.path,
                            looked_up.len()
                        ),
                    );
                }
                if let Some(pointer) = &find.records
                    && !(pointer.is_empty() || pointer.starts_with('/'))
                {
                    call(
                        &mut self.out,
                        fpath.key("records"),
                        format!("`{pointer}` is not a JSON pointer (`/data`)"),
                    );
                }
            }
            if let Some(erase) = &coll.erase {
                let epath = cpath.key("erase");
                only_http(&mut self.out, epath.clone(), "erase");
                if let Err(e) = self.template(coll, &erase.path) {
                    call(&mut self.out, epath.key("path"), e);
                }
                let mut texts = Vec::new();
                if let Some(body) = &erase.body {
                    json_strings(body, &mut texts);
                }
                for text in texts {
                    if let Err(e) = self.template(coll, text) {
                        call(&mut self.out, epath.key("body"), e);
                    }
                }
                if coll.find.is_empty() {
                    call(
                        &mut self.out,
                        epath,
                        format!(
                            "`{c_key}` declares an erase call but no `find`: the records to erase could never be found"
                        ),
                    );
                }
            }
            for (f_key, field) in &coll.fields {
                if let Some(pointer) = &field.path {
                    let at = cpath.key("fields").key(f_key).key("path");
                    only_http(&mut self.out, at.clone(), "path");
                    if !pointer.starts_with('/') {
                        call(
                            &mut self.out,
                            at,
                            format!("`{pointer}` is not a JSON pointer (`/owner/email`)"),
                        );
                    }
                }
            }
        }
    }

    /// The fields a call's `path` (or body text) names, or why it is wrong.
    fn template<'c>(
        &self,
        coll: &'c crate::model::Collection,
        template: &str,
    ) -> Result<BTreeSet<&'c str>, String> {
        let names =
            crate::model::placeholders(template).map_err(|e| format!("`{template}` has {e}"))?;
        names
            .into_iter()
            .map(|name| {
                coll.placeholder_field(name).ok_or_else(|| {
                    format!("`{{{name}}}` in `{template}` is neither a field of the collection nor the identity kind of one")
                })
            })
            .collect()
    }

    fn field_suggestion(&self, ds_key: &str, reference: &str) -> String {
        let mut all: Vec<String> = Vec::new();
        for (d, ds) in &self.map.datastores {
            for (c, coll) in &ds.collections {
                for f in coll.fields.keys() {
                    if d == ds_key {
                        all.push(format!("{c}.{f}"));
                    }
                    all.push(format!("{d}.{c}.{f}"));
                }
            }
        }
        match did_you_mean(reference, all.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "write `collection.field` or `datastore.collection.field` of a declared field"
                .to_owned(),
        }
    }

    /// Every collection holding personal data must be reachable from a field that identifies a person,
    /// directly or by following references in either direction; otherwise no request can reach it.
    fn identity_paths(&mut self) {
        type Node<'a> = (&'a str, &'a str);
        let mut edges: HashMap<Node<'m>, Vec<Node<'m>>> = HashMap::new();
        let mut roots: VecDeque<Node<'m>> = VecDeque::new();
        for (ds_key, ds) in &self.map.datastores {
            for (c_key, coll) in &ds.collections {
                let here = (ds_key.as_str(), c_key.as_str());
                if coll.fields.values().any(|f| f.identity.is_some()) {
                    roots.push_back(here);
                }
                for field in coll.fields.values() {
                    for r in &field.references {
                        if let Some(loc) = self.cat.resolve_field(ds_key, r) {
                            let there = (loc.datastore, loc.collection);
                            edges.entry(here).or_default().push(there);
                            edges.entry(there).or_default().push(here);
                        }
                    }
                }
            }
        }
        let mut reached: HashSet<Node<'m>> = roots.iter().copied().collect();
        while let Some(node) = roots.pop_front() {
            for next in edges.get(&node).into_iter().flatten() {
                if reached.insert(*next) {
                    roots.push_back(*next);
                }
            }
        }
        for (ds_key, ds) in &self.map.datastores {
            if ds.kind == ConnectorKind::Manual {
                continue;
            }
            for (c_key, coll) in &ds.collections {
                let personal = coll.fields.values().any(|f| self.cat.field_is_personal(f));
                if personal && !reached.contains(&(ds_key.as_str(), c_key.as_str())) {
                    self.out.push(
                        Diagnostic::error(
                            "no-identity-path",
                            MapPath::keys(["datastores", ds_key, "collections", c_key]),
                            format!("`{ds_key}.{c_key}` holds personal data but no identity path reaches it: a request could never find a person's records there"),
                        )
                        .with_help("mark a field with `identity: email` (or user_id, phone ...), or add `references:` to a collection that has one"),
                    );
                }
            }
        }
    }

    fn processors(&mut self) {
        let regimes = self.regimes().to_vec();
        for (key, p) in &self.map.processors {
            let path = MapPath::keys(["processors", key]);
            for (i, purpose) in p.purposes.iter().enumerate() {
                self.check_purpose_ref(path.key("purposes").index(i), purpose);
            }
            for (i, c) in p.categories.iter().enumerate() {
                self.check_category(path.key("categories").index(i), c);
            }
            if let Some(parent) = &p.parent
                && !self.map.processors.contains_key(parent)
            {
                let cands: Vec<&str> = self.map.processors.keys().map(String::as_str).collect();
                self.unknown(path.key("parent"), "processor", parent, cands);
            }
            if p.countries.is_empty() {
                self.out.push(Diagnostic::error(
                    "missing-country",
                    path.key("countries"),
                    format!("processor `{key}` lists no country where the data is processed"),
                ));
            }
            for (i, country) in p.countries.iter().enumerate() {
                let cpath = path.key("countries").index(i);
                if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                    self.out.push(Diagnostic::error(
                        "invalid-country",
                        cpath,
                        format!("`{country}` is not an ISO 3166-1 alpha-2 country code (or `EU`)"),
                    ));
                    continue;
                }
                for regime in &regimes {
                    let r = rules(*regime);
                    if !r.is_transfer(country) || r.is_adequate(country) {
                        continue;
                    }
                    let safeguarded = match p.transfer {
                        None | Some(TransferMechanism::Adequacy) => false,
                        Some(TransferMechanism::Dpf) => country == "US",
                        Some(TransferMechanism::Idta) => *regime == Regime::UkGdpr,
                        Some(_) => true,
                    };
                    if !safeguarded {
                        let stated = match p.transfer {
                            None => "no transfer mechanism".to_owned(),
                            Some(m) => format!("`{}`, which does not cover it", mechanism_key(m)),
                        };
                        self.out.push(
                            Diagnostic::error(
                                "transfer-without-safeguard",
                                cpath.clone(),
                                format!("processor `{key}` receives data in `{country}`, which has no {} adequacy decision, and the map states {stated}", r.label),
                            )
                            .with_help("set `transfer:` to sccs, dpf (US only), idta (UK), bcrs or derogation"),
                        );
                    }
                }
            }
            // Categories a processor receives must be ones its purposes are declared to process.
            let mut covered: BTreeSet<&str> = BTreeSet::new();
            for a in self.map.activities.values() {
                if a.purposes.iter().any(|x| p.purposes.contains(x)) {
                    covered.extend(a.categories.iter().map(String::as_str));
                }
            }
            for (i, c) in p.categories.iter().enumerate() {
                // A processor may name a parent (`user.contact`) of what the activities list, or a child.
                let ok = covered
                    .iter()
                    .any(|cov| is_same_or_descendant(c, cov) || is_same_or_descendant(cov, c));
                if !ok && self.cat.has_category(c) {
                    self.out.push(
                        Diagnostic::error(
                            "processor-categories-not-covered",
                            path.key("categories").index(i),
                            format!("processor `{key}` receives `{c}`, but no activity for its purposes ({}) processes that category", p.purposes.join(", ")),
                        )
                        .with_help("add the category to an activity with one of these purposes, or remove it from the processor"),
                    );
                }
            }
        }
    }

    fn retention(&mut self) {
        for (key, rule) in &self.map.retention {
            let path = MapPath::keys(["retention", key]);
            let period = match Period::parse(&rule.period) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.out
                        .push(Diagnostic::error("invalid-period", path.key("period"), e));
                    None
                }
            };
            if let Some(min) = &rule.statutory_minimum {
                match Period::parse(&min.period) {
                    Err(e) => self.out.push(Diagnostic::error(
                        "invalid-period",
                        path.key("statutory_minimum").key("period"),
                        e,
                    )),
                    Ok(m) => {
                        if let Some(p) = period
                            && p.approx_days() < m.approx_days()
                        {
                            self.out.push(Diagnostic::error(
                                "retention-below-statutory-minimum",
                                path.key("period"),
                                format!("`{key}` keeps data for {p}, less than the {m} that {} requires", min.law),
                            ));
                        }
                    }
                }
            }
            for (i, c) in rule.applies_to.categories.iter().enumerate() {
                self.check_category(path.key("applies_to").key("categories").index(i), c);
            }
            for (i, c) in rule.applies_to.collections.iter().enumerate() {
                if !self.cat.has_collection(c) {
                    let mut all = Vec::new();
                    for (d, ds) in &self.map.datastores {
                        for coll in ds.collections.keys() {
                            all.push(format!("{d}.{coll}"));
                        }
                    }
                    self.unknown(
                        path.key("applies_to").key("collections").index(i),
                        "collection",
                        c,
                        all.iter().map(String::as_str),
                    );
                }
            }
            if rule.applies_to.categories.is_empty()
                && rule.applies_to.collections.is_empty()
                && rule.applies_to.records.is_empty()
            {
                self.out.push(Diagnostic::error(
                    "empty-retention-scope",
                    path.key("applies_to"),
                    format!("retention rule `{key}` applies to nothing"),
                ));
            }
            if let RetentionEvent::Field(f) = &rule.from {
                let found = self
                    .map
                    .datastores
                    .keys()
                    .any(|ds| self.cat.resolve_field(ds, f).is_some());
                if !found {
                    self.out.push(
                        Diagnostic::error(
                            "unknown-reference",
                            path.key("from").key("field"),
                            format!("unknown field `{f}`"),
                        )
                        .with_help("write `datastore.collection.field` of a declared date field"),
                    );
                }
            }
        }
        // Every personal category in use needs a rule, by category (or an ancestor) or by collection.
        let covers_category = |c: &str| {
            self.map.retention.values().any(|r| {
                r.applies_to
                    .categories
                    .iter()
                    .any(|rc| is_same_or_descendant(c, rc))
            })
        };
        let mut seen: HashSet<&str> = HashSet::new();
        let mut missing: Vec<Diagnostic> = Vec::new();
        // Transient activities store nothing, so they need no retention rule.
        for (a_key, a) in self.map.activities.iter().filter(|(_, a)| !a.transient) {
            for (i, c) in a.categories.iter().enumerate() {
                if self.cat.has_category(c)
                    && self.cat.traits(c).personal
                    && !covers_category(c)
                    && seen.insert(c)
                {
                    missing.push(
                        Diagnostic::error(
                            "no-retention-rule",
                            MapPath::keys(["activities", a_key, "categories"]).index(i),
                            format!("personal data `{c}` has no retention rule"),
                        )
                        .with_help("add a rule under `retention:` whose `applies_to.categories` covers it (a parent category covers its children)"),
                    );
                }
            }
        }
        for (ds_key, ds) in &self.map.datastores {
            for (c_key, coll) in &ds.collections {
                let by_collection = self.map.retention.values().any(|r| {
                    r.applies_to
                        .collections
                        .iter()
                        .any(|x| x == &format!("{ds_key}.{c_key}"))
                });
                if by_collection {
                    continue;
                }
                for (f_key, field) in &coll.fields {
                    for (i, c) in field.categories.iter().enumerate() {
                        if self.cat.has_category(c)
                            && self.cat.traits(c).personal
                            && !covers_category(c)
                            && seen.insert(c)
                        {
                            missing.push(
                                Diagnostic::error(
                                    "no-retention-rule",
                                    MapPath::keys(["datastores", ds_key, "collections", c_key, "fields", f_key, "categories"]).index(i),
                                    format!("personal data `{c}` in `{ds_key}.{c_key}.{f_key}` has no retention rule"),
                                )
                                .with_help(format!("add a retention rule covering category `{c}` or collection `{ds_key}.{c_key}`")),
                            );
                        }
                    }
                }
            }
        }
        self.out.extend(missing);
    }

    fn rights(&mut self) {
        let regimes = self.regimes().to_vec();
        let Some(rights) = &self.map.rights else {
            if !regimes.is_empty() {
                self.out.push(
                    Diagnostic::error(
                        "missing-rights",
                        MapPath::default(),
                        "the map does not say how people exercise their rights",
                    )
                    .with_help("add a `rights:` section with `response_days`, `verification`, `contact` and the rights per regime"),
                );
            }
            return;
        };
        let path = MapPath::keys(["rights"]);
        for regime in &regimes {
            let r = rules(*regime);
            let promised = rights.response_days_for(*regime);
            if promised > r.response.max_days() {
                let at = if rights.response_days_by_regime.contains_key(regime) {
                    path.key("response_days_by_regime").key(regime.key())
                } else {
                    path.key("response_days")
                };
                let days = r.response.max_days().min(30);
                self.out.push(
                    Diagnostic::error(
                        "response-time-exceeds-law",
                        at,
                        format!(
                            "the map promises answers within {promised} days, but {} allows at most {}",
                            r.label,
                            r.response.describe()
                        ),
                    )
                    .with_help(format!(
                        "promise {days} days or fewer, or set `response_days_by_regime: {{{}: {days}}}`",
                        regime.key()
                    )),
                );
            }
            if !rights.regimes.contains_key(regime) {
                self.out.push(Diagnostic::error(
                    "missing-rights",
                    path.key("regimes"),
                    format!("no rights listed for `{}`, which applies", regime.key()),
                ));
            }
        }
        let sells = self.map.purposes.values().any(|p| p.sale || p.sharing);
        let sensitive = self.map.activities.values().any(|a| {
            a.categories
                .iter()
                .any(|c| self.cat.has_category(c) && self.cat.traits(c).sensitive)
        });
        for (regime, list) in &rights.regimes {
            if !regimes.contains(regime) && !regimes.is_empty() {
                self.out.push(Diagnostic::warning(
                    "regime-not-applicable",
                    path.key("regimes").key(regime.key()),
                    format!("`{}` is not among the organisation's regimes", regime.key()),
                ));
            }
            for required in rules(*regime).rights {
                // Opting out of sale and limiting sensitive data only matter when there is any.
                let applies = match required {
                    Right::OptOutSaleSharing => sells,
                    Right::LimitSensitive => sensitive,
                    _ => true,
                };
                if applies && !list.contains(required) {
                    self.out.push(Diagnostic::warning(
                        "right-not-offered",
                        path.key("regimes").key(regime.key()),
                        format!(
                            "{} grants the right to `{}`, which the map does not list",
                            rules(*regime).label,
                            right_key(*required)
                        ),
                    ));
                }
            }
        }
        if rights.contact.email.is_none()
            && rights.contact.url.is_none()
            && rights.contact.phone.is_none()
        {
            self.out.push(Diagnostic::error(
                "missing-contact",
                path.key("contact"),
                "requests need a channel: give an `email`, `url` or `phone`",
            ));
        }
    }

    fn signals(&mut self) {
        let promises = self.promises();
        let ccpa = self.regimes().contains(&Regime::Ccpa);
        let sells_or_shares = self.map.purposes.values().any(|p| p.sale || p.sharing);
        if ccpa && sells_or_shares {
            if promises.gpc != Some(SignalPolicy::Honour) {
                self.out.push(
                    Diagnostic::error(
                        "gpc-not-honoured",
                        MapPath::keys(["promises", "gpc"]),
                        "personal information is sold or shared and the CCPA applies, so Global Privacy Control must be honoured as an opt-out (Regs §7025)",
                    )
                    .with_help("set `gpc: honour`"),
                );
            }
            let offers_opt_out = self
                .map
                .rights
                .as_ref()
                .and_then(|r| r.regimes.get(&Regime::Ccpa))
                .is_some_and(|l| l.contains(&Right::OptOutSaleSharing));
            if !offers_opt_out {
                self.out.push(Diagnostic::error(
                    "missing-opt-out",
                    MapPath::keys(["rights", "regimes"]),
                    "personal information is sold or shared, but the CCPA rights do not include `opt_out_sale_sharing`",
                ));
            }
        }
    }
}

/// True for `YYYY-MM-DD` with a plausible month and day.
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    matches!((num(0..4), num(5..7), num(8..10)), (Some(_), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// Every string in a JSON value, keys excepted.
fn json_strings<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(members) => members.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The map-file spelling of a transfer mechanism.
pub fn mechanism_key(m: TransferMechanism) -> &'static str {
    match m {
        TransferMechanism::Adequacy => "adequacy",
        TransferMechanism::Sccs => "sccs",
        TransferMechanism::Dpf => "dpf",
        TransferMechanism::Idta => "idta",
        TransferMechanism::Bcrs => "bcrs",
        TransferMechanism::Derogation => "derogation",
    }
}

/// The map-file spelling of a right.
pub fn right_key(r: Right) -> &'static str {
    match r {
        Right::Access => "access",
        Right::Portability => "portability",
        Right::Rectification => "rectification",
        Right::Erasure => "erasure",
        Right::Restriction => "restriction",
        Right::Objection => "objection",
        Right::WithdrawConsent => "withdraw_consent",
        Right::AutomatedDecisions => "automated_decisions",
        Right::Complain => "complain",
        Right::Know => "know",
        Right::Delete => "delete",
        Right::Correct => "correct",
        Right::OptOutSaleSharing => "opt_out_sale_sharing",
        Right::LimitSensitive => "limit_sensitive",
        Right::NonDiscrimination => "non_discrimination",
        Right::Confirmation => "confirmation",
        Right::Anonymisation => "anonymisation",
        Right::InformationOnSharing => "information_on_sharing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Collection, Datastore, Field, HttpAuth, HttpErase, HttpFind, HttpMethod, IdentityKind,
    };

    /// The codes and paths of the `http` checks on a map with one datastore of `kind`.
    fn check_http(
        kind: ConnectorKind,
        edit: impl FnOnce(&mut Datastore),
        expected: &[(&str, &str)],
    ) {
        let mut contacts = Collection::default();
        for (name, identity) in [("id", None), ("email", Some(IdentityKind::Email))] {
            contacts.fields.insert(
                name.to_owned(),
                Field {
                    identity,
                    primary_key: name == "id",
                    ..Field::default()
                },
            );
        }
        contacts.find = vec![HttpFind {
            path: "/contacts?email={email}".to_owned(),
            records: Some("/data".to_owned()),
        }];
        contacts.erase = Some(HttpErase {
            method: HttpMethod::Delete,
            path: "/contacts/{id}".to_owned(),
            body: None,
        });
        let mut ds = Datastore {
            name: None,
            description: None,
            system: None,
            kind,
            connection_env: Some("DESK_URL".to_owned()),
            instructions: None,
            role: Role::Controller,
            controller: None,
            auth: Some(HttpAuth {
                bearer_env: Some("DESK_TOKEN".to_owned()),
                ..HttpAuth::default()
            }),
            collections: [("contacts".to_owned(), contacts)].into_iter().collect(),
        };
        edit(&mut ds);
        let mut map = DataMap::default();
        map.datastores.insert("desk".to_owned(), ds);
        let got: Vec<(&str, String)> = check(&map)
            .into_iter()
            .filter(|d| d.code.starts_with("http") || d.code == "inline-secret")
            .map(|d| (d.code, d.path.to_string()))
            .collect();
        let expected: Vec<(&str, String)> = expected
            .iter()
            .map(|(c, p)| (*c, (*p).to_owned()))
            .collect();
        assert_eq!(got, expected);
    }

    fn contacts(ds: &mut Datastore) -> &mut Collection {
        ds.collections.get_mut("contacts").expect("contacts")
    }

    #[test]
    fn http_declarations_are_checked() {
        check_http(ConnectorKind::Http, |_| {}, &[]);
        check_http(
            ConnectorKind::Postgres,
            |_| {},
            &[
                ("http-only", "datastores.desk.auth"),
                ("http-only", "datastores.desk.collections.contacts.find"),
                ("http-only", "datastores.desk.collections.contacts.erase"),
            ],
        );
        check_http(
            ConnectorKind::Http,
            |ds| {
                ds.auth = Some(HttpAuth {
                    bearer_env: Some("Bearer abc123".to_owned()),
                    header: Some("X-Key".to_owned()),
                    value_env: None,
                })
            },
            &[
                ("http-auth", "datastores.desk.auth"),
                ("inline-secret", "datastores.desk.auth.bearer_env"),
            ],
        );
        check_http(
            ConnectorKind::Http,
            |ds| {
                let c = contacts(ds);
                c.find[0].path = "/contacts/{id}?email={email}".to_owned();
                c.erase.as_mut().expect("erase").path = "/contacts/{uid}".to_owned();
            },
            &[
                (
                    "http-call",
                    "datastores.desk.collections.contacts.find.path",
                ),
                (
                    "http-call",
                    "datastores.desk.collections.contacts.erase.path",
                ),
            ],
        );
        check_http(
            ConnectorKind::Http,
            |ds| contacts(ds).find.clear(),
            &[("http-call", "datastores.desk.collections.contacts.erase")],
        );
    }
}
