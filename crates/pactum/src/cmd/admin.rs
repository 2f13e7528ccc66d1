//! `pactum admin`: manage admin users and API tokens in Pactum's store. Also home of [`StoreArgs`],
//! the `--data` / `--database` pair every command that opens the store flattens.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use pactum_store::accounts::Role;
use pactum_store::audit::Actor;
use pactum_store::tokens::NewToken;
use pactum_store::{SQLITE_FILE_NAME, Store, StoreOptions};

/// Where Pactum's own state is: a SQLite file in a data directory, or a database URL.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for Pactum's own state (the SQLite store is `DIR/pactum.db`).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "pactum-data",
        env = "PACTUM_DATA"
    )]
    pub data: PathBuf,
    /// Database URL instead of --data: postgres://... (or sqlite://PATH).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "PACTUM_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
}

impl StoreArgs {
    /// Opens the store, creating the SQLite file if `create` is set; a command that only reads
    /// refuses to create an empty store where there was none.
    pub async fn open(&self, create: bool) -> anyhow::Result<Store> {
        match &self.database {
            // The URL may hold a password: never echo it.
            Some(url) => Store::open(url)
                .await
                .context("cannot open the database given by --database or PACTUM_DATABASE_URL"),
            None => {
                let file = self.data.join(SQLITE_FILE_NAME);
                if !create && !file.exists() {
                    bail!(
                        "no Pactum store at {} (create one with `pactum admin create-user`, or pass \
                         --data DIR or --database URL)",
                        file.display()
                    );
                }
                Store::open_dir(&self.data, StoreOptions::default())
                    .await
                    .with_context(|| format!("cannot open the store in {}", self.data.display()))
            }
        }
    }
}

/// A role, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything, including users and tokens.
    #[value(name = "owner")]
    Owner,
    /// Decides data subject requests.
    #[value(name = "privacy_officer", alias = "privacy-officer")]
    PrivacyOfficer,
    /// Reads the map, requests and reports.
    #[value(name = "analyst")]
    Analyst,
    /// Reads the audit log and evidence only.
    #[value(name = "auditor")]
    Auditor,
    /// Manages datastores and connectors.
    #[value(name = "engineer")]
    Engineer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Owner => Role::Owner,
            RoleArg::PrivacyOfficer => Role::PrivacyOfficer,
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Engineer => Role::Engineer,
        }
    }
}

/// Manage admin users and API tokens. Every change is written to the audit log as actor `cli`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin user. The password is read from standard input (one line).
    CreateUser(CreateUserArgs),
    /// Create, revoke and list API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// The user's sign-in email address.
    #[arg(long)]
    pub email: String,
    /// What the user may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Read the password from standard input (first line) instead of prompting on the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once on standard output: it cannot be shown again.
    Create(TokenCreateArgs),
    /// Revoke a token by id; it stops working at once.
    Revoke(TokenRevokeArgs),
    /// List tokens (never their secrets).
    List(TokenListArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A label for the token, e.g. `ci-deploy`.
    #[arg(long)]
    pub name: String,
    /// A role the token acts with (repeat for several).
    #[arg(long = "role", value_enum, required = true)]
    pub roles: Vec<RoleArg>,
    /// Days until the token expires [default: never].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id (from `pactum admin token list`).
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct TokenListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &AdminArgs) -> anyhow::Result<ExitCode> {
    // Read the password before opening the store, so a prompt is not delayed by migrations.
    let password = match &args.command {
        AdminCommand::CreateUser(create) => Some(read_password(create.password_stdin)?),
        AdminCommand::Token(_) => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let creates = !matches!(&args.command, AdminCommand::Token(TokenCommand::List(_)));
        let store = args.store.open(creates).await?;
        let result = match &args.command {
            AdminCommand::CreateUser(create) => {
                create_user(&store, create, password.as_deref().unwrap_or_default()).await
            }
            AdminCommand::Token(TokenCommand::Create(create)) => create_token(&store, create).await,
            AdminCommand::Token(TokenCommand::Revoke(revoke)) => {
                let token = store
                    .revoke_token(&Actor::Cli, revoke.id)
                    .await
                    .with_context(|| format!("cannot revoke token {}", revoke.id))?;
                println!("revoked token {} ({})", token.id, token.name);
                Ok(ExitCode::SUCCESS)
            }
            AdminCommand::Token(TokenCommand::List(list)) => list_tokens(&store, list).await,
        };
        store.close().await;
        result
    })
}

async fn create_user(
    store: &Store,
    args: &CreateUserArgs,
    password: &str,
) -> anyhow::Result<ExitCode> {
    let user = store
        .create_user(&Actor::Cli, &args.email, password, args.role.into())
        .await
        .context("cannot create the user")?;
    println!(
        "created user {} ({}) with role {}",
        user.id,
        user.email.as_str(),
        user.role
    );
    Ok(ExitCode::SUCCESS)
}

async fn create_token(store: &Store, args: &TokenCreateArgs) -> anyhow::Result<ExitCode> {
    let expires_at = args.expires_in_days.map(|days| {
        store
            .now()
            .plus(Duration::from_secs(u64::from(days) * 86_400))
    });
    let new = NewToken {
        name: args.name.clone(),
        roles: args.roles.iter().copied().map(Role::from).collect(),
        expires_at,
    };
    let (token, secret) = store
        .create_token(&Actor::Cli, &new)
        .await
        .context("cannot create the token")?;
    // The secret alone on standard output, so `TOKEN=$(pactum admin token create ...)` works.
    println!("{}", secret.expose());
    let expiry = token
        .expires_at
        .map_or_else(|| "never expires".to_owned(), |at| format!("expires {at}"));
    eprintln!(
        "created token {} ({}) with roles {}; {expiry}. It is shown only this once: store it now.",
        token.id,
        token.name,
        roles_list(&token.roles)
    );
    Ok(ExitCode::SUCCESS)
}

fn roles_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

async fn list_tokens(store: &Store, args: &TokenListArgs) -> anyhow::Result<ExitCode> {
    let tokens = store.list_tokens().await.context("cannot list tokens")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &tokens).context("cannot write the list")?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = store.now();
    writeln!(
        out,
        "{:>4}  {:<24}  {:<32}  {:<8}  {:<24}  CREATED",
        "ID", "NAME", "ROLES", "STATUS", "EXPIRES"
    )?;
    for token in &tokens {
        let status = if token.revoked_at.is_some() {
            "revoked"
        } else if token.is_active(now) {
            "active"
        } else {
            "expired"
        };
        let expires = token
            .expires_at
            .map_or_else(|| "never".to_owned(), |at| at.to_string());
        writeln!(
            out,
            "{:>4}  {:<24}  {:<32}  {:<8}  {:<24}  {}",
            token.id,
            token.name,
            roles_list(&token.roles),
            status,
            expires,
            token.created_at
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the new user's password: one line from standard input with `--password-stdin`, otherwise
/// a prompt (twice, echo off) on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !stdin.is_terminal() {
        bail!("standard input is not a terminal: pass the password on it with --password-stdin");
    }
    let first = prompt_hidden("Password: ")?;
    let second = prompt_hidden("Repeat the password: ")?;
    if first != second {
        bail!("the passwords do not match");
    }
    Ok(first)
}

/// Prompts on standard error and reads a line with the terminal's echo turned off (via `stty`, so
/// no unsafe code; if `stty` is missing the input is echoed rather than refused).
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    let stty = |arg: &str| {
        std::fs::File::open("/dev/tty").ok().and_then(|tty| {
            std::process::Command::new("stty")
                .arg(arg)
                .stdin(tty)
                .status()
                .ok()
        })
    };
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let hidden = stty("-echo").is_some_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
        eprintln!();
    }
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
