//! A job worker process, as `pactum serve` runs one, for the multi-process test in
//! `tests/store/job_processes.rs` (and for watching the queue by hand).
//!
//! Usage: `job_worker DATABASE_URL WORKER_ID`
//!
//! Runs jobs of kind `test.slow` with a 5-second lease and a heartbeat every half second. For each
//! job it prints `start JOB_ID ATTEMPT` on standard output, sleeps for the payload's `sleep_ms`,
//! then inserts `(job_id, worker, attempt)` into the table `job_log` (which the caller creates) in
//! the same transaction as the job's completion: a row in `job_log` means "completed", exactly
//! once per job. It stops gracefully (finishing the current job) when standard input closes, then
//! prints `stopped`.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use pactum_store::Store;
use pactum_store::jobs::{ClaimedJob, Connection, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

const INSERT_LOG: &str = "INSERT INTO job_log (job_id, worker, attempt) VALUES ($1, $2, $3)";

async fn handle(store: Store, job: ClaimedJob) -> Result<(), String> {
    println!("start {} {}", job.id, job.attempt);
    let sleep_ms = job.payload["sleep_ms"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    let mut tx = store.transaction().await.map_err(|e| e.to_string())?;
    let inserted = match tx.connection() {
        Connection::Sqlite(conn) => sqlx::query(INSERT_LOG)
            .bind(job.id)
            .bind(&job.worker)
            .bind(job.attempt)
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected()),
        Connection::Postgres(conn) => sqlx::query(INSERT_LOG)
            .bind(job.id)
            .bind(&job.worker)
            .bind(job.attempt)
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected()),
    };
    inserted.map_err(|e| format!("cannot write job_log: {e}"))?;
    // A lost lease fails here and rolls the log row back with the completion.
    tx.complete(&job).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, worker_id] = args.as_slice() else {
        eprintln!("usage: job_worker DATABASE_URL WORKER_ID");
        return ExitCode::from(2);
    };
    let store = match Store::open(url).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("job_worker: cannot open the store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = WorkerConfig::new(&["test.slow"]);
    config.id = worker_id.clone();
    config.lease = Duration::from_secs(5);
    config.heartbeat = Duration::from_millis(500);
    config.poll = Duration::from_millis(50);

    let shutdown = CancellationToken::new();
    let on_eof = shutdown.clone();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        // Any outcome (end of input or an error) means the parent is gone or wants us to stop.
        let _ = std::io::stdin().read_to_end(&mut sink);
        on_eof.cancel();
    });

    let worker = Worker::new(store.clone(), config);
    worker
        .run(
            move |job| {
                let store = store.clone();
                handle(store, job)
            },
            shutdown,
        )
        .await;
    println!("stopped");
    ExitCode::SUCCESS
}
