//! Requests cut off mid-flight (a keep-alive client that hangs up, which makes
//! hyper drop the handler; the deadline layer) must not poison the store: every
//! later request still succeeds. Found by the load benchmark: wrk closing its
//! connections left pooled connections inside a transaction ("there is already
//! a transaction in progress", "begin_with at non-zero transaction depth") and
//! every later request on them failed with 500.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::Harness;
use swrd::api::Registry;
use swrd::http::{AppConfig, app};

const FIXTURE: &str = r#"
domains:
  - {id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", name: a, tokens: ["tok-a"]}
namespaces:
  - name: group
    domain: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    repositories: [{name: busybox, tags: []}]
"#;

/// Drops the request future after exactly `k` polls, for every `k` over a
/// request's life: a cancellation lands at every await point, inside BEGIN
/// and COMMIT included. Every request after that must succeed.
async fn cancellation_at_every_await_point_is_harmless(h: Harness) {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    h.import_yaml(FIXTURE).await;
    swrd::synth::synth(
        &h.store,
        Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        "group",
        "busybox",
        500,
        1,
    )
    .await
    .unwrap();
    let config = AppConfig {
        registry: Registry {
            host: "swr.local".into(),
            internal_host: "127.0.0.1:5000".into(),
        },
        request_timeout: Duration::from_secs(10),
        metrics: None,
    };
    let router = app(Arc::new(h.store.clone()), config);
    let request = || {
        Request::get("/v2/manage/namespaces/group/repos/busybox/tags?offset=100&limit=50")
            .header("X-Auth-Token", "tok-a")
            .body(Body::empty())
            .unwrap()
    };
    for k in 0..400usize {
        let mut fut = Box::pin(router.clone().oneshot(request()));
        for _ in 0..k {
            if futures_util::FutureExt::now_or_never(fut.as_mut()).is_some() {
                break;
            }
            tokio::task::yield_now().await;
            if k % 3 == 0 {
                tokio::time::sleep(Duration::from_micros(50)).await;
            }
        }
        drop(fut);
    }
    // Let any background work settle, then every request must succeed.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..30 {
        let response = router.clone().oneshot(request()).await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "a request after the cancellations failed"
        );
    }
}

on_both_backends!(cancellation_at_every_await_point_is_harmless);
