//! The Fides importer on Fides's own resources (`shared/reference/fides/`, which nobody on this
//! project wrote) and on small inline manifests for the cases those files do not cover.
//!
//! Every import is checked the same way by [`check_import`]: it writes the map, loads it back
//! through `pactum_mapfile` (the map must be exactly the one imported), runs `pactum check`, and
//! asserts that no diagnostic is a syntax, type, unknown-key, duplicate or unknown-reference error
//! and that every remaining one is listed in the report.

use std::path::{Path, PathBuf};

use pactum_domain::catalog::Catalog;
use pactum_domain::diagnostic::Severity;
use pactum_domain::model::{
    ConnectorKind, DataMap, Erasure, IdentityKind, LegalBasis, Regime, SpecialCondition,
};
use pactum_import::fides::{Import, Options, import};
use pactum_import::report::EntryKind;
use pactum_import::{FILES, ImportError, REPORT_FILE, write};

/// The shared reference folder sits beside the clone (`/work/shared` here, `../shared` in CI).
fn fides(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/fides")
        .join(rel)
}

/// Diagnostics that mean the importer wrote a broken map, whatever the source lacked.
const NEVER: [&str; 9] = [
    "yaml-syntax",
    "invalid-value",
    "unknown-key",
    "duplicate-key",
    "unknown-reference",
    "invalid-utf8",
    "file-too-large",
    "inline-secret",
    "missing-connection",
];

/// Errors that come from what Fides has no notion of (organisation, regimes, notice date, rights,
/// retention, a way to withdraw consent, a legitimate-interest balancing note); only these may
/// remain, and only when the report lists them.
const COMPLETENESS: [&str; 8] = [
    "missing-organisation",
    "missing-regimes",
    "invalid-date",
    "missing-rights",
    "no-retention-rule",
    "empty-activity",
    "consent-without-withdrawal",
    "legitimate-interest-without-balancing",
];

/// Writes, reloads and checks an import; returns the written map's remaining error codes.
fn check_import(import: &mut Import) -> Vec<&'static str> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("map");
    write(import, &out).expect("the map is written");
    for (file, _) in FILES {
        let text = std::fs::read_to_string(out.join(file)).expect("every section file is written");
        assert!(
            text.starts_with("# Imported from Fides by `pactum import fides`"),
            "{file} starts with the provenance header"
        );
    }
    let report = std::fs::read_to_string(out.join(REPORT_FILE)).expect("the report is written");
    assert_eq!(report, import.report.markdown());

    let loaded = pactum_mapfile::load(&out).expect("the written map loads");
    assert!(
        loaded.diagnostics.is_empty(),
        "the written map has load diagnostics: {}",
        pactum_mapfile::report::human(&loaded)
    );
    assert_eq!(
        loaded.map, import.map,
        "the map survives the round trip through YAML"
    );

    let checked = pactum_mapfile::load_and_check(&out).expect("the written map loads");
    let mut errors = Vec::new();
    for d in &checked.diagnostics {
        assert!(
            !NEVER.contains(&d.code),
            "the importer wrote a map with `{}`: {}",
            d.code,
            d.message
        );
        let listed = import
            .report
            .check
            .iter()
            .any(|line| line.contains(&format!("[{}]", d.code)) && line.ends_with(&d.message));
        assert!(listed, "`{}` ({}) is not in the report", d.code, d.message);
        if d.severity == Severity::Error {
            assert!(
                COMPLETENESS.contains(&d.code),
                "`{}` is not a completeness error: {}",
                d.code,
                d.message
            );
            errors.push(d.code);
        }
    }
    errors.sort_unstable();
    errors.dedup();
    errors
}

fn import_one(rel: &str) -> Import {
    import(&[fides(rel)], &Options::default()).unwrap_or_else(|e| panic!("{rel} imports: {e}"))
}

/// What one dataset file must give.
struct Dataset {
    file: &'static str,
    key: &'static str,
    kind: ConnectorKind,
    collections: usize,
    fields: usize,
    identities: usize,
    references: usize,
}

fn check_dataset(expect: Dataset) {
    let mut imported = import_one(expect.file);
    let map = &imported.map;
    assert_eq!(map.datastores.len(), 1, "{}", expect.file);
    let ds = &map.datastores[expect.key];
    assert_eq!(ds.kind, expect.kind, "{}: kind", expect.file);
    let fields: Vec<_> = ds
        .collections
        .values()
        .flat_map(|c| c.fields.values())
        .collect();
    assert_eq!(
        ds.collections.len(),
        expect.collections,
        "{}: collections",
        expect.file
    );
    assert_eq!(fields.len(), expect.fields, "{}: fields", expect.file);
    let identities = fields.iter().filter(|f| f.identity.is_some()).count();
    assert_eq!(identities, expect.identities, "{}: identities", expect.file);
    let references: Vec<&String> = fields.iter().flat_map(|f| &f.references).collect();
    assert_eq!(
        references.len(),
        expect.references,
        "{}: references",
        expect.file
    );
    let catalog = Catalog::new(map);
    for r in references {
        assert!(
            catalog.resolve_field(expect.key, r).is_some(),
            "{}: `{r}` resolves",
            expect.file
        );
    }
    let s = imported.report.summary;
    assert_eq!(
        (
            s.datastores,
            s.collections,
            s.fields,
            s.identities,
            s.references
        ),
        (
            1,
            expect.collections,
            expect.fields,
            expect.identities,
            expect.references
        )
    );
    let errors = check_import(&mut imported);
    assert!(
        errors.contains(&"missing-organisation"),
        "{}: {errors:?}",
        expect.file
    );
}

#[test]
fn postgres_example_test_dataset() {
    check_dataset(Dataset {
        file: "dataset/postgres_example_test_dataset.yml",
        key: "postgres_example_test_dataset",
        kind: ConnectorKind::Postgres,
        collections: 11,
        fields: 48,
        identities: 6,
        references: 10,
    });
}

#[test]
fn mysql_example_test_dataset() {
    check_dataset(Dataset {
        file: "dataset/mysql_example_test_dataset.yml",
        key: "mysql_example_test_dataset",
        kind: ConnectorKind::Mysql,
        collections: 12,
        fields: 50,
        identities: 7,
        references: 10,
    });
}

#[test]
fn mariadb_example_test_dataset() {
    check_dataset(Dataset {
        file: "dataset/mariadb_example_test_dataset.yml",
        key: "mariadb_example_test_dataset",
        kind: ConnectorKind::Mariadb,
        collections: 11,
        fields: 48,
        identities: 6,
        references: 10,
    });
}

#[test]
fn postgres_example_test_extended_dataset() {
    check_dataset(Dataset {
        file: "dataset/postgres_example_test_extended_dataset.yml",
        key: "postgres_example_test_extended_dataset",
        kind: ConnectorKind::Postgres,
        collections: 1,
        fields: 4,
        identities: 1,
        references: 0,
    });
}

#[test]
fn demo_dataset() {
    check_dataset(Dataset {
        file: "demo_resources/demo_dataset.yml",
        key: "demo_users_dataset",
        kind: ConnectorKind::Manual,
        collections: 1,
        fields: 6,
        identities: 0,
        references: 0,
    });
}

#[test]
fn the_invalid_masking_override_is_rejected_naming_file_field_and_problem() {
    let file = fides("dataset/postgres_example_invalid_masking_strategy_override_dataset.yml");
    let err = import(&[&file], &Options::default()).expect_err("the file is invalid");
    assert!(matches!(err, ImportError::Rejected { ref problems } if problems.len() == 1));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: dataset `postgres_example_invalid_masking_strategy_override`, field `employee.name`: masking strategy `hash` cannot override a field: it needs a secret key generated for each request, which Fides allows only in a policy's erasure rule; use null_rewrite, string_rewrite or random_string_rewrite",
            file.display()
        )
    );
}

#[test]
fn every_reference_file_imports_except_the_invalid_one() {
    let mut seen = 0;
    for dir in ["dataset", "demo_resources"] {
        for entry in std::fs::read_dir(fides(dir)).expect("the shared Fides folder exists") {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let result = import(&[&path], &Options::default());
            if name.contains("invalid") {
                assert!(result.is_err(), "{name} is rejected");
            } else {
                let mut imported = result.unwrap_or_else(|e| panic!("{name} imports: {e}"));
                check_import(&mut imported);
            }
            seen += 1;
        }
    }
    assert_eq!(
        seen, 10,
        "the test covers every file of dataset/ and demo_resources/"
    );
}

#[test]
fn postgres_references_stay_on_the_field_that_declares_them() {
    let map = import_one("dataset/postgres_example_test_dataset.yml").map;
    let coll = |c: &str| &map.datastores["postgres_example_test_dataset"].collections[c];
    // `direction: from`: customer.id is read first, orders.customer_id is still the referring column.
    assert_eq!(
        coll("orders").fields["customer_id"].references,
        ["postgres_example_test_dataset.customer.id"]
    );
    // `direction: to`: customer.address_id is read first and refers to address.id.
    assert_eq!(
        coll("customer").fields["address_id"].references,
        ["postgres_example_test_dataset.address.id"]
    );
    assert!(coll("customer").fields["id"].references.is_empty());
    assert_eq!(
        coll("customer").fields["email"].identity,
        Some(IdentityKind::Email)
    );
    assert!(coll("customer").fields["id"].primary_key);
    assert_eq!(
        coll("employee").fields["name"].erasure,
        Some(Erasure::Fixed("testing-test".to_owned()))
    );
    assert_eq!(
        map.datastores["postgres_example_test_dataset"]
            .connection_env
            .as_deref(),
        Some("POSTGRES_EXAMPLE_TEST_DATASET_URL")
    );
}

#[test]
fn postgres_report_names_what_was_not_carried_over() {
    let report = import_one("dataset/postgres_example_test_dataset.yml").report;
    let lines: Vec<String> = report
        .of(EntryKind::NotRepresented)
        .map(|e| e.line())
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has(
            "`fides_meta.length` not represented: a map does not truncate masked values: `customer.name`"
        ),
        "{lines:#?}"
    );
    assert!(has("`fides_meta.data_type` not represented"));
    assert!(has(
        "`orders.customer_id -> postgres_example_test_dataset.customer.id (from)`"
    ));
    let inferred: Vec<String> = report.of(EntryKind::Inferred).map(|e| e.line()).collect();
    assert_eq!(
        inferred,
        [
            "dataset `postgres_example_test_dataset`: connector kind `postgres` inferred from its fides_key",
            "dataset `postgres_example_test_dataset`: the connection URL is expected in the environment variable `POSTGRES_EXAMPLE_TEST_DATASET_URL`",
        ]
    );
}

#[test]
fn extended_dataset_custom_identity_is_approximated_and_reported() {
    let imported = import_one("dataset/postgres_example_test_extended_dataset.yml");
    let field =
        &imported.map.datastores["postgres_example_test_extended_dataset"].collections["loyalty"]
            .fields["id"];
    assert_eq!(field.identity, Some(IdentityKind::ExternalId));
    let lines: Vec<String> = imported
        .report
        .of(EntryKind::Approximated)
        .map(|e| e.line())
        .collect();
    assert_eq!(
        lines,
        [
            "dataset `postgres_example_test_extended_dataset`: custom identity `loyalty_id` written as `external_id`: `loyalty.id`"
        ]
    );
}

#[test]
fn demo_resources_with_a_dataset_leave_only_reported_completeness_errors() {
    let mut imported = import(
        &[
            fides("demo_resources"),
            fides("dataset/postgres_example_test_dataset.yml"),
        ],
        &Options::default(),
    )
    .expect("the demo resources and a dataset import together");
    let map = &imported.map;
    assert_eq!(map.datastores.len(), 2);
    assert_eq!(map.systems.len(), 2);
    assert_eq!(map.activities.len(), 2);
    assert_eq!(
        map.datastores["demo_users_dataset"].system.as_deref(),
        Some("demo_analytics_system")
    );
    let org = map
        .organisation
        .as_ref()
        .expect("the demo organization is imported");
    assert_eq!(org.name, "Demo Organization");
    assert_eq!(
        org.contact.email.as_deref(),
        Some("controller@demo_company.com")
    );
    assert_eq!(
        org.dpo.as_ref().and_then(|d| d.name.as_deref()),
        Some("DataPro Tection")
    );
    assert!(org.regimes.is_empty(), "no regime is made up");
    assert!(
        org.representatives.is_empty(),
        "Fides does not say which regime the representative is for"
    );
    let errors = check_import(&mut imported);
    assert_eq!(
        errors,
        ["invalid-date", "missing-regimes", "no-retention-rule"]
    );
    let md = imported.report.markdown();
    assert!(
        md.contains("Fides does not say which laws apply: list them in `organisation.regimes`")
    );
    assert!(md.contains("Fides has no notice version or date"));
}

#[test]
fn demo_system_becomes_systems_purposes_activities_and_subjects() {
    let imported = import_one("demo_resources/demo_system.yml");
    let map = &imported.map;
    let a = &map.activities["demo_analytics_system_analyze_customer_behaviour_for_improvements"];
    assert_eq!(a.name, "Analyze customer behaviour for improvements.");
    assert_eq!(a.subjects, ["customer"]);
    assert_eq!(a.categories, ["user.contact", "user.device.cookie_id"]);
    assert_eq!(a.purposes, ["functional_service_improve"]);
    assert_eq!(a.systems, ["demo_analytics_system"]);
    assert!(
        a.sources.is_empty(),
        "Fides does not say where data comes from"
    );
    let p = &map.purposes["functional_service_improve"];
    assert_eq!(p.data_use.as_deref(), Some("functional.service.improve"));
    assert!(p.legal_basis.is_empty(), "no legal basis is made up");
    assert_eq!(map.subjects["customer"].name, "Customer");
    assert_eq!(
        map.systems["demo_marketing_system"].owner.as_deref(),
        Some("Marketing")
    );
    let md = imported.report.markdown();
    assert!(md.contains("dataset references not represented: the dataset is not part of this import: `demo_users_dataset`"));
    assert!(md.contains("`egress to demo_analytics_system (system)`"));
    assert!(md.contains("`system_type` not represented"));
}

#[test]
fn demo_taxonomy_and_policy_are_kept_or_reported() {
    let taxonomy = import_one("demo_resources/demo_extended_taxonomy.yml");
    let p = &taxonomy.map.purposes["marketing_advertising_third_party_targeted_direct_marketing"];
    assert_eq!(p.name, "Direct Marketing");
    assert_eq!(
        p.data_use.as_deref(),
        Some("marketing.advertising.third_party.targeted")
    );
    assert_eq!(
        taxonomy.map.subjects["potential_customer"].name,
        "Potential Customer"
    );
    let md = taxonomy.report.markdown();
    assert!(md.contains("rights `INCLUDE` [`Informed`, `Access`, `Rectification`, `Erasure`, `Object`] not represented"));

    let policy = import_one("demo_resources/demo_policy.yml");
    assert_eq!(
        policy.map,
        DataMap::default(),
        "an evaluation policy has no place in a map"
    );
    let lines: Vec<String> = policy
        .report
        .of(EntryKind::NotRepresented)
        .map(|e| e.line())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("evaluation rule `Reject Direct Marketing` (\"Disallow collecting any user contact info to use for marketing.\"): categories ANY [`user.contact`] x uses ANY [`marketing.advertising`] x subjects ANY [`customer`]: not represented")),
        "{lines:#?}"
    );
}

/// Imports one inline manifest.
fn import_text(yaml: &str) -> Result<Import, ImportError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("inline.yml");
    std::fs::write(&path, yaml).expect("the fixture is written");
    import(&[&path], &Options::default())
}

#[test]
fn dsr_erasure_rules_set_strategies_where_no_override_does() {
    let mut imported = import_text(
        r#"
dataset:
  - fides_key: shop_postgres
    collections:
      - name: users
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: name
            data_categories: [user.name]
            fides_meta:
              masking_strategy_override: {strategy: null_rewrite}
          - name: nickname
            data_categories: [user.name]
            fides_meta:
              masking_strategy_override: {strategy: preserve}
          - name: created
            data_categories: [system.operations]
      - name: sessions
        fides_meta:
          masking_strategy_override: {strategy: delete}
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              references: [{dataset: shop_postgres, field: users.email, direction: from}]
policy:
  - fides_key: erase
    rules:
      - name: mask user data
        action_type: erasure
        masking_strategy: {strategy: hmac, configuration: {algorithm: SHA-512}}
        targets: [{data_category: user}]
      - name: give it back
        action_type: access
        targets: [{data_category: user}]
"#,
    )
    .expect("the manifest imports");
    let users = &imported.map.datastores["shop_postgres"].collections["users"].fields;
    assert_eq!(users["email"].erasure, Some(Erasure::KeyedHash));
    assert_eq!(
        users["name"].erasure,
        Some(Erasure::Nullify),
        "the field override wins"
    );
    assert_eq!(
        users["nickname"].erasure, None,
        "`preserve` keeps the value"
    );
    assert_eq!(
        users["created"].erasure, None,
        "not under the rule's targets"
    );
    let sessions = &imported.map.datastores["shop_postgres"].collections["sessions"].fields;
    assert_eq!(
        sessions["email"].erasure,
        Some(Erasure::DeleteRow),
        "the collection override wins"
    );
    let md = imported.report.markdown();
    assert!(md.contains("erasure rule `mask user data`: `hmac` written as `erasure: keyed_hash` on 1 field under [`user`]"), "{md}");
    assert!(md.contains("algorithm `SHA-512` not represented: `mask user data`"));
    assert!(md.contains("access rule `give it back` not represented"));
    assert!(md.contains("erasure rule `mask user data`: Fides would skip these fields (no `data_type`), Pactum erases them: `shop_postgres.users.email`"), "{md}");
    assert!(md.contains("`preserve` (keep the value on erasure) not represented"));
    check_import(&mut imported);
}

#[test]
fn nested_fields_are_flattened_and_arrays_reported() {
    let mut imported = import_text(
        r#"
dataset:
  - fides_key: mongo_example
    collections:
      - name: customer_details
        fields:
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta: {identity: external_id, primary_key: true}
          - name: workplace_info
            fields:
              - name: employer
                data_categories: [user.workplace]
              - name: phone
                data_categories: [user.contact.phone_number]
                fides_meta: {identity: phone_number}
          - name: emergency_contacts
            fides_meta: {data_type: "object[]"}
            fields:
              - name: name
                data_categories: [user.name]
"#,
    )
    .expect("the manifest imports");
    let ds = &imported.map.datastores["mongo_example"];
    assert_eq!(
        ds.kind,
        ConnectorKind::Manual,
        "Pactum has no MongoDB connector"
    );
    let fields = &ds.collections["customer_details"].fields;
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "customer_id",
            "workplace_info",
            "workplace_info.employer",
            "workplace_info.phone",
            "emergency_contacts",
            "emergency_contacts.name"
        ]
    );
    assert_eq!(
        fields["workplace_info.phone"].identity,
        Some(IdentityKind::Phone)
    );
    let md = imported.report.markdown();
    assert!(
        md.contains(
            "its fides_key says `mongodb`, which Pactum has no connector for: written as `manual`"
        ),
        "{md}"
    );
    assert!(md.contains("`data_type` `object[]` not represented: a map has no arrays, the field is one value: `customer_details.emergency_contacts`"));
    assert!(md.contains(
        "nested fields written as dotted field names: `customer_details.workplace_info.employer`"
    ));
    check_import(&mut imported);
}

#[test]
fn unread_keys_and_outside_references_are_reported_not_dropped() {
    let mut imported = import_text(
        r#"
connection:
  - key: app_postgres
dataset:
  - fides_key: app_db
    tags: [prod]
    meta: {owner: {team: data, since: 2024}}
    fides_meta:
      after: [other_db]
    collections:
      - name: users
        fides_meta: {skip_processing: false}
        fields:
          - name: email
            data_categories: [user.contact.email, user.custom.loyalty]
            fides_meta:
              identity: email
              read_only: true
          - name: account_id
            data_categories: [user.unique_id]
            fides_meta:
              references: [{dataset: billing_db, field: accounts.id}]
"#,
    )
    .expect("the manifest imports");
    let lines: Vec<String> = imported.report.entries.iter().map(|e| e.line()).collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("`connection` not represented in a Pactum map"),
        "{lines:#?}"
    );
    assert!(has("dataset `app_db`: tags [`prod`] not represented"));
    let meta: Vec<&String> = lines.iter().filter(|l| l.contains("meta`")).collect();
    assert_eq!(
        meta,
        ["dataset `app_db`: `meta` not represented: a map has no free-form metadata"],
        "free-form metadata is one entry, not one per key inside it"
    );
    assert!(has(
        "dataset `app_db`: `fides_meta.after` not represented: Pactum derives the traversal order"
    ));
    assert!(has(
        "`fides_meta.skip_processing` not represented: every collection of a map is processed: `users`"
    ));
    assert!(has(
        "`fides_meta.read_only` not represented: a map has no read-only fields: `users.email`"
    ));
    assert!(has(
        "references to datasets outside this import not represented (import them together to keep them): `users.account_id -> billing_db.accounts.id`"
    ));
    assert!(has(
        "data categories: neither built in nor declared: declared as custom categories named after their key (describe them): `user.custom.loyalty`"
    ));
    assert!(
        imported.map.datastores["app_db"].collections["users"].fields["account_id"]
            .references
            .is_empty()
    );
    assert_eq!(
        imported.map.categories["user.custom.loyalty"]
            .parent
            .as_deref(),
        Some("user")
    );
    check_import(&mut imported);
}

#[test]
fn what_fides_rejects_is_rejected_all_at_once() {
    let err = import_text(
        r#"
dataset:
  - fides_key: bad db
    collections:
      - name: users
        fides_meta:
          masking_strategy_override: {strategy: null_rewrite}
        fields:
          - name: email
            fides_meta:
              data_type: text
              references: [{dataset: x, field: nodot}]
          - name: email
          - name: name
            fides_meta:
              masking_strategy_override: {strategy: string_rewrite}
"#,
    )
    .expect_err("the manifest is invalid");
    let ImportError::Rejected { problems } = err else {
        panic!("expected a rejection, got {err}");
    };
    let got: Vec<String> = problems
        .iter()
        .map(|p| format!("{} | {}", p.field.as_deref().unwrap_or("-"), p.problem))
        .collect();
    assert_eq!(
        got,
        [
            "- | a fides_key may only hold letters, digits and `_ . < > -`",
            "users.email | unknown data_type `text` (Fides has string, integer, float, boolean, object_id, object, no_op, each optionally with `[]`)",
            "users.email | reference field `nodot` must be `collection.field`",
            "users.email | field defined twice",
            "users.name | masking strategy `string_rewrite` needs `configuration.rewrite_value`",
            "users | a collection's `masking_strategy_override` can only be `delete`, not `null_rewrite`",
        ]
    );
}

#[test]
fn malformed_yaml_names_the_file() {
    let err = import_text("dataset:\n  - fides_key: [unclosed\n").expect_err("not YAML");
    let text = err.to_string();
    assert!(
        text.contains("inline.yml: not a valid Fides manifest:"),
        "{text}"
    );
    let err = import_text("dataset:\n  - name: no key\n").expect_err("no fides_key");
    assert!(err.to_string().contains("fides_key"), "{err}");
}

#[test]
fn the_default_kind_applies_where_fides_names_no_database() {
    let options = Options {
        default_kind: ConnectorKind::Sqlite,
    };
    let imported = import(&[fides("demo_resources/demo_dataset.yml")], &options).expect("imports");
    let ds = &imported.map.datastores["demo_users_dataset"];
    assert_eq!(ds.kind, ConnectorKind::Sqlite);
    assert_eq!(ds.connection_env.as_deref(), Some("DEMO_USERS_DATASET_URL"));
}

#[test]
fn output_directories_with_other_map_files_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("mine.yml"), "subjects: {}\n").expect("written");
    let mut imported = import_one("demo_resources/demo_dataset.yml");
    let err = write(&mut imported, dir.path()).expect_err("the directory holds another map file");
    assert!(err.to_string().ends_with("already holds map files (`mine.yml`); the imported map would merge with them: choose an empty directory"));
    // A second import into the same directory replaces the first.
    let out = dir.path().join("again");
    write(&mut imported, &out).expect("first import");
    write(&mut imported, &out).expect("re-import into the same directory");
}

#[test]
fn missing_sources_are_errors() {
    let err = import(&[Path::new("/nonexistent/fides")], &Options::default()).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "/nonexistent/fides: no such file or directory"
    );
    let empty = tempfile::tempdir().expect("a temporary directory");
    let err = import(&[empty.path()], &Options::default()).expect_err("no manifests");
    assert!(
        err.to_string()
            .ends_with("no .yml or .yaml files in this directory")
    );
}

#[test]
fn hostile_input_is_refused_not_expanded() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ndataset: [*h]\n";
    let err = import_text(bomb).expect_err("an alias bomb is not a manifest");
    let text = err.to_string();
    assert!(
        text.contains("not a valid Fides manifest") && text.contains("budget breached"),
        "{text}"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("huge.yml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let big = line.repeat((pactum_import::fides::MAX_FILE_BYTES as usize / line.len()) + 1);
    std::fs::write(&path, big).expect("written");
    let err = import(&[&path], &Options::default()).expect_err("too large");
    assert!(matches!(err, ImportError::TooLarge { .. }), "{err}");
}

#[test]
fn declared_legal_bases_are_kept_under_gdpr_and_conflicts_reported() {
    let mut imported = import_text(
        r#"
system:
  - fides_key: crm
    name: CRM
    system_type: Application
    privacy_declarations:
      - name: Newsletter
        data_use: marketing.communications.email
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis_for_processing: Consent
        retention_period: 2 years after unsubscribing
      - name: Newsletter again
        data_use: marketing.communications.email
        data_categories: [user.contact.email]
        data_subjects: [customer]
        legal_basis_for_processing: Legitimate interests
      - name: Health survey
        data_use: improve.system
        data_categories: [user.health_and_medical]
        data_subjects: [patient_cohort]
        legal_basis_for_processing: Consent
        special_category_legal_basis: Explicit consent
"#,
    )
    .expect("the manifest imports");
    let map = &imported.map;
    let newsletter = &map.purposes["marketing_communications_email"];
    assert_eq!(
        newsletter.legal_basis.get(&Regime::Gdpr),
        Some(&LegalBasis::Consent)
    );
    assert_eq!(
        newsletter.withdraw, None,
        "no withdrawal channel is made up"
    );
    let survey = &map.purposes["improve_system"];
    assert_eq!(
        survey.special_condition,
        Some(SpecialCondition::ExplicitConsent)
    );
    assert_eq!(
        survey.data_use, None,
        "`improve.system` is not a fideslang data use"
    );
    assert_eq!(map.activities.len(), 3);
    assert_eq!(map.subjects["patient_cohort"].name, "patient_cohort");
    let md = imported.report.markdown();
    for needle in [
        "declaration `Newsletter again`: legal basis `Legitimate interests` differs from another declaration's for data use `marketing.communications.email`; the first is kept on purpose `marketing_communications_email`",
        "declaration `Newsletter`: retention `2 years after unsubscribing` not represented",
        "Fides's GDPR Art. 6 legal basis recorded under `gdpr` (Fides states no regime): check it for the other regimes: `Newsletter`, `Health survey`",
        "data use `improve.system` is neither built in nor declared, nor below a built-in one: purpose `improve_system` has no `data_use`",
        "data subjects neither built in nor declared: declared with their key as name: `patient_cohort`",
    ] {
        assert!(md.contains(needle), "missing `{needle}` in:\n{md}");
    }
    let errors = check_import(&mut imported);
    assert!(errors.contains(&"missing-organisation"));
}

/// The report people read after importing Fides's demo resources with its Postgres example.
#[test]
fn demo_and_postgres_report_snapshot() {
    let mut imported = import(
        &[
            fides("demo_resources"),
            fides("dataset/postgres_example_test_dataset.yml"),
        ],
        &Options::default(),
    )
    .expect("imports");
    check_import(&mut imported);
    let root = fides("").display().to_string();
    let md = imported.report.markdown().replace(&root, "<fides>/");
    insta::assert_snapshot!(md);
}
