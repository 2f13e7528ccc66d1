//! `pactum keys` and `pactum secrets`: the key-encryption key (KEK) that seals secrets at rest, and
//! the secrets themselves. Also home of [`KeyArgs`], the `--key-file` / `PACTUM_KEY_FILE` /
//! `PACTUM_KEY` lookup every command that opens secrets flattens.
//!
//! The KEK is never stored in the database: it lives in a file (`pactum keys generate --out FILE`)
//! or in the `PACTUM_KEY` environment variable.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::secrets::{Kek, MAX_VALUE_BYTES, SecretValue};

use crate::cmd::admin::StoreArgs;

/// The environment variable holding the KEK itself (base64), when no key file is given.
pub const KEY_ENV: &str = "PACTUM_KEY";

/// Where the key-encryption key is: a file, or the `PACTUM_KEY` environment variable.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// File holding the key-encryption key (base64, from `pactum keys generate --out FILE`);
    /// without it, the PACTUM_KEY environment variable holds the key itself.
    #[arg(long, global = true, value_name = "FILE", env = "PACTUM_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

impl KeyArgs {
    /// The key from `--key-file` / `PACTUM_KEY_FILE`, else from `PACTUM_KEY`; `None` if neither is
    /// set.
    pub fn load(&self) -> anyhow::Result<Option<Kek>> {
        let env = std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty());
        Kek::load(self.key_file.as_deref(), env.as_deref())
            .context("cannot load the key-encryption key")
    }

    /// The key, or an error saying where to put one.
    pub fn require(&self) -> anyhow::Result<Kek> {
        match self.load()? {
            Some(kek) => Ok(kek),
            None => bail!(
                "no key-encryption key: pass --key-file FILE, or set PACTUM_KEY_FILE or PACTUM_KEY \
                 (create a key with `pactum keys generate --out FILE`)"
            ),
        }
    }
}

/// Manage the key-encryption key that seals secrets at rest.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new random key: written to a new file (mode 0600) with --out, else printed on
    /// standard output. Keep it away from the data directory and its backups.
    Generate(GenerateArgs),
    /// Re-wrap every secret's data key from the current key (--key-file, PACTUM_KEY_FILE or
    /// PACTUM_KEY) to a new one, in one transaction.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Write the key to this new file (refuses to overwrite one) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The new key's file (from `pactum keys generate --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
}

/// Store, list and delete secrets, sealed with the key-encryption key. Every change is written to
/// the audit log (the secret's name, never its value) as actor `cli`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret, creating or replacing it. The value is read from standard input (one
    /// trailing newline is dropped), never from the command line.
    Set(SetArgs),
    /// List secrets: names, key ids and dates, never values.
    List(ListArgs),
    /// Delete a secret. Its data key goes with it, so copies of its ciphertext cannot be opened.
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The secret's name, e.g. `erasure.hash_key` (the key for keyed-hash erasure).
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The secret's name.
    pub name: String,
}

/// Opens the store (creating it if `create`), runs `f` on it and closes it.
fn with_store<T>(
    store: &StoreArgs,
    create: bool,
    f: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = store.open(create).await?;
        let result = f(&store).await;
        store.close().await;
        result
    })
}

/// Runs `pactum keys ...`.
pub fn run_keys(args: &KeysArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        KeysCommand::Generate(generate) => generate_key(generate),
        KeysCommand::Rotate(rotate) => {
            let old = args.key.require()?;
            let new = Kek::from_file(&rotate.new_key_file).context("cannot load the new key")?;
            let count = with_store(&args.store, false, async |store| {
                store
                    .rotate_key(&Actor::Cli, &old, &new)
                    .await
                    .context("cannot rotate the key-encryption key")
            })?;
            println!(
                "re-wrapped {count} secrets from key {} to key {}",
                old.id(),
                new.id()
            );
            eprintln!(
                "from now on use --key-file {} (or PACTUM_KEY_FILE); keep the old key {} only as \
                 long as backups taken before now must stay readable",
                rotate.new_key_file.display(),
                old.id()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn generate_key(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let kek = Kek::generate().context("cannot generate a key")?;
    match &args.out {
        Some(path) => {
            kek.write_new_file(path)?;
            println!("wrote key {} to {}", kek.id(), path.display());
        }
        None => {
            // The key alone on standard output, so `PACTUM_KEY=$(pactum keys generate)` works.
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", kek.to_base64().as_str())?;
            eprintln!("generated key {}", kek.id());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `pactum secrets ...`.
pub fn run_secrets(args: &SecretsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        SecretsCommand::Set(set) => {
            // Read the value and the key before opening the store, so mistakes cost no migration.
            let value = read_value()?;
            let kek = args.key.require()?;
            let info = with_store(&args.store, true, async |store| {
                store
                    .put_secret(&Actor::Cli, &kek, &set.name, &value)
                    .await
                    .with_context(|| format!("cannot store secret {}", set.name))
            })?;
            println!("stored secret {} (key {})", info.name, info.key_id);
        }
        SecretsCommand::List(list) => {
            with_store(&args.store, false, async |store| {
                list_secrets(store, list).await
            })?;
        }
        SecretsCommand::Delete(delete) => {
            with_store(&args.store, false, async |store| {
                store
                    .delete_secret(&Actor::Cli, &delete.name)
                    .await
                    .with_context(|| format!("cannot delete secret {}", delete.name))
            })?;
            println!("deleted secret {}", delete.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list_secrets(store: &Store, args: &ListArgs) -> anyhow::Result<()> {
    let secrets = store.list_secrets().await.context("cannot list secrets")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &secrets).context("cannot write the list")?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<40}  {:<8}  {:<24}  {:<24}  UPDATED BY",
        "NAME", "KEY", "CREATED", "UPDATED"
    )?;
    for s in &secrets {
        writeln!(
            out,
            "{:<40}  {:<8}  {:<24}  {:<24}  {}",
            s.name,
            s.key_id,
            s.created_at.to_string(),
            s.updated_at.to_string(),
            s.updated_by
        )?;
    }
    Ok(())
}

/// Reads a secret value from standard input, which must not be a terminal (the value would be
/// echoed). One trailing newline (`\n` or `\r\n`) is dropped, so `echo VALUE |` works.
fn read_value() -> anyhow::Result<SecretValue> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("pass the secret's value on standard input, e.g. `pactum secrets set NAME < FILE`");
    }
    let mut bytes = Vec::new();
    // One byte more than allowed, to tell "too long" from "exactly the limit".
    let limit = u64::try_from(MAX_VALUE_BYTES + 2).expect("a small limit fits in u64");
    stdin
        .lock()
        .take(limit)
        .read_to_end(&mut bytes)
        .context("cannot read the secret's value from standard input")?;
    let value = SecretValue::from(bytes);
    let mut bytes = value.expose();
    if let Some(rest) = bytes.strip_suffix(b"\n") {
        bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    if bytes.is_empty() {
        bail!("the secret's value on standard input is empty");
    }
    if bytes.len() > MAX_VALUE_BYTES {
        bail!("the secret's value is longer than {MAX_VALUE_BYTES} bytes");
    }
    Ok(SecretValue::from(bytes.to_vec()))
}
