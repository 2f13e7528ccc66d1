//! Checkpointed erasure: a plan made once and applied one datastore at a time survives a crash
//! between datastores, where planning again would lose the next datastore's rows for good.
//!
//! The person's email in the CRM leads to their customer id, which leads to their orders and
//! reviews in the shop (another database). Once the CRM is erased, the email leads nowhere.
//! On real SQLite files; the same scenario runs with the CRM on PostgreSQL and the shop on MariaDB
//! when those servers are reachable (under `CI=true` they must be).

mod common;

use std::collections::BTreeMap;

use pactum_domain::model::IdentityKind;
use pactum_requests::{
    Connections, ErasureOptions, ErasurePlan, PlannedChange, RequestError, apply_datastore,
    erase_with, plan_erasure,
};

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
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
          phone: {categories: [user.contact.phone_number], erasure: random}
  shop:
    kind: SHOP_KIND
    connection_env: SHOP_URL
    collections:
      orders:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id], categories: [user.unique_id], erasure: nullify}
          total: {}
          shipping_name: {categories: [user.name], erasure: nullify}
      wishlists:
        fields:
          id: {primary_key: true}
          customer_id: {references: [crm.customers.id]}
          note: {categories: [user.name], erasure: delete_row}
      reviews:
        fields:
          customer_id: {references: [crm.customers.id]}
          author: {categories: [user.name], erasure: {fixed: "[erased]"}}
          stars: {}
"#;

const CRM_SCHEMA: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), name VARCHAR(100), phone VARCHAR(30));
INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada Lovelace', '+44 20 7946 0001'), (2, 'bob@example.org', 'Bob Smith', '+44 20 7946 0002');";

const SHOP_SCHEMA: &str = "CREATE TABLE orders (id VARCHAR(20) PRIMARY KEY, customer_id INTEGER, total VARCHAR(20), shipping_name VARCHAR(100));
CREATE TABLE wishlists (id INTEGER PRIMARY KEY, customer_id INTEGER, note VARCHAR(100));
CREATE TABLE reviews (customer_id INTEGER, author VARCHAR(100), stars INTEGER);
INSERT INTO orders VALUES ('o-1', 1, '12.50', 'Ada Lovelace'), ('o-2', 1, '40.00', 'Ada Lovelace'), ('o-3', 2, '8.00', 'Bob Smith');
INSERT INTO wishlists VALUES (1, 1, 'Ada: a loom'), (2, 2, 'Bob: a kettle');
INSERT INTO reviews VALUES (1, 'Ada L.', 5), (2, 'Bob S.', 3);";

/// What the shop holds, in a fixed order, as text: orders, then wishlists, then reviews.
const SHOP_STATE: &[&str] = &[
    "SELECT id, CAST(customer_id AS CHAR(10)), shipping_name FROM orders ORDER BY id",
    "SELECT CAST(id AS CHAR(10)), CAST(customer_id AS CHAR(10)), note FROM wishlists ORDER BY id",
    "SELECT CAST(customer_id AS CHAR(10)), author, CAST(stars AS CHAR(10)) FROM reviews ORDER BY customer_id",
];

const CRM_STATE: &[&str] =
    &["SELECT CAST(id AS CHAR(10)), email, name, phone FROM customers ORDER BY id"];

use common::{Stores, Table, exec, state};

impl Stores {
    async fn shop(&self) -> Vec<Table> {
        state(&self.shop_url, SHOP_STATE).await
    }

    async fn crm(&self) -> Vec<Table> {
        state(&self.crm_url, CRM_STATE).await
    }
}

fn ada() -> [(IdentityKind, String); 1] {
    [(IdentityKind::Email, "ada@example.com".to_owned())]
}

fn options() -> ErasureOptions {
    ErasureOptions {
        hash_key: Some(b"a test key".to_vec()),
        today: None,
        holds: Vec::new(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// The shop after Ada's erasure: her orders lose her id and name, her wishlist goes, her review
/// keeps its stars under an erased author; Bob's rows are as they were.
fn shop_erased() -> Vec<Table> {
    vec![
        vec![
            (s("o-1"), None, None),
            (s("o-2"), None, None),
            (s("o-3"), s("2"), s("Bob Smith")),
        ],
        vec![(s("2"), s("2"), s("Bob: a kettle"))],
        vec![
            (s("1"), s("[erased]"), s("5")),
            (s("2"), s("Bob S."), s("3")),
        ],
    ]
}

/// Run with the plan's JSON as it would be stored between attempts.
async fn scenario_crash_between_datastores(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let shop_before = stores.shop().await;
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    // Planning changes nothing.
    assert_eq!(stores.shop().await, shop_before);
    assert_eq!(plan.datastore_keys().collect::<Vec<_>>(), ["crm", "shop"]);
    let stored = serde_json::to_string(&plan).expect("serialises");
    let back: ErasurePlan = serde_json::from_str(&stored).expect("deserialises");
    assert_eq!(back, plan, "the stored plan is the plan");

    let crm = apply_datastore(&mut connections, &map, &plan, "crm", &url_of)
        .await
        .expect("the CRM is erased");
    assert_eq!(crm["crm.customers"].rows, 1);
    let customers = &stores.crm().await[0];
    assert_eq!(
        customers[0].1.as_ref().map(String::len),
        Some(64),
        "email keyed-hashed"
    );
    // The crash: connections and everything in memory are gone; only the stored JSON is left.
    drop(connections);
    drop(plan);
    let mut connections = Connections::default();

    // Planning again cannot find the shop's rows any more: the email leads nowhere.
    let replanned = plan_erasure(&mut connections, &map, &ada(), &url_of, &options()).await;
    match replanned {
        Ok(p) => assert!(
            !p.datastores.contains_key("shop"),
            "a new plan should have lost the shop (that is the problem shown): {p:?}"
        ),
        Err(e) => panic!("planning again should run and find nothing: {e}"),
    }
    assert_eq!(
        stores.shop().await,
        shop_before,
        "nothing erased in the shop yet"
    );

    // The stored plan finishes the job.
    let plan: ErasurePlan = serde_json::from_str(&stored).expect("deserialises");
    let shop = apply_datastore(&mut connections, &map, &plan, "shop", &url_of)
        .await
        .expect("the shop is erased from the stored plan");
    assert_eq!(shop["shop.orders"].rows, 2);
    assert_eq!(shop["shop.wishlists"].rows, 1);
    assert!(shop["shop.wishlists"].deleted);
    assert_eq!(shop["shop.reviews"].rows, 1);
    assert_eq!(stores.shop().await, shop_erased());
    assert_eq!(
        shop,
        plan.planned("shop"),
        "the planned counts are what was done"
    );
}

/// A datastore committed but not recorded as done is found applied, and nothing is written again.
async fn scenario_reapplication_is_detected(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    // The random phone number is drawn once, into the plan.
    let customers = &plan.datastores["crm"].collections["customers"];
    let PlannedChange::Set(set) = &customers.rows[0].change else {
        panic!("customers are masked, not deleted");
    };
    let phone = set
        .iter()
        .find(|(f, _)| f == "phone")
        .and_then(|(_, v)| v.clone());
    for ds in ["crm", "shop"] {
        apply_datastore(&mut connections, &map, &plan, ds, &url_of)
            .await
            .expect("applies");
    }
    let crm_after = stores.crm().await;
    assert_eq!(
        crm_after[0][0]
            .2
            .as_deref()
            .map(|t| t.ends_with(phone.as_deref().unwrap_or("?"))),
        Some(true)
    );
    let mut connections = Connections::default();
    for ds in ["crm", "shop"] {
        match apply_datastore(&mut connections, &map, &plan, ds, &url_of).await {
            Err(RequestError::AlreadyApplied { datastore }) => assert_eq!(datastore, ds),
            other => panic!("{ds}: expected AlreadyApplied, got {other:?}"),
        }
    }
    assert_eq!(stores.crm().await, crm_after);
    assert_eq!(stores.shop().await, shop_erased());
}

/// A datastore someone else changed between plan and application (a planned row gone, others
/// not erased) is neither taken as done nor half-applied: it fails and nothing of it changes.
async fn scenario_partly_changed_datastore_fails_whole(stores: &Stores) {
    let map = stores.map(&common::shop_map(DATASTORES));
    let url_of = stores.url_of();
    let mut connections = Connections::default();
    let plan = plan_erasure(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("plans");
    exec(&stores.shop_url, "DELETE FROM wishlists WHERE id = 1").await;
    let before = stores.shop().await;
    match apply_datastore(&mut connections, &map, &plan, "shop", &url_of).await {
        Err(RequestError::Connector { datastore, source }) => {
            assert_eq!(datastore, "shop");
            let text = format!("{source}: {:?}", std::error::Error::source(&source));
            assert!(text.contains("matched 0 rows"), "{text}");
        }
        other => panic!("expected a rolled-back datastore, got {other:?}"),
    }
    assert_eq!(
        stores.shop().await,
        before,
        "rolled back: nothing of the shop changed"
    );
    // erase_with still plans and applies everything in one go (the CRM is untouched so far).
    let mut connections = Connections::default();
    exec(
        &stores.shop_url,
        "INSERT INTO wishlists VALUES (1, 1, 'Ada: a loom')",
    )
    .await;
    let result = erase_with(&mut connections, &map, &ada(), &url_of, &options())
        .await
        .expect("erases");
    assert!(result.failed.is_empty(), "{:?}", result.failed);
    let rows: BTreeMap<&str, u64> = result
        .erased
        .iter()
        .map(|(k, e)| (k.as_str(), e.rows))
        .collect();
    assert_eq!(
        rows,
        BTreeMap::from([
            ("crm.customers", 1),
            ("shop.orders", 2),
            ("shop.reviews", 1),
            ("shop.wishlists", 1)
        ])
    );
    assert_eq!(stores.shop().await, shop_erased());
}

on_sqlite_and_servers! {
    crash_between_datastores_resumes_from_the_stored_plan => scenario_crash_between_datastores,
    reapplying_a_committed_datastore_is_detected => scenario_reapplication_is_detected,
    a_partly_changed_datastore_fails_whole => scenario_partly_changed_datastore_fails_whole,
}
