//! Data-subject requests: intake, verification, rate limits, decisions, completion, downloads and
//! subject flags, on both backends. Time moves only through the injected clock.

use std::sync::Arc;
use std::time::Duration;

use pactum_store::Store;
use pactum_store::audit::Actor;
use pactum_store::clock::{Clock, ManualClock};
use pactum_store::error::StoreError;
use pactum_store::requests::{
    Channel, Completion, Deadline, Decision, Download, NewRequest, REQUEST_EXECUTE_JOB,
    REQUEST_TELL_JOB, RateLimits, Request, RequestKind, RequestListing, RequestStatus, SubjectFlag,
    VerificationSecrets, VerifyOutcome,
};
use serde_json::json;

use crate::both;
use crate::support::{TestDb, manual_clock};

const EMAIL: &str = "Ada.Lovelace@Example.org";
const OFFICER: Actor = Actor::User(7);

async fn open(db: &TestDb) -> (Store, Arc<ManualClock>) {
    let clock = manual_clock();
    (db.open_with_clock(clock.clone()).await, clock)
}

fn deadline(due_on: &str) -> Deadline {
    Deadline {
        received_on: "2026-11-26".into(),
        acknowledge_by: None,
        legal_due: due_on.into(),
        extended_due: None,
        promised_due: None,
        due_on: due_on.into(),
        regime: "gdpr".into(),
    }
}

fn new_request(kind: RequestKind, email: &str) -> NewRequest {
    NewRequest {
        kind,
        regimes: vec!["gdpr".into()],
        identity_kind: "email".into(),
        identity_value: email.into(),
        channel: Channel::PrivacyCentre,
        details: Some("Please check the account under my maiden name".into()),
        corrections: Default::default(),
        deadline: deadline("2026-12-26"),
        client_ip: Some("203.0.113.9".into()),
    }
}

/// Creates a privacy-centre request and returns it with its secrets.
async fn create(store: &Store, new: &NewRequest) -> (Request, VerificationSecrets) {
    let (request, secrets) = store
        .create_request(&Actor::Subject, new, &RateLimits::default())
        .await
        .expect("creates");
    (
        request,
        secrets.expect("a request that needs verification has secrets"),
    )
}

/// A request that is verified (by link) and awaiting a decision.
async fn verified(store: &Store, kind: RequestKind, email: &str) -> Request {
    let (_, secrets) = create(store, &new_request(kind, email)).await;
    match store
        .verify_request_link(&secrets.link_token)
        .await
        .expect("runs")
    {
        VerifyOutcome::Verified(request) => request,
        other => panic!("expected Verified, got {other:?}"),
    }
}

fn wrong(code: &str) -> String {
    let last = code.as_bytes()[5];
    let replaced = if last == b'9' {
        '0'
    } else {
        char::from(last + 1)
    };
    format!("{}{replaced}", &code[..5])
}

async fn audit_export(store: &Store) -> String {
    let mut out = Vec::new();
    store.audit_export(&mut out).await.expect("exports");
    String::from_utf8(out).expect("UTF-8")
}

async fn request_jobs(store: &Store) -> Vec<pactum_store::jobs::Job> {
    store
        .jobs(0, 100)
        .await
        .expect("lists")
        .into_iter()
        .filter(|j| j.kind == REQUEST_EXECUTE_JOB)
        .collect()
}

fn package_completion(bytes: &[u8], lifetime: Duration) -> Completion {
    Completion {
        outcome: json!({ "records": 3 }),
        package: Some(bytes.to_vec()),
        package_lifetime: lifetime,
    }
}

both! {
    async fn create_then_verify_by_code(db: &TestDb) {
        let (store, clock) = open(db).await;
        let limits = RateLimits::default();
        let (request, secrets) = create(&store, &new_request(RequestKind::Access, EMAIL)).await;
        assert_eq!(request.status, RequestStatus::Unverified);
        assert_eq!(request.identity_value, "ada.lovelace@example.org", "normalised");
        assert!(request.public_id.starts_with("dsr_") && request.public_id.len() == 26);
        assert_eq!(request.verified_at, None);
        assert_eq!(secrets.code.len(), 6);
        assert!(secrets.link_token.starts_with("pcv_"));
        assert_eq!(secrets.expires_at, clock.now().plus(Duration::from_secs(30 * 60)));

        let stored = store.request_by_public_id(&request.public_id).await.expect("reads");
        assert_eq!(stored.as_ref(), Some(&request));
        assert_eq!(store.request(request.id).await.expect("reads"), Some(request.clone()));
        assert_eq!(store.request_by_public_id("dsr_AAAAAAAAAAAAAAAAAAAAAA").await.expect("reads"), None);

        let outcome = store
            .verify_request_code(&request.public_id, &wrong(&secrets.code), Some("198.51.100.1"), &limits)
            .await
            .expect("runs");
        assert_eq!(outcome, VerifyOutcome::WrongCode { attempts_left: 4 });
        let outcome = store
            .verify_request_code(&request.public_id, &format!(" {} ", secrets.code), None, &limits)
            .await
            .expect("runs");
        let VerifyOutcome::Verified(verified) = outcome else {
            panic!("expected Verified, got {outcome:?}");
        };
        assert_eq!(verified.status, RequestStatus::Verified);
        assert_eq!(verified.verified_at, Some(clock.now()));
        assert_eq!(store.request(request.id).await.expect("reads"), Some(verified.clone()));
        // Again, by code or by link: already verified.
        assert!(matches!(
            store.verify_request_code(&request.public_id, &secrets.code, None, &limits).await.expect("runs"),
            VerifyOutcome::AlreadyVerified(_)
        ));
        assert!(matches!(
            store.verify_request_link(&secrets.link_token).await.expect("runs"),
            VerifyOutcome::AlreadyVerified(_)
        ));
        assert_eq!(
            store.verify_request_code("dsr_nope", "123456", None, &limits).await.expect("runs"),
            VerifyOutcome::Unknown
        );
        assert_eq!(
            store.resend_verification(&request.public_id, &limits).await.expect("runs"),
            None,
            "nothing to resend for a verified request"
        );
    }

    async fn five_wrong_codes_burn_the_code_until_a_resend(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let limits = RateLimits::default();
        let (request, secrets) = create(&store, &new_request(RequestKind::Erasure, EMAIL)).await;
        let bad = wrong(&secrets.code);
        for left in (0..5).rev() {
            assert_eq!(
                store.verify_request_code(&request.public_id, &bad, None, &limits).await.expect("runs"),
                VerifyOutcome::WrongCode { attempts_left: left }
            );
        }
        for code in [bad.as_str(), secrets.code.as_str()] {
            assert_eq!(
                store.verify_request_code(&request.public_id, code, None, &limits).await.expect("runs"),
                VerifyOutcome::TooManyAttempts,
                "even the right code no longer works"
            );
        }
        assert_eq!(store.request(request.id).await.expect("reads").map(|r| r.status), Some(RequestStatus::Unverified));

        // A resend gives a new code and link; the old ones stop working.
        let fresh = store
            .resend_verification(&request.public_id, &limits)
            .await
            .expect("runs")
            .expect("an unverified request gets new secrets");
        assert_ne!(fresh.link_token, secrets.link_token);
        assert_eq!(
            store.verify_request_link(&secrets.link_token).await.expect("runs"),
            VerifyOutcome::Unknown
        );
        if fresh.code != secrets.code {
            assert_eq!(
                store.verify_request_code(&request.public_id, &secrets.code, None, &limits).await.expect("runs"),
                VerifyOutcome::WrongCode { attempts_left: 4 }
            );
        }
        assert!(matches!(
            store.verify_request_code(&request.public_id, &fresh.code, None, &limits).await.expect("runs"),
            VerifyOutcome::Verified(_)
        ));
    }

    async fn codes_and_links_expire(db: &TestDb) {
        let (store, clock) = open(db).await;
        let limits = RateLimits::default();
        let (by_code, code_secrets) = create(&store, &new_request(RequestKind::Access, EMAIL)).await;
        let (_, link_secrets) = create(&store, &new_request(RequestKind::Access, "grace@example.org")).await;
        clock.advance(Duration::from_secs(29 * 60 + 59));
        assert!(matches!(
            store.verify_request_link(&link_secrets.link_token).await.expect("runs"),
            VerifyOutcome::Verified(_)
        ), "still valid just before expiry");
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            store.verify_request_code(&by_code.public_id, &code_secrets.code, None, &limits).await.expect("runs"),
            VerifyOutcome::Expired
        );
        assert_eq!(
            store.verify_request_link(&code_secrets.link_token).await.expect("runs"),
            VerifyOutcome::Expired
        );
        let fresh = store.resend_verification(&by_code.public_id, &limits).await.expect("runs").expect("resent");
        assert!(matches!(
            store.verify_request_code(&by_code.public_id, &fresh.code, None, &limits).await.expect("runs"),
            VerifyOutcome::Verified(_)
        ));
    }

    async fn a_link_verifies_once(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let (request, secrets) = create(&store, &new_request(RequestKind::Access, EMAIL)).await;
        let first = store.verify_request_link(&secrets.link_token).await.expect("runs");
        let VerifyOutcome::Verified(verified) = first else {
            panic!("expected Verified, got {first:?}");
        };
        assert_eq!(verified.id, request.id);
        assert_eq!(
            store.verify_request_link(&secrets.link_token).await.expect("runs"),
            VerifyOutcome::AlreadyVerified(verified)
        );
        assert_eq!(store.verify_request_link("pcv_forged").await.expect("runs"), VerifyOutcome::Unknown);
        assert_eq!(store.verify_request_link("anything").await.expect("runs"), VerifyOutcome::Unknown);
        let verifies = store
            .audit_entries(0, 100)
            .await
            .expect("lists")
            .into_iter()
            .filter(|e| e.action == "request.verify")
            .count();
        assert_eq!(verifies, 1);
    }

    async fn rate_limits_per_identity_and_per_address(db: &TestDb) {
        let (store, clock) = open(db).await;
        // Start at the beginning of a window so the whole test stays inside one.
        let hour = 3_600_000;
        clock.set(pactum_store::clock::Timestamp::from_millis(clock.now().as_millis() / hour * hour));
        let limits = RateLimits { per_identity: 3, per_ip: 5, ..RateLimits::default() };
        let mut new = new_request(RequestKind::Access, EMAIL);
        for _ in 0..3 {
            store.create_request(&Actor::Subject, &new, &limits).await.expect("within the limit");
        }
        // Same person, other spelling: still the same identity.
        new.identity_value = "  ADA.LOVELACE@example.org".into();
        new.client_ip = Some("198.51.100.77".into());
        clock.advance(Duration::from_secs(600));
        match store.create_request(&Actor::Subject, &new, &limits).await {
            Err(StoreError::RateLimited { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(50 * 60));
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Other people from the first address: two more fit (3 + 2 = 5), the next does not.
        for person in ["b@example.org", "c@example.org"] {
            store
                .create_request(&Actor::Subject, &new_request(RequestKind::Access, person), &limits)
                .await
                .expect("within the address limit");
        }
        assert!(matches!(
            store.create_request(&Actor::Subject, &new_request(RequestKind::Access, "d@example.org"), &limits).await,
            Err(StoreError::RateLimited { .. })
        ));
        // A refused request is not stored and not counted: the admin channel is not limited.
        let admin = NewRequest { channel: Channel::Admin, ..new.clone() };
        let (request, secrets) = store.create_request(&OFFICER, &admin, &limits).await.expect("admin is not limited");
        assert_eq!((request.status, secrets), (RequestStatus::Verified, None));
        assert_eq!(store.list_requests_with(&RequestListing {
            include_unverified: true, include_closed: true, limit: 100,
        }).await.expect("lists").len(), 6);
        // A resend counts against the identity too.
        let (other, _) = create(&store, &NewRequest { client_ip: None, ..new_request(RequestKind::Access, "e@example.org") }).await;
        let tight = RateLimits { per_identity: 1, ..limits };
        assert!(matches!(
            store.resend_verification(&other.public_id, &tight).await,
            Err(StoreError::RateLimited { .. })
        ));

        // A new window starts afresh.
        clock.advance(Duration::from_secs(50 * 60));
        store.create_request(&Actor::Subject, &new, &limits).await.expect("a new window");
        store
            .create_request(&Actor::Subject, &new_request(RequestKind::Access, "d@example.org"), &limits)
            .await
            .expect("a new window for the address too");
        assert!(store.purge_rate_limits().await.expect("purges") >= 2, "the old windows are gone");
    }

    async fn concurrent_requests_and_decisions_are_serialised(db: &TestDb) {
        let (store, clock) = open(db).await;
        let hour = 3_600_000;
        clock.set(pactum_store::clock::Timestamp::from_millis(clock.now().as_millis() / hour * hour));
        let limits = RateLimits { per_identity: 3, ..RateLimits::default() };
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let mut new = new_request(RequestKind::Access, EMAIL);
            new.client_ip = Some(format!("192.0.2.{i}"));
            tasks.push(tokio::spawn(async move {
                store.create_request(&Actor::Subject, &new, &limits).await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.expect("the task runs") {
                Ok(_) => created += 1,
                Err(StoreError::RateLimited { .. }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(created, 3, "exactly the limit gets through");

        let request = verified(&store, RequestKind::Erasure, "grace@example.org").await;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.decide_request(&OFFICER, request.id, &Decision::Approve).await
            }));
        }
        let mut approved = 0;
        for task in tasks {
            match task.await.expect("the task runs") {
                Ok(_) => approved += 1,
                Err(StoreError::RequestState { .. }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(approved, 1);
        assert_eq!(request_jobs(&store).await.len(), 1);
        let approvals = store
            .audit_entries(0, 100)
            .await
            .expect("lists")
            .into_iter()
            .filter(|e| e.action == "request.approve")
            .count();
        assert_eq!(approvals, 1);
    }

    async fn verification_attempts_are_limited_per_address(db: &TestDb) {
        let (store, clock) = open(db).await;
        let hour = 3_600_000;
        clock.set(pactum_store::clock::Timestamp::from_millis(clock.now().as_millis() / hour * hour));
        let limits = RateLimits { per_ip: 3, max_attempts: 100, ..RateLimits::default() };
        let (request, secrets) = create(&store, &new_request(RequestKind::Access, EMAIL)).await;
        let ip = Some("192.0.2.50");
        for _ in 0..3 {
            let outcome = store
                .verify_request_code(&request.public_id, &wrong(&secrets.code), ip, &limits)
                .await
                .expect("runs");
            assert!(matches!(outcome, VerifyOutcome::WrongCode { .. }));
        }
        assert!(matches!(
            store.verify_request_code(&request.public_id, &secrets.code, ip, &limits).await,
            Err(StoreError::RateLimited { .. })
        ), "even the right code is refused from an address over its limit");
        assert!(matches!(
            store.verify_request_code("dsr_unknown", "000000", ip, &limits).await,
            Err(StoreError::RateLimited { .. })
        ));
        // Another address may still verify.
        assert!(matches!(
            store.verify_request_code(&request.public_id, &secrets.code, Some("192.0.2.51"), &limits).await.expect("runs"),
            VerifyOutcome::Verified(_)
        ));
    }

    async fn opt_outs_need_no_verification_nor_decision(db: &TestDb) {
        let (store, clock) = open(db).await;
        for kind in [RequestKind::OptOutSaleSharing, RequestKind::LimitSensitive] {
            let mut new = new_request(kind, EMAIL);
            new.regimes = vec!["ccpa".into()];
            let (request, secrets) = store
                .create_request(&Actor::Subject, &new, &RateLimits::default())
                .await
                .expect("creates");
            assert_eq!(secrets, None);
            assert_eq!(request.status, RequestStatus::Verified);
            assert_eq!(request.verified_at, Some(clock.now()));
            let done = store.complete_opt_out(&Actor::System, request.id).await.expect("completes");
            assert_eq!(done.status, RequestStatus::Completed);
            assert_eq!(done.outcome, Some(json!({ "flag": kind.flag().map(SubjectFlag::as_str) })));
            assert_eq!(done.package_expires_at, None);
        }
        let flags: Vec<SubjectFlag> = store
            .subject_flags("email", " ada.lovelace@EXAMPLE.org")
            .await
            .expect("reads")
            .into_iter()
            .map(|f| f.flag)
            .collect();
        assert_eq!(flags, [SubjectFlag::LimitSensitive, SubjectFlag::OptOutSaleSharing]);

        let access = verified(&store, RequestKind::Access, EMAIL).await;
        assert!(matches!(
            store.complete_opt_out(&Actor::System, access.id).await,
            Err(StoreError::InvalidRequest(_))
        ));
    }

    async fn admin_channel_is_verified_at_once(db: &TestDb) {
        let (store, clock) = open(db).await;
        let mut new = new_request(RequestKind::Erasure, EMAIL);
        new.channel = Channel::Admin;
        new.client_ip = None;
        let (request, secrets) = store
            .create_request(&OFFICER, &new, &RateLimits::default())
            .await
            .expect("creates");
        assert_eq!((request.status, secrets), (RequestStatus::Verified, None));
        assert_eq!(request.verified_at, Some(clock.now()));
        let entries = store.audit_entries(0, 10).await.expect("lists");
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].actor.as_str(), entries[0].action.as_str()), ("user:7", "request.create"));
    }

    async fn approving_enqueues_one_job_and_rejecting_records_the_reason(db: &TestDb) {
        let (store, clock) = open(db).await;
        let request = verified(&store, RequestKind::Access, EMAIL).await;
        clock.advance(Duration::from_secs(60));
        let approved = store.decide_request(&OFFICER, request.id, &Decision::Approve).await.expect("approves");
        assert_eq!(approved.status, RequestStatus::Approved);
        assert_eq!(approved.decided_at, Some(clock.now()));
        assert_eq!(approved.decided_by, Some(7));
        assert_eq!(approved.decided_by_actor.as_deref(), Some("user:7"));
        assert_eq!(store.request(request.id).await.expect("reads"), Some(approved.clone()));
        let jobs = request_jobs(&store).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].payload, json!({ "request_id": request.id }));
        assert_eq!(jobs[0].idempotency_key.as_deref(), Some(format!("request.execute:{}", request.id).as_str()));

        // Deciding again is refused and enqueues nothing.
        match store.decide_request(&OFFICER, request.id, &Decision::Approve).await {
            Err(StoreError::RequestState { id, status: RequestStatus::Approved, action: "approved" }) => {
                assert_eq!(id, request.id);
            }
            other => panic!("expected RequestState, got {other:?}"),
        }
        let reject = Decision::Reject { reason: "Identity not confirmed".into() };
        assert!(matches!(
            store.decide_request(&OFFICER, request.id, &reject).await,
            Err(StoreError::RequestState { .. })
        ));
        assert_eq!(request_jobs(&store).await.len(), 1);

        let other = verified(&store, RequestKind::Erasure, "grace@example.org").await;
        assert!(matches!(
            store.decide_request(&OFFICER, other.id, &Decision::Reject { reason: "  ".into() }).await,
            Err(StoreError::InvalidRequest(_))
        ));
        let rejected = store.decide_request(&Actor::Token(3), other.id, &reject).await.expect("rejects");
        assert_eq!(rejected.status, RequestStatus::Rejected);
        assert_eq!(rejected.decision_reason.as_deref(), Some("Identity not confirmed"));
        assert_eq!((rejected.decided_by, rejected.decided_by_actor.as_deref()), (None, Some("token:3")));
        assert_eq!(request_jobs(&store).await.len(), 1, "a rejection enqueues nothing");
        assert!(matches!(
            store.complete_request(&Actor::System, other.id, &package_completion(b"x", Duration::from_secs(60))).await,
            Err(StoreError::RequestState { status: RequestStatus::Rejected, .. })
        ));

        // Unverified requests cannot be decided or completed; unknown ones are not found.
        let (unverified, _) = create(&store, &new_request(RequestKind::Access, "h@example.org")).await;
        assert!(matches!(
            store.decide_request(&OFFICER, unverified.id, &Decision::Approve).await,
            Err(StoreError::RequestState { status: RequestStatus::Unverified, .. })
        ));
        assert!(matches!(
            store.complete_request(&Actor::System, unverified.id, &package_completion(b"x", Duration::from_secs(60))).await,
            Err(StoreError::RequestState { status: RequestStatus::Unverified, .. })
        ));
        assert!(matches!(
            store.decide_request(&OFFICER, 9999, &Decision::Approve).await,
            Err(StoreError::NotFound { kind: "request", id: 9999 })
        ));
        // A verified (not approved) access request cannot be completed either.
        let waiting = verified(&store, RequestKind::Access, "i@example.org").await;
        assert!(matches!(
            store.complete_request(&Actor::System, waiting.id, &package_completion(b"x", Duration::from_secs(60))).await,
            Err(StoreError::RequestState { status: RequestStatus::Verified, .. })
        ));
    }

    async fn completion_stores_a_package_that_downloads_until_it_expires(db: &TestDb) {
        let (store, clock) = open(db).await;
        let request = verified(&store, RequestKind::Access, EMAIL).await;
        store.decide_request(&OFFICER, request.id, &Decision::Approve).await.expect("approves");
        let bytes = b"PK\x03\x04 a zip of the person's records".to_vec();
        let lifetime = Duration::from_secs(7 * 24 * 3600);
        let (done, token) = store
            .complete_request(&Actor::System, request.id, &package_completion(&bytes, lifetime))
            .await
            .expect("completes");
        let token = token.expect("a package has a download token");
        assert!(token.starts_with("pcd_"));
        assert_eq!(done.status, RequestStatus::Completed);
        assert_eq!(done.outcome, Some(json!({ "records": 3 })));
        assert_eq!(done.package_expires_at, Some(clock.now().plus(lifetime)));
        assert_eq!(store.request(request.id).await.expect("reads"), Some(done.clone()));

        // Completing again (a retried job) changes nothing and gives no new token.
        clock.advance(Duration::from_secs(60));
        let (again, none) = store
            .complete_request(&Actor::System, request.id, &package_completion(b"other", lifetime))
            .await
            .expect("idempotent");
        assert_eq!((again, none), (done.clone(), None));

        match store.download_package(&token).await.expect("runs") {
            Download::Ready(package) => {
                assert_eq!(package.bytes, bytes);
                assert_eq!(package.request, done);
            }
            other => panic!("expected Ready, got {other:?}"),
        }
        assert_eq!(store.download_package("pcd_forged").await.expect("runs"), Download::Unknown);
        assert_eq!(store.download_package("pcs_a-session").await.expect("runs"), Download::Unknown);
        let downloads: Vec<_> = store
            .audit_entries(0, 100)
            .await
            .expect("lists")
            .into_iter()
            .filter(|e| e.action == "request.download")
            .collect();
        assert_eq!(downloads.len(), 1);
        assert_eq!(downloads[0].target_id, Some(request.id.to_string()));
        assert_eq!(downloads[0].actor, "subject");

        // The completion enqueued the job that tells the person, once.
        let tell: Vec<_> = store
            .jobs(0, 100)
            .await
            .expect("jobs")
            .into_iter()
            .filter(|j| j.kind == REQUEST_TELL_JOB)
            .collect();
        assert_eq!(tell.len(), 1);
        assert_eq!(tell[0].payload["request_id"].as_i64(), Some(request.id));
        // The job mails a fresh link: the one before stops working, the new one works.
        let fresh = store
            .reissue_download_token(&Actor::System, request.id)
            .await
            .expect("reissues")
            .expect("a package to link to");
        assert_ne!(fresh, token);
        assert_eq!(store.download_package(&token).await.expect("runs"), Download::Unknown);
        assert!(matches!(store.download_package(&fresh).await.expect("runs"), Download::Ready(_)));
        let token = fresh;

        assert_eq!(store.purge_expired_packages().await.expect("purges"), 0, "not expired yet");
        clock.advance(lifetime);
        assert_eq!(store.download_package(&token).await.expect("runs"), Download::Expired);
        assert_eq!(
            store.reissue_download_token(&Actor::System, request.id).await.expect("runs"),
            None,
            "no link to an expired package"
        );
        assert_eq!(store.purge_expired_packages().await.expect("purges"), 1);
        assert_eq!(store.purge_expired_packages().await.expect("purges"), 0);
        assert_eq!(store.download_package(&token).await.expect("runs"), Download::Expired);
    }

    async fn completion_commits_with_the_job(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let request = verified(&store, RequestKind::Restriction, EMAIL).await;
        store.decide_request(&OFFICER, request.id, &Decision::Approve).await.expect("approves");
        let job = store
            .claim("w1", &[REQUEST_EXECUTE_JOB], Duration::from_secs(60))
            .await
            .expect("claims")
            .expect("the approval enqueued a job");
        assert_eq!(job.payload["request_id"].as_i64(), Some(request.id));
        let completion = Completion { outcome: json!({ "restricted": true }), package: None, package_lifetime: Duration::ZERO };

        // Rolled back: neither the request nor the job is completed.
        let mut tx = store.transaction().await.expect("begins");
        store.complete_request_in(&mut tx, &Actor::System, request.id, &completion).await.expect("completes");
        tx.rollback().await.expect("rolls back");
        assert_eq!(store.request(request.id).await.expect("reads").map(|r| r.status), Some(RequestStatus::Approved));
        assert!(store.subject_flags("email", EMAIL).await.expect("reads").is_empty());

        let mut tx = store.transaction().await.expect("begins");
        let (done, token) = store
            .complete_request_in(&mut tx, &Actor::System, request.id, &completion)
            .await
            .expect("completes");
        tx.complete(&job).await.expect("completes the job");
        tx.commit().await.expect("commits");
        assert_eq!((done.status, token), (RequestStatus::Completed, None));
        assert_eq!(store.job(job.id).await.expect("reads").status, pactum_store::jobs::JobStatus::Done);
        let flags = store.subject_flags("email", EMAIL).await.expect("reads");
        assert_eq!(flags.len(), 1);
        assert_eq!((flags[0].flag, flags[0].request_id), (SubjectFlag::Restriction, request.id));
        assert_eq!(Some(flags[0].set_at), done.completed_at);
        // Flags are per identity.
        assert!(store.subject_flags("email", "grace@example.org").await.expect("reads").is_empty());
        assert!(store.subject_flags("email", "not an address").await.expect("reads").is_empty());
        assert!(matches!(store.subject_flags("fax", "1").await, Err(StoreError::InvalidRequest(_))));
    }

    async fn the_work_list_is_ordered_by_due_date(db: &TestDb) {
        let (store, clock) = open(db).await;
        let limits = RateLimits::default();
        let admin = |email: &str, due: &str| NewRequest {
            channel: Channel::Admin,
            client_ip: None,
            deadline: deadline(due),
            ..new_request(RequestKind::Access, email)
        };
        let mut ids = Vec::new();
        for (email, due) in [
            ("a@example.org", "2027-01-10"),
            ("b@example.org", "2026-12-01"),
            ("c@example.org", "2027-01-10"),
            ("d@example.org", "2026-12-15"),
            ("e@example.org", "2026-11-30"),
        ] {
            let (request, _) = store.create_request(&OFFICER, &admin(email, due), &limits).await.expect("creates");
            ids.push(request.id);
            clock.advance(Duration::from_secs(1));
        }
        let (unverified, _) = create(&store, &new_request(RequestKind::Access, "f@example.org")).await;
        // Close two: e (rejected first) and d (completed after).
        let reject = Decision::Reject { reason: "duplicate".into() };
        store.decide_request(&OFFICER, ids[4], &reject).await.expect("rejects");
        store.decide_request(&OFFICER, ids[3], &Decision::Approve).await.expect("approves");
        store
            .complete_request(&Actor::System, ids[3], &package_completion(b"zip", Duration::from_secs(60)))
            .await
            .expect("completes");

        let listed = |requests: Vec<Request>| requests.iter().map(|r| r.id).collect::<Vec<_>>();
        let open_only = listed(store.list_requests(false, 100).await.expect("lists"));
        assert_eq!(open_only, [ids[1], ids[0], ids[2]]);
        let all = listed(store.list_requests(true, 100).await.expect("lists"));
        assert_eq!(all, [ids[1], ids[0], ids[2], ids[4], ids[3]], "closed after, newest first");
        assert_eq!(listed(store.list_requests(true, 2).await.expect("lists")), [ids[1], ids[0]]);
        let with_unverified = listed(
            store
                .list_requests_with(&RequestListing { include_unverified: true, include_closed: false, limit: 100 })
                .await
                .expect("lists"),
        );
        // The unverified request is due 2026-12-26: between b and a.
    assert_eq!(with_unverified, [ids[1], unverified.id, ids[0], ids[2]]);
    }

    async fn invalid_requests_are_refused(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let limits = RateLimits::default();
        let mut long = new_request(RequestKind::Rectification, EMAIL);
        long.details = Some("x".repeat(4001));
        assert!(matches!(store.create_request(&Actor::Subject, &long, &limits).await, Err(StoreError::InvalidRequest(_))));
        long.details = Some("é".repeat(4000));
        store.create_request(&Actor::Subject, &long, &limits).await.expect("4000 characters fit");
        let mut bad_date = new_request(RequestKind::Access, EMAIL);
        bad_date.deadline.due_on = "26/12/2026".into();
        assert!(matches!(store.create_request(&Actor::Subject, &bad_date, &limits).await, Err(StoreError::InvalidRequest(_))));
        let mut bad_email = new_request(RequestKind::Access, "nobody");
        assert!(matches!(store.create_request(&Actor::Subject, &bad_email, &limits).await, Err(StoreError::InvalidEmail)));
        bad_email.identity_kind = "postcode".into();
        assert!(matches!(store.create_request(&Actor::Subject, &bad_email, &limits).await, Err(StoreError::InvalidRequest(_))));
        let mut phone = new_request(RequestKind::Access, "+1 (555) 010-9999");
        phone.identity_kind = "phone".into();
        let (request, _) = store.create_request(&Actor::Subject, &phone, &limits).await.expect("a phone number");
        assert_eq!(request.identity_value, "+15550109999");
    }

    async fn the_audit_chain_holds_no_identity(db: &TestDb) {
        let (store, _clock) = open(db).await;
        let limits = RateLimits::default();
        let (request, secrets) = create(&store, &new_request(RequestKind::Access, EMAIL)).await;
        store
            .verify_request_code(&request.public_id, &wrong(&secrets.code), Some("203.0.113.9"), &limits)
            .await
            .expect("runs");
        store.resend_verification(&request.public_id, &limits).await.expect("runs").expect("resent");
        let request = verified(&store, RequestKind::Access, EMAIL).await;
        store.decide_request(&OFFICER, request.id, &Decision::Approve).await.expect("approves");
        let (_, token) = store
            .complete_request(&Actor::System, request.id, &package_completion(b"zip", Duration::from_secs(60)))
            .await
            .expect("completes");
        let token = token.expect("a token");
        assert!(matches!(store.download_package(&token).await.expect("runs"), Download::Ready(_)));
        let other = verified(&store, RequestKind::Objection, "grace@example.org").await;
        store
            .decide_request(&OFFICER, other.id, &Decision::Reject { reason: "grace@example.org is not a customer".into() })
            .await
            .expect("rejects");

        let export = audit_export(&store).await;
        let actions: Vec<String> = export
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["action"].as_str().unwrap_or("").to_owned())
            .collect();
        for action in [
            "request.create", "request.verify_failed", "request.resend", "request.verify",
            "request.approve", "request.complete", "request.download", "request.reject",
        ] {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }
        let lowered = export.to_lowercase();
        for personal in [
            "ada.lovelace", "example.org", "203.0.113.9", "maiden name", "not a customer",
            &secrets.code, &secrets.link_token[4..], &token[4..],
        ] {
            assert!(!lowered.contains(&personal.to_lowercase()), "{personal:?} leaked into {export}");
        }
        assert!(!export.contains(&request.public_id), "the public id is a capability, not an audit key");
        let report = store.audit_verify().await.expect("verifies");
        assert!(report.is_intact(), "{report:?}");
    }

    async fn unconfirmed_requests_are_purged_after_a_while(db: &TestDb) {
        let (store, clock) = open(db).await;
        let (stale, _) = create(&store, &new_request(RequestKind::Access, "stale@example.com")).await;
        let confirmed = verified(&store, RequestKind::Erasure, "kept@example.com").await;
        clock.advance(Duration::from_secs(8 * 24 * 3600));
        let (fresh, _) = create(&store, &new_request(RequestKind::Access, "fresh@example.com")).await;
        let cutoff = clock.now().minus(Duration::from_secs(7 * 24 * 3600));
        assert_eq!(store.purge_unverified_requests(cutoff).await.expect("purges"), 1);
        assert_eq!(store.request(stale.id).await.expect("reads"), None);
        assert!(store.request(confirmed.id).await.expect("reads").is_some(), "verified stays");
        assert!(store.request(fresh.id).await.expect("reads").is_some(), "recent stays");
        assert_eq!(store.purge_unverified_requests(cutoff).await.expect("purges"), 0);
        let mut out = Vec::new();
        store.audit_export(&mut out).await.expect("export");
        let log = String::from_utf8(out).expect("utf-8");
        assert_eq!(log.matches("request.purge_unverified").count(), 1);
        assert!(!log.contains("stale@example.com"));
        assert!(store.audit_verify().await.expect("verify").is_intact());
    }

    async fn a_deadline_is_extended_once_within_the_first_period(db: &TestDb) {
        let (store, _) = open(db).await;
        let mut new = new_request(RequestKind::Access, "late@example.com");
        new.deadline.extended_due = Some("2027-02-26".into());
        let (request, secrets) = create(&store, &new).await;
        store.verify_request_link(&secrets.link_token).await.expect("verifies");
        // Past the first deadline, notice comes too late.
        let late = store
            .extend_request(&OFFICER, request.id, "We need the archive team.", "2026-12-27")
            .await;
        assert!(matches!(late, Err(StoreError::InvalidRequest(_))), "{late:?}");
        let blank = store.extend_request(&OFFICER, request.id, "  ", "2026-12-01").await;
        assert!(matches!(blank, Err(StoreError::InvalidRequest(_))), "{blank:?}");
        let extended = store
            .extend_request(&OFFICER, request.id, "We need the archive team.", "2026-12-01")
            .await
            .expect("extends");
        assert_eq!(extended.deadline.due_on, "2027-02-26");
        let stored = store.request(request.id).await.expect("reads").expect("exists");
        assert_eq!(stored.deadline.due_on, "2027-02-26");
        let extension = store
            .request_extension(request.id)
            .await
            .expect("reads")
            .expect("extended");
        assert_eq!(
            (extension.previous_due.as_str(), extension.reason.as_str()),
            ("2026-12-26", "We need the archive team.")
        );
        let again = store
            .extend_request(&OFFICER, request.id, "Once more.", "2026-12-02")
            .await;
        assert!(matches!(again, Err(StoreError::InvalidRequest(_))), "{again:?}");
        // A law with no extension, and an unverified request.
        let (plain, _) = create(&store, &new_request(RequestKind::Access, "plain@example.com")).await;
        let unverified = store
            .extend_request(&OFFICER, plain.id, "Reason.", "2026-12-01")
            .await;
        assert!(matches!(unverified, Err(StoreError::RequestState { .. })), "{unverified:?}");
        let mut audit = Vec::new();
        store.audit_export(&mut audit).await.expect("export");
        let audit = String::from_utf8(audit).expect("utf-8");
        assert_eq!(audit.matches("request.extend").count(), 1);
        assert!(!audit.contains("archive team"), "the reason is not audited");
    }
}
