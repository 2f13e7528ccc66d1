//! Server settings: defaults, then a TOML file, then `PACTUM_*` environment variables, then flags.
//!
//! Everything is checked once, at start-up; nothing reads the environment after that.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The effective settings of `pactum serve`.
#[derive(Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for Pactum's own state (the embedded SQLite store, the demo map).
    pub data: PathBuf,
    /// PostgreSQL URL for Pactum's own state when several instances share it; unset means SQLite in `data`.
    pub database_url: Option<Secret>,
    /// The data map to serve (ignored with `--demo`).
    pub map: PathBuf,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// TLS certificate and key (PEM). Without them the server speaks plain HTTP.
    pub tls: Option<Tls>,
    /// The address people reach the site at; links in emails use it. Unset: the listening address.
    pub public_url: Option<String>,
    /// The sender of emails to data subjects. Unset: the map's rights contact email.
    pub mail_from: Option<String>,
    /// SMTP server for emails (`smtps://user:pass@host:465`). Unset: messages are written to
    /// DATA/outbox as .eml files.
    pub smtp_url: Option<Secret>,
    /// Seconds a claimed job stays leased to its instance without a heartbeat: after an instance
    /// dies mid-job, another takes the job over once this has passed. See [`Settings::job_lease`].
    pub job_lease: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client's address (used for
    /// rate limits). Empty: the connection's peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Shortest job lease in seconds: the heartbeat (a third of it) must stay well above the store's
/// round trip.
pub const MIN_JOB_LEASE: u64 = 5;

/// Longest job lease in seconds (a day): a crashed instance's job should not wait longer.
pub const MAX_JOB_LEASE: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A value that is never printed: `Debug`, `Display` and serialisation redact it.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that needs it (connecting to the store).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with any password replaced: `postgres://user:***@host/db`.
    pub fn redacted(&self) -> String {
        match (self.0.split_once("://"), self.0.rfind('@')) {
            (Some((scheme, rest)), Some(_)) => {
                let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            (Some((scheme, rest)), None) => format!("{scheme}://{rest}"),
            _ => "***".to_owned(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("database_url", &self.database_url)
            .field("map", &self.map)
            .field("log_format", &self.log_format)
            .field("tls", &self.tls)
            .field("public_url", &self.public_url)
            .field("mail_from", &self.mail_from)
            .field("smtp_url", &self.smtp_url)
            .field("job_lease", &self.job_lease)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("pactum-data"),
            database_url: None,
            map: PathBuf::from("."),
            log_format: LogFormat::Text,
            tls: None,
            public_url: None,
            mail_from: None,
            smtp_url: None,
            job_lease: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

/// One layer of settings: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub database_url: Option<Secret>,
    pub map: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub tls: Option<Tls>,
    pub public_url: Option<String>,
    pub mail_from: Option<String>,
    pub smtp_url: Option<Secret>,
    pub job_lease: Option<u64>,
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
}

impl Settings {
    fn apply(&mut self, layer: Layer) {
        if let Some(v) = layer.listen {
            self.listen = v;
        }
        if let Some(v) = layer.data {
            self.data = v;
        }
        if let Some(v) = layer.database_url {
            self.database_url = Some(v);
        }
        if let Some(v) = layer.map {
            self.map = v;
        }
        if let Some(v) = layer.log_format {
            self.log_format = v;
        }
        if let Some(v) = layer.tls {
            self.tls = Some(v);
        }
        if let Some(v) = layer.public_url {
            self.public_url = Some(v);
        }
        if let Some(v) = layer.mail_from {
            self.mail_from = Some(v);
        }
        if let Some(v) = layer.smtp_url {
            self.smtp_url = Some(v);
        }
        if let Some(v) = layer.job_lease {
            self.job_lease = v;
        }
        if let Some(v) = layer.trusted_proxies {
            self.trusted_proxies = v;
        }
    }

    /// Builds the settings from the layers, in order. `env` is passed in (not read here) so tests
    /// control it.
    pub fn resolve(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        flags: Layer,
    ) -> anyhow::Result<Settings> {
        let mut settings = Settings::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            let layer: Layer = toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?;
            settings.apply(layer);
        }
        settings.apply(env_layer(env)?);
        settings.apply(flags);
        if let Some(tls) = &settings.tls {
            for (what, path) in [("certificate", &tls.cert), ("key", &tls.key)] {
                if !path.is_file() {
                    bail!("TLS {what} {} does not exist", path.display());
                }
            }
        }
        if let Some(url) = &settings.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("public_url `{url}` must start with https:// (or http:// for local use)");
        }
        if !(MIN_JOB_LEASE..=MAX_JOB_LEASE).contains(&settings.job_lease) {
            bail!(
                "job_lease (PACTUM_JOB_LEASE) is {} seconds: it must be from {MIN_JOB_LEASE} to \
                 {MAX_JOB_LEASE} (the heartbeat is a third of it; after a crash a job waits this long)",
                settings.job_lease
            );
        }
        Ok(settings)
    }

    /// How long a claimed job is leased to this instance without a heartbeat.
    pub fn job_lease(&self) -> Duration {
        Duration::from_secs(self.job_lease)
    }

    /// How often the worker extends the lease of the job it runs: a third of the lease, so two
    /// heartbeats may be missed before another instance takes the job over.
    pub fn job_heartbeat(&self) -> Duration {
        self.job_lease() / 3
    }

    /// The settings as TOML, secrets redacted.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("cannot render the settings as TOML")
    }
}

fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Layer> {
    let parse =
        |var: &str| -> anyhow::Result<Option<String>> { Ok(env(var).filter(|v| !v.is_empty())) };
    let mut layer = Layer::default();
    if let Some(v) = parse("PACTUM_LISTEN")? {
        layer.listen = Some(v.parse().with_context(|| {
            format!("PACTUM_LISTEN=`{v}` is not an address such as 127.0.0.1:8080")
        })?);
    }
    layer.data = parse("PACTUM_DATA")?.map(PathBuf::from);
    layer.database_url = parse("PACTUM_DATABASE_URL")?.map(Secret);
    layer.map = parse("PACTUM_MAP")?.map(PathBuf::from);
    if let Some(v) = parse("PACTUM_LOG_FORMAT")? {
        layer.log_format = Some(match v.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("PACTUM_LOG_FORMAT=`{other}`: use text or json"),
        });
    }
    layer.public_url = parse("PACTUM_PUBLIC_URL")?;
    layer.mail_from = parse("PACTUM_MAIL_FROM")?;
    layer.smtp_url = parse("PACTUM_SMTP_URL")?.map(Secret);
    if let Some(v) = parse("PACTUM_JOB_LEASE")? {
        layer.job_lease = Some(v.parse().with_context(|| {
            format!("PACTUM_JOB_LEASE=`{v}` is not a whole number of seconds such as 60")
        })?);
    }
    if let Some(v) = parse("PACTUM_TRUSTED_PROXIES")? {
        layer.trusted_proxies = Some(
            v.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().with_context(|| {
                        format!(
                            "PACTUM_TRUSTED_PROXIES: `{a}` is not an IP address such as 10.0.0.5"
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        );
    }
    match (parse("PACTUM_TLS_CERT")?, parse("PACTUM_TLS_KEY")?) {
        (Some(cert), Some(key)) => {
            layer.tls = Some(Tls {
                cert: cert.into(),
                key: key.into(),
            })
        }
        (None, None) => {}
        _ => bail!("set both PACTUM_TLS_CERT and PACTUM_TLS_KEY, or neither"),
    }
    Ok(layer)
}

/// A commented example configuration file.
pub const EXAMPLE: &str = r#"# Pactum server configuration (pactum serve --config pactum.toml).
# Precedence: built-in defaults < this file < PACTUM_* environment variables < command-line flags.

# Address to listen on (PACTUM_LISTEN, --listen). Plain HTTP belongs on loopback; give `tls` to
# serve HTTPS directly, or put a TLS-terminating proxy in front.
listen = "127.0.0.1:8080"

# Directory for Pactum's own state: the embedded SQLite store and the demo map (PACTUM_DATA, --data).
data = "pactum-data"

# PostgreSQL for Pactum's own state when several instances share the work (PACTUM_DATABASE_URL,
# --database). Prefer the environment variable: this file is often committed.
# database_url = "postgres://pactum@db.internal/pactum"

# The data map to serve (PACTUM_MAP, --map).
map = "privacy-map"

# Log format on standard error: "text" or "json" (PACTUM_LOG_FORMAT, --log-format).
log_format = "text"

# The address people reach this site at (PACTUM_PUBLIC_URL, --public-url): links in emails to data
# subjects (confirmation and download links) are built on it. Default: the listening address.
# public_url = "https://privacy.example.com"

# The sender of emails to data subjects (PACTUM_MAIL_FROM). Default: the map's rights contact email.
# mail_from = "Example Privacy <privacy@example.com>"

# SMTP server for those emails (PACTUM_SMTP_URL): smtps://user:pass@host:465 for implicit TLS, or
# smtp://user:pass@host:587?tls=required for STARTTLS. Prefer the environment variable. Without it,
# each message is written to DATA/outbox as an .eml file (development and demos).
# smtp_url = "smtps://pactum:secret@smtp.example.com:465"

# Seconds a job (carrying out an approved request, housekeeping) stays leased to the instance that
# claimed it (PACTUM_JOB_LEASE). The instance extends the lease every third of it while it works; if
# it dies, another instance sharing the database takes the job over once the lease has run out.
# From 5 to 86400.
job_lease = 60

# Reverse proxies in front of Pactum whose X-Forwarded-For header is believed for the client's address
# (PACTUM_TRUSTED_PROXIES, comma-separated). Login and request limits count per client address: behind
# a proxy that is not listed here, every visitor shares the proxy's address (and its limits).
# trusted_proxies = ["127.0.0.1"]

# HTTPS with these PEM files (PACTUM_TLS_CERT and PACTUM_TLS_KEY, --tls-cert and --tls-key).
# [tls]
# cert = "/etc/pactum/tls/cert.pem"
# key = "/etc/pactum/tls/key.pem"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pactum.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata = \"from-file\"\nlog_format = \"json\"\n",
        )
        .expect("write");
        let env = |k: &str| (k == "PACTUM_DATA").then(|| "from-env".to_owned());
        let flags = Layer {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9100))),
            ..Layer::default()
        };
        let s = Settings::resolve(Some(&file), &env, flags).expect("resolves");
        assert_eq!(s.listen.port(), 9100, "flag beats file");
        assert_eq!(s.data, PathBuf::from("from-env"), "env beats file");
        assert_eq!(s.log_format, LogFormat::Json, "file beats default");
        assert_eq!(s.map, PathBuf::from("."), "default");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pactum.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").expect("write");
        let err =
            Settings::resolve(Some(&file), &no_env, Layer::default()).expect_err("unknown key");
        assert!(
            format!("{err:#}").contains("unknown field `lisen`"),
            "{err:#}"
        );
        let env = |k: &str| (k == "PACTUM_LISTEN").then(|| "nowhere".to_owned());
        let err = Settings::resolve(None, &env, Layer::default()).expect_err("bad address");
        assert!(format!("{err:#}").contains("PACTUM_LISTEN"));
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let env = |k: &str| {
            (k == "PACTUM_DATABASE_URL").then(|| "postgres://pactum:hunter2@db/pactum".to_owned())
        };
        let s = Settings::resolve(None, &env, Layer::default()).expect("resolves");
        let shown = format!("{s:?}\n{}", s.to_toml().expect("toml"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://pactum:***@db/pactum"), "{shown}");
        assert_eq!(
            s.database_url.as_ref().map(Secret::expose),
            Some("postgres://pactum:hunter2@db/pactum")
        );
    }

    #[test]
    fn example_config_is_valid() {
        let layer: Layer = toml::from_str(EXAMPLE).expect("example parses");
        assert_eq!(layer.listen, Some(SocketAddr::from(([127, 0, 0, 1], 8080))));
        assert_eq!(layer.job_lease, Some(Settings::default().job_lease));
    }

    #[test]
    fn trusted_proxies_come_from_the_file_or_the_environment() {
        let env = |k: &str| (k == "PACTUM_TRUSTED_PROXIES").then(|| "10.0.0.5, ::1".to_owned());
        let s = Settings::resolve(None, &env, Layer::default()).expect("resolves");
        assert_eq!(
            s.trusted_proxies,
            vec![
                "10.0.0.5".parse::<std::net::IpAddr>().expect("ip"),
                "::1".parse().expect("ip")
            ]
        );
        let bad = |k: &str| (k == "PACTUM_TRUSTED_PROXIES").then(|| "proxy.internal".to_owned());
        let err = Settings::resolve(None, &bad, Layer::default()).expect_err("not an address");
        assert!(format!("{err:#}").contains("proxy.internal"), "{err:#}");
        let layer: Layer = toml::from_str("trusted_proxies = [\"127.0.0.1\"]").expect("toml");
        assert_eq!(layer.trusted_proxies.map(|v| v.len()), Some(1));
    }

    #[test]
    fn job_lease_is_layered_and_checked() {
        let s = Settings::resolve(None, &no_env, Layer::default()).expect("resolves");
        assert_eq!(
            (s.job_lease(), s.job_heartbeat()),
            (Duration::from_secs(60), Duration::from_secs(20))
        );
        let env = |k: &str| (k == "PACTUM_JOB_LEASE").then(|| "9".to_owned());
        let s = Settings::resolve(None, &env, Layer::default()).expect("resolves");
        assert_eq!(
            (s.job_lease(), s.job_heartbeat()),
            (Duration::from_secs(9), Duration::from_secs(3))
        );
        assert!(s.to_toml().expect("toml").contains("job_lease = 9"));
        for bad in ["4", "0", "86401"] {
            let env = |k: &str| (k == "PACTUM_JOB_LEASE").then(|| bad.to_owned());
            let err = Settings::resolve(None, &env, Layer::default()).expect_err(bad);
            assert!(
                format!("{err:#}").contains(&format!(
                    "job_lease (PACTUM_JOB_LEASE) is {bad} seconds: it must be from 5"
                )),
                "{err:#}"
            );
        }
        for bad in ["60s", "-5", "1.5"] {
            let env = |k: &str| (k == "PACTUM_JOB_LEASE").then(|| bad.to_owned());
            let err = Settings::resolve(None, &env, Layer::default()).expect_err(bad);
            assert!(format!("{err:#}").contains("PACTUM_JOB_LEASE"), "{err:#}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pactum.toml");
        std::fs::write(&file, "job_lease = 2\n").expect("write");
        let err = Settings::resolve(Some(&file), &no_env, Layer::default()).expect_err("too short");
        assert!(
            format!("{err:#}").contains("job_lease (PACTUM_JOB_LEASE) is 2 seconds"),
            "{err:#}"
        );
    }
}
