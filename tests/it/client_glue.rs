//! `SwrClient` against tiny scripted servers on 127.0.0.1: the AK/SK pre-hook
//! checked by the server's own verifier, retries (what is and is not
//! retried), every error body shape through HTTP, and the typed headers.
#![cfg(all(feature = "client", feature = "server"))]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use swr_api::ContentRange;
use swr_api::client::{ListOptions, ListResponseExt, RetryPolicy, SwrClient, SwrError};
use swr_api::server::support::SignedRequest;

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

/// A server that records every request and answers from a script (the last
/// answer repeats).
struct Scripted {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

async fn scripted(answers: Vec<Answer>) -> Scripted {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::from(answers)));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (log, script) = (log.clone(), script.clone());
        async move {
            log.lock().unwrap().push(Seen {
                method: req.method().clone(),
                uri: req.uri().clone(),
                headers: req.headers().clone(),
            });
            let mut script = script.lock().unwrap();
            let (status, headers, body) = if script.len() > 1 {
                script.pop_front().unwrap()
            } else {
                script.front().cloned().unwrap()
            };
            let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
            for (k, v) in headers {
                response = response.header(k, v);
            }
            response.body(Body::from(body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Scripted { base, seen }
}

impl Scripted {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

const ONE_TAG: &str = r#"[{"id":7,"repo_id":1,"Tag":"v1","image_id":"","manifest":"","digest":"sha256:00","schema":2,"path":"p","internal_path":"i","size":1,"is_trusted":false,"created":"2018-07-06T06:18:55Z","updated":"2018-07-06T06:18:55Z","deleted":null,"domain_id":"d","scanned":false,"tag_type":0}]"#;

fn ok() -> Answer {
    (
        200,
        vec![
            ("content-type", "application/json"),
            ("content-range", "0-1/1"),
            ("x-request-id", "rid-ok"),
        ],
        ONE_TAG,
    )
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

fn client(base: &str) -> SwrClient {
    SwrClient::builder()
        .endpoint(base)
        .token("tok")
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// The client signs; the server's `SignedRequest::from_request` (what swrd
/// runs) verifies, through the wrapper and through the generated client run
/// inside `authorized` (which proves the inherent pre-hook is the one called).
#[tokio::test]
async fn generated_client_requests_are_signed() {
    let server = scripted(vec![ok()]).await;
    let swr = SwrClient::builder()
        .endpoint(&server.base)
        .aksk("AKTEST", "SKTEST")
        .project_id("proj-1")
        .security_token("sts-token")
        .build()
        .unwrap();
    let options = ListOptions::default()
        .with_page(0, 10)
        .unwrap()
        .with_tag("v1")
        .unwrap()
        .with_filter("order_column::tag|order_type::asc".parse().unwrap());
    swr.list_tags("group", "tools/busybox", &options)
        .await
        .unwrap();
    let response = swr
        .authorized(
            swr.generated()
                .list_repository_tags()
                .namespace("group")
                .repository("busybox")
                .send(),
        )
        .await
        .unwrap();
    assert_eq!(response.content_range().unwrap().total, 1);
    // Outside `authorized` nothing is added.
    swr.generated()
        .list_repository_tags()
        .namespace("group")
        .repository("busybox")
        .send()
        .await
        .unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].uri.path(),
        "/v2/manage/namespaces/group/repos/tools$busybox/tags"
    );
    for s in &seen[..2] {
        let auth = s.headers["authorization"].to_str().unwrap();
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,"
            ),
            "{auth}"
        );
        assert_eq!(s.headers["x-project-id"], "proj-1");
        assert_eq!(s.headers["x-security-token"], "sts-token");
        let signed = SignedRequest::from_request(&s.method, &s.uri, &s.headers, auth, b"").unwrap();
        assert_eq!(signed.access_key, "AKTEST");
        assert!(
            signed.signature_matches("SKTEST"),
            "{}",
            signed.canonical_request()
        );
        assert!(!signed.signature_matches("other"));
        assert!(signed.is_fresh(std::time::SystemTime::now(), Duration::from_secs(60)));
    }
    assert!(!seen[2].headers.contains_key("authorization"));
}

#[tokio::test]
async fn token_goes_in_x_auth_token() {
    let server = scripted(vec![ok()]).await;
    let page = client(&server.base)
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(page.tags[0].tag, "v1");
    assert_eq!(
        page.content_range,
        Some(ContentRange {
            offset: 0,
            count: 1,
            total: 1
        })
    );
    assert_eq!(page.request_id.as_deref(), Some("rid-ok"));
    let seen = server.requests();
    assert_eq!(seen[0].headers["x-auth-token"], "tok");
    assert!(!seen[0].headers.contains_key("authorization"));
    assert_eq!(seen[0].uri.query(), None, "no paging params by default");
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let unavailable: Answer = (503, vec![], "upstream down");
    let server = scripted(vec![unavailable.clone(), unavailable, ok()]).await;
    let page = client(&server.base)
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(page.tags.len(), 1);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn retries_429_and_500_until_the_budget_is_spent() {
    let server = scripted(vec![
        (429, vec![("retry-after", "0")], ""),
        (
            500,
            vec![("x-request-id", "rid-500")],
            r#"{"error_code":"SVCSTG.SWR.5000063","error_msg":"Failed to obtain the tag list"}"#,
        ),
    ])
    .await;
    let err = client(&server.base)
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 4, "1 attempt + 3 retries");
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.error_code(), Some("SVCSTG.SWR.5000063"));
    assert_eq!(err.request_id(), Some("rid-500"));
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = scripted(vec![(
        400,
        vec![("x-request-id", "rid-400")],
        r#"{"error_code":"SVCSTG.SWR.4000056","error_msg":"limit must be 1 to 1000","errors":[]}"#,
    )])
    .await;
    let err = client(&server.base)
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        err.to_string(),
        "SVCSTG.SWR.4000056: limit must be 1 to 1000 (HTTP 400, request id rid-400)"
    );
}

#[tokio::test]
async fn connection_errors_are_retried() {
    // A port with nothing listening: bind, note the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let started = std::time::Instant::now();
    let swr = SwrClient::builder()
        .endpoint(&base)
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
        })
        .build()
        .unwrap();
    let err = swr
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SwrError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    // Two back-offs of 50..=100 ms happened.
    assert!(started.elapsed() >= Duration::from_millis(100));
}

/// Every documented body shape, on statuses the spec lists (where the
/// generated code fails to parse them) and on ones it does not.
#[tokio::test]
async fn every_error_shape_over_http() {
    let cases: Vec<(Answer, &str, &str)> = vec![
        (
            (
                404,
                vec![("x-request-id", "r1")],
                r#"[{"errorCode":"SVCSTG.SWR.4040058","errorMessage":"namespace not found","detail":""}]"#,
            ),
            "SVCSTG.SWR.4040058",
            "namespace not found",
        ),
        (
            (
                400,
                vec![("x-request-id", "r1")],
                r#"{"errors":[{"errorCode":"SVCSTG.SWR.4001072","errorMessage":"param offset error","detail":""}]}"#,
            ),
            "SVCSTG.SWR.4001072",
            "param offset error",
        ),
        (
            (
                403,
                vec![("x-request-id", "r1")],
                r#"{"errors":[{"errorCode":"SVCSTG.SWR.4030170","errorMessage":"old","detail":""}],"error_code":"SVCSTG.SWR.4030170","error_msg":"Insufficient permissions","encoded_authorization_message":"x"}"#,
            ),
            "SVCSTG.SWR.4030170",
            "Insufficient permissions",
        ),
        (
            (
                401,
                vec![("x-request-id", "r1")],
                r#"{"error_msg":"Incorrect IAM authentication information","error_code":"APIG.0301","request_id":"r1"}"#,
            ),
            "APIG.0301",
            "Incorrect IAM authentication information",
        ),
    ];
    for ((status, headers, body), code, msg) in cases {
        let server = scripted(vec![(status, headers, body)]).await;
        let err = client(&server.base)
            .list_tags("group", "busybox", &ListOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status), "{body}");
        assert_eq!(err.error_code(), Some(code), "{body}");
        assert_eq!(err.error_msg(), Some(msg), "{body}");
        assert_eq!(err.request_id(), Some("r1"), "{body}");
    }
}

#[tokio::test]
async fn invalid_names_fail_before_sending() {
    let server = scripted(vec![ok()]).await;
    let swr = client(&server.base);
    for (ns, repo) in [("Group", "busybox"), ("group", "Busy Box"), ("group", "")] {
        let err = swr
            .list_tags(ns, repo, &ListOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, SwrError::InvalidRequest(_)), "{err}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_success_with_a_bad_body_is_an_invalid_response() {
    let server = scripted(vec![(200, vec![("x-request-id", "r9")], "{}")]).await;
    let err = client(&server.base)
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SwrError::InvalidResponse { status: 200, request_id: Some(r), .. } if r == "r9"),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

/// `Content-Range` through the extension trait: lenient, and an error (not
/// a panic) when missing; `TagPage` then has `None`.
#[tokio::test]
async fn content_range_accessor() {
    let server = scripted(vec![
        (200, vec![("content-range", "items 10-19/55")], "[]"),
        (200, vec![], "[]"),
    ])
    .await;
    let swr = client(&server.base);
    let call = || {
        swr.generated()
            .list_repository_tags()
            .namespace("group")
            .repository("busybox")
            .send()
    };
    let lenient = call().await.unwrap();
    assert_eq!(
        lenient.content_range().unwrap(),
        ContentRange {
            offset: 10,
            count: 10,
            total: 55
        }
    );
    assert_eq!(lenient.request_id(), None);
    assert!(call().await.unwrap().content_range().is_err());
    let page = swr
        .list_tags("group", "busybox", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!((page.content_range, page.total()), (None, None));
}
