//! `spec_routes()`: the spec and interactive docs next to the API, with no
//! network access needed at build or run time.
//!
//! `/openapi.json` is `openapi.yaml` converted to JSON at build time, as
//! written: never round-tripped through utoipa's OpenAPI 3.1 model. `/docs`
//! is Swagger UI from `utoipa-swagger-ui` with its `vendored` feature, which
//! embeds the files in the binary (the only Rust UI crate that needs no
//! download).

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::from("/openapi.json")
            .try_it_out_enabled(true)
            .display_request_duration(true)
            // No validator badge: off loopback, Swagger UI would send the
            // spec's URL to validator.swagger.io; /docs fetches nothing from
            // outside.
            .validator_url("none"),
    )
});

/// `GET /openapi.json` (the spec as written, [`SPEC_JSON`](crate::SPEC_JSON)),
/// `GET /docs` (redirects to `/docs/`) and the Swagger UI files under it.
/// The API router does not serve these: merge them in,
/// `router(api).merge(spec_routes())`.
pub fn spec_routes() -> Router {
    spec_routes_with(crate::SPEC_JSON)
}

/// [`spec_routes`] serving `spec_json` as `/openapi.json` (e.g. the spec with
/// this server listed first in `servers`, so "Try it out" calls it).
pub fn spec_routes_with(spec_json: &'static str) -> Router {
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    spec_json,
                )
            }),
        )
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(|| file(String::new())))
        .route("/docs/{*tail}", get(|Path(tail): Path<String>| file(tail)))
}

async fn file(tail: String) -> Response {
    match utoipa_swagger_ui::serve(&tail, CONFIG.clone()) {
        Ok(Some(file)) => {
            let content_type = HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            ([(CONTENT_TYPE, content_type)], file.bytes.into_owned()).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such docs file\n").into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "docs unavailable\n").into_response(),
    }
}
