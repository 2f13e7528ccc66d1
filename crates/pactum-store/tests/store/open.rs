//! Opening: schema creation, WAL mode, versioned migrations, refusal of a newer database.

use pactum_store::error::StoreError;
use pactum_store::{Backend, Store};

use crate::both;
use crate::support::{Kind, TestDb};

/// The version of the newest migration file (`migrations/sqlite/NNNN_name.sql`): what a fresh
/// store's schema version must be, whichever migrations are added later.
fn newest_migration_file() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(dir)
        .expect("the migrations folder exists")
        .filter_map(|e| {
            let name = e.expect("readable entry").file_name();
            name.to_str()?.get(..4)?.parse::<i64>().ok()
        })
        .max()
        .expect("at least one migration")
}

both! {
    async fn opens_an_empty_database_and_reopens_it(db: &TestDb) {
        let store = db.open().await;
        assert_eq!(store.schema_version(), newest_migration_file());
        let expected = match db.kind {
            Kind::Sqlite => Backend::Sqlite,
            Kind::Postgres => Backend::Postgres,
        };
        assert_eq!(store.backend(), expected);
        assert_eq!(format!("{store:?}"), format!("Store {{ backend: {expected:?}, .. }}"));
        let report = store.audit_verify().await.expect("verify runs");
        assert!(report.is_intact());
        assert_eq!(report.entries, 0);
        store.close().await;

        // Reopening applies nothing and keeps the data.
        let store = db.open().await;
        assert_eq!(store.audit_head().await.expect("head").0, 0);
        store.close().await;
    }

    async fn refuses_a_database_newer_than_the_binary(db: &TestDb) {
        db.open().await.close().await;
        db.exec(
            "INSERT INTO pactum_schema (version, name, checksum, applied_at) \
             VALUES (9999, 'from_the_future', 'x', 0)",
        )
        .await
        .expect("fake a future migration");
        let err = Store::open_with(&db.url, TestDb::options(crate::support::manual_clock()))
            .await
            .expect_err("a newer database is refused");
        let binary = newest_migration_file();
        assert!(
            matches!(err, StoreError::SchemaTooNew { database: 9999, binary: b } if b == binary),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the database schema is at version 9999, newer than this pactum supports ({binary}): \
                 upgrade pactum before opening this database"
            )
        );
    }

    async fn refuses_a_database_whose_applied_migration_differs(db: &TestDb) {
        db.open().await.close().await;
        db.exec("UPDATE pactum_schema SET checksum = 'edited' WHERE version = 1")
            .await
            .expect("edit the checksum");
        let err = Store::open(&db.url).await.expect_err("a changed migration is refused");
        assert!(matches!(err, StoreError::MigrationChanged { version: 1, .. }), "{err:?}");
    }

    async fn concurrent_opens_migrate_once(db: &TestDb) {
        let opens = (0..3).map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move {
                Store::open_with(&url, TestDb::options(crate::support::manual_clock())).await
            })
        });
        for open in opens.collect::<Vec<_>>() {
            let store = open.await.expect("task").expect("every open succeeds");
            store.close().await;
        }
    }
}

#[tokio::test]
async fn sqlite_files_are_created_in_wal_mode() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("state.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("opens");
    assert!(path.exists(), "the database file is created");
    store.close().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        path.display()
    ))
    .await
    .expect("connects");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("reads the journal mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_state_on_one_connection() {
    let store = Store::open("sqlite::memory:").await.expect("opens");
    store
        .audit_append(&pactum_store::audit::NewEntry::new(
            pactum_store::audit::Actor::System,
            "store.test",
            None,
        ))
        .await
        .expect("appends");
    assert_eq!(store.audit_head().await.expect("head").0, 1);
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    let err = Store::open("mysql://root@localhost/pactum")
        .await
        .expect_err("MySQL is not a store backend");
    assert!(matches!(err, StoreError::UnsupportedUrl { ref scheme } if scheme == "mysql"));
}

#[tokio::test]
async fn data_directories_are_created_with_the_store_inside() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("nested dir?").join("pactum-data");
    let store = Store::open_dir(&data, pactum_store::StoreOptions::default())
        .await
        .expect("opens");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.close().await;
    assert!(data.join(pactum_store::SQLITE_FILE_NAME).is_file());
}
