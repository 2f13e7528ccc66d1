//! Telling recipients (GDPR Art. 19): when a person's data is erased, rectified or restricted, each
//! recipient it was disclosed to is told, unless that proves impossible or involves
//! disproportionate effort.
//!
//! [`recipients_of`] picks the recipients from the map: every processor whose declared categories
//! overlap the categories of the collections the person's records were found in (a recipient that
//! never received a category is not sent the person's identity). A recipient with a
//! [`pactum_domain::model::Notify`] gets a signed webhook ([`Sender::deliver`]); one without is a
//! task for people.
//!
//! Webhooks follow the Standard Webhooks scheme, so recipients can verify them with any of its
//! libraries: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,<base64 of HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use pactum_domain::model::DataMap;
use serde::Serialize;

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The HTTP client could not be built (TLS roots, provider).
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The TLS configuration could not be built.
    #[error("cannot configure TLS")]
    Tls(#[source] rustls::Error),
    /// The URL is not HTTPS (plain HTTP is accepted for loopback addresses only).
    #[error("the webhook URL must use https (plain http only to 127.0.0.1 or localhost)")]
    InsecureUrl,
    /// The request failed (connection, TLS, timeout).
    #[error("the webhook could not be delivered")]
    Send(#[source] reqwest::Error),
    /// The recipient answered with a non-2xx status.
    #[error("the recipient answered HTTP {0}")]
    Status(u16),
}

/// Whether a field category is covered by a recipient's category: the same, or one is a parent of
/// the other in the taxonomy (`user.contact` covers `user.contact.email` and the reverse: a
/// recipient of `user.contact.email` holds part of `user.contact`).
fn overlaps(a: &str, b: &str) -> bool {
    let under = |child: &str, parent: &str| {
        child.len() > parent.len()
            && child.starts_with(parent)
            && child.as_bytes()[parent.len()] == b'.'
    };
    a == b || under(a, b) || under(b, a)
}

/// The processors (keys, in map order) that received any category held in `collections`
/// (`datastore.collection`).
pub fn recipients_of<'m>(map: &'m DataMap, collections: &[String]) -> Vec<&'m str> {
    let mut held: BTreeSet<&str> = BTreeSet::new();
    for reference in collections {
        let Some((ds, coll)) = reference.split_once('.') else {
            continue;
        };
        let Some(collection) = map.datastores.get(ds).and_then(|d| d.collections.get(coll)) else {
            continue;
        };
        for field in collection.fields.values() {
            held.extend(field.categories.iter().map(String::as_str));
        }
    }
    map.processors
        .iter()
        .filter(|(_, p)| {
            p.categories
                .iter()
                .any(|c| held.iter().any(|h| overlaps(c, h)))
        })
        .map(|(key, _)| key.as_str())
        .collect()
}

/// The signing key from a secret as configured: `whsec_` followed by base64 (the Standard
/// Webhooks form), or the text's bytes.
pub fn secret_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// What a recipient is told: the Standard Webhooks envelope around the request's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    /// `privacy_request.erasure`, `privacy_request.restriction` or `privacy_request.rectification`.
    pub r#type: &'a str,
    /// RFC 3339.
    pub timestamp: String,
    pub data: EventData<'a>,
}

/// The request as the recipient needs it to act: who, what, under which law.
#[derive(Debug, Clone, Serialize)]
pub struct EventData<'a> {
    /// The controller's reference for the request (never its internal id).
    pub request: &'a str,
    /// The request type (`erasure`, `delete`, `restriction`, ...).
    pub kind: &'a str,
    pub regimes: &'a [String],
    /// How the person is identified: `{"email": "..."}`.
    pub subject: serde_json::Value,
    /// What the recipient is asked to do.
    pub action: &'a str,
    /// The controller's name.
    pub controller: &'a str,
}

/// Sends webhooks over HTTPS (rustls with the ring provider and the Mozilla root store).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A client with a 10-second timeout that follows no redirects (a signed body is for the
    /// configured URL only).
    pub fn new() -> Result<Sender, NotifyError> {
        let client = crate::http::client().map_err(|e| match e {
            crate::http::ClientError::Tls(e) => NotifyError::Tls(e),
            crate::http::ClientError::Client(e) => NotifyError::Client(e),
        })?;
        Ok(Sender { client })
    }

    /// POSTs `body` to `url`, signed with `key`; the recipient's HTTP status on a 2xx answer.
    pub async fn deliver(
        &self,
        url: &str,
        key: &[u8],
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<u16, NotifyError> {
        if !crate::http::secure(url) {
            return Err(NotifyError::InsecureUrl);
        }
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sign(key, id, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(NotifyError::Send)?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(status)
        } else {
            Err(NotifyError::Status(status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let key = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn categories_overlap_along_the_taxonomy() {
        assert!(overlaps("user.contact", "user.contact.email"));
        assert!(overlaps("user.contact.email", "user.contact"));
        assert!(overlaps("user.contact.email", "user.contact.email"));
        assert!(!overlaps("user.contact.email", "user.contact.emailx"));
        assert!(!overlaps("user.name", "user.contact"));
    }
}
