//! Resolution of the names a map uses: categories (built-in and custom), subjects, field references.

use crate::model::{DataMap, Field};
use crate::taxonomy::{self, CategoryTraits};

/// Answers "what is this key?" questions about one map.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'m> {
    map: &'m DataMap,
}

/// A field found by following a reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldLoc<'m> {
    pub datastore: &'m str,
    pub collection: &'m str,
    pub field: &'m str,
    pub def: &'m Field,
}

impl<'m> Catalog<'m> {
    pub fn new(map: &'m DataMap) -> Catalog<'m> {
        Catalog { map }
    }

    /// True when `key` is a built-in or custom data category.
    pub fn has_category(&self, key: &str) -> bool {
        self.map.categories.contains_key(key) || taxonomy::data_category(key).is_some()
    }

    /// Every category key the map may use, for suggestions.
    pub fn category_keys(&self) -> impl Iterator<Item = &'m str> + 'm {
        self.map
            .categories
            .keys()
            .map(String::as_str)
            .chain(taxonomy::data_categories().iter().map(|e| e.key))
    }

    /// The category's human name.
    pub fn category_name(&self, key: &str) -> String {
        if let Some(custom) = self.map.categories.get(key) {
            return custom.name.clone();
        }
        taxonomy::data_category(key)
            .map(|e| e.name.to_owned())
            .unwrap_or_else(|| key.to_owned())
    }

    /// The category's legal traits; custom categories inherit from their parent chain.
    pub fn traits(&self, key: &str) -> CategoryTraits {
        self.traits_at_depth(key, 0)
    }

    fn traits_at_depth(&self, key: &str, depth: usize) -> CategoryTraits {
        let Some(custom) = self.map.categories.get(key) else {
            return taxonomy::category_traits(key);
        };
        // Parent chains are short; the depth bound only guards against cycles.
        let mut traits = match &custom.parent {
            Some(parent) if depth < 16 => self.traits_at_depth(parent, depth + 1),
            _ => taxonomy::category_traits(key),
        };
        if let Some(ccpa) = &custom.ccpa {
            traits.ccpa.clone_from(ccpa);
        }
        if let Some(v) = custom.sensitive {
            traits.sensitive = v;
        }
        if let Some(v) = custom.special {
            traits.special = v;
        }
        if let Some(v) = custom.payment_card {
            traits.payment_card = v;
        }
        match custom.personal {
            Some(v) => traits.personal = v,
            // A custom category outside `user.*` with no parent is personal unless said otherwise.
            None if custom.parent.is_none() && !key.starts_with("system") => traits.personal = true,
            None => {}
        }
        traits
    }

    /// The subject's human name (declared subjects first, then fideslang's).
    pub fn subject_name(&self, key: &str) -> String {
        if let Some(s) = self.map.subjects.get(key) {
            return s.name.clone();
        }
        taxonomy::data_subject(key)
            .map(|e| e.name.to_owned())
            .unwrap_or_else(|| key.to_owned())
    }

    /// Resolves `collection.field` (relative to `datastore`) or `datastore.collection.field`.
    pub fn resolve_field(&self, datastore: &str, reference: &str) -> Option<FieldLoc<'m>> {
        if let Some((first, rest)) = reference.split_once('.')
            && let Some((ds_key, ds)) = self.map.datastores.get_key_value(first)
            && let Some((coll, field)) = rest.split_once('.')
            && let Some((coll_key, c)) = ds.collections.get_key_value(coll)
            && let Some((field_key, def)) = c.fields.get_key_value(field)
        {
            return Some(FieldLoc {
                datastore: ds_key,
                collection: coll_key,
                field: field_key,
                def,
            });
        }
        let (ds_key, ds) = self.map.datastores.get_key_value(datastore)?;
        let (coll, field) = reference.split_once('.')?;
        let (coll_key, c) = ds.collections.get_key_value(coll)?;
        let (field_key, def) = c.fields.get_key_value(field)?;
        Some(FieldLoc {
            datastore: ds_key,
            collection: coll_key,
            field: field_key,
            def,
        })
    }

    /// True when `datastore.collection` names a declared collection.
    pub fn has_collection(&self, reference: &str) -> bool {
        reference
            .split_once('.')
            .and_then(|(ds, coll)| {
                self.map
                    .datastores
                    .get(ds)
                    .map(|d| d.collections.contains_key(coll))
            })
            .unwrap_or(false)
    }

    /// True when the field holds personal data.
    pub fn field_is_personal(&self, field: &Field) -> bool {
        field.identity.is_some() || field.categories.iter().any(|c| self.traits(c).personal)
    }
}
