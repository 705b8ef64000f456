//! Sending one request and reading the whole answer, either in process
//! (`oneshot` on an axum `Router`: no socket, no port) or over HTTP with
//! reqwest. Checks build a `reqwest::Request` either way, so signing and
//! tampering are the same code in both modes.

use std::time::Duration;

use swr_api::server::axum::Router;
use swr_api::server::axum::body::{Body, to_bytes};
use swr_api::server::axum::http;
use tower::ServiceExt as _;

/// Where in-process requests are addressed (and so what `Host` they sign).
pub(crate) const IN_PROCESS_BASE: &str = "http://swr-conformance.invalid";

/// Longest wait for one answer: a server that hangs fails the check instead
/// of hanging the run.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Largest body read (the unpaged listing of a big fixture is a few MB).
const MAX_BODY: usize = 64 << 20;

/// How requests reach the server.
pub(crate) enum Transport {
    /// A router called directly.
    InProcess(Router),
    /// A server at `base` (scheme, host, port, optional path prefix).
    Live {
        base: String,
        client: Result<reqwest::Client, String>,
    },
}

/// An answer, whole.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    /// Lowercase names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl Transport {
    /// A live transport; a client that cannot be built fails every request
    /// with the reason instead of failing here.
    pub fn live(base_url: &str) -> Transport {
        // reqwest is built without a default TLS provider (see swr_api::tls).
        swr_api::tls::install_default_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        Transport::Live {
            base: base_url.trim_end_matches('/').to_owned(),
            client,
        }
    }

    /// What request URLs start with.
    pub fn base(&self) -> &str {
        match self {
            Transport::InProcess(_) => IN_PROCESS_BASE,
            Transport::Live { base, .. } => base,
        }
    }

    /// Whether `Sent::uri` should show the whole URL (live) or only the
    /// path and query (in process, where the host is made up).
    pub fn is_live(&self) -> bool {
        matches!(self, Transport::Live { .. })
    }

    /// Sends `request` and reads the whole answer; `Err` says why there is none.
    pub async fn send(&self, request: reqwest::Request) -> Result<Response, String> {
        match self {
            Transport::InProcess(router) => in_process(router.clone(), request).await,
            Transport::Live { client, .. } => {
                let client = client.as_ref().map_err(Clone::clone)?;
                let response = client
                    .execute(request)
                    .await
                    .map_err(|e| format!("no response: {}", error_chain(&e)))?;
                let status = response.status().as_u16();
                let headers = header_list(response.headers());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| format!("the body could not be read: {}", error_chain(&e)))?;
                Ok(Response {
                    status,
                    headers,
                    body: body.to_vec(),
                })
            }
        }
    }
}

/// The request as hyper would hand it to the router: origin-form URI and a
/// `Host` header. The router runs on its own task so that a panic in the
/// server is a failed check, not a crashed run.
async fn in_process(router: Router, request: reqwest::Request) -> Result<Response, String> {
    let url = request.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut http_request = http::Request::builder()
        .method(request.method().clone())
        .uri(&target)
        .body(Body::empty())
        .map_err(|e| format!("the request could not be built: {e}"))?;
    *http_request.headers_mut() = request.headers().clone();
    if !http_request.headers().contains_key(http::header::HOST) {
        let host = url.host_str().unwrap_or_default().to_owned();
        let value = http::HeaderValue::from_str(&host).map_err(|e| e.to_string())?;
        http_request.headers_mut().insert(http::header::HOST, value);
    }
    let task = tokio::spawn(async move {
        let response = router
            .oneshot(http_request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let headers = header_list(response.headers());
        let body = to_bytes(response.into_body(), MAX_BODY)
            .await
            .map_err(|e| format!("the body could not be read: {e}"))?;
        Ok::<_, String>(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    });
    match tokio::time::timeout(TIMEOUT, task).await {
        Err(_) => Err(format!("no response within {} s", TIMEOUT.as_secs())),
        Ok(Err(e)) if e.is_panic() => Err("the server panicked".to_owned()),
        Ok(Err(e)) => Err(format!("the server task failed: {e}")),
        Ok(Ok(result)) => result,
    }
}

fn header_list(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An error with its causes (reqwest's own message is often just "error
/// sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
