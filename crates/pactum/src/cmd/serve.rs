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

use pactum_store::jobs::{ClaimedJob, NewSchedule, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

use crate::settings::{Layer, LogFormat, Settings, Tls};

/// The demo owner's sign-in address (`--demo`, created only when the store has no user yet).
const DEMO_EMAIL: &str = "demo@pactum.example";

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
    };
    let settings = Settings::resolve(args.config.as_deref(), &|k| std::env::var(k).ok(), flags)?;
    init_logging(settings.log_format);
    let map_dir = if args.demo {
        write_demo_map(&settings.data.join("demo-map"))?
    } else {
        settings.map.clone()
    };
    let site = build_site(&map_dir)?;
    let organisation = site.organisation.clone();
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
        let options = pactum_web::Options {
            tls: settings.tls.is_some(),
            ..pactum_web::Options::default()
        };
        let app = pactum_web::router(Arc::new(site), store.clone(), options);
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
        let jobs = start_background_work(&store, background.clone()).await?;
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
        });
        let service = app.into_make_service();
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

/// Loads and checks the map and renders everything the server publishes.
fn build_site(map_dir: &Path) -> anyhow::Result<pactum_web::Site> {
    let Some(loaded) = crate::cmd::load_without_errors(map_dir, "serve a privacy notice")? else {
        anyhow::bail!("the data map at {} has errors", map_dir.display());
    };
    let notice = pactum_publish::notice::build(&loaded.map);
    let ropa = pactum_publish::ropa::build(&loaded.map);
    let organisation = loaded
        .map
        .organisation
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    Ok(pactum_web::Site::from_parts(
        &organisation,
        &pactum_publish::html::render(&notice),
        &pactum_publish::markdown::render(&notice),
        serde_json::to_value(&notice).context("cannot serialise the notice")?,
        serde_json::to_value(&ropa).context("cannot serialise the record")?,
        report::json(&loaded),
    ))
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
/// instances on one PostgreSQL share the jobs: each slot is enqueued once and each job runs once.
async fn start_background_work(
    store: &pactum_store::Store,
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
    let worker = Worker::new(store.clone(), WorkerConfig::new(&[HOUSEKEEPING]));
    let handler_store = store.clone();
    let worker = tokio::spawn(async move {
        worker
            .run(
                move |job| {
                    let store = handler_store.clone();
                    async move { housekeeping(&store, &job).await }
                },
                shutdown,
            )
            .await;
    });
    Ok(vec![scheduler, worker])
}

/// Deletes what is no longer needed: sessions that can no longer be used (revoked over a day ago,
/// expired or idle), and finished jobs older than 30 days. Idempotent: a second run deletes nothing.
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
    tracing::info!(job = job.id, sessions, jobs, "housekeeping done");
    Ok(())
}
