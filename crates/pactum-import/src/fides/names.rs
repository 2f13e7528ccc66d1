//! Small mappings from Fides vocabulary to Pactum's: keys, connector kinds, identities, legal bases.

use pactum_domain::model::{ConnectorKind, IdentityKind, LegalBasis, SpecialCondition};

/// A Pactum map key for a Fides key: dots (which separate `datastore.collection.field`) and the
/// template brackets `<>` become `_`.
pub(crate) fn map_key(fides_key: &str) -> String {
    fides_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// True when `key` is a valid FidesKey (`^[a-zA-Z0-9_.<>-]+$`).
pub(crate) fn is_fides_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '<' | '>' | '-'))
}

/// The environment variable that should hold a datastore's connection URL:
/// `postgres_example_test_dataset` gives `POSTGRES_EXAMPLE_TEST_DATASET_URL`.
pub(crate) fn connection_env(datastore_key: &str) -> String {
    let mut name: String = datastore_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "DB_");
    }
    name.push_str("_URL");
    name
}

/// What a Fides `connection_type` (or a word of a dataset's name) says about the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KindHint {
    /// A database Pactum connects to.
    Supported(ConnectorKind),
    /// A database Fides knows and Pactum has no connector for (the name, as Fides spells it).
    Unsupported(&'static str),
}

/// The connector kind a Fides connection type or name word stands for.
pub(crate) fn kind_hint(word: &str) -> Option<KindHint> {
    use ConnectorKind::*;
    let word = word.to_ascii_lowercase();
    Some(match word.as_str() {
        "postgres" | "postgresql" | "rds_postgres" | "google_cloud_sql_postgres" | "timescale" => {
            KindHint::Supported(Postgres)
        }
        "mysql" | "rds_mysql" | "google_cloud_sql_mysql" => KindHint::Supported(Mysql),
        "mariadb" => KindHint::Supported(Mariadb),
        "sqlite" => KindHint::Supported(Sqlite),
        "redis" => KindHint::Supported(Redis),
        "mssql" => KindHint::Unsupported("mssql"),
        "mongodb" | "mongo" => KindHint::Unsupported("mongodb"),
        "bigquery" => KindHint::Unsupported("bigquery"),
        "snowflake" => KindHint::Unsupported("snowflake"),
        "redshift" => KindHint::Unsupported("redshift"),
        "dynamodb" => KindHint::Unsupported("dynamodb"),
        "scylla" | "scylladb" => KindHint::Unsupported("scylla"),
        "s3" => KindHint::Unsupported("s3"),
        _ => return None,
    })
}

/// The first word of `name` (split at `_`, `-`, `.`) that names a database, e.g. `postgres` in
/// `postgres_example_test_dataset`.
pub(crate) fn kind_in_name(name: &str) -> Option<KindHint> {
    name.split(['_', '-', '.']).find_map(kind_hint)
}

/// The map-file spelling of a connector kind.
pub(crate) fn kind_key(kind: ConnectorKind) -> &'static str {
    match kind {
        ConnectorKind::Postgres => "postgres",
        ConnectorKind::Mysql => "mysql",
        ConnectorKind::Mariadb => "mariadb",
        ConnectorKind::Sqlite => "sqlite",
        ConnectorKind::Redis => "redis",
        ConnectorKind::Http => "http",
        ConnectorKind::Manual => "manual",
    }
}

/// A Fides identity type as a Pactum identity kind; `false` when the match is not exact (a custom
/// Fides identity such as `loyalty_id` becomes `external_id`).
pub(crate) fn identity(fides: &str) -> (IdentityKind, bool) {
    match fides {
        "email" => (IdentityKind::Email, true),
        "phone_number" | "phone" => (IdentityKind::Phone, true),
        "user_id" => (IdentityKind::UserId, true),
        "customer_id" => (IdentityKind::CustomerId, true),
        "fides_user_device_id" | "device_id" => (IdentityKind::DeviceId, true),
        "ga_client_id" | "cookie_id" => (IdentityKind::CookieId, true),
        "username" => (IdentityKind::Username, true),
        "external_id" => (IdentityKind::ExternalId, true),
        _ => (IdentityKind::ExternalId, false),
    }
}

/// The map-file spelling of an identity kind.
pub(crate) fn identity_key(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::Email => "email",
        IdentityKind::Phone => "phone",
        IdentityKind::UserId => "user_id",
        IdentityKind::CustomerId => "customer_id",
        IdentityKind::DeviceId => "device_id",
        IdentityKind::CookieId => "cookie_id",
        IdentityKind::Username => "username",
        IdentityKind::ExternalId => "external_id",
        IdentityKind::IpAddress => "ip_address",
    }
}

/// A Fides `legal_basis_for_processing` (GDPR Art. 6(1) wording) as a legal basis.
pub(crate) fn legal_basis(fides: &str) -> Option<LegalBasis> {
    Some(match fides.trim().to_ascii_lowercase().as_str() {
        "consent" => LegalBasis::Consent,
        "contract" => LegalBasis::Contract,
        "legal obligation" | "legal obligations" => LegalBasis::LegalObligation,
        "vital interest" | "vital interests" => LegalBasis::VitalInterests,
        "public interest" | "public task" => LegalBasis::PublicTask,
        "legitimate interest" | "legitimate interests" => LegalBasis::LegitimateInterests,
        _ => return None,
    })
}

/// A Fides `special_category_legal_basis` (GDPR Art. 9(2) wording) as a special-category condition.
pub(crate) fn special_condition(fides: &str) -> Option<SpecialCondition> {
    let s = fides.trim().to_ascii_lowercase();
    let has = |w: &str| s.contains(w);
    Some(if has("explicit consent") {
        SpecialCondition::ExplicitConsent
    } else if has("employment") {
        SpecialCondition::EmploymentSocialSecurity
    } else if has("vital interest") {
        SpecialCondition::VitalInterests
    } else if has("not-for-profit") || has("not for profit") {
        SpecialCondition::NotForProfitBody
    } else if has("made public") {
        SpecialCondition::MadePublic
    } else if has("legal claim") {
        SpecialCondition::LegalClaims
    } else if has("substantial public interest") {
        SpecialCondition::SubstantialPublicInterest
    } else if has("health or social care") {
        SpecialCondition::HealthOrSocialCare
    } else if has("public health") {
        SpecialCondition::PublicHealth
    } else if has("archiving") || has("research") {
        SpecialCondition::ArchivingResearchStatistics
    } else {
        return None;
    })
}

/// Why a Fides key the importer does not read has no place in the map (the report's wording).
pub(crate) fn why_unmapped(key_path: &str) -> &'static str {
    let last = key_path.rsplit('.').next().unwrap_or(key_path);
    match last {
        "data_type" => {
            "not represented: a map records no value types (connectors read them from the database)"
        }
        "length" => "not represented: a map does not truncate masked values",
        "read_only" => "not represented: a map has no read-only fields",
        "return_all_elements" => "not represented: a map has no arrays",
        "custom_request_field" => {
            "not represented: identities come only from the request's verified identifiers"
        }
        "redact" => "not represented: access packages show field names as they are",
        "after" | "erase_after" => {
            "not represented: Pactum derives the traversal order from identities and references"
        }
        "skip_processing" => "not represented: every collection of a map is processed",
        "partitioning" => "not represented: a map has no partitioning",
        "resource_id" | "namespace" | "database_name" | "schema" | "project_id" | "dataset_id" => {
            "not represented: where the database is comes from the connection URL in `connection_env`"
        }
        "system_type" => "not represented: a map does not classify systems",
        "fidesctl_meta" | "endpoint_address" | "endpoint_port" | "resource_filters" => {
            "not represented: a map holds no infrastructure addresses"
        }
        "vendor_id" | "previous_vendor_id" | "vendor_deleted_date" => {
            "not represented: a map does not link vendor registries"
        }
        "features" => "not represented: a map does not list product features",
        "impact_assessment_location"
        | "requires_data_protection_assessments"
        | "dpa_location"
        | "dpa_progress" => "not represented: a map does not track assessments",
        "data_shared_with_third_parties" | "third_parties" | "shared_categories" => {
            "not represented: declare the recipients as `processors` with their country and transfer mechanism"
        }
        "processes_special_category_data" => {
            "not represented as such: special-category data follows from the categories"
        }
        "flexible_legal_basis_for_processing" => {
            "not represented: a purpose has one legal basis per regime"
        }
        "cookies"
        | "uses_cookies"
        | "cookie_max_age_seconds"
        | "cookie_refresh"
        | "uses_non_cookie_access" => "not represented: a map has no cookie inventory",
        "uses_profiling" | "legal_basis_for_profiling" | "automated_decisions_or_profiling" => {
            "not represented: set `profiling` / `automated_decisions` on the purposes concerned"
        }
        "does_international_transfers" | "legal_basis_for_transfers" => {
            "not represented: transfers are stated per processor (`countries`, `transfer`)"
        }
        "responsibility" => {
            "not represented: set `role: processor` and `controller` on the activities concerned"
        }
        "version_added" | "version_deprecated" | "replaced_by" | "is_default" | "active" => {
            "not represented: a map has no taxonomy versions"
        }
        "meta" => "not represented: a map has no free-form metadata",
        "tags" => "not represented: a map has no tags",
        _ => "not represented in a Pactum map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_lose_the_characters_that_would_break_references() {
        assert_eq!(
            map_key("postgres_example_test_dataset"),
            "postgres_example_test_dataset"
        );
        assert_eq!(map_key("a.b<c>-d"), "a_b_c_-d");
        assert!(is_fides_key("<instance_fides_key>.x-1"));
        assert!(!is_fides_key("has space"));
        assert!(!is_fides_key(""));
    }

    #[test]
    fn connection_env_is_an_upper_case_variable_name() {
        assert_eq!(
            connection_env("postgres_example_test_dataset"),
            "POSTGRES_EXAMPLE_TEST_DATASET_URL"
        );
        assert_eq!(connection_env("crm-db"), "CRM_DB_URL");
        assert_eq!(connection_env("1st"), "DB_1ST_URL");
    }

    #[test]
    fn kinds_come_from_the_first_database_word() {
        use ConnectorKind::*;
        let supported = |k| Some(KindHint::Supported(k));
        assert_eq!(
            kind_in_name("postgres_example_test_dataset"),
            supported(Postgres)
        );
        assert_eq!(kind_in_name("mysql_example_test_dataset"), supported(Mysql));
        assert_eq!(
            kind_in_name("mariadb_example_test_dataset"),
            supported(Mariadb)
        );
        assert_eq!(kind_in_name("example-sqlite.yml"), supported(Sqlite));
        assert_eq!(
            kind_in_name("mongo_example_test_dataset"),
            Some(KindHint::Unsupported("mongodb"))
        );
        assert_eq!(kind_in_name("demo_users_dataset"), None);
        assert_eq!(kind_hint("google_cloud_sql_postgres"), supported(Postgres));
    }

    #[test]
    fn identities() {
        assert_eq!(identity("email"), (IdentityKind::Email, true));
        assert_eq!(identity("phone_number"), (IdentityKind::Phone, true));
        assert_eq!(
            identity("fides_user_device_id"),
            (IdentityKind::DeviceId, true)
        );
        assert_eq!(identity("ga_client_id"), (IdentityKind::CookieId, true));
        assert_eq!(identity("external_id"), (IdentityKind::ExternalId, true));
        assert_eq!(identity("loyalty_id"), (IdentityKind::ExternalId, false));
    }

    #[test]
    fn legal_bases_use_fides_wording() {
        assert_eq!(legal_basis("Consent"), Some(LegalBasis::Consent));
        assert_eq!(
            legal_basis("Legal obligations"),
            Some(LegalBasis::LegalObligation)
        );
        assert_eq!(legal_basis("Public interest"), Some(LegalBasis::PublicTask));
        assert_eq!(
            legal_basis("Legitimate interests"),
            Some(LegalBasis::LegitimateInterests)
        );
        assert_eq!(legal_basis("because"), None);
        assert_eq!(
            special_condition("Reasons of substantial public interest (with a basis in law)"),
            Some(SpecialCondition::SubstantialPublicInterest)
        );
        assert_eq!(
            special_condition("Explicit consent"),
            Some(SpecialCondition::ExplicitConsent)
        );
        assert_eq!(
            special_condition("Archiving, research and statistics (with a basis in law)"),
            Some(SpecialCondition::ArchivingResearchStatistics)
        );
        assert_eq!(special_condition("whatever"), None);
    }

    #[test]
    fn unmapped_keys_say_why() {
        assert!(why_unmapped("fides_meta.data_type").contains("value types"));
        assert_eq!(why_unmapped("nonsense"), "not represented in a Pactum map");
    }
}
