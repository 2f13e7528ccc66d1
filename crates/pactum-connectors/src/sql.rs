//! PostgreSQL, MySQL/MariaDB and SQLite through sqlx, one pool type per backend.

use futures_util::TryStreamExt;
use sqlx::{MySqlPool, PgPool, Row, SqlitePool};

use crate::{CollectionInfo, ConnectorError, Sample};

pub enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// Column name to PostgreSQL type name (`udt_name`) for one table.
type ColumnTypes = std::sync::Arc<std::collections::HashMap<String, String>>;

/// A SQL datastore: its pool, and the PostgreSQL column types learnt so far (by table), so lookups
/// can cast their parameters to the column's type and use its indexes.
pub struct SqlStore {
    pool: Pool,
    pg_types: std::sync::Mutex<std::collections::HashMap<String, ColumnTypes>>,
}

fn query_err(kind: &'static str, what: &str, e: sqlx::Error) -> ConnectorError {
    ConnectorError::Query {
        kind,
        what: what.to_owned(),
        source: Box::new(e),
    }
}

impl SqlStore {
    fn new(pool: Pool) -> SqlStore {
        SqlStore {
            pool,
            pg_types: std::sync::Mutex::default(),
        }
    }

    /// The PostgreSQL type of each column of `table`, read once and then remembered.
    async fn pg_column_types(
        &self,
        pool: &PgPool,
        table: &str,
    ) -> Result<ColumnTypes, ConnectorError> {
        // Every lookup asks: hand out a shared map, never a copy.
        if let Some(known) = self
            .pg_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(table)
        {
            return Ok(known.clone());
        }
        let types = std::sync::Arc::new(Self::pg_types(pool, table).await?);
        self.pg_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(table.to_owned(), std::sync::Arc::clone(&types));
        Ok(types)
    }

    pub fn kind(&self) -> &'static str {
        match &self.pool {
            Pool::Postgres(_) => "postgres",
            Pool::MySql(_) => "mysql",
            Pool::Sqlite(_) => "sqlite",
        }
    }

    pub async fn connect(url: &str, mode: crate::Mode) -> Result<SqlStore, ConnectorError> {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("sqlite");
        let connect_err = |kind, e: sqlx::Error| ConnectorError::Connect {
            kind,
            source: Box::new(e),
        };
        match scheme {
            "postgres" | "postgresql" => PgPool::connect(url)
                .await
                .map(|p| SqlStore::new(Pool::Postgres(p)))
                .map_err(|e| connect_err("postgres", e)),
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                MySqlPool::connect(&url)
                    .await
                    .map(|p| SqlStore::new(Pool::MySql(p)))
                    .map_err(|e| connect_err("mysql", e))
            }
            "sqlite" => {
                // Scans and access requests only read: read-only then, so they can never change the
                // organisation's data.
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(mode == crate::Mode::ReadOnly);
                SqlitePool::connect_with(opts)
                    .await
                    .map(|p| SqlStore::new(Pool::Sqlite(p)))
                    .map_err(|e| connect_err("sqlite", e))
            }
            other => Err(ConnectorError::UnsupportedScheme {
                scheme: other.to_owned(),
            }),
        }
    }

    pub async fn collections(&self) -> Result<Vec<CollectionInfo>, ConnectorError> {
        let mut rows: Vec<(String, String)> = Vec::new();
        match &self.pool {
            Pool::Postgres(pool) => {
                let sql = "SELECT CASE WHEN table_schema = 'public' THEN table_name::text \
                           ELSE table_schema || '.' || table_name END AS t, column_name::text AS c \
                           FROM information_schema.columns \
                           WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                           ORDER BY table_schema, table_name, ordinal_position";
                let found = sqlx::query(sql)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| query_err("postgres", "listing columns", e))?;
                for r in found {
                    rows.push((
                        r.try_get("t")
                            .map_err(|e| query_err("postgres", "listing columns", e))?,
                        r.try_get("c")
                            .map_err(|e| query_err("postgres", "listing columns", e))?,
                    ));
                }
            }
            Pool::MySql(pool) => {
                let sql = "SELECT CAST(table_name AS CHAR) AS t, CAST(column_name AS CHAR) AS c \
                           FROM information_schema.columns WHERE table_schema = DATABASE() \
                           ORDER BY table_name, ordinal_position";
                let found = sqlx::query(sql)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| query_err("mysql", "listing columns", e))?;
                for r in found {
                    rows.push((
                        r.try_get("t")
                            .map_err(|e| query_err("mysql", "listing columns", e))?,
                        r.try_get("c")
                            .map_err(|e| query_err("mysql", "listing columns", e))?,
                    ));
                }
            }
            Pool::Sqlite(pool) => {
                let sql = "SELECT m.name AS t, p.name AS c FROM sqlite_master m \
                           JOIN pragma_table_info(m.name) p \
                           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                           ORDER BY m.name, p.cid";
                let found = sqlx::query(sql)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| query_err("sqlite", "listing columns", e))?;
                for r in found {
                    rows.push((
                        r.try_get("t")
                            .map_err(|e| query_err("sqlite", "listing columns", e))?,
                        r.try_get("c")
                            .map_err(|e| query_err("sqlite", "listing columns", e))?,
                    ));
                }
            }
        }
        let mut out: Vec<CollectionInfo> = Vec::new();
        for (table, column) in rows {
            match out.last_mut() {
                Some(last) if last.name == table => last.columns.push(column),
                _ => out.push(CollectionInfo {
                    name: table,
                    columns: vec![column],
                }),
            }
        }
        Ok(out)
    }

    pub async fn sample(
        &self,
        collection: &CollectionInfo,
        sample: Sample,
        on_value: &mut (dyn FnMut(usize, &str) + Send),
    ) -> Result<u64, ConnectorError> {
        let kind = self.kind();
        let sql = select_as_text(self, collection, sample);
        let what = format!("reading `{}`", collection.name);
        let mut count = 0u64;
        macro_rules! drain {
            ($pool:expr) => {{
                // Audited: every identifier in `sql` went through `quote_ansi`/`quote_mysql`, and the
                // limit is a number.
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch($pool);
                while let Some(row) = rows.try_next().await.map_err(|e| query_err(kind, &what, e))? {
                    count += 1;
                    for i in 0..collection.columns.len() {
                        let value: Option<String> =
                            row.try_get(i).map_err(|e| query_err(kind, &what, e))?;
                        if let Some(v) = value {
                            on_value(i, &v);
                        }
                    }
                }
            }};
        }
        match &self.pool {
            Pool::Postgres(pool) => drain!(pool),
            Pool::MySql(pool) => drain!(pool),
            Pool::Sqlite(pool) => drain!(pool),
        }
        Ok(count)
    }
}

impl SqlStore {
    pub async fn find(
        &self,
        table: &str,
        fields: &[String],
        match_field: &str,
        values: &[String],
    ) -> Result<Vec<crate::Row>, ConnectorError> {
        let kind = self.kind();
        let what = format!("looking up `{table}` by `{match_field}`");
        let info = CollectionInfo {
            name: table.to_owned(),
            columns: fields.to_vec(),
        };
        let select = select_as_text(self, &info, Sample::All);
        let mut out = Vec::new();
        macro_rules! run {
            ($pool:expr, $sql:expr, $binds:expr) => {{
                let mut q = sqlx::query(sqlx::AssertSqlSafe($sql));
                for v in $binds {
                    q = q.bind(v);
                }
                let rows = q
                    .fetch_all($pool)
                    .await
                    .map_err(|e| query_err(kind, &what, e))?;
                for row in rows {
                    let mut values = Vec::with_capacity(fields.len());
                    for i in 0..fields.len() {
                        values.push(
                            row.try_get::<Option<String>, _>(i)
                                .map_err(|e| query_err(kind, &what, e))?,
                        );
                    }
                    out.push(values);
                }
            }};
        }
        // Audited: identifiers are quoted, values are bound parameters.
        match &self.pool {
            // The parameters are cast to the column's own type, not the column to text, so the
            // column's index serves the lookup.
            Pool::Postgres(pool) => {
                let types = self.pg_column_types(pool, table).await?;
                let cast = match types.get(match_field) {
                    Some(ty) => format!("$1::text[]::{}[]", quote_ansi(ty)),
                    None => "$1".to_owned(),
                };
                let sql = format!("{select} WHERE {} = ANY({cast})", quote_ansi(match_field));
                run!(pool, sql, [values.to_vec()])
            }
            // MySQL and SQLite convert a text parameter to the column's type for the comparison.
            Pool::MySql(pool) => {
                let marks = vec!["?"; values.len()].join(", ");
                let sql = format!("{select} WHERE {} IN ({marks})", quote_mysql(match_field));
                run!(pool, sql, values.iter().cloned())
            }
            Pool::Sqlite(pool) => {
                let marks = vec!["?"; values.len()].join(", ");
                let sql = format!("{select} WHERE {} IN ({marks})", quote_ansi(match_field));
                run!(pool, sql, values.iter().cloned())
            }
        }
        Ok(out)
    }
}

impl SqlStore {
    /// PostgreSQL column types of a table (`udt_name`), to cast text parameters to.
    async fn pg_types(
        pool: &PgPool,
        table: &str,
    ) -> Result<std::collections::HashMap<String, String>, ConnectorError> {
        let (schema, name) = table.split_once('.').unwrap_or(("public", table));
        let rows = sqlx::query(
            "SELECT column_name::text AS c, udt_name::text AS t FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2",
        )
        .bind(schema)
        .bind(name)
        .fetch_all(pool)
        .await
        .map_err(|e| query_err("postgres", "reading column types", e))?;
        let mut out = std::collections::HashMap::new();
        for r in rows {
            let c: String = r
                .try_get("c")
                .map_err(|e| query_err("postgres", "reading column types", e))?;
            let t: String = r
                .try_get("t")
                .map_err(|e| query_err("postgres", "reading column types", e))?;
            out.insert(c, t);
        }
        Ok(out)
    }

    pub async fn erase(&self, changes: &[crate::RowErasure]) -> Result<Vec<u64>, ConnectorError> {
        let kind = self.kind();
        let mut affected = Vec::with_capacity(changes.len());
        macro_rules! apply {
            ($pool:expr, $render:expr) => {{
                let mut tx = $pool.begin().await.map_err(|e| query_err(kind, "starting a transaction", e))?;
                for (i, change) in changes.iter().enumerate() {
                    let (sql, binds): (String, Vec<String>) = $render(change).await?;
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for b in binds {
                        q = q.bind(b);
                    }
                    let what = format!("erasing in `{}`", change.collection);
                    let n = q.execute(&mut *tx).await.map_err(|e| query_err(kind, &what, e))?.rows_affected();
                    if n != 1 {
                        // Dropping the transaction rolls it back: nothing of this datastore changes.
                        return Err(ConnectorError::Query {
                            kind,
                            what,
                            source: format!("change {} matched {n} rows instead of exactly one", i + 1).into(),
                        });
                    }
                    affected.push(n);
                }
                tx.commit().await.map_err(|e| query_err(kind, "committing", e))?;
            }};
        }
        match &self.pool {
            Pool::Postgres(pool) => {
                let mut types: std::collections::HashMap<
                    String,
                    std::collections::HashMap<String, String>,
                > = std::collections::HashMap::new();
                for c in changes {
                    if !types.contains_key(&c.collection) {
                        types.insert(
                            c.collection.clone(),
                            Self::pg_types(pool, &c.collection).await?,
                        );
                    }
                }
                let types = &types;
                apply!(pool, |change: &crate::RowErasure| {
                    let t = types.get(&change.collection).cloned().unwrap_or_default();
                    let cast = move |field: &str, n: usize| match t.get(field) {
                        Some(ty) => format!("${n}::text::{}", quote_ansi(ty)),
                        None => format!("${n}"),
                    };
                    let table = pg_table(&change.collection);
                    let rendered = render(change, &table, quote_ansi, cast);
                    async move { Ok::<_, ConnectorError>(rendered) }
                })
            }
            Pool::MySql(pool) => apply!(pool, |change: &crate::RowErasure| {
                let rendered = render(
                    change,
                    &quote_mysql(&change.collection),
                    quote_mysql,
                    |_, _| "?".to_owned(),
                );
                async move { Ok::<_, ConnectorError>(rendered) }
            }),
            Pool::Sqlite(pool) => apply!(pool, |change: &crate::RowErasure| {
                let rendered = render(
                    change,
                    &quote_ansi(&change.collection),
                    quote_ansi,
                    |_, _| "?".to_owned(),
                );
                async move { Ok::<_, ConnectorError>(rendered) }
            }),
        }
        Ok(affected)
    }
}

fn pg_table(name: &str) -> String {
    name.split_once('.')
        .map(|(s, t)| format!("{}.{}", quote_ansi(s), quote_ansi(t)))
        .unwrap_or_else(|| quote_ansi(name))
}

/// `UPDATE ... SET ... WHERE key = ...` or `DELETE ... WHERE key = ...`, with placeholders from
/// `param(field, n)` and the values to bind in order.
fn render(
    change: &crate::RowErasure,
    table: &str,
    quote: fn(&str) -> String,
    param: impl Fn(&str, usize) -> String,
) -> (String, Vec<String>) {
    let mut binds = Vec::new();
    let mut n = 0;
    let mut next = |field: &str, value: &str, binds: &mut Vec<String>| {
        n += 1;
        binds.push(value.to_owned());
        param(field, n)
    };
    let head = match &change.change {
        crate::RowChange::Delete => format!("DELETE FROM {table}"),
        crate::RowChange::Set(fields) => {
            let sets: Vec<String> = fields
                .iter()
                .map(|(f, v)| match v {
                    Some(v) => format!("{} = {}", quote(f), next(f, v, &mut binds)),
                    None => format!("{} = NULL", quote(f)),
                })
                .collect();
            format!("UPDATE {table} SET {}", sets.join(", "))
        }
    };
    let conds: Vec<String> = change
        .key
        .iter()
        .map(|(f, v)| format!("{} = {}", quote(f), next(f, v, &mut binds)))
        .collect();
    (format!("{head} WHERE {}", conds.join(" AND ")), binds)
}

/// `SELECT` every column cast to text, with identifiers quoted for the backend.
fn select_as_text(store: &SqlStore, collection: &CollectionInfo, sample: Sample) -> String {
    let columns: Vec<String> = collection
        .columns
        .iter()
        .map(|c| match &store.pool {
            Pool::Postgres(_) => format!("{}::text", quote_ansi(c)),
            Pool::MySql(_) => format!("CAST({} AS CHAR)", quote_mysql(c)),
            Pool::Sqlite(_) => format!("CAST({} AS TEXT)", quote_ansi(c)),
        })
        .collect();
    let table = match &store.pool {
        Pool::Postgres(_) => collection
            .name
            .split_once('.')
            .map(|(s, t)| format!("{}.{}", quote_ansi(s), quote_ansi(t)))
            .unwrap_or_else(|| quote_ansi(&collection.name)),
        Pool::MySql(_) => quote_mysql(&collection.name),
        Pool::Sqlite(_) => quote_ansi(&collection.name),
    };
    let limit = match sample {
        Sample::Rows(n) => format!(" LIMIT {n}"),
        Sample::All => String::new(),
    };
    format!("SELECT {} FROM {table}{limit}", columns.join(", "))
}

/// Quotes an identifier for PostgreSQL and SQLite.
pub(crate) fn quote_ansi(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Quotes an identifier for MySQL/MariaDB.
pub(crate) fn quote_mysql(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ansi(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(quote_mysql("we`ird"), "`we``ird`");
    }
}
