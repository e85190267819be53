//! A chaos proxy for any HTTP fake: it sits on loopback in front of the
//! fake and, drawing from a seeded generator, answers 429 (with and without
//! `Retry-After`) or 5xx before the fake sees a request, drops the
//! connection before or after the fake acted, answers 5xx after the fake
//! acted (a lost answer), sends a malformed body, or delays. Fake-agnostic:
//! every HTTP adapter is tried under the same faults.
#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shares of requests hit by each fault (drawn once per request).
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub rate_limited: f64,
    pub server_error: f64,
    pub drop_before: f64,
    pub drop_after: f64,
    pub error_after: f64,
    pub malformed: f64,
    pub slow: f64,
    /// Answers held a while after the upstream acted (a window in which
    /// the change is made and the client does not know yet).
    pub slow_after: f64,
    /// Every 429 carries `Retry-After: 0` (else half carry none). For a
    /// provider whose contract says to wait 5 s on a bare 429 (Amity), so
    /// the suite does not spend minutes waiting.
    pub hint_always: bool,
}

impl Mix {
    /// The issue's mix: 30% 429, 5% 5xx, 2% drops before and after the
    /// server acts, 1% malformed bodies, some slow answers.
    pub const ISSUE: Mix = Mix {
        rate_limited: 0.30,
        server_error: 0.05,
        drop_before: 0.01,
        drop_after: 0.01,
        error_after: 0.01,
        malformed: 0.01,
        slow: 0.03,
        slow_after: 0.0,
        hint_always: false,
    };

    /// No faults: every answer held 20 ms after the upstream acted.
    pub const HELD: Mix = Mix {
        rate_limited: 0.0,
        server_error: 0.0,
        drop_before: 0.0,
        drop_after: 0.0,
        error_after: 0.0,
        malformed: 0.0,
        slow: 0.0,
        slow_after: 1.0,
        hint_always: false,
    };
}

struct Inner {
    upstream: String,
    client: reqwest::Client,
    rng: Mutex<fastrand::Rng>,
    mix: Mix,
    pub faults: AtomicU64,
}

pub struct Proxy {
    pub base_url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Faults injected so far.
    pub fn faults(&self) -> u64 {
        self.inner.faults.load(Ordering::SeqCst)
    }
}

/// Starts a proxy for `upstream` (a base URL without trailing slash).
pub async fn start(upstream: &str, seed: u64, mix: Mix) -> Proxy {
    let inner = Arc::new(Inner {
        upstream: upstream.trim_end_matches('/').to_string(),
        client: reqwest::Client::new(),
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        mix,
        faults: AtomicU64::new(0),
    });
    let app = Router::new().fallback(relay).with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Proxy {
        base_url: format!("http://{addr}"),
        inner,
        task,
    }
}

fn draw(inner: &Inner) -> f64 {
    inner.rng.lock().unwrap_or_else(|e| e.into_inner()).f64()
}

/// A response whose body fails after the headers: the client sees the
/// connection drop mid-answer.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("chaos: connection dropped"))
    });
    (StatusCode::OK, Body::from_stream(stream)).into_response()
}

async fn relay(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let m = inner.mix;
    let fault = |inner: &Inner| inner.faults.fetch_add(1, Ordering::SeqCst);
    let before = draw(&inner);
    let mut edge = m.rate_limited;
    if before < edge {
        fault(&inner);
        // Half with a hint of zero seconds, half with none.
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "{}").into_response();
        if m.hint_always || draw(&inner) < 0.5 {
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("0"));
        }
        return r;
    }
    edge += m.server_error;
    if before < edge {
        fault(&inner);
        return (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response();
    }
    edge += m.drop_before;
    if before < edge {
        fault(&inner);
        return dropped();
    }
    edge += m.slow;
    if before < edge {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = inner
        .client
        .request(method, format!("{}{path}", inner.upstream))
        .body(body.to_vec());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let Ok(answer) = req.send().await else {
        return (StatusCode::BAD_GATEWAY, "{}").into_response();
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    // The upstream acted; now the answer may be late or lost on the way back.
    if m.slow_after > 0.0 && draw(&inner) < m.slow_after {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = draw(&inner);
    let mut edge = m.drop_after;
    if after < edge {
        fault(&inner);
        return dropped();
    }
    edge += m.error_after;
    if after < edge {
        fault(&inner);
        return (StatusCode::BAD_GATEWAY, "{}").into_response();
    }
    edge += m.malformed;
    if after < edge && status.is_success() {
        fault(&inner);
        return (StatusCode::OK, "{\"truncated\": [").into_response();
    }
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    for (name, value) in &answer_headers {
        if name != "content-length" && name != "transfer-encoding" {
            r.headers_mut().insert(name, value.clone());
        }
    }
    r
}
