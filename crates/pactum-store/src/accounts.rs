//! Admin users: email, Argon2id password hash, one [`Role`]; and login with a per-account lock-out
//! and a per-address rate limit that are kept in the store, so they hold across restarts and
//! server instances.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{Actor, NewEntry, Target, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::rate_limits::hit;
use crate::{Inner, Store, with_pool, with_tx};

/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters in a password (Argon2 input is bounded to keep hashing cheap to refuse).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// What an admin may do. Least privilege: each role sees only what its job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including managing users and tokens.
    Owner,
    /// Decides data subject requests.
    PrivacyOfficer,
    /// Reads the data map, requests and reports.
    Analyst,
    /// Reads the audit log and evidence only.
    Auditor,
    /// Manages datastores and connectors.
    Engineer,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::PrivacyOfficer,
        Role::Analyst,
        Role::Auditor,
        Role::Engineer,
    ];

    /// The stored and command-line name: `owner`, `privacy_officer`, `analyst`, `auditor`,
    /// `engineer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::PrivacyOfficer => "privacy_officer",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Engineer => "engineer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Role, StoreError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.replace('-', "_"))
            .ok_or_else(|| StoreError::UnknownRole(s.to_owned()))
    }
}

/// A normalised (trimmed, lowercased) email address. Its `Debug` hides the address: it is personal
/// data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks the shape `local@domain` (no spaces, a dot in the domain, at most 254 bytes) and
    /// normalises case.
    pub fn parse(text: &str) -> Result<EmailAddress, StoreError> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(EmailAddress(email))
        } else {
            Err(StoreError::InvalidEmail)
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the login counters are kept under: SHA-256 of the address, so the counter table
    /// holds no email addresses.
    fn account_key(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

/// An admin user. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Internal id: what audit entries refer to.
    pub id: i64,
    /// The sign-in address.
    pub email: EmailAddress,
    /// What the user may do.
    pub role: Role,
    /// When the user was created.
    pub created_at: Timestamp,
    /// When the user was disabled, if they were; a disabled user cannot sign in.
    pub disabled_at: Option<Timestamp>,
}

/// Argon2id cost for new password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordParams {
    /// OWASP's recommended Argon2id cost (19 MiB, 2 passes, 1 lane): the default.
    pub const RECOMMENDED: PasswordParams = PasswordParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest cost Argon2 accepts: for tests only, never for real passwords.
    pub const INSECURE_FOR_TESTS: PasswordParams = PasswordParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(self) -> Result<Argon2<'static>, StoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| StoreError::PasswordHash(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// When login failures lock an account: `max_failures` within `window` lock it for `lockout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures that trigger a lock-out.
    pub max_failures: u32,
    /// The window the failures are counted in, from the first one.
    pub window: Duration,
    /// How long the account stays locked.
    pub lockout: Duration,
}

impl Default for LockoutPolicy {
    /// 5 failures within 15 minutes lock the account for 15 minutes.
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// How many login attempts one client address may make: at most `per_ip` per `window`.
///
/// Every attempt counts, not only failures, and a success does not reset the count:
/// - the attempt is counted atomically *before* the password is checked, so a burst of parallel
///   guesses cannot slip past the limit while their Argon2 checks run (counting failures means
///   counting after the check, which leaves exactly that window open);
/// - a success that reset the count would let an attacker holding any one valid account clear its
///   address's allowance between guesses at other accounts;
/// - it also bounds the Argon2 work (CPU and memory) one address can make the server do.
///
/// The cost is that admins behind one address (an office NAT) share the allowance; the default
/// is generous for people and small for password guessing. Windows are fixed (see the
/// `rate_limits` table), so a burst across a window boundary may reach twice `per_ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per client address per window; 0 refuses every attempt that names an address.
    pub per_ip: u32,
    /// The window.
    pub window: Duration,
}

impl Default for LoginLimits {
    /// 20 attempts per address per 15 minutes.
    fn default() -> Self {
        LoginLimits {
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// The rate-limit bucket of a client address: `login:ip:` and the SHA-256 of the address (the
/// table holds no address in clear). IPv6 addresses count per /64 (what one subscriber is
/// usually given, so that hopping between its addresses gains nothing), and IPv4-mapped IPv6
/// addresses as their IPv4 address. Text that is not an address is hashed as given.
fn login_ip_bucket(client_ip: &str) -> String {
    let client_ip = client_ip.trim();
    let key = match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => client_ip.to_owned(),
    };
    format!("login:ip:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is right and the user is enabled.
    Success(User),
    /// Unknown email, wrong password or disabled user: deliberately indistinguishable.
    InvalidCredentials,
    /// Too many failures: no password is checked until `until`.
    Locked {
        /// When attempts are accepted again.
        until: Timestamp,
    },
    /// Too many attempts from the client's address ([`LoginLimits`]): neither the account nor the
    /// password was looked at.
    RateLimited {
        /// How long until the address's window ends.
        retry_after: Duration,
    },
}

/// A fresh random password for an account created by Pactum itself (the `--demo` owner): 18 bytes
/// from the operating system (144 bits) as 24 characters of unpadded base64url.
pub fn generate_password() -> Result<String, StoreError> {
    use base64::Engine as _;
    let mut random = [0u8; 18];
    getrandom::fill(&mut random).map_err(StoreError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random))
}

fn check_password_length(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(StoreError::PasswordLength {
            min: MIN_PASSWORD_CHARS,
            max: MAX_PASSWORD_CHARS,
        })
    }
}

/// Hashes on a blocking thread: Argon2 takes tens of milliseconds of CPU by design.
async fn hash_password(params: PasswordParams, password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        params
            .hasher()?
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::PasswordHash(e.to_string()))
    })
    .await
    .map_err(StoreError::Task)?
}

/// Verifies on a blocking thread with the cost recorded in the hash. With no hash (unknown user)
/// it verifies against a dummy hash of the configured cost, so the answer takes as long either way.
async fn verify_password(
    inner: Arc<Inner>,
    hash: Option<String>,
    password: &str,
) -> Result<bool, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let hasher = inner.password.hasher()?;
        let stored = match hash {
            Some(hash) => hash,
            None => {
                let dummy = match inner.dummy_hash.get() {
                    Some(dummy) => dummy.clone(),
                    None => hasher
                        .hash_password(b"pactum dummy password")
                        .map_err(|e| StoreError::PasswordHash(e.to_string()))?
                        .to_string(),
                };
                inner.dummy_hash.get_or_init(|| dummy).clone()
            }
        };
        // A stored hash that does not parse verifies nothing.
        Ok(PasswordHash::new(&stored)
            .is_ok_and(|parsed| hasher.verify_password(password.as_bytes(), &parsed).is_ok()))
    })
    .await
    .map_err(StoreError::Task)?
}

/// The user columns [`user_from_row`] reads, followed by `$tail` (a literal, so the SQL stays static).
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, email, role, created_at, disabled_at, password_hash FROM users ",
            $tail
        )
    };
}

fn user_from_row<R: Row>(row: &R) -> Result<(User, String), StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get(0)?;
    let corrupt = |what: String| StoreError::Corrupt {
        table: "users",
        id,
        what,
    };
    let email: String = row.try_get(1)?;
    let role: String = row.try_get(2)?;
    let user = User {
        id,
        email: EmailAddress::parse(&email).map_err(|_| corrupt("invalid email".into()))?,
        role: role
            .parse()
            .map_err(|_| corrupt(format!("unknown role {role:?}")))?,
        created_at: Timestamp::from_millis(row.try_get(3)?),
        disabled_at: row
            .try_get::<Option<i64>, _>(4)?
            .map(Timestamp::from_millis),
    };
    Ok((user, row.try_get(5)?))
}

impl Store {
    /// Creates an admin user with an Argon2id hash of `password` and appends `user.create` to the
    /// audit log (the entry names the new user's id and role, not the email address).
    #[tracing::instrument(skip_all, fields(role = %role))]
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let email = EmailAddress::parse(email)?;
        check_password_length(password)?;
        let hash = hash_password(self.inner.password, password).await?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let inserted = with_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id",
            )
            .bind(email.as_str())
            .bind(&hash)
            .bind(role.as_str())
            .bind(now.as_millis())
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
        });
        let id = match inserted {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateUser);
            }
            Err(e) => return Err(e.into()),
        };
        let entry = NewEntry::new(*actor, "user.create", Some(Target::new("user", id)))
            .with_details(json!({ "role": role }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(User {
            id,
            email,
            role,
            created_at: now,
            disabled_at: None,
        })
    }

    /// The user with internal id `id`.
    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let sql = select_user!("WHERE id = $1");
        let row = with_pool!(self, pool => {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(row) => user_from_row(&row)?,
                None => return Err(StoreError::NotFound { kind: "user", id }),
            }
        });
        Ok(row.0)
    }

    /// Every user, by id.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = select_user!("ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(|r| user_from_row(r).map(|(u, _)| u)).collect()
        })
    }

    /// Checks a login with no client address (no per-address limit): see [`Store::login_from`].
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginOutcome, StoreError> {
        self.login_from(email, password, None).await
    }

    /// Checks a login from `client_ip` (the connection's address, `None` when unknown, as on the
    /// command line) and keeps the counters.
    ///
    /// First the address: each attempt takes one of its [`LoginLimits`] allowance (in the
    /// `rate_limits` table, bucket `login:ip:` + SHA-256); with the allowance used up the answer is
    /// [`LoginOutcome::RateLimited`] whatever the account and password, and `auth.login_rate_limited`
    /// is appended (by `system`, with no address, email or user id: neither was looked up).
    ///
    /// Then the account: `max_failures` failures within the window lock the account (known or not)
    /// for the lock-out period, during which no password is checked. Failures and lock-outs are
    /// audited against the user's id when the email is known; a success clears the account's
    /// counter (not the address's) and is audited as `auth.login`.
    #[tracing::instrument(skip_all)]
    pub async fn login_from(
        &self,
        email: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<LoginOutcome, StoreError> {
        if let Some(client_ip) = client_ip
            && let Some(retry_after) = self.take_login_attempt(client_ip).await?
        {
            return Ok(LoginOutcome::RateLimited { retry_after });
        }
        self.check_login(email, password).await
    }

    /// Takes one attempt from `client_ip`'s allowance, committed before any password is checked.
    /// Returns how long to wait when the allowance is used up (and audits the refusal).
    async fn take_login_attempt(&self, client_ip: &str) -> Result<Option<Duration>, StoreError> {
        let limits = self.inner.login_limits;
        let bucket = login_ip_bucket(client_ip);
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let refused = hit(&mut tx, now, &bucket, limits.per_ip, limits.window).await?;
        if let Some(retry_after) = refused {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let entry = NewEntry::new(Actor::System, "auth.login_rate_limited", None)
                .with_details(json!({ "retry_after_secs": seconds }));
            append_in(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(refused)
    }

    /// The account half of [`Store::login_from`]: lock-out, password, audit.
    async fn check_login(&self, email: &str, password: &str) -> Result<LoginOutcome, StoreError> {
        // An unparsable address still counts failures, under its own key.
        let email = EmailAddress::parse(email)
            .unwrap_or_else(|_| EmailAddress(email.trim().to_lowercase()));
        let key = email.account_key();
        let now = self.now();

        let (found, locked_until) = with_pool!(self, pool => {
            let sql = select_user!("WHERE email = $1");
            let found = match sqlx::query(sql).bind(email.as_str()).fetch_optional(pool).await? {
                Some(row) => Some(user_from_row(&row)?),
                None => None,
            };
            let locked: Option<i64> =
                sqlx::query("SELECT locked_until FROM login_attempts WHERE account_key = $1")
                    .bind(&key)
                    .fetch_optional(pool)
                    .await?
                    .map(|row| row.try_get::<Option<i64>, _>(0))
                    .transpose()?
                    .flatten();
            (found, locked)
        });
        if let Some(until) = locked_until.filter(|&until| until > now.as_millis()) {
            return Ok(LoginOutcome::Locked {
                until: Timestamp::from_millis(until),
            });
        }

        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let password_ok = verify_password(Arc::clone(&self.inner), hash, password).await?;
        let target = user.as_ref().map(|u| Target::new("user", u.id));
        let actor = user.as_ref().map_or(Actor::System, |u| Actor::User(u.id));

        let mut tx = self.begin_write().await?;
        if let Some(user) = user.filter(|u| password_ok && u.disabled_at.is_none()) {
            with_tx!(&mut tx, conn => {
                sqlx::query("DELETE FROM login_attempts WHERE account_key = $1")
                    .bind(&key)
                    .execute(&mut *conn)
                    .await?;
            });
            append_in(&mut tx, now, &NewEntry::new(actor, "auth.login", target)).await?;
            tx.commit().await?;
            return Ok(LoginOutcome::Success(user));
        }

        let policy = self.inner.lockout;
        let window_opened_before = now.minus(policy.window).as_millis();
        let failures: i64 = with_tx!(&mut tx, conn => {
            let row = sqlx::query(
                "INSERT INTO login_attempts (account_key, failures, window_start, locked_until) \
                 VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (account_key) DO UPDATE SET \
                   failures = CASE WHEN login_attempts.window_start <= $3 THEN 1 \
                                   ELSE login_attempts.failures + 1 END, \
                   window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 \
                                       ELSE login_attempts.window_start END \
                 RETURNING failures",
            )
            .bind(&key)
            .bind(now.as_millis())
            .bind(window_opened_before)
            .fetch_one(&mut *conn)
            .await?;
            row.try_get(0)?
        });
        append_in(
            &mut tx,
            now,
            &NewEntry::new(actor, "auth.login_failed", target.clone())
                .with_details(json!({ "failures": failures })),
        )
        .await?;
        let outcome = if failures >= i64::from(policy.max_failures) {
            let until = now.plus(policy.lockout);
            // The next window starts after the lock-out: a fresh set of attempts.
            with_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE login_attempts SET failures = 0, window_start = $2, locked_until = $2 \
                     WHERE account_key = $1",
                )
                .bind(&key)
                .bind(until.as_millis())
                .execute(&mut *conn)
                .await?;
            });
            append_in(
                &mut tx,
                now,
                &NewEntry::new(actor, "auth.locked_out", target)
                    .with_details(json!({ "until": until.as_millis() })),
            )
            .await?;
            LoginOutcome::Locked { until }
        } else {
            LoginOutcome::InvalidCredentials
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert_eq!(
            "privacy-officer".parse::<Role>().ok(),
            Some(Role::PrivacyOfficer)
        );
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = EmailAddress::parse("  DPO@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "dpo@example.com");
        assert_eq!(format!("{email:?}"), "EmailAddress(<redacted>)");
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a b@example.com",
            "a@example.",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} is rejected");
        }
    }

    #[test]
    fn login_buckets_hash_the_address_and_group_ipv6_by_64() {
        let v4 = login_ip_bucket("192.0.2.7");
        assert!(v4.starts_with("login:ip:"));
        assert_eq!(v4.len(), "login:ip:".len() + 64);
        assert!(!v4.contains("192.0.2.7"), "no address in clear");
        assert_eq!(login_ip_bucket(" 192.0.2.7 "), v4);
        assert_eq!(
            login_ip_bucket("::ffff:192.0.2.7"),
            v4,
            "IPv4-mapped is IPv4"
        );
        assert_ne!(login_ip_bucket("192.0.2.8"), v4);
        assert_eq!(
            login_ip_bucket("2001:db8:1:2::1"),
            login_ip_bucket("2001:db8:1:2:ffff:eeee:dddd:cccc"),
            "one /64 is one client"
        );
        assert_ne!(
            login_ip_bucket("2001:db8:1:2::1"),
            login_ip_bucket("2001:db8:1:3::1")
        );
    }

    #[test]
    fn generated_passwords_are_long_random_and_accepted() {
        let a = generate_password().expect("random");
        let b = generate_password().expect("random");
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(check_password_length(&a).is_ok());
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password(PasswordParams::INSECURE_FOR_TESTS, "correct horse battery")
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        let hasher = PasswordParams::INSECURE_FOR_TESTS
            .hasher()
            .expect("valid params");
        let parsed = PasswordHash::new(&hash).expect("PHC string");
        assert!(
            hasher
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            hasher
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );
    }
}
