//! `pactum init`: scaffold a small, valid, commented data map.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

/// The scaffold's files: small, valid, and commented so a newcomer learns the format by reading them.
pub const SCAFFOLD: &[(&str, &str)] = &[
    ("organisation.yml", include_str!("init/organisation.yml")),
    ("purposes.yml", include_str!("init/purposes.yml")),
    ("systems.yml", include_str!("init/systems.yml")),
    ("rights.yml", include_str!("init/rights.yml")),
];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the map in (created if missing; must not already hold a map).
    #[arg(default_value = "pactum-map")]
    pub dir: PathBuf,
}

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, _) in SCAFFOLD {
        let path = dir.join(name);
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite it",
                path.display()
            );
        }
    }
    for (name, text) in SCAFFOLD {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "created a data map in {} ({} files); next: pactum check --map {}",
        dir.display(),
        SCAFFOLD.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
