//! The audit log: an append-only, hash-chained record of every state change and privileged read.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} || encode(entry_n))`, with `hash_0` all zeroes and
//! `encode` the canonical encoding in [`entry_hash`]. Editing, deleting or reordering rows breaks the
//! chain at the first affected entry, which [`Store::audit_verify`] reports. The head table records
//! the last seq and hash, so deleting entries from the end is detected too.
//!
//! Entries name who (an [`Actor`]), what (an action such as `user.create`), which object (a target
//! kind and internal id) and non-personal details. They never hold personal data or secrets.
//!
//! Limitation: the chain is keyless, so someone with write access who rewrites every hash from
//! the edited entry to the end (and the head) is not detected. Record the head hash that
//! `pactum audit verify` prints somewhere else (a ticket, an email to the DPO) to anchor it.

use std::fmt;
use std::io::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Backend, Store, Tx, with_pool, with_tx};

/// The hash before the first entry: 32 zero bytes, hex-encoded.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rows read per query while verifying or exporting.
const PAGE: i64 = 1000;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Pactum itself (jobs, schedules, start-up).
    System,
    /// An operator on the server's command line (`pactum admin ...`).
    Cli,
    /// A signed-in admin user, by internal id.
    User(i64),
    /// An API token, by internal id.
    Token(i64),
    /// The data subject: the person a data-subject request is about, acting through the public
    /// privacy centre (submitting, verifying, downloading). Unauthenticated beyond the request's
    /// capability, so never named: entries by the subject target the request by internal id.
    Subject,
}

impl fmt::Display for Actor {
    /// The stored form: `system`, `cli`, `user:ID`, `token:ID` or `subject`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Subject => f.write_str("subject"),
        }
    }
}

/// The object an entry is about: a kind (`user`, `token`, `request`, ...) and its internal id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Lowercase ASCII letters, digits and `_`.
    pub kind: String,
    /// The internal id (never an email address or another personal identifier).
    pub id: String,
}

impl Target {
    /// A target of `kind` with internal id `id`.
    pub fn new(kind: &str, id: impl fmt::Display) -> Target {
        Target {
            kind: kind.to_owned(),
            id: id.to_string(),
        }
    }
}

/// An entry to append. The store assigns its seq, timestamp and hashes.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Who acted.
    pub actor: Actor,
    /// What was done: lowercase dotted words, e.g. `token.revoke`.
    pub action: String,
    /// What it was done to, if anything.
    pub target: Option<Target>,
    /// Non-personal details (roles, counts, ids). Stored in canonical JSON form.
    pub details: serde_json::Value,
}

impl NewEntry {
    /// An entry with empty details.
    pub fn new(actor: Actor, action: &str, target: Option<Target>) -> NewEntry {
        NewEntry {
            actor,
            action: action.to_owned(),
            target,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// This entry with `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> NewEntry {
        self.details = details;
        self
    }

    fn validate(&self) -> Result<(), StoreError> {
        let word = |s: &str, extra: char| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == extra)
        };
        if !word(&self.action, '.') {
            return Err(StoreError::InvalidAuditEntry(
                "the action must be 1 to 64 of a-z, 0-9, `_` and `.`",
            ));
        }
        if let Some(target) = &self.target {
            if !word(&target.kind, '_') {
                return Err(StoreError::InvalidAuditEntry(
                    "the target kind must be 1 to 64 of a-z, 0-9 and `_`",
                ));
            }
            if target.id.is_empty() || target.id.len() > 128 || target.id.contains(char::is_control)
            {
                return Err(StoreError::InvalidAuditEntry(
                    "the target id must be 1 to 128 printable characters",
                ));
            }
        }
        Ok(())
    }
}

/// An entry as stored: exactly the columns of one `audit_log` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in the chain, from 1 with no gaps.
    pub seq: i64,
    /// When it was appended.
    pub timestamp: Timestamp,
    /// The actor's stored form (see [`Actor`]'s `Display`).
    pub actor: String,
    /// The action.
    pub action: String,
    /// The target's kind, if any.
    pub target_kind: Option<String>,
    /// The target's id, if any.
    pub target_id: Option<String>,
    /// The details as stored: canonical JSON text.
    pub details: String,
    /// The previous entry's hash (hex), [`GENESIS_HASH`] for seq 1.
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
}

/// One line of `pactum audit export`: an [`Entry`] with the details as JSON and the time readable.
#[derive(Debug, Serialize)]
struct ExportLine<'a> {
    seq: i64,
    timestamp: Timestamp,
    timestamp_ms: i64,
    actor: &'a str,
    action: &'a str,
    target_kind: Option<&'a str>,
    target_id: Option<&'a str>,
    details: serde_json::Value,
    prev_hash: &'a str,
    hash: &'a str,
}

/// The hash of an entry: SHA-256 over the previous hash's 32 bytes followed by the canonical
/// encoding, as lowercase hex.
///
/// The canonical encoding is the tag `pactum-audit-v1` and then seven fields, each as an 8-byte
/// big-endian length followed by its UTF-8 bytes: seq (decimal), timestamp (decimal milliseconds),
/// actor, action, target kind, target id (both empty when absent) and details (canonical JSON:
/// object keys sorted, no whitespace). A `prev_hash` that is not 64 hex digits is hashed as given,
/// so it can never match.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    timestamp: Timestamp,
    actor: &str,
    action: &str,
    target: (Option<&str>, Option<&str>),
    details: &str,
) -> String {
    let mut h = Sha256::new();
    match hex::decode(prev_hash) {
        Ok(bytes) if bytes.len() == 32 => h.update(&bytes),
        _ => h.update(prev_hash.as_bytes()),
    }
    h.update(b"pactum-audit-v1");
    let seq = seq.to_string();
    let ts = timestamp.as_millis().to_string();
    for field in [
        seq.as_str(),
        ts.as_str(),
        actor,
        action,
        target.0.unwrap_or(""),
        target.1.unwrap_or(""),
        details,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Entry {
    /// The hash this entry should have given its contents and `prev_hash`.
    pub fn computed_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.timestamp,
            &self.actor,
            &self.action,
            (self.target_kind.as_deref(), self.target_id.as_deref()),
            &self.details,
        )
    }
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant whitespace, strings
/// and numbers as serde_json writes them. Independent of serde_json's `preserve_order` feature.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Why the chain is broken at an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Break {
    /// The entry's seq is not the one expected: entries were deleted or renumbered.
    SeqGap {
        /// The seq that should have come next.
        expected: i64,
    },
    /// The entry's `prev_hash` is not the previous entry's hash: entries were deleted, reordered
    /// or replaced before this one.
    PrevHashMismatch,
    /// The entry's contents do not hash to its stored hash: it was edited.
    HashMismatch,
    /// The head records a different last entry: entries were deleted from the end (or the head
    /// was edited).
    HeadMismatch {
        /// The seq the head records.
        head_seq: i64,
        /// The hash the head records.
        head_hash: String,
    },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::SeqGap { expected } => {
                write!(
                    f,
                    "expected entry {expected} here: entries were deleted or renumbered"
                )
            }
            Break::PrevHashMismatch => f.write_str(
                "its previous-hash does not match the entry before it: \
                 entries were deleted, reordered or replaced",
            ),
            Break::HashMismatch => {
                f.write_str("its contents do not match its hash: the entry was edited")
            }
            Break::HeadMismatch { head_seq, .. } => write!(
                f,
                "the chain head records entry {head_seq} as the last: \
                 entries were deleted from the end or the head was edited"
            ),
        }
    }
}

/// The first broken link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The seq of the row where the break shows (for a deletion: the row after the gap; for a
    /// truncated end: the seq after the last row).
    pub seq: i64,
    /// What is wrong there.
    pub reason: Break,
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.seq, self.reason)
    }
}

/// What [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The seq of the last intact entry (0 if none).
    pub last_seq: i64,
    /// The hash of the last intact entry ([`GENESIS_HASH`] if none): record it elsewhere to anchor
    /// the chain.
    pub last_hash: String,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl VerifyReport {
    /// Whether the whole chain, head included, is intact.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks entries one by one in seq order; the first failure is the first broken link.
/// Usable on rows from the database or on a re-read export.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    entries: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            entries: 0,
        }
    }
}

impl ChainVerifier {
    /// Checks the next entry against the chain so far.
    pub fn push(&mut self, entry: &Entry) -> Result<(), BrokenLink> {
        let broken = |reason| BrokenLink {
            seq: entry.seq,
            reason,
        };
        if entry.seq != self.expected_seq {
            return Err(broken(Break::SeqGap {
                expected: self.expected_seq,
            }));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(broken(Break::PrevHashMismatch));
        }
        if entry.computed_hash() != entry.hash {
            return Err(broken(Break::HashMismatch));
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&entry.hash);
        self.entries += 1;
        Ok(())
    }

    /// Checks that the chain ends where the head says, and produces the report.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> VerifyReport {
        let last_seq = self.expected_seq - 1;
        let broken = (head_seq != last_seq || head_hash != self.prev_hash).then(|| BrokenLink {
            seq: last_seq + 1,
            reason: Break::HeadMismatch {
                head_seq,
                head_hash: head_hash.to_owned(),
            },
        });
        self.report(broken)
    }

    fn report(self, broken: Option<BrokenLink>) -> VerifyReport {
        VerifyReport {
            entries: self.entries,
            last_seq: self.expected_seq - 1,
            last_hash: self.prev_hash,
            broken,
        }
    }
}

const SELECT_ENTRIES: &str = "SELECT seq, ts, actor, action, target_kind, target_id, details, \
     prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

fn entry_from_row<R: Row>(row: &R) -> Result<Entry, sqlx::Error>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(Entry {
        seq: row.try_get(0)?,
        timestamp: Timestamp::from_millis(row.try_get(1)?),
        actor: row.try_get(2)?,
        action: row.try_get(3)?,
        target_kind: row.try_get(4)?,
        target_id: row.try_get(5)?,
        details: row.try_get(6)?,
        prev_hash: row.try_get(7)?,
        hash: row.try_get(8)?,
    })
}

/// The page of entries after `after` inside `tx`.
async fn page_in(tx: &mut Tx, after: i64) -> Result<Vec<Entry>, StoreError> {
    with_tx!(tx, conn => {
        let rows = sqlx::query(SELECT_ENTRIES)
            .bind(after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
    })
}

/// Appends `entry` inside `tx`, after locking the chain's head so that concurrent appends queue.
pub(crate) async fn append_in(
    tx: &mut Tx,
    now: Timestamp,
    entry: &NewEntry,
) -> Result<Entry, StoreError> {
    entry.validate()?;
    let lock_head = match tx.backend() {
        // The transaction began with BEGIN IMMEDIATE: it already holds the database write lock.
        Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
    };
    let actor = entry.actor.to_string();
    let details = canonical_json(&entry.details);
    let (kind, id) = match &entry.target {
        Some(t) => (Some(t.kind.clone()), Some(t.id.clone())),
        None => (None, None),
    };
    with_tx!(tx, conn => {
        let head = sqlx::query(lock_head).fetch_one(&mut *conn).await?;
        let prev_seq: i64 = head.try_get(0)?;
        let prev_hash: String = head.try_get(1)?;
        let seq = prev_seq + 1;
        let hash = entry_hash(
            &prev_hash,
            seq,
            now,
            &actor,
            &entry.action,
            (kind.as_deref(), id.as_deref()),
            &details,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, ts, actor, action, target_kind, target_id, details, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(now.as_millis())
        .bind(&actor)
        .bind(&entry.action)
        .bind(&kind)
        .bind(&id)
        .bind(&details)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        Ok(Entry {
            seq,
            timestamp: now,
            actor,
            action: entry.action.clone(),
            target_kind: kind,
            target_id: id,
            details,
            prev_hash,
            hash,
        })
    })
}

impl Store {
    /// Appends one entry in its own transaction, e.g. to record a privileged read. State changes
    /// made through the store append their entries themselves, in the same transaction.
    #[tracing::instrument(skip_all, fields(action = %entry.action))]
    pub async fn audit_append(&self, entry: &NewEntry) -> Result<Entry, StoreError> {
        let mut tx = self.begin_write().await?;
        let appended = append_in(&mut tx, self.now(), entry).await?;
        tx.commit().await?;
        Ok(appended)
    }

    /// Up to `limit` entries with seq greater than `after_seq`, in seq order: for paging through
    /// the log.
    pub async fn audit_entries(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<Entry>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(SELECT_ENTRIES)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
        })
    }

    /// The head: the seq and hash of the last appended entry (`0` and [`GENESIS_HASH`] when empty).
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })
    }

    /// Walks the whole chain in seq order, in one consistent snapshot, and reports the first broken
    /// link, if any. Rows beyond the head (inserted behind the store's back) are checked too.
    #[tracing::instrument(skip_all)]
    pub async fn audit_verify(&self) -> Result<VerifyReport, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let (head_seq, head_hash): (i64, String) = with_tx!(&mut tx, conn => {
            let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
            (head.try_get(0)?, head.try_get(1)?)
        });
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        let report = loop {
            let page = page_in(&mut tx, after).await?;
            let Some(last) = page.last() else {
                break verifier.finish(head_seq, &head_hash);
            };
            after = last.seq;
            if let Some(broken) = page.iter().find_map(|e| verifier.push(e).err()) {
                break verifier.report(Some(broken));
            }
        };
        tx.commit().await?;
        Ok(report)
    }

    /// Writes every entry, from one snapshot, as one JSON object per line (seq, timestamp, timestamp_ms, actor, action,
    /// target_kind, target_id, details, prev_hash, hash) and returns how many were written.
    #[tracing::instrument(skip_all)]
    pub async fn audit_export(&self, out: &mut (dyn Write + Send)) -> Result<u64, StoreError> {
        // One snapshot: entries appended meanwhile are left out rather than half-included.
        let mut tx = self.begin_snapshot().await?;
        let mut written = 0;
        let mut after = 0;
        loop {
            let page = page_in(&mut tx, after).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entry in &page {
                // Stored details are canonical JSON written by `append_in`; a row edited into
                // something unparsable is exported as a string so the export still shows it.
                let details = serde_json::from_str(&entry.details)
                    .unwrap_or_else(|_| serde_json::Value::String(entry.details.clone()));
                let line = ExportLine {
                    seq: entry.seq,
                    timestamp: entry.timestamp,
                    timestamp_ms: entry.timestamp.as_millis(),
                    actor: &entry.actor,
                    action: &entry.action,
                    target_kind: entry.target_kind.as_deref(),
                    target_id: entry.target_id.as_deref(),
                    details,
                    prev_hash: &entry.prev_hash,
                    hash: &entry.hash,
                };
                serde_json::to_writer(&mut *out, &line)
                    .map_err(|e| StoreError::Export(e.into()))?;
                out.write_all(b"\n").map_err(StoreError::Export)?;
                written += 1;
            }
        }
        out.flush().map_err(StoreError::Export)?;
        tx.commit().await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"z": [true, null, "x\"y"], "c": 1.5}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":1.5,"z":[true,null,"x\"y"]},"b":1}"#
        );
    }

    fn entry(seq: i64, prev_hash: &str) -> Entry {
        let ts = Timestamp::from_millis(1_000 * seq);
        let details = r#"{"role":"owner"}"#.to_owned();
        let target = (Some("user"), Some("7"));
        Entry {
            seq,
            timestamp: ts,
            actor: "cli".into(),
            action: "user.create".into(),
            target_kind: Some("user".into()),
            target_id: Some("7".into()),
            hash: entry_hash(prev_hash, seq, ts, "cli", "user.create", target, &details),
            details,
            prev_hash: prev_hash.to_owned(),
        }
    }

    fn chain(n: i64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
            out.push(entry(seq, &prev));
        }
        out
    }

    fn verify(entries: &[Entry], head: Option<(i64, &str)>) -> VerifyReport {
        let mut v = ChainVerifier::default();
        for e in entries {
            if let Err(b) = v.push(e) {
                return v.report(Some(b));
            }
        }
        let last = entries.last();
        let (seq, hash) = head.unwrap_or((
            last.map_or(0, |e| e.seq),
            last.map_or(GENESIS_HASH, |e| e.hash.as_str()),
        ));
        v.finish(seq, hash)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let report = verify(&chain(4), None);
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.entries, 4);
        assert_eq!(verify(&[], None).last_hash, GENESIS_HASH);
    }

    #[test]
    fn each_field_is_covered_by_the_hash() {
        let edits: [fn(&mut Entry); 6] = [
            |e| e.timestamp = Timestamp::from_millis(1),
            |e| e.actor = "user:1".into(),
            |e| e.action = "user.delete".into(),
            |e| e.target_kind = None,
            |e| e.target_id = Some("8".into()),
            |e| e.details = r#"{"role":"analyst"}"#.into(),
        ];
        for edit in edits {
            let mut entries = chain(3);
            edit(&mut entries[1]);
            let broken = verify(&entries, None)
                .broken
                .expect("tampering is detected");
            assert_eq!((broken.seq, broken.reason), (2, Break::HashMismatch));
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let ts = Timestamp::from_millis(0);
        let a = entry_hash(GENESIS_HASH, 1, ts, "ab", "c", (None, None), "{}");
        let b = entry_hash(GENESIS_HASH, 1, ts, "a", "bc", (None, None), "{}");
        assert_ne!(a, b);
    }

    #[test]
    fn deletion_reorder_and_truncation_are_detected() {
        let mut deleted = chain(4);
        deleted.remove(1);
        let broken = verify(&deleted, None).broken.expect("deletion is detected");
        assert_eq!(
            (broken.seq, broken.reason),
            (3, Break::SeqGap { expected: 2 })
        );

        let mut swapped = chain(4);
        swapped.swap(1, 2);
        let broken = verify(&swapped, None)
            .broken
            .expect("reordering is detected");
        assert_eq!(broken.seq, 3);

        let full = chain(4);
        let head = full[3].hash.clone();
        let broken = verify(&full[..3], Some((4, &head)))
            .broken
            .expect("truncation is detected");
        assert_eq!(broken.seq, 4);
        assert!(matches!(
            broken.reason,
            Break::HeadMismatch { head_seq: 4, .. }
        ));
    }
}
