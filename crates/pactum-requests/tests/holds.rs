//! Legal holds defer erasure: rows in held collections are kept (and the answer says which hold
//! and why), everything else is erased, and the deferred part, decided when the request ran,
//! later erases exactly the held rows although the CRM row that led to them is gone by then.
//! Statutory retention with a known end defers the same way, until that day. On SQLite files.

mod common;

use common::Stores;
use pactum_domain::model::IdentityKind;
use pactum_requests::{
    Connections, ErasureOptions, HoldScope, apply_datastore, erase_with, plan_erasure,
};
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
  sales: {name: Sales, subjects: [customer], purposes: [sales], categories: [user.contact, user.name, user.unique_id, user.financial]}
retention:
  accounts:
    applies_to: {categories: [user.contact, user.name, user.unique_id]}
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
  crm:
    kind: sqlite
    connection_env: CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: nullify}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
  shop:
    kind: sqlite
    connection_env: SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          shipping_name: {categories: [user.name], erasure: nullify}
      invoices:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id]}
          billing_name: {categories: [user.name], erasure: nullify}
          amount: {categories: [user.financial], erasure: nullify}
          issued: {}
"#;

const CRM: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace'), (2, 'bob@example.org', 'Bob Smith');";

const SHOP: &str = "CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id INTEGER, shipping_name TEXT);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, billing_name TEXT, amount TEXT, issued TEXT);
INSERT INTO orders VALUES ('o-1', 1, 'Ada Lovelace'), ('o-2', 1, 'Ada Lovelace'), ('o-3', 2, 'Bob Smith');
INSERT INTO invoices VALUES (10, 1, 'Ada Lovelace', '12.50', '2019-03-04'), (11, 1, 'Ada Lovelace', '40.00', '2025-06-30'),
                            (12, 2, 'Bob Smith', '8.00', '2025-01-01');";

async fn rows(url: &str, sql: &'static str) -> Vec<Vec<Option<String>>> {
    use sqlx::Row;
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
    sqlx::query(sql)
        .fetch_all(&mut db)
        .await
        .expect("reads")
        .iter()
        .map(|r| (0..r.len()).map(|i| r.try_get(i).expect("text")).collect())
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

const ORDERS: &str = "SELECT id, CAST(customer_id AS TEXT), shipping_name FROM orders ORDER BY id";
const INVOICES: &str = "SELECT CAST(id AS TEXT), billing_name, amount FROM invoices ORDER BY id";
const CUSTOMERS: &str = "SELECT CAST(id AS TEXT), email, name FROM customers ORDER BY id";

#[tokio::test]
async fn a_hold_on_a_datastore_keeps_its_rows_until_the_deferred_part_erases_exactly_them() {
    let files = Stores::sqlite(CRM, SHOP).await;
    let map = files.map(MAP);
    let url_of = files.url_of();
    let who = [(IdentityKind::Email, "ada@example.com".to_owned())];
    let options = ErasureOptions {
        hash_key: None,
        today: time::Date::from_calendar_date(2026, time::Month::November, 26).ok(),
        holds: vec![HoldScope {
            id: 7,
            scope: vec!["shop".into()],
            reason: "litigation: Lovelace v. Shop Ltd".into(),
        }],
    };
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &who, &url_of, &options)
        .await
        .expect("plans");
    assert_eq!(
        plan.datastore_keys().collect::<Vec<_>>(),
        ["crm"],
        "nothing in the held datastore is changed now"
    );
    let held: Vec<_> = plan
        .kept
        .iter()
        .filter(|k| k.reason == "legal hold #7: litigation: Lovelace v. Shop Ltd")
        .map(|k| {
            (
                k.collection.as_str(),
                k.rows,
                k.until.clone(),
                k.holds.clone(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("shop.invoices", 2, None, vec![7]),
            ("shop.orders", 2, None, vec![7])
        ],
        "{:#?}",
        plan.kept
    );
    // Invoice 11 is also under statutory retention until 2031-06-30; invoice 10's period ended.
    assert_eq!(plan.deferred.len(), 2, "{:#?}", plan.deferred);
    let after_hold = plan
        .deferred
        .iter()
        .find(|d| d.due_on.is_none())
        .expect("a part for the hold alone");
    assert_eq!(after_hold.holds, [7]);
    assert_eq!(after_hold.collections(), ["shop.invoices", "shop.orders"]);
    let both = plan
        .deferred
        .iter()
        .find(|d| d.due_on.as_deref() == Some("2031-06-30"))
        .expect("a part for the hold and the retention");
    assert_eq!(both.collections(), ["shop.invoices"]);

    // The main plan runs: the CRM row that led to the shop is gone.
    for ds in ["crm"] {
        apply_datastore(&mut connections, &map, &plan, ds, &url_of)
            .await
            .expect("applies");
    }
    assert_eq!(
        rows(&files.crm_url, CUSTOMERS).await,
        [
            vec![s("1"), None, s("[erased]")],
            vec![s("2"), s("bob@example.org"), s("Bob Smith")]
        ]
    );
    let shop_before = rows(&files.shop_url, ORDERS).await;
    assert_eq!(shop_before[0], [s("o-1"), s("1"), s("Ada Lovelace")]);
    // Planning again finds nothing in the shop any more: only the stored deferred part can.
    let again = plan_erasure(
        &mut connections,
        &map,
        &who,
        &url_of,
        &ErasureOptions {
            holds: Vec::new(),
            ..options.clone()
        },
    )
    .await
    .expect("plans");
    assert!(
        again.datastores.is_empty() && again.deferred.is_empty(),
        "{again:#?}"
    );

    // The hold is released: its part is applied from the stored plan (a JSON round trip, as the
    // server stores it).
    let stored = serde_json::to_value(after_hold).expect("serialises");
    let after_hold: pactum_requests::DeferredPlan =
        serde_json::from_value(stored).expect("reads back");
    let part = after_hold.to_plan();
    let done = apply_datastore(&mut connections, &map, &part, "shop", &url_of)
        .await
        .expect("applies");
    assert_eq!(done["shop.orders"].rows, 2);
    assert_eq!(done["shop.invoices"].rows, 1);
    assert_eq!(
        rows(&files.shop_url, ORDERS).await,
        [
            vec![s("o-1"), None, None],
            vec![s("o-2"), None, None],
            vec![s("o-3"), s("2"), s("Bob Smith")]
        ],
        "exactly Ada's orders"
    );
    assert_eq!(
        rows(&files.shop_url, INVOICES).await,
        [
            vec![s("10"), None, None],
            vec![s("11"), s("Ada Lovelace"), s("40.00")],
            vec![s("12"), s("Bob Smith"), s("8.00")]
        ],
        "invoice 11 waits for its retention to end; Bob's are untouched"
    );
    // Applied twice: detected, nothing written.
    assert!(matches!(
        apply_datastore(&mut connections, &map, &part, "shop", &url_of).await,
        Err(pactum_requests::RequestError::AlreadyApplied { .. })
    ));
    // The retention's part, on its day.
    apply_datastore(&mut connections, &map, &both.to_plan(), "shop", &url_of)
        .await
        .expect("applies");
    assert_eq!(
        rows(&files.shop_url, INVOICES).await[1],
        [s("11"), None, None]
    );
}

#[tokio::test]
async fn retention_with_a_known_end_is_deferred_to_that_day_and_said_so() {
    let files = Stores::sqlite(CRM, SHOP).await;
    let map = files.map(MAP);
    let url_of = files.url_of();
    let who = [(IdentityKind::Email, "ada@example.com".to_owned())];
    let options = ErasureOptions {
        hash_key: None,
        today: time::Date::from_calendar_date(2026, time::Month::November, 26).ok(),
        holds: vec![HoldScope {
            id: 3,
            scope: vec!["crm.other".into()],
            reason: "does not cover anything here".into(),
        }],
    };
    let mut connections = Connections::default();
    let result = erase_with(&mut connections, &map, &who, &url_of, &options)
        .await
        .expect("erases");
    assert_eq!(result.kept.len(), 1, "{:#?}", result.kept);
    let kept = &result.kept[0];
    assert_eq!(
        (
            kept.collection.as_str(),
            kept.rows,
            kept.until.as_deref(),
            kept.deferred_until.as_deref()
        ),
        ("shop.invoices", 1, Some("2031-06-30"), Some("2031-06-30"))
    );
    assert!(
        kept.reason.starts_with("statutory retention: HMRC"),
        "{}",
        kept.reason
    );
    assert_eq!(result.erased["shop.orders"].rows, 2);
    assert_eq!(result.erased["shop.invoices"].rows, 1);
}
