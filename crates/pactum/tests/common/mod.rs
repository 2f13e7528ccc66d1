//! Helpers shared by the tests that run `pactum serve` as a process: minimal HTTP/1.1 over a
//! socket (no HTTP client crate), the running server, the mail outbox, and the whole data-subject
//! request journey through the API.

#![allow(dead_code, reason = "each test file uses its own subset")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// A minimal HTTP/1.1 GET, so the test needs no HTTP client crate.
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A minimal HTTP/1.1 request with extra headers and a body: the status, the response head and the
/// body.
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
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
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_owned(), body.to_owned())
}

/// A running `pactum serve --demo --listen 127.0.0.1:0 ARGS...`: the child, the address it
/// printed (with the scheme stripped) and the whole banner. Standard error is piped for the log
/// assertions.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub banner: String,
}

impl Server {
    pub fn start(data: &Path, args: &[&str]) -> Server {
        Server::start_with_env(data, args, &[])
    }

    pub fn start_with_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut all = vec!["--demo"];
        all.extend_from_slice(args);
        Server::start_serving(data, &all, env)
    }

    /// `pactum serve --listen 127.0.0.1:0 --data DATA ARGS...` (no demo: give `--map`).
    pub fn start_serving(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::cargo_bin("pactum")
            .expect("binary")
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("a line");
        // The banner is written with one `write_all` well under PIPE_BUF, so it arrives whole: the
        // rest of it is already in the reader's buffer.
        let banner = format!("{first}{}", String::from_utf8_lossy(reader.buffer()));
        let first = first.trim_end();
        let addr = first
            .split("://")
            .nth(1)
            .map(|s| s.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Server {
            child,
            addr,
            banner,
        }
    }

    /// Sends SIGTERM, waits, and returns the exit status and everything logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("server exits");
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut logs)
            .expect("logs");
        (status, logs)
    }
}

/// GET returning the raw body bytes (for the download), with the status.
pub fn get_bytes(addr: &str, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response[split + 4..].to_vec())
}

/// The code and the links in the newest message to `to` in the server's outbox.
pub fn last_mail(data: &Path, to: &str) -> (String, Vec<String>) {
    let messages = pactum_web::mail::read_outbox(&data.join("outbox")).expect("outbox");
    let message = messages
        .iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no mail to {to}: {messages:?}"));
    let code = message
        .body
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_default()
        .to_owned();
    let links = message
        .body
        .split_whitespace()
        .filter(|w| w.starts_with("http://"))
        .map(str::to_owned)
        .collect();
    (code, links)
}

pub fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// [`run_request_for`] the demo person under GDPR.
pub fn run_request(server: &Server, data: &Path, token: &str, kind: &str) -> serde_json::Value {
    run_request_for(server, data, token, kind, "alex.morgan@example.com", "gdpr")
}

/// Makes a request for `person` under `regime` through the public API, verifies it with the code
/// from the server's outbox (in `data`), approves it with the privacy officer's `token`, records
/// its manual tasks done as they appear, and waits until the server's worker has carried it out;
/// returns the admin view of the completed request.
pub fn run_request_for(
    server: &Server,
    data: &Path,
    token: &str,
    kind: &str,
    person: &str,
    regime: &str,
) -> serde_json::Value {
    let body = serde_json::json!({"type": kind, "regime": regime, "email": person});
    run_request_body(server, data, token, person, &body)
}

/// [`run_request_for`] with the public API's request body given whole (`email` must be `person`).
pub fn run_request_body(
    server: &Server,
    data: &Path,
    token: &str,
    person: &str,
    request: &serde_json::Value,
) -> serde_json::Value {
    let json = [("Content-Type", "application/json")];
    let (status, _, body) = server_send(
        server,
        "POST",
        "/api/v1/requests",
        &json,
        &request.to_string(),
    );
    assert_eq!(status, 202, "{body}");
    let public_id = json_of(&body)["id"].as_str().expect("id").to_owned();
    let (code, _) = last_mail(data, person);
    let (status, _, body) = server_send(
        server,
        "POST",
        &format!("/api/v1/requests/{public_id}/verify"),
        &json,
        &format!(r#"{{"code":"{code}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (_, _, body) = server_send(server, "GET", "/api/v1/admin/requests", &auth, "");
    let queue = json_of(&body);
    let id = queue
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["public_id"] == public_id.as_str())
        .expect("in the queue")["id"]
        .as_i64()
        .expect("an id");
    let (status, _, body) = server_send(
        server,
        "POST",
        &format!("/api/v1/admin/requests/{id}/decision"),
        &auth,
        r#"{"decision":"approve"}"#,
    );
    assert_eq!(status, 200, "{body}");
    for _ in 0..200 {
        let (_, _, body) = server_send(
            server,
            "GET",
            &format!("/api/v1/admin/requests/{id}"),
            &auth,
            "",
        );
        let request = json_of(&body);
        if request["status"] == "completed" {
            return request;
        }
        // The manual tasks (systems with no connector), done by an employee and recorded: the
        // request completes when the last one is.
        for task in request["tasks"].as_array().into_iter().flatten() {
            if task["done_at"].is_null() {
                let (status, _, body) = server_send(
                    server,
                    "POST",
                    &format!("/api/v1/admin/requests/{id}/tasks/{}/done", task["id"]),
                    &auth,
                    r#"{"note":"Done by hand, as the map's instructions say."}"#,
                );
                assert_eq!(status, 200, "{body}");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("request {id} was not carried out within 20 s");
}

pub fn server_send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    send(&server.addr, method, path, headers, body)
}

/// A privacy officer's API token in the store under `data`.
pub fn officer_token(data: &Path) -> String {
    let out = Command::cargo_bin("pactum")
        .expect("binary")
        .args([
            "admin",
            "token",
            "create",
            "--name",
            "officer",
            "--role",
            "privacy_officer",
            "--data",
        ])
        .arg(data)
        .output()
        .expect("token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The download link in the newest message to `to`, as a path on the server at `addr`.
pub fn download_path(data: &Path, request: &serde_json::Value, addr: &str) -> String {
    let link = done_mail_links(data, request)
        .into_iter()
        .find(|l| l.contains("/requests/download?token=pcd_"))
        .expect("a download link");
    link.split_once(addr).expect("our address").1.to_owned()
}

/// The links in the "request is done" message about `request` (an admin view), waiting up to
/// 10 s for it: the server's `request.tell` job sends it just after the request completes.
pub fn done_mail_links(data: &Path, request: &serde_json::Value) -> Vec<String> {
    let public_id = request["public_id"].as_str().expect("a public id");
    for _ in 0..100 {
        let messages = pactum_web::mail::read_outbox(&data.join("outbox")).unwrap_or_default();
        if let Some(message) = messages
            .iter()
            .rev()
            .find(|m| m.subject.contains("is done") && m.body.contains(public_id))
        {
            return message
                .body
                .split_whitespace()
                .filter(|w| w.starts_with("http://"))
                .map(str::to_owned)
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no \"done\" message about {public_id} within 10 s");
}
