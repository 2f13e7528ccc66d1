//! A request's manual tasks: recorded once per datastore, done once each with a note, and the
//! last one done enqueues the request's execution again (in the same transaction); notes never
//! reach the audit log. And its execution: seen when it died, run again once. On both backends.

use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::error::StoreError;
use pactum_store::jobs::Job;
use pactum_store::requests::{REQUEST_EXECUTE_JOB, Request};
use pactum_store::tasks::NewTask;

use crate::both;
use crate::support::{erasure_request, manual_clock};

use pactum_store::jobs::JobStatus;

/// What the person who did a task wrote: free text that must never reach the audit log.
const NOTE: &str = "Deleted Grace's folder from the shared drive (Jo, IT)";

async fn request(store: &Store, approve: bool) -> Request {
    erasure_request(store, "grace@example.org", approve).await
}

fn task(datastore: &str) -> NewTask {
    NewTask {
        datastore: datastore.to_owned(),
        instructions: Some(format!("remove the person from {datastore}")),
    }
}

async fn execute_jobs(store: &Store) -> Vec<Job> {
    store
        .jobs(0, 100)
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.kind == REQUEST_EXECUTE_JOB)
        .collect()
}

both! {
    async fn tasks_are_recorded_once_and_the_last_one_done_resumes_the_request(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let request = request(&store, true).await;
        let id = request.id;
        let opened = store
            .open_tasks(&Actor::System, id, &[task("shared_drive"), task("paper_files")])
            .await
            .expect("opens");
        assert_eq!(opened.len(), 2);
        assert!(opened.iter().all(|t| !t.is_done()));
        // A retried job records nothing twice.
        let again = store
            .open_tasks(&Actor::System, id, &[task("shared_drive"), task("paper_files")])
            .await
            .expect("opens again");
        assert_eq!(again, opened);
        assert_eq!(execute_jobs(&store).await.len(), 1, "the approval's job only");

        let first = store
            .complete_task(&Actor::User(3), id, opened[0].id, NOTE)
            .await
            .expect("done");
        assert!(first.is_done());
        assert_eq!(first.done_by.as_deref(), Some("user:3"));
        assert_eq!(first.note.as_deref(), Some(NOTE));
        assert_eq!(execute_jobs(&store).await.len(), 1, "one task is still open");
        assert!(matches!(
            store.complete_task(&Actor::User(3), id, opened[0].id, NOTE).await,
            Err(StoreError::TaskDone { .. })
        ));

        store
            .complete_task(&Actor::User(4), id, opened[1].id, "Shredded the paper file.")
            .await
            .expect("done");
        let jobs = execute_jobs(&store).await;
        assert_eq!(jobs.len(), 2, "the last task done resumes the request");
        assert_eq!(jobs[1].payload["request_id"], id);
        let tasks = store.request_tasks(id).await.expect("reads");
        assert!(tasks.iter().all(|t| t.is_done()));

        let mut out = Vec::new();
        store.audit_export(&mut out).await.expect("exports");
        let audit = String::from_utf8(out).expect("utf-8");
        assert_eq!(audit.matches("\"request.task_done\"").count(), 2);
        assert_eq!(audit.matches("\"request.tasks_open\"").count(), 1);
        assert!(!audit.contains("Grace's folder"), "notes are never audited");
        assert!(!audit.contains("Shredded"), "notes are never audited");
    }

    async fn a_dead_execution_is_seen_and_run_again_once(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let request = request(&store, true).await;
        let id = request.id;
        let first = store.request_execution(id).await.expect("reads").expect("the approval's job");
        assert_eq!(first.status, JobStatus::Queued);
        // Not dead: nothing to retry.
        assert!(matches!(
            store.retry_request(&Actor::User(1), id).await,
            Err(StoreError::RequestState { .. })
        ));
        // Every attempt fails.
        loop {
            clock.advance(std::time::Duration::from_secs(24 * 3600));
            let job = store
                .claim("w1", &[REQUEST_EXECUTE_JOB], std::time::Duration::from_secs(60))
                .await
                .expect("claims")
                .expect("the job is due");
            let status = store
                .fail(&job, "datastore `crm` failed: connection refused")
                .await
                .expect("fails");
            if status == JobStatus::Dead {
                break;
            }
        }
        let dead = store.request_execution(id).await.expect("reads").expect("a job");
        assert_eq!(dead.status, JobStatus::Dead);
        assert_eq!(dead.attempts, 5);
        assert_eq!(dead.last_error.as_deref(), Some("datastore `crm` failed: connection refused"));

        let job = store.retry_request(&Actor::User(1), id).await.expect("retries");
        let again = store.request_execution(id).await.expect("reads").expect("a job");
        assert_eq!((again.job_id, again.status), (job, JobStatus::Queued));
        assert!(matches!(
            store.retry_request(&Actor::User(1), id).await,
            Err(StoreError::RequestState { .. })
        ), "once: the new job is not dead");
        let unapproved = self::request(&store, false).await;
        assert!(matches!(
            store.retry_request(&Actor::User(1), unapproved.id).await,
            Err(StoreError::RequestState { .. })
        ));
        assert_eq!(store.request_execution(unapproved.id).await.expect("reads"), None);
    }

    async fn bad_task_steps_are_refused(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        let unapproved = request(&store, false).await;
        assert!(matches!(
            store.open_tasks(&Actor::System, unapproved.id, &[task("x")]).await,
            Err(StoreError::RequestState { .. })
        ));
        let approved = request(&store, true).await;
        let tasks = store
            .open_tasks(&Actor::System, approved.id, &[task("x")])
            .await
            .expect("opens");
        for note in ["", "   ", &"n".repeat(2001)] {
            assert!(matches!(
                store.complete_task(&Actor::User(1), approved.id, tasks[0].id, note).await,
                Err(StoreError::InvalidRequest(_))
            ));
        }
        // A task of another request, or none at all.
        assert!(matches!(
            store.complete_task(&Actor::User(1), unapproved.id, tasks[0].id, NOTE).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.complete_task(&Actor::User(1), approved.id, 999_999, NOTE).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(!store.request_tasks(approved.id).await.expect("reads")[0].is_done());
    }
}
