//! Secrets at rest (connector credentials, the erasure hash key, ...), sealed by envelope
//! encryption with XChaCha20-Poly1305.
//!
//! - A key-encryption key ([`Kek`], 32 random bytes) comes from a file or an environment variable
//!   and is never stored in the database. Its [`KeyId`] (the first 4 bytes of its SHA-256, as hex)
//!   is stored beside every wrapped key, so the wrong key gives a clear error, never garbage.
//! - Each secret has its own random 32-byte data key. The value is sealed with the data key, and
//!   the data key is sealed ("wrapped") with the KEK. Both use a fresh random 192-bit nonce, stored
//!   in front of the ciphertext.
//! - The secret's name is bound to both ciphertexts as associated data, so ciphertexts copied from
//!   one name to another fail to open ([`SecretError::Tampered`]).
//! - [`Store::rotate_key`] re-wraps every data key under a new KEK in one transaction: the values'
//!   ciphertexts are not touched, and the values are never decrypted.
//!
//! ```no_run
//! # async fn demo(store: pactum_store::Store) -> Result<(), Box<dyn std::error::Error>> {
//! use pactum_store::audit::Actor;
//! use pactum_store::secrets::{Kek, SecretValue};
//!
//! let kek = Kek::from_file(std::path::Path::new("/etc/pactum/pactum.key"))?;
//! store
//!     .put_secret(&Actor::Cli, &kek, "erasure.hash_key", &SecretValue::from("s3cret"))
//!     .await?;
//! let value = store.get_secret(&Actor::Cli, &kek, "erasure.hash_key").await?;
//! assert_eq!(value.expose(), b"s3cret");
//! # Ok(())
//! # }
//! ```
//!
//! Invariants:
//! - The database holds no secret value and no data key in clear, and never the KEK.
//! - Every secret is sealed under the same KEK: a put with another key is refused, and rotation
//!   moves all of them at once.
//! - Audit entries name the secret (and key ids), never its value.
//! - Every read of a value is audited (`secret.read`, by its actor) in the same transaction as
//!   the read: a value whose entry cannot be committed is not returned.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use zeroize::Zeroizing;

use crate::audit::{Actor, NewEntry, Target, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::{Backend, Store, Tx, with_pool, with_tx};

/// The secret holding the key for `keyed_hash` erasure (`pactum request run --type erasure`).
pub const ERASURE_HASH_KEY: &str = "erasure.hash_key";

/// Bytes in a key-encryption key and in a data key.
pub const KEY_BYTES: usize = 32;

/// Bytes in an XChaCha20-Poly1305 nonce.
const NONCE_BYTES: usize = 24;

/// Largest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The sealing format stored in each row; a future format gets a new number.
const FORMAT: i64 = 1;

/// An arbitrary constant naming the secrets lock among PostgreSQL advisory locks (SQLite writers
/// are serialised by `BEGIN IMMEDIATE`).
const PG_SECRETS_LOCK: i64 = 0x7061_6374_756d_0004;

/// Why a key could not be loaded, parsed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read the key file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The key text is not base64.
    #[error("the key in {origin} is not base64")]
    NotBase64 {
        /// Where the key came from (a file name or an environment variable).
        origin: String,
    },
    /// The key decodes to the wrong number of bytes.
    #[error("the key in {origin} is {len} bytes long, expected {KEY_BYTES}")]
    Length {
        /// Where the key came from.
        origin: String,
        /// The decoded length.
        len: usize,
    },
    /// The key file exists already.
    #[error("the key file {} already exists: refusing to overwrite it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The key file could not be written.
    #[error("cannot write the key file {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// Why a secret could not be stored, read, deleted or re-wrapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The secrets were sealed with another key-encryption key.
    #[error("secrets were sealed with key {sealed}, the key given is {given}")]
    WrongKey {
        /// The id of the key the secrets are sealed with.
        sealed: KeyId,
        /// The id of the key that was given.
        given: KeyId,
    },
    /// The stored ciphertext does not open with the right key: it was altered, or copied from
    /// another secret.
    #[error(
        "secret {name:?} cannot be decrypted with key {key}: its stored ciphertext was altered or \
         belongs to another secret"
    )]
    Tampered {
        /// The secret's name.
        name: String,
        /// The id of the key used.
        key: KeyId,
    },
    /// No secret has this name.
    #[error("no secret named {0:?}")]
    NotFound(String),
    /// The name is not a valid secret name.
    #[error(
        "invalid secret name {0:?}: use 1 to 128 of a-z, A-Z, 0-9, `.`, `_` and `-`, starting with \
         a letter or digit"
    )]
    InvalidName(String),
    /// The value is empty or too large.
    #[error("a secret value must be 1 to {max} bytes long")]
    InvalidValue {
        /// Largest value, in bytes.
        max: usize,
    },
    /// Rotation was asked from a key to itself.
    #[error("the new key is the same as the old one ({0})")]
    SameKey(KeyId),
    /// A row was written by a newer Pactum, in a sealing format this binary does not know.
    #[error("secret {name:?} uses sealing format {format}, unknown to this pactum")]
    UnknownFormat {
        /// The secret's name.
        name: String,
        /// The stored format number.
        format: i64,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// The public id of a key-encryption key: the first 4 bytes of its SHA-256, as 8 hex digits.
/// It names the key in errors, listings and audit entries; it reveals nothing useful about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The 8 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key-encryption key: 32 bytes, zeroed when dropped, never shown by `Debug`.
pub struct Kek {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
    id: KeyId,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kek {
    fn from_bytes(bytes: Zeroizing<[u8; KEY_BYTES]>) -> Kek {
        let digest = Sha256::digest(&bytes[..]);
        let id = KeyId(hex::encode(&digest[..4]));
        Kek { bytes, id }
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<Kek, KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(&mut bytes[..]).map_err(KeyError::Random)?;
        Ok(Kek::from_bytes(bytes))
    }

    /// Parses a key written as base64 (standard or URL-safe alphabet, surrounding whitespace
    /// ignored). `origin` names where the text came from, for errors (it never holds the key).
    pub fn from_base64(text: &str, origin: &str) -> Result<Kek, KeyError> {
        let text = text.trim();
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE.decode(text))
                .map_err(|_| KeyError::NotBase64 {
                    origin: origin.to_owned(),
                })?,
        );
        if decoded.len() != KEY_BYTES {
            return Err(KeyError::Length {
                origin: origin.to_owned(),
                len: decoded.len(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        bytes.copy_from_slice(&decoded);
        Ok(Kek::from_bytes(bytes))
    }

    /// Reads a key file: the key in base64 on one line.
    pub fn from_file(path: &Path) -> Result<Kek, KeyError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            );
        Kek::from_base64(&text, &path.display().to_string())
    }

    /// The key from the usual places, in this order: the file `key_file` (from `--key-file` or
    /// `PACTUM_KEY_FILE`), then the base64 text `key_env` (the value of `PACTUM_KEY`). `None` when
    /// neither is given.
    pub fn load(key_file: Option<&Path>, key_env: Option<&str>) -> Result<Option<Kek>, KeyError> {
        match (key_file, key_env) {
            (Some(path), _) => Kek::from_file(path).map(Some),
            (None, Some(text)) => Kek::from_base64(text, "PACTUM_KEY").map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The key's public id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key as standard base64, for writing it somewhere safe (zeroed when dropped).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(&self.bytes[..]))
    }

    /// Writes the key to a new file `path` (base64 and a newline), readable and writable by its
    /// owner only (mode 0600 on Unix, set as the file is created). Refuses to overwrite a file.
    pub fn write_new_file(&self, path: &Path) -> Result<(), KeyError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.to_owned(),
                }
            } else {
                KeyError::Write {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let mut line = self.to_base64();
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyError::Write {
                path: path.to_owned(),
                source,
            })
    }
}

/// A secret's value: bytes, zeroed when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// The value's bytes, for the code that uses it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(bytes: Vec<u8>) -> SecretValue {
        SecretValue(Zeroizing::new(bytes))
    }
}

impl From<&str> for SecretValue {
    fn from(text: &str) -> SecretValue {
        SecretValue(Zeroizing::new(text.as_bytes().to_vec()))
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A secret as listed: everything but its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretInfo {
    /// The secret's name, e.g. `erasure.hash_key`.
    pub name: String,
    /// The id of the key-encryption key its data key is wrapped with.
    pub key_id: KeyId,
    /// When it was first stored.
    pub created_at: Timestamp,
    /// When its value was last set.
    pub updated_at: Timestamp,
    /// Who last set it (an [`Actor`]'s stored form).
    pub updated_by: String,
}

/// Checks a secret name: 1 to 128 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
fn validate_name(name: &str) -> Result<(), SecretError> {
    let ok = name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName(name.to_owned()))
    }
}

/// What a ciphertext seals, bound into its associated data together with the secret's name.
#[derive(Clone, Copy)]
enum Part {
    /// The data key, sealed with the KEK.
    DataKey,
    /// The value, sealed with the data key.
    Value,
}

/// The associated data: a version tag, the part and the name. The name comes last, so the
/// encoding is unambiguous.
fn associated_data(part: Part, name: &str) -> Vec<u8> {
    let part = match part {
        Part::DataKey => "key",
        Part::Value => "value",
    };
    format!("pactum-secret-v1\0{part}\0{name}").into_bytes()
}

/// Seals `plaintext` with `key`: a random nonce followed by the ciphertext and tag.
fn seal(key: &[u8; KEY_BYTES], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(SecretError::Random)?;
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
    let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal`] made; `None` if the key, the associated data or the bytes do not match.
fn open(key: &[u8; KEY_BYTES], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn random_data_key() -> Result<Zeroizing<[u8; KEY_BYTES]>, SecretError> {
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    getrandom::fill(&mut key[..]).map_err(SecretError::Random)?;
    Ok(key)
}

/// Unwraps the data key of secret `name` with `kek`.
fn unwrap_data_key(
    kek: &Kek,
    name: &str,
    wrapped: &[u8],
) -> Result<Zeroizing<[u8; KEY_BYTES]>, SecretError> {
    let tampered = || SecretError::Tampered {
        name: name.to_owned(),
        key: kek.id.clone(),
    };
    let opened =
        open(&kek.bytes, &associated_data(Part::DataKey, name), wrapped).ok_or_else(tampered)?;
    if opened.len() != KEY_BYTES {
        return Err(tampered());
    }
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    key.copy_from_slice(&opened);
    Ok(key)
}

fn check_format(name: &str, format: i64) -> Result<(), SecretError> {
    if format == FORMAT {
        Ok(())
    } else {
        Err(SecretError::UnknownFormat {
            name: name.to_owned(),
            format,
        })
    }
}

/// Serialises secret writers on PostgreSQL for the rest of `tx` (SQLite's write transaction
/// already holds the database lock).
async fn lock_secrets(tx: &mut Tx) -> Result<(), StoreError> {
    if tx.backend() == Backend::Postgres {
        with_tx!(tx, conn => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_SECRETS_LOCK)
                .execute(&mut *conn)
                .await?;
        });
    }
    Ok(())
}

/// Fails with [`SecretError::WrongKey`] if any secret is sealed with a key other than `kek`.
async fn check_single_key(tx: &mut Tx, kek: &Kek) -> Result<(), SecretError> {
    let other: Option<String> = with_tx!(tx, conn => {
        match sqlx::query("SELECT key_id FROM secrets WHERE key_id <> $1 LIMIT 1")
            .bind(kek.id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from)?
        {
            Some(row) => Some(row.try_get::<String, _>(0).map_err(StoreError::from)?),
            None => None,
        }
    });
    match other {
        Some(sealed) => Err(SecretError::WrongKey {
            sealed: KeyId(sealed),
            given: kek.id.clone(),
        }),
        None => Ok(()),
    }
}

fn info_from_row<R: Row>(row: &R) -> Result<SecretInfo, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(SecretInfo {
        name: row.try_get(0)?,
        key_id: KeyId(row.try_get(1)?),
        created_at: Timestamp::from_millis(row.try_get(2)?),
        updated_at: Timestamp::from_millis(row.try_get(3)?),
        updated_by: row.try_get(4)?,
    })
}

impl Store {
    /// Stores `value` under `name` (creating or replacing it), sealed with a new data key wrapped
    /// by `kek`, and appends `secret.create` or `secret.update` naming the secret (never its
    /// value). Refused with [`SecretError::WrongKey`] if the stored secrets use another key.
    #[tracing::instrument(skip_all)]
    pub async fn put_secret(
        &self,
        actor: &Actor,
        kek: &Kek,
        name: &str,
        value: &SecretValue,
    ) -> Result<SecretInfo, SecretError> {
        validate_name(name)?;
        if value.expose().is_empty() || value.expose().len() > MAX_VALUE_BYTES {
            return Err(SecretError::InvalidValue {
                max: MAX_VALUE_BYTES,
            });
        }
        // Seal before taking the write lock: the crypto needs no database.
        let data_key = random_data_key()?;
        let ciphertext = seal(
            &data_key,
            &associated_data(Part::Value, name),
            value.expose(),
        )?;
        let wrapped = seal(
            &kek.bytes,
            &associated_data(Part::DataKey, name),
            &data_key[..],
        )?;
        drop(data_key);

        let now = self.now();
        let updated_by = actor.to_string();
        let mut tx = self.begin_write().await?;
        lock_secrets(&mut tx).await?;
        check_single_key(&mut tx, kek).await?;
        let created_at: Option<i64> = with_tx!(&mut tx, conn => {
            match sqlx::query("SELECT created_at FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::from)?
            {
                Some(row) => Some(row.try_get::<i64, _>(0).map_err(StoreError::from)?),
                None => None,
            }
        });
        let sql = if created_at.is_some() {
            "UPDATE secrets SET format = $2, key_id = $3, wrapped_key = $4, ciphertext = $5, \
             updated_at = $6, updated_by = $7 WHERE name = $1"
        } else {
            "INSERT INTO secrets (name, format, key_id, wrapped_key, ciphertext, created_at, \
             updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)"
        };
        with_tx!(&mut tx, conn => {
            sqlx::query(sql)
                .bind(name)
                .bind(FORMAT)
                .bind(kek.id.as_str())
                .bind(&wrapped)
                .bind(&ciphertext)
                .bind(now.as_millis())
                .bind(&updated_by)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from)?;
        });
        let action = if created_at.is_some() {
            "secret.update"
        } else {
            "secret.create"
        };
        let entry = NewEntry::new(*actor, action, Some(Target::new("secret", name)))
            .with_details(json!({ "key_id": kek.id.as_str() }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(SecretInfo {
            name: name.to_owned(),
            key_id: kek.id.clone(),
            created_at: created_at.map_or(now, Timestamp::from_millis),
            updated_at: now,
            updated_by,
        })
    }

    /// The value of secret `name`, opened with `kek`, read on behalf of `actor`. Fails with
    /// [`SecretError::WrongKey`] (naming both key ids) if it was sealed with another key, and with
    /// [`SecretError::Tampered`] if the stored bytes do not open: nothing is ever returned that was
    /// not sealed under this name.
    ///
    /// A successful read appends `secret.read` (the actor, the secret's name and the key id; never
    /// the value) in the same transaction, and the value is returned only once that entry is
    /// committed. A read that fails discloses nothing and appends nothing.
    #[tracing::instrument(skip_all)]
    pub async fn get_secret(
        &self,
        actor: &Actor,
        kek: &Kek,
        name: &str,
    ) -> Result<SecretValue, SecretError> {
        validate_name(name)?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, String, Vec<u8>, Vec<u8>)> = with_tx!(&mut tx, conn => {
            match sqlx::query(
                "SELECT format, key_id, wrapped_key, ciphertext FROM secrets WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from)?
            {
                Some(row) => Some((
                    row.try_get(0).map_err(StoreError::from)?,
                    row.try_get(1).map_err(StoreError::from)?,
                    row.try_get(2).map_err(StoreError::from)?,
                    row.try_get(3).map_err(StoreError::from)?,
                )),
                None => None,
            }
        });
        let Some((format, key_id, wrapped, ciphertext)) = row else {
            return Err(SecretError::NotFound(name.to_owned()));
        };
        check_format(name, format)?;
        if key_id != kek.id.0 {
            return Err(SecretError::WrongKey {
                sealed: KeyId(key_id),
                given: kek.id.clone(),
            });
        }
        let data_key = unwrap_data_key(kek, name, &wrapped)?;
        let value =
            open(&data_key, &associated_data(Part::Value, name), &ciphertext).ok_or_else(|| {
                SecretError::Tampered {
                    name: name.to_owned(),
                    key: kek.id.clone(),
                }
            })?;
        let entry = NewEntry::new(*actor, "secret.read", Some(Target::new("secret", name)))
            .with_details(json!({ "key_id": kek.id.as_str() }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(SecretValue(value))
    }

    /// Every secret by name, without values (listing needs no key).
    pub async fn list_secrets(&self) -> Result<Vec<SecretInfo>, SecretError> {
        let sql =
            "SELECT name, key_id, created_at, updated_at, updated_by FROM secrets ORDER BY name";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await.map_err(StoreError::from)?;
            rows.iter()
                .map(|row| info_from_row(row).map_err(SecretError::from))
                .collect()
        })
    }

    /// Deletes secret `name` and appends `secret.delete`. With the row goes its wrapped data key,
    /// so any copy of the value's ciphertext (in a backup, say) can no longer be opened even with
    /// the KEK. Needs no key.
    #[tracing::instrument(skip_all)]
    pub async fn delete_secret(&self, actor: &Actor, name: &str) -> Result<(), SecretError> {
        validate_name(name)?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        lock_secrets(&mut tx).await?;
        let deleted = with_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM secrets WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from)?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(SecretError::NotFound(name.to_owned()));
        }
        let entry = NewEntry::new(*actor, "secret.delete", Some(Target::new("secret", name)));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Re-wraps every secret's data key from `old` to `new` in one transaction, and appends one
    /// `secret.rotate_key` entry (both key ids and the count). The values' ciphertexts are not
    /// touched and the values are never decrypted. Returns how many secrets were re-wrapped.
    ///
    /// All or nothing: if any secret is sealed with a key other than `old`, or any wrapped key
    /// does not open, nothing changes.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_key(
        &self,
        actor: &Actor,
        old: &Kek,
        new: &Kek,
    ) -> Result<u64, SecretError> {
        if old.id == new.id {
            return Err(SecretError::SameKey(old.id.clone()));
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        lock_secrets(&mut tx).await?;
        let rows: Vec<(String, i64, String, Vec<u8>)> = with_tx!(&mut tx, conn => {
            let rows = sqlx::query("SELECT name, format, key_id, wrapped_key FROM secrets ORDER BY name")
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::from)?;
            rows.iter()
                .map(|row| {
                    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(StoreError::from)?
        });
        let mut rewrapped = Vec::with_capacity(rows.len());
        for (name, format, key_id, wrapped) in &rows {
            check_format(name, *format)?;
            if *key_id != old.id.0 {
                return Err(SecretError::WrongKey {
                    sealed: KeyId(key_id.clone()),
                    given: old.id.clone(),
                });
            }
            let data_key = unwrap_data_key(old, name, wrapped)?;
            let again = seal(
                &new.bytes,
                &associated_data(Part::DataKey, name),
                &data_key[..],
            )?;
            rewrapped.push((name, again));
        }
        for (name, wrapped) in &rewrapped {
            with_tx!(&mut tx, conn => {
                sqlx::query("UPDATE secrets SET key_id = $1, wrapped_key = $2 WHERE name = $3")
                    .bind(new.id.as_str())
                    .bind(wrapped)
                    .bind(name.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::from)?;
            });
        }
        let count = u64::try_from(rewrapped.len()).expect("a count fits in u64");
        let entry = NewEntry::new(*actor, "secret.rotate_key", None).with_details(json!({
            "old_key_id": old.id.as_str(),
            "new_key_id": new.id.as_str(),
            "secrets": count,
        }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes(Zeroizing::new([byte; KEY_BYTES]))
    }

    #[test]
    fn seal_then_open_round_trips_and_binds_the_associated_data() {
        let key = [7u8; KEY_BYTES];
        let sealed = seal(&key, b"a", b"value").expect("seals");
        assert_eq!(sealed.len(), NONCE_BYTES + 5 + 16);
        assert_eq!(
            open(&key, b"a", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"value"[..])
        );
        assert!(open(&key, b"b", &sealed).is_none(), "other associated data");
        assert!(
            open(&[8u8; KEY_BYTES], b"a", &sealed).is_none(),
            "other key"
        );
        let mut flipped = sealed.clone();
        flipped[NONCE_BYTES] ^= 1;
        assert!(open(&key, b"a", &flipped).is_none(), "altered ciphertext");
        assert!(open(&key, b"a", &sealed[..10]).is_none(), "truncated");
    }

    #[test]
    fn nonces_are_fresh_for_every_seal() {
        let key = [7u8; KEY_BYTES];
        let one = seal(&key, b"a", b"value").expect("seals");
        let two = seal(&key, b"a", b"value").expect("seals");
        assert_ne!(one[..NONCE_BYTES], two[..NONCE_BYTES]);
        assert_ne!(one, two);
    }

    #[test]
    fn key_ids_are_the_first_bytes_of_the_sha256() {
        let k = kek(0);
        let digest = Sha256::digest([0u8; KEY_BYTES]);
        assert_eq!(k.id().as_str(), hex::encode(&digest[..4]));
        assert_eq!(k.id().as_str().len(), 8);
        assert_ne!(kek(1).id(), k.id());
    }

    #[test]
    fn keys_parse_from_base64_and_refuse_other_lengths() {
        let k = Kek::generate().expect("random");
        let text = k.to_base64();
        let back = Kek::from_base64(&format!("  {}\n", text.as_str()), "test").expect("parses");
        assert_eq!(back.id(), k.id());
        assert!(matches!(
            Kek::from_base64("c2hvcnQ=", "PACTUM_KEY"),
            Err(KeyError::Length { len: 5, .. })
        ));
        let err = Kek::from_base64("not base64!", "PACTUM_KEY").expect_err("refused");
        assert_eq!(err.to_string(), "the key in PACTUM_KEY is not base64");
        assert!(Kek::load(None, None).expect("nothing to load").is_none());
    }

    #[test]
    fn debug_never_shows_keys_or_values() {
        let k = kek(0x41);
        let shown = format!("{k:?}");
        assert!(shown.starts_with("Kek { id: KeyId(\""), "{shown}");
        assert!(!shown.contains(k.to_base64().as_str()));
        assert_eq!(
            format!("{:?}", SecretValue::from("hunter2")),
            "SecretValue(<redacted>)"
        );
    }

    #[test]
    fn names_are_checked() {
        for good in [
            "erasure.hash_key",
            "crm-db.password",
            "A1",
            &"x".repeat(128),
        ] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a b", "a/b", "é", &"x".repeat(129)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_files_are_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("pactum.key");
        let k = Kek::generate().expect("random");
        k.write_new_file(&path).expect("writes");
        assert_eq!(Kek::from_file(&path).expect("reads").id(), k.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Kek::generate().expect("random");
        assert!(matches!(
            again.write_new_file(&path),
            Err(KeyError::Exists { .. })
        ));
        assert_eq!(Kek::from_file(&path).expect("unchanged").id(), k.id());
    }
}
