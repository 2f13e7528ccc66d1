//! Admin users, login lock-out and per-address login limits, with their audit entries.

use std::time::Duration;

use pactum_store::accounts::{LoginOutcome, Role};
use pactum_store::audit::Actor;
use pactum_store::clock::Clock;
use pactum_store::error::StoreError;

use crate::both;
use crate::support::manual_clock;

const IP: &str = "192.0.2.7";

const PASSWORD: &str = "correct horse battery staple";

both! {
    async fn creates_users_and_audits_without_personal_data(db: &TestDb) {
        let store = db.open().await;
        let user = store
            .create_user(&Actor::Cli, "DPO@Example.com", PASSWORD, Role::PrivacyOfficer)
            .await
            .expect("creates");
        assert_eq!(user.email.as_str(), "dpo@example.com");
        assert_eq!(user.role, Role::PrivacyOfficer);
        assert_eq!(store.user(user.id).await.expect("reads"), user);
        assert_eq!(store.list_users().await.expect("lists"), vec![user.clone()]);

        let entries = store.audit_entries(0, 10).await.expect("lists");
        assert_eq!(entries.len(), 1);
        let entry = &entries[0];
        assert_eq!(
            (entry.actor.as_str(), entry.action.as_str()),
            ("cli", "user.create")
        );
        assert_eq!(entry.target_kind.as_deref(), Some("user"));
        assert_eq!(entry.target_id, Some(user.id.to_string()));
        assert_eq!(entry.details, r#"{"role":"privacy_officer"}"#);

        let mut export = Vec::new();
        store.audit_export(&mut export).await.expect("exports");
        let export = String::from_utf8(export).expect("UTF-8");
        assert!(!export.contains("example.com"), "no email address in the audit log");
        assert!(!export.contains("argon2"), "no password hash in the audit log");
    }

    async fn a_failed_change_appends_nothing(db: &TestDb) {
        let store = db.open().await;
        store
            .create_user(&Actor::Cli, "a@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        let err = store
            .create_user(&Actor::Cli, "A@example.com", PASSWORD, Role::Analyst)
            .await
            .expect_err("the address is taken");
        assert!(matches!(err, StoreError::DuplicateUser), "{err:?}");
        let err = store
            .create_user(&Actor::Cli, "b@example.com", "short", Role::Analyst)
            .await
            .expect_err("the password is too short");
        assert!(matches!(err, StoreError::PasswordLength { min: 12, .. }), "{err:?}");
        let err = store
            .create_user(&Actor::Cli, "not-an-address", PASSWORD, Role::Analyst)
            .await
            .expect_err("the address is invalid");
        assert!(matches!(err, StoreError::InvalidEmail), "{err:?}");
        assert_eq!(store.list_users().await.expect("lists").len(), 1);
        assert_eq!(store.audit_head().await.expect("head").0, 1, "only the first create is audited");
        assert!(store.audit_verify().await.expect("verify").is_intact());
    }

    async fn logs_in_with_the_right_password_only(db: &TestDb) {
        let store = db.open().await;
        let user = store
            .create_user(&Actor::Cli, "eng@example.com", PASSWORD, Role::Engineer)
            .await
            .expect("creates");
        assert_eq!(
            store.login("ENG@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Success(user.clone())
        );
        assert_eq!(
            store.login("eng@example.com", "wrong password!!").await.expect("runs"),
            LoginOutcome::InvalidCredentials
        );
        assert_eq!(
            store.login("nobody@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::InvalidCredentials
        );
        let actions: Vec<String> = store
            .audit_entries(0, 10)
            .await
            .expect("lists")
            .into_iter()
            .map(|e| format!("{} {} {:?}", e.actor, e.action, e.target_id))
            .collect();
        let id = user.id;
        assert_eq!(
            actions,
            [
                format!("cli user.create Some(\"{id}\")"),
                format!("user:{id} auth.login Some(\"{id}\")"),
                format!("user:{id} auth.login_failed Some(\"{id}\")"),
                "system auth.login_failed None".to_owned(),
            ]
        );
    }

    async fn repeated_failures_lock_the_account_across_restarts(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let user = store
            .create_user(&Actor::Cli, "owner@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        // The test policy: 3 failures within 10 minutes lock for 15 minutes.
        for _ in 0..2 {
            assert_eq!(
                store.login("owner@example.com", "wrong password!!").await.expect("runs"),
                LoginOutcome::InvalidCredentials
            );
        }
        let until = clock.now().plus(Duration::from_secs(900));
        assert_eq!(
            store.login("owner@example.com", "wrong password!!").await.expect("runs"),
            LoginOutcome::Locked { until }
        );
        // Locked: even the right password is not checked.
        assert_eq!(
            store.login("owner@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Locked { until }
        );
        store.close().await;

        // A restart (a new store on the same database) keeps the lock.
        let store = db.open_with_clock(clock.clone()).await;
        clock.advance(Duration::from_secs(899));
        assert_eq!(
            store.login("owner@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Locked { until }
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            store.login("owner@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Success(user)
        );
        let locked = store
            .audit_entries(0, 20)
            .await
            .expect("lists")
            .into_iter()
            .filter(|e| e.action == "auth.locked_out")
            .count();
        assert_eq!(locked, 1);
        assert!(store.audit_verify().await.expect("verify").is_intact());
    }

    async fn failures_outside_the_window_do_not_add_up(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        store
            .create_user(&Actor::Cli, "an@example.com", PASSWORD, Role::Analyst)
            .await
            .expect("creates");
        for _ in 0..5 {
            for _ in 0..2 {
                assert_eq!(
                    store.login("an@example.com", "wrong password!!").await.expect("runs"),
                    LoginOutcome::InvalidCredentials
                );
            }
            clock.advance(Duration::from_secs(601));
        }
        assert!(matches!(
            store.login("an@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Success(_)
        ));
    }

    async fn unknown_accounts_lock_too(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        for _ in 0..2 {
            assert_eq!(
                store.login("ghost@example.com", PASSWORD).await.expect("runs"),
                LoginOutcome::InvalidCredentials
            );
        }
        assert!(matches!(
            store.login("ghost@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Locked { .. }
        ));
    }

    async fn one_address_is_limited_across_accounts(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let a = store
            .create_user(&Actor::Cli, "a@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        let b = store
            .create_user(&Actor::Cli, "b@example.com", PASSWORD, Role::Analyst)
            .await
            .expect("creates");
        // The test limit: 4 attempts per address per 10 minutes, spread over several accounts so
        // that no account reaches its own lock-out (3 failures).
        for email in ["a@example.com", "a@example.com", "ghost@example.com", "b@example.com"] {
            assert_eq!(
                store.login_from(email, "wrong password!!", Some(IP)).await.expect("runs"),
                LoginOutcome::InvalidCredentials
            );
        }
        // The clock sits on a window boundary: the whole window is left.
        let limited = LoginOutcome::RateLimited { retry_after: Duration::from_secs(600) };
        assert_eq!(
            store.login_from("b@example.com", PASSWORD, Some(IP)).await.expect("runs"),
            limited,
            "refused even with the right password for another account"
        );
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            store.login_from("a@example.com", PASSWORD, Some(&format!(" {IP} "))).await.expect("runs"),
            LoginOutcome::RateLimited { retry_after: Duration::from_secs(540) }
        );
        // Another address, and a login with no address, are not affected.
        assert_eq!(
            store.login_from("b@example.com", PASSWORD, Some("192.0.2.8")).await.expect("runs"),
            LoginOutcome::Success(b.clone())
        );
        assert_eq!(
            store.login("a@example.com", PASSWORD).await.expect("runs"),
            LoginOutcome::Success(a.clone())
        );

        // Once the window has passed, the address may try again.
        clock.advance(Duration::from_secs(540));
        assert_eq!(
            store.login_from("b@example.com", PASSWORD, Some(IP)).await.expect("runs"),
            LoginOutcome::Success(b)
        );

        let entries = store.audit_entries(0, 100).await.expect("lists");
        let refusals: Vec<(String, Option<String>, Option<String>, String)> = entries
            .iter()
            .filter(|e| e.action == "auth.login_rate_limited")
            .map(|e| (e.actor.clone(), e.target_kind.clone(), e.target_id.clone(), e.details.clone()))
            .collect();
        assert_eq!(
            refusals,
            [
                ("system".to_owned(), None, None, r#"{"retry_after_secs":600}"#.to_owned()),
                ("system".to_owned(), None, None, r#"{"retry_after_secs":540}"#.to_owned()),
            ]
        );
        let mut export = Vec::new();
        store.audit_export(&mut export).await.expect("exports");
        let export = String::from_utf8(export).expect("UTF-8");
        assert!(!export.contains("192.0.2"), "no address in the audit log");
        assert!(!export.contains("example.com"), "no email address in the audit log");
        assert!(store.audit_verify().await.expect("verify").is_intact());
    }

    async fn the_address_limit_holds_across_restarts_and_instances(db: &TestDb) {
        let clock = manual_clock();
        let first = db.open_with_clock(clock.clone()).await;
        let second = db.open_with_clock(clock.clone()).await;
        first
            .create_user(&Actor::Cli, "a@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        // Two attempts through each of two instances on the same database: 4 in all.
        for store in [&first, &second, &first, &second] {
            assert!(matches!(
                store.login_from("a@example.com", PASSWORD, Some(IP)).await.expect("runs"),
                LoginOutcome::Success(_)
            ));
        }
        assert!(matches!(
            first.login_from("a@example.com", PASSWORD, Some(IP)).await.expect("runs"),
            LoginOutcome::RateLimited { .. }
        ));
        first.close().await;
        second.close().await;

        // A restart keeps the count.
        let store = db.open_with_clock(clock.clone()).await;
        assert!(matches!(
            store.login_from("a@example.com", PASSWORD, Some(IP)).await.expect("runs"),
            LoginOutcome::RateLimited { .. }
        ));
        clock.advance(Duration::from_secs(600));
        assert!(matches!(
            store.login_from("a@example.com", PASSWORD, Some(IP)).await.expect("runs"),
            LoginOutcome::Success(_)
        ));
    }

    async fn parallel_attempts_never_exceed_the_address_limit(db: &TestDb) {
        let store = db.open_with_clock(manual_clock()).await;
        store
            .create_user(&Actor::Cli, "a@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        let attempts = (0..12).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.login_from("a@example.com", PASSWORD, Some(IP)).await })
        });
        let mut limited = 0;
        for attempt in futures_util::future::join_all(attempts).await {
            match attempt.expect("the task runs").expect("runs") {
                LoginOutcome::RateLimited { .. } => limited += 1,
                LoginOutcome::Success(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(limited, 8, "exactly 4 of 12 attempts get through");
    }
}
