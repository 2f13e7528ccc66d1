//! `pactum serve`: the web server (privacy notice page, JSON API with OpenAPI, health endpoints).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use pactum_mapfile::report;

use crate::cli::MapArg;

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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Serves until interrupted (Ctrl-C or SIGTERM), finishing requests in flight.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// Start with the demo organisation's map (written to DATA/demo-map, kept if it already exists).
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on. Plain HTTP: keep it on loopback, or put a TLS proxy in front.
    #[arg(long, default_value = "127.0.0.1:8080", env = "PACTUM_LISTEN")]
    pub listen: SocketAddr,
    /// Directory for Pactum's own state.
    #[arg(long, default_value = "pactum-data", env = "PACTUM_DATA")]
    pub data: PathBuf,
    /// Log format on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "PACTUM_LOG_FORMAT")]
    pub log_format: LogFormat,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let map_dir = if args.demo {
        write_demo_map(&args.data.join("demo-map"))?
    } else {
        args.map.map.clone()
    };
    let site = build_site(&map_dir)?;
    let organisation = site.organisation.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        // Tests and scripts read this line to find the port when listening on port 0.
        println!("Pactum is serving {organisation} at http://{addr}/");
        println!("  privacy notice: http://{addr}/   API: http://{addr}/api/v1/openapi.json");
        if args.demo {
            println!("  demo map: {} (edit it and restart)", map_dir.display());
        }
        tracing::info!(%addr, "listening");
        axum::serve(listener, pactum_web::router(Arc::new(site)))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server stopped with an error")
    })?;
    tracing::info!("shut down");
    Ok(ExitCode::SUCCESS)
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
    let loaded = pactum_mapfile::load_and_check(map_dir)
        .with_context(|| format!("cannot load the data map at {}", map_dir.display()))?;
    if loaded.has_errors() {
        eprint!("{}", report::human(&loaded));
        anyhow::bail!(
            "refusing to serve a privacy notice from a data map with errors ({})",
            report::summary(&loaded)
        );
    }
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
