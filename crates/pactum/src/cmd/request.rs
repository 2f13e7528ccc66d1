//! `pactum request run`: run a data-subject request directly against the map's datastores,
//! without a server (for engineers and for tests).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use pactum_domain::model::IdentityKind;
use pactum_mapfile::report;

use crate::cli::MapArg;
use crate::cmd::notice::write_output;

#[derive(Debug, Args)]
pub struct RequestArgs {
    #[command(subcommand)]
    pub command: RequestCommand,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Run one request now and print its result.
    Run(RunArgs),
}

/// Request types this command runs. Erasure and the others go through the server's checkpointed
/// workflow as they land; access is read-only and safe to run directly.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RequestType {
    /// Every record of the person, as JSON, by datastore and collection.
    Access,
}

/// Exit status: 0 done, 1 nothing found for the identity, 2 the request could not run.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub map: MapArg,
    /// The request type.
    #[arg(long = "type", value_enum)]
    pub kind: RequestType,
    /// An identity of the person: `email=ADDR`, `phone=NUMBER`, `user_id=ID`, ... (repeatable).
    #[arg(long = "identity", value_name = "KIND=VALUE", required = true)]
    pub identities: Vec<String>,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<std::path::PathBuf>,
}

pub fn run(args: &RequestArgs) -> anyhow::Result<ExitCode> {
    let RequestCommand::Run(args) = &args.command;
    let identities = args
        .identities
        .iter()
        .map(|s| parse_identity(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let loaded = pactum_mapfile::load_and_check(&args.map.map)
        .with_context(|| format!("cannot load the data map at {}", args.map.map.display()))?;
    if loaded.has_errors() {
        eprint!("{}", report::human(&loaded));
        bail!(
            "refusing to run a request on a data map with errors ({}): it could miss records",
            report::summary(&loaded)
        );
    }
    let map = &loaded.map;
    let url_of = |ds: &str| {
        map.datastores
            .get(ds)
            .and_then(|d| d.connection_env.as_ref())
            .and_then(|var| std::env::var(var).ok())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = match args.kind {
        RequestType::Access => runtime
            .block_on(pactum_requests::access(map, &identities, &url_of))
            .context("the access request failed")?,
    };
    let text = serde_json::to_string_pretty(&result)?;
    write_output(args.out.as_deref(), &text)?;
    eprintln!(
        "found {} records in {} collections{}",
        result.record_count(),
        result.records.len(),
        if result.manual_tasks.is_empty() {
            String::new()
        } else {
            format!(
                "; {} manual tasks for people to complete",
                result.manual_tasks.len()
            )
        }
    );
    Ok(if result.record_count() == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `email=ada@example.com` -> (Email, "ada@example.com").
fn parse_identity(text: &str) -> anyhow::Result<(IdentityKind, String)> {
    let Some((kind, value)) = text.split_once('=') else {
        bail!("identity `{text}` must be KIND=VALUE, e.g. email=ada@example.com");
    };
    let kind = match kind {
        "email" => IdentityKind::Email,
        "phone" => IdentityKind::Phone,
        "user_id" => IdentityKind::UserId,
        "customer_id" => IdentityKind::CustomerId,
        "device_id" => IdentityKind::DeviceId,
        "cookie_id" => IdentityKind::CookieId,
        "username" => IdentityKind::Username,
        "external_id" => IdentityKind::ExternalId,
        "ip_address" => IdentityKind::IpAddress,
        other => bail!(
            "unknown identity kind `{other}`: use email, phone, user_id, customer_id, device_id, cookie_id, username, external_id or ip_address"
        ),
    };
    if value.trim().is_empty() {
        bail!("identity `{text}` has an empty value");
    }
    Ok((kind, value.trim().to_owned()))
}
