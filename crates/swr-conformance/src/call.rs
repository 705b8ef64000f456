//! One request of a check ([`Call`]), what happened to it ([`Exchange`]), and
//! the two ways a check stops early ([`Problem`]).

use std::time::SystemTime;

use serde_json::Value;
use swr_api::client::AkSk;

use crate::plan::Key;
use crate::report::{BODY_EXCERPT, Failure, Got, Sent};
use crate::transport::{Response, Transport};

/// Why a check did not pass.
#[derive(Debug)]
pub(crate) enum Problem {
    /// It could not run; the reason.
    Skip(String),
    /// The server broke the rule (boxed: a `Result`'s error stays small).
    Fail(Box<Failure>),
}

/// What a check returns.
pub(crate) type Verdict = Result<(), Problem>;

/// A skip with its reason.
pub(crate) fn skip(reason: impl Into<String>) -> Problem {
    Problem::Skip(reason.into())
}

/// A failure no single request shows (e.g. two answers that should agree).
pub(crate) fn fail(problem: impl Into<String>) -> Problem {
    Problem::Fail(Box::new(Failure {
        problem: problem.into(),
        sent: None,
        got: None,
    }))
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    None,
    /// `X-Auth-Token`; `role` is what reports show instead of the value.
    Token {
        token: String,
        role: String,
    },
    /// `SDK-HMAC-SHA256`, signed as of `at`.
    Signed {
        key: Key,
        role: String,
        at: SystemTime,
    },
}

/// A GET the kit sends.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    path: String,
    query: Option<String>,
    auth: Auth,
    content_type: Option<String>,
    request_id: Option<String>,
    /// Path and query sent instead of the signed ones (tampering).
    retarget: Option<(String, Option<String>)>,
    note: Option<String>,
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as
/// the official SDKs encode query values (`|` is `%7C`, `:` is `%3A`).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&…`, values encoded, in the order given (the order is part of some
/// checks: a signature must not depend on it).
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Call {
    /// A GET of `path` (already in wire form), with `Content-Type:
    /// application/json` as the official SDKs send it, and no credentials.
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            path: path.into(),
            query: None,
            auth: Auth::None,
            content_type: Some("application/json".to_owned()),
            request_id: None,
            retarget: None,
            note: None,
        }
    }

    /// Query parameters, encoded, in this order.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Call {
        self.query = (!pairs.is_empty()).then(|| query_string(pairs));
        self
    }

    /// Authenticates with a token.
    pub fn token(mut self, token: &str, role: &str) -> Call {
        self.auth = Auth::Token {
            token: token.to_owned(),
            role: role.to_owned(),
        };
        self
    }

    /// Signs with `key` as of `at`.
    pub fn signed(mut self, key: &Key, role: &str, at: SystemTime) -> Call {
        self.auth = Auth::Signed {
            key: key.clone(),
            role: role.to_owned(),
            at,
        };
        self
    }

    /// Sends this `Content-Type`, or none.
    pub fn content_type(mut self, value: Option<&str>) -> Call {
        self.content_type = value.map(str::to_owned);
        self
    }

    /// Sends `X-Request-Id`.
    pub fn request_id(mut self, id: &str) -> Call {
        self.request_id = Some(id.to_owned());
        self
    }

    /// After signing, sends `path?query` instead.
    pub fn retarget(mut self, path: &str, query: Option<&str>) -> Call {
        self.retarget = Some((path.to_owned(), query.map(str::to_owned)));
        self
    }

    /// Says in reports what is special about this request.
    pub fn note(mut self, note: impl Into<String>) -> Call {
        self.note = Some(note.into());
        self
    }

    /// Builds, signs (and maybe retargets) the request, sends it.
    pub async fn send(self, transport: &Transport) -> Exchange {
        let url = |path: &str, query: &Option<String>| match query {
            Some(q) => format!("{}{path}?{q}", transport.base()),
            None => format!("{}{path}", transport.base()),
        };
        let built = self.build(transport, &url(&self.path, &self.query));
        let mut request = match built {
            Ok(r) => r,
            Err(e) => {
                return Exchange {
                    sent: self.describe_unsent(&url(&self.path, &self.query)),
                    got: Err(e),
                };
            }
        };
        if let Some((path, query)) = &self.retarget {
            match reqwest::Url::parse(&url(path, query)) {
                Ok(u) => *request.url_mut() = u,
                Err(e) => {
                    return Exchange {
                        sent: self.describe(&request, transport),
                        got: Err(format!("bad URL: {e}")),
                    };
                }
            }
        }
        let sent = self.describe(&request, transport);
        Exchange {
            sent,
            got: transport.send(request).await,
        }
    }

    fn build(&self, transport: &Transport, url: &str) -> Result<reqwest::Request, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("bad URL {url:?}: {e}"))?;
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        let headers = request.headers_mut();
        let mut set = |name: &'static str, value: &str| {
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("{name} is not a valid header value"))?;
            headers.insert(name, value);
            Ok::<(), String>(())
        };
        if let Some(ct) = &self.content_type {
            set("content-type", ct)?;
        }
        if let Some(id) = &self.request_id {
            set("x-request-id", id)?;
        }
        match &self.auth {
            Auth::None => {}
            Auth::Token { token, .. } => set("x-auth-token", token)?,
            Auth::Signed { key, at, .. } => {
                if !transport.is_live() {
                    // What hyper would add; signed like any Host.
                    let host = request.url().host_str().unwrap_or_default().to_owned();
                    let value =
                        reqwest::header::HeaderValue::from_str(&host).map_err(|e| e.to_string())?;
                    request.headers_mut().insert("host", value);
                }
                swr_api::client::sign(&mut request, &AkSk::new(&key.ak, &key.sk), *at)
                    .map_err(|e| format!("the request could not be signed: {e}"))?;
            }
        }
        Ok(request)
    }

    fn role(&self) -> Option<String> {
        match &self.auth {
            Auth::None => None,
            Auth::Token { role, .. } | Auth::Signed { role, .. } => Some(role.clone()),
        }
    }

    fn describe(&self, request: &reqwest::Request, transport: &Transport) -> Sent {
        let url = request.url();
        let uri = if transport.is_live() {
            url.to_string()
        } else {
            match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            }
        };
        let mut headers = Vec::new();
        for (name, shown) in [
            ("content-type", "Content-Type"),
            ("x-request-id", "X-Request-Id"),
            ("x-auth-token", "X-Auth-Token"),
            ("x-sdk-date", "X-Sdk-Date"),
            ("authorization", "Authorization"),
        ] {
            let Some(value) = request.headers().get(name) else {
                continue;
            };
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = match name {
                "x-auth-token" => format!("<{}>", self.role().unwrap_or_default()),
                "authorization" => shorten_signature(&value),
                _ => value,
            };
            headers.push((shown.to_owned(), value));
        }
        let mut note = self.note.clone();
        if let Auth::Signed { role, .. } = &self.auth {
            let signed = format!("signed with {role}");
            note = Some(match note {
                Some(n) => format!("{signed}; {n}"),
                None => signed,
            });
        }
        Sent {
            method: "GET".to_owned(),
            uri,
            headers,
            note,
        }
    }

    fn describe_unsent(&self, url: &str) -> Sent {
        Sent {
            method: "GET".to_owned(),
            uri: url.to_owned(),
            headers: Vec::new(),
            note: self.note.clone(),
        }
    }
}

/// `Signature=` cut to 12 hex digits: enough to tell two apart in a report.
fn shorten_signature(value: &str) -> String {
    match value.find("Signature=") {
        Some(i) if value.len() > i + 10 + 12 => format!("{}…", &value[..i + 10 + 12]),
        _ => value.to_owned(),
    }
}

/// A request and its answer (or why there is none).
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub sent: Sent,
    pub got: Result<Response, String>,
}

impl Exchange {
    /// A failure showing this exchange.
    pub fn fail(&self, problem: impl Into<String>) -> Problem {
        let mut problem = problem.into();
        if let Err(why) = &self.got {
            problem = format!("{problem} ({why})");
        }
        Problem::Fail(Box::new(Failure {
            problem,
            sent: Some(self.sent.clone()),
            got: self.got.as_ref().ok().map(got),
        }))
    }

    /// The answer, or a failure saying there was none.
    pub fn response(&self) -> Result<&Response, Problem> {
        self.got
            .as_ref()
            .map_err(|_| self.fail("expected an answer"))
    }

    /// The answer when its status is `status`.
    pub fn expect_status(&self, status: u16) -> Result<&Response, Problem> {
        let r = self.response()?;
        if r.status != status {
            return Err(self.fail(format!("expected status {status}, got {}", r.status)));
        }
        Ok(r)
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, Problem> {
        self.response()?
            .json()
            .ok_or_else(|| self.fail("the body is not JSON"))
    }
}

/// The report's view of an answer: key headers and the start of the body.
fn got(r: &Response) -> Got {
    let headers = ["content-type", "content-range", "x-request-id"]
        .iter()
        .filter_map(|name| {
            r.header(name).map(|v| {
                let shown = match *name {
                    "content-type" => "Content-Type",
                    "content-range" => "Content-Range",
                    _ => "X-Request-Id",
                };
                (shown.to_owned(), v.to_owned())
            })
        })
        .collect();
    Got {
        status: r.status,
        headers,
        body: excerpt(&r.body),
    }
}

/// Tags shown in the summary of a listing.
const TAGS_SHOWN: usize = 8;

/// A listing as its length and first tags (`name#id`: what order and paging
/// failures are about); anything else cut after [`BODY_EXCERPT`] characters.
fn excerpt(body: &[u8]) -> String {
    if let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body)
        && items.iter().all(|i| i["Tag"].is_string())
    {
        let shown: Vec<String> = items
            .iter()
            .take(TAGS_SHOWN)
            .map(|i| format!("{}#{}", i["Tag"].as_str().unwrap_or_default(), i["id"]))
            .collect();
        let more = if items.len() > TAGS_SHOWN {
            ", …"
        } else {
            ""
        };
        let noun = if items.len() == 1 { "tag" } else { "tags" };
        return format!("{} {noun}: [{}{more}]", items.len(), shown.join(", "));
    }
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}
