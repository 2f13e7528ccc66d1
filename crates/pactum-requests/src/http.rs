//! The `http` connector: datastores that are services reached over HTTPS (a support desk, a
//! remote-support tool), through the calls the map declares.
//!
//! A collection declares `find` calls (GET, with `{field}` or `{identity_kind}` placeholders filled
//! with URL-encoded values, the records at a JSON pointer of the answer) and an `erase` call per
//! record (`DELETE`, `PATCH` or `POST`, with an optional JSON body template). Records found join the
//! person's records like SQL rows: their values feed the lookups of other collections, and they
//! are part of the access package. An erasure plans one call per record ([`HttpCall`], stored in
//! the [`crate::ErasurePlan`]) and [`crate::apply_datastore`] makes them in order.
//!
//! There is no transaction over HTTP: a call that fails stops the datastore, the calls before it
//! stand, and the datastore is reported failed. Applying the same plan again is safe: a record
//! planned for erasure that the service no longer has (404) counts as erased.
//!
//! **Invariants:** plain HTTP only to a loopback address; no redirects are followed; credentials
//! come from environment variables (or [`crate::Connections::with_credentials`]) and are sent as
//! sensitive headers; errors never hold a URL, a path, a credential or a record's value.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use pactum_domain::model::{
    Collection, ConnectorKind, DataMap, Datastore as DatastoreDef, HttpMethod,
};
use pactum_domain::traversal::{CollectionRef, Step};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::erasure::{Erased, ErasurePlan};
use crate::{Connections, ManualTask, RequestError};

/// Why a call to an `http` datastore failed. No variant holds a URL, a path, a credential or a
/// value of a record.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The TLS configuration could not be built.
    #[error("cannot configure TLS")]
    Tls(#[source] rustls::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The base URL is not HTTPS (plain HTTP is accepted for loopback addresses only).
    #[error("the base URL must use https (plain http only to 127.0.0.1, localhost or [::1])")]
    InsecureUrl,
    /// The environment variable the map names for the credential is not set.
    #[error("environment variable {0} (the datastore's credential) is not set")]
    MissingCredential(String),
    /// The credential or the header name cannot be sent in an HTTP header.
    #[error("the credential cannot be sent as an HTTP header")]
    InvalidCredential,
    /// A call's path or body does not fit the collection (the map has errors).
    #[error("`{collection}`: {reason}")]
    Template { collection: String, reason: String },
    /// The call could not be made (connection, TLS, timeout).
    #[error("`{collection}`: the {call} could not be made")]
    Send {
        collection: String,
        call: String,
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with a status that is neither 2xx nor (for erase calls) 404.
    #[error("`{collection}`: the {call} answered HTTP {status}")]
    Status {
        collection: String,
        call: String,
        status: u16,
    },
    /// The answer to a find call is not JSON, or has no records where the map says.
    #[error("`{collection}`: the find answer {reason}")]
    Answer { collection: String, reason: String },
}

/// One erase call of an [`crate::ErasurePlan`], with its placeholders filled. **Holds personal
/// data** (the path carries the record's values), like the rest of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCall {
    pub method: HttpMethod,
    /// After the datastore's base URL, values URL-encoded.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// Why a shared HTTPS client could not be built.
pub(crate) enum ClientError {
    Tls(rustls::Error),
    Client(reqwest::Error),
}

/// The HTTPS client every outgoing call uses (webhooks, `http` datastores): rustls with the ring
/// provider and the Mozilla root store, a 10-second timeout, no redirects (a call is for the
/// configured URL only).
pub(crate) fn client() -> Result<reqwest::Client, ClientError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(ClientError::Tls)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(ClientError::Client)
}

/// `https://...`, or `http://` to a loopback host (development and tests).
pub(crate) fn secure(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Whether `datastore` is reached through this connector.
pub(crate) fn is_http(map: &DataMap, datastore: &str) -> bool {
    map.datastores
        .get(datastore)
        .is_some_and(|d| d.kind == ConnectorKind::Http)
}

/// Whether any collection of an `http` datastore declares a find call: without one, the datastore
/// is a task for people.
pub(crate) fn connects(ds: &DatastoreDef) -> bool {
    ds.collections.values().any(|c| !c.find.is_empty())
}

/// Where a credential comes from: the environment by default.
type CredentialOf = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// One open `http` datastore: its base URL and the header that authenticates it.
struct HttpStore {
    client: reqwest::Client,
    base: String,
    auth: Option<(HeaderName, HeaderValue)>,
}

impl HttpStore {
    /// The request for `path`, authenticated.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json");
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        request
    }
}

/// The `http` datastores open in a [`Connections`], and where their credentials come from.
#[derive(Default)]
pub(crate) struct HttpStores {
    stores: HashMap<String, HttpStore>,
    client: Option<reqwest::Client>,
    pub(crate) credential_of: Option<CredentialOf>,
}

impl std::fmt::Debug for HttpStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Base URLs and credentials are secrets: only which datastores are open is shown.
        f.debug_struct("HttpStores")
            .field("open", &self.stores.keys().collect::<BTreeSet<_>>())
            .finish_non_exhaustive()
    }
}

impl HttpStores {
    /// Opens datastore `key` (no call is made: HTTP has no connection to test), checking its
    /// URL and reading its credential.
    pub(crate) fn open(
        &mut self,
        map: &DataMap,
        key: &str,
        url_of: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<(), RequestError> {
        if self.stores.contains_key(key) {
            return Ok(());
        }
        let failed = |source| RequestError::Http {
            datastore: key.to_owned(),
            source,
        };
        let ds = map
            .datastores
            .get(key)
            .ok_or_else(|| RequestError::Unreachable {
                datastore: key.to_owned(),
                reason: "the map does not declare it".to_owned(),
            })?;
        let url = url_of(key).ok_or_else(|| RequestError::Unreachable {
            datastore: key.to_owned(),
            reason: match &ds.connection_env {
                Some(var) => format!("environment variable {var} is not set"),
                None => "the map names no connection_env".to_owned(),
            },
        })?;
        if !secure(&url) {
            return Err(failed(HttpError::InsecureUrl));
        }
        let credential = |var: &str| {
            match &self.credential_of {
                Some(of) => of(var),
                None => std::env::var(var).ok(),
            }
            .ok_or_else(|| failed(HttpError::MissingCredential(var.to_owned())))
        };
        let auth = match &ds.auth {
            None => None,
            Some(auth) => {
                let (name, value) = match (&auth.bearer_env, &auth.header, &auth.value_env) {
                    (Some(var), None, None) => {
                        (AUTHORIZATION, format!("Bearer {}", credential(var)?))
                    }
                    (None, Some(header), Some(var)) => {
                        let name = HeaderName::from_bytes(header.as_bytes())
                            .map_err(|_| failed(HttpError::InvalidCredential))?;
                        (name, credential(var)?)
                    }
                    _ => return Err(failed(HttpError::InvalidCredential)),
                };
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|_| failed(HttpError::InvalidCredential))?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let client = match &self.client {
            Some(client) => client.clone(),
            None => {
                let client = client().map_err(|e| {
                    failed(match e {
                        ClientError::Tls(e) => HttpError::Tls(e),
                        ClientError::Client(e) => HttpError::Client(e),
                    })
                })?;
                self.client = Some(client.clone());
                client
            }
        };
        let base = url.trim_end_matches('/').to_owned();
        self.stores
            .insert(key.to_owned(), HttpStore { client, base, auth });
        Ok(())
    }

    fn get(&self, key: &str) -> Result<&HttpStore, RequestError> {
        self.stores
            .get(key)
            .ok_or_else(|| RequestError::Unreachable {
                datastore: key.to_owned(),
                reason: "it was not opened".to_owned(),
            })
    }
}

/// A record as a row: values as text in the collection's field order.
type Row = Vec<Option<String>>;

/// The find calls of one request: answers kept (the lookups run in passes, and a value looked up
/// once is not asked for again) and the lookups no find call serves.
#[derive(Default)]
pub(crate) struct Lookups {
    answers: HashMap<(CollectionRef, String, String), Vec<Row>>,
    /// By datastore: `collection` by `field` lookups the map declares no find call for.
    unserved: BTreeMap<String, BTreeSet<String>>,
}

impl Lookups {
    /// The records of `step`'s collection whose looked-up field holds one of `wanted`.
    pub(crate) async fn find(
        &mut self,
        stores: &HttpStores,
        map: &DataMap,
        step: &Step,
        wanted: &[String],
    ) -> Result<Vec<Row>, RequestError> {
        let at = &step.collection;
        let Some(coll) = crate::collection(map, at) else {
            return Ok(Vec::new());
        };
        let Some(call) = coll.find.iter().find(|f| {
            pactum_domain::model::placeholders(&f.path).is_ok_and(|names| {
                !names.is_empty()
                    && names
                        .iter()
                        .all(|n| coll.placeholder_field(n) == Some(step.field.as_str()))
            })
        }) else {
            self.unserved
                .entry(at.datastore.clone())
                .or_default()
                .insert(format!("`{}` by `{}`", at.collection, step.field));
            return Ok(Vec::new());
        };
        let store = stores.get(&at.datastore)?;
        let failed = |source| RequestError::Http {
            datastore: at.datastore.clone(),
            source,
        };
        let mut rows = Vec::new();
        for value in wanted {
            let cache_key = (at.clone(), step.field.clone(), value.clone());
            if let Some(found) = self.answers.get(&cache_key) {
                rows.extend(found.iter().cloned());
                continue;
            }
            let path = fill_path(&call.path, coll, &|f| {
                (f == step.field).then(|| value.clone())
            })
            .map_err(|reason| {
                failed(HttpError::Template {
                    collection: at.collection.clone(),
                    reason,
                })
            })?;
            let answer = get_json(store, &at.collection, &path)
                .await
                .map_err(failed)?;
            let found = match answer {
                None => Vec::new(),
                Some(answer) => records(coll, &at.collection, &answer, call.records.as_deref())
                    .map_err(failed)?
                    .into_iter()
                    .filter_map(|row| matching(coll, row, &step.field, value))
                    .collect(),
            };
            rows.extend(found.iter().cloned());
            self.answers.insert(cache_key, found);
        }
        Ok(rows)
    }

    /// One task per datastore with lookups no find call serves: a person must search by hand.
    pub(crate) fn manual_tasks(&self, map: &DataMap) -> Vec<ManualTask> {
        self.unserved
            .iter()
            .map(|(ds, lookups)| {
                let declared = map
                    .datastores
                    .get(ds)
                    .and_then(|d| d.instructions.as_deref());
                let what = format!(
                    "the map declares no find call for {}: search by hand",
                    lookups.iter().cloned().collect::<Vec<_>>().join(", ")
                );
                ManualTask {
                    datastore: ds.clone(),
                    instructions: Some(match declared {
                        Some(text) => format!("{text} ({what})"),
                        None => what,
                    }),
                }
            })
            .collect()
    }
}

/// GETs `path`: the JSON answer, or `None` when the service has nothing (404, 204).
async fn get_json(
    store: &HttpStore,
    collection: &str,
    path: &str,
) -> Result<Option<Value>, HttpError> {
    let call = "find call".to_owned();
    let response = store
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .map_err(|e| HttpError::Send {
            collection: collection.to_owned(),
            call: call.clone(),
            source: e.without_url(),
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::NO_CONTENT {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(HttpError::Status {
            collection: collection.to_owned(),
            call,
            status: status.as_u16(),
        });
    }
    let body = response.bytes().await.map_err(|e| HttpError::Send {
        collection: collection.to_owned(),
        call,
        source: e.without_url(),
    })?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|_| HttpError::Answer {
            collection: collection.to_owned(),
            reason: "is not JSON".to_owned(),
        })
}

/// The records of a find answer as rows of `coll`'s fields: the array (or single object) at
/// `pointer`, each field read from its `path` or the member named like it.
fn records(
    coll: &Collection,
    collection: &str,
    answer: &Value,
    pointer: Option<&str>,
) -> Result<Vec<Row>, HttpError> {
    let pointer = pointer.unwrap_or("");
    let at = answer.pointer(pointer).ok_or_else(|| HttpError::Answer {
        collection: collection.to_owned(),
        reason: format!("has nothing at `{pointer}`"),
    })?;
    let items: Vec<&Value> = match at {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![at],
        Value::Null => Vec::new(),
        _ => {
            return Err(HttpError::Answer {
                collection: collection.to_owned(),
                reason: format!("has no records at `{pointer}`"),
            });
        }
    };
    Ok(items
        .into_iter()
        .map(|record| {
            coll.fields
                .iter()
                .map(|(name, field)| {
                    let value = match &field.path {
                        Some(path) => record.pointer(path),
                        None => record.get(name),
                    };
                    value.and_then(text)
                })
                .collect()
        })
        .collect())
}

/// A JSON value as the text a SQL connector would give: strings as they are, numbers and booleans
/// written out, `null` as none, arrays and objects as JSON.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `row` if its `field` holds `value`. A record without the field is the service's answer for that
/// value (a search by customer that does not repeat the customer), so the field is filled in; one
/// with another value (a fuzzy search's neighbour) is someone else's.
fn matching(coll: &Collection, mut row: Row, field: &str, value: &str) -> Option<Row> {
    let i = coll.fields.get_index_of(field)?;
    match row.get(i)? {
        Some(v) if v == value => Some(row),
        Some(_) => None,
        None => {
            row[i] = Some(value.to_owned());
            Some(row)
        }
    }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, so a value is one path segment
/// or one query value whatever it holds (`+`, `&`, `/`, `#`).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fills `template`'s placeholders with the URL-encoded value of the field each stands for;
/// `Err` names the placeholder that has no value.
pub(crate) fn fill_path(
    template: &str,
    coll: &Collection,
    value_of: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    fill(template, coll, &|f| value_of(f).map(|v| encode(&v)))
}

fn fill(
    template: &str,
    coll: &Collection,
    value_of: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let names = pactum_domain::model::placeholders(template)
        .map_err(|e| format!("`{template}` has {e}"))?;
    let mut out = template.to_owned();
    for name in names {
        let field = coll
            .placeholder_field(name)
            .ok_or_else(|| format!("`{{{name}}}` is not a field of the collection"))?;
        let value = value_of(field).ok_or_else(|| format!("no value for `{{{name}}}`"))?;
        out = out.replacen(&format!("{{{name}}}"), &value, 1);
    }
    Ok(out)
}

/// Fills a body template: a string that is exactly one placeholder becomes the value (or `null`),
/// placeholders within longer strings are replaced by the value's text.
pub(crate) fn fill_body(
    template: &Value,
    coll: &Collection,
    value_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    Ok(match template {
        Value::String(s) => {
            let names =
                pactum_domain::model::placeholders(s).map_err(|e| format!("`{s}` has {e}"))?;
            match names.as_slice() {
                [name] if s.len() == name.len() + 2 => {
                    let field = coll
                        .placeholder_field(name)
                        .ok_or_else(|| format!("`{{{name}}}` is not a field of the collection"))?;
                    value_of(field).map_or(Value::Null, Value::String)
                }
                _ => Value::String(fill(s, coll, value_of)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_body(v, coll, value_of))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| Ok((k.clone(), fill_body(v, coll, value_of)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Plans the erase calls for the records of an `http` collection to erase (`targets`, in the
/// collection's field order). A collection without an erase call becomes a task for people; a
/// record missing a value its call needs is a problem that stops the erasure before any change.
pub(crate) fn plan_calls(
    plan: &mut ErasurePlan,
    map: &DataMap,
    at: &CollectionRef,
    coll: &Collection,
    targets: &[&Row],
    problems: &mut Vec<String>,
) {
    let Some(erase) = &coll.erase else {
        let declared = map
            .datastores
            .get(&at.datastore)
            .and_then(|d| d.instructions.as_deref());
        let what = format!(
            "{} record(s) found in `{at}`, which declares no erase call: erase them by hand",
            targets.len()
        );
        plan.manual_tasks.push(ManualTask {
            datastore: at.datastore.clone(),
            instructions: Some(match declared {
                Some(text) => format!("{text} ({what})"),
                None => what,
            }),
        });
        return;
    };
    let mut calls = Vec::new();
    for row in targets {
        let value_of = |field: &str| {
            coll.fields
                .get_index_of(field)
                .and_then(|i| row.get(i).cloned().flatten())
        };
        let path = fill_path(&erase.path, coll, &value_of);
        let body = erase
            .body
            .as_ref()
            .map(|b| fill_body(b, coll, &value_of))
            .transpose();
        match (path, body) {
            (Ok(path), Ok(body)) => calls.push(HttpCall {
                method: erase.method,
                path,
                body,
            }),
            (Err(e), _) | (_, Err(e)) => {
                problems.push(format!("`{at}`: a record's erase call cannot be made: {e}"));
            }
        }
    }
    let planned = plan
        .datastores
        .entry(at.datastore.clone())
        .or_default()
        .collections
        .entry(at.collection.clone())
        .or_default();
    planned.table = at.collection.clone();
    planned.deleted = erase.method == HttpMethod::Delete;
    planned.calls.extend(calls);
}

/// Makes the erase calls of `datastore` in the plan, in order, and counts them by
/// `datastore.collection`. A 404 is a record already erased (a retry after a partial failure);
/// any other non-2xx answer stops the datastore with [`HttpError::Status`]: the calls before it
/// stand (there is no transaction over HTTP).
pub(crate) async fn apply(
    connections: &mut Connections,
    map: &DataMap,
    plan: &ErasurePlan,
    datastore: &str,
    url_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<BTreeMap<String, Erased>, RequestError> {
    let Some(ds_plan) = plan.datastores.get(datastore) else {
        return Ok(BTreeMap::new());
    };
    connections.http.open(map, datastore, url_of)?;
    let store = connections.http.get(datastore)?;
    let failed = |source| RequestError::Http {
        datastore: datastore.to_owned(),
        source,
    };
    let total: usize = ds_plan.collections.values().map(|c| c.calls.len()).sum();
    let mut index = 0;
    let mut erased = BTreeMap::new();
    for (key, coll) in &ds_plan.collections {
        let mut count = 0;
        for call in &coll.calls {
            index += 1;
            let what = format!(
                "erase call {index} of {total} ({} done before it stand)",
                index - 1
            );
            let method = match call.method {
                HttpMethod::Delete => reqwest::Method::DELETE,
                HttpMethod::Patch => reqwest::Method::PATCH,
                HttpMethod::Post => reqwest::Method::POST,
            };
            let mut request = store.request(method, &call.path);
            if let Some(body) = &call.body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let response = request.send().await.map_err(|e| {
                failed(HttpError::Send {
                    collection: key.clone(),
                    call: what.clone(),
                    source: e.without_url(),
                })
            })?;
            let status = response.status();
            if !(status.is_success() || status == reqwest::StatusCode::NOT_FOUND) {
                return Err(failed(HttpError::Status {
                    collection: key.clone(),
                    call: what,
                    status: status.as_u16(),
                }));
            }
            count += 1;
        }
        erased.insert(
            format!("{datastore}.{key}"),
            Erased {
                rows: count,
                deleted: coll.deleted,
                fields: coll.fields.clone(),
            },
        );
    }
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pactum_domain::model::{Field, IdentityKind};

    fn contacts() -> Collection {
        let mut coll = Collection::default();
        for (name, identity) in [
            ("id", None),
            ("email", Some(IdentityKind::Email)),
            ("customer_id", Some(IdentityKind::CustomerId)),
        ] {
            coll.fields.insert(
                name.to_owned(),
                Field {
                    identity,
                    ..Field::default()
                },
            );
        }
        coll
    }

    fn check_path(template: &str, values: &[(&str, &str)], expected: Result<&str, &str>) {
        let coll = contacts();
        let value_of = |f: &str| {
            values
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, v)| (*v).to_owned())
        };
        let got = fill_path(template, &coll, &value_of);
        assert_eq!(
            got.as_deref().map_err(String::as_str),
            expected,
            "{template}"
        );
    }

    #[test]
    fn placeholders_are_filled_url_encoded() {
        check_path(
            "/contacts/search?email={email}",
            &[("email", "ada+desk@example.com")],
            Ok("/contacts/search?email=ada%2Bdesk%40example.com"),
        );
        // By field name or by identity kind; both stand for the same field here.
        check_path(
            "/contacts/{id}",
            &[("id", "c 1/2")],
            Ok("/contacts/c%201%2F2"),
        );
        check_path(
            "/customers/{customer_id}/contacts?x={email}",
            &[("customer_id", "7"), ("email", "a&b=c#d")],
            Ok("/customers/7/contacts?x=a%26b%3Dc%23d"),
        );
        check_path("/é/{id}", &[("id", "é~._-")], Ok("/é/%C3%A9~._-"));
        check_path("/contacts/{id}", &[], Err("no value for `{id}`"));
        check_path(
            "/contacts/{nope}",
            &[("id", "1")],
            Err("`{nope}` is not a field of the collection"),
        );
        check_path(
            "/contacts/{id",
            &[("id", "1")],
            Err("`/contacts/{id` has a `{` without its `}`"),
        );
    }

    #[test]
    fn body_placeholders_keep_json_types() {
        let coll = contacts();
        let value_of = |f: &str| match f {
            "email" => Some("ada@example.com".to_owned()),
            _ => None,
        };
        let body = serde_json::json!({
            "email": "{email}",
            "note": "erased: {email}",
            "customer": "{customer_id}",
            "keep": [1, true, null],
        });
        assert_eq!(
            fill_body(&body, &coll, &value_of),
            Ok(serde_json::json!({
                "email": "ada@example.com",
                "note": "erased: ada@example.com",
                "customer": null,
                "keep": [1, true, null],
            }))
        );
        assert!(fill_body(&serde_json::json!("x {customer_id}"), &coll, &value_of).is_err());
    }

    #[test]
    fn records_are_read_by_pointer_and_matched_on_the_field_looked_up() {
        let mut coll = contacts();
        coll.fields.insert(
            "city".to_owned(),
            Field {
                path: Some("/address/city".to_owned()),
                ..Field::default()
            },
        );
        let answer = serde_json::json!({"data": [
            {"id": 1, "email": "ada@example.com", "address": {"city": "London"}},
            {"id": 2, "email": "ada.l@example.com"},
            {"id": 3},
        ]});
        let rows = records(&coll, "contacts", &answer, Some("/data")).expect("records");
        let kept: Vec<Row> = rows
            .into_iter()
            .filter_map(|r| matching(&coll, r, "email", "ada@example.com"))
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            kept,
            [
                vec![s("1"), s("ada@example.com"), None, s("London")],
                vec![s("3"), s("ada@example.com"), None, None],
            ]
        );
        assert!(records(&coll, "contacts", &answer, Some("/items")).is_err());
        assert_eq!(
            records(&coll, "contacts", &serde_json::json!({"id": 9}), None)
                .expect("one object is one record")
                .len(),
            1
        );
    }

    #[test]
    fn only_https_or_loopback() {
        assert!(secure("https://desk.example.com/api"));
        assert!(secure("http://127.0.0.1:8080/hook"));
        assert!(secure("http://localhost/hook"));
        assert!(secure("http://[::1]:9/x"));
        assert!(!secure("http://desk.example.com/api"));
        assert!(!secure("http://127.0.0.1.evil.example/"));
        assert!(!secure("http://localhost@evil.example/"));
        assert!(!secure("ftp://x"));
    }
}
