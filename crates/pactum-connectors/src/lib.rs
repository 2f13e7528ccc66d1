//! Connectors to the datastores an organisation's data map declares.
//!
//! A [`Datastore`] is opened from a connection URL (`postgres://`, `mysql://`, `mariadb://`,
//! `sqlite://` or a path, `redis://`). It can list its collections ([`Datastore::collections`]) and
//! stream their values as text ([`Datastore::sample`]), which is what the scanner needs to find
//! personal data the map does not declare. Data-subject requests (find, export, erase) build on the
//! same connections.
//!
//! Values are read as text on the database side (`::text`, `CAST(... AS CHAR)`), so every column type
//! can be scanned without a Rust type per SQL type.
//!
//! **Invariants:** connectors only read here; identifiers are always quoted (table and column names
//! come from the database's own catalogue, but are never trusted); URLs never appear in errors, because
//! they may hold passwords.

#![forbid(unsafe_code)]

mod error;
mod keyspace;
mod redis_store;
mod sql;

pub use error::ConnectorError;
pub use keyspace::generalise_key;

/// A collection (table, or Redis key pattern) and its columns (or hash fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    /// The table name (`schema.table` outside PostgreSQL's `public`), or the Redis key pattern.
    pub name: String,
    pub columns: Vec<String>,
}

/// Whether a connection may change data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Scans and access requests: a SQLite file is opened read-only.
    ReadOnly,
    /// Erasure and rectification.
    ReadWrite,
}

/// How much of each collection to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// The first N rows (or keys) of each collection.
    Rows(u64),
    /// Everything.
    All,
}

/// An open connection to one datastore.
pub enum Datastore {
    Sql(sql::SqlStore),
    Redis(redis_store::RedisStore),
}

impl std::fmt::Debug for Datastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection may carry credentials: show only its kind.
        f.write_str(match self {
            Datastore::Sql(s) => s.kind(),
            Datastore::Redis(_) => "redis",
        })
    }
}

impl Datastore {
    /// Opens a datastore from its URL, read-only where the backend allows it. `key_prefix` limits a
    /// Redis scan to keys starting with it.
    pub async fn connect(url: &str, key_prefix: Option<&str>) -> Result<Datastore, ConnectorError> {
        Datastore::connect_as(url, key_prefix, Mode::ReadOnly).await
    }

    /// Opens a datastore for reading or writing. Only SQLite files honour [`Mode::ReadOnly`] at the
    /// connection; server databases answer to the credentials in the URL.
    pub async fn connect_as(
        url: &str,
        key_prefix: Option<&str>,
        mode: Mode,
    ) -> Result<Datastore, ConnectorError> {
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            return Ok(Datastore::Redis(
                redis_store::RedisStore::connect(url, key_prefix).await?,
            ));
        }
        Ok(Datastore::Sql(sql::SqlStore::connect(url, mode).await?))
    }

    /// Lists collections and their columns. For Redis this samples keys and groups them by pattern.
    pub async fn collections(
        &mut self,
        sample: Sample,
    ) -> Result<Vec<CollectionInfo>, ConnectorError> {
        match self {
            Datastore::Sql(s) => s.collections().await,
            Datastore::Redis(r) => r.collections(sample).await,
        }
    }

    /// Streams one collection's values: `on_value(column_index, value)` for every non-null cell of
    /// every row read. Returns the number of rows (or keys) read.
    pub async fn sample(
        &mut self,
        collection: &CollectionInfo,
        sample: Sample,
        on_value: &mut (dyn FnMut(usize, &str) + Send),
    ) -> Result<u64, ConnectorError> {
        match self {
            Datastore::Sql(s) => s.sample(collection, sample, on_value).await,
            Datastore::Redis(r) => r.sample(collection, sample, on_value).await,
        }
    }
}

/// A row found by [`Datastore::find`]: the requested fields' values as text, in request order.
pub type Row = Vec<Option<String>>;

impl Datastore {
    /// Rows of `collection` whose `match_field` equals one of `values`, with `fields` read as text.
    ///
    /// For Redis, `collection` is a key pattern such as `session:{user_id}` and `match_field` must be
    /// its placeholder: keys are built from the values (Redis cannot search by value).
    pub async fn find(
        &mut self,
        collection: &str,
        fields: &[String],
        match_field: &str,
        values: &[String],
    ) -> Result<Vec<Row>, ConnectorError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Datastore::Sql(s) => s.find(collection, fields, match_field, values).await,
            Datastore::Redis(r) => r.find(collection, fields, match_field, values).await,
        }
    }
}

/// What to do to one row (or Redis key), found by its key fields' current values.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    /// Delete the row (or key).
    Delete,
    /// Set these fields (`None` is NULL, or removal of a Redis hash field).
    Set(Vec<(String, Option<String>)>),
}

/// One row to change in one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct RowErasure {
    /// The collection (table name, or Redis key pattern).
    pub collection: String,
    /// Fields that identify exactly one row, with their values (the primary key; for Redis, the key
    /// pattern's placeholders).
    pub key: Vec<(String, String)>,
    pub change: RowChange,
}

impl Datastore {
    /// Applies every change in one transaction (SQL) and returns the rows each affected, in order.
    /// Each change must affect exactly one row: otherwise nothing is committed and the error says
    /// which change did not match.
    pub async fn erase(&mut self, changes: &[RowErasure]) -> Result<Vec<u64>, ConnectorError> {
        match self {
            Datastore::Sql(s) => s.erase(changes).await,
            Datastore::Redis(r) => r.erase(changes).await,
        }
    }
}
