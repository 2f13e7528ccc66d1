//! `pactum request run`: run a data-subject request directly against the map's datastores,
//! without a server (for engineers and for tests).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use pactum_domain::model::IdentityKind;
use pactum_store::SQLITE_FILE_NAME;
use pactum_store::audit::Actor;
use pactum_store::secrets::{ERASURE_HASH_KEY, SecretError};

use crate::cli::MapArg;
use crate::cmd::admin::StoreArgs;
use crate::cmd::keys::KeyArgs;
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

/// Request types this command runs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RequestType {
    /// Every record of the person, as JSON, by datastore and collection.
    Access,
    /// Apply each personal field's erasure strategy to the person's records (one transaction per
    /// datastore; every affected row counted).
    Erasure,
    /// Write the corrected values given with `--correct` into every field of the person's records
    /// that declares that attribute (`rectify: name` in the map).
    Rectification,
}

/// Exit status: 0 done, 1 nothing found for the identity, 2 the request could not run (or, for an
/// erasure, a datastore's transaction was rolled back).
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
    /// For a rectification: an attribute the map lets people correct and its right value,
    /// `name=Ada King` (repeatable).
    #[arg(long = "correct", value_name = "ATTRIBUTE=VALUE")]
    pub corrections: Vec<String>,
    /// Write the result to this file instead of standard output; for access, a `.zip` file is the
    /// package a person downloads (JSON and CSV per collection, and a readable summary).
    #[arg(long, short = 'o')]
    pub out: Option<std::path::PathBuf>,
    /// Environment variable holding the key for `keyed_hash` erasure, used when the store holds no
    /// secret `erasure.hash_key` (or no store or key-encryption key is available).
    #[arg(long, default_value = "PACTUM_ERASURE_KEY")]
    pub hash_key_env: String,
    /// Pactum's store, where the secret `erasure.hash_key` is looked up.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The key-encryption key that opens the secret.
    #[command(flatten)]
    pub key: KeyArgs,
}

pub fn run(args: &RequestArgs) -> anyhow::Result<ExitCode> {
    let RequestCommand::Run(args) = &args.command;
    let identities = args
        .identities
        .iter()
        .map(|s| parse_identity(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut corrections = pactum_requests::Corrections::new();
    for text in &args.corrections {
        let Some((attribute, value)) = text.split_once('=') else {
            bail!("correction `{text}` must be ATTRIBUTE=VALUE, e.g. name=Ada King");
        };
        corrections.insert(attribute.trim().to_owned(), value.trim().to_owned());
    }
    if !corrections.is_empty() && !matches!(args.kind, RequestType::Rectification) {
        bail!("--correct is for --type rectification");
    }
    // A request on a broken map could miss records.
    let Some(loaded) = crate::cmd::load_without_errors(&args.map.map, "run a request")? else {
        return Ok(ExitCode::from(2));
    };
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
    match args.kind {
        RequestType::Access => {
            let result = runtime
                .block_on(pactum_requests::access(map, &identities, &url_of))
                .context("the access request failed")?;
            match args.out.as_deref() {
                // A `.zip` output is the package a person downloads: JSON and CSV per collection and
                // a readable summary.
                Some(path)
                    if path
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("zip")) =>
                {
                    let organisation = map.organisation.as_ref().map_or("", |o| o.name.as_str());
                    let bytes = pactum_requests::package::access_package(&result, organisation)
                        .context("cannot build the access package")?;
                    std::fs::write(path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                out => write_output(out, &serde_json::to_string_pretty(&result)?)?,
            }
            eprintln!(
                "found {} records in {} collections{}",
                result.record_count(),
                result.records.len(),
                manual_note(result.manual_tasks.len())
            );
            Ok(if result.record_count() == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        RequestType::Erasure => {
            let options = pactum_requests::ErasureOptions {
                hash_key: runtime.block_on(erasure_hash_key(args))?,
                // Statutory retention periods that count from a record's date end by today (UTC).
                today: Some(time::OffsetDateTime::now_utc().date()),
                holds: Vec::new(),
            };
            let result = runtime
                .block_on(pactum_requests::erase(map, &identities, &url_of, &options))
                .context("the erasure request failed")?;
            write_output(args.out.as_deref(), &serde_json::to_string_pretty(&result)?)?;
            let rows: u64 = result.erased.values().map(|e| e.rows).sum();
            eprintln!(
                "erased {rows} rows in {} collections; kept {} rows{}",
                result.erased.len(),
                result.kept.iter().map(|k| k.rows).sum::<usize>(),
                manual_note(result.manual_tasks.len())
            );
            for (datastore, reason) in &result.failed {
                eprintln!("error: datastore `{datastore}` was rolled back: {reason}");
            }
            Ok(if !result.failed.is_empty() {
                ExitCode::from(2)
            } else if rows == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        RequestType::Rectification => {
            let (result, not_found) = runtime
                .block_on(pactum_requests::rectify(
                    map,
                    &identities,
                    &corrections,
                    &url_of,
                ))
                .context("the rectification request failed")?;
            let report = serde_json::json!({
                "corrected": result.erased,
                "kept": result.kept,
                "not_found": not_found,
                "manual_tasks": result.manual_tasks,
                "routed_to_controller": result.routed_to_controller,
                "failed": result.failed,
            });
            write_output(args.out.as_deref(), &serde_json::to_string_pretty(&report)?)?;
            let rows: u64 = result.erased.values().map(|e| e.rows).sum();
            eprintln!(
                "corrected {rows} rows in {} collections{}{}",
                result.erased.len(),
                if not_found.is_empty() {
                    String::new()
                } else {
                    format!("; no record holds {}", not_found.join(", "))
                },
                manual_note(result.manual_tasks.len())
            );
            for (datastore, reason) in &result.failed {
                eprintln!("error: datastore `{datastore}` was rolled back: {reason}");
            }
            Ok(if !result.failed.is_empty() {
                ExitCode::from(2)
            } else if rows == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// The key for `keyed_hash` erasure: the secret `erasure.hash_key` when a key-encryption key and
/// a store are available and the store holds it, else the environment variable `--hash-key-env`.
/// A store that holds the secret under another key is an error, not a reason to fall back.
async fn erasure_hash_key(args: &RunArgs) -> anyhow::Result<Option<Vec<u8>>> {
    let from_env = || {
        std::env::var(&args.hash_key_env)
            .ok()
            .map(String::into_bytes)
    };
    let Some(kek) = args.key.load()? else {
        return Ok(from_env());
    };
    let has_store =
        args.store.database.is_some() || args.store.data.join(SQLITE_FILE_NAME).exists();
    if !has_store {
        return Ok(from_env());
    }
    let store = args.store.open(false).await?;
    // An operator on the command line reads it: audited as `secret.read` by `cli`.
    let secret = store.get_secret(&Actor::Cli, &kek, ERASURE_HASH_KEY).await;
    store.close().await;
    match secret {
        Ok(value) => {
            eprintln!("keyed_hash erasure uses the secret {ERASURE_HASH_KEY}");
            Ok(Some(value.expose().to_vec()))
        }
        Err(SecretError::NotFound(_)) => Ok(from_env()),
        Err(err) => {
            Err(anyhow::Error::new(err)
                .context(format!("cannot read the secret {ERASURE_HASH_KEY}")))
        }
    }
}

fn manual_note(tasks: usize) -> String {
    if tasks == 0 {
        String::new()
    } else {
        format!("; {tasks} manual tasks for people to complete")
    }
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
