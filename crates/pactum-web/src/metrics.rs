//! Prometheus metrics at `/metrics`: request counts and latencies by route template and status.
//!
//! Routes are recorded by their template (`/api/v1/requests/{id}`), never by the concrete path, so
//! no identifier or personal data can reach a label.
//!
//! The registry is ours (a mutex over a small map, rendered in the Prometheus text format): the
//! exporter crates bring some thirty dependencies for what is, here, two metric families.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Observations at or below each bucket bound.
    buckets: [u64; BUCKETS.len()],
}

type Key = (String, String, u16);

fn registry() -> &'static Mutex<BTreeMap<Key, Series>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<Key, Series>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

fn observe(key: Key, seconds: f64) {
    // A poisoned lock only means another request panicked mid-update: the counts are still usable.
    let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
    let series = map.entry(key).or_default();
    series.count += 1;
    series.sum += seconds;
    for (bound, n) in BUCKETS.iter().zip(series.buckets.iter_mut()) {
        if seconds <= *bound {
            *n += 1;
        }
    }
}

pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    observe(
        (method, route, response.status().as_u16()),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// The registry in the Prometheus text exposition format (version 0.0.4).
fn text() -> String {
    let map = registry().lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    out.push_str("# HELP pactum_http_requests_total HTTP requests served.\n");
    out.push_str("# TYPE pactum_http_requests_total counter\n");
    for ((method, route, status), s) in map.iter() {
        let _ = writeln!(
            out,
            "pactum_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
            escape(route),
            s.count
        );
    }
    out.push_str("# HELP pactum_http_request_duration_seconds Time to produce a response.\n");
    out.push_str("# TYPE pactum_http_request_duration_seconds histogram\n");
    for ((method, route, status), s) in map.iter() {
        let labels = format!(
            "method=\"{method}\",route=\"{}\",status=\"{status}\"",
            escape(route)
        );
        for (bound, n) in BUCKETS.iter().zip(s.buckets) {
            let _ = writeln!(
                out,
                "pactum_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "pactum_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "pactum_http_request_duration_seconds_sum{{{labels}}} {}",
            s.sum
        );
        let _ = writeln!(
            out,
            "pactum_http_request_duration_seconds_count{{{labels}}} {}",
            s.count
        );
    }
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) async fn render() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        observe(("GET".into(), "/unit-test".into(), 200), 0.003);
        observe(("GET".into(), "/unit-test".into(), 200), 0.2);
        let text = text();
        let line = |le: &str| {
            format!(
                "pactum_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/unit-test\",status=\"200\",le=\"{le}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 0\n", line("0.0025"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", line("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", line("0.25"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", line("+Inf"))), "{text}");
    }
}
