//! Embedded, versioned migrations, one folder per backend (`migrations/sqlite`,
//! `migrations/postgres`), applied at open.
//!
//! A small migrator of our own rather than sqlx's `migrate!`: that macro needs sqlx's `macros`
//! feature (a proc-macro stack compiled for every build) and we need our own "database is newer than
//! this binary" refusal anyway.
//!
//! Applied migrations are recorded in `pactum_schema` with a SHA-256 of their SQL, so a migration
//! edited after release is caught instead of silently diverging.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::StoreError;
use crate::{Backend, Store, with_tx};

/// One schema change.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

// Invariant: versions are 1, 2, 3, ... in order, and both lists have the same versions and names
// (checked by the tests below), so the two backends always have the same schema version.
const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "jobs",
        sql: include_str!("../migrations/sqlite/0002_jobs.sql"),
    },
    Migration {
        version: 3,
        name: "sessions",
        sql: include_str!("../migrations/sqlite/0003_sessions.sql"),
    },
    Migration {
        version: 4,
        name: "secrets",
        sql: include_str!("../migrations/sqlite/0004_secrets.sql"),
    },
    Migration {
        version: 5,
        name: "requests",
        sql: include_str!("../migrations/sqlite/0005_requests.sql"),
    },
    Migration {
        version: 6,
        name: "checkpoints",
        sql: include_str!("../migrations/sqlite/0006_checkpoints.sql"),
    },
    Migration {
        version: 7,
        name: "extensions",
        sql: include_str!("../migrations/sqlite/0007_extensions.sql"),
    },
    Migration {
        version: 8,
        name: "holds",
        sql: include_str!("../migrations/sqlite/0008_holds.sql"),
    },
    Migration {
        version: 9,
        name: "corrections",
        sql: include_str!("../migrations/sqlite/0009_corrections.sql"),
    },
    Migration {
        version: 10,
        name: "tasks",
        sql: include_str!("../migrations/sqlite/0010_tasks.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "jobs",
        sql: include_str!("../migrations/postgres/0002_jobs.sql"),
    },
    Migration {
        version: 3,
        name: "sessions",
        sql: include_str!("../migrations/postgres/0003_sessions.sql"),
    },
    Migration {
        version: 4,
        name: "secrets",
        sql: include_str!("../migrations/postgres/0004_secrets.sql"),
    },
    Migration {
        version: 5,
        name: "requests",
        sql: include_str!("../migrations/postgres/0005_requests.sql"),
    },
    Migration {
        version: 6,
        name: "checkpoints",
        sql: include_str!("../migrations/postgres/0006_checkpoints.sql"),
    },
    Migration {
        version: 7,
        name: "extensions",
        sql: include_str!("../migrations/postgres/0007_extensions.sql"),
    },
    Migration {
        version: 8,
        name: "holds",
        sql: include_str!("../migrations/postgres/0008_holds.sql"),
    },
    Migration {
        version: 9,
        name: "corrections",
        sql: include_str!("../migrations/postgres/0009_corrections.sql"),
    },
    Migration {
        version: 10,
        name: "tasks",
        sql: include_str!("../migrations/postgres/0010_tasks.sql"),
    },
];

/// An arbitrary constant naming Pactum's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x7061_6374_756d_0001;

pub(crate) fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// The newest version embedded for `backend`.
pub(crate) fn latest(backend: Backend) -> i64 {
    migrations(backend).last().map_or(0, |m| m.version)
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Brings the schema up to date in one transaction that holds the write lock (SQLite) or an
/// advisory lock (PostgreSQL), so two processes starting at once do not both migrate.
#[tracing::instrument(skip_all)]
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let backend = store.backend();
    let known = migrations(backend);
    let mut tx = store.begin_write().await?;
    let applied: Vec<(i64, String)> = with_tx!(&mut tx, conn => {
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS pactum_schema (
                version    BIGINT PRIMARY KEY,
                name       TEXT   NOT NULL,
                checksum   TEXT   NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .execute(&mut *conn)
        .await?;
        let rows = sqlx::query("SELECT version, checksum FROM pactum_schema ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?
    });

    let binary = latest(backend);
    if let Some(&(database, _)) = applied.last()
        && database > binary
    {
        return Err(StoreError::SchemaTooNew { database, binary });
    }
    for (version, sum) in &applied {
        if let Some(m) = known.iter().find(|m| m.version == *version)
            && checksum(m.sql) != *sum
        {
            return Err(StoreError::MigrationChanged {
                version: m.version,
                name: m.name,
            });
        }
    }

    let now = store.now().as_millis();
    for m in known
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
    {
        let failed = |source| StoreError::Migrate {
            version: m.version,
            name: m.name,
            source,
        };
        with_tx!(&mut tx, conn => {
            sqlx::raw_sql(m.sql).execute(&mut *conn).await.map_err(failed)?;
            sqlx::query(
                "INSERT INTO pactum_schema (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(checksum(m.sql))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(failed)?;
        });
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_folder(folder: &str, list: &[Migration]) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(folder);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the migrations folder exists")
            .map(|e| {
                e.expect("readable entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        let listed: Vec<String> = list
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, listed,
            "every file in migrations/{folder} is listed, in order"
        );
        for (i, m) in list.iter().enumerate() {
            assert_eq!(m.version, i64::try_from(i).expect("few migrations") + 1);
        }
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        check_folder("sqlite", SQLITE);
        check_folder("postgres", POSTGRES);
    }

    #[test]
    fn backends_have_the_same_versions() {
        let names = |list: &[Migration]| -> Vec<(i64, &str)> {
            list.iter().map(|m| (m.version, m.name)).collect()
        };
        assert_eq!(names(SQLITE), names(POSTGRES));
    }
}
