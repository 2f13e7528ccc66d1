//! `pactum serve`: the web server (privacy notice page, JSON API with OpenAPI, admin console and
//! admin API, health endpoints) over Pactum's store.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use pactum_mapfile::report;

use pactum_store::holds::DEFERRED_ERASURE_JOB;
use pactum_store::jobs::{ClaimedJob, NewSchedule, Worker, WorkerConfig};
use pactum_store::requests::{REQUEST_EXECUTE_JOB, REQUEST_TELL_JOB};
use tokio_util::sync::CancellationToken;

use crate::demo::DemoDatastores;
use crate::settings::{Layer, LogFormat, Settings, Tls};

/// The demo owner's sign-in address (`--demo`, created only when the store has no user yet).
const DEMO_EMAIL: &str = "demo@pactum.example";

/// Where `--demo` seeds the demo map's datastores, under the data directory.
const DEMO_DATASTORES: &str = "demo-datastores";

/// The demo organisation: the managed-IT support desk example, embedded in the binary.
const DEMO_MAP: &[(&str, &str)] = &[
    (
        "organisation.yml",
        include_str!("../../../../examples/helpdeskly/organisation.yml"),
    ),
    (
        "subjects.yml",
        include_str!("../../../../examples/helpdeskly/subjects.yml"),
    ),
    (
        "purposes.yml",
        include_str!("../../../../examples/helpdeskly/purposes.yml"),
    ),
    (
        "activities.yml",
        include_str!("../../../../examples/helpdeskly/activities.yml"),
    ),
    (
        "systems.yml",
        include_str!("../../../../examples/helpdeskly/systems.yml"),
    ),
    (
        "datastores.yml",
        include_str!("../../../../examples/helpdeskly/datastores.yml"),
    ),
    (
        "processors.yml",
        include_str!("../../../../examples/helpdeskly/processors.yml"),
    ),
    (
        "retention.yml",
        include_str!("../../../../examples/helpdeskly/retention.yml"),
    ),
    (
        "rights.yml",
        include_str!("../../../../examples/helpdeskly/rights.yml"),
    ),
];

/// Serves until interrupted (Ctrl-C or SIGTERM), finishing requests in flight. Settings come from
/// defaults, then `--config FILE`, then `PACTUM_*` variables, then these flags (`pactum config example`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "PACTUM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Start with the demo organisation's map (written to DATA/demo-map, kept if it already exists)
    /// and, when the store has no user yet, a demo owner account whose password is printed once.
    #[arg(long)]
    pub demo: bool,
    /// The data map to serve [default: .]
    #[arg(long, short = 'm')]
    pub map: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]. Plain HTTP: keep it on loopback, or use TLS.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory for Pactum's own state [default: pactum-data]
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Log format on standard error [default: text]
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// The address people reach the site at (links in emails use it) [default: the listening
    /// address].
    #[arg(long)]
    pub public_url: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let flags = Layer {
        listen: args.listen,
        data: args.data.clone(),
        database_url: None,
        map: args.map.clone(),
        log_format: args.log_format,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(Tls {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        public_url: args.public_url.clone(),
        mail_from: None,
        smtp_url: None,
        job_lease: None,
        trusted_proxies: None,
    };
    let settings = Settings::resolve(args.config.as_deref(), &|k| std::env::var(k).ok(), flags)?;
    init_logging(settings.log_format);
    let map_dir = if args.demo {
        write_demo_map(&settings.data.join("demo-map"))?
    } else {
        settings.map.clone()
    };
    let loaded = load_map(&map_dir)?;
    let demo = if args.demo {
        Some(demo_urls(&settings.data, &map_dir)?)
    } else {
        None
    };
    let organisation = loaded
        .map
        .organisation
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let store = open_store(&settings).await?;
        let demo_account = if args.demo {
            create_demo_account(&store).await?
        } else {
            None
        };
        let listener = std::net::TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        listener
            .set_nonblocking(true)
            .context("cannot configure the listening socket")?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let scheme = if settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        let site = build_site(&loaded, &public_url)?;
        let map = loaded.map;
        let mailer = mailer(&settings, &map)?;
        let options = pactum_web::Options {
            tls: settings.tls.is_some(),
            public_url: public_url.clone(),
            mailer: Some(mailer.clone()),
            trusted_proxies: settings.trusted_proxies.clone(),
            ..pactum_web::Options::default()
        };
        let package_lifetime = options.package_lifetime;
        let app = pactum_web::router(Arc::new(site), store.clone(), options);
        let map = Arc::new(map);
        let url_map = Arc::clone(&map);
        let demo_urls = demo.clone();
        let executor = Arc::new(crate::executor::Executor {
            store: store.clone(),
            map: Arc::clone(&map),
            url_of: Arc::new(move |key: &str| datastore_url(&url_map, key, demo_urls.as_ref())),
            mailer: Some(mailer),
            public_url,
            organisation: organisation.clone(),
            package_lifetime,
            hash_key: erasure_key(args.demo)?,
            connections: tokio::sync::Mutex::new(pactum_requests::Connections::default()),
        });
        let notifier = Arc::new(crate::notify::Notifier {
            store: store.clone(),
            map: Arc::clone(&map),
            sender: pactum_requests::recipients::Sender::new()
                .context("cannot build the HTTP client for recipients' webhooks")?,
            organisation: organisation.clone(),
        });
        // Tests and scripts read the first line to find the port when listening on port 0. Standard
        // output may be closed early by whoever read it: a server must not die of that.
        let mut banner = format!(
            "Pactum is serving {organisation} at {scheme}://{addr}/\n  privacy notice: {scheme}://{addr}/   API: {scheme}://{addr}/api/v1/openapi.json\n"
        );
        banner.push_str(&format!("  admin console: {scheme}://{addr}/admin\n"));
        if args.demo {
            banner.push_str(&format!(
                "  demo map: {} (edit it and restart)\n",
                map_dir.display()
            ));
        }
        if let Some(demo) = &demo {
            banner.push_str(&format!(
                "  demo datastores: {} (SQLite; try a request for {})\n",
                settings.data.join(DEMO_DATASTORES).display(),
                demo.subject_email
            ));
            tracing::info!(datastores = ?demo.urls.keys().collect::<Vec<_>>(), "demo datastores");
        }
        if let Some(password) = &demo_account {
            // Printed once, on standard output only: never logged, never stored in clear.
            banner.push_str(&format!(
                "  demo sign-in: {DEMO_EMAIL} / {password} (shown once; add accounts with `pactum admin create-user`)\n"
            ));
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
        drop(stdout);
        tracing::info!(%addr, tls = settings.tls.is_some(), "listening");
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        let background = CancellationToken::new();
        let jobs = start_background_work(&store, executor, notifier, &settings, background.clone()).await?;
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
        });
        // Connect info gives handlers the client's address, for rate limits (never logged).
        let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        match &settings.tls {
            Some(tls) => {
                let config =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                        .await
                        .with_context(|| {
                            format!(
                                "cannot load the TLS certificate {} and key {}",
                                tls.cert.display(),
                                tls.key.display()
                            )
                        })?;
                axum_server::from_tcp_rustls(listener, config)
                    .context("cannot serve TLS on the socket")?
                    .handle(handle)
                    .serve(service)
                    .await
            }
            None => {
                axum_server::from_tcp(listener)
                    .context("cannot serve on the socket")?
                    .handle(handle)
                    .serve(service)
                    .await
            }
        }
        .context("the server stopped with an error")?;
        // The worker finishes the job it holds; the scheduler stops between ticks.
        background.cancel();
        for task in jobs {
            let _ = task.await;
        }
        store.close().await;
        anyhow::Ok(())
    })?;
    tracing::info!("shut down");
    Ok(ExitCode::SUCCESS)
}

/// Opens the store: PostgreSQL (or SQLite) at the configured database URL, else SQLite in the data
/// directory. The URL is never printed: it may hold a password.
async fn open_store(settings: &Settings) -> anyhow::Result<pactum_store::Store> {
    match &settings.database_url {
        Some(url) => pactum_store::Store::open(url.expose())
            .await
            .with_context(|| format!("cannot open the store at {}", url.redacted())),
        None => {
            pactum_store::Store::open_dir(&settings.data, pactum_store::StoreOptions::default())
                .await
                .with_context(|| format!("cannot open the store in {}", settings.data.display()))
        }
    }
}

/// With `--demo`, creates an owner account with a random password when the store has no user yet,
/// and returns the password to print once.
async fn create_demo_account(store: &pactum_store::Store) -> anyhow::Result<Option<String>> {
    if !store
        .list_users()
        .await
        .context("cannot list the users")?
        .is_empty()
    {
        return Ok(None);
    }
    let password =
        pactum_store::accounts::generate_password().context("cannot generate a password")?;
    store
        .create_user(
            &pactum_store::audit::Actor::System,
            DEMO_EMAIL,
            &password,
            pactum_store::accounts::Role::Owner,
        )
        .await
        .context("cannot create the demo account")?;
    Ok(Some(password))
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second init (tests calling run twice) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn write_demo_map(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in DEMO_MAP {
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(dir.to_owned())
}

/// With `--demo`: seeds the datastores of the map being served as SQLite files in
/// DATA/demo-datastores (files that exist are kept as they are) and returns their URLs, which the
/// work that runs requests resolves through [`datastore_url`].
fn demo_urls(data: &Path, map_dir: &Path) -> anyhow::Result<DemoDatastores> {
    let Some(loaded) = crate::cmd::load_without_errors(map_dir, "seed the demo datastores")? else {
        anyhow::bail!("the data map at {} has errors", map_dir.display());
    };
    crate::demo::seed_datastores(&data.join(DEMO_DATASTORES), &loaded.map)
}

/// The connection URL of datastore `key`: its demo datastore when serving `--demo`, else the
/// environment variable the map names in its `connection_env`. `None` when neither gives one.
pub(crate) fn datastore_url(
    map: &pactum_domain::model::DataMap,
    key: &str,
    demo: Option<&DemoDatastores>,
) -> Option<String> {
    if let Some(url) = demo.and_then(|d| d.urls.get(key)) {
        return Some(url.clone());
    }
    map.datastores
        .get(key)?
        .connection_env
        .as_ref()
        .and_then(|var| std::env::var(var).ok())
}

/// Loads and checks the map: the server refuses a map with errors before it binds anything.
fn load_map(map_dir: &Path) -> anyhow::Result<pactum_mapfile::Loaded> {
    match crate::cmd::load_without_errors(map_dir, "serve a privacy notice")? {
        Some(loaded) => Ok(loaded),
        None => anyhow::bail!("the data map at {} has errors", map_dir.display()),
    }
}

/// Renders everything the server publishes. When the map offers requests, the notice's rights
/// section links to the privacy centre at `public_url`.
fn build_site(
    loaded: &pactum_mapfile::Loaded,
    public_url: &str,
) -> anyhow::Result<pactum_web::Site> {
    let mut notice = pactum_publish::notice::build(&loaded.map);
    let ropa = pactum_publish::ropa::build(&loaded.map);
    let organisation = loaded
        .map
        .organisation
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let policy = pactum_web::requests::RequestPolicy::from_map(&loaded.map);
    if !policy.offered.is_empty()
        && let Some(rights) = notice.sections.iter_mut().find(|s| s.id == "rights")
    {
        use pactum_publish::notice::{Block, Inline};
        let url = format!(
            "{}{}",
            public_url.trim_end_matches('/'),
            pactum_web::PRIVACY_CENTRE_PATH
        );
        rights.blocks.insert(
            0,
            Block::Paragraph {
                content: vec![
                    Inline::Strong("Make a request online:".to_owned()),
                    Inline::Text(" ".to_owned()),
                    Inline::Link {
                        text: url.clone(),
                        href: url,
                    },
                    Inline::Text(
                        " (we email you a code to confirm it is you, and you can follow the request there)."
                            .to_owned(),
                    ),
                ],
            },
        );
    }
    Ok(pactum_web::Site::from_parts(
        &organisation,
        &pactum_publish::html::render(&notice),
        &pactum_publish::markdown::render(&notice),
        serde_json::to_value(&notice).context("cannot serialise the notice")?,
        serde_json::to_value(&ropa).context("cannot serialise the record")?,
        report::json(loaded),
    )
    // The privacy centre takes exactly the requests the notice promises.
    .with_requests(policy))
}

/// Where emails to data subjects go: the SMTP server when one is configured, else `.eml` files in
/// DATA/outbox. The sender is the configured address, else the map's rights contact email.
fn mailer(
    settings: &Settings,
    map: &pactum_domain::model::DataMap,
) -> anyhow::Result<pactum_web::mail::Mailer> {
    let from = settings
        .mail_from
        .clone()
        .or_else(|| map.rights.as_ref().and_then(|r| r.contact.email.clone()))
        .unwrap_or_else(|| "privacy@localhost".to_owned());
    match &settings.smtp_url {
        Some(url) => pactum_web::mail::Mailer::smtp(url.expose(), &from)
            .with_context(|| format!("cannot use the SMTP server {}", url.redacted())),
        None => {
            let outbox = settings.data.join("outbox");
            pactum_web::mail::Mailer::outbox(&outbox, &from)
                .with_context(|| format!("cannot use the mail outbox {}", outbox.display()))
        }
    }
}

/// The key for `keyed_hash` erasure in the server: `PACTUM_ERASURE_KEY`; with `--demo` and no such
/// variable, a random key for this run (the demo's hashed values then differ between runs).
fn erasure_key(demo: bool) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(key) = std::env::var_os("PACTUM_ERASURE_KEY") {
        return Ok(Some(key.into_encoded_bytes()));
    }
    if demo {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        return Ok(Some(key));
    }
    Ok(None)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The job kind of the recurring housekeeping run.
const HOUSEKEEPING: &str = "housekeeping";

/// Starts the job worker and the scheduler, and makes sure the housekeeping schedule exists. Several
/// instances on one PostgreSQL share the jobs: each slot is enqueued once and each job is claimed by
/// one instance at a time, under the configured lease (another instance takes it over only once the
/// lease has run out without a heartbeat).
async fn start_background_work(
    store: &pactum_store::Store,
    executor: Arc<crate::executor::Executor>,
    notifier: Arc<crate::notify::Notifier>,
    settings: &Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    store
        .put_schedule(&NewSchedule {
            name: HOUSEKEEPING.to_owned(),
            kind: HOUSEKEEPING.to_owned(),
            payload: serde_json::json!({}),
            interval: std::time::Duration::from_secs(3600),
            max_attempts: 3,
            first_run_at: None,
        })
        .await
        .context("cannot register the housekeeping schedule")?;
    let scheduler = tokio::spawn(pactum_store::jobs::run_scheduler(
        store.clone(),
        std::time::Duration::from_secs(15),
        shutdown.clone(),
    ));
    let mut config = WorkerConfig::new(&[
        HOUSEKEEPING,
        REQUEST_EXECUTE_JOB,
        REQUEST_TELL_JOB,
        DEFERRED_ERASURE_JOB,
        crate::notify::NOTIFY_JOB,
    ]);
    config.lease = settings.job_lease();
    config.heartbeat = settings.job_heartbeat();
    tracing::info!(worker = %config.id, lease_seconds = settings.job_lease, "job worker configured");
    let worker = Worker::new(store.clone(), config);
    let handler_store = store.clone();
    let worker = tokio::spawn(async move {
        worker
            .run(
                move |job| {
                    let store = handler_store.clone();
                    let executor = Arc::clone(&executor);
                    let notifier = Arc::clone(&notifier);
                    async move {
                        match job.kind.as_str() {
                            REQUEST_EXECUTE_JOB => executor.run(&job).await,
                            REQUEST_TELL_JOB => executor.run_tell(&job).await,
                            DEFERRED_ERASURE_JOB => executor.run_deferred(&job).await,
                            crate::notify::NOTIFY_JOB => notifier.run(&job).await,
                            HOUSEKEEPING => housekeeping(&store, &job).await,
                            other => Err(format!("no handler for jobs of kind `{other}`")),
                        }
                    }
                },
                shutdown,
            )
            .await;
    });
    Ok(vec![scheduler, worker])
}

/// Deletes what is no longer needed: sessions that can no longer be used (revoked over a day ago,
/// expired or idle), finished jobs older than 30 days, expired download packages, ended rate-limit
/// windows, deferred erasures applied over a day ago, and requests nobody confirmed within a week. Idempotent: a second run deletes nothing.
async fn housekeeping(store: &pactum_store::Store, job: &ClaimedJob) -> Result<(), String> {
    let now = store.now();
    let sessions = store
        .purge_sessions(now.minus(std::time::Duration::from_secs(24 * 3600)))
        .await
        .map_err(|e| e.to_string())?;
    let jobs = store
        .purge_finished_jobs(now.minus(std::time::Duration::from_secs(30 * 24 * 3600)))
        .await
        .map_err(|e| e.to_string())?;
    let packages = store
        .purge_expired_packages()
        .await
        .map_err(|e| e.to_string())?;
    let counters = store.purge_rate_limits().await.map_err(|e| e.to_string())?;
    // Applied deferred erasures: their plan was cleared when applied; the row goes after a day.
    let deferrals = store
        .purge_applied_deferrals(now.minus(std::time::Duration::from_secs(24 * 3600)))
        .await
        .map_err(|e| e.to_string())?;
    // Nobody confirmed these within a week: the address was never shown to be theirs.
    let unconfirmed = store
        .purge_unverified_requests(now.minus(std::time::Duration::from_secs(7 * 24 * 3600)))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        job = job.id,
        sessions,
        jobs,
        packages,
        counters,
        deferrals,
        unconfirmed,
        "housekeeping done"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pactum_domain::model::{ConnectorKind, DataMap, Datastore};

    fn map_with(key: &str, env: &str) -> DataMap {
        let mut map = DataMap::default();
        map.datastores.insert(
            key.to_owned(),
            Datastore {
                name: None,
                description: None,
                system: None,
                kind: ConnectorKind::Postgres,
                connection_env: Some(env.to_owned()),
                auth: None,
                instructions: None,
                role: pactum_domain::model::Role::default(),
                controller: None,
                collections: Default::default(),
            },
        );
        map
    }

    #[test]
    fn datastore_url_prefers_the_demo_file_then_the_environment() {
        // PATH is set wherever tests run: it stands in for a connection variable.
        let map = map_with("web_db", "PATH");
        let demo = DemoDatastores {
            urls: [("web_db".to_owned(), "sqlite:///tmp/web_db.db".to_owned())].into(),
            subject_email: "alex.morgan@example.com".to_owned(),
        };
        assert_eq!(
            datastore_url(&map, "web_db", Some(&demo)).as_deref(),
            Some("sqlite:///tmp/web_db.db")
        );
        assert_eq!(
            datastore_url(&map, "web_db", None),
            std::env::var("PATH").ok()
        );
        assert_eq!(datastore_url(&map, "other", Some(&demo)), None);
        let unset = map_with("web_db", "PACTUM_TEST_VARIABLE_THAT_IS_NEVER_SET");
        assert_eq!(datastore_url(&unset, "web_db", None), None);
    }
}
