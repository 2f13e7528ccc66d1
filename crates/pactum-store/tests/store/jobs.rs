//! The job queue: enqueue, claim, leases, retries, transactions, schedules and the worker loop,
//! on both backends. Time moves only through the injected clock: no sleeps.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pactum_store::Store;
use pactum_store::audit::{Actor, NewEntry, Target};
use pactum_store::clock::{Clock, ManualClock};
use pactum_store::error::StoreError;
use pactum_store::jobs::{
    Backoff, ClaimedJob, Connection, JobStatus, NewJob, NewSchedule, RunOutcome, Worker,
    WorkerConfig,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::both;
use crate::support::{TestDb, manual_clock};

const LEASE: Duration = Duration::from_secs(30);

async fn open(db: &TestDb) -> (Store, Arc<ManualClock>) {
    let clock = manual_clock();
    (db.open_with_clock(clock.clone()).await, clock)
}

async fn claim(store: &Store, worker: &str) -> Option<ClaimedJob> {
    store
        .claim(worker, &["test.work"], LEASE)
        .await
        .expect("claim runs")
}

async fn status(store: &Store, id: i64) -> JobStatus {
    store.job(id).await.expect("the job exists").status
}

both! {
    async fn enqueue_claim_complete(db: &TestDb) {
        let (store, clock) = open(db).await;
        let enqueued = store
            .enqueue(&NewJob::new("test.work", json!({ "request": 7 })))
            .await
            .expect("enqueues");
        assert!(enqueued.created);
        let job = store.job(enqueued.id).await.expect("reads");
        assert_eq!((job.status, job.attempts, job.max_attempts), (JobStatus::Queued, 0, 5));
        assert_eq!(job.run_at, clock.now());

        assert_eq!(store.claim("w1", &["other.kind"], LEASE).await.expect("claims"), None);
        assert_eq!(store.claim("w1", &[], LEASE).await.expect("claims"), None);
        let claimed = claim(&store, "w1").await.expect("a job is claimable");
        assert_eq!(claimed.id, enqueued.id);
        assert_eq!(claimed.payload, json!({ "request": 7 }));
        assert_eq!((claimed.attempt, claimed.worker.as_str()), (1, "w1"));
        assert_eq!(claimed.locked_until, clock.now().plus(LEASE));
        assert_eq!(claim(&store, "w2").await, None, "a leased job is not handed out twice");

        clock.advance(Duration::from_secs(20));
        let until = store.heartbeat(&claimed, LEASE).await.expect("the lease holds");
        assert_eq!(until, clock.now().plus(LEASE));
        clock.advance(Duration::from_secs(20));
        assert_eq!(claim(&store, "w2").await, None, "the heartbeat extended the lease");

        store.complete(&claimed).await.expect("completes");
        store.complete(&claimed).await.expect("completing again with the same claim is a no-op");
        let job = store.job(enqueued.id).await.expect("reads");
        assert_eq!(job.status, JobStatus::Done);
        assert_eq!(job.finished_at, Some(clock.now()));
        assert_eq!(job.locked_until, None);
        clock.advance(Duration::from_secs(3600));
        assert_eq!(claim(&store, "w2").await, None, "a done job is never claimed again");
        let counts = store.job_counts().await.expect("counts");
        assert_eq!((counts.done, counts.queued, counts.running), (1, 0, 0));
    }

    async fn jobs_run_in_order_and_not_before_run_at(db: &TestDb) {
        let (store, clock) = open(db).await;
        let later = store
            .enqueue(&NewJob::new("test.work", json!(1)).run_at(clock.now().plus(Duration::from_secs(60))))
            .await
            .expect("enqueues");
        let first = store.enqueue(&NewJob::new("test.work", json!(2))).await.expect("enqueues");
        let second = store.enqueue(&NewJob::new("test.work", json!(3))).await.expect("enqueues");
        for expected in [first.id, second.id] {
            let job = claim(&store, "w").await.expect("claimable");
            assert_eq!(job.id, expected);
            store.complete(&job).await.expect("completes");
        }
        assert_eq!(claim(&store, "w").await, None, "the delayed job is not due yet");
        clock.advance(Duration::from_secs(60));
        assert_eq!(claim(&store, "w").await.map(|j| j.id), Some(later.id));
    }

    async fn failures_retry_with_backoff_then_die(db: &TestDb) {
        let (store, clock) = open(db).await;
        let backoff = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(3600) };
        let id = store
            .enqueue(&NewJob::new("test.work", json!({})).with_max_attempts(3))
            .await
            .expect("enqueues")
            .id;
        // Attempt n waits between half and all of base * 2^(n-1).
        for (attempt, window) in [(1, 10), (2, 20)] {
            let job = claim(&store, "w").await.expect("claimable");
            assert_eq!(job.attempt, attempt);
            let status = store.fail_with(&job, "connector 3 timed out", &backoff).await.expect("fails");
            assert_eq!(status, JobStatus::Failed);
            let stored = store.job(id).await.expect("reads");
            assert_eq!(stored.last_error.as_deref(), Some("connector 3 timed out"));
            assert_eq!(stored.locked_until, None);
            let delay = stored.run_at.as_millis() - clock.now().as_millis();
            assert!(
                (window * 500..=window * 1000).contains(&delay),
                "attempt {attempt}: delay {delay} ms outside the backoff window of {window} s"
            );
            clock.advance(Duration::from_millis(u64::try_from(delay).expect("positive") - 1));
            assert_eq!(claim(&store, "w").await, None, "not before the backoff has passed");
            clock.advance(Duration::from_millis(1));
        }
        let job = claim(&store, "w").await.expect("the third attempt");
        assert_eq!(job.attempt, 3);
        assert_eq!(store.fail(&job, "still failing").await.expect("fails"), JobStatus::Dead);
        let stored = store.job(id).await.expect("reads");
        assert_eq!(stored.status, JobStatus::Dead);
        assert_eq!(stored.finished_at, Some(clock.now()));
        assert_eq!(stored.last_error.as_deref(), Some("still failing"));
        clock.advance(Duration::from_secs(86_400));
        assert_eq!(claim(&store, "w").await, None, "a dead job is never claimed again");
        assert_eq!(store.job_counts().await.expect("counts").dead, 1);
    }

    async fn an_expired_lease_is_reclaimed_and_the_old_claim_is_fenced_off(db: &TestDb) {
        let (store, clock) = open(db).await;
        let id = store.enqueue(&NewJob::new("test.work", json!({}))).await.expect("enqueues").id;
        let crashed = claim(&store, "w1").await.expect("claimable");
        clock.advance(LEASE - Duration::from_millis(1));
        assert_eq!(claim(&store, "w2").await, None, "the lease still holds");
        clock.advance(Duration::from_millis(1));
        let rescuer = claim(&store, "w2").await.expect("the expired lease is reclaimed");
        assert_eq!((rescuer.id, rescuer.attempt, rescuer.worker.as_str()), (id, 2, "w2"));

        for result in [
            store.heartbeat(&crashed, LEASE).await.map(|_| ()),
            store.complete(&crashed).await,
            store.fail(&crashed, "late").await.map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(StoreError::LeaseLost { id: lost }) if lost == id),
                "{result:?}"
            );
        }
        // The same worker name claiming again is a different claim: the attempt fences it off.
        let mut stale = rescuer.clone();
        stale.attempt = 1;
        stale.worker = "w2".into();
        assert!(matches!(store.complete(&stale).await, Err(StoreError::LeaseLost { .. })));

        store.complete(&rescuer).await.expect("the current claim completes");
        assert_eq!(status(&store, id).await, JobStatus::Done);
        assert!(matches!(store.complete(&crashed).await, Err(StoreError::LeaseLost { .. })));
    }

    async fn a_lease_expiring_on_the_last_attempt_makes_the_job_dead(db: &TestDb) {
        let (store, clock) = open(db).await;
        let id = store
            .enqueue(&NewJob::new("test.work", json!({})).with_max_attempts(1))
            .await
            .expect("enqueues")
            .id;
        let next = store.enqueue(&NewJob::new("test.work", json!({}))).await.expect("enqueues").id;
        let _crashed = claim(&store, "w1").await.expect("claimable");
        clock.advance(LEASE);
        let claimed = claim(&store, "w2").await.expect("the next job");
        assert_eq!(claimed.id, next, "the dead job is passed over");
        let job = store.job(id).await.expect("reads");
        assert_eq!(job.status, JobStatus::Dead);
        assert_eq!(job.last_error.as_deref(), Some("the lease expired during the last attempt"));
    }

    async fn an_idempotency_key_enqueues_once(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let job = NewJob::new("test.work", json!({ "request": 1 })).with_key("erasure:1");
        let first = store.enqueue(&job).await.expect("enqueues");
        let again = store
            .enqueue(&NewJob { payload: json!({ "request": 2 }), ..job.clone() })
            .await
            .expect("enqueues");
        assert!(first.created);
        assert!(!again.created);
        assert_eq!(again.id, first.id);
        assert_eq!(store.job(first.id).await.expect("reads").payload, json!({ "request": 1 }));
        // Still true once the job has finished.
        let claimed = claim(&store, "w").await.expect("claimable");
        store.complete(&claimed).await.expect("completes");
        assert_eq!(store.enqueue(&job).await.expect("enqueues").id, first.id);
        let other = store.enqueue(&job.clone().with_key("erasure:2")).await.expect("enqueues");
        assert!(other.created);
        assert_eq!(store.jobs(0, 10).await.expect("lists").len(), 2);
    }

    async fn concurrent_enqueues_of_one_key_create_one_job(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .enqueue(&NewJob::new("test.work", json!({})).with_key("same"))
                        .await
                        .expect("enqueues")
                })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut created = 0;
        for task in tasks {
            let e = task.await.expect("the task runs");
            ids.insert(e.id);
            created += usize::from(e.created);
        }
        assert_eq!((ids.len(), created), (1, 1));
    }

    async fn a_job_enqueued_in_a_transaction_commits_or_rolls_back_with_it(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let head = store.audit_head().await.expect("head").0;

        // The state change, its job and its audit entry, rolled back together.
        let mut tx = store.transaction().await.expect("begins");
        let rolled_back = tx.enqueue(&NewJob::new("test.work", json!({ "request": 1 }))).await.expect("enqueues");
        tx.audit_append(&NewEntry::new(Actor::System, "request.erase", Some(Target::new("request", 1))))
            .await
            .expect("appends");
        touch_state(&mut tx, "rolled back").await;
        drop(tx);
        assert!(matches!(store.job(rolled_back.id).await, Err(StoreError::NotFound { .. })));
        assert_eq!(store.audit_head().await.expect("head").0, head);
        assert_eq!(claim(&store, "w").await, None);

        // An explicit rollback after an error in the middle.
        let mut tx = store.transaction().await.expect("begins");
        tx.enqueue(&NewJob::new("test.work", json!({ "request": 2 }))).await.expect("enqueues");
        let err = tx.enqueue(&NewJob::new("Bad Kind", json!({}))).await;
        assert!(matches!(err, Err(StoreError::InvalidJob(_))), "{err:?}");
        tx.rollback().await.expect("rolls back");
        assert_eq!(claim(&store, "w").await, None);

        // And committed together.
        let mut tx = store.transaction().await.expect("begins");
        let committed = tx.enqueue(&NewJob::new("test.work", json!({ "request": 3 }))).await.expect("enqueues");
        let entry = tx
            .audit_append(&NewEntry::new(Actor::System, "request.erase", Some(Target::new("request", 3))))
            .await
            .expect("appends");
        touch_state(&mut tx, "committed").await;
        tx.commit().await.expect("commits");
        assert_eq!(status(&store, committed.id).await, JobStatus::Queued);
        assert_eq!(store.audit_head().await.expect("head"), (head + 1, entry.hash));
        assert!(store.audit_verify().await.expect("verifies").is_intact());
        assert_eq!(state_rows(db).await, ["committed"]);
    }

    async fn a_handler_commits_its_effects_with_the_completion(db: &TestDb) {
        let (store, clock) = open(db).await;
        let id = store.enqueue(&NewJob::new("test.work", json!({}))).await.expect("enqueues").id;
        let stale = claim(&store, "w1").await.expect("claimable");
        clock.advance(LEASE);
        let current = claim(&store, "w2").await.expect("reclaimed");

        // The stale claim's effects are refused together with its completion.
        let mut tx = store.transaction().await.expect("begins");
        touch_state(&mut tx, "stale").await;
        assert!(matches!(tx.complete(&stale).await, Err(StoreError::LeaseLost { .. })));
        drop(tx);

        let mut tx = store.transaction().await.expect("begins");
        touch_state(&mut tx, "current").await;
        tx.complete(&current).await.expect("completes");
        tx.commit().await.expect("commits");
        store.complete(&current).await.expect("the worker's own completion is then a no-op");
        assert_eq!(status(&store, id).await, JobStatus::Done);
        assert_eq!(state_rows(db).await, ["current"]);
    }

    async fn concurrent_claimers_never_share_a_job(db: &TestDb) {
        let (store, _clock) = open(db).await;
        const JOBS: usize = 60;
        for i in 0..JOBS {
            store.enqueue(&NewJob::new("test.work", json!({ "i": i }))).await.expect("enqueues");
        }
        let tasks: Vec<_> = (0..12)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let worker = format!("w{w}");
                    let mut mine = Vec::new();
                    while let Some(job) = claim(&store, &worker).await {
                        mine.push(job.id);
                        store.complete(&job).await.expect("the claim holds");
                    }
                    mine
                })
            })
            .collect();
        let mut seen = HashSet::new();
        let mut total = 0;
        for task in tasks {
            for id in task.await.expect("the task runs") {
                total += 1;
                assert!(seen.insert(id), "job {id} was claimed twice");
            }
        }
        assert_eq!((total, seen.len()), (JOBS, JOBS));
        assert_eq!(store.job_counts().await.expect("counts").done, i64::try_from(JOBS).expect("small"));
    }

    async fn schedules_enqueue_each_slot_once(db: &TestDb) {
        let (store, clock) = open(db).await;
        // A second instance on the same database, with the same clock.
        let other = db.open_with_clock(clock.clone()).await;
        let start = clock.now();
        let schedule = NewSchedule::new("retention-sweep", "retention.sweep", json!({ "scope": "all" }), Duration::from_secs(3600));
        let stored = store.put_schedule(&schedule).await.expect("creates");
        assert_eq!(stored.next_run_at, start);
        assert_eq!(store.due_schedules().await.expect("lists").len(), 1);

        let run_both = async || {
            let (a, b) = tokio::join!(store.run_due_schedules(), other.run_due_schedules());
            let mut all = a.expect("a runs");
            all.extend(b.expect("b runs"));
            all.iter().filter(|e| e.created).count()
        };
        assert_eq!(run_both().await, 1, "the first slot is enqueued once");
        assert_eq!(run_both().await, 0, "and not again");
        assert!(store.due_schedules().await.expect("lists").is_empty());
        assert_eq!(store.schedules().await.expect("lists")[0].next_run_at, start.plus(Duration::from_secs(3600)));

        clock.advance(Duration::from_secs(3600));
        assert_eq!(run_both().await, 1, "the second slot");
        // Down for three and a half intervals: one catch-up run, then back on the grid.
        clock.advance(Duration::from_secs(3 * 3600 + 1800));
        assert_eq!(run_both().await, 1, "missed slots collapse into one run");
        let next = store.schedules().await.expect("lists")[0].next_run_at;
        assert_eq!(next, start.plus(Duration::from_secs(5 * 3600)));

        // A stale instance that moves the schedule back finds the slot's key taken.
        db.exec(&format!("UPDATE schedules SET next_run_at = {}", start.as_millis()))
            .await
            .expect("rewinds");
        assert_eq!(run_both().await, 0, "a slot already enqueued is not enqueued again");

        let jobs = store.jobs(0, 100).await.expect("lists");
        let slots: Vec<i64> = jobs.iter().map(|j| j.run_at.as_millis() - start.as_millis()).collect();
        assert_eq!(slots, [0, 3_600_000, 7_200_000]);
        assert_eq!(jobs[0].kind, "retention.sweep");
        assert_eq!(jobs[0].payload, json!({ "scope": "all" }));
        assert_eq!(jobs[1].idempotency_key, Some(format!("schedule:retention-sweep:{}", start.as_millis() + 3_600_000)));

        // Updating keeps the slot; deleting stops it.
        let updated = store
            .put_schedule(&NewSchedule { interval: Duration::from_secs(60), ..schedule.clone() })
            .await
            .expect("updates");
        assert_eq!(updated.interval_seconds, 60);
        assert_eq!(updated.next_run_at, start.plus(Duration::from_secs(5 * 3600)));
        assert!(store.delete_schedule("retention-sweep").await.expect("deletes"));
        assert!(!store.delete_schedule("retention-sweep").await.expect("deletes"));
        assert!(store.schedules().await.expect("lists").is_empty());
        let bad = NewSchedule::new("x", "test.work", json!({}), Duration::from_millis(500));
        assert!(matches!(store.put_schedule(&bad).await, Err(StoreError::InvalidJob(_))));
        other.close().await;
    }

    async fn finished_jobs_are_purged(db: &TestDb) {
        let (store, clock) = open(db).await;
        for _ in 0..3 {
            store.enqueue(&NewJob::new("test.work", json!({}))).await.expect("enqueues");
        }
        let done = claim(&store, "w").await.expect("claimable");
        store.complete(&done).await.expect("completes");
        let _running = claim(&store, "w").await.expect("claimable");
        clock.advance(Duration::from_secs(10));
        assert_eq!(store.purge_finished_jobs(clock.now()).await.expect("purges"), 1);
        assert!(matches!(store.job(done.id).await, Err(StoreError::NotFound { .. })));
        assert_eq!(store.jobs(0, 10).await.expect("lists").len(), 2);
    }

    async fn the_worker_runs_retries_and_stops_on_shutdown(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let ok = store.enqueue(&NewJob::new("test.work", json!({ "fail": false }))).await.expect("enqueues").id;
        let bad = store
            .enqueue(&NewJob::new("test.work", json!({ "fail": true })).with_max_attempts(1))
            .await
            .expect("enqueues")
            .id;
        let panics = store
            .enqueue(&NewJob::new("test.panic", json!({})).with_max_attempts(2))
            .await
            .expect("enqueues")
            .id;
        let mut config = WorkerConfig::new(&["test.work", "test.panic"]);
        config.poll = Duration::from_millis(10);
        let worker = Worker::new(store.clone(), config);
        let runs = Arc::new(AtomicUsize::new(0));
        let handler = {
            let runs = runs.clone();
            move |job: ClaimedJob| {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    if job.kind == "test.panic" {
                        panic!("a handler bug");
                    }
                    if job.payload["fail"] == json!(true) {
                        return Err(format!("job {} failed on purpose", job.id));
                    }
                    Ok(())
                }
            }
        };
        assert_eq!(worker.run_one(&handler).await.expect("runs"), RunOutcome::Completed(ok));
        assert_eq!(worker.run_one(&handler).await.expect("runs"), RunOutcome::Failed(bad, JobStatus::Dead));
        assert_eq!(worker.run_one(&handler).await.expect("runs"), RunOutcome::Failed(panics, JobStatus::Failed));
        assert_eq!(store.job(panics).await.expect("reads").last_error.as_deref(), Some("the handler panicked"));
        assert_eq!(worker.run_one(&handler).await.expect("runs"), RunOutcome::Idle, "the retry waits");
        assert_eq!(store.job(bad).await.expect("reads").last_error, Some(format!("job {bad} failed on purpose")));

        // The loop drains new work and returns once cancelled.
        for i in 0..5 {
            store.enqueue(&NewJob::new("test.work", json!({ "i": i }))).await.expect("enqueues");
        }
        let shutdown = CancellationToken::new();
        let running = tokio::spawn({
            let worker = worker.clone();
            let shutdown = shutdown.clone();
            async move { worker.run(handler, shutdown).await }
        });
        let drained = tokio::time::timeout(Duration::from_secs(30), async {
            while store.job_counts().await.expect("counts").done < 6 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(drained.is_ok(), "the worker drains the queue");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("the worker stops when cancelled")
            .expect("the worker task does not panic");
        assert_eq!(runs.load(Ordering::SeqCst), 3 + 5);
    }

    async fn a_worker_that_loses_its_lease_cancels_the_handler(db: &TestDb) {
        let (store, clock) = open(db).await;
        let id = store.enqueue(&NewJob::new("test.work", json!({}))).await.expect("enqueues").id;
        let mut config = WorkerConfig::new(&["test.work"]);
        config.heartbeat = Duration::from_millis(20);
        let worker = Worker::new(store.clone(), config.clone());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let started_tx = std::sync::Mutex::new(Some(started_tx));
        let handler = move |_job: ClaimedJob| {
            let started = started_tx.lock().expect("not poisoned").take();
            async move {
                if let Some(started) = started {
                    let _ = started.send(());
                }
                // Never finishes on its own: only the lost lease ends it.
                std::future::pending::<()>().await;
                Ok(())
            }
        };
        let run = tokio::spawn(async move { worker.run_one(&handler).await });
        started_rx.await.expect("the handler starts");
        // Another worker takes the job over after the lease expired (a stalled heartbeat). The
        // worker's heartbeat may extend the lease between the clock's move and the claim: retry.
        let mut thief = None;
        for _ in 0..100 {
            clock.advance(config.lease);
            thief = claim(&store, "thief").await;
            if thief.is_some() {
                break;
            }
        }
        let thief = thief.expect("reclaimed once the lease expired");
        let outcome = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the heartbeat notices")
            .expect("no panic")
            .expect("runs");
        assert_eq!(outcome, RunOutcome::LeaseLost(id));
        store.complete(&thief).await.expect("the new claim still holds");
    }
}

/// A stand-in for a state change made by other code in the same transaction: a row in a table of
/// the test's own, written through [`pactum_store::jobs::Transaction::connection`].
async fn touch_state(tx: &mut pactum_store::jobs::Transaction, label: &str) {
    const CREATE: &str = "CREATE TABLE IF NOT EXISTS test_state (label TEXT NOT NULL)";
    const INSERT: &str = "INSERT INTO test_state (label) VALUES ($1)";
    match tx.connection() {
        Connection::Sqlite(conn) => {
            sqlx::query(CREATE)
                .execute(&mut *conn)
                .await
                .expect("creates");
            sqlx::query(INSERT)
                .bind(label)
                .execute(&mut *conn)
                .await
                .expect("inserts");
        }
        Connection::Postgres(conn) => {
            sqlx::query(CREATE)
                .execute(&mut *conn)
                .await
                .expect("creates");
            sqlx::query(INSERT)
                .bind(label)
                .execute(&mut *conn)
                .await
                .expect("inserts");
        }
    }
}

/// The labels in `test_state`, read on a connection of their own.
async fn state_rows(db: &TestDb) -> Vec<String> {
    use sqlx::Connection as _;
    const SELECT: &str = "SELECT label FROM test_state ORDER BY label";
    match db.kind {
        crate::support::Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connects");
            sqlx::query_scalar(SELECT)
                .fetch_all(&mut conn)
                .await
                .expect("selects")
        }
        crate::support::Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .expect("connects");
            sqlx::query_scalar(SELECT)
                .fetch_all(&mut conn)
                .await
                .expect("selects")
        }
    }
}
