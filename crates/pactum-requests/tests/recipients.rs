//! Webhooks to recipients (GDPR Art. 19) delivered to a real HTTP server on loopback: signed as
//! the Standard Webhooks scheme says, refused when the recipient answers an error, never sent to a
//! plain-HTTP address elsewhere.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use pactum_requests::recipients::{NotifyError, Sender, secret_bytes, sign};

type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A recipient answering `status` and recording what it received; its base URL.
async fn recipient(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/privacy-hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let record = Arc::clone(&record);
            async move {
                record
                    .lock()
                    .expect("not poisoned")
                    .push((headers, body.to_vec()));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/privacy-hook"), seen)
}

#[tokio::test]
async fn a_recipient_receives_a_signed_event_it_can_verify() {
    let (url, seen) = recipient(StatusCode::NO_CONTENT).await;
    let key = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let body =
        br#"{"type":"privacy_request.erasure","data":{"subject":{"email":"ada@example.com"}}}"#;
    let sender = Sender::new().expect("client");
    let status = sender
        .deliver(&url, &key, "msg_1", 1_800_000_000, body)
        .await
        .expect("delivered");
    assert_eq!(status, 204);
    let seen = seen.lock().expect("not poisoned");
    assert_eq!(seen.len(), 1);
    let (headers, received) = &seen[0];
    assert_eq!(received, body);
    assert_eq!(headers["webhook-id"], "msg_1");
    assert_eq!(headers["webhook-timestamp"], "1800000000");
    // The recipient recomputes the signature over what it received.
    let expected = sign(&key, "msg_1", 1_800_000_000, received);
    assert_eq!(headers["webhook-signature"], expected.as_str());
    assert_eq!(headers["content-type"], "application/json");
}

#[tokio::test]
async fn an_error_answer_is_a_failed_delivery() {
    let (url, _) = recipient(StatusCode::SERVICE_UNAVAILABLE).await;
    let sender = Sender::new().expect("client");
    let err = sender
        .deliver(&url, b"k", "msg_2", 1, b"{}")
        .await
        .expect_err("503 is a failure");
    assert!(matches!(err, NotifyError::Status(503)), "{err:?}");
}

#[tokio::test]
async fn plain_http_elsewhere_is_refused_before_anything_is_sent() {
    let sender = Sender::new().expect("client");
    let err = sender
        .deliver("http://hooks.example.com/x", b"k", "msg_3", 1, b"{}")
        .await
        .expect_err("insecure");
    assert!(matches!(err, NotifyError::InsecureUrl));
    // Nothing listens here: the connection error is a failed delivery, not a success.
    let err = sender
        .deliver("http://127.0.0.1:9/x", b"k", "msg_4", 1, b"{}")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, NotifyError::Send(_)), "{err:?}");
}
