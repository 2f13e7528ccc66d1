//! Rectification writes the corrected values into every field of the person's records that
//! declares the corrected attribute, across datastores, and nothing else: not other people's
//! rows, not a shared address, not the keys that link records. On SQLite files, and on the real
//! PostgreSQL (CRM) and MariaDB (shop) servers.

mod common;

use std::collections::BTreeMap;

use common::{Stores, Table, state};
use pactum_domain::model::IdentityKind;
use pactum_requests::{Connections, Corrections, RequestError, plan_rectification, rectify_with};

/// The datastores of the shop map (see `common::shop_map`).
const DATASTORES: &str = r#"
datastores:
  crm:
    kind: CRM_KIND
    connection_env: CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: nullify}
          name: {categories: [user.name], erasure: nullify, rectify: name}
          phone: {categories: [user.contact.phone_number], erasure: nullify, rectify: phone}
          address_id: {references: [addresses.id]}
      addresses:
        fields:
          id: {primary_key: true}
          street: {categories: [user.contact.address], erasure: nullify, rectify: postal_address}
  shop:
    kind: SHOP_KIND
    connection_env: SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          shipping_name: {categories: [user.name], erasure: nullify, rectify: name}
"#;

const CRM_SCHEMA: &str = "CREATE TABLE addresses (id INTEGER PRIMARY KEY, street VARCHAR(100));
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), name VARCHAR(100), phone VARCHAR(30), address_id INTEGER);
INSERT INTO addresses VALUES (1, '1 Loom Lane'), (2, '2 Engine Row');
INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace', '+44 20 7946 0001', 1),
  (2, 'bob@example.org', 'Bob Smith', '+44 20 7946 0002', 2), (3, 'cy@example.net', 'Cy Young', NULL, NULL),
  (4, 'dee@example.net', 'Dee Smith', NULL, 2);";

const SHOP_SCHEMA: &str = "CREATE TABLE orders (id VARCHAR(20) PRIMARY KEY, customer_id INTEGER, shipping_name VARCHAR(100));
INSERT INTO orders VALUES ('o-1', 1, 'Ada Lovelace'), ('o-2', 1, 'A. Lovelace'), ('o-3', 2, 'Bob Smith');";

const CRM_STATE: &[&str] = &[
    "SELECT CAST(id AS CHAR(10)), name, phone FROM customers ORDER BY id",
    "SELECT CAST(id AS CHAR(10)), street, NULL FROM addresses ORDER BY id",
];
const SHOP_STATE: &[&str] =
    &["SELECT id, CAST(customer_id AS CHAR(10)), shipping_name FROM orders ORDER BY id"];

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn email(address: &str) -> [(IdentityKind, String); 1] {
    [(IdentityKind::Email, address.to_owned())]
}

fn corrections(pairs: &[(&str, &str)]) -> Corrections {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<BTreeMap<_, _>>()
}

async fn everything(stores: &Stores) -> (Vec<Table>, Vec<Table>) {
    (
        state(&stores.crm_url, CRM_STATE).await,
        state(&stores.shop_url, SHOP_STATE).await,
    )
}

async fn scenario_corrects_exactly_the_persons_fields(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let mut connections = Connections::default();
    // Ada's address is her own: it is corrected with the rest.
    let asked = corrections(&[
        ("name", "Ada King"),
        ("phone", "+44 20 7946 0099"),
        ("postal_address", "9 Analytical Way"),
    ]);
    let (result, not_found) = rectify_with(
        &mut connections,
        &map,
        &email("ada@example.com"),
        &asked,
        &url_of,
    )
    .await
    .expect("rectified");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    assert!(not_found.is_empty(), "{not_found:?}");
    let rows: BTreeMap<&str, u64> = result
        .erased
        .iter()
        .map(|(k, e)| (k.as_str(), e.rows))
        .collect();
    assert_eq!(
        rows,
        BTreeMap::from([
            ("crm.addresses", 1),
            ("crm.customers", 1),
            ("shop.orders", 2)
        ])
    );
    assert_eq!(result.erased["crm.customers"].fields, ["name", "phone"]);
    let (crm, shop) = everything(stores).await;
    assert_eq!(
        crm,
        vec![
            vec![
                (s("1"), s("Ada King"), s("+44 20 7946 0099")),
                (s("2"), s("Bob Smith"), s("+44 20 7946 0002")),
                (s("3"), s("Cy Young"), None),
                (s("4"), s("Dee Smith"), None),
            ],
            vec![
                (s("1"), s("9 Analytical Way"), None),
                (s("2"), s("2 Engine Row"), None),
            ],
        ]
    );
    assert_eq!(
        shop,
        vec![vec![
            (s("o-1"), s("1"), s("Ada King")),
            (s("o-2"), s("1"), s("Ada King")),
            (s("o-3"), s("2"), s("Bob Smith")),
        ]]
    );
    // Asked again, the same corrections change nothing and still count the rows they match.
    let (again, _) = rectify_with(
        &mut connections,
        &map,
        &email("ada@example.com"),
        &asked,
        &url_of,
    )
    .await
    .expect("rectified again");
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert_eq!(everything(stores).await, (crm, shop));
}

async fn scenario_shared_rows_are_kept(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let before = everything(stores).await;
    // Bob shares his address with Dee: correcting it would move Dee too.
    let (result, _) = rectify_with(
        &mut Connections::default(),
        &map,
        &email("bob@example.org"),
        &corrections(&[("postal_address", "3 New Street"), ("name", "Robert Smith")]),
        &url_of,
    )
    .await
    .expect("rectified");
    assert_eq!(result.kept.len(), 1, "{:?}", result.kept);
    assert_eq!(result.kept[0].collection, "crm.addresses");
    assert!(result.kept[0].reason.contains("other people"));
    assert!(!result.erased.contains_key("crm.addresses"));
    let (crm, shop) = everything(stores).await;
    assert_eq!(crm[1], before.0[1], "the shared address is untouched");
    assert_eq!(crm[0][1].1, s("Robert Smith"));
    assert_eq!(crm[0][3].1, s("Dee Smith"));
    assert_eq!(shop[0][2].2, s("Robert Smith"));
}

async fn scenario_bad_corrections_change_nothing(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let before = everything(stores).await;
    for (asked, expected) in [
        (
            corrections(&[("email", "new@example.com")]),
            "`email` is not something",
        ),
        (
            corrections(&[("name", "  ")]),
            "must be 1 to 500 characters",
        ),
        (corrections(&[("name", "Ada\u{0}")]), "control characters"),
        (corrections(&[]), "no correction was given"),
    ] {
        let err = plan_rectification(
            &mut Connections::default(),
            &map,
            &email("ada@example.com"),
            &asked,
            &url_of,
        )
        .await
        .expect_err("refused");
        assert!(matches!(err, RequestError::CannotRectify { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    // Cy has no address: the attribute is reported, the name corrected.
    let plan = plan_rectification(
        &mut Connections::default(),
        &map,
        &email("cy@example.net"),
        &corrections(&[("postal_address", "1 Nowhere"), ("name", "Cy Old")]),
        &url_of,
    )
    .await
    .expect("planned");
    assert_eq!(plan.not_found, ["postal_address"]);
    assert_eq!(everything(stores).await, before, "planning changes nothing");
}

on_sqlite_and_servers! {
    corrects_exactly_the_persons_fields => scenario_corrects_exactly_the_persons_fields,
    shared_rows_are_kept => scenario_shared_rows_are_kept,
    bad_corrections_change_nothing => scenario_bad_corrections_change_nothing,
}
