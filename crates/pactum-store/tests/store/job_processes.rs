//! Several worker processes on one PostgreSQL, as several `pactum serve` instances would be: no job
//! is run twice, none is lost, and a process killed mid-job (SIGKILL) has its job finished by
//! another once the lease expires.
//!
//! The workers are the `job_worker` example (`examples/job_worker.rs`), built on demand with the
//! cargo that runs the tests.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pactum_store::jobs::NewJob;
use serde_json::json;
use sqlx::Connection as _;

use crate::support::{self, Kind, TestDb};

const JOBS: i64 = 16;
const SLEEP_MS: u64 = 400;

/// Builds the `job_worker` example (a no-op when it is up to date) and returns its path.
fn worker_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let test_exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/store-HASH -> target/<profile>
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--quiet",
        "-p",
        "pactum-store",
        "--example",
        "job_worker",
    ]);
    build
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the job_worker example failed");
    let exe = profile_dir
        .join("examples")
        .join(format!("job_worker{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.is_file(), "{} exists", exe.display());
    exe
}

/// A worker process and the lines it prints, read on a thread of their own.
struct Proc {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(exe: &PathBuf, url: &str, name: &'static str) -> Proc {
        let mut child = Command::new(exe)
            .args([url, name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the worker starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            name,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the first line starting with `prefix` and returns it.
    fn wait_for(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("{}: no {prefix:?} line: {e}", self.name));
            self.seen.push(line.clone());
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Closes standard input (the graceful stop signal), waits for the exit and returns every
    /// line printed.
    fn stop(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                break status;
            }
            assert!(Instant::now() < deadline, "{} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{} exited with {status}", self.name);
        self.seen.extend(self.lines.iter());
        assert_eq!(
            self.seen.last().map(String::as_str),
            Some("stopped"),
            "{}",
            self.name
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A failed assertion must not leave workers behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The job ids in `start JOB ATTEMPT` lines.
fn started(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("start "))
        .map(|rest| {
            let id = rest.split(' ').next().unwrap_or(rest);
            id.parse().expect("a job id")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_3_instances_share_jobs_and_finish_a_killed_ones_job() {
    let Some(db) = TestDb::new(Kind::Postgres).await else {
        return;
    };
    support::run(db, killed_worker_case).await;
}

async fn killed_worker_case(db: &TestDb) {
    let exe = worker_binary();
    let store = db.open().await;
    db.exec(
        "CREATE TABLE job_log (job_id BIGINT NOT NULL, worker TEXT NOT NULL, attempt BIGINT NOT NULL)",
    )
    .await
    .expect("creates job_log");
    for i in 0..JOBS {
        store
            .enqueue(&NewJob::new(
                "test.slow",
                json!({ "i": i, "sleep_ms": SLEEP_MS }),
            ))
            .await
            .expect("enqueues");
    }

    let mut victim = Proc::spawn(&exe, &db.url, "victim");
    let survivors = [
        Proc::spawn(&exe, &db.url, "survivor-a"),
        Proc::spawn(&exe, &db.url, "survivor-b"),
    ];
    // Kill the victim as soon as it starts a job: it is then asleep inside the handler.
    let line = victim.wait_for("start ", Duration::from_secs(60));
    victim.child.kill().expect("SIGKILL");
    victim.child.wait().expect("reaped");
    let killed: i64 = started(&[line])[0];

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let counts = store.job_counts().await.expect("counts");
        if counts.done == JOBS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs left unfinished: {counts:?}"
        );
        assert_eq!((counts.failed, counts.dead), (0, 0), "no job fails");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut survivor_starts: Vec<i64> = Vec::new();
    for proc in survivors {
        survivor_starts.extend(started(&proc.stop()));
    }

    // Completed exactly once: one job_log row per job, written with the completion.
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connects");
    let log: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT job_id, worker, attempt FROM job_log ORDER BY job_id")
            .fetch_all(&mut conn)
            .await
            .expect("reads job_log");
    let _ = conn.close().await;
    let ids: HashSet<i64> = log.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(log.len(), usize::try_from(JOBS).expect("small"), "{log:?}");
    assert_eq!(ids.len(), log.len(), "no job completed twice: {log:?}");
    let jobs = store.jobs(0, 100).await.expect("lists");
    assert_eq!(
        ids,
        jobs.iter().map(|j| j.id).collect::<HashSet<_>>(),
        "none lost"
    );

    // The killed job was finished by a survivor, on a second attempt after the lease expired.
    let (_, worker, attempt) = log
        .iter()
        .find(|(id, _, _)| *id == killed)
        .expect("the killed job completed");
    assert!(worker.starts_with("survivor-"), "finished by {worker}");
    assert_eq!(*attempt, 2);
    assert!(
        log.iter().all(|(_, w, _)| w != "victim"),
        "the victim completed nothing"
    );

    // Run twice: no job started twice by the live workers; only the killed one ran again.
    let mut per_job: HashMap<i64, usize> = HashMap::new();
    for id in &survivor_starts {
        *per_job.entry(*id).or_default() += 1;
    }
    assert!(
        per_job.values().all(|n| *n == 1),
        "a job ran twice: {per_job:?}"
    );
    assert_eq!(per_job.len(), usize::try_from(JOBS).expect("small"));
    assert!(
        log.iter().all(|(id, _, a)| *a == 1 || *id == killed),
        "only the killed job needed a second attempt: {log:?}"
    );
}
