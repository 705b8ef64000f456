//! The generated router, driven without sockets (`tower::ServiceExt::oneshot`).
//!
//! A recording `impl Api` answers 200 and keeps the request it was given, so
//! each test checks either what the implementation receives or the exact
//! rejection (status, SWR code, a message naming the parameter, the
//! `ErrorResponse` shape, `X-Request-Id`) when it never gets called. Its
//! `authenticate` accepts any credentials but two tokens (one rejected, one
//! standing for a failing store) and makes them the principal.
#![cfg(feature = "server")]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use swr_api::ContentRange;
use swr_api::server::support::{Credentials, Rejection};
use swr_api::server::{
    Api, ListQuery, ListRepositoryTagsRequest, ListRepositoryTagsResponse, router,
};
use swr_api::swr_filter::TagFilter;
use tower::ServiceExt;

const TAGS: &str = "/v2/manage/namespaces/group/repos/busybox/tags";

/// A token `Recorder::authenticate` refuses with a 401.
const REJECTED: &str = "revoked-token";
/// A token for which `Recorder::authenticate` fails like a broken store (500).
const STORE_DOWN: &str = "store-down";

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<ListRepositoryTagsRequest<Credentials>>>,
    /// The request id of every `authenticate` call.
    authenticated: Mutex<Vec<String>>,
}

impl Api for Recorder {
    type Principal = Credentials;

    async fn authenticate(
        &self,
        credentials: Credentials,
        request_id: &str,
    ) -> Result<Credentials, Rejection> {
        self.authenticated
            .lock()
            .unwrap()
            .push(request_id.to_owned());
        match &credentials {
            Credentials::Token(t) if t == REJECTED => Err(Rejection::unauthorized(
                "SVCSTG.SWR.4010000",
                "the X-Auth-Token is revoked",
            )),
            Credentials::Token(t) if t == STORE_DOWN => Err(Rejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SVCSTG.SWR.5000063",
                "the credential store is down",
            )),
            _ => Ok(credentials),
        }
    }

    async fn list_repository_tags(
        &self,
        request: ListRepositoryTagsRequest<Credentials>,
    ) -> Result<ListRepositoryTagsResponse, Rejection> {
        let namespace = request.path.namespace.clone();
        self.seen.lock().unwrap().push(request);
        match namespace.as_str() {
            // An implementation bug: a status the spec does not document.
            "teapot" => Err(Rejection::new(StatusCode::IM_A_TEAPOT, "X", "teapot")),
            "ghost" => Err(Rejection::not_found_namespace("ghost")),
            _ => Ok(ListRepositoryTagsResponse::Ok {
                body: Vec::new().into(),
                content_range: ContentRange {
                    offset: 0,
                    count: 0,
                    total: 0,
                },
            }),
        }
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    /// What the implementation received, if it was called.
    request: Option<ListRepositoryTagsRequest<Credentials>>,
    /// The request ids `authenticate` was called with.
    authenticated: Vec<String>,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or_default()
    }

    fn message(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or_default()
    }

    /// A 400/401/404/405 in the spec's `ErrorResponse` shape, both halves agreeing.
    fn assert_rejected(&self, status: StatusCode, code: &str, names: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert!(
            self.message().contains(names),
            "message {:?} does not name {names:?}",
            self.message()
        );
        assert_eq!(self.body["errors"][0]["errorCode"], self.body["error_code"]);
        assert_eq!(
            self.body["errors"][0]["errorMessage"],
            self.body["error_msg"]
        );
        assert!(self.body["errors"][0]["detail"].is_string());
        assert_eq!(self.headers["content-type"], "application/json");
        assert!(self.headers.contains_key("x-request-id"));
        assert!(
            self.request.is_none(),
            "the implementation must not be called"
        );
    }

    fn ok(self) -> ListRepositoryTagsRequest<Credentials> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.request.expect("the implementation was called")
    }
}

/// `uri` with `X-Auth-Token: tok` and `extra` headers.
async fn get(uri: &str, extra: &[(&str, &str)]) -> Answer {
    send("GET", uri, &[&[("X-Auth-Token", "tok")], extra].concat()).await
}

async fn send(method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let api = Arc::new(Recorder::default());
    let mut request = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = router(api.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let request = api.seen.lock().unwrap().pop();
    let authenticated = api.authenticated.lock().unwrap().clone();
    Answer {
        status,
        headers,
        body,
        request,
        authenticated,
    }
}

/// The query the implementation should see for this `filter` value.
fn filter(s: &str) -> ListQuery {
    ListQuery::from(s.parse::<TagFilter>().unwrap())
}

#[tokio::test]
async fn separate_params_reach_the_implementation_as_one_filter() {
    let a = get(
        &format!("{TAGS}?limit=10&offset=0&order_column=tag&order_type=asc&tag=v1"),
        &[],
    )
    .await;
    assert_eq!(a.headers["content-range"], "0-0/0");
    let req = a.ok();
    assert_eq!(req.path.namespace, "group");
    assert_eq!(req.path.repository, "busybox");
    assert_eq!(
        req.query,
        filter("offset::0|limit::10|order_column::tag|order_type::asc|tag::v1")
    );
    assert_eq!(req.principal, Credentials::Token("tok".into()));
}

#[tokio::test]
async fn no_query_means_no_filter() {
    let req = get(TAGS, &[]).await.ok();
    // Nothing sent: the whole list, in the documented default order.
    assert_eq!(req.query, ListQuery::default());
    assert_eq!(
        req.query.to_filter().to_string(),
        "order_column::updated_at|order_type::desc"
    );
}

#[tokio::test]
async fn a_pair_may_be_split_between_filter_and_a_param() {
    let req = get(&format!("{TAGS}?filter=offset%3A%3A20&limit=10"), &[])
        .await
        .ok();
    assert_eq!(req.query, filter("offset::20|limit::10"));
}

#[tokio::test]
async fn unknown_query_params_are_ignored() {
    let req = get(&format!("{TAGS}?cachebuster=1&tag=v1"), &[]).await.ok();
    assert_eq!(req.query, filter("tag::v1"));
}

#[tokio::test]
async fn bad_names_are_400_with_their_own_codes() {
    get("/v2/manage/namespaces/Bad/repos/busybox/tags", &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4001028",
            "namespace: \"Bad\"",
        );
    get("/v2/manage/namespaces/group/repos/a..b/tags", &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4001029",
            "repository: \"a..b\"",
        );
    let long = "a".repeat(65);
    get(
        &format!("/v2/manage/namespaces/{long}/repos/busybox/tags"),
        &[],
    )
    .await
    .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4001028", "at most 64");
    // `%2F` decodes to `/`, which a repository may not hold on the wire.
    get("/v2/manage/namespaces/group/repos/a%2Fb/tags", &[])
        .await
        .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4001029", "repository");
}

#[tokio::test]
async fn dollar_in_repository_is_passed_through() {
    for path in ["tools$busybox", "tools%24busybox"] {
        let req = get(
            &format!("/v2/manage/namespaces/group/repos/{path}/tags"),
            &[],
        )
        .await
        .ok();
        assert_eq!(req.path.repository, "tools$busybox");
    }
}

#[tokio::test]
async fn bad_enum_value() {
    get(&format!("{TAGS}?order_column=size&order_type=asc"), &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4001035",
            "order_column: \"size\"",
        );
}

#[tokio::test]
async fn limit_bounds() {
    for (limit, message) in [
        ("0", "limit: 0 is outside 1..=1000"),
        ("1001", "limit: 1001 is outside 1..=1000"),
        ("abc", "limit: \"abc\""),
        ("%2B1", "limit: \"+1\""),
        ("-1", "limit: \"-1\""),
        ("1.0", "limit: \"1.0\""),
    ] {
        get(&format!("{TAGS}?offset=0&limit={limit}"), &[])
            .await
            .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4000056", message);
    }
    let req = get(&format!("{TAGS}?offset=0&limit=1000"), &[]).await.ok();
    assert_eq!(req.query, filter("offset::0|limit::1000"));
}

#[tokio::test]
async fn offset_must_be_an_int64() {
    get(
        &format!("{TAGS}?offset=100000000000000000000000&limit=1"),
        &[],
    )
    .await
    .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4001025", "offset");
}

#[tokio::test]
async fn half_a_pair_names_the_missing_half() {
    get(&format!("{TAGS}?offset=0"), &[]).await.assert_rejected(
        StatusCode::BAD_REQUEST,
        "SVCSTG.SWR.4001072",
        "without limit",
    );
    get(&format!("{TAGS}?order_type=asc"), &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4001072",
            "without order_column",
        );
}

#[tokio::test]
async fn malformed_filter() {
    for f in [
        "offset%3A0",
        "foo%3A%3A1",
        "limit%3A%3A1%7Climit%3A%3A2",
        "",
    ] {
        get(&format!("{TAGS}?filter={f}"), &[])
            .await
            .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4001035", "filter");
    }
}

#[tokio::test]
async fn filter_and_param_must_agree() {
    get(
        &format!("{TAGS}?filter=offset%3A%3A0%7Climit%3A%3A10&limit=20"),
        &[],
    )
    .await
    .assert_rejected(StatusCode::BAD_REQUEST, "SVCSTG.SWR.4001035", "limit");
    // The same value in both places is fine.
    let req = get(
        &format!("{TAGS}?filter=offset%3A%3A0%7Climit%3A%3A10&limit=10"),
        &[],
    )
    .await
    .ok();
    assert_eq!(req.query, filter("offset::0|limit::10"));
}

#[tokio::test]
async fn a_repeated_param_is_named() {
    get(&format!("{TAGS}?offset=0&limit=1&limit=2"), &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4000056",
            "limit: sent 2 times",
        );
    get(&format!("{TAGS}?tag=a&tag=a"), &[])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4009021",
            "tag: sent 2 times",
        );
}

#[tokio::test]
async fn content_type_is_optional_but_checked() {
    let req = get(TAGS, &[]).await.ok();
    assert_eq!(req.headers.content_type, "application/json");
    let req = get(
        TAGS,
        &[("Content-Type", "Application/JSON ; charset=UTF-8")],
    )
    .await
    .ok();
    assert_eq!(req.headers.content_type, "application/json;charset=utf-8");
    get(TAGS, &[("Content-Type", "text/plain")])
        .await
        .assert_rejected(
            StatusCode::BAD_REQUEST,
            "SVCSTG.SWR.4000014",
            "Content-Type: \"text/plain\"",
        );
}

#[tokio::test]
async fn missing_credentials_are_401() {
    send("GET", TAGS, &[]).await.assert_rejected(
        StatusCode::UNAUTHORIZED,
        "SVCSTG.SWR.4010000",
        "neither X-Auth-Token nor Authorization",
    );
    // Credentials come first: a bad name without credentials is still a 401.
    let a = send("GET", "/v2/manage/namespaces/Bad/repos/busybox/tags", &[]).await;
    a.assert_rejected(StatusCode::UNAUTHORIZED, "SVCSTG.SWR.4010000", "neither");
    assert!(a.authenticated.is_empty(), "nothing to authenticate");
}

/// Requests with one bad parameter each (path, query, pair, filter, header).
fn bad_requests() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "/v2/manage/namespaces/Bad/repos/busybox/tags".into(),
            vec![],
        ),
        (format!("{TAGS}?offset=0&limit=1001"), vec![]),
        (format!("{TAGS}?order_column=size&order_type=asc"), vec![]),
        (format!("{TAGS}?offset=0"), vec![]),
        (format!("{TAGS}?filter=foo%3A%3A1"), vec![]),
        (TAGS.into(), vec![("Content-Type", "text/plain")]),
    ]
}

#[tokio::test]
async fn authenticate_runs_before_any_parameter_is_looked_at() {
    for (uri, headers) in bad_requests() {
        // Rejected credentials: a 401 that says nothing about the parameter.
        let a = send(
            "GET",
            &uri,
            &[&[("X-Auth-Token", REJECTED)], &headers[..]].concat(),
        )
        .await;
        a.assert_rejected(StatusCode::UNAUTHORIZED, "SVCSTG.SWR.4010000", "revoked");
        assert_eq!(a.authenticated.len(), 1, "{uri}");
        assert_eq!(
            a.headers["x-request-id"].to_str().unwrap(),
            a.authenticated[0],
            "authenticate gets the request id"
        );
        // A failing credential store: its 500, not the 400 either.
        let a = send(
            "GET",
            &uri,
            &[&[("X-Auth-Token", STORE_DOWN)], &headers[..]].concat(),
        )
        .await;
        a.assert_rejected(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SVCSTG.SWR.5000063",
            "store is down",
        );
        // Accepted credentials: now the parameter is checked, a 400.
        let a = get(&uri, &headers).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.body);
        assert!(a.request.is_none(), "{uri}");
        assert_eq!(a.authenticated.len(), 1, "{uri}");
    }
}

#[tokio::test]
async fn the_principal_is_what_authenticate_returned() {
    let a = get(TAGS, &[("X-Request-Id", "rid-7")]).await;
    assert_eq!(a.authenticated, ["rid-7"]);
    assert_eq!(a.ok().principal, Credentials::Token("tok".into()));
}

#[tokio::test]
async fn malformed_authorization_is_401_naming_the_problem() {
    send("GET", TAGS, &[("Authorization", "Bearer abc")])
        .await
        .assert_rejected(
            StatusCode::UNAUTHORIZED,
            "SVCSTG.SWR.4010000",
            "Authorization: expected",
        );
    send(
        "GET",
        TAGS,
        &[(
            "Authorization",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=00",
        )],
    )
    .await
    .assert_rejected(StatusCode::UNAUTHORIZED, "SVCSTG.SWR.4010000", "Signature");
}

#[tokio::test]
async fn a_token_wins_over_a_dummy_authorization() {
    let req = get(TAGS, &[("Authorization", "x")]).await.ok();
    assert_eq!(req.principal, Credentials::Token("tok".into()));
}

/// The fact sheet's AK/SK test vector, end to end: the router extracts it
/// and the implementation can verify it with the SK.
#[tokio::test]
async fn an_sdk_signature_is_extracted_for_verification() {
    let uri = "/v2/manage/namespaces/myns/repos/myrepo/tags?limit=10&offset=0&order_column=updated_at&order_type=desc&tag=v1";
    let req = send(
        "GET",
        uri,
        &[
            ("Content-Type", "application/json"),
            ("Host", "swr-api.cn-north-4.myhuaweicloud.com"),
            ("X-Project-Id", "fakeprojectid"),
            ("X-Sdk-Date", "20240101T000000Z"),
            (
                "Authorization",
                "SDK-HMAC-SHA256 Access=FAKEAK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6",
            ),
        ],
    )
    .await
    .ok();
    let Credentials::Signed(signed) = req.principal else {
        panic!("expected a signature, got {:?}", req.principal);
    };
    assert_eq!(signed.access_key, "FAKEAK");
    assert!(signed.signature_matches("FAKESK"));
    assert!(!signed.signature_matches("OTHER"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let a = get(TAGS, &[("X-Request-Id", "client-id-1")]).await;
    assert_eq!(a.headers["x-request-id"], "client-id-1");
    assert_eq!(a.ok().request_id, "client-id-1");
    let a = get(
        &format!("{TAGS}?limit=0&offset=0"),
        &[("X-Request-Id", "client-id-2")],
    )
    .await;
    assert_eq!(a.headers["x-request-id"], "client-id-2");
    let a = get(TAGS, &[("X-Request-Id", "bad id")]).await;
    let id = a.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(a.ok().request_id, id);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    for uri in [
        "/nope",
        "/v2/manage/namespaces/group/repos/busybox/tags/",
        "/v2/manage/namespaces/group",
    ] {
        get(uri, &[]).await.assert_rejected(
            StatusCode::NOT_FOUND,
            "SVCSTG.SWR.4040083",
            "no such API",
        );
    }
    let a = send("POST", TAGS, &[("X-Auth-Token", "tok")]).await;
    assert!(a.headers["allow"].to_str().unwrap().contains("GET"));
    a.assert_rejected(StatusCode::METHOD_NOT_ALLOWED, "SVCSTG.SWR.4000014", "POST");
}

#[tokio::test]
async fn the_router_sets_x_request_id_on_answers_and_errors() {
    let ok = get(TAGS, &[("x-request-id", "my-id-1")]).await;
    assert_eq!(ok.headers["x-request-id"], "my-id-1");
    let missing = get(
        "/v2/manage/namespaces/ghost/repos/busybox/tags",
        &[("x-request-id", "my-id-2")],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "SVCSTG.SWR.4040058");
    assert_eq!(missing.headers["x-request-id"], "my-id-2");
}

#[tokio::test]
async fn an_undocumented_status_from_the_implementation_is_a_500() {
    let a = get("/v2/manage/namespaces/teapot/repos/busybox/tags", &[]).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    assert_eq!(a.code(), "SVCSTG.SWR.5000063");
    assert!(a.headers.contains_key("x-request-id"));
}
