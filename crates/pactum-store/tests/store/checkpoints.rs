//! Checkpoints of request execution: an erasure plan stored once, datastores marked done once,
//! both deleted when the request completes; on both backends.

use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::error::StoreError;
use pactum_store::requests::{
    Completion, Decision, RateLimits, Request, RequestKind, RequestStatus,
};
use serde_json::json;

use crate::both;
use crate::support::{admin_request, erasure_request, manual_clock};

const EMAIL: &str = "grace.hopper@example.org";
/// A row key inside the plan: personal data that must never reach the audit log.
const ROW_KEY: &str = "cust-4711-secret";

/// An erasure request received on the admin channel (verified at once), approved when `approve`.
async fn request(store: &Store, approve: bool) -> Request {
    let request = erasure_request(store, EMAIL, approve).await;
    if !approve {
        assert_eq!(request.status, RequestStatus::Verified);
    }
    request
}

fn plan() -> serde_json::Value {
    json!({
        "datastores": {
            "crm": {"collections": {"contacts": {"rows": [{"key": [["id", ROW_KEY]], "change": "delete"}]}}},
            "shop": {"collections": {"orders": {"rows": [{"key": [["id", "o-1"]], "change": "delete"}]}}}
        }
    })
}

async fn audit_text(store: &Store) -> String {
    let mut out = Vec::new();
    store.audit_export(&mut out).await.expect("exports");
    String::from_utf8(out).expect("UTF-8")
}

both! {
    async fn a_plan_is_stored_once_and_each_datastore_marked_once(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let request = request(&store, true).await;
        assert!(store.erasure_checkpoint(request.id).await.expect("reads").is_none());

        assert!(store.save_erasure_plan(&Actor::System, request.id, &plan()).await.expect("saves"));
        // A retry keeps the first plan.
        assert!(!store
            .save_erasure_plan(&Actor::System, request.id, &json!({"datastores": {}}))
            .await
            .expect("runs"));
        let checkpoint = store.erasure_checkpoint(request.id).await.expect("reads").expect("a plan");
        assert_eq!(checkpoint.plan, plan());
        assert!(checkpoint.done.is_empty());

        let crm = json!({"crm.contacts": {"rows": 1, "deleted": true, "fields": []}});
        assert!(store.mark_datastore_done(&Actor::System, request.id, "crm", &crm).await.expect("marks"));
        assert!(!store
            .mark_datastore_done(&Actor::System, request.id, "crm", &json!({"other": 1}))
            .await
            .expect("runs"), "a second mark changes nothing");
        let checkpoint = store.erasure_checkpoint(request.id).await.expect("reads").expect("a plan");
        assert_eq!(checkpoint.done.len(), 1);
        assert_eq!(checkpoint.done["crm"], crm, "the first result stands");
        assert_eq!(store.erasure_plan_count().await.expect("counts"), 1);

        let audit = audit_text(&store).await;
        assert_eq!(audit.matches("\"request.plan\"").count(), 1, "{audit}");
        assert_eq!(audit.matches("\"request.step\"").count(), 1, "{audit}");
        assert!(audit.contains("\"datastore\":\"crm\""), "{audit}");
        assert!(!audit.contains(ROW_KEY) && !audit.contains(EMAIL), "no personal data in the audit log");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn completion_deletes_the_checkpoint(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let request = request(&store, true).await;
        let other = {
            // Another request's checkpoint is left alone.
            let (r, _) = store
                .create_request(&Actor::User(1), &admin_request(RequestKind::Delete, EMAIL), &RateLimits::default())
                .await
                .expect("creates");
            store.decide_request(&Actor::User(1), r.id, &Decision::Approve).await.expect("approves")
        };
        for id in [request.id, other.id] {
            store.save_erasure_plan(&Actor::System, id, &plan()).await.expect("saves");
            store.mark_datastore_done(&Actor::System, id, "crm", &json!({})).await.expect("marks");
        }
        let completion = Completion {
            outcome: json!({"rows_erased": 2}),
            package: None,
            package_lifetime: std::time::Duration::ZERO,
        };
        store.complete_request(&Actor::System, request.id, &completion).await.expect("completes");
        assert!(store.erasure_checkpoint(request.id).await.expect("reads").is_none());
        assert!(store.erasure_checkpoint(other.id).await.expect("reads").is_some());
        assert_eq!(store.erasure_plan_count().await.expect("counts"), 1);
        // A completed request cannot be planned again, and its datastores cannot be marked.
        assert!(matches!(
            store.save_erasure_plan(&Actor::System, request.id, &plan()).await,
            Err(StoreError::RequestState { status: RequestStatus::Completed, .. })
        ));
        assert!(matches!(
            store.mark_datastore_done(&Actor::System, request.id, "shop", &json!({})).await,
            Err(StoreError::NotFound { kind: "erasure plan", .. })
        ));
    }

    async fn only_approved_requests_are_planned(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let request = request(&store, false).await;
        assert!(matches!(
            store.save_erasure_plan(&Actor::System, request.id, &plan()).await,
            Err(StoreError::RequestState { status: RequestStatus::Verified, .. })
        ));
        assert!(matches!(
            store.save_erasure_plan(&Actor::System, 999_999, &plan()).await,
            Err(StoreError::NotFound { kind: "request", .. })
        ));
        assert!(matches!(
            store.mark_datastore_done(&Actor::System, request.id, "crm", &json!({})).await,
            Err(StoreError::NotFound { kind: "erasure plan", .. })
        ));
        assert!(matches!(
            store.mark_datastore_done(&Actor::System, request.id, "", &json!({})).await,
            Err(StoreError::InvalidRequest(_))
        ));
        assert!(store.erasure_checkpoint(request.id).await.expect("reads").is_none());
    }
}
