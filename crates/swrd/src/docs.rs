//! `/docs`: interactive API docs (Swagger UI) that work with no network access.
//!
//! The Swagger UI files come from `utoipa-swagger-ui` with its `vendored`
//! feature, which embeds them in the binary (the only one of the Rust UI crates
//! that needs no download at build or run time). The page reads the spec from
//! `/openapi.json`, which serves `openapi.yaml` as written: the spec is never
//! round-tripped through utoipa's 3.1 model.

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

/// `/docs` (redirects to `/docs/`) and the Swagger UI files under it.
pub fn routes() -> Router {
    Router::new()
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
        Err(e) => {
            tracing::error!(error = %e, "serving Swagger UI failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "docs unavailable\n").into_response()
        }
    }
}
