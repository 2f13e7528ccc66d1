//! End-to-end tests of `pactum admin` and `pactum audit` on a SQLite store in a temporary data
//! directory. (The store's behaviour on PostgreSQL is proven in `pactum-store`'s own suite.)

use std::path::Path;

use assert_cmd::Command;

/// `pactum ARGS... --data DATA`, with no store settings from the environment.
fn pactum(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("pactum").expect("the pactum binary is built");
    cmd.env_remove("PACTUM_DATABASE_URL")
        .env_remove("PACTUM_DATA")
        .args(args)
        .arg("--data")
        .arg(data);
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

fn create_user(data: &Path, email: &str, role: &str) -> Command {
    let mut cmd = pactum(
        data,
        &[
            "admin",
            "create-user",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
    );
    cmd.write_stdin("correct horse battery staple\n");
    cmd
}

#[test]
fn users_tokens_and_the_audit_log_from_the_command_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("pactum-data");

    assert_eq!(
        stdout(&mut create_user(
            &data,
            "dpo@example.com",
            "privacy_officer"
        )),
        "created user 1 (dpo@example.com) with role privacy_officer\n"
    );
    assert!(data.join("pactum.db").is_file());
    let err = failure(&mut create_user(&data, "dpo@example.com", "analyst"));
    assert!(
        err.contains("a user with this email address already exists"),
        "{err}"
    );

    let token = stdout(&mut pactum(
        &data,
        &[
            "admin",
            "token",
            "create",
            "--name",
            "ci-deploy",
            "--role",
            "engineer",
            "--role",
            "analyst",
            "--expires-in-days",
            "30",
        ],
    ));
    let token = token.trim_end();
    assert!(
        token.starts_with("pct_") && token.len() == 47,
        "the token alone is printed: {token:?}"
    );

    let list = stdout(&mut pactum(&data, &["admin", "token", "list"]));
    assert!(list.contains("ci-deploy"), "{list}");
    assert!(list.contains("analyst,engineer"), "{list}");
    assert!(list.contains("active"), "{list}");
    assert!(
        !list.contains(&token[4..]),
        "the list never shows the secret"
    );

    pactum(&data, &["admin", "token", "revoke", "1"])
        .assert()
        .success()
        .stdout("revoked token 1 (ci-deploy)\n");
    let json = stdout(&mut pactum(&data, &["admin", "token", "list", "--json"]));
    let listed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert!(listed[0]["revoked_at"].is_string(), "{json}");
    let err = failure(&mut pactum(&data, &["admin", "token", "revoke", "99"]));
    assert!(err.contains("token 99 not found"), "{err}");

    let verify = stdout(&mut pactum(&data, &["audit", "verify"]));
    assert!(
        verify.starts_with("audit log intact: 3 entries"),
        "{verify}"
    );

    let out = dir.path().join("audit.jsonl");
    let out_arg = out.to_str().expect("a UTF-8 temporary path");
    pactum(&data, &["audit", "export", "--out", out_arg])
        .assert()
        .success()
        .stderr("exported 3 audit entries\n");
    let export = std::fs::read_to_string(&out).expect("the export is written");
    let actions: Vec<String> = export
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("JSON lines");
            format!("{} {}", entry["actor"], entry["action"])
        })
        .collect();
    assert_eq!(
        actions,
        [
            r#""cli" "user.create""#,
            r#""cli" "token.create""#,
            r#""cli" "token.revoke""#
        ]
    );
    assert!(
        !export.contains("example.com"),
        "no email address in the audit log"
    );
    assert!(!export.contains(&token[4..]), "no token in the audit log");
    let stdout_export = stdout(&mut pactum(&data, &["audit", "export"]));
    assert_eq!(stdout_export, export);
}

#[test]
fn audit_verify_fails_on_a_tampered_log() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("pactum-data");
    stdout(&mut create_user(&data, "a@example.com", "owner"));
    stdout(&mut create_user(&data, "b@example.com", "auditor"));

    let db = data.join("pactum.db");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("connects");
        sqlx::raw_sql(
            "DROP TRIGGER audit_log_no_update; \
             UPDATE audit_log SET details = '{\"role\":\"owner\"}' WHERE seq = 2",
        )
        .execute(&mut conn)
        .await
        .expect("tampers");
        conn.close().await.expect("closes");
    });

    let output = pactum(&data, &["audit", "verify"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        text.starts_with(
            "audit log BROKEN at entry 2: its contents do not match its hash: the entry was edited"
        ),
        "{text}"
    );
}

#[test]
fn read_commands_do_not_create_a_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("missing");
    let err = failure(&mut pactum(&data, &["audit", "verify"]));
    assert!(err.contains("no Pactum store at"), "{err}");
    assert!(!data.exists());
}

#[test]
fn a_password_is_required_on_stdin_when_not_a_terminal() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("pactum-data");
    let err = failure(
        pactum(
            &data,
            &[
                "admin",
                "create-user",
                "--email",
                "a@example.com",
                "--role",
                "owner",
            ],
        )
        .write_stdin(""),
    );
    assert!(err.contains("--password-stdin"), "{err}");
    let err = failure(&mut create_user(&data, "a@example.com", "root"));
    assert!(err.contains("invalid value 'root'"), "{err}");
}
