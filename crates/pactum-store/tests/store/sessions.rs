//! Console sessions: hashed secrets, lifetime, idle timeout, sign-out and disabled users.

use std::time::Duration;

use pactum_store::accounts::Role;
use pactum_store::audit::Actor;
use pactum_store::clock::Clock;
use pactum_store::sessions::{SessionCheck, SessionPolicy};

use crate::both;
use crate::support::manual_clock;

const PASSWORD: &str = "correct horse battery staple";

fn policy() -> SessionPolicy {
    SessionPolicy {
        lifetime: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(600),
    }
}

both! {
    async fn sessions_live_until_idle_timeout_or_lifetime(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let user = store
            .create_user(&Actor::Cli, "owner@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        let (session, secret) = store.create_session(&user, policy()).await.expect("starts");
        assert!(secret.expose().starts_with("pcs_"));
        assert_eq!(session.expires_at, clock.now().plus(Duration::from_secs(3600)));

        let check = store.authenticate_session(secret.expose()).await.expect("runs");
        assert_eq!(check, SessionCheck::Valid(session.clone(), user.clone()));
        assert_eq!(
            store.authenticate_session("pcs_not-a-session").await.expect("runs"),
            SessionCheck::Unknown
        );
        assert_eq!(
            store.authenticate_session("pct_an-api-token").await.expect("runs"),
            SessionCheck::Unknown
        );

        // Used every 9 minutes, it outlives its 10-minute idle timeout ...
        for _ in 0..6 {
            clock.advance(Duration::from_secs(9 * 60));
            assert!(
                matches!(store.authenticate_session(secret.expose()).await.expect("runs"), SessionCheck::Valid(..)),
                "still live at {}",
                clock.now()
            );
        }
        // ... but not its one-hour lifetime.
        clock.advance(Duration::from_secs(7 * 60));
        assert!(matches!(
            store.authenticate_session(secret.expose()).await.expect("runs"),
            SessionCheck::Expired(_)
        ));

        // A fresh session left alone idles out.
        let (_, idle) = store.create_session(&user, policy()).await.expect("starts");
        clock.advance(Duration::from_secs(599));
        assert!(matches!(store.authenticate_session(idle.expose()).await.expect("runs"), SessionCheck::Valid(..)));
        clock.advance(Duration::from_secs(601));
        assert!(matches!(store.authenticate_session(idle.expose()).await.expect("runs"), SessionCheck::Expired(_)));
        assert!(!store.end_session(idle.expose()).await.expect("runs"), "an expired session is not signed out again");
    }

    async fn purging_removes_only_sessions_that_can_no_longer_be_used(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let user = store
            .create_user(&Actor::Cli, "owner@example.com", PASSWORD, Role::Owner)
            .await
            .expect("creates");
        let (_, idle) = store.create_session(&user, policy()).await.expect("starts");
        let (_, signed_out) = store.create_session(&user, policy()).await.expect("starts");
        assert!(store.end_session(signed_out.expose()).await.expect("signs out"));
        clock.advance(Duration::from_secs(5 * 60));
        let (_, live) = store.create_session(&user, policy()).await.expect("starts");
        // Nothing has expired yet, and the sign-out is newer than the cut-off.
        assert_eq!(store.purge_sessions(clock.now().minus(Duration::from_secs(10 * 60))).await.expect("purges"), 0);
        // Six minutes later the first session has been idle for 11 minutes; the live one for 6.
        clock.advance(Duration::from_secs(6 * 60));
        assert_eq!(store.purge_sessions(clock.now()).await.expect("purges"), 2);
        assert!(matches!(store.authenticate_session(live.expose()).await.expect("runs"), SessionCheck::Valid(..)));
        assert_eq!(store.authenticate_session(idle.expose()).await.expect("runs"), SessionCheck::Unknown);
    }

    async fn sign_out_revokes_and_audits_without_personal_data(db: &TestDb) {
        let store = db.open().await;
        let user = store
            .create_user(&Actor::Cli, "auditor@example.com", PASSWORD, Role::Auditor)
            .await
            .expect("creates");
        let (session, secret) = store.create_session(&user, policy()).await.expect("starts");
        assert!(store.end_session(secret.expose()).await.expect("runs"));
        assert!(matches!(
            store.authenticate_session(secret.expose()).await.expect("runs"),
            SessionCheck::Revoked(_)
        ));
        assert!(!store.end_session(secret.expose()).await.expect("runs"), "idempotent");

        let entries = store.audit_entries(0, 10).await.expect("lists");
        let summary: Vec<(&str, &str, Option<&str>)> = entries
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str(), e.target_id.as_deref()))
            .collect();
        let (user_actor, session_id) = (format!("user:{}", user.id), session.id.to_string());
        assert_eq!(
            summary,
            [
                ("cli", "user.create", Some(user.id.to_string().as_str())),
                (user_actor.as_str(), "session.create", Some(session_id.as_str())),
                (user_actor.as_str(), "auth.logout", Some(session_id.as_str())),
            ]
        );
        let mut export = Vec::new();
        store.audit_export(&mut export).await.expect("exports");
        let export = String::from_utf8(export).expect("UTF-8");
        assert!(!export.contains("example.com"), "{export}");
        assert!(!export.contains(&secret.expose()[4..]), "{export}");
        assert!(store.audit_verify().await.expect("verifies").is_intact());
    }

    async fn disabling_a_user_ends_their_sessions(db: &TestDb) {
        let store = db.open().await;
        let user = store
            .create_user(&Actor::Cli, "eng@example.com", PASSWORD, Role::Engineer)
            .await
            .expect("creates");
        let (_, secret) = store.create_session(&user, policy()).await.expect("starts");
        db.exec(&format!("UPDATE users SET disabled_at = 1 WHERE id = {}", user.id))
            .await
            .expect("disables");
        assert!(matches!(
            store.authenticate_session(secret.expose()).await.expect("runs"),
            SessionCheck::UserDisabled(_)
        ));
    }
}
