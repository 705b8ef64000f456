//! Mutants as axum middleware around the reference router: each rewrites the
//! request or the response to break exactly one rule, using the fixture
//! where it needs to know who owns what.

use std::collections::HashMap;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::{Value, json};
use swr_api::fixture::Fixture;
use swr_api::server::axum::Router;
use swr_api::server::support::SignedRequest;
use tower::ServiceExt as _;

/// `f` rewrites every request before the router sees it.
pub fn on_request(
    base: Router,
    f: impl Fn(&mut Request) + Clone + Send + Sync + 'static,
) -> Router {
    base.layer(middleware::from_fn(move |mut req: Request, next: Next| {
        let f = f.clone();
        async move {
            f(&mut req);
            next.run(req).await
        }
    }))
}

/// `f` rewrites every answer, given the request path and the whole body.
pub fn on_response<F, Fut>(base: Router, f: F) -> Router
where
    F: Fn(String, Response<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Bytes>> + Send + 'static,
{
    base.layer(middleware::from_fn(move |req: Request, next: Next| {
        let f = f.clone();
        async move {
            let path = req.uri().path().to_owned();
            let (parts, body) = next.run(req).await.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let (mut parts, bytes) = f(path, Response::from_parts(parts, bytes))
                .await
                .into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
    }))
}

/// The raw (still encoded) `key=value` pairs of the query.
fn pairs(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

fn set_pairs(req: &mut Request, pairs: &[(String, String)]) {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let uri = format!("{}?{}", req.uri().path(), query.join("&"));
    *req.uri_mut() = uri.parse::<Uri>().unwrap();
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("00"), 16).unwrap_or(0),
                );
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The keys inside a `filter` value.
fn filter_keys(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == "filter")
        .flat_map(|(_, v)| {
            decode(v)
                .split('|')
                .filter_map(|p| p.split_once("::").map(|(k, _)| k.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn has(pairs: &[(String, String)], key: &str) -> bool {
    pairs.iter().any(|(k, _)| k == key)
}

fn error_body(code: &str, msg: &str, detail: &str) -> Bytes {
    let v = json!({"error_code": code, "error_msg": msg,
                   "errors": [{"errorCode": code, "errorMessage": msg, "detail": detail}]});
    Bytes::from(v.to_string())
}

fn json_of(r: &Response<Bytes>) -> Value {
    serde_json::from_slice(r.body()).unwrap_or(Value::Null)
}

/// `limit=1001` served as 1000.
pub fn limit_1001_accepted(base: Router) -> Router {
    on_request(base, |req| {
        let mut p = pairs(req);
        for (k, v) in &mut p {
            if k == "limit" && v == "1001" {
                *v = "1000".to_owned();
            }
        }
        set_pairs(req, &p);
    })
}

/// `offset` alone served as a page of 1000.
pub fn half_pair_served(base: Router) -> Router {
    on_request(base, |req| {
        let mut p = pairs(req);
        if has(&p, "offset") && !has(&p, "limit") && !has(&p, "filter") {
            p.push(("limit".into(), "1000".into()));
            set_pairs(req, &p);
        }
    })
}

/// A key in both forms: `filter` wins, the separate parameter is dropped.
pub fn filter_conflict_silent(base: Router) -> Router {
    on_request(base, |req| {
        let p = pairs(req);
        let in_filter = filter_keys(&p);
        let kept: Vec<_> = p
            .iter()
            .filter(|(k, _)| k == "filter" || !in_filter.contains(k))
            .cloned()
            .collect();
        set_pairs(req, &kept);
    })
}

/// `filter` is ignored altogether.
pub fn filter_ignored(base: Router) -> Router {
    on_request(base, |req| {
        let p: Vec<_> = pairs(req)
            .into_iter()
            .filter(|(k, _)| k != "filter")
            .collect();
        set_pairs(req, &p);
    })
}

/// No ordering parameters: oldest first.
pub fn default_order_ascending(base: Router) -> Router {
    on_request(base, |req| {
        let mut p = pairs(req);
        let keys = filter_keys(&p);
        if req.uri().path().ends_with("/tags")
            && !has(&p, "order_column")
            && !has(&p, "order_type")
            && !keys.iter().any(|k| k.starts_with("order_"))
        {
            p.push(("order_column".into(), "updated_at".into()));
            p.push(("order_type".into(), "asc".into()));
            set_pairs(req, &p);
        }
    })
}

/// Every token of each domain, and every expired token with its domain's
/// first token.
fn expired_tokens(fixture: &Fixture) -> HashMap<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    fixture
        .domains
        .iter()
        .flat_map(|d| {
            d.expiring_tokens
                .iter()
                .filter(move |t| t.expires.0 < now)
                .filter_map(move |t| Some((t.token.clone(), d.tokens.first()?.clone())))
        })
        .collect()
}

/// An expired token is taken for its domain's valid one.
pub fn expired_token_accepted(base: Router, fixture: &Fixture) -> Router {
    let swap = expired_tokens(fixture);
    on_request(base, move |req| {
        let sent = req
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok());
        if let Some(valid) = sent.and_then(|t| swap.get(t)) {
            let value = HeaderValue::from_str(valid).unwrap();
            req.headers_mut().insert("x-auth-token", value);
        }
    })
}

/// A signature that verifies at its own `X-Sdk-Date` is accepted however
/// old: its credentials are replaced by the domain's token.
pub fn date_skew_ignored(base: Router, fixture: &Fixture) -> Router {
    let keys: HashMap<String, (String, String)> = fixture
        .domains
        .iter()
        .flat_map(|d| {
            d.credentials.iter().filter_map(move |c| {
                Some((c.ak.clone(), (c.sk.clone(), d.tokens.first()?.clone())))
            })
        })
        .collect();
    on_request(base, move |req| {
        let Some(auth) = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let Ok(signed) =
            SignedRequest::from_request(req.method(), req.uri(), req.headers(), auth, b"")
        else {
            return;
        };
        if let Some((sk, token)) = keys.get(&signed.access_key)
            && signed.signature_matches(sk)
        {
            req.headers_mut().remove(AUTHORIZATION);
            req.headers_mut()
                .insert("x-auth-token", HeaderValue::from_str(token).unwrap());
        }
    })
}

/// Parameters are validated first: a request that would be a 400 with
/// valid credentials is a 400 whatever its credentials.
pub fn validation_before_auth(base: Router, fixture: &Fixture) -> Router {
    let token = fixture.domains[0].tokens[0].clone();
    let inner = base.clone();
    base.layer(middleware::from_fn(move |req: Request, next: Next| {
        let (inner, token) = (inner.clone(), token.clone());
        async move {
            let mut probe = axum::http::Request::builder()
                .method(req.method().clone())
                .uri(req.uri().clone());
            for (k, v) in req.headers() {
                if k != AUTHORIZATION && k != "x-auth-token" {
                    probe = probe.header(k, v);
                }
            }
            let probe = probe
                .header("x-auth-token", token)
                .body(Body::empty())
                .unwrap();
            let answer = inner.oneshot(probe).await.unwrap();
            if answer.status() == StatusCode::BAD_REQUEST {
                return answer;
            }
            next.run(req).await
        }
    }))
}

/// `Content-Range`'s middle number as an inclusive end index (RFC 7233 style).
pub fn content_range_inclusive_end(base: Router) -> Router {
    on_response(base, |_, mut r| async move {
        let value = r
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok());
        let parsed = value.and_then(|v| {
            let (o, rest) = v.split_once('-')?;
            let (c, t) = rest.split_once('/')?;
            Some((o.parse::<u64>().ok()?, c.parse::<u64>().ok()?, t.to_owned()))
        });
        if let Some((o, c, t)) = parsed
            && c > 0
        {
            let v = format!("{o}-{}/{t}", o + c - 1);
            r.headers_mut()
                .insert("content-range", HeaderValue::from_str(&v).unwrap());
        }
        r
    })
}

/// An empty page past the end is a 400 instead.
pub fn offset_past_end_error(base: Router) -> Router {
    on_response(base, |_, r| async move {
        let range = r
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let past = range
            .split_once('-')
            .zip(range.split_once('/'))
            .is_some_and(|((o, rest), (_, t))| {
                rest.starts_with("0/")
                    && o.parse::<u64>().unwrap_or(0) > 0
                    && o.parse::<u64>().ok() >= t.parse::<u64>().ok()
            });
        if !past {
            return r;
        }
        let (mut parts, _) = r.into_parts();
        parts.status = StatusCode::BAD_REQUEST;
        Response::from_parts(
            parts,
            error_body(
                "SVCSTG.SWR.4001025",
                "offset: past the end",
                "invalid query parameter offset",
            ),
        )
    })
}

/// Another domain's namespace is a 403 with a body of its own (a 404 of
/// one's own namespace stays a 404).
pub fn tenancy_403(base: Router, fixture: &Fixture) -> Router {
    let owners: HashMap<String, String> = fixture
        .namespaces
        .iter()
        .map(|n| (n.name.clone(), n.domain.clone()))
        .collect();
    let mut callers: HashMap<String, String> = HashMap::new();
    for d in &fixture.domains {
        for t in d
            .tokens
            .iter()
            .chain(d.expiring_tokens.iter().map(|t| &t.token))
        {
            callers.insert(t.clone(), d.id.clone());
        }
        for c in &d.credentials {
            callers.insert(format!("Access={},", c.ak), d.id.clone());
        }
    }
    base.layer(middleware::from_fn(move |req: Request, next: Next| {
        let (owners, callers) = (owners.clone(), callers.clone());
        async move {
            let ns = req
                .uri()
                .path()
                .split('/')
                .nth(4)
                .unwrap_or_default()
                .to_owned();
            let foreign = {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let token = header("x-auth-token").and_then(|t| callers.get(&t).cloned());
                let signed = header("authorization").and_then(|a| {
                    callers
                        .iter()
                        .find(|(k, _)| a.contains(k.as_str()))
                        .map(|(_, d)| d.clone())
                });
                let caller = token.or(signed);
                owners
                    .get(&ns)
                    .is_some_and(|o| caller.as_ref().is_some_and(|c| c != o))
            };
            let response = next.run(req).await;
            if !foreign || response.status() != StatusCode::NOT_FOUND {
                return response;
            }
            let (mut parts, _) = response.into_parts();
            parts.status = StatusCode::FORBIDDEN;
            parts.headers.remove(CONTENT_LENGTH);
            let body = error_body("SVCSTG.SWR.4030170", "Insufficient permissions", &ns);
            Response::from_parts(parts, Body::from(body))
        }
    }))
}

/// A name that breaks the rules is a 404, as if it did not exist.
pub fn bad_name_is_404(base: Router) -> Router {
    on_response(base, |_, r| async move {
        let code = json_of(&r)["error_code"].as_str().unwrap_or("").to_owned();
        if !matches!(code.as_str(), "SVCSTG.SWR.4001028" | "SVCSTG.SWR.4001029") {
            return r;
        }
        let (mut parts, _) = r.into_parts();
        parts.status = StatusCode::NOT_FOUND;
        Response::from_parts(
            parts,
            error_body("SVCSTG.SWR.4040058", "Namespace not found", ""),
        )
    })
}

/// Errors in the older shape only: `{"errors": [...]}`.
pub fn old_error_shape(base: Router) -> Router {
    on_response(base, |_, r| async move {
        if r.status().is_success() {
            return r;
        }
        let errors = json_of(&r)["errors"].clone();
        let (parts, _) = r.into_parts();
        Response::from_parts(parts, Bytes::from(json!({ "errors": errors }).to_string()))
    })
}

/// Errors without `X-Request-Id`.
pub fn request_id_missing_on_errors(base: Router) -> Router {
    on_response(base, |_, mut r| async move {
        if !r.status().is_success() {
            r.headers_mut().remove("x-request-id");
        }
        r
    })
}

/// `/openapi.json` edited: another `info.version`.
pub fn spec_altered(base: Router) -> Router {
    on_response(base, |path, r| async move {
        if path != "/openapi.json" {
            return r;
        }
        let mut spec = json_of(&r);
        spec["info"]["version"] = json!("0.0.0-altered");
        let (parts, _) = r.into_parts();
        Response::from_parts(parts, Bytes::from(spec.to_string()))
    })
}
