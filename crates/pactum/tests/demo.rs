//! `pactum serve --demo` seeds the demo map's datastores as SQLite files: a newcomer runs requests
//! and drift against them with one command, and a restart keeps whatever changed in them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use sqlx::Connection;

const DEMO_PERSON: &str = "alex.morgan@example.com";
const SEEDED: [&str; 4] = ["edge_cache", "honeypot", "psa_db", "web_db"];

/// Starts `pactum serve --demo` on port 0 with `data` as data directory, reads its banner, stops it
/// with SIGTERM and returns the banner.
fn serve_once(data: &Path) -> String {
    let mut child = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("a line");
    // The banner is written with one `write_all`: the rest of it is already in the reader's buffer.
    let banner = format!("{first}{}", String::from_utf8_lossy(reader.buffer()));
    // Stop it only once it answers: the signal handler is in place by then.
    let addr = first
        .trim_end()
        .split("://")
        .nth(1)
        .map(|s| s.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let mut stream = TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("server exits");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(status.success(), "{status}\n{banner}\n{logs}");
    banner
}

/// The demo datastores' directory, as the banner names it.
fn datastores_dir(banner: &str) -> PathBuf {
    let line = banner
        .lines()
        .find(|l| l.contains("demo datastores:"))
        .unwrap_or_else(|| panic!("no demo datastores in the banner:\n{banner}"));
    assert!(
        line.ends_with(&format!("(SQLite; try a request for {DEMO_PERSON})")),
        "{line}"
    );
    let dir = line
        .trim()
        .trim_start_matches("demo datastores: ")
        .split(" (SQLite")
        .next()
        .expect("a path");
    PathBuf::from(dir)
}

/// Each seeded file's modification time and contents.
fn snapshot(dir: &Path) -> BTreeMap<String, (std::time::SystemTime, Vec<u8>)> {
    SEEDED
        .iter()
        .map(|k| {
            let path = dir.join(format!("{k}.db"));
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let bytes = std::fs::read(&path).expect("read");
            ((*k).to_owned(), (modified, bytes))
        })
        .collect()
}

#[test]
fn demo_seeds_four_sqlite_datastores_once_and_a_restart_keeps_changes() {
    let data = tempfile::tempdir().expect("tempdir");
    let banner = serve_once(data.path());
    let dir = datastores_dir(&banner);
    assert_eq!(dir, data.path().join("demo-datastores"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the datastores directory exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        SEEDED.map(|k| format!("{k}.db")),
        "only the connector datastores are seeded, and no temporary file is left"
    );

    // A change made between runs (an erasure, a row edited by hand) survives the restart.
    let web_db = dir.join("web_db.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", web_db.display()))
            .await
            .expect("opens");
        let changed = sqlx::query("UPDATE portal_users SET name = 'Changed By Hand' WHERE id = 2")
            .execute(&mut conn)
            .await
            .expect("updates");
        assert_eq!(changed.rows_affected(), 1);
        conn.close().await.expect("closes");
    });
    let before = snapshot(&dir);
    let again = serve_once(data.path());
    assert_eq!(datastores_dir(&again), dir);
    let after = snapshot(&dir);
    for (key, (modified, bytes)) in &before {
        let (m, b) = &after[key];
        assert_eq!(m, modified, "{key}.db was rewritten");
        assert!(b == bytes, "{key}.db changed on restart");
    }
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", web_db.display()))
            .await
            .expect("opens");
        let name: String = sqlx::query_scalar("SELECT name FROM portal_users WHERE id = 2")
            .fetch_one(&mut conn)
            .await
            .expect("reads");
        assert_eq!(name, "Changed By Hand");
        conn.close().await.expect("closes");
    });
}

/// The environment the map names for each seeded datastore, pointing at the seeded files.
fn datastore_env(map_dir: &Path, dir: &Path) -> Vec<(String, String)> {
    let loaded = pactum_mapfile::load_and_check(map_dir).expect("the demo map loads");
    assert!(!loaded.has_errors());
    let mut env = Vec::new();
    for key in SEEDED {
        let var = loaded.map.datastores[key]
            .connection_env
            .clone()
            .unwrap_or_else(|| panic!("{key} names no connection_env"));
        env.push((
            var,
            format!("sqlite://{}", dir.join(format!("{key}.db")).display()),
        ));
    }
    env
}

fn pactum(args: &[&str], cwd: &Path, env: &[(String, String)]) -> Output {
    Command::cargo_bin("pactum")
        .expect("binary")
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PACTUM_ERASURE_KEY", "demo-test-key")
        .output()
        .expect("pactum runs")
}

fn request(kind: &str, identity: &str, cwd: &Path, env: &[(String, String)]) -> (i32, Value) {
    let out = pactum(
        &[
            "request",
            "run",
            "--map",
            "demo-map",
            "--type",
            kind,
            "--identity",
            identity,
        ],
        cwd,
        env,
    );
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{kind}: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// Rows found per collection (`datastore.collection`).
fn rows_by_collection(doc: &Value) -> BTreeMap<String, usize> {
    doc["records"]
        .as_object()
        .expect("records")
        .iter()
        .map(|(k, v)| (k.clone(), v["rows"].as_array().map_or(0, Vec::len)))
        .collect()
}

#[test]
fn requests_and_drift_run_against_the_seeded_datastores() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = datastores_dir(&serve_once(data.path()));
    let env = datastore_env(&data.path().join("demo-map"), &dir);

    // The seeded values look like what the map declares: drift finds nothing to report.
    let drift = pactum(&["drift", "--map", "demo-map"], data.path(), &env);
    let report = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(
        drift.status.code(),
        Some(0),
        "{report}\n{}",
        String::from_utf8_lossy(&drift.stderr)
    );
    for key in SEEDED {
        assert!(
            report.contains(&format!("datastore `{key}`")),
            "{key} not scanned:\n{report}"
        );
    }

    // The demo person's records, across the website database and the session cache (a Redis
    // datastore whose collections are SQLite tables here), linked through their user id.
    let identity = format!("email={DEMO_PERSON}");
    let (code, access) = request("access", &identity, data.path(), &env);
    assert_eq!(code, 0, "{access:#}");
    let found = rows_by_collection(&access);
    for collection in [
        "web_db.portal_users",
        "web_db.service_requests",
        "web_db.magic_links",
        "web_db.auth_events",
        "edge_cache.sessions",
    ] {
        assert!(
            found.get(collection).is_some_and(|n| *n > 0),
            "no {collection} in {found:?}"
        );
    }
    let portal = &access["records"]["web_db.portal_users"];
    assert_eq!(
        portal["rows"].as_array().map(Vec::len),
        Some(1),
        "{portal:#}"
    );
    assert!(portal.to_string().contains(DEMO_PERSON));
    // The RMM database holds managed clients' data as a processor: the request goes to the client.
    assert!(
        access["routed_to_controller"]
            .as_array()
            .expect("routed")
            .iter()
            .any(|r| r["datastore"] == "psa_db"),
        "{access:#}"
    );

    // The honeypot is keyed by address: the demo person's address finds their hits.
    let (code, by_ip) = request("access", "device_id=192.0.2.10", data.path(), &env);
    assert_eq!(code, 0, "{by_ip:#}");
    assert!(
        rows_by_collection(&by_ip).contains_key("honeypot.hits"),
        "{by_ip:#}"
    );

    let (code, erasure) = request("erasure", &identity, data.path(), &env);
    assert_eq!(code, 0, "{erasure:#}");
    assert!(
        erasure["failed"].as_array().is_some_and(Vec::is_empty),
        "{erasure:#}"
    );
    let erased = erasure["erased"].as_object().expect("erased");
    assert!(erased.contains_key("web_db.portal_users"), "{erasure:#}");
    assert!(erased.contains_key("edge_cache.sessions"), "{erasure:#}");

    // The email is gone (hashed), so the same request now finds fewer records: none here.
    let (code, again) = request("access", &identity, data.path(), &env);
    let after: usize = rows_by_collection(&again).values().sum();
    let before: usize = found.values().sum();
    assert!(after < before, "{before} records before, {after} after");
    assert_eq!(code, 1, "{again:#}");
    // Other people are untouched.
    let (code, other) = request("access", "email=priya.shah@example.com", data.path(), &env);
    assert_eq!(code, 0, "{other:#}");
    assert!(
        other["records"]["web_db.portal_users"]
            .to_string()
            .contains("Priya Shah")
    );
}
