//! The demo organisation's datastores: `pactum serve --demo` backs every datastore of the demo map
//! that has a connector (PostgreSQL, MySQL/MariaDB, SQLite, Redis) with a SQLite file of obviously
//! fake people, so a newcomer can run requests and drift against a working system with one command.
//!
//! The tables are generated from the map, not written by hand: one table per collection, one column
//! per field, the map's primary keys, and rows whose values follow each field's data categories and
//! whose references point at the rows they name. An edited demo map still seeds.
//!
//! **Invariants:** a file that exists is never touched again (restarts keep every change made to it);
//! a file is written under a temporary name and renamed into place, so a crash never leaves a
//! half-seeded datastore; every value is fake (names from a fixed list, addresses at `example.com`
//! and `example.net`, IPs from the documentation ranges 192.0.2.0/24 and 2001:db8::/32, phone
//! numbers in the 555-01xx fiction range).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pactum_domain::catalog::Catalog;
use pactum_domain::model::{Collection, ConnectorKind, DataMap, Field, IdentityKind};
use pactum_domain::taxonomy::is_same_or_descendant;
use sqlx::Connection;

/// The demo person to try requests with: they have records in every datastore an email reaches.
pub const DEMO_SUBJECT_EMAIL: &str = "alex.morgan@example.com";

/// How many people the demo datastores hold (the demo person first).
const PEOPLE: usize = 25;

/// The seeded demo datastores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDatastores {
    /// Datastore key to its SQLite URL (`sqlite:///abs/path/KEY.db`, opened as the connectors open
    /// any SQLite URL: read-only for scans and access, read-write for erasure).
    pub urls: BTreeMap<String, String>,
    /// The demo person to try requests with.
    pub subject_email: String,
}

/// Creates `dir/KEY.db` for every datastore of `map` that has a connector, unless it exists already,
/// and returns their URLs. Runs its own short-lived async runtime: call it outside one.
pub fn seed_datastores(dir: &Path, map: &DataMap) -> anyhow::Result<DemoDatastores> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::path::absolute(dir)
        .with_context(|| format!("cannot resolve the directory {}", dir.display()))?;
    let tables = generate(map);
    let mut urls = BTreeMap::new();
    let mut missing: Vec<(&str, PathBuf)> = Vec::new();
    for (key, ds) in &map.datastores {
        if !has_connector(ds.kind) {
            continue;
        }
        anyhow::ensure!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "the datastore key `{key}` cannot name a demo file: use letters, digits, `_` and `-`"
        );
        let path = dir.join(format!("{key}.db"));
        urls.insert(key.clone(), format!("sqlite://{}", path.display()));
        if !path.exists() {
            missing.push((key, path));
        }
    }
    if !missing.is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        for (key, path) in missing {
            let ours: Vec<&Table<'_>> = tables.iter().filter(|t| t.datastore == key).collect();
            runtime
                .block_on(write_file(&path, &ours))
                .with_context(|| format!("cannot seed the demo datastore {}", path.display()))?;
        }
    }
    Ok(DemoDatastores {
        urls,
        subject_email: DEMO_SUBJECT_EMAIL.to_owned(),
    })
}

/// True for the kinds whose datastores Pactum reaches through a connector (and so the demo seeds).
fn has_connector(kind: ConnectorKind) -> bool {
    matches!(
        kind,
        ConnectorKind::Postgres
            | ConnectorKind::Mysql
            | ConnectorKind::Mariadb
            | ConnectorKind::Sqlite
            | ConnectorKind::Redis
    )
}

/// A cell of a seeded row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(i64),
    Text(String),
    Null,
}

/// One row and the person it belongs to.
#[derive(Debug, Clone)]
struct Row {
    person: usize,
    values: Vec<Value>,
}

/// One collection to create: its columns (in the map's field order, with SQL types) and rows.
#[derive(Debug)]
struct Table<'m> {
    datastore: &'m str,
    collection: &'m str,
    def: &'m Collection,
    integer: Vec<bool>,
    rows: Vec<Row>,
}

impl Table<'_> {
    fn column(&self, field: &str) -> Option<usize> {
        self.def.fields.get_index_of(field)
    }
}

/// A fake person. Every value is derived from the index, so the data is the same on every machine.
struct Person {
    first: &'static str,
    last: &'static str,
    email: String,
    phone: String,
    company: &'static str,
    title: &'static str,
    address: String,
    country: &'static str,
    region: &'static str,
    index: usize,
}

const FIRST: [&str; PEOPLE] = [
    "Alex", "Priya", "Jonas", "Maria", "Samuel", "Chloe", "Tomas", "Aisha", "Daniel", "Ingrid",
    "Kenji", "Laura", "Mateo", "Nadia", "Oliver", "Rosa", "Victor", "Hannah", "Ibrahim", "Grace",
    "Lukas", "Emma", "Felix", "Sofia", "Noah",
];
const LAST: [&str; PEOPLE] = [
    "Morgan", "Shah", "Berg", "Lopez", "Carter", "Dubois", "Novak", "Okafor", "Kim", "Larsen",
    "Tanaka", "Fischer", "Silva", "Haddad", "Bennett", "Moreno", "Petrov", "Wright", "Hassan",
    "Walsh", "Weber", "Rossi", "Baker", "Costa", "Fraser",
];
const COMPANIES: [&str; 6] = [
    "Example Dental Group",
    "Example Logistics LLC",
    "Demo Architects Ltd",
    "Sample & Co Accountants",
    "Example Veterinary Clinic",
    "Demo Manufacturing GmbH",
];
const TITLES: [&str; 6] = [
    "Office Manager",
    "Operations Director",
    "Practice Manager",
    "Finance Lead",
    "IT Coordinator",
    "Managing Partner",
];
/// Street names, towns and postcodes of the fictional addresses, with the country and region.
const PLACES: [(&str, &str, &str, &str, &str); 5] = [
    (
        "Maple Street",
        "Durham, NC 27701",
        "US",
        "North Carolina",
        "United States",
    ),
    (
        "Station Road",
        "Leeds LS1 4AP",
        "GB",
        "England",
        "United Kingdom",
    ),
    (
        "Harbour Lane",
        "Dublin D02 XY00",
        "IE",
        "Leinster",
        "Ireland",
    ),
    (
        "Oak Avenue",
        "Raleigh, NC 27601",
        "US",
        "North Carolina",
        "United States",
    ),
    (
        "Mill Road",
        "Toronto, ON M5V 2T6",
        "CA",
        "Ontario",
        "Canada",
    ),
];

fn person(index: usize) -> Person {
    let first = FIRST[index % PEOPLE];
    let last = LAST[index % PEOPLE];
    let domain = if index % 3 == 2 {
        "example.net"
    } else {
        "example.com"
    };
    let (street, town, country, region, _) = PLACES[index % PLACES.len()];
    Person {
        first,
        last,
        email: format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()),
        // Area codes of real US regions, numbers from the 555-0100..0199 range kept for fiction.
        phone: format!(
            "({}) 555-01{:02}",
            ["919", "212", "415", "617", "312"][index % 5],
            index % 100
        ),
        company: COMPANIES[index % COMPANIES.len()],
        title: TITLES[index % TITLES.len()],
        address: format!("{} {street}, {town}", 10 + index * 7),
        country,
        region,
        index,
    }
}

impl Person {
    fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// The person's address on the network: IPv4 from 192.0.2.0/24, and for some rows IPv6 from
    /// 2001:db8::/32.
    fn ip(&self, row: usize) -> String {
        if (self.index + row) % 4 == 3 {
            format!("2001:db8:{:x}::{:x}", 0x100 + self.index, row + 1)
        } else {
            format!("192.0.2.{}", 10 + self.index)
        }
    }
}

/// A stable pseudo-random number (splitmix64), for hashes and identifiers that must look random
/// but be the same on every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A timestamp in early 2026, spread by person and row.
fn timestamp(seed: usize, row: usize) -> String {
    let base = time::Date::from_calendar_date(2026, time::Month::January, 5)
        .expect("a valid calendar date");
    let hours = (seed * 53 + row * 29) % (60 * 24);
    let day = base + time::Duration::days(i64::try_from(hours / 24).unwrap_or(0));
    format!(
        "{day}T{:02}:{:02}:00Z",
        8 + hours % 10,
        (seed * 7 + row * 13) % 60
    )
}

/// The rows of every seeded collection, generated from the map.
fn generate(map: &DataMap) -> Vec<Table<'_>> {
    let catalog = Catalog::new(map);
    let people: Vec<Person> = (0..PEOPLE).map(person).collect();
    let mut tables: Vec<Table<'_>> = Vec::new();
    for (ds_key, ds) in &map.datastores {
        if !has_connector(ds.kind) {
            continue;
        }
        for (c_key, coll) in &ds.collections {
            if coll.fields.is_empty() {
                continue;
            }
            let integer = coll
                .fields
                .iter()
                .map(|(name, f)| is_integer(&catalog, ds_key, name, f, 0))
                .collect();
            tables.push(Table {
                datastore: ds_key,
                collection: c_key,
                def: coll,
                integer,
                rows: Vec::new(),
            });
        }
    }
    let seeded = |ds: &str, c: &str| {
        tables
            .iter()
            .position(|t| t.datastore == ds && t.collection == c)
    };
    // The parent of a collection: the first seeded collection (other than itself) it references. Its
    // rows come in ones and twos per parent row, for the parent row's person.
    let parents: Vec<Option<usize>> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.def.fields.values().find_map(|f| {
                f.references.iter().find_map(|r| {
                    let loc = catalog.resolve_field(t.datastore, r)?;
                    seeded(loc.datastore, loc.collection).filter(|&j| j != i)
                })
            })
        })
        .collect();
    // Parents first; a cycle of references is broken by seeding its first collection as a root.
    let mut done = vec![false; tables.len()];
    let mut order = Vec::with_capacity(tables.len());
    while order.len() < tables.len() {
        let ready = (0..tables.len())
            .find(|&i| !done[i] && parents[i].is_none_or(|p| done[p]))
            .or_else(|| (0..tables.len()).find(|&i| !done[i]))
            .expect("a table is left while the order is shorter than the tables");
        done[ready] = true;
        order.push(ready);
    }
    for (position, &i) in order.iter().enumerate() {
        // Rows of a root collection: one per person. Of a child: one or two per parent row.
        let owners: Vec<(usize, Option<usize>)> =
            match parents[i].filter(|&p| !tables[p].rows.is_empty()) {
                Some(p) => tables[p]
                    .rows
                    .iter()
                    .enumerate()
                    .flat_map(|(r, row)| {
                        std::iter::repeat_n((row.person, Some(r)), 1 + (r + position) % 2)
                    })
                    .collect(),
                None => (0..PEOPLE).map(|p| (p, None)).collect(),
            };
        let mut rows = Vec::with_capacity(owners.len());
        for (n, (owner, parent_row)) in owners.into_iter().enumerate() {
            let t = &tables[i];
            let values = t
                .def
                .fields
                .iter()
                .enumerate()
                .map(|(col, (name, field))| {
                    if let Some(v) =
                        referenced_value(&catalog, &tables, t, field, owner, parents[i], parent_row)
                    {
                        return v;
                    }
                    if field.primary_key && t.integer[col] {
                        return Value::Int(i64::try_from(n + 1).unwrap_or(i64::MAX));
                    }
                    if t.integer[col] {
                        // An integer key of something the demo does not seed (a support-desk contact).
                        return Value::Int(i64::try_from(7001 + owner).unwrap_or(i64::MAX));
                    }
                    value(&people[owner], name, field, n)
                })
                .collect();
            rows.push(Row {
                person: owner,
                values,
            });
        }
        tables[i].rows = rows;
    }
    tables
}

/// True for columns holding integer ids: primary keys named `id` without data categories, and fields
/// referencing one.
fn is_integer(
    catalog: &Catalog<'_>,
    datastore: &str,
    name: &str,
    field: &Field,
    depth: u8,
) -> bool {
    if let Some(r) = field.references.first() {
        return depth < 8
            && catalog.resolve_field(datastore, r).is_some_and(|loc| {
                is_integer(catalog, loc.datastore, loc.field, loc.def, depth + 1)
            });
    }
    field.primary_key && name == "id" && field.categories.is_empty()
}

/// The value of a referencing field: the referenced field's value in the parent row, or in the first
/// row of the referenced collection that belongs to the same person (NULL when there is none). `None`
/// when the field references nothing the demo seeds.
fn referenced_value(
    catalog: &Catalog<'_>,
    tables: &[Table<'_>],
    table: &Table<'_>,
    field: &Field,
    owner: usize,
    parent: Option<usize>,
    parent_row: Option<usize>,
) -> Option<Value> {
    let mut seeded_target = false;
    for r in &field.references {
        let Some(loc) = catalog.resolve_field(table.datastore, r) else {
            continue;
        };
        let Some(t) = tables
            .iter()
            .position(|t| t.datastore == loc.datastore && t.collection == loc.collection)
        else {
            continue;
        };
        seeded_target = true;
        let target = &tables[t];
        let Some(col) = target.column(loc.field) else {
            continue;
        };
        let row = match (parent, parent_row) {
            (Some(p), Some(r)) if p == t => target.rows.get(r),
            _ => target.rows.iter().find(|row| row.person == owner),
        };
        if let Some(row) = row {
            return Some(row.values[col].clone());
        }
    }
    seeded_target.then_some(Value::Null)
}

/// A value for a field that references nothing seeded, shaped like its categories (or identity, or
/// name). `n` is the row's position in its table, which keeps primary keys unique.
fn value(p: &Person, name: &str, field: &Field, n: usize) -> Value {
    let mut parts: Vec<String> = Vec::new();
    for c in &field.categories {
        if let Some(v) = by_category(p, name, c, n)
            && !parts.contains(&v)
        {
            parts.push(v);
        }
    }
    if !parts.is_empty() {
        return Value::Text(parts.join(", "));
    }
    if let Some(kind) = field.identity {
        return Value::Text(by_identity(p, kind, n));
    }
    by_name(p, name, n)
}

fn by_category(p: &Person, name: &str, category: &str, n: usize) -> Option<String> {
    let is = |ancestor: &str| is_same_or_descendant(category, ancestor);
    let pick = |list: &[&str]| list[(p.index + n) % list.len()].to_owned();
    Some(if is("user.contact.email") {
        p.email.clone()
    } else if is("user.contact.phone_number") {
        p.phone.clone()
    } else if is("user.contact.organization") {
        p.company.to_owned()
    } else if is("user.contact.address") {
        p.address.clone()
    } else if is("user.name") {
        p.name()
    } else if is("user.job_title") {
        p.title.to_owned()
    } else if is("user.device.ip_address") {
        p.ip(n)
    } else if is("user.location.imprecise.country_code") {
        p.country.to_owned()
    } else if is("user.location") {
        p.region.to_owned()
    } else if is("user.device.cookie_id") {
        cookie(p.index, n)
    } else if is("user.device.device_id") {
        format!("HDL-DEV-{:04}", n + 1)
    } else if is("user.device.security_telemetry") {
        if name.contains("hit") || name.contains("count") {
            (3 + mix((p.index * 31 + n) as u64) % 40).to_string()
        } else {
            pick(&[
                "POST /wp-login.php with the hidden form field filled",
                "GET /admin/.env",
                "POST /contact with the trap field filled",
                "GET /phpmyadmin/",
            ])
        }
    } else if is("user.device") {
        pick(&[
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
        ])
    } else if is("user.authorization") {
        // A SHA-256-shaped hex string: the demo never stores a usable token.
        (0..4)
            .map(|k| format!("{:016x}", mix((p.index * 1000 + n * 10 + k) as u64)))
            .collect()
    } else if is("user.privacy_preferences") {
        pick(&[
            "necessary=yes; analytics=no; marketing=no",
            "necessary=yes; analytics=yes; marketing=no",
        ])
    } else if is("user.behavior") {
        pick(&[
            "/, /services/backup, /contact",
            "/pricing, /services/cloud",
            "/portal, /portal/tickets",
        ])
    } else if is("user.content.ai_assistant_input") {
        pick(&[
            "How do I reset my VPN password?",
            "Can you check why backups failed last night?",
            "What are your support hours?",
        ])
    } else if is("user.content.remote_session_log") {
        pick(&[
            "Remote session: cleared the print queue",
            "Remote session: reinstalled the VPN client",
        ])
    } else if is("user.content.managed_client_data") {
        pick(&[
            "Patch run: 3 updates installed",
            "Disk usage above 90 percent on drive C",
            "Antivirus definitions updated",
        ])
    } else if is("user.content") {
        pick(&[
            "The laptop will not connect to the office wifi",
            "Please set up a mailbox for a new starter",
            "The shared drive is slow since Monday",
            "Quote request for managed backup",
        ])
    } else {
        return None;
    })
}

fn by_identity(p: &Person, kind: IdentityKind, n: usize) -> String {
    match kind {
        IdentityKind::Email => p.email.clone(),
        IdentityKind::Phone => p.phone.clone(),
        IdentityKind::CookieId => cookie(p.index, n),
        IdentityKind::IpAddress => p.ip(n),
        IdentityKind::DeviceId => format!("HDL-DEV-{:04}", n + 1),
        IdentityKind::Username => format!("{}{}", p.first.to_lowercase(), p.index + 1),
        IdentityKind::UserId | IdentityKind::CustomerId | IdentityKind::ExternalId => {
            format!("demo_{:06}", 100 * (p.index + 1) + n)
        }
    }
}

/// A value for a field with no category or identity, from its name (timestamps, outcomes).
fn by_name(p: &Person, name: &str, n: usize) -> Value {
    let ends = |s: &str| name == s.trim_start_matches('_') || name.ends_with(s);
    if name.starts_with("closed") || name.starts_with("used") || name.starts_with("deleted") {
        // Most accounts are open and most links unused.
        if (p.index + n) % 4 == 3 {
            Value::Text(timestamp(p.index + 5, n))
        } else {
            Value::Null
        }
    } else if ends("_at") || ends("_on") {
        let stamp = timestamp(p.index, n);
        Value::Text(if ends("_on") {
            stamp[..10].to_owned()
        } else {
            stamp
        })
    } else if name == "outcome" || name == "status" {
        Value::Text(
            if (p.index + n) % 5 == 4 {
                "failed"
            } else {
                "success"
            }
            .to_owned(),
        )
    } else {
        Value::Text(format!("{name}-{}", (p.index % 4) + 1))
    }
}

fn cookie(person: usize, row: usize) -> String {
    let x = mix((person * 100 + row) as u64);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (x >> 20) & 0xfff,
        mix(x) & 0xffff_ffff_ffff
    )
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Writes the tables to `path` through a temporary file renamed into place when complete.
async fn write_file(path: &Path, tables: &[&Table<'_>]) -> anyhow::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".seeding");
    let temp = PathBuf::from(temp);
    // A crash during an earlier seeding leaves only the temporary file: start it again.
    if temp.exists() {
        std::fs::remove_file(&temp).with_context(|| format!("cannot remove {}", temp.display()))?;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&temp)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .context("cannot create the file")?;
    let mut tx = conn.begin().await.context("cannot start a transaction")?;
    for t in tables {
        let mut columns: Vec<String> = t
            .def
            .fields
            .keys()
            .zip(&t.integer)
            .map(|(name, int)| format!("{} {}", quote(name), if *int { "INTEGER" } else { "TEXT" }))
            .collect();
        let keys: Vec<String> = t
            .def
            .fields
            .iter()
            .filter(|(_, f)| f.primary_key)
            .map(|(name, _)| quote(name))
            .collect();
        if !keys.is_empty() {
            columns.push(format!("PRIMARY KEY ({})", keys.join(", ")));
        }
        let create = format!(
            "CREATE TABLE {} ({})",
            quote(t.collection),
            columns.join(", ")
        );
        // Audited: identifiers come from the map and are quoted; values are bound below.
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("cannot create the table {}", t.collection))?;
        let insert = format!(
            "INSERT INTO {} VALUES ({})",
            quote(t.collection),
            vec!["?"; t.def.fields.len()].join(", ")
        );
        for row in &t.rows {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for v in &row.values {
                q = match v {
                    Value::Int(i) => q.bind(*i),
                    Value::Text(s) => q.bind(s.clone()),
                    Value::Null => q.bind(None::<String>),
                };
            }
            q.execute(&mut *tx)
                .await
                .with_context(|| format!("cannot fill the table {}", t.collection))?;
        }
    }
    tx.commit().await.context("cannot commit")?;
    conn.close().await.context("cannot close the file")?;
    std::fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {}", temp.display()))?;
    std::fs::rename(&temp, path)
        .with_context(|| format!("cannot move the seeded file to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::net::IpAddr;

    use super::*;

    fn demo_map() -> DataMap {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/helpdeskly");
        let loaded = pactum_mapfile::load_and_check(&dir).expect("the example map loads");
        assert!(!loaded.has_errors(), "the example map has errors");
        loaded.map
    }

    /// The rows generated for one collection, as maps of field to value.
    fn rows_of(
        tables: &[Table<'_>],
        datastore: &str,
        collection: &str,
    ) -> Vec<HashMap<String, Value>> {
        let t = tables
            .iter()
            .find(|t| t.datastore == datastore && t.collection == collection)
            .unwrap_or_else(|| panic!("no table {datastore}.{collection}"));
        t.rows
            .iter()
            .map(|r| {
                t.def
                    .fields
                    .keys()
                    .cloned()
                    .zip(r.values.iter().cloned())
                    .collect()
            })
            .collect()
    }

    fn text(v: &Value) -> String {
        match v {
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
            Value::Null => String::new(),
        }
    }

    #[test]
    fn every_seeded_collection_has_rows_of_the_demo_person_and_unique_keys() {
        let map = demo_map();
        let tables = generate(&map);
        let seeded: BTreeSet<(&str, &str)> =
            tables.iter().map(|t| (t.datastore, t.collection)).collect();
        // Every collection of the four connector datastores, and nothing of the http/manual ones.
        assert_eq!(seeded.len(), 12, "{seeded:?}");
        assert!(
            seeded
                .iter()
                .all(|(ds, _)| ["web_db", "edge_cache", "honeypot", "psa_db"].contains(ds))
        );
        for t in &tables {
            assert!(
                t.rows.iter().any(|r| r.person == 0),
                "{}.{} has no row of the demo person",
                t.datastore,
                t.collection
            );
            let keys: Vec<usize> = t
                .def
                .fields
                .values()
                .enumerate()
                .filter(|(_, f)| f.primary_key)
                .map(|(i, _)| i)
                .collect();
            if keys.is_empty() {
                continue;
            }
            let distinct: BTreeSet<Vec<String>> = t
                .rows
                .iter()
                .map(|r| keys.iter().map(|&i| text(&r.values[i])).collect())
                .collect();
            assert_eq!(
                distinct.len(),
                t.rows.len(),
                "duplicate keys in {}.{}",
                t.datastore,
                t.collection
            );
        }
    }

    #[test]
    fn references_point_at_rows_of_the_same_person() {
        let map = demo_map();
        let catalog = Catalog::new(&map);
        let tables = generate(&map);
        let mut checked = 0;
        for t in &tables {
            for (col, field) in t.def.fields.values().enumerate() {
                for r in &field.references {
                    let loc = catalog
                        .resolve_field(t.datastore, r)
                        .expect("the reference resolves");
                    let Some(target) = tables
                        .iter()
                        .find(|x| x.datastore == loc.datastore && x.collection == loc.collection)
                    else {
                        continue;
                    };
                    let tcol = target.column(loc.field).expect("the referenced field");
                    for row in &t.rows {
                        let found = target
                            .rows
                            .iter()
                            .find(|x| x.values[tcol] == row.values[col]);
                        let found = found.unwrap_or_else(|| {
                            panic!(
                                "{}.{}: {:?} matches no row of {r}",
                                t.datastore, t.collection, row.values[col]
                            )
                        });
                        assert_eq!(found.person, row.person);
                        checked += 1;
                    }
                }
            }
        }
        // magic_links, auth_events, invoices, ai_conversations, sessions, device_events.
        assert!(checked > 6 * PEOPLE, "{checked}");
        // Integer ids stay integers across datastores.
        let sessions = rows_of(&tables, "edge_cache", "sessions");
        assert!(
            sessions
                .iter()
                .all(|r| matches!(r["user_id"], Value::Int(_)))
        );
    }

    #[test]
    fn values_are_shaped_like_their_categories_and_obviously_fake() {
        let map = demo_map();
        let tables = generate(&map);
        let users = rows_of(&tables, "web_db", "portal_users");
        assert_eq!(users.len(), PEOPLE);
        assert_eq!(
            users[0]["email"],
            Value::Text(DEMO_SUBJECT_EMAIL.to_owned())
        );
        assert_eq!(users[0]["name"], Value::Text("Alex Morgan".to_owned()));
        for u in &users {
            let email = text(&u["email"]);
            assert!(
                email.ends_with("@example.com") || email.ends_with("@example.net"),
                "{email}"
            );
        }
        let requests = rows_of(&tables, "web_db", "service_requests");
        for r in &requests {
            let phone = text(&r["phone"]);
            assert!(phone.contains(" 555-01"), "{phone}");
        }
        for (ds, c, f) in [
            ("web_db", "auth_events", "ip_address"),
            ("honeypot", "hits", "ip"),
            ("edge_cache", "rate_limits", "ip"),
            ("psa_db", "assets", "last_ip"),
        ] {
            for r in rows_of(&tables, ds, c) {
                let ip: IpAddr = text(&r[f])
                    .parse()
                    .unwrap_or_else(|e| panic!("{ds}.{c}.{f}: {e}"));
                let documentation = match ip {
                    IpAddr::V4(v4) => v4.octets()[..3] == [192, 0, 2],
                    IpAddr::V6(v6) => v6.segments()[..2] == [0x2001, 0x0db8],
                };
                assert!(documentation, "{ip} is outside the documentation ranges");
            }
        }
        let links = rows_of(&tables, "web_db", "magic_links");
        assert!(links.iter().all(|r| text(&r["token_hash"]).len() == 64));
    }

    #[test]
    fn seeding_writes_each_file_once_and_keeps_it() {
        let map = demo_map();
        let dir = tempfile::tempdir().expect("tempdir");
        // A crash during an earlier seeding left a temporary file behind: it is replaced.
        std::fs::write(dir.path().join("web_db.db.seeding"), b"half").expect("write");
        let first = seed_datastores(dir.path(), &map).expect("seeds");
        assert_eq!(
            first.urls.keys().map(String::as_str).collect::<Vec<_>>(),
            ["edge_cache", "honeypot", "psa_db", "web_db"]
        );
        assert!(!dir.path().join("web_db.db.seeding").exists());
        let db = dir.path().join("honeypot.db");
        std::fs::write(&db, b"changed by the user").expect("write");
        let again = seed_datastores(dir.path(), &map).expect("seeds again");
        assert_eq!(again, first);
        assert_eq!(std::fs::read(&db).expect("read"), b"changed by the user");
    }
}
