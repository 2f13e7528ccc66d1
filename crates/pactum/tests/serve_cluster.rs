//! Two `pactum serve` instances on one PostgreSQL store share the jobs, and a job survives the
//! instance that was running it: an erasure request is approved while the test holds a lock on the
//! person's table, so whichever instance claims the job blocks inside the erasure; the other
//! instance leaves the leased job alone; the holder is killed with SIGKILL, the lock released, and
//! the other instance takes the job over once the lease has run out and completes the request,
//! once.
//!
//! Needs PostgreSQL (`PACTUM_TEST_POSTGRES_URL`, default the machine's local server): skipped
//! loudly without it, a failure under `CI=true`. Each run uses its own two databases (the store
//! and the CRM datastore) and drops them afterwards.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use sqlx::Connection;

/// The lease the instances run with (seconds): the shortest allowed, to keep the test quick.
const LEASE: u64 = 5;

/// The person whose erasure is requested, and the customer who must be left alone.
const PERSON: &str = "ada@example.com";
const OTHER: &str = "bob@example.org";

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn pg_admin_url() -> String {
    env_or(
        "PACTUM_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    )
}

fn with_db(url: &str, db: &str) -> String {
    format!("{}/{db}", url.rsplit_once('/').map_or(url, |(b, _)| b))
}

/// The two databases of one run; dropped (with any connection left to them) when this is dropped,
/// also when the test fails half-way.
struct Databases {
    store_db: String,
    crm_db: String,
    store_url: String,
    crm_url: String,
}

impl Databases {
    /// Creates the store's database (empty: the first instance migrates it) and the CRM datastore
    /// with two customers and a trigger counting the changes each customer's row gets. `None`
    /// (after a loud message) when PostgreSQL is unreachable outside CI.
    fn create(rt: &tokio::runtime::Runtime) -> Option<Databases> {
        let admin = pg_admin_url();
        let pid = std::process::id();
        let dbs = Databases {
            store_db: format!("pactum_cluster_store_{pid}"),
            crm_db: format!("pactum_cluster_crm_{pid}"),
            store_url: with_db(&admin, &format!("pactum_cluster_store_{pid}")),
            crm_url: with_db(&admin, &format!("pactum_cluster_crm_{pid}")),
        };
        let reachable = rt.block_on(async {
            let mut pg = match sqlx::PgConnection::connect(&admin).await {
                Ok(c) => c,
                Err(e) => {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("PostgreSQL is required under CI=true: {e}");
                    }
                    eprintln!("SKIPPED: PostgreSQL unreachable ({e})");
                    return false;
                }
            };
            for db in [&dbs.store_db, &dbs.crm_db] {
                for stmt in [
                    format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
                    format!("CREATE DATABASE {db}"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(stmt))
                        .execute(&mut pg)
                        .await
                        .expect("create the database");
                }
            }
            let mut crm = sqlx::PgConnection::connect(&dbs.crm_url)
                .await
                .expect("crm");
            sqlx::raw_sql(
                "CREATE TABLE customers (id INT PRIMARY KEY, email TEXT NOT NULL, name TEXT);
                 INSERT INTO customers VALUES (7, 'ada@example.com', 'Ada Lovelace'),
                                              (8, 'bob@example.org', 'Bob Smith');
                 -- Committed changes per customer: an erasure that ran twice would count 2.
                 CREATE TABLE customer_changes (id INT PRIMARY KEY, changes INT NOT NULL);
                 INSERT INTO customer_changes VALUES (7, 0), (8, 0);
                 CREATE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     UPDATE customer_changes SET changes = changes + 1 WHERE id = OLD.id;
                     RETURN NULL;
                 END;
                 $$;
                 CREATE TRIGGER customers_changed AFTER UPDATE OR DELETE ON customers
                     FOR EACH ROW EXECUTE FUNCTION count_change();",
            )
            .execute(&mut crm)
            .await
            .expect("crm schema");
            true
        });
        reachable.then_some(dbs)
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let dbs = [self.store_db.clone(), self.crm_db.clone()];
        // On a thread of its own: a runtime cannot be started inside another one.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut pg) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    for db in dbs {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                        )))
                        .execute(&mut pg)
                        .await;
                    }
                }
            });
        })
        .join();
    }
}

/// A scaffolded map whose one datastore is the CRM: customers found by email, the email replaced
/// by its keyed hash and the name by a fixed text on erasure.
fn write_map(dir: &Path) {
    let init = Command::cargo_bin("pactum")
        .expect("binary")
        .arg("init")
        .arg(dir)
        .output()
        .expect("init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    std::fs::write(
        dir.join("systems.yml"),
        r#"systems:
  app: {name: App, processors: [cloudhost]}
datastores:
  crm:
    system: app
    kind: postgres
    connection_env: CLUSTER_CRM_URL
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
    .expect("write systems");
    let check = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["check", "--map"])
        .arg(dir)
        .output()
        .expect("check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// One `pactum serve` instance on the shared store, with its own data directory (outbox) and its
/// log in a file (a pipe nobody reads could fill up and stall the server).
struct Instance {
    name: &'static str,
    child: Child,
    addr: String,
    data: PathBuf,
    log: PathBuf,
    // Kept open so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Instance {
    fn start(name: &'static str, root: &Path, map: &Path, dbs: &Databases) -> Instance {
        let data = root.join(name);
        std::fs::create_dir_all(&data).expect("data dir");
        let log = root.join(format!("{name}.log"));
        let mut child = Command::cargo_bin("pactum")
            .expect("binary")
            .args(["serve", "--listen", "127.0.0.1:0", "--map"])
            .arg(map)
            .arg("--data")
            .arg(&data)
            .env("PACTUM_DATABASE_URL", &dbs.store_url)
            .env("PACTUM_JOB_LEASE", LEASE.to_string())
            .env("CLUSTER_CRM_URL", &dbs.crm_url)
            .env("PACTUM_ERASURE_KEY", "cluster-test-key")
            .env_remove("PACTUM_CONFIG")
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("server starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("a banner line");
        let addr = first
            .trim_end()
            .split("://")
            .nth(1)
            .map(|s| s.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| {
                panic!(
                    "{name} printed no address ({first:?}); its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Instance {
            name,
            child,
            addr,
            data,
            log,
            _stdout: stdout,
        }
    }

    /// The prefix of this process's job worker id in the jobs table's `locked_by`.
    fn worker_prefix(&self) -> String {
        format!("worker-{}-", self.child.id())
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let json = serde_json::from_str(body).unwrap_or(Value::Null);
        (status, json)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The emails in this instance's outbox to `to`.
    fn mails_to(&self, to: &str) -> Vec<pactum_web::mail::OutboxMessage> {
        pactum_web::mail::read_outbox(&self.data.join("outbox"))
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // A test that failed half-way leaves no server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one `request.execute` job: (status, attempts, locked_by, locked_until in ms).
async fn execute_job(
    store: &mut sqlx::PgConnection,
) -> Option<(String, i64, Option<String>, Option<i64>)> {
    let rows: Vec<(String, i64, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT status, attempts, locked_by, locked_until FROM jobs WHERE kind = 'request.execute'",
    )
    .fetch_all(&mut *store)
    .await
    .expect("jobs");
    assert!(rows.len() <= 1, "one job per approval: {rows:?}");
    rows.into_iter().next()
}

/// Backends of `db` waiting for a lock: the worker stuck inside the erasure.
async fn lock_waiters(admin: &mut sqlx::PgConnection, db: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
    )
    .bind(db)
    .fetch_one(&mut *admin)
    .await
    .expect("pg_stat_activity")
}

#[test]
fn a_job_whose_instance_is_killed_mid_way_is_finished_once_by_the_other() {
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(dbs) = Databases::create(&rt) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("map");
    write_map(&map);

    // One after the other: the first migrates the empty store, the second finds it current.
    let mut a = Instance::start("a", dir.path(), &map, &dbs);
    let mut b = Instance::start("b", dir.path(), &map, &dbs);

    let token = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "admin",
            "token",
            "create",
            "--name",
            "cluster",
            "--role",
            "privacy_officer",
        ])
        .args(["--database", &dbs.store_url])
        .output()
        .expect("token");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let bearer = format!("Bearer {}", String::from_utf8_lossy(&token.stdout).trim());
    let json = [("Content-Type", "application/json")];
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];

    // The person asks through instance A and confirms with the code A emailed them.
    let (status, created) = a.send(
        "POST",
        "/api/v1/requests",
        &json,
        &format!(r#"{{"type":"erasure","regime":"gdpr","email":"{PERSON}"}}"#),
    );
    assert_eq!(status, 202, "{created}");
    let public_id = created["id"].as_str().expect("a public id").to_owned();
    let code = a
        .mails_to(PERSON)
        .last()
        .and_then(|m| {
            m.body
                .lines()
                .map(str::trim)
                .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_owned)
        })
        .expect("a code in A's outbox");
    let (status, body) = a.send(
        "POST",
        &format!("/api/v1/requests/{public_id}/verify"),
        &json,
        &format!(r#"{{"code":"{code}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    // Instance B sees it in the queue: the state is shared.
    let (status, queue) = b.send("GET", "/api/v1/admin/requests", &auth, "");
    assert_eq!(status, 200, "{queue}");
    let id = queue
        .as_array()
        .and_then(|q| q.iter().find(|r| r["public_id"] == public_id.as_str()))
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("request {public_id} not in B's queue: {queue}"));

    rt.block_on(async {
        let mut store = sqlx::PgConnection::connect(&dbs.store_url)
            .await
            .expect("store");
        let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
            .await
            .expect("admin");
        // Whoever claims the job will block on this lock in the erasure's first lookup.
        let mut blocker = sqlx::PgConnection::connect(&dbs.crm_url)
            .await
            .expect("crm");
        sqlx::query("BEGIN")
            .execute(&mut blocker)
            .await
            .expect("begin");
        sqlx::query("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
            .execute(&mut blocker)
            .await
            .expect("lock");

        let (status, body) = b.send(
            "POST",
            &format!("/api/v1/admin/requests/{id}/decision"),
            &auth,
            r#"{"decision":"approve"}"#,
        );
        assert_eq!(status, 200, "{body}");

        // One instance claims the job and gets stuck in the erasure.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (holder_id, first_until) = loop {
            let job = execute_job(&mut store).await;
            if let Some((status, 1, Some(by), Some(until))) = &job
                && status == "running"
                && lock_waiters(&mut admin, &dbs.crm_db).await >= 1
            {
                break (by.clone(), *until);
            }
            assert!(
                Instant::now() < deadline,
                "no instance got stuck in the job: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (holder, survivor) = if holder_id.starts_with(&a.worker_prefix()) {
            (&mut a, &mut b)
        } else {
            assert!(
                holder_id.starts_with(&b.worker_prefix()),
                "{holder_id} is neither A (pid {}) nor B (pid {})",
                a.child.id(),
                b.child.id()
            );
            (&mut b, &mut a)
        };

        eprintln!("instance {} claimed the job; killing it", holder.name);
        // Past a whole lease, the other instance (alive and serving) has not touched the job: the
        // holder's heartbeats keep it leased, and it is still the first attempt.
        tokio::time::sleep(Duration::from_millis(LEASE * 1000 + 1500)).await;
        let (status, still) =
            survivor.send("GET", &format!("/api/v1/admin/requests/{id}"), &auth, "");
        assert_eq!(
            (status, still["status"].as_str()),
            (200, Some("approved")),
            "{still}"
        );
        let job = execute_job(&mut store).await;
        let Some((status, attempts, Some(by), Some(until))) = &job else {
            panic!("the job vanished: {job:?}");
        };
        assert_eq!(
            (status.as_str(), *attempts, by.as_str()),
            ("running", 1, holder_id.as_str())
        );
        assert!(
            *until > first_until,
            "the holder's heartbeat extended the lease: {job:?}"
        );
        let completions: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'request.complete' AND target_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut store)
        .await
        .expect("audit");
        assert_eq!(completions, 0, "nothing completed while the job is stuck");

        // Kill the holder outright, mid-job, then let the datastore go.
        holder.child.kill().expect("SIGKILL");
        let killed = holder.child.wait().expect("reaped");
        assert!(!killed.success(), "{killed}");
        let killed_at = Instant::now();
        sqlx::query("ROLLBACK")
            .execute(&mut blocker)
            .await
            .expect("unlock");

        // The survivor takes the job over once the lease has run out, and finishes it.
        let done = loop {
            let job = execute_job(&mut store).await;
            if let Some((status, ..)) = &job
                && status == "done"
            {
                break job;
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(LEASE + 15),
                "the job was not finished after the kill: {job:?}\nsurvivor's log:\n{}",
                survivor.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let Some((_, attempts, Some(by), _)) = &done else {
            panic!("{done:?}");
        };
        assert_eq!(*attempts, 2, "claimed once by each instance: {done:?}");
        assert!(
            by.starts_with(&survivor.worker_prefix()),
            "the survivor finished it: {done:?}"
        );
        let (status, request) =
            survivor.send("GET", &format!("/api/v1/admin/requests/{id}"), &auth, "");
        assert_eq!(
            (status, request["status"].as_str()),
            (200, Some("completed")),
            "{request}"
        );
        assert_eq!(request["outcome"]["rows_erased"], 1, "{request}");

        // Completed exactly once.
        let completions: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'request.complete' AND target_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut store)
        .await
        .expect("audit");
        assert_eq!(completions, 1);
        let running: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = 'running'")
            .fetch_one(&mut store)
            .await
            .expect("jobs");
        assert_eq!(running, 0, "no job left running");

        // The person's row was changed once (erased), nobody else's at all.
        let mut crm = sqlx::PgConnection::connect(&dbs.crm_url)
            .await
            .expect("crm");
        let rows: Vec<(i32, String, Option<String>, i32)> = sqlx::query_as(
            "SELECT c.id, c.email, c.name, k.changes FROM customers c \
             JOIN customer_changes k USING (id) ORDER BY c.id",
        )
        .fetch_all(&mut crm)
        .await
        .expect("customers");
        assert_eq!(rows.len(), 2, "{rows:?}");
        let (ada_id, ada_email, ada_name, ada_changes) = &rows[0];
        assert_eq!(*ada_id, 7);
        assert!(
            ada_email.len() == 64 && ada_email.chars().all(|c| c.is_ascii_hexdigit()),
            "email replaced by its keyed hash: {ada_email}"
        );
        assert_eq!((ada_name.as_deref(), *ada_changes), (Some("[erased]"), 1));
        assert_eq!(
            rows[1],
            (8, OTHER.to_owned(), Some("Bob Smith".to_owned()), 0),
            "the other customer is untouched"
        );
    });

    // The person was told once, by the instance that did the work.
    let told = |i: &Instance| {
        i.mails_to(PERSON)
            .iter()
            .filter(|m| m.subject.contains("is done"))
            .count()
    };
    let (told_a, told_b) = (told(&a), told(&b));
    assert_eq!(told_a + told_b, 1, "A sent {told_a}, B sent {told_b}");

    let verify = Command::cargo_bin("pactum")
        .expect("binary")
        .args(["audit", "verify", "--database", &dbs.store_url])
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    for instance in [&a, &b] {
        assert!(
            !instance.logs().contains(PERSON),
            "the person's address reached a log:\n{}",
            instance.logs()
        );
    }
    eprintln!("cluster test took {:?}", started.elapsed());
}
