//! Legal holds and deferred erasures: holds placed and released once, matched to a request's
//! identity, deferrals stored at completion, bound to a covering hold or enqueued for their due
//! date, released (or handed to another hold) when their hold is released; on both backends.

use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::error::StoreError;
use pactum_store::holds::{
    DEFERRED_ERASURE_JOB, DeferralReason, DeferredStart, NewDeferral, NewHold,
};
use pactum_store::jobs::Job;
use pactum_store::requests::{Completion, Request};
use serde_json::json;

use crate::both;
use crate::support::{erasure_request, manual_clock};

const EMAIL: &str = "grace.hopper@example.org";
/// A hold's reason: free text that must never reach the audit log.
const REASON: &str = "Hopper v. Navy, case 24-CV-1906";
/// A row key inside a deferred plan: personal data that must never reach the audit log.
const ROW_KEY: &str = "inv-4711-secret";

fn hold(scope: &[&str]) -> NewHold {
    NewHold {
        identity_kind: "email".into(),
        identity_value: "  Grace.Hopper@Example.ORG ".into(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        reason: REASON.into(),
    }
}

/// An approved erasure request for [`EMAIL`].
async fn approved(store: &Store) -> Request {
    erasure_request(store, EMAIL, true).await
}

fn deferral(collection: &str, due_on: Option<&str>) -> NewDeferral {
    let (ds, coll) = collection.split_once('.').expect("datastore.collection");
    NewDeferral {
        plan: json!({"datastores": {ds: {"collections": {coll: {"rows": [{"key": [["id", ROW_KEY]], "change": "delete"}]}}}}}),
        collections: vec![collection.to_owned()],
        due_on: due_on.map(str::to_owned),
    }
}

fn completion() -> Completion {
    Completion {
        outcome: json!({"rows_erased": 1}),
        package: None,
        package_lifetime: std::time::Duration::ZERO,
    }
}

async fn deferred_jobs(store: &Store) -> Vec<Job> {
    store
        .jobs(0, 1000)
        .await
        .expect("lists")
        .into_iter()
        .filter(|j| j.kind == DEFERRED_ERASURE_JOB)
        .collect()
}

async fn audit_text(store: &Store) -> String {
    let mut out = Vec::new();
    store.audit_export(&mut out).await.expect("exports");
    String::from_utf8(out).expect("UTF-8")
}

both! {
    async fn holds_are_placed_matched_listed_and_released_once(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let placed = store.place_hold(&Actor::User(7), &hold(&["web_db.invoices", "crm"])).await.expect("places");
        assert_eq!(placed.scope, vec!["crm".to_owned(), "web_db.invoices".to_owned()]);
        assert_eq!(placed.placed_by, "user:7");
        assert!(placed.is_active());
        assert!(placed.covers("crm.notes") && placed.covers("web_db.invoices"));
        assert!(!placed.covers("web_db.customers"));

        // Matched by the normalised identity, in any spelling; not for someone else.
        let active = store.active_holds("email", "grace.hopper@example.org").await.expect("reads");
        assert_eq!(active, vec![placed.clone()]);
        assert!(store.active_holds("email", "ada@example.org").await.expect("reads").is_empty());
        assert!(store.active_holds("phone", "+44 20 7946 0958").await.expect("reads").is_empty());

        let everything = store.place_hold(&Actor::User(7), &hold(&[])).await.expect("places");
        assert_eq!(store.list_holds(false, 10).await.expect("lists").len(), 2);

        let released = store.release_hold(&Actor::User(8), placed.id).await.expect("releases");
        assert_eq!(released.released_by.as_deref(), Some("user:8"));
        assert!(released.released_at.is_some());
        assert!(matches!(
            store.release_hold(&Actor::User(8), placed.id).await,
            Err(StoreError::HoldReleased { id }) if id == placed.id
        ));
        assert!(matches!(
            store.release_hold(&Actor::User(8), 9999).await,
            Err(StoreError::NotFound { kind: "hold", .. })
        ));
        let active = store.active_holds("email", EMAIL).await.expect("reads");
        assert_eq!(active.iter().map(|h| h.id).collect::<Vec<_>>(), vec![everything.id]);
        let listed = store.list_holds(false, 10).await.expect("lists");
        assert_eq!(listed.len(), 1);
        let all = store.list_holds(true, 10).await.expect("lists");
        assert_eq!(all.iter().map(|h| h.id).collect::<Vec<_>>(), vec![everything.id, placed.id], "newest first");
        assert_eq!(store.hold(placed.id).await.expect("reads"), Some(released));

        let audit = audit_text(&store).await;
        assert_eq!(audit.matches("\"hold.place\"").count(), 2, "{audit}");
        assert_eq!(audit.matches("\"hold.release\"").count(), 1, "{audit}");
        assert!(audit.contains("web_db.invoices"), "the scope is audited: {audit}");
        assert!(!audit.contains("Hopper v. Navy") && !audit.to_lowercase().contains(EMAIL), "{audit}");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn bad_holds_are_refused(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let mut bad_identity = hold(&[]);
        bad_identity.identity_value = "not an address".into();
        let mut no_reason = hold(&[]);
        no_reason.reason = "   ".into();
        for (what, new) in [
            ("identity", bad_identity),
            ("reason", no_reason),
            ("scope with spaces", hold(&["web db"])),
            ("scope too deep", hold(&["a.b.c"])),
        ] {
            assert!(
                matches!(
                    store.place_hold(&Actor::User(1), &new).await,
                    Err(StoreError::InvalidRequest(_) | StoreError::InvalidEmail)
                ),
                "{what}"
            );
        }
        assert!(store.list_holds(true, 10).await.expect("lists").is_empty());
    }

    async fn held_deferrals_wait_for_the_release_of_every_covering_hold(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let shop = store.place_hold(&Actor::User(1), &hold(&["shop"])).await.expect("places");
        let invoices = store.place_hold(&Actor::User(1), &hold(&["shop.invoices"])).await.expect("places");
        let request = approved(&store).await;
        let deferred = [deferral("shop.invoices", None), deferral("shop.orders", None)];
        store
            .complete_erasure(&Actor::System, request.id, &completion(), &deferred)
            .await
            .expect("completes");
        // A retried completion stores nothing more.
        store
            .complete_erasure(&Actor::System, request.id, &completion(), &deferred)
            .await
            .expect("completes again");
        let stored = store.deferred_erasures_of(request.id).await.expect("reads");
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|d| d.reason == DeferralReason::Hold && d.hold_id == Some(shop.id)));
        assert!(stored.iter().all(|d| d.plan.is_some() && d.done_at.is_none()));
        assert!(deferred_jobs(&store).await.is_empty(), "nothing runs while held");

        // Releasing `shop` frees the orders; the invoices are still held by the other hold.
        store.release_hold(&Actor::User(2), shop.id).await.expect("releases");
        let jobs = deferred_jobs(&store).await;
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let orders = stored.iter().find(|d| d.collections == ["shop.orders"]).expect("orders");
        let held = stored.iter().find(|d| d.collections == ["shop.invoices"]).expect("invoices");
        assert_eq!(jobs[0].payload, json!({"deferred_id": orders.id}));
        assert_eq!(jobs[0].run_at, store.now(), "no retention date: it runs at once");
        let still = store.deferred_erasure(held.id).await.expect("reads").expect("exists");
        assert_eq!(still.hold_id, Some(invoices.id), "handed to the hold that still covers it");

        store.release_hold(&Actor::User(2), invoices.id).await.expect("releases");
        let jobs = deferred_jobs(&store).await;
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[1].payload, json!({"deferred_id": held.id}));
        assert_eq!(store.pending_deferral_count().await.expect("counts"), 2);

        let audit = audit_text(&store).await;
        assert_eq!(audit.matches("\"request.defer\"").count(), 2, "{audit}");
        assert!(!audit.contains(ROW_KEY) && !audit.contains("Hopper v. Navy"), "{audit}");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn retention_deferrals_run_on_their_due_date_and_are_applied_once(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let request = approved(&store).await;
        store
            .complete_erasure(&Actor::System, request.id, &completion(), &[deferral("shop.invoices", Some("2031-06-30"))])
            .await
            .expect("completes");
        let stored = store.deferred_erasures_of(request.id).await.expect("reads");
        assert_eq!(stored.len(), 1);
        let id = stored[0].id;
        assert_eq!(stored[0].reason, DeferralReason::Retention);
        assert_eq!(stored[0].due_on.as_deref(), Some("2031-06-30"));
        let jobs = deferred_jobs(&store).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at.as_millis(), 1_940_544_000_000, "2031-06-30T00:00:00Z");

        // A hold placed meanwhile catches it when the job runs.
        let late = store.place_hold(&Actor::User(1), &hold(&["shop.invoices"])).await.expect("places");
        assert_eq!(
            store.start_deferred(&Actor::System, id).await.expect("starts"),
            DeferredStart::Held { hold_id: late.id }
        );
        let now_held = store.deferred_erasure(id).await.expect("reads").expect("exists");
        assert_eq!((now_held.reason, now_held.hold_id), (DeferralReason::Hold, Some(late.id)));
        store.release_hold(&Actor::User(1), late.id).await.expect("releases");
        let jobs = deferred_jobs(&store).await;
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[1].run_at.as_millis(), 1_940_544_000_000, "still not before the retention ends");

        let DeferredStart::Apply(deferred) = store.start_deferred(&Actor::System, id).await.expect("starts") else {
            panic!("nothing holds it any more");
        };
        assert!(deferred.plan.is_some() && deferred.done.is_empty());
        let result = json!({"shop.invoices": {"rows": 1, "deleted": true, "fields": []}});
        assert!(store.mark_deferred_datastore_done(&Actor::System, id, "shop", &result).await.expect("marks"));
        assert!(!store.mark_deferred_datastore_done(&Actor::System, id, "shop", &json!({})).await.expect("runs"));
        let DeferredStart::Apply(deferred) = store.start_deferred(&Actor::System, id).await.expect("starts") else {
            panic!("not finished yet");
        };
        assert_eq!(deferred.done["shop"], result);
        assert!(store.finish_deferred(&Actor::System, id).await.expect("finishes"));
        assert!(!store.finish_deferred(&Actor::System, id).await.expect("runs"), "once");
        assert_eq!(store.start_deferred(&Actor::System, id).await.expect("starts"), DeferredStart::Done);
        let done = store.deferred_erasure(id).await.expect("reads").expect("exists");
        assert!(done.plan.is_none(), "the row keys are dropped once applied");
        assert!(done.done_at.is_some());
        assert_eq!(store.pending_deferral_count().await.expect("counts"), 0);

        assert_eq!(store.purge_applied_deferrals(done.done_at.expect("done")).await.expect("purges"), 0);
        assert_eq!(store.purge_applied_deferrals(store.now().plus(std::time::Duration::from_secs(1))).await.expect("purges"), 1);
        assert!(store.deferred_erasure(id).await.expect("reads").is_none());

        let audit = audit_text(&store).await;
        assert_eq!(audit.matches("\"request.deferred_applied\"").count(), 1, "{audit}");
        assert_eq!(audit.matches("\"request.deferred_held\"").count(), 1, "{audit}");
        assert!(!audit.contains(ROW_KEY), "{audit}");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn a_hold_released_before_completion_leaves_the_deferral_to_run_at_once(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let placed = store.place_hold(&Actor::User(1), &hold(&["shop"])).await.expect("places");
        let request = approved(&store).await;
        // Planned while the hold stood; released before the request completed.
        store.release_hold(&Actor::User(1), placed.id).await.expect("releases");
        store
            .complete_erasure(&Actor::System, request.id, &completion(), &[deferral("shop.orders", None)])
            .await
            .expect("completes");
        let jobs = deferred_jobs(&store).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at, store.now());
    }
}
