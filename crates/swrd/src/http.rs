//! The whole HTTP surface of `swrd`: the generated API router plus the routes an
//! operator needs (`/openapi.json`, `/docs`, `/healthz`, `/readyz`,
//! `/metrics`), and the layers every request goes through (request id, tracing,
//! metrics, timeout).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use swr_api::server::support::{REQUEST_ID_HEADER, Rejection, request_id};
use tower_http::trace::TraceLayer;

use crate::api::{Registry, SwrdApi};
use crate::store::{AnyStore, Maintenance as _};

/// What the HTTP layer needs.
pub struct AppConfig {
    /// Pull addresses shown in `path` / `internal_path`.
    pub registry: Registry,
    /// Longest time to the response head; a streamed body may take longer.
    pub request_timeout: Duration,
    /// Renders `/metrics`; `None` serves an empty exposition.
    pub metrics: Option<PrometheusHandle>,
}

#[derive(Clone)]
struct Ops {
    store: Arc<AnyStore>,
    metrics: Option<PrometheusHandle>,
}

/// The application router.
pub fn app(store: Arc<AnyStore>, config: AppConfig) -> Router {
    app_with_webhook(store, config, None)
}

/// [`app`] plus the registry webhook (`POST /registry/events`) when
/// `webhook` is given; without it that path is a 404.
pub fn app_with_webhook(
    store: Arc<AnyStore>,
    config: AppConfig,
    webhook: Option<crate::registry::Webhook>,
) -> Router {
    let api = swr_api::server::router(Arc::new(SwrdApi::new(store.clone(), config.registry)));
    let ops = Ops {
        store,
        metrics: config.metrics,
    };
    let timeout = config.request_timeout;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(ops)
        .merge(swr_api::server::spec_routes())
        .merge(api)
        .merge(webhook.map(crate::registry::routes).unwrap_or_default())
        .layer(middleware::from_fn(move |req: Request, next: Next| deadline(req, next, timeout)))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(middleware::from_fn(request_ids))
}

/// Ready when the database answers.
async fn readyz(State(ops): State<Ops>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), ops.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database did not answer in 2s\n",
        )
            .into_response(),
    }
}

async fn metrics_text(State(ops): State<Ops>) -> impl IntoResponse {
    let text = ops
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
}

/// The one request-id mechanism: before anything else sees the request, its
/// `X-Request-Id` becomes what the API router's rule
/// ([`swr_api::server::support::request_id`]) makes of it — the client's if
/// it is 1 to 128 visible ASCII characters, else a fresh UUID — so the log
/// span, the deadline's 500, the API's answer and every other route's
/// answer carry the same id.
async fn request_ids(mut req: Request, next: Next) -> Response {
    let id = HeaderValue::from_str(&request_id(req.headers())).expect("visible ASCII");
    req.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .entry(REQUEST_ID_HEADER)
        .or_insert(id);
    response
}

/// Requests by operation and status, and their latency to the response head.
async fn record_metrics(req: Request, next: Next) -> Response {
    let operation = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("swrd_requests_total", "method" => method.clone(), "route" => operation.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("swrd_request_duration_seconds", "method" => method, "route" => operation)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Answers 500 in the SWR shape when no response head is ready in time, so a
/// stuck store never holds a client forever.
async fn deadline(req: Request, next: Next, timeout: Duration) -> Response {
    let id = request_id(req.headers());
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
            Rejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                swr_api::server::error_codes::INTERNAL,
                format!(
                    "the request did not complete within {} ms; retry later",
                    timeout.as_millis()
                ),
            )
            .into_response_with_id(&id)
        }
    }
}
