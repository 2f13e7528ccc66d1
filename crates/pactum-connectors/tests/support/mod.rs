//! Real test servers: PostgreSQL, MariaDB and Redis on this machine, one database or key prefix per
//! test. URLs come from environment variables with the machine's defaults. Under `CI=true` a missing
//! server fails the test; elsewhere the test is skipped loudly.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Reports an unreachable server: a failure under CI, a loud skip elsewhere. Returns `None` to skip.
pub fn unavailable<T>(what: &str, err: impl std::fmt::Display) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required under CI=true but unreachable: {err}");
    }
    eprintln!("SKIPPED: {what} unreachable ({err}); set CI=true to make this a failure");
    None
}

pub fn postgres_admin_url() -> String {
    env_or(
        "PACTUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    )
}

pub fn mysql_admin_url() -> String {
    env_or("PACTUM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
}

pub fn redis_url() -> String {
    env_or("PACTUM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
}

/// Replaces the database name (the last path segment) of a URL.
pub fn with_database(url: &str, db: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => format!("{url}/{db}"),
    }
}
