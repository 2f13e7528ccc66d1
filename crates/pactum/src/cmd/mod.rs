//! One module per subcommand, each with its clap `Args` and a `run` function.

pub mod admin;
pub mod audit;
pub mod check;
pub mod config;
pub mod drift;
pub mod import;
pub mod init;
pub mod keys;
pub mod notice;
pub mod request;
pub mod ropa;
pub mod scan;
pub mod schema;
pub mod serve;

/// Loads and checks the map for a command that must not act on a broken one. With errors, prints
/// every diagnostic and `error: refusing to {action} from a data map with errors (...)` on standard
/// error and returns `None`; the caller picks the exit code.
pub(crate) fn load_without_errors(
    map: &std::path::Path,
    action: &str,
) -> anyhow::Result<Option<pactum_mapfile::Loaded>> {
    use anyhow::Context;
    use std::io::Write;
    let loaded = pactum_mapfile::load_and_check(map)
        .with_context(|| format!("cannot load the data map at {}", map.display()))?;
    if loaded.has_errors() {
        let mut stderr = std::io::stderr().lock();
        write!(stderr, "{}", pactum_mapfile::report::human(&loaded))?;
        writeln!(
            stderr,
            "error: refusing to {action} from a data map with errors ({}); run `pactum check --map {}` and fix them first",
            pactum_mapfile::report::summary(&loaded),
            map.display()
        )?;
        return Ok(None);
    }
    Ok(Some(loaded))
}
