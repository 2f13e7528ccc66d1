//! Email to data subjects: verification codes, magic links and download links.
//!
//! A [`Mailer`] sends through SMTP (`smtp://` or `smtps://` URLs, TLS by rustls) or writes each
//! message as an `.eml` file into an outbox directory: the default for development, the demo and
//! tests, which read the outbox instead of a mailbox.
//!
//! **Invariant:** nothing here logs a recipient, a subject or a body; errors name the transport
//! only.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why an email could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server has no mailer configured.
    #[error("email is not configured on this server")]
    NotConfigured,
    /// The sender or recipient is not a valid address.
    #[error("not a valid email address: {0}")]
    Address(String),
    /// The message could not be assembled.
    #[error("cannot build the message")]
    Build(#[source] lettre::error::Error),
    /// The outbox directory cannot be created or written.
    #[error("cannot write to the outbox {path}")]
    Outbox {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing the message file failed.
    #[error("cannot write the message into the outbox")]
    File(#[source] std::io::Error),
    /// The SMTP URL is not valid or the server refused the message.
    #[error("SMTP delivery failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
}

/// Where mail goes.
#[derive(Clone)]
enum Transport {
    Outbox { dir: PathBuf },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends plain-text messages from one sender address. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl fmt::Debug for Mailer {
    // The SMTP transport holds credentials: show the kind only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.transport {
            Transport::Outbox { dir } => format!("outbox {}", dir.display()),
            Transport::Smtp(_) => "smtp".to_owned(),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.email.to_string())
            .field("transport", &kind)
            .finish()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse::<Mailbox>()
        .map_err(|_| MailError::Address(address.to_owned()))
}

impl Mailer {
    /// Writes every message as an `.eml` file in `DIR` (creating it), named so that names sort in
    /// the order the messages were written (time in nanoseconds, then a per-process sequence).
    pub fn outbox(dir: &Path, from: &str) -> Result<Mailer, MailError> {
        std::fs::create_dir_all(dir).map_err(|source| MailError::Outbox {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Mailer {
            from: mailbox(from)?,
            transport: Transport::Outbox {
                dir: dir.to_owned(),
            },
        })
    }

    /// Sends through the SMTP server at `url`: `smtps://user:pass@host:465` (implicit TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtp://host:25` (plain, for a local
    /// relay only).
    pub fn smtp(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(MailError::Smtp)?
            .build();
        Ok(Mailer {
            from: mailbox(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    /// The outbox directory, when messages go to files.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox { dir } => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Sends one plain-text message to `to`.
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), MailError> {
        // 7bit keeps the text greppable in the outbox; anything else falls back to the best
        // encoding lettre picks (quoted-printable for long lines or non-ASCII).
        let body = Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::SevenBit)
            .unwrap_or_else(|raw| Body::new(String::from_utf8_lossy(&raw).into_owned()));
        let message = Message::builder()
            .from(self.from.clone())
            .to(mailbox(to)?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(MailError::Build)?;
        match &self.transport {
            Transport::Outbox { dir } => write_outbox(dir, &message.formatted())
                .await
                .map_err(MailError::File),
            Transport::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(MailError::Smtp),
        }
    }
}

/// Orders the messages one process writes within the same nanosecond.
static OUTBOX_SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes one message into the outbox `dir` under a name that sorts by writing order, atomically
/// (a temporary file renamed), so a reader never sees half a message.
async fn write_outbox(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seq = OUTBOX_SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{nanos:020}-{:05}-{seq:06}", std::process::id());
    let temp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temp, bytes).await?;
    tokio::fs::rename(&temp, dir.join(format!("{name}.eml"))).await
}

/// One message read back from an outbox (see [`read_outbox`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The `.eml` file.
    pub path: PathBuf,
    /// The `To:` header.
    pub to: String,
    /// The `Subject:` header.
    pub subject: String,
    /// The body, decoded from quoted-printable when it was so encoded.
    pub body: String,
}

/// Reads every message in an outbox directory, oldest first: for development (what would have
/// been sent) and tests (the code a person received).
pub fn read_outbox(dir: &Path) -> std::io::Result<Vec<OutboxMessage>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "eml") {
            files.push(path);
        }
    }
    // The names sort in writing order (see `Mailer::outbox`).
    files.sort();
    let mut messages = Vec::with_capacity(files.len());
    for path in files {
        let raw = std::fs::read_to_string(&path)?;
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .unwrap_or((raw.as_str(), ""));
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                })
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let encoding = header("Content-Transfer-Encoding").to_ascii_lowercase();
        let body = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
            }
            _ => body.replace("\r\n", "\n"),
        };
        messages.push(OutboxMessage {
            to: header("To"),
            subject: header("Subject"),
            body,
            path,
        });
    }
    Ok(messages)
}

/// Decodes a quoted-printable body (RFC 2045 §6.7): `=\r\n` soft line breaks and `=XX` bytes.
fn decode_quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'=' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_round_trip_keeps_long_links_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mailer = Mailer::outbox(dir.path(), "Privacy <privacy@example.com>").expect("mailer");
        let link = format!(
            "https://privacy.example.com/requests/verify?token=pcv_{}",
            "A".repeat(43)
        );
        mailer
            .send(
                "someone@example.net",
                "Your code",
                &format!("Code: 123456\nOr open {link}\nCafé"),
            )
            .await
            .expect("sent");
        let messages = read_outbox(dir.path()).expect("read");
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].to, "someone@example.net");
        assert_eq!(messages[0].subject, "Your code");
        assert!(messages[0].body.contains(&link), "{}", messages[0].body);
        assert!(messages[0].body.contains("Café"), "{}", messages[0].body);
    }

    #[test]
    fn bad_addresses_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Mailer::outbox(dir.path(), "not an address"),
            Err(MailError::Address(_))
        ));
    }

    #[test]
    fn quoted_printable_decoding() {
        assert_eq!(decode_quoted_printable("a=3Db=\r\nc =C3=A9"), "a=bc é");
        assert_eq!(decode_quoted_printable("ends with ="), "ends with =");
    }
}
