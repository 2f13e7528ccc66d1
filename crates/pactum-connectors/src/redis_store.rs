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
            let kind: String = redis::cmd("TYPE")
                .arg(key)
                .query_async(&mut self.conn)
                .await
                .map_err(|e| err("reading a key's type", e))?;
            let values: Vec<(Option<usize>, String)> = match kind.as_str() {
                "string" => {
                    let v: Option<String> = self.conn.get(key).await.map_err(|e| err("GET", e))?;
                    v.into_iter().map(|v| (column(VALUE_COLUMN), v)).collect()
                }
                "hash" => {
                    let pairs: Vec<(String, String)> = self
                        .conn
                        .hgetall(key)
                        .await
                        .map_err(|e| err("HGETALL", e))?;
                    pairs.into_iter().map(|(f, v)| (column(&f), v)).collect()
                }
                "list" => {
                    let items: Vec<String> = self
                        .conn
                        .lrange(key, 0, 999)
                        .await
                        .map_err(|e| err("LRANGE", e))?;
                    items
                        .into_iter()
                        .map(|v| (column(VALUE_COLUMN), v))
                        .collect()
                }
                "set" => {
                    let items: Vec<String> = self
                        .conn
                        .smembers(key)
                        .await
                        .map_err(|e| err("SMEMBERS", e))?;
                    items
                        .into_iter()
                        .map(|v| (column(VALUE_COLUMN), v))
                        .collect()
                }
                "zset" => {
                    let items: Vec<String> = self
                        .conn
                        .zrange(key, 0, 999)
                        .await
                        .map_err(|e| err("ZRANGE", e))?;
                    items
                        .into_iter()
                        .map(|v| (column(VALUE_COLUMN), v))
                        .collect()
                }
                _ => Vec::new(),
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
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut self.conn)
                .await
                .map_err(|e| err("reading a key's type", e))?;
            let row: Option<crate::Row> = match kind.as_str() {
                "hash" => {
                    let pairs: Vec<(String, String)> = self
                        .conn
                        .hgetall(&key)
                        .await
                        .map_err(|e| err("HGETALL", e))?;
                    Some(
                        fields
                            .iter()
                            .map(|f| {
                                if f == match_field {
                                    Some(value.clone())
                                } else {
                                    pairs.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone())
                                }
                            })
                            .collect(),
                    )
                }
                "string" => {
                    let v: Option<String> = self.conn.get(&key).await.map_err(|e| err("GET", e))?;
                    Some(
                        fields
                            .iter()
                            .map(|f| {
                                if f == match_field {
                                    Some(value.clone())
                                } else if f == "value" {
                                    v.clone()
                                } else {
                                    None
                                }
                            })
                            .collect(),
                    )
                }
                "none" => None,
                other => {
                    let items: Vec<String> = match other {
                        "list" => self
                            .conn
                            .lrange(&key, 0, -1)
                            .await
                            .map_err(|e| err("LRANGE", e))?,
                        "set" => self
                            .conn
                            .smembers(&key)
                            .await
                            .map_err(|e| err("SMEMBERS", e))?,
                        "zset" => self
                            .conn
                            .zrange(&key, 0, -1)
                            .await
                            .map_err(|e| err("ZRANGE", e))?,
                        _ => Vec::new(),
                    };
                    Some(
                        fields
                            .iter()
                            .map(|f| {
                                if f == match_field {
                                    Some(value.clone())
                                } else if f == "value" {
                                    Some(items.join("\n"))
                                } else {
                                    None
                                }
                            })
                            .collect(),
                    )
                }
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
                    let kind: String = redis::cmd("TYPE")
                        .arg(key)
                        .query_async(&mut self.conn)
                        .await
                        .map_err(|e| err("reading a key's type", e))?;
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
