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

/// `GET /openapi.json` (the spec as written, with this server listed first in
/// `servers`: see [`served_spec_json`]), `GET /docs` (redirects to `/docs/`)
/// and the Swagger UI files under it. The API router does not serve these:
/// merge them in, `router(api).merge(spec_routes())`.
pub fn spec_routes() -> Router {
    static SERVED: LazyLock<String> = LazyLock::new(served_spec_json);
    spec_routes_with(SERVED.as_str())
}

/// [`SPEC_JSON`](crate::SPEC_JSON) with one more entry first in `servers`:
/// the relative URL `/`, which a reader resolves against where the document
/// came from, so "Try it out" calls the very server serving the docs (behind
/// any proxy or port), while the cloud endpoints stay listed after it.
/// Everything else is byte-for-byte the spec as written.
pub fn served_spec_json() -> String {
    let mut spec: serde_json::Value =
        serde_json::from_str(crate::SPEC_JSON).expect("SPEC_JSON is JSON (checked at build time)");
    let this = serde_json::json!({
        "url": "/",
        "description": "This server: the one serving these docs.",
    });
    match spec["servers"].as_array_mut() {
        Some(servers) => servers.insert(0, this),
        None => spec["servers"] = serde_json::json!([this]),
    }
    serde_json::to_string(&spec).expect("a JSON value serializes")
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_spec_is_served_with_this_server_first() {
        let response = super::spec_routes()
            .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let mut served: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let written: serde_json::Value = serde_json::from_str(crate::SPEC_JSON).unwrap();
        let first = served["servers"].as_array_mut().unwrap().remove(0);
        assert_eq!(first["url"], "/");
        assert_eq!(served, written);
        let docs = super::spec_routes()
            .oneshot(Request::get("/docs/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(docs.status(), 200);
    }
}
