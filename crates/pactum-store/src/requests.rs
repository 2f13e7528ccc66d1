//! Data-subject requests as the server receives them: intake, identity verification by one-time
//! code or magic link, rate limits, a privacy officer's decision, completion with a downloadable
//! result, and the standing choices (subject flags) a completed request leaves behind.
//!
//! The life of a request ([`RequestStatus`]):
//!
//! ```text
//! create ──► unverified ──(code or link)──► verified ──approve──► approved ──complete──► completed
//!            (privacy centre, API)            │  ▲                (job request.execute enqueued)
//!                                             │  └── admin channel, or an opt-out: verified at once
//!                                             ├──reject──► rejected
//!                                             └──complete (opt-outs only: no decision)──► completed
//! ```
//!
//! - [`Store::create_request`] checks the rate limits and creates the request; a request that
//!   needs verification comes back with [`VerificationSecrets`] (a 6-digit code and a link token)
//!   for the caller to send to the person. [`Store::resend_verification`] replaces them.
//! - [`Store::verify_request_code`] / [`Store::verify_request_link`] verify it.
//! - [`Store::decide_request`] approves (and enqueues the [`REQUEST_EXECUTE_JOB`] job in the same
//!   transaction) or rejects.
//! - [`Store::complete_request`] (or [`Store::complete_request_in`], inside the job's
//!   [`Transaction`]) records the outcome, the package and the subject flags;
//!   [`Store::complete_opt_out`] completes an opt-out without a decision.
//! - [`Store::download_package`] hands the package to the holder of the download token.
//!
//! Privacy and secrecy:
//! - The identity value is stored in clear in `requests` (the request is executed with it) but
//!   never in audit entries, in rate-limit buckets or subject flags (those use SHA-256 keys), nor
//!   in the `Debug` output of [`Request`] or [`NewRequest`]. The client address is never stored,
//!   only hashed into a rate-limit bucket.
//! - Codes, link tokens and download tokens are stored only as SHA-256 hashes (a code salted with
//!   its request's id) and compared in constant time.
//! - The public id (`dsr_...`, 128 random bits) is the person's capability for their status page.
//!
//! Every state change appends its audit entry (`request.create`, `request.resend`,
//! `request.verify`, `request.verify_failed`, `request.approve`, `request.reject`,
//! `request.complete`) in the same transaction, and so does every package download
//! (`request.download`, a read of personal data).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::accounts::EmailAddress;
use crate::audit::{Actor, NewEntry, Target, append_in};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::jobs::{NewJob, Transaction};
use crate::rate_limits::hit;
use crate::{Backend, Store, Tx, with_pool, with_tx};

/// The job kind [`Store::decide_request`] enqueues when a request is approved; its payload is
/// `{"request_id": ID}` and its idempotency key `request.execute:ID`.
pub const REQUEST_EXECUTE_JOB: &str = "request.execute";

/// The job kind that tells the person their request is done (with a fresh download link when it
/// has a package); payload `{"request_id": ID}`. Enqueued with the completion, so that a mail
/// server that is down delays the message instead of losing it.
pub const REQUEST_TELL_JOB: &str = "request.tell";

/// What every public request id starts with.
pub const PUBLIC_ID_PREFIX: &str = "dsr_";

/// What every verification link token starts with.
pub const LINK_TOKEN_PREFIX: &str = "pcv_";

/// What every package download token starts with.
pub const DOWNLOAD_TOKEN_PREFIX: &str = "pcd_";

/// The most characters of free text a person may send with a request.
pub const MAX_DETAILS_CHARS: usize = 4000;

/// The most characters of a rejection reason.
pub const MAX_REASON_CHARS: usize = 4000;

/// Random bytes in a public id (22 base64url characters).
const PUBLIC_ID_BYTES: usize = 16;

/// Random bytes in link and download tokens.
const TOKEN_BYTES: usize = 32;

/// Longest token or id accepted for lookup; anything longer is not ours.
const MAX_PRESENTED: usize = 100;

/// Defines a unit enum stored by its snake_case name, with `as_str`, `Display`, `FromStr` and
/// serde in the same names.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text),*].len()] = [$($name::$variant),*];

            /// The stored (and serialised) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StoreError;

            fn from_str(s: &str) -> Result<$name, StoreError> {
                $name::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| StoreError::UnknownName { what: $what, value: s.to_owned() })
            }
        }
    };
}

named_enum! {
    /// What a person asks for: GDPR rights (access to erasure, objection, consent withdrawal),
    /// CCPA/CPRA rights (know, delete, correct, opt out of sale or sharing, limit the use of
    /// sensitive information) and the removal of content posted as a minor.
    pub enum RequestKind ("request kind") {
        /// Access to their data (GDPR Art. 15).
        Access => "access",
        /// Their data in a portable format (GDPR Art. 20).
        Portability => "portability",
        /// Rectification of inaccurate data (GDPR Art. 16).
        Rectification => "rectification",
        /// Erasure (GDPR Art. 17).
        Erasure => "erasure",
        /// Restriction of processing (GDPR Art. 18).
        Restriction => "restriction",
        /// Objection to processing (GDPR Art. 21).
        Objection => "objection",
        /// Withdrawal of consent (GDPR Art. 7(3)).
        WithdrawConsent => "withdraw_consent",
        /// The right to know (CCPA 1798.110).
        Know => "know",
        /// The right to delete (CCPA 1798.105).
        Delete => "delete",
        /// The right to correct (CCPA 1798.106).
        Correct => "correct",
        /// Opting out of sale or sharing (CCPA 1798.120).
        OptOutSaleSharing => "opt_out_sale_sharing",
        /// Limiting the use of sensitive personal information (CCPA 1798.121).
        LimitSensitive => "limit_sensitive",
        /// Removal of content posted as a minor (California B&P 22581).
        MinorContentRemoval => "minor_content_removal",
    }
}

impl RequestKind {
    /// Whether the person must prove they hold the identity before anything happens. Opt-outs
    /// must not be verified (CCPA regulations 7026(c) and 7027(f)); everything else is.
    pub fn needs_verification(self) -> bool {
        !self.is_opt_out()
    }

    /// Whether this is an opt-out (of sale or sharing, or of the use of sensitive information):
    /// these need neither verification nor a decision ([`Store::complete_opt_out`]).
    pub fn is_opt_out(self) -> bool {
        matches!(
            self,
            RequestKind::OptOutSaleSharing | RequestKind::LimitSensitive
        )
    }

    /// The standing choice a completed request of this kind records, if any.
    pub fn flag(self) -> Option<SubjectFlag> {
        match self {
            RequestKind::Restriction => Some(SubjectFlag::Restriction),
            RequestKind::Objection => Some(SubjectFlag::Objection),
            RequestKind::OptOutSaleSharing => Some(SubjectFlag::OptOutSaleSharing),
            RequestKind::LimitSensitive => Some(SubjectFlag::LimitSensitive),
            RequestKind::WithdrawConsent => Some(SubjectFlag::ConsentWithdrawn),
            _ => None,
        }
    }

    /// A label for people, in the first person, as on a request form.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Access => "Access to my data",
            RequestKind::Portability => "A copy of my data to take elsewhere",
            RequestKind::Rectification => "Rectify my data",
            RequestKind::Erasure => "Erase my data",
            RequestKind::Restriction => "Restrict the use of my data",
            RequestKind::Objection => "Object to the use of my data",
            RequestKind::WithdrawConsent => "Withdraw my consent",
            RequestKind::Know => "Know what personal information you hold about me",
            RequestKind::Delete => "Delete my personal information",
            RequestKind::Correct => "Correct my personal information",
            RequestKind::OptOutSaleSharing => "Do not sell or share my personal information",
            RequestKind::LimitSensitive => "Limit the use of my sensitive personal information",
            RequestKind::MinorContentRemoval => "Remove content I posted as a minor",
        }
    }
}

named_enum! {
    /// Where a request is in its life.
    pub enum RequestStatus ("request status") {
        /// Received; the person has not yet proved they hold the identity.
        Unverified => "unverified",
        /// Verified (or needing no verification): awaiting a privacy officer's decision.
        Verified => "verified",
        /// Approved: execution is enqueued or running.
        Approved => "approved",
        /// Done: the outcome (and any package) is recorded.
        Completed => "completed",
        /// Refused, with a reason.
        Rejected => "rejected",
    }
}

impl RequestStatus {
    /// Whether the request is closed (completed or rejected).
    pub fn is_closed(self) -> bool {
        matches!(self, RequestStatus::Completed | RequestStatus::Rejected)
    }
}

named_enum! {
    /// How a request came in.
    pub enum Channel ("request channel") {
        /// The public privacy centre pages.
        PrivacyCentre => "privacy_centre",
        /// The HTTP API.
        Api => "api",
        /// Entered by staff in the admin console (e.g. a request received by post or phone):
        /// verified at once and not rate-limited.
        Admin => "admin",
    }
}

named_enum! {
    /// A standing choice of a person that the organisation's processing must respect.
    pub enum SubjectFlag ("subject flag") {
        /// Processing restricted (GDPR Art. 18).
        Restriction => "restriction",
        /// Objected to processing (GDPR Art. 21).
        Objection => "objection",
        /// Opted out of sale or sharing (CCPA).
        OptOutSaleSharing => "opt_out_sale_sharing",
        /// Limited the use of sensitive personal information (CCPA).
        LimitSensitive => "limit_sensitive",
        /// Withdrew consent.
        ConsentWithdrawn => "consent_withdrawn",
    }
}

/// A request's deadlines, as `YYYY-MM-DD` dates computed by the caller (the domain crate's
/// deadline rules; the store does not depend on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The day the request was received.
    pub received_on: String,
    /// The day receipt must be acknowledged by, where a regime asks for it.
    pub acknowledge_by: Option<String>,
    /// The legal deadline.
    pub legal_due: String,
    /// The legal deadline after an extension, if one was taken.
    pub extended_due: Option<String>,
    /// A deadline the organisation promised that is earlier than the law's.
    pub promised_due: Option<String>,
    /// The effective deadline.
    pub due_on: String,
    /// The regime that sets `due_on`.
    pub regime: String,
}

impl Deadline {
    fn validate(&self) -> Result<(), StoreError> {
        let dates = [
            Some(&self.received_on),
            self.acknowledge_by.as_ref(),
            Some(&self.legal_due),
            self.extended_due.as_ref(),
            self.promised_due.as_ref(),
            Some(&self.due_on),
        ];
        if !dates.into_iter().flatten().all(|d| is_date(d)) {
            return Err(StoreError::InvalidRequest(
                "deadline dates must be YYYY-MM-DD",
            ));
        }
        if !is_name(&self.regime) {
            return Err(StoreError::InvalidRequest(
                "the deadline's regime must be 1 to 64 of a-z, 0-9, `_`, `-` and `.`",
            ));
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` with a plausible month and day: the form that sorts as text.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return false;
    }
    if !digits(5..7) || !digits(8..10) {
        return false;
    }
    let month = (b[5] - b'0') * 10 + (b[6] - b'0');
    let day = (b[8] - b'0') * 10 + (b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A regime name: 1 to 64 of `a-z`, `0-9`, `_`, `-` and `.`.
/// Most corrections one request carries.
pub const MAX_CORRECTIONS: usize = 20;

/// Longest corrected value, in characters.
pub const MAX_CORRECTION_CHARS: usize = 500;

/// Checks a new request's corrections (only a rectification carries any; names like regimes;
/// values of 1 to [`MAX_CORRECTION_CHARS`] characters) and gives their stored form.
fn check_corrections(new: &NewRequest) -> Result<Option<String>, StoreError> {
    if new.corrections.is_empty() {
        return Ok(None);
    }
    if !matches!(new.kind, RequestKind::Rectification | RequestKind::Correct) {
        return Err(StoreError::InvalidRequest(
            "only a rectification request carries corrections",
        ));
    }
    let valid = new.corrections.len() <= MAX_CORRECTIONS
        && new.corrections.iter().all(|(name, value)| {
            is_name(name)
                && !value.trim().is_empty()
                && value.chars().count() <= MAX_CORRECTION_CHARS
                && !value.chars().any(char::is_control)
        });
    if !valid {
        return Err(StoreError::InvalidRequest(
            "corrections must be at most 20 attribute names with values of 1 to 500 characters",
        ));
    }
    serde_json::to_string(&new.corrections)
        .map(Some)
        .map_err(|_| StoreError::InvalidRequest("the corrections cannot be serialised"))
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// A request as received.
#[derive(Clone, PartialEq)]
pub struct NewRequest {
    /// What is asked for.
    pub kind: RequestKind,
    /// The regimes it is made under (names such as `gdpr`, `ccpa`).
    pub regimes: Vec<String>,
    /// `email` or `phone`.
    pub identity_kind: String,
    /// The address or number; normalised before it is stored (trimmed; emails lowercased;
    /// phone numbers without spaces, dashes, dots and brackets).
    pub identity_value: String,
    /// How it came in.
    pub channel: Channel,
    /// Free text from the person (e.g. what to rectify), at most [`MAX_DETAILS_CHARS`] characters.
    pub details: Option<String>,
    /// For a rectification: attribute (a field's `rectify` name in the map) to corrected value,
    /// at most [`MAX_CORRECTIONS`] of them; empty otherwise.
    pub corrections: BTreeMap<String, String>,
    /// Its deadlines.
    pub deadline: Deadline,
    /// The client's address, for the per-address rate limit; never stored.
    pub client_ip: Option<String>,
}

impl fmt::Debug for NewRequest {
    // The identity, the details and the address are personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRequest")
            .field("kind", &self.kind)
            .field("regimes", &self.regimes)
            .field("identity_kind", &self.identity_kind)
            .field("identity_value", &"<redacted>")
            .field("channel", &self.channel)
            .field("details", &self.details.as_ref().map(|_| "<redacted>"))
            .field("corrections", &self.corrections.keys().collect::<Vec<_>>())
            .field("deadline", &self.deadline)
            .field("client_ip", &self.client_ip.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A request as stored.
#[derive(Clone, PartialEq, Serialize)]
pub struct Request {
    /// Internal id: what audit entries and jobs refer to.
    pub id: i64,
    /// `dsr_` and 22 base64url characters (128 random bits): the person's capability for their
    /// status page.
    pub public_id: String,
    /// What is asked for.
    pub kind: RequestKind,
    /// The regimes it is made under.
    pub regimes: Vec<String>,
    /// `email` or `phone`.
    pub identity_kind: String,
    /// The normalised address or number.
    pub identity_value: String,
    /// How it came in.
    pub channel: Channel,
    /// Free text from the person.
    pub details: Option<String>,
    /// For a rectification: attribute to corrected value.
    pub corrections: BTreeMap<String, String>,
    /// Where it is in its life.
    pub status: RequestStatus,
    /// Its deadlines.
    pub deadline: Deadline,
    /// When it was received.
    pub created_at: Timestamp,
    /// When it was verified (or created, when it needed no verification).
    pub verified_at: Option<Timestamp>,
    /// When it was approved or rejected.
    pub decided_at: Option<Timestamp>,
    /// The deciding user's id, when a signed-in user decided.
    pub decided_by: Option<i64>,
    /// The deciding actor's stored form (`user:ID`, `token:ID`, `cli`, `system`).
    pub decided_by_actor: Option<String>,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
    /// When it was completed.
    pub completed_at: Option<Timestamp>,
    /// The summary written at completion.
    pub outcome: Option<serde_json::Value>,
    /// When the downloadable package expires, if there is one.
    pub package_expires_at: Option<Timestamp>,
}

impl fmt::Debug for Request {
    // The identity and the details are personal data: logs and panics must not show them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("public_id", &self.public_id)
            .field("kind", &self.kind)
            .field("regimes", &self.regimes)
            .field("identity_kind", &self.identity_kind)
            .field("identity_value", &"<redacted>")
            .field("channel", &self.channel)
            .field("details", &self.details.as_ref().map(|_| "<redacted>"))
            .field("corrections", &self.corrections.keys().collect::<Vec<_>>())
            .field("status", &self.status)
            .field("deadline", &self.deadline)
            .field("created_at", &self.created_at)
            .field("verified_at", &self.verified_at)
            .field("decided_at", &self.decided_at)
            .field("decided_by_actor", &self.decided_by_actor)
            .field("completed_at", &self.completed_at)
            .field("package_expires_at", &self.package_expires_at)
            .finish_non_exhaustive()
    }
}

/// What the person must be sent to verify a request: returned once, stored only as hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationSecrets {
    /// Six decimal digits, uniformly random.
    pub code: String,
    /// `pcv_` and 43 base64url characters (256 random bits), for the magic link.
    pub link_token: String,
    /// When both stop working.
    pub expires_at: Timestamp,
}

impl fmt::Debug for VerificationSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationSecrets")
            .field("code", &"<redacted>")
            .field("link_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Rate limits and verification settings. Windows are fixed (aligned to multiples of `window`
/// since the epoch), so a burst across a window boundary may reach twice a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests (and verification resends) per identity per window.
    pub per_identity: u32,
    /// Requests per client address per window; also verification attempts per address.
    pub per_ip: u32,
    /// The window.
    pub window: Duration,
    /// Wrong codes before a code stops working.
    pub max_attempts: u32,
    /// How long a code and link work.
    pub code_lifetime: Duration,
}

impl Default for RateLimits {
    /// 5 per identity and 20 per address per hour, 5 code attempts, codes valid for 30 minutes.
    fn default() -> Self {
        RateLimits {
            per_identity: 5,
            per_ip: 20,
            window: Duration::from_secs(3600),
            max_attempts: 5,
            code_lifetime: Duration::from_secs(30 * 60),
        }
    }
}

/// What presenting a code or link did.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyOutcome {
    /// The request is now verified.
    Verified(Request),
    /// The request was verified before (by the other means, or this link was used already).
    AlreadyVerified(Request),
    /// The code is wrong; this many attempts are left for it.
    WrongCode {
        /// Attempts left before the code stops working.
        attempts_left: u32,
    },
    /// The code or link expired: ask for a new one.
    Expired,
    /// Too many wrong codes: this code never works again; ask for a new one.
    TooManyAttempts,
    /// No such request or link (or it was replaced by a newer one).
    Unknown,
}

/// A privacy officer's decision on a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Carry it out: enqueues [`REQUEST_EXECUTE_JOB`].
    Approve,
    /// Refuse it.
    Reject {
        /// Why (shown to the person; at most [`MAX_REASON_CHARS`] characters).
        reason: String,
    },
}

/// What completing a request records.
#[derive(Clone, PartialEq)]
pub struct Completion {
    /// A summary of what was done (counts, places), never the records themselves.
    pub outcome: serde_json::Value,
    /// The downloadable result (an access package), if any.
    pub package: Option<Vec<u8>>,
    /// How long the package can be downloaded.
    pub package_lifetime: Duration,
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("outcome", &self.outcome)
            .field("package_bytes", &self.package.as_ref().map(Vec::len))
            .field("package_lifetime", &self.package_lifetime)
            .finish()
    }
}

/// A downloaded package and the request it answers.
#[derive(Clone, PartialEq)]
pub struct Package {
    /// The request.
    pub request: Request,
    /// The package.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("request", &self.request)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What presenting a download token found.
// Returned once per download and never kept in collections: boxing the package would only make
// the callers' matches clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Download {
    /// The package.
    Ready(Package),
    /// The package expired (and is or will be deleted).
    Expired,
    /// No such token.
    Unknown,
}

/// A subject flag as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FlagRecord {
    /// The choice.
    pub flag: SubjectFlag,
    /// The request that first set it.
    pub request_id: i64,
    /// When it was set.
    pub set_at: Timestamp,
}

/// Which requests [`Store::list_requests_with`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestListing {
    /// Include unverified requests (among the open ones).
    pub include_unverified: bool,
    /// Include completed and rejected requests (after the open ones).
    pub include_closed: bool,
    /// At most this many.
    pub limit: i64,
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn hashes_equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn random_token(prefix: &str, bytes: usize) -> Result<String, StoreError> {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).map_err(StoreError::Random)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random)))
}

/// Six uniformly random decimal digits (rejection sampling: no modulo bias).
fn random_code() -> Result<String, StoreError> {
    const RANGE: u64 = 1_000_000;
    let zone = u64::MAX - u64::MAX % RANGE;
    loop {
        let r = getrandom::u64().map_err(StoreError::Random)?;
        if r < zone {
            return Ok(format!("{:06}", r % RANGE));
        }
    }
}

/// The stored hash of a code: SHA-256 of `ID:CODE`, so equal codes of two requests differ.
fn code_hash(request_id: i64, code: &str) -> String {
    sha256_hex(&format!("{request_id}:{code}"))
}

/// The normalised identity value: emails trimmed and lowercased (and checked), phone numbers
/// trimmed without spaces, dashes, dots and brackets (and checked: an optional `+`, 6 to 20 digits).
pub fn normalise_identity(kind: &str, value: &str) -> Result<String, StoreError> {
    match kind {
        "email" => EmailAddress::parse(value).map(|e| e.as_str().to_owned()),
        "phone" => {
            let phone: String = value
                .trim()
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .collect();
            let digits = phone.strip_prefix('+').unwrap_or(&phone);
            if (6..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                Ok(phone)
            } else {
                Err(StoreError::InvalidRequest("invalid phone number"))
            }
        }
        _ => Err(StoreError::InvalidRequest(
            "the identity kind must be email or phone",
        )),
    }
}

/// The key a person's flags and rate-limit counters are kept under: SHA-256 of `KIND:VALUE`
/// (normalised value), so those tables hold no identity in clear.
pub(crate) fn subject_key(kind: &str, normalised: &str) -> String {
    sha256_hex(&format!("{kind}:{normalised}"))
}

/// `FOR UPDATE` on PostgreSQL (SQLite's `BEGIN IMMEDIATE` already holds the write lock).
fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// The actor's user id, for `decided_by`.
fn user_id(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User(id) => Some(*id),
        _ => None,
    }
}

/// Rolls `tx` back (by dropping it) and returns the rate-limit error.
fn refuse<T>(tx: Tx, retry_after: Duration) -> Result<T, StoreError> {
    drop(tx);
    Err(StoreError::RateLimited { retry_after })
}

const REQUEST_COLUMNS: &str = "id, public_id, kind, regimes, identity_kind, identity_value, \
     channel, details, status, received_on, acknowledge_by, legal_due, extended_due, \
     promised_due, due_on, due_regime, created_at, verified_at, decided_at, decided_by, \
     decision_reason, completed_at, outcome, package_expires_at, corrections";

fn corrupt(id: i64, what: String) -> StoreError {
    StoreError::Corrupt {
        table: "requests",
        id,
        what,
    }
}

fn request_from_row<R: Row>(row: &R) -> Result<Request, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: i64 = row.try_get(0)?;
    let text = |column: usize| -> Result<String, StoreError> { Ok(row.try_get(column)?) };
    let ts = |column: usize| -> Result<Option<Timestamp>, StoreError> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(Timestamp::from_millis))
    };
    let regimes: String = row.try_get(3)?;
    let outcome: Option<String> = row.try_get(22)?;
    let decided_by_actor: Option<String> = row.try_get(19)?;
    Ok(Request {
        id,
        public_id: row.try_get(1)?,
        kind: text(2)?
            .parse()
            .map_err(|e: StoreError| corrupt(id, e.to_string()))?,
        regimes: serde_json::from_str(&regimes)
            .map_err(|e| corrupt(id, format!("regimes are not a JSON list: {e}")))?,
        identity_kind: row.try_get(4)?,
        identity_value: row.try_get(5)?,
        channel: text(6)?
            .parse()
            .map_err(|e: StoreError| corrupt(id, e.to_string()))?,
        details: row.try_get(7)?,
        status: text(8)?
            .parse()
            .map_err(|e: StoreError| corrupt(id, e.to_string()))?,
        deadline: Deadline {
            received_on: row.try_get(9)?,
            acknowledge_by: row.try_get(10)?,
            legal_due: row.try_get(11)?,
            extended_due: row.try_get(12)?,
            promised_due: row.try_get(13)?,
            due_on: row.try_get(14)?,
            regime: row.try_get(15)?,
        },
        created_at: Timestamp::from_millis(row.try_get(16)?),
        verified_at: ts(17)?,
        decided_at: ts(18)?,
        decided_by: decided_by_actor
            .as_deref()
            .and_then(|a| a.strip_prefix("user:"))
            .and_then(|id| id.parse().ok()),
        decided_by_actor,
        decision_reason: row.try_get(20)?,
        completed_at: ts(21)?,
        outcome: outcome
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| corrupt(id, format!("outcome is not JSON: {e}")))
            })
            .transpose()?,
        package_expires_at: ts(23)?,
        corrections: row
            .try_get::<Option<String>, _>(24)?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| corrupt(id, format!("corrections are not a JSON object: {e}")))
            })
            .transpose()?
            .unwrap_or_default(),
    })
}

/// How a request is looked up.
#[derive(Clone, Copy)]
pub(crate) enum Lookup<'a> {
    Id(i64),
    PublicId(&'a str),
}

/// The request, read inside `tx` and (on PostgreSQL) locked until the transaction ends.
pub(crate) async fn request_in(
    tx: &mut Tx,
    lookup: Lookup<'_>,
) -> Result<Option<Request>, StoreError> {
    let lock = for_update(tx.backend());
    let (column, id, public_id) = match lookup {
        Lookup::Id(id) => ("id", id, ""),
        Lookup::PublicId(public_id) => ("public_id", 0, public_id),
    };
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE {column} = $1{lock}");
    with_tx!(tx, conn => {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let query = match lookup {
            Lookup::Id(_) => query.bind(id),
            Lookup::PublicId(_) => query.bind(public_id),
        };
        match query.fetch_optional(&mut *conn).await? {
            Some(row) => Ok(Some(request_from_row(&row)?)),
            None => Ok(None),
        }
    })
}

/// Whether `text` could be a token with `prefix` (cheap checks before hashing and a lookup).
fn plausible(text: &str, prefix: &str) -> bool {
    text.starts_with(prefix) && text.len() <= MAX_PRESENTED
}

/// Creates fresh verification secrets for request `id` and replaces its verification row.
async fn new_verification(
    tx: &mut Tx,
    now: Timestamp,
    id: i64,
    lifetime: Duration,
) -> Result<VerificationSecrets, StoreError> {
    let secrets = VerificationSecrets {
        code: random_code()?,
        link_token: random_token(LINK_TOKEN_PREFIX, TOKEN_BYTES)?,
        expires_at: now.plus(lifetime),
    };
    with_tx!(tx, conn => {
        sqlx::query("DELETE FROM request_verifications WHERE request_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO request_verifications (request_id, code_hash, link_hash, attempts, \
             created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(id)
        .bind(code_hash(id, &secrets.code))
        .bind(sha256_hex(&secrets.link_token))
        .bind(now.as_millis())
        .bind(secrets.expires_at.as_millis())
        .execute(&mut *conn)
        .await?;
    });
    Ok(secrets)
}

/// Marks request `id` verified and its verification used, and audits `request.verify`.
async fn mark_verified(
    tx: &mut Tx,
    now: Timestamp,
    mut request: Request,
    method: &str,
) -> Result<Request, StoreError> {
    with_tx!(tx, conn => {
        sqlx::query(
            "UPDATE requests SET status = 'verified', verified_at = $1 \
             WHERE id = $2 AND status = 'unverified'",
        )
        .bind(now.as_millis())
        .bind(request.id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE request_verifications SET used_at = $1 WHERE request_id = $2")
            .bind(now.as_millis())
            .bind(request.id)
            .execute(&mut *conn)
            .await?;
    });
    let entry = NewEntry::new(
        Actor::Subject,
        "request.verify",
        Some(Target::new("request", request.id)),
    )
    .with_details(json!({ "method": method }));
    append_in(tx, now, &entry).await?;
    request.status = RequestStatus::Verified;
    request.verified_at = Some(now);
    Ok(request)
}

/// A verification row.
struct Verification {
    request_id: i64,
    code_hash: String,
    link_hash: String,
    attempts: i64,
    expires_at: Timestamp,
    used: bool,
}

/// Request `request_id`'s verification row, locked on PostgreSQL. Locks are always taken in the
/// order request row, then verification row, so concurrent verifications cannot deadlock.
async fn verification_in(tx: &mut Tx, request_id: i64) -> Result<Option<Verification>, StoreError> {
    let lock = for_update(tx.backend());
    let sql = format!(
        "SELECT request_id, code_hash, link_hash, attempts, expires_at, used_at \
         FROM request_verifications WHERE request_id = $1{lock}"
    );
    with_tx!(tx, conn => {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(request_id);
        let Some(row) = query.fetch_optional(&mut *conn).await? else {
            return Ok(None);
        };
        Ok(Some(Verification {
            request_id: row.try_get(0)?,
            code_hash: row.try_get(1)?,
            link_hash: row.try_get(2)?,
            attempts: row.try_get(3)?,
            expires_at: Timestamp::from_millis(row.try_get(4)?),
            used: row.try_get::<Option<i64>, _>(5)?.is_some(),
        }))
    })
}

/// The request whose live verification link has hash `link_hash` (not locked).
async fn request_id_by_link(tx: &mut Tx, link_hash: &str) -> Result<Option<i64>, StoreError> {
    with_tx!(tx, conn => {
        Ok(sqlx::query("SELECT request_id FROM request_verifications WHERE link_hash = $1")
            .bind(link_hash)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?)
    })
}

/// A `request_packages` row.
struct StoredPackage {
    request_id: i64,
    token_hash: String,
    expires_at: i64,
    purged: bool,
    bytes: Vec<u8>,
}

/// Completes request `id` inside `tx` (see [`Store::complete_request`]). `opt_out_only` restricts
/// it to opt-outs awaiting no decision.
async fn complete_in(
    tx: &mut Transaction,
    actor: &Actor,
    id: i64,
    completion: &Completion,
    opt_out_only: bool,
) -> Result<(Request, Option<String>), StoreError> {
    complete_inner(tx, actor, id, completion, opt_out_only, &[]).await
}

/// Completes erasure request `id` inside `tx` and stores its `deferred` parts
/// ([`crate::holds`]) when (and only when) this call completes it.
pub(crate) async fn complete_with_deferrals_in(
    tx: &mut Transaction,
    actor: &Actor,
    id: i64,
    completion: &Completion,
    deferred: &[crate::holds::NewDeferral],
) -> Result<(Request, Option<String>), StoreError> {
    complete_inner(tx, actor, id, completion, false, deferred).await
}

async fn complete_inner(
    tx: &mut Transaction,
    actor: &Actor,
    id: i64,
    completion: &Completion,
    opt_out_only: bool,
    deferred: &[crate::holds::NewDeferral],
) -> Result<(Request, Option<String>), StoreError> {
    let now = tx.now;
    let Some(mut request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
        return Err(StoreError::NotFound {
            kind: "request",
            id,
        });
    };
    if opt_out_only && !request.kind.is_opt_out() {
        return Err(StoreError::InvalidRequest(
            "only opt-out requests complete without a decision",
        ));
    }
    if request.status == RequestStatus::Completed {
        // A retried job: the first completion stands.
        return Ok((request, None));
    }
    let allowed = request.status == RequestStatus::Approved
        || (request.status == RequestStatus::Verified && request.kind.is_opt_out());
    if !allowed {
        return Err(StoreError::RequestState {
            id,
            status: request.status,
            action: "completed",
        });
    }
    let outcome = serde_json::to_string(&completion.outcome)
        .map_err(|_| StoreError::InvalidRequest("the outcome cannot be serialised"))?;
    let token = match &completion.package {
        Some(_) => Some(random_token(DOWNLOAD_TOKEN_PREFIX, TOKEN_BYTES)?),
        None => None,
    };
    let package_expires_at = token
        .as_ref()
        .map(|_| now.plus(completion.package_lifetime));
    let flag = request.kind.flag();
    let key = subject_key(&request.identity_kind, &request.identity_value);
    with_tx!(&mut tx.tx, conn => {
        sqlx::query(
            "UPDATE requests SET status = 'completed', completed_at = $1, outcome = $2, \
             package_expires_at = $3 WHERE id = $4",
        )
        .bind(now.as_millis())
        .bind(&outcome)
        .bind(package_expires_at.map(Timestamp::as_millis))
        .bind(id)
        .execute(&mut *conn)
        .await?;
        if let (Some(token), Some(bytes), Some(expires)) =
            (&token, &completion.package, package_expires_at)
        {
            sqlx::query(
                "INSERT INTO request_packages (request_id, token_hash, bytes, size, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(sha256_hex(token))
            .bind(bytes.as_slice())
            .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
            .bind(now.as_millis())
            .bind(expires.as_millis())
            .execute(&mut *conn)
            .await?;
        }
        if let Some(flag) = flag {
            // The first request that set a flag stays its record.
            sqlx::query(
                "INSERT INTO subject_flags (subject_key, flag, request_id, set_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (subject_key, flag) DO NOTHING",
            )
            .bind(&key)
            .bind(flag.as_str())
            .bind(id)
            .bind(now.as_millis())
            .execute(&mut *conn)
            .await?;
        }
    });
    // The erasure plan holds the person's row keys: it lives no longer than the request is open.
    crate::checkpoints::delete_in(&mut tx.tx, id).await?;
    if !deferred.is_empty() {
        crate::holds::store_deferrals_in(tx, id, &key, deferred).await?;
    }
    let entry = NewEntry::new(*actor, "request.complete", Some(Target::new("request", id)))
        .with_details(json!({
            "flag": flag.map(SubjectFlag::as_str),
            "package_bytes": completion.package.as_ref().map(Vec::len),
            "package_expires_at": package_expires_at.map(Timestamp::as_millis),
        }));
    append_in(&mut tx.tx, now, &entry).await?;
    if !opt_out_only && request.identity_kind == "email" {
        let job = NewJob::new(REQUEST_TELL_JOB, json!({ "request_id": id }))
            .with_key(&format!("{REQUEST_TELL_JOB}:{id}"));
        tx.enqueue(&job).await?;
    }
    request.status = RequestStatus::Completed;
    request.completed_at = Some(now);
    request.outcome = Some(completion.outcome.clone());
    request.package_expires_at = package_expires_at;
    Ok((request, token))
}

impl Store {
    /// Receives a request. The rate limits are checked and counted in the same transaction
    /// (except on the admin channel): [`StoreError::RateLimited`] when the identity or the client
    /// address made too many requests in the current window (a refused request is not counted).
    ///
    /// The request is `Unverified` when its kind needs verification and it did not come from the
    /// admin channel, and then the verification secrets to send to the person are returned;
    /// otherwise it is `Verified` at once. Appends `request.create` (kind, channel, regimes,
    /// due date and status; never the identity or the address), by [`Actor::Subject`] for the
    /// privacy centre and by `actor` for the API and admin channels.
    #[tracing::instrument(skip_all, fields(kind = %new.kind, channel = %new.channel))]
    pub async fn create_request(
        &self,
        actor: &Actor,
        new: &NewRequest,
        limits: &RateLimits,
    ) -> Result<(Request, Option<VerificationSecrets>), StoreError> {
        let identity_kind = new.identity_kind.trim();
        let identity_value = normalise_identity(identity_kind, &new.identity_value)?;
        if new
            .details
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DETAILS_CHARS)
        {
            return Err(StoreError::InvalidRequest(
                "the details must be at most 4000 characters",
            ));
        }
        let corrections = check_corrections(new)?;
        if !new.regimes.iter().all(|r| is_name(r)) || new.regimes.len() > 32 {
            return Err(StoreError::InvalidRequest(
                "regimes must be 1 to 64 of a-z, 0-9, `_`, `-` and `.`",
            ));
        }
        new.deadline.validate()?;
        let regimes = serde_json::to_string(&new.regimes)
            .map_err(|_| StoreError::InvalidRequest("the regimes cannot be serialised"))?;
        let key = subject_key(identity_kind, &identity_value);
        let verify = new.kind.needs_verification() && new.channel != Channel::Admin;
        let status = if verify {
            RequestStatus::Unverified
        } else {
            RequestStatus::Verified
        };
        let public_id = random_token(PUBLIC_ID_PREFIX, PUBLIC_ID_BYTES)?;
        let now = self.now();
        let verified_at = (!verify).then_some(now);

        let mut tx = self.begin_write().await?;
        if new.channel != Channel::Admin {
            let bucket = format!("request:id:{key}");
            if let Some(wait) =
                hit(&mut tx, now, &bucket, limits.per_identity, limits.window).await?
            {
                return refuse(tx, wait);
            }
            if let Some(ip) = new.client_ip.as_deref().map(str::trim) {
                let bucket = format!("request:ip:{}", sha256_hex(ip));
                if let Some(wait) = hit(&mut tx, now, &bucket, limits.per_ip, limits.window).await?
                {
                    return refuse(tx, wait);
                }
            }
        }
        let d = &new.deadline;
        let id: i64 = with_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO requests (public_id, kind, regimes, identity_kind, identity_value, \
                 subject_key, channel, details, status, received_on, acknowledge_by, legal_due, \
                 extended_due, promised_due, due_on, due_regime, created_at, verified_at, \
                 corrections) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19) RETURNING id",
            )
            .bind(&public_id)
            .bind(new.kind.as_str())
            .bind(&regimes)
            .bind(identity_kind)
            .bind(&identity_value)
            .bind(&key)
            .bind(new.channel.as_str())
            .bind(&new.details)
            .bind(status.as_str())
            .bind(&d.received_on)
            .bind(&d.acknowledge_by)
            .bind(&d.legal_due)
            .bind(&d.extended_due)
            .bind(&d.promised_due)
            .bind(&d.due_on)
            .bind(&d.regime)
            .bind(now.as_millis())
            .bind(verified_at.map(Timestamp::as_millis))
            .bind(&corrections)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        let secrets = if verify {
            Some(new_verification(&mut tx, now, id, limits.code_lifetime).await?)
        } else {
            None
        };
        let audit_actor = match new.channel {
            Channel::PrivacyCentre => Actor::Subject,
            Channel::Api | Channel::Admin => *actor,
        };
        let entry = NewEntry::new(
            audit_actor,
            "request.create",
            Some(Target::new("request", id)),
        )
        .with_details(json!({
            "kind": new.kind.as_str(),
            "channel": new.channel.as_str(),
            "regimes": new.regimes,
            "due_on": d.due_on,
            "status": status.as_str(),
        }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        let request = Request {
            id,
            public_id,
            kind: new.kind,
            regimes: new.regimes.clone(),
            identity_kind: identity_kind.to_owned(),
            identity_value,
            channel: new.channel,
            details: new.details.clone(),
            corrections: new.corrections.clone(),
            status,
            deadline: new.deadline.clone(),
            created_at: now,
            verified_at,
            decided_at: None,
            decided_by: None,
            decided_by_actor: None,
            decision_reason: None,
            completed_at: None,
            outcome: None,
            package_expires_at: None,
        };
        Ok((request, secrets))
    }

    /// New verification secrets for the unverified request `public_id` (the old code and link
    /// stop working, and the attempt count starts again). Counts against the identity's rate
    /// limit ([`StoreError::RateLimited`]). `None` when there is no such request or it is no
    /// longer unverified. Appends `request.resend`.
    #[tracing::instrument(skip_all)]
    pub async fn resend_verification(
        &self,
        public_id: &str,
        limits: &RateLimits,
    ) -> Result<Option<VerificationSecrets>, StoreError> {
        if !plausible(public_id, PUBLIC_ID_PREFIX) {
            return Ok(None);
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let Some(request) = request_in(&mut tx, Lookup::PublicId(public_id)).await? else {
            return Ok(None);
        };
        if request.status != RequestStatus::Unverified {
            return Ok(None);
        }
        let key = subject_key(&request.identity_kind, &request.identity_value);
        let bucket = format!("request:id:{key}");
        if let Some(wait) = hit(&mut tx, now, &bucket, limits.per_identity, limits.window).await? {
            return refuse(tx, wait);
        }
        let secrets = new_verification(&mut tx, now, request.id, limits.code_lifetime).await?;
        let entry = NewEntry::new(
            Actor::Subject,
            "request.resend",
            Some(Target::new("request", request.id)),
        );
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(Some(secrets))
    }

    /// Checks a code for the request `public_id`. Each wrong code uses one of
    /// `limits.max_attempts` attempts (and appends `request.verify_failed`); once they are used
    /// up the code never works again, even when right ([`VerifyOutcome::TooManyAttempts`]): the
    /// person asks for a new one. Every attempt from `client_ip` counts against the per-address
    /// limit ([`StoreError::RateLimited`] past it).
    #[tracing::instrument(skip_all)]
    pub async fn verify_request_code(
        &self,
        public_id: &str,
        code: &str,
        client_ip: Option<&str>,
        limits: &RateLimits,
    ) -> Result<VerifyOutcome, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        if let Some(ip) = client_ip.map(str::trim) {
            let bucket = format!("verify:ip:{}", sha256_hex(ip));
            if let Some(wait) = hit(&mut tx, now, &bucket, limits.per_ip, limits.window).await? {
                return refuse(tx, wait);
            }
        }
        let outcome = self
            .verify_code_in(&mut tx, now, public_id, code, limits)
            .await?;
        // Committed whatever the outcome: the address's attempt and a wrong code's count stay.
        tx.commit().await?;
        Ok(outcome)
    }

    async fn verify_code_in(
        &self,
        tx: &mut Tx,
        now: Timestamp,
        public_id: &str,
        code: &str,
        limits: &RateLimits,
    ) -> Result<VerifyOutcome, StoreError> {
        if !plausible(public_id, PUBLIC_ID_PREFIX) {
            return Ok(VerifyOutcome::Unknown);
        }
        let Some(request) = request_in(tx, Lookup::PublicId(public_id)).await? else {
            return Ok(VerifyOutcome::Unknown);
        };
        if request.status != RequestStatus::Unverified {
            return Ok(VerifyOutcome::AlreadyVerified(request));
        }
        let Some(verification) = verification_in(tx, request.id).await? else {
            return Ok(VerifyOutcome::Unknown);
        };
        let max = i64::from(limits.max_attempts);
        if verification.attempts >= max {
            return Ok(VerifyOutcome::TooManyAttempts);
        }
        if verification.expires_at <= now {
            return Ok(VerifyOutcome::Expired);
        }
        let code = code.trim();
        let presented = if code.len() <= 64 {
            code_hash(request.id, code)
        } else {
            String::new()
        };
        if hashes_equal(&presented, &verification.code_hash) {
            let request = mark_verified(tx, now, request, "code").await?;
            return Ok(VerifyOutcome::Verified(request));
        }
        let attempts: i64 = with_tx!(tx, conn => {
            sqlx::query(
                "UPDATE request_verifications SET attempts = attempts + 1 \
                 WHERE request_id = $1 RETURNING attempts",
            )
            .bind(request.id)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?
        });
        let entry = NewEntry::new(
            Actor::Subject,
            "request.verify_failed",
            Some(Target::new("request", request.id)),
        )
        .with_details(json!({ "attempts": attempts }));
        append_in(tx, now, &entry).await?;
        Ok(VerifyOutcome::WrongCode {
            attempts_left: u32::try_from((max - attempts).max(0)).unwrap_or(0),
        })
    }

    /// Checks a magic-link token. A link works once: presenting it again gives
    /// [`VerifyOutcome::AlreadyVerified`]; a link replaced by a resend gives
    /// [`VerifyOutcome::Unknown`]. Wrong codes do not disable the link (it cannot be guessed).
    #[tracing::instrument(skip_all)]
    pub async fn verify_request_link(&self, link_token: &str) -> Result<VerifyOutcome, StoreError> {
        if !plausible(link_token, LINK_TOKEN_PREFIX) {
            return Ok(VerifyOutcome::Unknown);
        }
        let hash = sha256_hex(link_token);
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let Some(request_id) = request_id_by_link(&mut tx, &hash).await? else {
            return Ok(VerifyOutcome::Unknown);
        };
        let Some(request) = request_in(&mut tx, Lookup::Id(request_id)).await? else {
            return Ok(VerifyOutcome::Unknown);
        };
        // Re-read under the lock: a resend may have replaced the link meanwhile.
        let Some(verification) = verification_in(&mut tx, request_id).await? else {
            return Ok(VerifyOutcome::Unknown);
        };
        if verification.request_id != request.id || !hashes_equal(&hash, &verification.link_hash) {
            return Ok(VerifyOutcome::Unknown);
        }
        if verification.used || request.status != RequestStatus::Unverified {
            return Ok(VerifyOutcome::AlreadyVerified(request));
        }
        if verification.expires_at <= now {
            return Ok(VerifyOutcome::Expired);
        }
        let request = mark_verified(&mut tx, now, request, "link").await?;
        tx.commit().await?;
        Ok(VerifyOutcome::Verified(request))
    }

    /// The request with public id `public_id` (what the person's status page shows).
    pub async fn request_by_public_id(
        &self,
        public_id: &str,
    ) -> Result<Option<Request>, StoreError> {
        if !plausible(public_id, PUBLIC_ID_PREFIX) {
            return Ok(None);
        }
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE public_id = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(public_id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(request_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    /// The request with internal id `id`.
    pub async fn request(&self, id: i64) -> Result<Option<Request>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(request_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    /// The work list: open requests first (unverified ones left out), soonest `due_on` first
    /// (then by id); with `include_closed`, completed and rejected ones after, newest first. At
    /// most `limit`. See [`Store::list_requests_with`] to include unverified requests.
    pub async fn list_requests(
        &self,
        include_closed: bool,
        limit: i64,
    ) -> Result<Vec<Request>, StoreError> {
        self.list_requests_with(&RequestListing {
            include_unverified: false,
            include_closed,
            limit,
        })
        .await
    }

    /// [`Store::list_requests`] with every choice spelled out.
    pub async fn list_requests_with(
        &self,
        listing: &RequestListing,
    ) -> Result<Vec<Request>, StoreError> {
        let mut statuses = vec!["'verified'", "'approved'"];
        if listing.include_unverified {
            statuses.push("'unverified'");
        }
        if listing.include_closed {
            statuses.extend(["'completed'", "'rejected'"]);
        }
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE status IN ({}) \
             ORDER BY CASE WHEN status IN ('completed', 'rejected') THEN 1 ELSE 0 END, \
             CASE WHEN status IN ('completed', 'rejected') THEN NULL ELSE due_on END, \
             CASE WHEN status IN ('completed', 'rejected') THEN -id ELSE id END \
             LIMIT $1",
            statuses.join(", ")
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(listing.limit.max(0))
                .fetch_all(pool)
                .await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// Decides a verified request. Approving sets it `Approved` and, in the same transaction,
    /// enqueues [`REQUEST_EXECUTE_JOB`] with payload `{"request_id": ID}` and key
    /// `request.execute:ID` (so it is enqueued once); rejecting sets it `Rejected` with the
    /// reason. Appends `request.approve` (with the job id) or `request.reject` (without the
    /// reason's text, which may name the person). [`StoreError::RequestState`] when the request
    /// is not `Verified`; [`StoreError::NotFound`] when there is none.
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn decide_request(
        &self,
        actor: &Actor,
        id: i64,
        decision: &Decision,
    ) -> Result<Request, StoreError> {
        if let Decision::Reject { reason } = decision {
            let length = reason.trim().chars().count();
            if length == 0 || length > MAX_REASON_CHARS {
                return Err(StoreError::InvalidRequest(
                    "a rejection needs a reason of 1 to 4000 characters",
                ));
            }
        }
        let mut tx = self.transaction().await?;
        let now = tx.now;
        let Some(mut request) = request_in(&mut tx.tx, Lookup::Id(id)).await? else {
            return Err(StoreError::NotFound {
                kind: "request",
                id,
            });
        };
        let (status, action) = match decision {
            Decision::Approve => (RequestStatus::Approved, "approved"),
            Decision::Reject { .. } => (RequestStatus::Rejected, "rejected"),
        };
        if request.status != RequestStatus::Verified {
            return Err(StoreError::RequestState {
                id,
                status: request.status,
                action,
            });
        }
        let reason = match decision {
            Decision::Approve => None,
            Decision::Reject { reason } => Some(reason.trim().to_owned()),
        };
        let decided_by = actor.to_string();
        with_tx!(&mut tx.tx, conn => {
            sqlx::query(
                "UPDATE requests SET status = $1, decided_at = $2, decided_by = $3, \
                 decision_reason = $4 WHERE id = $5",
            )
            .bind(status.as_str())
            .bind(now.as_millis())
            .bind(&decided_by)
            .bind(&reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        });
        let target = Some(Target::new("request", id));
        let entry = match decision {
            Decision::Approve => {
                let job = NewJob::new(REQUEST_EXECUTE_JOB, json!({ "request_id": id }))
                    .with_key(&format!("{REQUEST_EXECUTE_JOB}:{id}"));
                let enqueued = tx.enqueue(&job).await?;
                NewEntry::new(*actor, "request.approve", target)
                    .with_details(json!({ "job_id": enqueued.id }))
            }
            Decision::Reject { .. } => NewEntry::new(*actor, "request.reject", target),
        };
        tx.audit_append(&entry).await?;
        tx.commit().await?;
        request.status = status;
        request.decided_at = Some(now);
        request.decided_by = user_id(actor);
        request.decided_by_actor = Some(decided_by);
        request.decision_reason = reason;
        Ok(request)
    }

    /// A fresh download token for completed request `id`'s package, replacing the one before (so
    /// only the newest link works), or `None` when it has no package or it expired or was purged.
    /// Appends `request.download_link` (ids only).
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn reissue_download_token(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = self.now();
        let token = random_token(DOWNLOAD_TOKEN_PREFIX, TOKEN_BYTES)?;
        let updated = with_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE request_packages SET token_hash = $1 \
                 WHERE request_id = $2 AND purged_at IS NULL AND expires_at > $3",
            )
            .bind(sha256_hex(&token))
            .bind(id)
            .bind(now.as_millis())
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Ok(None);
        }
        append_in(
            &mut tx,
            now,
            &NewEntry::new(
                *actor,
                "request.download_link",
                Some(Target::new("request", id)),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Completes an approved request (or a verified opt-out, which needs no decision): stores the
    /// outcome, sets the subject flag the kind implies ([`RequestKind::flag`]), and stores the
    /// package, if any, under a fresh download token (`pcd_...`, returned here only; its SHA-256
    /// is stored) that works for `package_lifetime`, and deletes the request's erasure checkpoint
    /// ([`crate::checkpoints`]: it holds the person's row keys). Appends `request.complete`.
    ///
    /// Idempotent: completing a request that is already completed changes nothing and returns it
    /// with no token, so a job retried after a crash is harmless. [`StoreError::RequestState`] in
    /// any other state.
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn complete_request(
        &self,
        actor: &Actor,
        id: i64,
        completion: &Completion,
    ) -> Result<(Request, Option<String>), StoreError> {
        let mut tx = self.transaction().await?;
        let completed = complete_in(&mut tx, actor, id, completion, false).await?;
        tx.commit().await?;
        Ok(completed)
    }

    /// [`Store::complete_request`] inside `tx`, so that a job handler commits the request's
    /// completion and the job's ([`Transaction::complete`]) together. Nothing is written unless
    /// `tx` commits.
    pub async fn complete_request_in(
        &self,
        tx: &mut Transaction,
        actor: &Actor,
        id: i64,
        completion: &Completion,
    ) -> Result<(Request, Option<String>), StoreError> {
        complete_in(tx, actor, id, completion, false).await
    }

    /// Completes a verified opt-out ([`RequestKind::is_opt_out`]) at once, with no decision and
    /// no package: sets its flag, records the outcome `{"flag": NAME}` and appends
    /// `request.complete`. Idempotent like [`Store::complete_request`];
    /// [`StoreError::InvalidRequest`] for any other kind.
    #[tracing::instrument(skip_all, fields(request = id))]
    pub async fn complete_opt_out(&self, actor: &Actor, id: i64) -> Result<Request, StoreError> {
        let mut tx = self.transaction().await?;
        let flag = match request_in(&mut tx.tx, Lookup::Id(id)).await? {
            Some(request) => request.kind.flag(),
            None => None,
        };
        let completion = Completion {
            outcome: json!({ "flag": flag.map(SubjectFlag::as_str) }),
            package: None,
            package_lifetime: Duration::ZERO,
        };
        let (request, _) = complete_in(&mut tx, actor, id, &completion, true).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// The package behind a download token, while it has not expired. Each download appends
    /// `request.download` by [`Actor::Subject`] (the package holds personal data).
    #[tracing::instrument(skip_all)]
    pub async fn download_package(&self, token: &str) -> Result<Download, StoreError> {
        if !plausible(token, DOWNLOAD_TOKEN_PREFIX) {
            return Ok(Download::Unknown);
        }
        let hash = sha256_hex(token);
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let found: Option<StoredPackage> = with_tx!(&mut tx, conn => {
            sqlx::query(
                "SELECT request_id, token_hash, expires_at, purged_at, bytes \
                 FROM request_packages WHERE token_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| -> Result<_, sqlx::Error> {
                Ok(StoredPackage {
                    request_id: row.try_get(0)?,
                    token_hash: row.try_get(1)?,
                    expires_at: row.try_get(2)?,
                    purged: row.try_get::<Option<i64>, _>(3)?.is_some(),
                    bytes: row.try_get(4)?,
                })
            })
            .transpose()?
        });
        let Some(StoredPackage {
            request_id,
            token_hash: stored,
            expires_at,
            purged,
            bytes,
        }) = found
        else {
            return Ok(Download::Unknown);
        };
        if !hashes_equal(&hash, &stored) {
            return Ok(Download::Unknown);
        }
        if expires_at <= now.as_millis() || purged {
            return Ok(Download::Expired);
        }
        let Some(request) = request_in(&mut tx, Lookup::Id(request_id)).await? else {
            return Ok(Download::Unknown);
        };
        let entry = NewEntry::new(
            Actor::Subject,
            "request.download",
            Some(Target::new("request", request_id)),
        )
        .with_details(json!({ "bytes": bytes.len() }));
        append_in(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(Download::Ready(Package { request, bytes }))
    }

    /// The standing choices recorded for a person, by flag name. An identity that cannot be
    /// normalised has none; an unknown identity kind is [`StoreError::InvalidRequest`].
    pub async fn subject_flags(
        &self,
        identity_kind: &str,
        identity_value: &str,
    ) -> Result<Vec<FlagRecord>, StoreError> {
        let identity_kind = identity_kind.trim();
        if !matches!(identity_kind, "email" | "phone") {
            return Err(StoreError::InvalidRequest(
                "the identity kind must be email or phone",
            ));
        }
        let Ok(value) = normalise_identity(identity_kind, identity_value) else {
            return Ok(Vec::new());
        };
        let key = subject_key(identity_kind, &value);
        let rows: Vec<(String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query(
                "SELECT flag, request_id, set_at FROM subject_flags WHERE subject_key = $1 \
                 ORDER BY flag",
            )
            .bind(&key)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()?
        });
        rows.into_iter()
            .map(|(flag, request_id, set_at)| {
                Ok(FlagRecord {
                    flag: flag.parse().map_err(|e: StoreError| StoreError::Corrupt {
                        table: "subject_flags",
                        id: request_id,
                        what: e.to_string(),
                    })?,
                    request_id,
                    set_at: Timestamp::from_millis(set_at),
                })
            })
            .collect()
    }

    /// Housekeeping: deletes the bytes of packages past their expiry (the row stays, so the token
    /// then reads as expired rather than unknown) and returns how many were deleted.
    #[tracing::instrument(skip_all)]
    pub async fn purge_expired_packages(&self) -> Result<u64, StoreError> {
        let now = self.now().as_millis();
        let empty: &[u8] = &[];
        with_pool!(self, pool => {
            Ok(sqlx::query(
                "UPDATE request_packages SET bytes = $1, purged_at = $2 \
                 WHERE expires_at <= $2 AND purged_at IS NULL",
            )
            .bind(empty)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected())
        })
    }

    /// Housekeeping: deletes requests nobody confirmed that were made before `before` (with their
    /// verification codes): they hold an address that was never shown to belong to whoever typed
    /// it, and nothing will ever be done with them. Appends one `request.purge_unverified` entry
    /// with the count when any were deleted. Returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_unverified_requests(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = with_tx!(&mut tx, conn => {
            sqlx::query(
                "DELETE FROM request_verifications WHERE request_id IN \
                 (SELECT id FROM requests WHERE status = 'unverified' AND created_at < $1)",
            )
            .bind(before.as_millis())
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM requests WHERE status = 'unverified' AND created_at < $1")
                .bind(before.as_millis())
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if deleted > 0 {
            let entry = NewEntry::new(Actor::System, "request.purge_unverified", None)
                .with_details(json!({ "count": deleted, "before": before.as_millis() }));
            append_in(&mut tx, self.now(), &entry).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Housekeeping: deletes rate-limit counters of windows that have ended and returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_rate_limits(&self) -> Result<u64, StoreError> {
        let now = self.now().as_millis();
        with_pool!(self, pool => {
            Ok(sqlx::query("DELETE FROM rate_limits WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in RequestKind::ALL {
            assert_eq!(kind.as_str().parse::<RequestKind>().ok(), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::String(kind.as_str().to_owned()))
            );
            assert_eq!(kind.to_string(), kind.as_str());
            assert!(!kind.label().is_empty());
        }
        for status in RequestStatus::ALL {
            assert_eq!(status.as_str().parse::<RequestStatus>().ok(), Some(status));
        }
        for channel in Channel::ALL {
            assert_eq!(
                serde_json::from_value::<Channel>(json!(channel.as_str())).ok(),
                Some(channel)
            );
        }
        for flag in SubjectFlag::ALL {
            assert_eq!(flag.as_str().parse::<SubjectFlag>().ok(), Some(flag));
        }
        assert_eq!(
            RequestKind::OptOutSaleSharing.as_str(),
            "opt_out_sale_sharing"
        );
        assert_eq!(Channel::PrivacyCentre.as_str(), "privacy_centre");
        assert!(matches!(
            "erase".parse::<RequestKind>(),
            Err(StoreError::UnknownName {
                what: "request kind",
                ..
            })
        ));
    }

    #[test]
    fn only_opt_outs_skip_verification() {
        let unverified: Vec<RequestKind> = RequestKind::ALL
            .into_iter()
            .filter(|k| !k.needs_verification())
            .collect();
        assert_eq!(
            unverified,
            [RequestKind::OptOutSaleSharing, RequestKind::LimitSensitive]
        );
        assert_eq!(
            RequestKind::WithdrawConsent.flag(),
            Some(SubjectFlag::ConsentWithdrawn)
        );
        assert_eq!(RequestKind::Access.flag(), None);
    }

    #[test]
    fn identities_are_normalised() {
        let email = normalise_identity("email", "  Ada@Example.COM ").expect("valid");
        assert_eq!(email, "ada@example.com");
        let phone = normalise_identity("phone", " +44 (0)20 7946-0958 ").expect("valid");
        assert_eq!(phone, "+4402079460958");
        for (kind, bad) in [
            ("email", "not an email"),
            ("phone", "12345"),
            ("phone", "+44 20 abc"),
            ("fax", "123456789"),
        ] {
            assert!(normalise_identity(kind, bad).is_err(), "{kind} {bad}");
        }
        assert_ne!(
            subject_key("email", "ada@example.com"),
            subject_key("phone", "ada@example.com")
        );
    }

    #[test]
    fn codes_are_six_digits_and_spread() {
        let codes: Vec<String> = (0..200).map(|_| random_code().expect("random")).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
        assert_ne!(code_hash(1, "123456"), code_hash(2, "123456"));
    }

    #[test]
    fn tokens_have_their_shape() {
        let public = random_token(PUBLIC_ID_PREFIX, PUBLIC_ID_BYTES).expect("random");
        assert_eq!(public.len(), 4 + 22);
        let link = random_token(LINK_TOKEN_PREFIX, TOKEN_BYTES).expect("random");
        assert!(link.starts_with("pcv_") && link.len() == 4 + 43);
        assert!(
            link[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn dates_must_be_iso() {
        for good in ["2026-01-31", "2026-12-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2026-1-31",
            "2026-13-01",
            "2026-00-10",
            "26-01-2026",
            "2026/01/31",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_personal_data_and_secrets() {
        let request = Request {
            id: 1,
            public_id: "dsr_x".into(),
            kind: RequestKind::Access,
            regimes: vec!["gdpr".into()],
            identity_kind: "email".into(),
            identity_value: "ada@example.com".into(),
            channel: Channel::Api,
            details: Some("my address is 1 Main St".into()),
            corrections: Default::default(),
            status: RequestStatus::Verified,
            deadline: Deadline {
                received_on: "2026-01-01".into(),
                acknowledge_by: None,
                legal_due: "2026-02-01".into(),
                extended_due: None,
                promised_due: None,
                due_on: "2026-02-01".into(),
                regime: "gdpr".into(),
            },
            created_at: Timestamp::from_millis(0),
            verified_at: None,
            decided_at: None,
            decided_by: None,
            decided_by_actor: None,
            decision_reason: None,
            completed_at: None,
            outcome: None,
            package_expires_at: None,
        };
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("ada@") && !shown.contains("Main St"),
            "{shown}"
        );
        let secrets = VerificationSecrets {
            code: "123456".into(),
            link_token: "pcv_secret".into(),
            expires_at: Timestamp::from_millis(0),
        };
        let shown = format!("{secrets:?}");
        assert!(
            !shown.contains("123456") && !shown.contains("pcv_secret"),
            "{shown}"
        );
    }
}
