//! Secrets at rest: sealed by envelope encryption, never in clear in the database, bound to their
//! names, opened only by the right key, re-wrapped by rotation, audited by name only.

use std::time::Duration;

use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::secrets::{Kek, KeyId, SecretError, SecretValue};
use sqlx::{Connection, Row};

use crate::both;
use crate::support::{Kind, TestDb, manual_clock};

/// A value that must never be found in clear anywhere in the database.
const PLAIN: &str = "correct-horse-battery-staple-4f1c";

fn kek() -> Kek {
    Kek::generate().expect("the system random generator works")
}

async fn put(store: &Store, kek: &Kek, name: &str, value: &str) {
    store
        .put_secret(&Actor::Cli, kek, name, &SecretValue::from(value))
        .await
        .expect("stores the secret");
}

async fn get(store: &Store, kek: &Kek, name: &str) -> Result<String, SecretError> {
    let value = store.get_secret(&Actor::Cli, kek, name).await?;
    Ok(String::from_utf8(value.expose().to_vec()).expect("the test values are UTF-8"))
}

/// The raw `secrets` rows, as an attacker reading the database sees them: (name, key_id,
/// wrapped_key, ciphertext), by name.
async fn raw_rows(db: &TestDb) -> Vec<(String, String, Vec<u8>, Vec<u8>)> {
    let sql = "SELECT name, key_id, wrapped_key, ciphertext FROM secrets ORDER BY name";
    macro_rules! read {
        ($conn:expr) => {{
            let mut conn = $conn.await.expect("connects");
            let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("reads");
            rows.iter()
                .map(|r| {
                    (
                        r.get::<String, _>(0),
                        r.get::<String, _>(1),
                        r.get::<Vec<u8>, _>(2),
                        r.get::<Vec<u8>, _>(3),
                    )
                })
                .collect()
        }};
    }
    match db.kind {
        Kind::Sqlite => read!(sqlx::SqliteConnection::connect(&db.url)),
        Kind::Postgres => read!(sqlx::PgConnection::connect(&db.url)),
    }
}

/// Every byte the database holds that an attacker could read: the SQLite files (main, WAL and
/// shared memory), or on PostgreSQL every table's rows in their text form (bytea as hex).
async fn database_bytes(db: &TestDb) -> Vec<u8> {
    match db.kind {
        Kind::Sqlite => {
            let path = db
                .url
                .strip_prefix("sqlite://")
                .expect("a sqlite:// test URL");
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(mut file) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.append(&mut file);
                }
            }
            assert!(bytes.len() > 4096, "the database file was read");
            bytes
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .expect("connects");
            let tables: Vec<String> = sqlx::query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            )
            .fetch_all(&mut conn)
            .await
            .expect("lists tables")
            .iter()
            .map(|r| r.get(0))
            .collect();
            assert!(tables.contains(&"secrets".to_owned()));
            let mut bytes = Vec::new();
            for table in tables {
                let sql = format!("SELECT t::text FROM {table} t");
                for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("reads a table")
                {
                    bytes.extend_from_slice(row.get::<String, _>(0).as_bytes());
                    bytes.push(b'\n');
                }
            }
            bytes
        }
    }
}

/// An audit entry's actor, action, target kind, target id and details.
type AuditLine = (String, String, Option<String>, Option<String>, String);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn wrong_key(err: SecretError) -> (KeyId, KeyId) {
    match err {
        SecretError::WrongKey { sealed, given } => (sealed, given),
        other => panic!("expected a wrong-key error, got {other:?}"),
    }
}

both! {
    async fn round_trip_update_list_and_delete(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let key = kek();
        let created = store
            .put_secret(&Actor::User(7), &key, "erasure.hash_key", &SecretValue::from(PLAIN))
            .await
            .expect("stores");
        assert_eq!(created.key_id, *key.id());
        assert_eq!(get(&store, &key, "erasure.hash_key").await.expect("opens"), PLAIN);

        // Binary values survive as they are.
        let binary = SecretValue::from(vec![0u8, 255, 10, 13, 0]);
        store.put_secret(&Actor::Cli, &key, "crm.token", &binary).await.expect("stores");
        assert_eq!(store.get_secret(&Actor::Cli, &key, "crm.token").await.expect("opens"), binary);

        clock.advance(Duration::from_secs(60));
        let updated = store
            .put_secret(&Actor::Cli, &key, "erasure.hash_key", &SecretValue::from("second"))
            .await
            .expect("replaces");
        assert_eq!(updated.created_at, created.created_at);
        assert_eq!(updated.updated_at, created.updated_at.plus(Duration::from_secs(60)));
        assert_eq!(get(&store, &key, "erasure.hash_key").await.expect("opens"), "second");

        let listed = store.list_secrets().await.expect("lists");
        assert_eq!(listed, vec![
            pactum_store::secrets::SecretInfo {
                name: "crm.token".into(),
                key_id: key.id().clone(),
                created_at: created.created_at,
                updated_at: created.created_at,
                updated_by: "cli".into(),
            },
            updated.clone(),
        ]);
        let shown = serde_json::to_string(&listed).expect("serialises");
        assert!(!shown.contains("second"), "{shown}");

        store.delete_secret(&Actor::Cli, "crm.token").await.expect("deletes");
        assert!(matches!(
            store.get_secret(&Actor::Cli, &key, "crm.token").await,
            Err(SecretError::NotFound(name)) if name == "crm.token"
        ));
        assert!(matches!(
            store.delete_secret(&Actor::Cli, "crm.token").await,
            Err(SecretError::NotFound(_))
        ));
        assert_eq!(store.list_secrets().await.expect("lists"), vec![updated]);

        // Malformed names and values are refused before anything is stored.
        assert!(matches!(
            store.put_secret(&Actor::Cli, &key, "no spaces", &SecretValue::from("x")).await,
            Err(SecretError::InvalidName(_))
        ));
        assert!(matches!(
            store.put_secret(&Actor::Cli, &key, "empty", &SecretValue::from("")).await,
            Err(SecretError::InvalidValue { .. })
        ));
    }

    async fn the_database_never_holds_the_value_in_clear(db: &TestDb) {
        let store = db.open().await;
        let key = kek();
        put(&store, &key, "connector.crm.password", PLAIN).await;
        put(&store, &key, "erasure.hash_key", PLAIN).await;
        // Replace one value, so the old one passes through WAL pages and freed pages too.
        put(&store, &key, "erasure.hash_key", &format!("{PLAIN}-2")).await;

        let rows = raw_rows(db).await;
        assert_eq!(rows.len(), 2);
        for (name, key_id, wrapped, ciphertext) in &rows {
            assert_eq!(key_id, key.id().as_str(), "{name}");
            assert_eq!(wrapped.len(), 24 + 32 + 16, "nonce, data key and tag");
            assert!(!contains(ciphertext, PLAIN.as_bytes()), "{name}: value in clear");
        }
        // Even the same value under two names gives unrelated ciphertexts (own key and nonce).
        assert_ne!(rows[0].3, rows[1].3);

        let bytes = database_bytes(db).await;
        let key_text = key.to_base64();
        for needle in [
            PLAIN.as_bytes().to_vec(),
            hex_lower(PLAIN.as_bytes()).into_bytes(),
            key_text.as_bytes().to_vec(),
        ] {
            assert!(!contains(&bytes, &needle), "found {:?} in the database", String::from_utf8_lossy(&needle));
        }
        // The test can see through the encryption: the names are there in clear, as designed.
        assert!(contains(&bytes, b"connector.crm.password"));
    }

    async fn the_wrong_key_is_refused_with_both_key_ids(db: &TestDb) {
        let store = db.open().await;
        let right = kek();
        let wrong = kek();
        put(&store, &right, "erasure.hash_key", PLAIN).await;

        let err = store.get_secret(&Actor::Cli, &wrong, "erasure.hash_key").await.expect_err("refused");
        assert_eq!(
            err.to_string(),
            format!("secrets were sealed with key {}, the key given is {}", right.id(), wrong.id())
        );
        assert_eq!(wrong_key(err), (right.id().clone(), wrong.id().clone()));

        // Nor can another key add secrets beside them, or rotate them.
        let err = store
            .put_secret(&Actor::Cli, &wrong, "other", &SecretValue::from("x"))
            .await
            .expect_err("refused");
        assert_eq!(wrong_key(err), (right.id().clone(), wrong.id().clone()));
        let err = store.rotate_key(&Actor::Cli, &wrong, &kek()).await.expect_err("refused");
        assert_eq!(wrong_key(err), (right.id().clone(), wrong.id().clone()));
        assert_eq!(store.list_secrets().await.expect("lists").len(), 1);
        assert_eq!(get(&store, &right, "erasure.hash_key").await.expect("still opens"), PLAIN);

        // A key id forged onto the row does not help: the wrapped key still does not open.
        db.exec(&format!("UPDATE secrets SET key_id = '{}'", wrong.id())).await.expect("edits");
        let err = store.get_secret(&Actor::Cli, &wrong, "erasure.hash_key").await.expect_err("refused");
        assert!(matches!(&err, SecretError::Tampered { name, .. } if name == "erasure.hash_key"), "{err:?}");
    }

    async fn ciphertexts_moved_between_names_do_not_open(db: &TestDb) {
        let store = db.open().await;
        let key = kek();
        put(&store, &key, "alpha", "value of alpha").await;
        put(&store, &key, "beta", "value of beta").await;

        // Swap the value ciphertexts only: each is sealed with the other secret's data key and
        // bound to the other name.
        let swap = |columns: &str| {
            let sets: Vec<String> = columns
                .split(',')
                .map(|c| {
                    format!(
                        "{c} = (SELECT {c} FROM swap_copy WHERE swap_copy.name = \
                         CASE secrets.name WHEN 'alpha' THEN 'beta' ELSE 'alpha' END)"
                    )
                })
                .collect();
            format!(
                "CREATE TEMP TABLE swap_copy AS SELECT * FROM secrets; \
                 UPDATE secrets SET {} WHERE name IN ('alpha', 'beta');",
                sets.join(", ")
            )
        };
        db.exec(&swap("ciphertext")).await.expect("swaps");
        for name in ["alpha", "beta"] {
            let err = store.get_secret(&Actor::Cli, &key, name).await.expect_err("refused");
            assert!(matches!(&err, SecretError::Tampered { name: n, .. } if n == name), "{err:?}");
        }
        db.exec(&swap("ciphertext")).await.expect("swaps back");
        assert_eq!(get(&store, &key, "alpha").await.expect("opens again"), "value of alpha");

        // Swap whole envelopes (wrapped key and ciphertext): the associated data still binds
        // each to its own name.
        db.exec(&swap("wrapped_key,ciphertext")).await.expect("swaps");
        for name in ["alpha", "beta"] {
            let err = store.get_secret(&Actor::Cli, &key, name).await.expect_err("refused");
            assert_eq!(
                err.to_string(),
                format!(
                    "secret \"{name}\" cannot be decrypted with key {}: its stored ciphertext was \
                     altered or belongs to another secret",
                    key.id()
                )
            );
        }

        // A flipped bit is caught the same way.
        db.exec(&swap("wrapped_key,ciphertext")).await.expect("swaps back");
        let flip = match db.kind {
            Kind::Sqlite => "UPDATE secrets SET ciphertext = zeroblob(length(ciphertext)) WHERE name = 'beta'",
            Kind::Postgres => "UPDATE secrets SET ciphertext = set_byte(ciphertext, 30, get_byte(ciphertext, 30) # 1) WHERE name = 'beta'",
        };
        db.exec(flip).await.expect("edits");
        assert!(matches!(store.get_secret(&Actor::Cli, &key, "beta").await, Err(SecretError::Tampered { .. })));
        assert_eq!(get(&store, &key, "alpha").await.expect("untouched"), "value of alpha");
    }

    async fn rotation_rewraps_every_key_and_retires_the_old_one(db: &TestDb) {
        let store = db.open().await;
        let old = kek();
        let new = kek();
        for (name, value) in [("a.one", "first"), ("b.two", "second"), ("c.three", PLAIN)] {
            put(&store, &old, name, value).await;
        }
        let before = raw_rows(db).await;

        assert!(matches!(
            store.rotate_key(&Actor::Cli, &old, &old).await,
            Err(SecretError::SameKey(id)) if id == *old.id()
        ));
        let count = store.rotate_key(&Actor::Cli, &old, &new).await.expect("rotates");
        assert_eq!(count, 3);

        let after = raw_rows(db).await;
        for ((name, _, wrapped_before, ct_before), (_, key_id, wrapped_after, ct_after)) in
            before.iter().zip(&after)
        {
            assert_eq!(key_id, new.id().as_str(), "{name}");
            assert_ne!(wrapped_before, wrapped_after, "{name}: data key re-wrapped");
            assert_eq!(ct_before, ct_after, "{name}: the value's ciphertext is untouched");
        }
        assert!(store.list_secrets().await.expect("lists").iter().all(|s| s.key_id == *new.id()));
        assert_eq!(get(&store, &new, "c.three").await.expect("the new key opens"), PLAIN);
        assert_eq!(get(&store, &new, "a.one").await.expect("the new key opens"), "first");

        // The old key is refused by id, and cannot open the re-wrapped keys even if the ids are
        // forged back.
        let err = store.get_secret(&Actor::Cli, &old, "a.one").await.expect_err("refused");
        assert_eq!(wrong_key(err), (new.id().clone(), old.id().clone()));
        db.exec(&format!("UPDATE secrets SET key_id = '{}'", old.id())).await.expect("edits");
        assert!(matches!(store.get_secret(&Actor::Cli, &old, "a.one").await, Err(SecretError::Tampered { .. })));
        db.exec(&format!("UPDATE secrets SET key_id = '{}'", new.id())).await.expect("edits back");

        // All or nothing: one broken envelope stops the whole rotation and changes no row.
        db.exec("UPDATE secrets SET wrapped_key = (SELECT wrapped_key FROM secrets WHERE name = 'a.one') WHERE name = 'b.two'")
            .await
            .expect("edits");
        let third = kek();
        let err = store.rotate_key(&Actor::Cli, &new, &third).await.expect_err("refused");
        assert!(matches!(&err, SecretError::Tampered { name, .. } if name == "b.two"), "{err:?}");
        assert!(raw_rows(db).await.iter().all(|r| r.1 == new.id().as_str()));
        assert_eq!(get(&store, &new, "c.three").await.expect("still opens"), PLAIN);
    }

    async fn every_read_appends_one_entry_and_failed_reads_none(db: &TestDb) {
        let store = db.open().await;
        let key = kek();
        put(&store, &key, "crm.token", PLAIN).await;
        put(&store, &key, "other", "x").await;
        let (before, _) = store.audit_head().await.expect("head");

        let value = store
            .get_secret(&Actor::Token(9), &key, "crm.token")
            .await
            .expect("opens");
        assert_eq!(value.expose(), PLAIN.as_bytes());
        let (after, _) = store.audit_head().await.expect("head");
        assert_eq!(after, before + 1, "exactly one entry per read");
        let entries = store.audit_entries(0, 100).await.expect("lists");
        let last = entries.last().expect("an entry");
        assert_eq!(
            (last.actor.as_str(), last.action.as_str()),
            ("token:9", "secret.read")
        );
        assert_eq!(
            (last.target_kind.as_deref(), last.target_id.as_deref()),
            (Some("secret"), Some("crm.token"))
        );
        assert_eq!(last.details, format!(r#"{{"key_id":"{}"}}"#, key.id()));
        assert!(!last.details.contains(PLAIN));

        // Reads that disclose nothing append nothing.
        let err = store.get_secret(&Actor::Cli, &kek(), "crm.token").await.expect_err("wrong key");
        assert!(matches!(err, SecretError::WrongKey { .. }), "{err:?}");
        let err = store.get_secret(&Actor::Cli, &key, "missing").await.expect_err("no such secret");
        assert!(matches!(err, SecretError::NotFound(_)), "{err:?}");
        db.exec("UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'crm.token') WHERE name = 'other'")
            .await
            .expect("tampering SQL runs");
        let err = store.get_secret(&Actor::Cli, &key, "other").await.expect_err("tampered");
        assert!(matches!(err, SecretError::Tampered { .. }), "{err:?}");
        assert_eq!(store.audit_head().await.expect("head").0, after);

        // A second read is a second entry, and the chain holds.
        get(&store, &key, "crm.token").await.expect("opens again");
        assert_eq!(store.audit_head().await.expect("head").0, after + 1);
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn audit_entries_name_the_secret_only(db: &TestDb) {
        let store = db.open().await;
        let old = kek();
        let new = kek();
        put(&store, &old, "erasure.hash_key", PLAIN).await;
        store
            .put_secret(&Actor::User(3), &old, "erasure.hash_key", &SecretValue::from("again"))
            .await
            .expect("replaces");
        store.get_secret(&Actor::User(7), &old, "erasure.hash_key").await.expect("opens");
        store.rotate_key(&Actor::Cli, &old, &new).await.expect("rotates");
        store.delete_secret(&Actor::Token(5), "erasure.hash_key").await.expect("deletes");

        let entries = store.audit_entries(0, 100).await.expect("lists");
        let summary: Vec<AuditLine> = entries
            .iter()
            .map(|e| {
                (
                    e.actor.clone(),
                    e.action.clone(),
                    e.target_kind.clone(),
                    e.target_id.clone(),
                    e.details.clone(),
                )
            })
            .collect();
        let secret = || (Some("secret".to_owned()), Some("erasure.hash_key".to_owned()));
        let (old_id, new_id) = (old.id().as_str(), new.id().as_str());
        assert_eq!(summary, [
            ("cli".into(), "secret.create".into(), secret().0, secret().1, format!(r#"{{"key_id":"{old_id}"}}"#)),
            ("user:3".into(), "secret.update".into(), secret().0, secret().1, format!(r#"{{"key_id":"{old_id}"}}"#)),
            ("user:7".into(), "secret.read".into(), secret().0, secret().1, format!(r#"{{"key_id":"{old_id}"}}"#)),
            ("cli".into(), "secret.rotate_key".into(), None, None,
                format!(r#"{{"new_key_id":"{new_id}","old_key_id":"{old_id}","secrets":1}}"#)),
            ("token:5".into(), "secret.delete".into(), secret().0, secret().1, "{}".into()),
        ]);
        let all = serde_json::to_string(&entries).expect("serialises");
        assert!(!all.contains(PLAIN) && !all.contains("again"), "{all}");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }
}
