//! The audit chain: appends, verification, export, and tampering by someone with database access.

use pactum_store::Store;
use pactum_store::audit::{
    Actor, Break, BrokenLink, ChainVerifier, Entry, GENESIS_HASH, NewEntry, Target, canonical_json,
};
use pactum_store::clock::Timestamp;
use serde_json::json;

use crate::both;
use crate::support::TestDb;

/// Opens the store and appends `n` entries.
async fn with_entries(db: &TestDb, n: i64) -> Store {
    let store = db.open().await;
    for i in 1..=n {
        let entry = NewEntry::new(
            Actor::User(i % 3),
            "request.decide",
            Some(Target::new("request", 100 + i)),
        )
        .with_details(json!({ "decision": "approve", "step": i }));
        store.audit_append(&entry).await.expect("appends");
    }
    store
}

/// Verifies and returns the first broken link, failing the test if the chain is intact.
async fn broken(store: &Store) -> BrokenLink {
    let report = store.audit_verify().await.expect("verify runs");
    report.broken.expect("the tampering is detected")
}

both! {
    async fn appends_chain_and_verify(db: &TestDb) {
        let store = with_entries(db, 5).await;
        let entries = store.audit_entries(0, 100).await.expect("lists");
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        for pair in entries.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
            assert_eq!(pair[1].seq, pair[0].seq + 1);
        }
        assert_eq!(entries[2].details, r#"{"decision":"approve","step":3}"#);
        assert_eq!(entries[2].actor, "user:0");
        let report = store.audit_verify().await.expect("verify runs");
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.entries, report.last_seq), (5, 5));
        assert_eq!(report.last_hash, entries[4].hash);
        assert_eq!(store.audit_head().await.expect("head"), (5, entries[4].hash.clone()));
    }

    async fn exports_json_lines(db: &TestDb) {
        let store = with_entries(db, 3).await;
        let mut out = Vec::new();
        assert_eq!(store.audit_export(&mut out).await.expect("exports"), 3);
        let text = String::from_utf8(out).expect("UTF-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 3);
        let entries = store.audit_entries(0, 10).await.expect("lists");
        assert_eq!(lines[1]["seq"], 2);
        assert_eq!(lines[1]["action"], "request.decide");
        assert_eq!(lines[1]["target_kind"], "request");
        assert_eq!(lines[1]["target_id"], "102");
        assert_eq!(lines[1]["details"], json!({"decision": "approve", "step": 2}));
        assert_eq!(lines[1]["hash"], entries[1].hash.as_str());
        assert_eq!(lines[1]["timestamp"], entries[1].timestamp.to_string());
        assert_eq!(lines[2]["prev_hash"], lines[1]["hash"]);
    }

    async fn an_export_verifies_offline(db: &TestDb) {
        let store = with_entries(db, 4).await;
        let mut out = Vec::new();
        store.audit_export(&mut out).await.expect("exports");
        let text = String::from_utf8(out).expect("UTF-8");
        let mut verifier = ChainVerifier::default();
        let text_of = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let entry = Entry {
                seq: v["seq"].as_i64().expect("seq"),
                timestamp: Timestamp::from_millis(v["timestamp_ms"].as_i64().expect("ms")),
                actor: text_of(&v["actor"]).expect("actor"),
                action: text_of(&v["action"]).expect("action"),
                target_kind: text_of(&v["target_kind"]),
                target_id: text_of(&v["target_id"]),
                details: canonical_json(&v["details"]),
                prev_hash: text_of(&v["prev_hash"]).expect("prev_hash"),
                hash: text_of(&v["hash"]).expect("hash"),
            };
            verifier.push(&entry).expect("every exported entry verifies");
        }
        let (seq, hash) = store.audit_head().await.expect("head");
        assert!(verifier.finish(seq, &hash).is_intact());
    }

    async fn rows_cannot_be_changed_through_sql_while_guarded(db: &TestDb) {
        let _store = with_entries(db, 2).await;
        let update = db.exec("UPDATE audit_log SET actor = 'cli' WHERE seq = 1").await;
        assert!(update.is_err(), "UPDATE is refused by the append-only trigger");
        let delete = db.exec("DELETE FROM audit_log WHERE seq = 2").await;
        assert!(delete.is_err(), "DELETE is refused by the append-only trigger");
    }

    async fn an_edited_entry_is_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        db.tamper("UPDATE audit_log SET details = '{\"decision\":\"deny\",\"step\":3}' WHERE seq = 3")
            .await;
        assert_eq!(broken(&store).await, BrokenLink { seq: 3, reason: Break::HashMismatch });
    }

    async fn an_edited_actor_or_timestamp_is_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        db.tamper("UPDATE audit_log SET actor = 'cli' WHERE seq = 2").await;
        assert_eq!(broken(&store).await, BrokenLink { seq: 2, reason: Break::HashMismatch });
        db.exec("UPDATE audit_log SET actor = 'user:2' WHERE seq = 2").await.expect("restore");
        assert!(store.audit_verify().await.expect("verify").is_intact());
        db.exec("UPDATE audit_log SET ts = ts - 1 WHERE seq = 4").await.expect("edit");
        assert_eq!(broken(&store).await, BrokenLink { seq: 4, reason: Break::HashMismatch });
    }

    async fn an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(db: &TestDb) {
        let store = with_entries(db, 5).await;
        let entries = store.audit_entries(0, 10).await.expect("lists");
        let mut forged = entries[2].clone();
        forged.details = r#"{"decision":"deny","step":3}"#.to_owned();
        let hash = forged.computed_hash();
        db.tamper(&format!(
            "UPDATE audit_log SET details = '{}', hash = '{hash}' WHERE seq = 3",
            forged.details
        ))
        .await;
        assert_eq!(broken(&store).await, BrokenLink { seq: 4, reason: Break::PrevHashMismatch });
    }

    async fn a_deleted_entry_is_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        db.tamper("DELETE FROM audit_log WHERE seq = 3").await;
        assert_eq!(
            broken(&store).await,
            BrokenLink { seq: 4, reason: Break::SeqGap { expected: 3 } }
        );
    }

    async fn a_deleted_first_entry_is_detected(db: &TestDb) {
        let store = with_entries(db, 3).await;
        db.tamper("DELETE FROM audit_log WHERE seq = 1").await;
        assert_eq!(
            broken(&store).await,
            BrokenLink { seq: 2, reason: Break::SeqGap { expected: 1 } }
        );
    }

    async fn deleted_last_entries_are_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        let head = store.audit_head().await.expect("head");
        db.tamper("DELETE FROM audit_log WHERE seq >= 4").await;
        let link = broken(&store).await;
        assert_eq!(link.seq, 4);
        assert_eq!(link.reason, Break::HeadMismatch { head_seq: 5, head_hash: head.1 });
    }

    async fn renumbered_entries_are_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        db.tamper(
            "UPDATE audit_log SET seq = -2 WHERE seq = 2; \
             UPDATE audit_log SET seq = 2 WHERE seq = 3; \
             UPDATE audit_log SET seq = 3 WHERE seq = -2;",
        )
        .await;
        assert_eq!(broken(&store).await, BrokenLink { seq: 2, reason: Break::PrevHashMismatch });
    }

    async fn swapped_entry_contents_are_detected(db: &TestDb) {
        let store = with_entries(db, 5).await;
        // Swap every column but seq between rows 2 and 3, through a scratch row.
        let columns = "ts, actor, action, target_kind, target_id, details, prev_hash, hash";
        db.tamper(&format!(
            "INSERT INTO audit_log (seq, {columns}) SELECT -1, {columns} FROM audit_log WHERE seq = 2; \
             DELETE FROM audit_log WHERE seq = 2; \
             UPDATE audit_log SET seq = 2 WHERE seq = 3; \
             UPDATE audit_log SET seq = 3 WHERE seq = -1;"
        ))
        .await;
        let link = broken(&store).await;
        assert_eq!(link.seq, 2);
        assert_eq!(link.reason, Break::PrevHashMismatch);
    }

    async fn an_appended_forgery_is_detected(db: &TestDb) {
        let store = with_entries(db, 2).await;
        db.exec(&format!(
            "INSERT INTO audit_log (seq, ts, actor, action, details, prev_hash, hash) \
             VALUES (3, 0, 'cli', 'user.create', '{{}}', '{GENESIS_HASH}', '{GENESIS_HASH}')"
        ))
        .await
        .expect("inserting is not blocked by the triggers");
        assert_eq!(broken(&store).await, BrokenLink { seq: 3, reason: Break::PrevHashMismatch });
    }

    async fn concurrent_appends_never_fork_the_chain(db: &TestDb) {
        let store = db.open().await;
        let tasks: Vec<_> = (0..4)
            .map(|task| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..15 {
                        let entry = NewEntry::new(Actor::Token(task), "store.test", None)
                            .with_details(json!({ "i": i }));
                        store.audit_append(&entry).await.expect("appends");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the task finishes");
        }
        let report = store.audit_verify().await.expect("verify runs");
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.entries, 60);
    }

    async fn malformed_entries_are_refused(db: &TestDb) {
        let store = db.open().await;
        for (action, target) in [
            ("User.Create", None),
            ("", None),
            ("user.create", Some(Target::new("User Kind", 1))),
            ("user.create", Some(Target::new("user", ""))),
        ] {
            let err = store
                .audit_append(&NewEntry::new(Actor::Cli, action, target))
                .await
                .expect_err("refused");
            assert!(matches!(err, pactum_store::error::StoreError::InvalidAuditEntry(_)));
        }
        assert_eq!(store.audit_head().await.expect("head").0, 0);
    }
}
