//! Redis: keys grouped into patterns; strings, hashes, lists, sets and sorted sets read as text.

use std::collections::BTreeMap;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use crate::keyspace::generalise_key;
use crate::{CollectionInfo, ConnectorError, Sample};

/// The column that holds the key itself (keys often embed an email or an id).
pub const KEY_COLUMN: &str = "(key)";
/// The column that holds a string value, or the members of a list, set or sorted set.
pub const VALUE_COLUMN: &str = "(value)";

/// Members read per list or sorted set when sampling (a scan needs a sample, not the whole key).
const SAMPLE_ITEMS: Option<isize> = Some(1000);

/// A key's contents, whatever its type.
enum KeyValues {
    Missing,
    /// Hash fields and values.
    Hash(Vec<(String, String)>),
    /// A string value, or the members of a list, set or sorted set.
    Items(Vec<String>),
}

pub struct RedisStore {
    conn: MultiplexedConnection,
    prefix: Option<String>,
}

fn err(what: &str, e: redis::RedisError) -> ConnectorError {
    ConnectorError::Query {
        kind: "redis",
        what: what.to_owned(),
        source: Box::new(e),
    }
}

impl RedisStore {
    async fn key_type(&mut self, key: &str) -> Result<String, ConnectorError> {
        redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| err("reading a key's type", e))
    }

    /// Reads a key by its type; lists and sorted sets up to `max_items` members (all with `None`).
    async fn read_key(
        &mut self,
        key: &str,
        max_items: Option<isize>,
    ) -> Result<KeyValues, ConnectorError> {
        let last = max_items.map_or(-1, |n| n - 1);
        Ok(match self.key_type(key).await?.as_str() {
            "hash" => KeyValues::Hash(
                self.conn
                    .hgetall(key)
                    .await
                    .map_err(|e| err("HGETALL", e))?,
            ),
            "string" => {
                let v: Option<String> = self.conn.get(key).await.map_err(|e| err("GET", e))?;
                KeyValues::Items(v.into_iter().collect())
            }
            "list" => KeyValues::Items(
                self.conn
                    .lrange(key, 0, last)
                    .await
                    .map_err(|e| err("LRANGE", e))?,
            ),
            "set" => KeyValues::Items(
                self.conn
                    .smembers(key)
                    .await
                    .map_err(|e| err("SMEMBERS", e))?,
            ),
            "zset" => KeyValues::Items(
                self.conn
                    .zrange(key, 0, last)
                    .await
                    .map_err(|e| err("ZRANGE", e))?,
            ),
            _ => KeyValues::Missing,
        })
    }

    pub async fn connect(url: &str, prefix: Option<&str>) -> Result<RedisStore, ConnectorError> {
        let client = redis::Client::open(url).map_err(|e| ConnectorError::Connect {
            kind: "redis",
            source: Box::new(e),
        })?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| ConnectorError::Connect {
                kind: "redis",
                source: Box::new(e),
            })?;
        Ok(RedisStore {
            conn,
            prefix: prefix.map(str::to_owned),
        })
    }

    fn match_pattern(&self, pattern: &str) -> String {
        match &self.prefix {
            Some(p) if !pattern.starts_with(p.as_str()) => format!("{p}{pattern}"),
            _ => pattern.to_owned(),
        }
    }

    /// Keys matching `pattern`, by SCAN (never KEYS), up to `limit`.
    async fn keys(
        &mut self,
        pattern: &str,
        limit: Option<u64>,
    ) -> Result<Vec<String>, ConnectorError> {
        let pattern = self.match_pattern(pattern);
        let mut cursor: u64 = 0;
        let mut out = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut self.conn)
                .await
                .map_err(|e| err("scanning keys", e))?;
            out.extend(batch);
            if limit.is_some_and(|l| out.len() as u64 >= l) {
                out.truncate(
                    limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
                );
                break;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        out.sort();
        Ok(out)
    }

    pub async fn collections(
        &mut self,
        sample: Sample,
    ) -> Result<Vec<CollectionInfo>, ConnectorError> {
        let limit = match sample {
            Sample::Rows(n) => Some(n.saturating_mul(100)),
            Sample::All => None,
        };
        let keys = self.keys("*", limit).await?;
        let mut patterns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for key in keys {
            let pattern = generalise_key(&key);
            let columns = patterns.entry(pattern).or_default();
            if columns.is_empty() {
                columns.push(KEY_COLUMN.to_owned());
            }
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut self.conn)
                .await
                .map_err(|e| err("reading a key's type", e))?;
            if kind == "hash" {
                let fields: Vec<String> = self
                    .conn
                    .hkeys(&key)
                    .await
                    .map_err(|e| err("reading hash fields", e))?;
                for f in fields {
                    if !columns.contains(&f) {
                        columns.push(f);
                    }
                }
            } else if !columns.iter().any(|c| c == VALUE_COLUMN) {
                columns.push(VALUE_COLUMN.to_owned());
            }
        }
        Ok(patterns
            .into_iter()
            .map(|(name, columns)| CollectionInfo { name, columns })
            .collect())
    }

    pub async fn sample(
        &mut self,
        collection: &CollectionInfo,
        sample: Sample,
        on_value: &mut (dyn FnMut(usize, &str) + Send),
    ) -> Result<u64, ConnectorError> {
        let limit = match sample {
            Sample::Rows(n) => Some(n),
            Sample::All => None,
        };
        let keys = self.keys(&collection.name, limit).await?;
        let column = |name: &str| collection.columns.iter().position(|c| c == name);
        for key in &keys {
            if let Some(i) = column(KEY_COLUMN) {
                on_value(i, key);
            }
            let values: Vec<(Option<usize>, String)> = match self
                .read_key(key, SAMPLE_ITEMS)
                .await?
            {
                KeyValues::Missing => Vec::new(),
                KeyValues::Hash(pairs) => pairs.into_iter().map(|(f, v)| (column(&f), v)).collect(),
                KeyValues::Items(items) => items
                    .into_iter()
                    .map(|v| (column(VALUE_COLUMN), v))
                    .collect(),
            };
            for (i, v) in values {
                if let Some(i) = i {
                    on_value(i, &v);
                }
            }
        }
        Ok(keys.len() as u64)
    }
}

impl RedisStore {
    pub async fn find(
        &mut self,
        pattern: &str,
        fields: &[String],
        match_field: &str,
        values: &[String],
    ) -> Result<Vec<crate::Row>, ConnectorError> {
        let placeholder = format!("{{{match_field}}}");
        if !pattern.contains(&placeholder) {
            return Err(ConnectorError::Query {
                kind: "redis",
                what: format!("looking up `{pattern}` by `{match_field}`"),
                source: format!("Redis keys can only be found by a placeholder of the key pattern, and `{pattern}` has no `{placeholder}`").into(),
            });
        }
        let mut out = Vec::new();
        for value in values {
            let key = self.match_pattern(&pattern.replace(&placeholder, value));
            // The match field is the key's placeholder, so its value is the one looked up.
            let cell = |f: &String, found: Option<String>| {
                if f == match_field {
                    Some(value.clone())
                } else {
                    found
                }
            };
            let row: Option<crate::Row> = match self.read_key(&key, None).await? {
                KeyValues::Missing => None,
                KeyValues::Hash(pairs) => Some(
                    fields
                        .iter()
                        .map(|f| {
                            cell(
                                f,
                                pairs.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()),
                            )
                        })
                        .collect(),
                ),
                // A string, list, set or sorted set is the field `value` (members one per line).
                KeyValues::Items(items) => Some(
                    fields
                        .iter()
                        .map(|f| cell(f, (f == "value").then(|| items.join("\n"))))
                        .collect(),
                ),
            };
            out.extend(row);
        }
        Ok(out)
    }
}

impl RedisStore {
    /// Applies the changes atomically (MULTI/EXEC) after checking that every key exists.
    pub async fn erase(
        &mut self,
        changes: &[crate::RowErasure],
    ) -> Result<Vec<u64>, ConnectorError> {
        let mut keys = Vec::with_capacity(changes.len());
        for change in changes {
            let mut key = change.collection.clone();
            for (field, value) in &change.key {
                key = key.replace(&format!("{{{field}}}"), value);
            }
            let key = self.match_pattern(&key);
            let exists: bool = self.conn.exists(&key).await.map_err(|e| err("EXISTS", e))?;
            if !exists {
                return Err(ConnectorError::Query {
                    kind: "redis",
                    what: format!("erasing in `{}`", change.collection),
                    source: "the key to change does not exist (nothing was changed)".into(),
                });
            }
            keys.push(key);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (change, key) in changes.iter().zip(&keys) {
            match &change.change {
                crate::RowChange::Delete => {
                    pipe.del(key).ignore();
                }
                crate::RowChange::Set(fields) => {
                    let kind = self.key_type(key).await?;
                    for (field, value) in fields {
                        match (kind.as_str(), value) {
                            ("hash", Some(v)) => {
                                pipe.hset(key, field, v).ignore();
                            }
                            ("hash", None) => {
                                pipe.hdel(key, field).ignore();
                            }
                            ("string", Some(v)) if field == "value" => {
                                pipe.set(key, v).ignore();
                            }
                            ("string", None) if field == "value" => {
                                pipe.del(key).ignore();
                            }
                            _ => {
                                return Err(ConnectorError::Query {
                                    kind: "redis",
                                    what: format!("erasing `{field}` in `{}`", change.collection),
                                    source: format!("a {kind} value has no field `{field}` to change (nothing was changed)").into(),
                                });
                            }
                        }
                    }
                }
            }
        }
        let _: () = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| err("MULTI/EXEC", e))?;
        Ok(vec![1; changes.len()])
    }
}
