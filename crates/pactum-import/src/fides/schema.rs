//! The Fides resources as Fides writes them: only the keys the importer reads.
//!
//! Unknown keys are not errors here (Fides itself ignores them), but they are not lost either: the
//! parser records every key these structs do not declare, and the report lists them.

use serde::Deserialize;

/// One Fides manifest file: resource types mapped to lists.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Manifest {
    #[serde(default)]
    pub dataset: Vec<Dataset>,
    #[serde(default)]
    pub system: Vec<System>,
    #[serde(default)]
    pub organization: Vec<Organization>,
    #[serde(default)]
    pub policy: Vec<Policy>,
    #[serde(default)]
    pub data_category: Vec<TaxonomyItem>,
    #[serde(default)]
    pub data_use: Vec<TaxonomyItem>,
    #[serde(default)]
    pub data_subject: Vec<DataSubject>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Dataset {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub organization_fides_key: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form metadata; reported when not empty.
    #[serde(default)]
    pub meta: Option<Opaque>,
    #[serde(default)]
    pub data_categories: Option<Vec<String>>,
    #[serde(default, alias = "fidesops_meta")]
    pub fides_meta: Option<DatasetMeta>,
    #[serde(default)]
    pub collections: Vec<Collection>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DatasetMeta {
    #[serde(default)]
    pub namespace: Option<Namespace>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Namespace {
    #[serde(default)]
    pub connection_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Collection {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub data_categories: Option<Vec<String>>,
    #[serde(default, alias = "fidesops_meta")]
    pub fides_meta: Option<CollectionMeta>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CollectionMeta {
    #[serde(default)]
    pub masking_strategy_override: Option<MaskingStrategy>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Field {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub data_categories: Option<Vec<String>>,
    #[serde(default, alias = "fidesops_meta")]
    pub fides_meta: Option<FieldMeta>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FieldMeta {
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub primary_key: Option<bool>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub masking_strategy_override: Option<MaskingStrategy>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Reference {
    pub dataset: String,
    pub field: String,
    #[serde(default)]
    pub direction: Option<String>,
}

/// A masking strategy with its configuration (field overrides and DSR policy rules).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MaskingStrategy {
    pub strategy: String,
    #[serde(default)]
    pub configuration: Option<MaskingConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MaskingConfiguration {
    #[serde(default)]
    pub rewrite_value: Option<String>,
    #[serde(default)]
    pub length: Option<u64>,
    #[serde(default)]
    pub algorithm: Option<String>,
    #[serde(default)]
    pub format_preservation: Option<FormatPreservation>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct FormatPreservation {
    #[serde(default)]
    pub suffix: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct System {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub organization_fides_key: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub administrating_department: Option<String>,
    #[serde(default)]
    pub privacy_declarations: Vec<PrivacyDeclaration>,
    #[serde(default)]
    pub dataset_references: Vec<String>,
    #[serde(default)]
    pub egress: Vec<DataFlow>,
    #[serde(default)]
    pub ingress: Vec<DataFlow>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DataFlow {
    pub fides_key: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PrivacyDeclaration {
    #[serde(default)]
    pub name: Option<String>,
    pub data_use: String,
    #[serde(default)]
    pub data_categories: Vec<String>,
    #[serde(default)]
    pub data_subjects: Vec<String>,
    #[serde(default)]
    pub dataset_references: Vec<String>,
    #[serde(default)]
    pub egress: Vec<String>,
    #[serde(default)]
    pub ingress: Vec<String>,
    #[serde(default)]
    pub legal_basis_for_processing: Option<String>,
    #[serde(default)]
    pub special_category_legal_basis: Option<String>,
    #[serde(default)]
    pub retention_period: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Organization {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub controller: Option<ContactDetails>,
    #[serde(default)]
    pub data_protection_officer: Option<ContactDetails>,
    #[serde(default)]
    pub representative: Option<ContactDetails>,
    #[serde(default)]
    pub security_policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContactDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A fideslang evaluation policy, or a Fides DSR policy written as YAML.
#[derive(Debug, Deserialize)]
pub(crate) struct Policy {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub organization_fides_key: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PolicyRule {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// DSR rules: `access`, `erasure` or `consent`.
    #[serde(default)]
    pub action_type: Option<String>,
    #[serde(default)]
    pub masking_strategy: Option<MaskingStrategy>,
    #[serde(default)]
    pub targets: Vec<RuleTarget>,
    /// Evaluation rules: the three dimensions.
    #[serde(default)]
    pub data_categories: Option<RuleMatch>,
    #[serde(default)]
    pub data_uses: Option<RuleMatch>,
    #[serde(default)]
    pub data_subjects: Option<RuleMatch>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleTarget {
    pub data_category: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleMatch {
    pub matches: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A `data_category` or `data_use` taxonomy entry.
#[derive(Debug, Deserialize)]
pub(crate) struct TaxonomyItem {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub organization_fides_key: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub parent_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DataSubject {
    pub fides_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub organization_fides_key: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub rights: Option<SubjectRights>,
    #[serde(default)]
    pub automated_decisions_or_profiling: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubjectRights {
    pub strategy: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// Any YAML value, kept only as "was there anything in it": for free-form keys such as `meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opaque {
    /// False for `null`, `{}`, `[]` and `""`.
    pub non_empty: bool,
}

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Opaque;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_unit<E>(self) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: false })
            }
            fn visit_none<E>(self) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: false })
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Opaque, D::Error> {
                d.deserialize_any(Visit)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: true })
            }
            fn visit_i64<E>(self, _: i64) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: true })
            }
            fn visit_u64<E>(self, _: u64) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: true })
            }
            fn visit_f64<E>(self, _: f64) -> Result<Opaque, E> {
                Ok(Opaque { non_empty: true })
            }
            fn visit_str<E>(self, v: &str) -> Result<Opaque, E> {
                Ok(Opaque {
                    non_empty: !v.is_empty(),
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Opaque, A::Error> {
                let mut non_empty = false;
                // Not `IgnoredAny`: the key tracker would report every key inside as unread.
                while seq.next_element::<Opaque>()?.is_some() {
                    non_empty = true;
                }
                Ok(Opaque { non_empty })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Opaque, A::Error> {
                let mut non_empty = false;
                while map.next_entry::<Opaque, Opaque>()?.is_some() {
                    non_empty = true;
                }
                Ok(Opaque { non_empty })
            }
        }
        deserializer.deserialize_any(Visit)
    }
}
