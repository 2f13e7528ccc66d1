//! Statutory retention defers erasure: invoices the law says to keep are kept, and the answer says
//! why and until when; invoices past the period are erased; a rule by category keeps only the
//! fields it covers. On a real SQLite file.

use pactum_domain::model::IdentityKind;
use pactum_requests::{Connections, ErasureOptions, PlannedChange, access, erase, plan_erasure};
use sqlx::Connection;

const MAP: &str = r#"
organisation:
  name: Shop Ltd
  contact: {email: privacy@shop.example}
  regimes: [uk_gdpr]
  authorities: {uk_gdpr: {name: ICO}}
  notice: {version: "1", last_updated: 2026-01-01}
subjects:
  customer: {name: Customers}
purposes:
  sales: {name: Sales, description: Selling., legal_basis: {uk_gdpr: contract}}
activities:
  sales: {name: Sales, subjects: [customer], purposes: [sales], categories: [user.contact.email, user.name, user.financial]}
retention:
  accounts:
    applies_to: {categories: [user.contact, user.name]}
    period: 2 years
    from: account_closure
    action: delete
  invoices:
    applies_to: {collections: [shop.invoices], categories: [user.financial]}
    period: 6 years
    from: {field: shop.invoices.issued}
    action: delete
    statutory_minimum: {period: 6 years, law: "HMRC (VAT records)"}
rights:
  response_days: 30
  verification: Code by email.
  contact: {email: privacy@shop.example}
  regimes: {uk_gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]}
datastores:
  shop:
    kind: sqlite
    connection_env: SHOP_URL
    collections:
      customers:
        fields:
          id: {primary_key: true}
          email: {categories: [user.contact.email], identity: email, erasure: nullify}
          name: {categories: [user.name], erasure: nullify}
      invoices:
        fields:
          id: {primary_key: true}
          customer_id: {references: [customers.id]}
          billing_name: {categories: [user.name], erasure: nullify}
          amount: {categories: [user.financial], erasure: nullify}
          issued: {}
"#;

/// The shop's SQLite file: Ada with two invoices (2019 and 2025), Bob with one.
async fn shop() -> (tempfile::TempDir, String, sqlx::SqliteConnection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.db");
    let url = format!("sqlite://{}", path.display());
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut db = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("sqlite");
    sqlx::raw_sql(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
         CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, billing_name TEXT, amount TEXT, issued TEXT);
         INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace'), (2, 'bob@example.org', 'Bob Smith');
         INSERT INTO invoices VALUES (10, 1, 'Ada Lovelace', '12.50', '2019-03-04'),
                                     (11, 1, 'Ada Lovelace', '40.00', '2025-06-30'),
                                     (12, 2, 'Bob Smith', '8.00', '2025-01-01');",
    )
    .execute(&mut db)
    .await
    .expect("schema");
    (dir, url, db)
}

fn options() -> ErasureOptions {
    ErasureOptions {
        hash_key: None,
        today: time::Date::from_calendar_date(2026, time::Month::November, 26).ok(),
        holds: Vec::new(),
    }
}

#[tokio::test]
async fn statutory_retention_defers_erasure_of_the_records_it_covers() {
    let (_dir, url, mut db) = shop().await;
    let loaded = pactum_mapfile::load_str("shop.yml", MAP);
    assert!(
        !loaded.has_errors(),
        "{}",
        pactum_mapfile::report::human(&loaded)
    );
    let url_of = |_: &str| Some(url.clone());
    let who = [(IdentityKind::Email, "ada@example.com".to_owned())];
    let found = access(&loaded.map, &who, &url_of).await.expect("access");
    assert_eq!(found.record_count(), 3);

    let result = erase(&loaded.map, &who, &url_of, &options())
        .await
        .expect("erasure runs");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    assert_eq!(result.erased["shop.customers"].rows, 1);
    // The 2019 invoice is past its six years and is erased; the 2025 one is kept until 2031.
    assert_eq!(result.erased["shop.invoices"].rows, 1);
    assert_eq!(result.kept.len(), 1, "{:?}", result.kept);
    assert_eq!(result.kept[0].rows, 1);
    assert_eq!(result.kept[0].until.as_deref(), Some("2031-06-30"));
    assert_eq!(
        result.kept[0].reason,
        "statutory retention: HMRC (VAT records) requires 6 years from `shop.invoices.issued`"
    );
    let rows: Vec<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, billing_name, amount FROM invoices ORDER BY id")
            .fetch_all(&mut db)
            .await
            .expect("select");
    assert_eq!(
        rows,
        vec![
            (10, None, None),
            (11, Some("Ada Lovelace".into()), Some("40.00".into())),
            (12, Some("Bob Smith".into()), Some("8.00".into())),
        ]
    );
}

/// A rule by category keeps only the fields of that category: the rest of the record is erased
/// now, and the kept fields are planned for the day the period ends.
#[tokio::test]
async fn retention_by_category_keeps_only_the_fields_it_covers() {
    let (_dir, url, mut db) = shop().await;
    let map = MAP.replace(
        "applies_to: {collections: [shop.invoices], categories: [user.financial]}",
        "applies_to: {categories: [user.financial]}",
    );
    let loaded = pactum_mapfile::load_str("shop.yml", &map);
    assert!(
        !loaded.has_errors(),
        "{}",
        pactum_mapfile::report::human(&loaded)
    );
    let url_of = |_: &str| Some(url.clone());
    let who = [(IdentityKind::Email, "ada@example.com".to_owned())];
    let plan = plan_erasure(
        &mut Connections::default(),
        &loaded.map,
        &who,
        &url_of,
        &options(),
    )
    .await
    .expect("plans");
    assert_eq!(plan.kept.len(), 1, "{:?}", plan.kept);
    assert_eq!(plan.kept[0].collection, "shop.invoices");
    assert_eq!(plan.kept[0].fields, ["amount"]);
    assert_eq!(plan.kept[0].rows, 1);
    assert_eq!(plan.kept[0].until.as_deref(), Some("2031-06-30"));
    assert_eq!(plan.kept[0].deferred_until.as_deref(), Some("2031-06-30"));
    // The deferred part sets the amount only, of invoice 11 only.
    assert_eq!(plan.deferred.len(), 1);
    let later = &plan.deferred[0].datastores["shop"].collections["invoices"];
    assert_eq!(later.fields, ["amount"]);
    assert_eq!(later.rows.len(), 1);
    assert_eq!(later.rows[0].key, [("id".to_owned(), "11".to_owned())]);
    assert_eq!(
        later.rows[0].change,
        PlannedChange::Set(vec![("amount".to_owned(), None)])
    );

    let result = erase(&loaded.map, &who, &url_of, &options())
        .await
        .expect("erasure runs");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    assert_eq!(result.erased["shop.invoices"].rows, 2);
    let rows: Vec<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, billing_name, amount FROM invoices ORDER BY id")
            .fetch_all(&mut db)
            .await
            .expect("select");
    assert_eq!(
        rows,
        vec![
            // Past its six years: all erased.
            (10, None, None),
            // Within them: the name erased now, the amount kept for the tax authority.
            (11, None, Some("40.00".into())),
            (12, Some("Bob Smith".into()), Some("8.00".into())),
        ]
    );
}
