//! API tokens: shown once, stored hashed, scoped, expiring, revocable, audited.

use std::time::Duration;

use pactum_store::accounts::Role;
use pactum_store::audit::Actor;
use pactum_store::clock::Clock;
use pactum_store::error::StoreError;
use pactum_store::tokens::{NewToken, TokenCheck};

use crate::both;
use crate::support::manual_clock;

fn new_token(name: &str, roles: &[Role]) -> NewToken {
    NewToken {
        name: name.to_owned(),
        roles: roles.to_vec(),
        expires_at: None,
    }
}

both! {
    async fn creates_authenticates_lists_and_revokes(db: &TestDb) {
        let store = db.open().await;
        let (token, secret) = store
            .create_token(&Actor::Cli, &new_token("ci-deploy", &[Role::Engineer, Role::Analyst]))
            .await
            .expect("creates");
        let text = secret.expose();
        assert!(text.starts_with("pct_"), "{text}");
        assert_eq!(text.len(), 4 + 43, "32 bytes in unpadded base64url");
        assert_eq!(token.roles, [Role::Analyst, Role::Engineer]);
        assert_eq!(token.created_by, "cli");

        assert_eq!(store.authenticate_token(text).await.expect("runs"), TokenCheck::Valid(token.clone()));
        let mut wrong = text.to_owned();
        wrong.pop();
        wrong.push(if text.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(store.authenticate_token(&wrong).await.expect("runs"), TokenCheck::Unknown);
        assert_eq!(store.authenticate_token("Bearer x").await.expect("runs"), TokenCheck::Unknown);

        let listed = store.list_tokens().await.expect("lists");
        assert_eq!(listed, vec![token.clone()]);
        let shown = serde_json::to_string(&listed).expect("serialises");
        assert!(!shown.contains(&text[4..]), "the list never shows the secret");

        let revoked = store.revoke_token(&Actor::User(1), token.id).await.expect("revokes");
        assert!(revoked.revoked_at.is_some());
        assert_eq!(store.authenticate_token(text).await.expect("runs"), TokenCheck::Revoked(revoked.clone()));
        // Revoking again changes nothing and appends nothing.
        assert_eq!(store.revoke_token(&Actor::Cli, token.id).await.expect("idempotent"), revoked);

        let entries = store.audit_entries(0, 10).await.expect("lists");
        let summary: Vec<(String, String, String)> = entries
            .iter()
            .map(|e| (e.actor.clone(), e.action.clone(), e.details.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("cli".into(), "token.create".into(), r#"{"expires_at":null,"roles":["analyst","engineer"]}"#.into()),
                ("user:1".into(), "token.revoke".into(), "{}".into()),
            ]
        );
        let mut export = Vec::new();
        store.audit_export(&mut export).await.expect("exports");
        let export = String::from_utf8(export).expect("UTF-8");
        assert!(!export.contains(&text[4..]), "the audit log never holds the secret");
    }

    async fn stores_only_the_hash(db: &TestDb) {
        let store = db.open().await;
        let (_, secret) = store
            .create_token(&Actor::Cli, &new_token("t", &[Role::Auditor]))
            .await
            .expect("creates");
        let stored: String = match db.kind {
            crate::support::Kind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connects");
                sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&pool).await.expect("reads")
            }
            crate::support::Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.expect("connects");
                sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&pool).await.expect("reads")
            }
        };
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&secret.expose()[4..]));
    }

    async fn tokens_expire(db: &TestDb) {
        let clock = manual_clock();
        let store = db.open_with_clock(clock.clone()).await;
        let mut new = new_token("nightly", &[Role::Analyst]);
        new.expires_at = Some(clock.now().plus(Duration::from_secs(86_400)));
        let (token, secret) = store.create_token(&Actor::Cli, &new).await.expect("creates");
        assert!(token.is_active(store.now()));
        assert!(matches!(store.authenticate_token(secret.expose()).await.expect("runs"), TokenCheck::Valid(_)));
        clock.advance(Duration::from_secs(86_400));
        assert_eq!(store.authenticate_token(secret.expose()).await.expect("runs"), TokenCheck::Expired(token.clone()));
        assert!(!token.is_active(store.now()));

        new.expires_at = Some(store.now());
        let err = store.create_token(&Actor::Cli, &new).await.expect_err("expiry in the past");
        assert!(matches!(err, StoreError::ExpiryInPast));
    }

    async fn refuses_bad_tokens_and_unknown_ids(db: &TestDb) {
        let store = db.open().await;
        let err = store.create_token(&Actor::Cli, &new_token("x", &[])).await.expect_err("no roles");
        assert!(matches!(err, StoreError::NoRoles));
        let err = store.create_token(&Actor::Cli, &new_token("  ", &[Role::Owner])).await.expect_err("no name");
        assert!(matches!(err, StoreError::InvalidTokenName));
        let err = store.revoke_token(&Actor::Cli, 42).await.expect_err("no such token");
        assert!(matches!(err, StoreError::NotFound { kind: "token", id: 42 }));
        assert_eq!(store.audit_head().await.expect("head").0, 0);
    }
}
