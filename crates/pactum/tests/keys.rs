//! End-to-end tests of `pactum keys` and `pactum secrets` on a SQLite store in a temporary data
//! directory, and of `pactum request run --type erasure` taking its keyed-hash key from the secret
//! `erasure.hash_key`. (The store's behaviour on PostgreSQL is proven in `pactum-store`'s suite.)

use std::path::Path;

use assert_cmd::Command;
use sqlx::{Connection, Row};

/// `pactum ARGS...` with no store, key or erasure settings from the environment.
fn pactum(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("pactum").expect("the pactum binary is built");
    for var in [
        "PACTUM_DATABASE_URL",
        "PACTUM_DATA",
        "PACTUM_KEY",
        "PACTUM_KEY_FILE",
        "PACTUM_ERASURE_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args);
    cmd
}

/// `pactum ARGS... --data DATA --key-file KEY`.
fn with_key(data: &Path, key: &Path, args: &[&str]) -> Command {
    let mut cmd = pactum(args);
    cmd.arg("--data").arg(data).arg("--key-file").arg(key);
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let output = cmd.output().expect("pactum runs");
    assert!(
        output.status.success(),
        "pactum failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs a command that must fail to run (exit status 2) and returns its standard error.
fn failure(cmd: &mut Command) -> String {
    let output = cmd.output().expect("pactum runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8(output.stderr).expect("UTF-8 output")
}

/// Generates a key file and returns its key id (from `wrote key ID to FILE`).
fn generate(path: &Path) -> String {
    let out = stdout(pactum(&["keys", "generate", "--out"]).arg(path));
    let id = out
        .strip_prefix("wrote key ")
        .and_then(|rest| rest.split_once(' '))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("unexpected output: {out}"));
    assert_eq!(id.len(), 8, "{out}");
    id
}

fn set_secret(data: &Path, key: &Path, name: &str, value: &str) -> Command {
    let mut cmd = with_key(data, key, &["secrets", "set", name]);
    cmd.write_stdin(value.to_owned());
    cmd
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn key_files_are_owner_only_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("pactum.key");
    generate(&path);
    let text = std::fs::read_to_string(&path).expect("the key file exists");
    assert_eq!(
        text.trim_end().len(),
        44,
        "32 bytes in padded base64: {text:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let err = failure(pactum(&["keys", "generate", "--out"]).arg(&path));
    assert!(
        err.contains("already exists: refusing to overwrite it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("unchanged"), text);

    // Without --out the key alone goes to standard output, for `PACTUM_KEY=$(...)`.
    let printed = stdout(&mut pactum(&["keys", "generate"]));
    assert_eq!(printed.len(), 45, "{printed:?}");
    assert_ne!(printed, text);
}

#[test]
fn secrets_are_set_listed_rotated_and_refused_with_the_wrong_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("pactum-data");
    let old = dir.path().join("old.key");
    let new = dir.path().join("new.key");
    let old_id = generate(&old);
    let new_id = generate(&new);
    const VALUE: &str = "hunter2-but-much-longer-9c1e";

    // Without a key, nothing is stored.
    let mut cmd = pactum(&["secrets", "set", "crm.password", "--data"]);
    cmd.arg(&data).write_stdin(VALUE);
    let err = failure(&mut cmd);
    assert!(
        err.contains("no key-encryption key: pass --key-file FILE"),
        "{err}"
    );

    assert_eq!(
        stdout(&mut set_secret(
            &data,
            &old,
            "crm.password",
            &format!("{VALUE}\n")
        )),
        format!("stored secret crm.password (key {old_id})\n")
    );
    // The key may come from PACTUM_KEY instead of a file.
    let mut cmd = pactum(&["secrets", "set", "erasure.hash_key", "--data"]);
    cmd.arg(&data)
        .env("PACTUM_KEY", std::fs::read_to_string(&old).expect("reads"))
        .write_stdin("the erasure key");
    assert_eq!(
        stdout(&mut cmd),
        format!("stored secret erasure.hash_key (key {old_id})\n")
    );
    let err = failure(&mut set_secret(&data, &old, "empty", "\n"));
    assert!(err.contains("is empty"), "{err}");

    let list = stdout(pactum(&["secrets", "list", "--data"]).arg(&data));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(lines[0].starts_with("NAME"), "{list}");
    assert!(
        lines[1].starts_with("crm.password") && lines[1].contains(&old_id),
        "{list}"
    );
    assert!(
        lines[2].starts_with("erasure.hash_key") && lines[2].ends_with("cli"),
        "{list}"
    );
    assert!(!list.contains(VALUE));

    // The wrong key is refused, naming both keys.
    let err = failure(&mut set_secret(&data, &new, "other", "x"));
    assert!(
        err.contains(&format!(
            "secrets were sealed with key {old_id}, the key given is {new_id}"
        )),
        "{err}"
    );

    let rotated = stdout(
        with_key(&data, &old, &["keys", "rotate"])
            .arg("--new-key-file")
            .arg(&new),
    );
    assert_eq!(
        rotated,
        format!("re-wrapped 2 secrets from key {old_id} to key {new_id}\n")
    );
    let json = stdout(pactum(&["secrets", "list", "--json", "--data"]).arg(&data));
    let listed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["key_id"].as_str().expect("a key id"))
        .collect();
    assert_eq!(ids, [new_id.as_str(), new_id.as_str()]);
    // The old key no longer works; the new one does.
    let err = failure(&mut set_secret(&data, &old, "other", "x"));
    assert!(
        err.contains(&format!(
            "secrets were sealed with key {new_id}, the key given is {old_id}"
        )),
        "{err}"
    );
    let err = failure(
        with_key(&data, &new, &["keys", "rotate"])
            .arg("--new-key-file")
            .arg(&new),
    );
    assert!(
        err.contains("the new key is the same as the old one"),
        "{err}"
    );
    stdout(&mut set_secret(&data, &new, "other", "x"));

    // The value is nowhere in the database files, in clear.
    let mut bytes = Vec::new();
    for file in ["pactum.db", "pactum.db-wal"] {
        if let Ok(mut b) = std::fs::read(data.join(file)) {
            bytes.append(&mut b);
        }
    }
    assert!(contains(&bytes, b"crm.password"), "the database was read");
    assert!(!contains(&bytes, VALUE.as_bytes()));

    assert_eq!(
        stdout(pactum(&["secrets", "delete", "crm.password", "--data"]).arg(&data)),
        "deleted secret crm.password\n"
    );
    let err = failure(pactum(&["secrets", "delete", "crm.password", "--data"]).arg(&data));
    assert!(err.contains("no secret named \"crm.password\""), "{err}");

    let audit = stdout(pactum(&["audit", "export", "--data"]).arg(&data));
    let actions: Vec<String> = audit
        .lines()
        .map(|l| {
            let entry: serde_json::Value = serde_json::from_str(l).expect("JSON lines");
            format!("{} {}", entry["action"], entry["target_id"])
        })
        .collect();
    assert_eq!(
        actions,
        [
            r#""secret.create" "crm.password""#,
            r#""secret.create" "erasure.hash_key""#,
            r#""secret.rotate_key" null"#,
            r#""secret.create" "other""#,
            r#""secret.delete" "crm.password""#,
        ]
    );
    assert!(!audit.contains(VALUE) && !audit.contains("the erasure key"));
}

/// A data map with one SQLite datastore whose customers' emails are erased by keyed hash.
fn erasure_map(dir: &Path) {
    stdout(pactum(&["init"]).arg(dir));
    std::fs::write(
        dir.join("systems.yml"),
        r#"systems:
  app: {name: App, processors: [cloudhost]}
datastores:
  crm:
    system: app
    kind: sqlite
    connection_env: KEYS_TEST_CRM_URL
    collections:
      customers:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
processors:
  cloudhost:
    name: Example Cloud Hosting Inc.
    service: Hosting
    purposes: [service]
    categories: [user.name, user.contact.email]
    countries: [US]
    transfer: dpf
"#,
    )
    .expect("write systems.yml");
}

/// A SQLite datastore with Ada as customer 1; returns its URL.
fn customers_db(rt: &tokio::runtime::Runtime, path: &Path) -> String {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("creates");
        sqlx::raw_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT); \
             INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada'), (2, 'bob@example.com', 'Bob');",
        )
        .execute(&mut conn)
        .await
        .expect("fills");
        conn.close().await.expect("closes");
    });
    format!("sqlite://{}", path.display())
}

fn email_of(rt: &tokio::runtime::Runtime, url: &str, id: i64) -> String {
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("opens");
        let row = sqlx::query("SELECT email FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .expect("reads");
        row.get(0)
    })
}

/// Erases Ada from a fresh copy of the datastore named `copy`; returns (exit code, stderr, her
/// email afterwards).
fn erase(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    copy: &str,
    setup: impl FnOnce(&mut Command),
) -> (Option<i32>, String, String) {
    let url = customers_db(rt, &dir.join(format!("{copy}.db")));
    let mut cmd = pactum(&[
        "request",
        "run",
        "--type",
        "erasure",
        "--identity",
        "email=ada@example.com",
        "--map",
    ]);
    cmd.arg(dir.join("map"))
        .arg("--data")
        .arg(dir.join("pactum-data"))
        .env("KEYS_TEST_CRM_URL", &url);
    setup(&mut cmd);
    let output = cmd.output().expect("pactum runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr, email_of(rt, &url, 1))
}

#[test]
fn erasure_takes_its_hash_key_from_the_secret() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    erasure_map(&d.join("map"));
    let data = d.join("pactum-data");
    let key = d.join("pactum.key");
    let other = d.join("other.key");
    generate(&key);
    generate(&other);

    // Today's behaviour, no store or key: the key from PACTUM_ERASURE_KEY.
    let (code, err, by_env) = erase(&rt, d, "env", |cmd| {
        cmd.env("PACTUM_ERASURE_KEY", "the-secret-key");
    });
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(by_env.len(), 64, "an HMAC-SHA-256 in hex: {by_env}");
    assert!(!err.contains("uses the secret"), "{err}");

    // A key and a store, but no secret `erasure.hash_key`: still the environment.
    stdout(&mut set_secret(&data, &key, "crm.password", "unrelated"));
    let (code, err, no_secret) = erase(&rt, d, "no-secret", |cmd| {
        cmd.arg("--key-file")
            .arg(&key)
            .env("PACTUM_ERASURE_KEY", "the-secret-key");
    });
    assert_eq!(
        (code, no_secret.as_str()),
        (Some(0), by_env.as_str()),
        "{err}"
    );

    // With the secret stored, it wins over the environment variable.
    stdout(&mut set_secret(
        &data,
        &key,
        "erasure.hash_key",
        "the-secret-key\n",
    ));
    let (code, err, by_secret) = erase(&rt, d, "secret", |cmd| {
        cmd.arg("--key-file")
            .arg(&key)
            .env("PACTUM_ERASURE_KEY", "something-else");
    });
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("keyed_hash erasure uses the secret erasure.hash_key"),
        "{err}"
    );
    assert_eq!(by_secret, by_env, "the same key gives the same hash");

    // Without the key-encryption key, the environment again (today's behaviour).
    let (code, err, fallback) = erase(&rt, d, "fallback", |cmd| {
        cmd.env("PACTUM_ERASURE_KEY", "something-else");
    });
    assert_eq!(code, Some(0), "{err}");
    assert_ne!(fallback, by_env, "another key gives another hash");

    // The wrong key-encryption key stops the request before any datastore is touched.
    let (code, err, untouched) = erase(&rt, d, "wrong", |cmd| {
        cmd.arg("--key-file")
            .arg(&other)
            .env("PACTUM_ERASURE_KEY", "something-else");
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("secrets were sealed with key"), "{err}");
    assert_eq!(untouched, "ada@example.com");
}
