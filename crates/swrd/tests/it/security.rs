//! Security matrix: every kind of credential a caller can present, against
//! the caller's own namespace, another domain's namespace and a missing one,
//! each cell with exactly one status, SWR code and reason (the [`MATRIX`]
//! table), on SQLite and PostgreSQL, through the whole app router. Plus:
//! secrets never reach the logs of a real `swrd` process at `SWRD_LOG=debug`.
//!
//! Constant-time token comparison (checked by inspection, no timing test):
//! a presented `X-Auth-Token` is never compared with a stored one. `auth.rs`
//! passes it to `AuthLookups::domain_for_token`, which (store/sql.rs,
//! `sql::TOKEN` = `SELECT domain_id FROM tokens WHERE hash = $1`) looks up
//! `store::token_hash(token)`, its SHA-256. The index lookup's timing can only
//! reveal how much of a *hash* matches a stored hash, which does not help to
//! build a token (that needs SHA-256 preimages). AK/SK signatures are compared
//! in `SignedRequest::verify` (swr-api server support).
//!
//! "Expired or revoked token": an expired token is a fixture
//! `expiring_tokens` entry whose time has passed (checked at every lookup);
//! revocation as an operator does it today is deleting the token's row
//! (`DELETE FROM tokens WHERE hash = sha256(token)`); the matrix checks that a
//! token which worked stops working on the very next request after that, i.e.
//! nothing caches a positive lookup.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use common::{Harness, Kind, Swrd};
use swr_api::server::support::{Credentials, SignedRequest};
use swrd::api::Registry;
use swrd::http::{AppConfig, app};
use tower::ServiceExt;

const DOMAIN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Domain A owns `group`, domain B owns `other`; `ghost` does not exist.
/// All three names have 5 characters, so "not yours" and "missing" answers
/// can be byte-identical, `Content-Length` included.
const FIXTURE: &str = r#"
domains:
  - id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    name: a
    tokens: ["tok-a-0123456789", "tok-a-revoked-0123"]
    expiring_tokens:
      - {token: "tok-a-expired-0123", expires: "2020-01-01T00:00:00Z"}
      - {token: "tok-a-later-0123456", expires: "2999-01-01T00:00:00Z"}
    credentials: [{ak: "AKAAAAAAAA", sk: "SK-A-secret-0123456789"}]
  - id: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    name: b
    tokens: ["tok-b-0123456789"]
    credentials: [{ak: "AKBBBBBBBB", sk: "SK-B-secret-0123456789"}]
namespaces:
  - name: group
    domain: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    repositories:
      - name: busybox
        tags:
          - {tag: v1, digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", updated: "2024-01-01T00:00:00Z"}
          - {tag: v2, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", updated: "2024-01-02T00:00:00Z"}
          - {tag: v3, digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", updated: "2024-01-03T00:00:00Z"}
  - name: other
    domain: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    repositories:
      - name: busybox
        tags:
          - {tag: b-secret, digest: "sha256:9999999999999999999999999999999999999999999999999999999999999999"}
"#;

const TOK_A: &str = "tok-a-0123456789";
const TOK_A_REVOKED: &str = "tok-a-revoked-0123";
const TOK_A_EXPIRED: &str = "tok-a-expired-0123";
/// An expiring token whose time has not come: it works.
const TOK_A_LATER: &str = "tok-a-later-0123456";
const TOK_B: &str = "tok-b-0123456789";
const AK_A: &str = "AKAAAAAAAA";
const SK_A: &str = "SK-A-secret-0123456789";
const AK_B: &str = "AKBBBBBBBB";
const SK_B: &str = "SK-B-secret-0123456789";

/// What the caller presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    BadToken,
    RevokedToken,
    ExpiredToken,
    /// A's token with an expiry in the future.
    LaterToken,
    TokenA,
    TokenB,
    AkSkA,
    /// B's AK/SK: B's own namespace is `other`.
    AkSkB,
    WrongSk,
    /// The client's clock is 16 minutes ahead.
    Skewed,
    /// A request correctly signed 16 minutes ago, re-sent byte for byte.
    Replayed,
    TamperedPath,
    TamperedQuery,
    TamperedHeader,
}

/// Which namespace the request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// `group`, domain A's.
    A,
    /// `other`, domain B's.
    B,
    /// `ghost`, nobody's.
    Missing,
}

impl Ns {
    fn name(self) -> &'static str {
        match self {
            Ns::A => "group",
            Ns::B => "other",
            Ns::Missing => "ghost",
        }
    }
}

/// (status, `error_code`, reason substring).
type Cell = (u16, &'static str, &'static str);

const OK: Cell = (200, "", "");
const NO_NS: Cell = (404, "SVCSTG.SWR.4040058", "Namespace not found");
const E401: u16 = 401;
const UNAUTH: &str = "SVCSTG.SWR.4010000";
/// Every AK/SK failure (wrong SK, unknown AK, stale date, tampering) gets one
/// message, so probing cannot tell which access keys exist.
const BAD_SIG: &str = "AK/SK signature is not valid";

/// The matrix: credentials × namespace → (status, `error_code`, a substring of
/// `errors[0].detail`, or for a 404 of `error_msg`).
#[rustfmt::skip]
const MATRIX: &[(Cred, [Cell; 3])] = &[
    //                     group (A's)                                   other (B's)                                   ghost (missing)
    (Cred::None,           [(E401, UNAUTH, "carries neither X-Auth-Token nor Authorization"),            (E401, UNAUTH, "carries neither X-Auth-Token nor Authorization"),             (E401, UNAUTH, "carries neither X-Auth-Token nor Authorization")]),
    (Cred::BadToken,       [(E401, UNAUTH, "X-Auth-Token is not valid"), (E401, UNAUTH, "X-Auth-Token is not valid"),  (E401, UNAUTH, "X-Auth-Token is not valid")]),
    (Cred::RevokedToken,   [(E401, UNAUTH, "X-Auth-Token is not valid"), (E401, UNAUTH, "X-Auth-Token is not valid"),  (E401, UNAUTH, "X-Auth-Token is not valid")]),
    (Cred::ExpiredToken,   [(E401, UNAUTH, "X-Auth-Token is not valid"), (E401, UNAUTH, "X-Auth-Token is not valid"),  (E401, UNAUTH, "X-Auth-Token is not valid")]),
    (Cred::LaterToken,     [OK,                                          NO_NS,                                        NO_NS]),
    (Cred::TokenA,         [OK,                                          NO_NS,                                        NO_NS]),
    (Cred::TokenB,         [NO_NS,                                       OK,                                           NO_NS]),
    (Cred::AkSkA,          [OK,                                          NO_NS,                                        NO_NS]),
    (Cred::AkSkB,          [NO_NS,                                       OK,                                           NO_NS]),
    (Cred::WrongSk,        [(E401, UNAUTH, BAD_SIG),  (E401, UNAUTH, BAD_SIG),   (E401, UNAUTH, BAD_SIG)]),
    (Cred::Skewed,         [(E401, UNAUTH, BAD_SIG),                (E401, UNAUTH, BAD_SIG),                 (E401, UNAUTH, BAD_SIG)]),
    (Cred::Replayed,       [(E401, UNAUTH, BAD_SIG),                (E401, UNAUTH, BAD_SIG),                 (E401, UNAUTH, BAD_SIG)]),
    (Cred::TamperedPath,   [(E401, UNAUTH, BAD_SIG),  (E401, UNAUTH, BAD_SIG),   (E401, UNAUTH, BAD_SIG)]),
    (Cred::TamperedQuery,  [(E401, UNAUTH, BAD_SIG),  (E401, UNAUTH, BAD_SIG),   (E401, UNAUTH, BAD_SIG)]),
    (Cred::TamperedHeader, [(E401, UNAUTH, BAD_SIG),  (E401, UNAUTH, BAD_SIG),   (E401, UNAUTH, BAD_SIG)]),
];

const NAMESPACES: [Ns; 3] = [Ns::A, Ns::B, Ns::Missing];

fn uri(ns: Ns) -> String {
    format!(
        "/v2/manage/namespaces/{}/repos/busybox/tags?offset=0&limit=2",
        ns.name()
    )
}

/// `YYYYMMDDTHHMMSSZ`.
fn sdk_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    swrd::store::time::format_timestamp(secs).replace(['-', ':'], "")
}

/// A GET signed as the official SDK signs it (content-type, host,
/// x-project-id, x-sdk-date), with the server's own canonicalisation.
fn signed(uri: &str, ak: &str, sk: &str, date: SystemTime, host: &str) -> Request<Body> {
    let uri: Uri = uri.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("host", host.parse().unwrap());
    headers.insert("x-project-id", "p1".parse().unwrap());
    headers.insert("x-sdk-date", sdk_date(date).parse().unwrap());
    let names = "content-type;host;x-project-id;x-sdk-date";
    let placeholder = format!(
        "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={names}, Signature={}",
        "0".repeat(64)
    );
    let signature = SignedRequest::from_request(&Method::GET, &uri, &headers, &placeholder, b"")
        .unwrap()
        .expected_signature(sk);
    let authorization =
        format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={names}, Signature={signature}");
    let mut request = Request::get(uri).body(Body::empty()).unwrap();
    *request.headers_mut() = headers;
    request
        .headers_mut()
        .insert("authorization", authorization.parse().unwrap());
    request
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("X-Auth-Token", token)
        .body(Body::empty())
        .unwrap()
}

/// The request of one cell.
fn request(cred: Cred, ns: Ns, now: SystemTime, host: &str) -> Request<Body> {
    let uri = uri(ns);
    let skew = Duration::from_secs(16 * 60);
    match cred {
        Cred::None => Request::get(&uri).body(Body::empty()).unwrap(),
        Cred::BadToken => with_token(&uri, "tok-not-issued-0123"),
        Cred::RevokedToken => with_token(&uri, TOK_A_REVOKED),
        Cred::ExpiredToken => with_token(&uri, TOK_A_EXPIRED),
        Cred::LaterToken => with_token(&uri, TOK_A_LATER),
        Cred::TokenA => with_token(&uri, TOK_A),
        Cred::TokenB => with_token(&uri, TOK_B),
        Cred::AkSkA => signed(&uri, AK_A, SK_A, now, host),
        Cred::AkSkB => signed(&uri, AK_B, SK_B, now, host),
        Cred::WrongSk => signed(&uri, AK_A, "SK-A-wrong-0123456789", now, host),
        Cred::Skewed => signed(&uri, AK_A, SK_A, now + skew, host),
        Cred::Replayed => signed(&uri, AK_A, SK_A, now - skew, host),
        Cred::TamperedPath => {
            let mut r = signed(&uri, AK_A, SK_A, now, host);
            *r.uri_mut() = uri.replace("/busybox/", "/busyb0x/").parse().unwrap();
            r
        }
        Cred::TamperedQuery => {
            let mut r = signed(&uri, AK_A, SK_A, now, host);
            *r.uri_mut() = uri.replace("limit=2", "limit=3").parse().unwrap();
            r
        }
        Cred::TamperedHeader => {
            let mut r = signed(&uri, AK_A, SK_A, now, host);
            r.headers_mut()
                .insert("x-project-id", "p2".parse().unwrap());
            r
        }
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Bytes,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes).unwrap_or(serde_json::Value::Null)
    }

    /// Headers and body as text, without the request id (which differs per
    /// request) and with the namespace name replaced by `{ns}`.
    fn normalized(&self, ns: Ns) -> String {
        let id = self
            .headers
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let mut headers: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| *k != "x-request-id")
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        headers.sort();
        let body = String::from_utf8_lossy(&self.bytes);
        let body = if id.is_empty() {
            body.into_owned()
        } else {
            body.replace(&id, "{request-id}")
        };
        format!(
            "{}\n{}\n\n{}",
            self.status,
            headers.join("\n"),
            body.replace(ns.name(), "{ns}")
        )
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        bytes,
    }
}

async fn revoke(h: &Harness, token: &str) {
    use sqlx::{Connection as _, Executor as _};
    let sql = format!(
        "DELETE FROM tokens WHERE hash = '{}'",
        swrd::store::token_hash(token)
    );
    let deleted = if h.url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(&h.url).await.unwrap();
        db.execute(sql.as_str()).await.unwrap().rows_affected()
    } else {
        let mut db = sqlx::PgConnection::connect(&h.url).await.unwrap();
        db.execute(sql.as_str()).await.unwrap().rows_affected()
    };
    assert_eq!(deleted, 1, "the token to revoke was stored");
}

async fn security_matrix(h: Harness) {
    h.import_yaml(FIXTURE).await;
    let config = AppConfig {
        registry: Registry {
            host: "swr.example".into(),
            internal_host: "10.0.0.1:5000".into(),
        },
        request_timeout: Duration::from_secs(10),
        metrics: None,
    };
    let app = app(Arc::new(h.store.clone()), config);
    let now = SystemTime::now();

    // The revoked token worked before it was revoked (so its row is a real
    // revocation, not a typo), and the replayed request was good when captured.
    let before = send(&app, with_token(&uri(Ns::A), TOK_A_REVOKED)).await;
    assert_eq!(before.status, StatusCode::OK, "{:?}", before.bytes);
    revoke(&h, TOK_A_REVOKED).await;
    let captured = request(Cred::Replayed, Ns::A, now, "swr.local");
    let (parts, _) = captured.into_parts();
    let authorization = parts.headers["authorization"].to_str().unwrap();
    let at_capture = SignedRequest::from_request(
        &parts.method,
        &parts.uri,
        &parts.headers,
        authorization,
        b"",
    )
    .unwrap();
    let then = now - Duration::from_secs(16 * 60);
    assert_eq!(
        swrd::auth::authenticate(&h.store, &Credentials::Signed(Box::new(at_capture)), then)
            .await
            .unwrap(),
        DOMAIN_A,
        "the replayed request was valid when it was captured"
    );

    let mut failures = Vec::new();
    for (cred, row) in MATRIX {
        let mut answers = Vec::new();
        for (ns, &(status, code, reason)) in NAMESPACES.into_iter().zip(row) {
            let a = send(&app, request(*cred, ns, now, "swr.local")).await;
            let body = a.json();
            let cell = format!("{cred:?} × {}", ns.name());
            if a.status.as_u16() != status {
                failures.push(format!("{cell}: status {} ≠ {status}: {body}", a.status));
            } else if status == 200 {
                let tags: Vec<_> = body
                    .as_array()
                    .map(|t| t.iter().map(|t| t["Tag"].clone()).collect())
                    .unwrap_or_default();
                let want = if ns == Ns::A {
                    serde_json::json!(["v3", "v2"])
                } else {
                    serde_json::json!(["b-secret"])
                };
                if serde_json::Value::Array(tags) != want {
                    failures.push(format!("{cell}: 200 with {body}"));
                }
            } else {
                let detail = body["errors"][0]["detail"].as_str().unwrap_or("");
                let msg = body["error_msg"].as_str().unwrap_or("");
                if body["error_code"] != code || body["errors"][0]["errorCode"] != code {
                    failures.push(format!("{cell}: code ≠ {code}: {body}"));
                } else if !detail.contains(reason) && !msg.contains(reason) {
                    failures.push(format!("{cell}: reason ≠ {reason:?}: {body}"));
                }
                if !a.headers.contains_key("x-request-id") {
                    failures.push(format!("{cell}: no X-Request-Id"));
                }
                for secret in [
                    TOK_A,
                    TOK_B,
                    TOK_A_REVOKED,
                    TOK_A_EXPIRED,
                    TOK_A_LATER,
                    SK_A,
                    SK_B,
                    "b-secret",
                ] {
                    if a.bytes
                        .windows(secret.len())
                        .any(|w| w == secret.as_bytes())
                    {
                        failures.push(format!("{cell}: {secret} in the body"));
                    }
                }
            }
            answers.push((ns, a));
        }
        // Another domain's namespace and a missing one: the same bytes. For
        // a 401, all three cells: nothing depends on the namespace.
        let missing = answers[2].1.normalized(Ns::Missing);
        for (ns, a) in &answers[..2] {
            let hidden = row[NAMESPACES.iter().position(|n| n == ns).unwrap()].0 != 200;
            if hidden && a.normalized(*ns) != missing {
                failures.push(format!(
                    "{cred:?}: {} and ghost differ:\n{}\n---\n{missing}",
                    ns.name(),
                    a.normalized(*ns)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

on_both_backends!(security_matrix);

// ---------------------------------------------------------------------------
// Secrets in logs

/// `url` with `password` as the password of its user (`postgres://u@h/db` →
/// `postgres://u:password@h/db`); `None` if it has no user or already a password.
fn with_password(url: &str, password: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (user, host) = rest.split_once('@')?;
    if user.contains(':') {
        return None;
    }
    Some(format!("{scheme}://{user}:{password}@{host}"))
}

const DB_PASSWORD: &str = "s3cr3t-pw";

async fn secrets_never_in_logs(database: Option<&str>, extra_secrets: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("security.yaml");
    std::fs::write(&fixture, FIXTURE).unwrap();
    let swrd = Swrd::start_with_env(
        database,
        &["--fixtures", fixture.to_str().unwrap()],
        &[("SWRD_LOG", "debug")],
    );
    swr_api::tls::install_default_provider();
    let http = reqwest::Client::new();
    let now = SystemTime::now();
    let mut signatures = Vec::new();
    let mut statuses = Vec::new();
    let host = swrd.base.trim_start_matches("http://").to_owned();
    for cred in MATRIX.iter().map(|(c, _)| *c) {
        for ns in NAMESPACES {
            let r = request(cred, ns, now, &host);
            let mut req = http.get(format!("{}{}", swrd.base, r.uri()));
            for (k, v) in r.headers() {
                if k != "host" {
                    req = req.header(k.as_str(), v.as_bytes());
                }
            }
            if let Some(auth) = r.headers().get("authorization") {
                let auth = auth.to_str().unwrap();
                signatures.push(auth.rsplit("Signature=").next().unwrap().to_owned());
            }
            statuses.push(req.send().await.unwrap().status().as_u16());
        }
    }
    // The matrix over the wire: the same statuses as in process, except that
    // the "revoked" token is not revoked here (it is just another token of A).
    let row_of = |c: Cred| MATRIX.iter().find(|(r, _)| *r == c).unwrap().1;
    let want: Vec<u16> = MATRIX
        .iter()
        .map(|(c, row)| match c {
            Cred::RevokedToken => row_of(Cred::TokenA),
            _ => *row,
        })
        .flat_map(|row| row.map(|c| c.0))
        .collect();
    assert_eq!(statuses, want);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = swrd.logs();
    assert!(
        logs.contains("DEBUG"),
        "SWRD_LOG=debug took effect: {}",
        &logs[..logs.len().min(2000)]
    );
    // Requests are logged (their spans name the path), so a leak would show.
    assert!(
        logs.contains("/v2/manage/namespaces/group/repos/busybox/tags"),
        "requests are not in the debug log"
    );
    let mut secrets: Vec<String> = [
        TOK_A,
        TOK_B,
        TOK_A_REVOKED,
        TOK_A_EXPIRED,
        TOK_A_LATER,
        "tok-not-issued-0123",
        SK_A,
        SK_B,
        "SK-A-wrong-0123456789",
    ]
    .iter()
    .chain(extra_secrets)
    .map(|s| (*s).to_owned())
    .collect();
    secrets.extend(signatures);
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} appears in the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret.as_str()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    drop(swrd);
}

#[tokio::test]
async fn secrets_never_in_logs_sqlite() {
    secrets_never_in_logs(None, &[]).await;
}

#[tokio::test]
async fn secrets_never_in_logs_postgres_with_password() {
    let Some(_admin) = common::external("SWRD_TEST_DATABASE_URL", "PostgreSQL") else {
        return;
    };
    let h = Harness::new(Kind::Postgres)
        .await
        .expect("SWRD_TEST_DATABASE_URL is set");
    let url = with_password(&h.url, DB_PASSWORD)
        .expect("SWRD_TEST_DATABASE_URL has a user and no password");
    {
        use sqlx::Connection as _;
        // The password is only honest if the server ignores it (trust auth).
        if let Err(e) = sqlx::PgConnection::connect(&url).await {
            panic!("PostgreSQL refused a made-up password (not trust auth?): {e}");
        }
    }
    secrets_never_in_logs(Some(&url), &[DB_PASSWORD]).await;
    // A database that cannot be reached: the error names it without the password.
    let unreachable =
        with_password("postgres://postgres@127.0.0.1:9/nowhere", DB_PASSWORD).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swrd"))
        .args([
            "synth",
            "--namespace",
            "n",
            "--repository",
            "r",
            "--tags",
            "1",
        ])
        .args(["--database", &unreachable])
        .env("SWRD_LOG", "debug")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(DB_PASSWORD), "the password in: {text}");
}
