//! swrd over HTTP (the whole app router, driven with `oneshot`): every row of
//! DESIGN.md's decision table, every error status and code, both query forms,
//! `$` in repository names and the auth matrix, each on SQLite and PostgreSQL.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use common::Harness;
use serde_json::Value;
use swr_api::server::support::SignedRequest;
use swrd::api::Registry;
use swrd::http::{AppConfig, app};
use tower::ServiceExt;

const DOMAIN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Domain A owns `group` (busybox: 7 tags, two pairs with equal `updated`;
/// `tools/busybox`: 1 tag); domain B owns `other`.
const FIXTURE: &str = r#"
domains:
  - id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    name: a
    tokens: ["tok-a"]
    credentials: [{ak: "AKA", sk: "SKA"}]
  - id: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    name: b
    tokens: ["tok-b"]
    credentials: [{ak: "AKB", sk: "SKB"}]
namespaces:
  - name: group
    domain: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    repositories:
      - name: busybox
        tags:
          - {tag: v1.0, digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", updated: "2024-01-01T00:00:00Z"}
          - {tag: v1.1, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", updated: "2024-01-02T00:00:00Z"}
          - {tag: V2.0, digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", updated: "2024-01-02T00:00:00Z"}
          - {tag: latest, digest: "sha256:4444444444444444444444444444444444444444444444444444444444444444", updated: "2024-01-05T00:00:00Z"}
          - {tag: build_7, digest: "sha256:5555555555555555555555555555555555555555555555555555555555555555", updated: "2024-01-03T00:00:00Z"}
          - {tag: v2.0-rc.1, digest: "sha256:6666666666666666666666666666666666666666666666666666666666666666", updated: "2024-01-03T00:00:00Z"}
          - {tag: Zeta, digest: "sha256:7777777777777777777777777777777777777777777777777777777777777777", updated: "2023-12-31T00:00:00Z"}
      - name: tools/busybox
        tags:
          - {tag: "1.36", digest: "sha256:8888888888888888888888888888888888888888888888888888888888888888", updated: "2024-02-01T00:00:00Z"}
  - name: other
    domain: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    repositories:
      - name: busybox
        tags:
          - {tag: secret, digest: "sha256:9999999999999999999999999999999999999999999999999999999999999999"}
"#;

/// Insertion order = id order: v1.0, v1.1, V2.0, latest, build_7, v2.0-rc.1, Zeta.
/// `updated desc`, ties by `id desc`:
const BY_UPDATED_DESC: [&str; 7] = [
    "latest",
    "v2.0-rc.1",
    "build_7",
    "V2.0",
    "v1.1",
    "v1.0",
    "Zeta",
];
/// Byte order (uppercase before lowercase):
const BY_TAG_ASC: [&str; 7] = [
    "V2.0",
    "Zeta",
    "build_7",
    "latest",
    "v1.0",
    "v1.1",
    "v2.0-rc.1",
];

const TAGS: &str = "/v2/manage/namespaces/group/repos/busybox/tags";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn tags(&self) -> Vec<&str> {
        self.body
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {}", self.body))
            .iter()
            .map(|t| t["Tag"].as_str().unwrap())
            .collect()
    }

    fn range(&self) -> &str {
        self.headers
            .get("content-range")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }

    fn msg(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or("")
    }

    #[track_caller]
    fn rejected(&self, status: u16, code: &str, names: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert!(
            self.msg().contains(names),
            "message {:?} does not name {names:?}",
            self.msg()
        );
        assert_eq!(self.body["errors"][0]["errorCode"], self.body["error_code"]);
        assert!(self.headers.contains_key("x-request-id"));
    }
}

struct Client {
    app: axum::Router,
}

impl Client {
    async fn new(h: &Harness) -> Client {
        h.import_yaml(FIXTURE).await;
        let config = AppConfig {
            registry: Registry {
                host: "swr.example".into(),
                internal_host: "10.0.0.1:5000".into(),
            },
            request_timeout: Duration::from_secs(10),
            metrics: None,
        };
        Client {
            app: app(Arc::new(h.store.clone()), config),
        }
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET with token A.
    async fn get(&self, uri: &str) -> Answer {
        self.get_as(uri, Some("tok-a")).await
    }

    async fn get_as(&self, uri: &str, token: Option<&str>) -> Answer {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// GET signed with AK/SK, after `tamper` may change the request.
    async fn get_signed(
        &self,
        uri: &str,
        ak: &str,
        sk: &str,
        date: SystemTime,
        sign_date: bool,
        tamper: impl FnOnce(&mut Request<Body>),
    ) -> Answer {
        let mut request = signed(uri, ak, sk, date, sign_date);
        tamper(&mut request);
        self.send(request).await
    }
}

/// `YYYYMMDDTHHMMSSZ`.
fn sdk_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    swrd::store::time::format_timestamp(secs).replace(['-', ':'], "")
}

/// A request signed the way the official SDK signs (content-type, host,
/// x-project-id, x-sdk-date), using the server's canonicalisation to compute
/// the signature; the SDK itself is exercised in tests/it/official_sdk.rs.
fn signed(uri: &str, ak: &str, sk: &str, date: SystemTime, sign_date: bool) -> Request<Body> {
    let uri: Uri = uri.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("host", "swr.local".parse().unwrap());
    headers.insert("x-project-id", "p1".parse().unwrap());
    headers.insert("x-sdk-date", sdk_date(date).parse().unwrap());
    let names = if sign_date {
        "content-type;host;x-project-id;x-sdk-date"
    } else {
        "content-type;host;x-project-id"
    };
    let placeholder = format!(
        "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={names}, Signature={}",
        "0".repeat(64)
    );
    // Without x-sdk-date among the signed headers the server refuses before
    // looking at the signature, so any well-formed one does.
    let signature =
        match SignedRequest::from_request(&Method::GET, &uri, &headers, &placeholder, b"") {
            Ok(canonical) => canonical.expected_signature(sk),
            Err(_) if !sign_date => "0".repeat(64),
            Err(e) => panic!("{e}"),
        };
    let authorization =
        format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={names}, Signature={signature}");
    let mut request = Request::get(uri).body(Body::empty()).unwrap();
    *request.headers_mut() = headers;
    request
        .headers_mut()
        .insert("authorization", authorization.parse().unwrap());
    request
}

// ---------------------------------------------------------------------------
// Decision table

async fn no_paging_params_returns_everything_in_default_order(h: Harness) {
    let c = Client::new(&h).await;
    let a = c.get(TAGS).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.tags(),
        BY_UPDATED_DESC,
        "updated_at desc, ties by id desc"
    );
    assert_eq!(a.range(), "0-7/7");
    assert_eq!(a.headers["content-type"], "application/json");
    let latest = &a.body[0];
    assert_eq!(latest["path"], "swr.example/group/busybox:latest");
    assert_eq!(
        latest["internal_path"],
        "10.0.0.1:5000/group/busybox:latest"
    );
    assert_eq!(latest["domain_id"], DOMAIN_A);
    assert!(latest["deleted"].is_null());
    for field in [
        "id",
        "repo_id",
        "Tag",
        "image_id",
        "manifest",
        "digest",
        "schema",
        "size",
        "is_trusted",
        "created",
        "updated",
        "tag_type",
        "scanned",
    ] {
        assert!(latest.get(field).is_some(), "missing {field}");
    }
}

async fn pages_and_content_range(h: Harness) {
    let c = Client::new(&h).await;
    let a = c.get(&format!("{TAGS}?offset=2&limit=3")).await;
    assert_eq!(a.tags(), BY_UPDATED_DESC[2..5]);
    assert_eq!(a.range(), "2-3/7", "offset-count/total");
    let last = c.get(&format!("{TAGS}?offset=5&limit=10")).await;
    assert_eq!(last.tags(), BY_UPDATED_DESC[5..]);
    assert_eq!(last.range(), "5-2/7");
    let past = c.get(&format!("{TAGS}?offset=100&limit=10")).await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(past.body, serde_json::json!([]));
    assert_eq!(past.range(), "100-0/7");
    let huge = c
        .get(&format!("{TAGS}?offset=9223372036854775807&limit=1000"))
        .await;
    assert_eq!(huge.status, StatusCode::OK, "{}", huge.body);
    assert_eq!(huge.range(), "9223372036854775807-0/7");
}

async fn orders_in_both_directions(h: Harness) {
    let c = Client::new(&h).await;
    let asc = c
        .get(&format!("{TAGS}?order_column=tag&order_type=asc"))
        .await;
    assert_eq!(asc.tags(), BY_TAG_ASC, "byte order on every backend");
    let desc = c
        .get(&format!("{TAGS}?order_column=tag&order_type=desc"))
        .await;
    let mut reversed = BY_TAG_ASC;
    reversed.reverse();
    assert_eq!(desc.tags(), reversed);
    let up_asc = c
        .get(&format!("{TAGS}?order_column=updated_at&order_type=asc"))
        .await;
    let mut reversed = BY_UPDATED_DESC;
    reversed.reverse();
    assert_eq!(
        up_asc.tags(),
        reversed,
        "asc is the exact reverse of desc, ties included"
    );
    let up_desc = c
        .get(&format!("{TAGS}?order_column=updated_at&order_type=desc"))
        .await;
    assert_eq!(up_desc.tags(), BY_UPDATED_DESC);
}

async fn tag_is_a_case_sensitive_substring(h: Harness) {
    let c = Client::new(&h).await;
    let a = c.get(&format!("{TAGS}?tag=v2")).await;
    assert_eq!(a.tags(), ["v2.0-rc.1"], "V2.0 does not match v2");
    assert_eq!(a.range(), "0-1/1");
    let a = c
        .get(&format!(
            "{TAGS}?tag=.0&offset=0&limit=1&order_column=tag&order_type=asc"
        ))
        .await;
    assert_eq!(a.tags(), ["V2.0"]);
    assert_eq!(
        a.range(),
        "0-1/3",
        "the total counts matches, not the repository"
    );
    let a = c.get(&format!("{TAGS}?tag=_")).await;
    assert_eq!(a.tags(), ["build_7"], "_ is literal, not a wildcard");
    let none = c.get(&format!("{TAGS}?tag=nomatch")).await;
    assert_eq!((none.status, none.range()), (StatusCode::OK, "0-0/0"));
}

async fn filter_form_equals_separate_params(h: Harness) {
    let c = Client::new(&h).await;
    let params = c
        .get(&format!(
            "{TAGS}?offset=1&limit=2&order_column=tag&order_type=asc&tag=v"
        ))
        .await;
    let filter = c
        .get(&format!(
            "{TAGS}?filter=offset::1%7Climit::2%7Corder_column::tag%7Corder_type::asc%7Ctag::v"
        ))
        .await;
    assert_eq!(
        params.tags(),
        ["v1.1", "v2.0-rc.1"],
        "V2.0 does not contain v"
    );
    assert_eq!(filter.tags(), params.tags());
    assert_eq!(filter.range(), params.range());
    // Merged: halves in either place, the same value twice is fine.
    let mixed = c
        .get(&format!(
            "{TAGS}?filter=offset::1%7Ctag::v&limit=2&order_column=tag&order_type=asc&tag=v"
        ))
        .await;
    assert_eq!(mixed.tags(), params.tags());
    // The same key with two values is a 400, never a silent pick.
    c.get(&format!("{TAGS}?filter=limit::2%7Coffset::0&limit=3"))
        .await
        .rejected(400, "SVCSTG.SWR.4001035", "limit");
}

async fn one_half_of_a_pair_is_a_400_naming_the_other(h: Harness) {
    let c = Client::new(&h).await;
    c.get(&format!("{TAGS}?limit=10"))
        .await
        .rejected(400, "SVCSTG.SWR.4001072", "offset");
    c.get(&format!("{TAGS}?offset=0"))
        .await
        .rejected(400, "SVCSTG.SWR.4001072", "limit");
    c.get(&format!("{TAGS}?order_column=tag")).await.rejected(
        400,
        "SVCSTG.SWR.4001072",
        "order_type",
    );
    c.get(&format!("{TAGS}?filter=order_type::asc"))
        .await
        .rejected(400, "SVCSTG.SWR.4001072", "order_column");
}

async fn bounds_and_numbers(h: Harness) {
    let c = Client::new(&h).await;
    for limit in ["0", "1001", "abc", "-1", "1.5", "+5"] {
        c.get(&format!("{TAGS}?offset=0&limit={limit}"))
            .await
            .rejected(400, "SVCSTG.SWR.4000056", "limit");
    }
    for offset in [
        "-1",
        "abc",
        "100000000000000000000000",
        "9223372036854775808",
    ] {
        c.get(&format!("{TAGS}?offset={offset}&limit=10"))
            .await
            .rejected(400, "SVCSTG.SWR.4001025", "offset");
    }
    assert_eq!(
        c.get(&format!("{TAGS}?offset=0&limit=1000")).await.status,
        StatusCode::OK
    );
    c.get(&format!("{TAGS}?order_column=size&order_type=asc"))
        .await
        .rejected(400, "SVCSTG.SWR.4001035", "order_column");
    c.get(&format!("{TAGS}?order_column=tag&order_type=up"))
        .await
        .rejected(400, "SVCSTG.SWR.4001035", "order_type");
    c.get(&format!("{TAGS}?tag=a%20b"))
        .await
        .rejected(400, "SVCSTG.SWR.4009021", "tag");
    c.get(&format!("{TAGS}?filter=colour::red")).await.rejected(
        400,
        "SVCSTG.SWR.4001035",
        "colour",
    );
    c.get(&format!("{TAGS}?filter="))
        .await
        .rejected(400, "SVCSTG.SWR.4001035", "filter");
}

async fn names_are_validated_and_dollar_is_a_slash(h: Harness) {
    let c = Client::new(&h).await;
    c.get("/v2/manage/namespaces/Group/repos/busybox/tags")
        .await
        .rejected(400, "SVCSTG.SWR.4001028", "namespace");
    c.get("/v2/manage/namespaces/group/repos/a..b/tags")
        .await
        .rejected(400, "SVCSTG.SWR.4001029", "repository");
    let a = c
        .get("/v2/manage/namespaces/group/repos/tools$busybox/tags")
        .await;
    assert_eq!(a.tags(), ["1.36"]);
    assert_eq!(
        a.body[0]["path"], "swr.example/group/tools/busybox:1.36",
        "stored and shown with /"
    );
    let encoded = c
        .get("/v2/manage/namespaces/group/repos/tools%24busybox/tags")
        .await;
    assert_eq!(encoded.tags(), ["1.36"], "the SDK percent-encodes $");
}

async fn missing_and_foreign_are_the_same_404(h: Harness) {
    let c = Client::new(&h).await;
    let missing = c
        .get("/v2/manage/namespaces/nowhere/repos/busybox/tags")
        .await;
    missing.rejected(404, "SVCSTG.SWR.4040058", "Namespace");
    // Domain B's namespace, asked by A: the same answer as a missing one.
    let foreign = c
        .get("/v2/manage/namespaces/other/repos/busybox/tags")
        .await;
    foreign.rejected(404, "SVCSTG.SWR.4040058", "Namespace");
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["errors"][0]["detail"] = Value::Null;
        v
    };
    assert_eq!(strip(&foreign.body), strip(&missing.body));
    assert!(
        !foreign.body.to_string().contains("secret"),
        "nothing of B's data leaks"
    );
    let repo = c
        .get("/v2/manage/namespaces/group/repos/nothere/tags")
        .await;
    repo.rejected(404, "SVCSTG.SWR.4040010", "Repository");
    // B sees its own namespace, and not A's.
    assert_eq!(
        c.get_as(
            "/v2/manage/namespaces/other/repos/busybox/tags",
            Some("tok-b")
        )
        .await
        .tags(),
        ["secret"]
    );
    c.get_as(TAGS, Some("tok-b"))
        .await
        .rejected(404, "SVCSTG.SWR.4040058", "Namespace");
}

async fn unpaged_stream_equals_the_pages(h: Harness) {
    let c = Client::new(&h).await;
    let all = c
        .get(&format!("{TAGS}?order_column=tag&order_type=asc"))
        .await;
    let mut paged = Vec::new();
    for offset in (0..7).step_by(3) {
        let page = c
            .get(&format!(
                "{TAGS}?order_column=tag&order_type=asc&offset={offset}&limit=3"
            ))
            .await;
        paged.extend(page.body.as_array().unwrap().clone());
    }
    assert_eq!(all.body.as_array().unwrap(), &paged);
}

async fn headers_and_request_ids(h: Harness) {
    let c = Client::new(&h).await;
    for ct in [
        "application/json",
        "application/json;charset=utf-8",
        "application/json; charset=UTF-8",
    ] {
        let a = c
            .send(
                Request::get(TAGS)
                    .header("X-Auth-Token", "tok-a")
                    .header("Content-Type", ct)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{ct}: {}", a.body);
    }
    let bad = c
        .send(
            Request::get(TAGS)
                .header("X-Auth-Token", "tok-a")
                .header("Content-Type", "text/plain")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    bad.rejected(400, "SVCSTG.SWR.4000014", "Content-Type");
    let echoed = c
        .send(
            Request::get(TAGS)
                .header("X-Auth-Token", "tok-a")
                .header("X-Request-Id", "trace-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(echoed.headers["x-request-id"], "trace-123");
    let error = c
        .send(
            Request::get(format!("{TAGS}?limit=1"))
                .header("X-Auth-Token", "tok-a")
                .header("X-Request-Id", "trace-456")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(error.headers["x-request-id"], "trace-456");
    let a = c.get(TAGS).await;
    let b = c.get(TAGS).await;
    assert_ne!(
        a.headers["x-request-id"], b.headers["x-request-id"],
        "generated ids are unique"
    );
}

async fn operational_routes(h: Harness) {
    let c = Client::new(&h).await;
    let spec = c.get_as("/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    // The spec as written, with this swrd first in `servers` (a relative
    // URL, so "Try it out" in /docs calls the server serving the docs).
    let written = serde_json::from_str::<Value>(swr_api::SPEC_JSON).unwrap();
    let mut served = spec.body.clone();
    assert_eq!(served["servers"][0]["url"], "/", "{}", served["servers"]);
    served["servers"].as_array_mut().unwrap().remove(0);
    assert_eq!(served, written, "the spec as is, but for the first server");
    assert_eq!(spec.body["openapi"], "3.0.3");
    assert_eq!(c.get_as("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(c.get_as("/readyz", None).await.status, StatusCode::OK);
    let docs = c
        .send(Request::get("/docs/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(docs.status, StatusCode::OK);
    let unknown = c.get("/v2/manage/nothing").await;
    unknown.rejected(404, "SVCSTG.SWR.4040083", "/v2/manage/nothing");
    for route in ["/healthz", "/openapi.json"] {
        assert!(
            c.get_as(route, None)
                .await
                .headers
                .contains_key("x-request-id"),
            "{route}"
        );
    }
}

// ---------------------------------------------------------------------------
// Auth matrix

async fn auth_matrix(h: Harness) {
    let c = Client::new(&h).await;
    let now = SystemTime::now();
    let none = c.get_as(TAGS, None).await;
    none.rejected(401, "SVCSTG.SWR.4010000", "");
    let wrong = c.get_as(TAGS, Some("tok-wrong")).await;
    wrong.rejected(401, "SVCSTG.SWR.4010000", "Authentication failed");
    assert_eq!(wrong.msg(), "Authentication failed");
    assert_eq!(
        wrong.body["errors"][0]["detail"], "the X-Auth-Token is not valid",
        "{}",
        wrong.body
    );
    // Credentials are checked before any parameter: wrong credentials with a
    // bad parameter are a 401 that says nothing about the parameter...
    let wrong_and_bad = c
        .get_as(&format!("{TAGS}?offset=0&limit=1001"), Some("tok-wrong"))
        .await;
    wrong_and_bad.rejected(401, "SVCSTG.SWR.4010000", "Authentication failed");
    assert_eq!(wrong_and_bad.body, wrong.body);
    assert!(
        !wrong_and_bad.body.to_string().contains("limit"),
        "{}",
        wrong_and_bad.body
    );
    c.get_signed(
        &format!("{TAGS}?order_column=size&order_type=asc"),
        "AKA",
        "WRONG",
        now,
        true,
        |_| {},
    )
    .await
    .rejected(401, "SVCSTG.SWR.4010000", "Authentication failed");
    // ...and good ones get the 400 naming it.
    c.get(&format!("{TAGS}?offset=0&limit=1001"))
        .await
        .rejected(400, "SVCSTG.SWR.4000056", "limit");
    c.get_signed(
        &format!("{TAGS}?order_column=size&order_type=asc"),
        "AKA",
        "SKA",
        now,
        true,
        |_| {},
    )
    .await
    .rejected(400, "SVCSTG.SWR.4001035", "order_column");
    // A good token of another domain: its namespace is invisible (404), not 401.
    c.get_as(TAGS, Some("tok-b"))
        .await
        .rejected(404, "SVCSTG.SWR.4040058", "");
    let ok = c
        .get_signed(
            &format!("{TAGS}?offset=0&limit=2"),
            "AKA",
            "SKA",
            now,
            true,
            |_| {},
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.tags(), BY_UPDATED_DESC[..2]);
    c.get_signed(TAGS, "AKA", "WRONG", now, true, |_| {})
        .await
        .rejected(401, "SVCSTG.SWR.4010000", "");
    c.get_signed(TAGS, "AKNOPE", "SKA", now, true, |_| {})
        .await
        .rejected(401, "SVCSTG.SWR.4010000", "");
    let skewed = now - Duration::from_secs(16 * 60);
    let old = c.get_signed(TAGS, "AKA", "SKA", skewed, true, |_| {}).await;
    old.rejected(401, "SVCSTG.SWR.4010000", "");
    assert!(old.body.to_string().contains("15 minutes"), "{}", old.body);
    let future = now + Duration::from_secs(16 * 60);
    c.get_signed(TAGS, "AKA", "SKA", future, true, |_| {})
        .await
        .rejected(401, "SVCSTG.SWR.4010000", "");
    let within = now - Duration::from_secs(14 * 60);
    assert_eq!(
        c.get_signed(TAGS, "AKA", "SKA", within, true, |_| {})
            .await
            .status,
        StatusCode::OK
    );
    // Tampering after signing: the query, the path, a signed header.
    c.get_signed(
        &format!("{TAGS}?offset=0&limit=2"),
        "AKA",
        "SKA",
        now,
        true,
        |r| {
            *r.uri_mut() = format!("{TAGS}?offset=0&limit=3").parse().unwrap();
        },
    )
    .await
    .rejected(401, "SVCSTG.SWR.4010000", "");
    c.get_signed(TAGS, "AKA", "SKA", now, true, |r| {
        *r.uri_mut() = "/v2/manage/namespaces/group/repos/tools$busybox/tags"
            .parse()
            .unwrap();
    })
    .await
    .rejected(401, "SVCSTG.SWR.4010000", "");
    c.get_signed(TAGS, "AKA", "SKA", now, true, |r| {
        r.headers_mut()
            .insert("x-project-id", "p2".parse().unwrap());
    })
    .await
    .rejected(401, "SVCSTG.SWR.4010000", "");
    // x-sdk-date sent but not signed: refused (its freshness would be unproven).
    c.get_signed(TAGS, "AKA", "SKA", now, false, |_| {})
        .await
        .rejected(401, "SVCSTG.SWR.4010000", "x-sdk-date");
    // AK/SK of B on A's namespace: 404 like a missing one.
    c.get_signed(TAGS, "AKB", "SKB", now, true, |_| {})
        .await
        .rejected(404, "SVCSTG.SWR.4040058", "");
}

/// Renames the tables credentials are looked up in, under a running app.
async fn break_credential_lookups(h: &Harness) {
    use sqlx::{Connection as _, Executor as _};
    let sql = "ALTER TABLE tokens RENAME TO tokens_gone; \
               ALTER TABLE credentials RENAME TO credentials_gone";
    if h.url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(&h.url).await.unwrap();
        db.execute(sql).await.unwrap();
    } else {
        let mut db = sqlx::PgConnection::connect(&h.url).await.unwrap();
        db.execute(sql).await.unwrap();
    }
}

async fn a_store_failure_while_authenticating_is_a_500(h: Harness) {
    let c = Client::new(&h).await;
    break_credential_lookups(&h).await;
    for a in [
        // Before any parameter, so a bad one changes nothing.
        c.get(&format!("{TAGS}?offset=0&limit=1001")).await,
        c.get_signed(TAGS, "AKA", "SKA", SystemTime::now(), true, |_| {})
            .await,
    ] {
        a.rejected(500, "SVCSTG.SWR.5000063", "Failed to obtain the tag list");
        assert_eq!(
            a.body["errors"][0]["detail"], "the server failed; retry later",
            "{}",
            a.body
        );
    }
}

async fn secrets_never_appear_in_responses(h: Harness) {
    let c = Client::new(&h).await;
    for answer in [
        c.get_signed(TAGS, "AKA", "WRONG", SystemTime::now(), true, |_| {})
            .await,
        c.get_as(TAGS, Some("tok-wrong")).await,
        c.get(TAGS).await,
    ] {
        let text = answer.body.to_string();
        for secret in ["SKA", "SKB", "WRONG", "tok-a", "tok-wrong"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

on_both_backends!(
    no_paging_params_returns_everything_in_default_order,
    pages_and_content_range,
    orders_in_both_directions,
    tag_is_a_case_sensitive_substring,
    filter_form_equals_separate_params,
    one_half_of_a_pair_is_a_400_naming_the_other,
    bounds_and_numbers,
    names_are_validated_and_dollar_is_a_slash,
    missing_and_foreign_are_the_same_404,
    unpaged_stream_equals_the_pages,
    headers_and_request_ids,
    operational_routes,
    auth_matrix,
    a_store_failure_while_authenticating_is_a_500,
    secrets_never_appear_in_responses,
);

#[test]
fn the_fact_sheet_test_vector_verifies() {
    // swr-api-facts.md §7: AK=FAKEAK, SK=FAKESK.
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "host",
        "swr-api.cn-north-4.myhuaweicloud.com".parse().unwrap(),
    );
    headers.insert("x-project-id", "fakeprojectid".parse().unwrap());
    headers.insert("x-sdk-date", "20240101T000000Z".parse().unwrap());
    let uri: Uri = "/v2/manage/namespaces/myns/repos/myrepo/tags?limit=10&offset=0&order_column=updated_at&order_type=desc&tag=v1".parse().unwrap();
    let authorization = "SDK-HMAC-SHA256 Access=FAKEAK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=5d74b004323da3520317a56546f0aedf4f3a3629f347f394d15b8b533dde28a6";
    let signed =
        SignedRequest::from_request(&Method::GET, &uri, &headers, authorization, b"").unwrap();
    assert!(signed.signature_matches("FAKESK"));
    assert!(!signed.signature_matches("FAKESK2"));
}
