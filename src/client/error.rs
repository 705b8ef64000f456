//! One error type for every way a call can fail, with what a caller needs to
//! act on it or report it: the HTTP status, SWR's `error_code`/`error_msg`
//! (from any of the body shapes the service has used), and the request id
//! support will ask for.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::hooks::ResponseMeta;
use super::{Error, types};

/// Longest error text kept from a body that is not an SWR error (an HTML page
/// from a proxy, say).
const MAX_RAW_MESSAGE: usize = 300;

/// A failed call.
#[derive(Debug)]
#[non_exhaustive]
pub enum SwrError {
    /// The server answered with an error status (after the retries, if the
    /// status is one that is retried).
    Api(ApiError),
    /// No usable response: the connection failed, timed out, or broke while
    /// the body was read (after the retries).
    Transport(reqwest::Error),
    /// A success status with a body or header that is not what the API says.
    InvalidResponse {
        /// HTTP status.
        status: u16,
        /// `X-Request-Id` of the response.
        request_id: Option<String>,
        /// What was wrong.
        message: String,
    },
    /// Nothing was sent: an argument breaks the API's rules (a name, a tag
    /// filter) or the client configuration is unusable.
    InvalidRequest(String),
}

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status, e.g. 404.
    pub status: u16,
    /// `SVCSTG.SWR.4040058`, `APIG.0301`, …; `None` when the body is not an
    /// SWR error (e.g. a proxy's HTML page).
    pub error_code: Option<String>,
    /// The server's message, or the start of the body when it is not an SWR
    /// error.
    pub error_msg: String,
    /// The `detail` of the first `errors` entry, when it adds something (swrd
    /// says there why credentials were refused, or which name was not found).
    pub detail: Option<String>,
    /// `X-Request-Id`; failing that, a `request_id` in a body that is not in
    /// the spec's shape (the generated client keeps no other field).
    pub request_id: Option<String>,
    /// `Retry-After`, in seconds, when the server sent one.
    pub retry_after: Option<Duration>,
}

impl SwrError {
    /// HTTP status of the response, if one came back.
    pub fn status(&self) -> Option<u16> {
        match self {
            SwrError::Api(e) => Some(e.status),
            SwrError::InvalidResponse { status, .. } => Some(*status),
            SwrError::Transport(e) => e.status().map(|s| s.as_u16()),
            SwrError::InvalidRequest(_) => None,
        }
    }

    /// SWR's (or the gateway's) error code, e.g. `SVCSTG.SWR.4040058`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            SwrError::Api(e) => e.error_code.as_deref(),
            _ => None,
        }
    }

    /// SWR's error message.
    pub fn error_msg(&self) -> Option<&str> {
        match self {
            SwrError::Api(e) => Some(&e.error_msg),
            _ => None,
        }
    }

    /// The `detail` of the error body, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            SwrError::Api(e) => e.detail.as_deref(),
            _ => None,
        }
    }

    /// `X-Request-Id` of the response, to quote to support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            SwrError::Api(e) => e.request_id.as_deref(),
            SwrError::InvalidResponse { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether sending the same GET again may succeed: connection failures,
    /// timeouts, broken bodies, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            SwrError::Api(e) => e.status == 429 || e.status >= 500,
            SwrError::Transport(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
            }
            SwrError::InvalidResponse { .. } | SwrError::InvalidRequest(_) => false,
        }
    }

    /// How long the server asked to wait before a retry.
    pub(super) fn retry_after(&self) -> Option<Duration> {
        match self {
            SwrError::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// Converts a generated-client error, using what the post-hook saw of the
    /// response: the generated code drops the status and headers when an
    /// error body is not in the spec's shape.
    pub(super) async fn from_generated(
        error: Error<types::ErrorResponse>,
        meta: Option<ResponseMeta>,
    ) -> SwrError {
        match error {
            Error::InvalidRequest(m) | Error::Custom(m) => SwrError::InvalidRequest(m),
            Error::CommunicationError(e)
            | Error::ResponseBodyError(e)
            | Error::InvalidUpgrade(e) => SwrError::Transport(e),
            Error::ErrorResponse(rv) => {
                let body = rv.as_ref();
                let mut parsed = ErrorBody {
                    error_code: Some(body.error_code.clone()),
                    error_msg: Some(body.error_msg.clone()),
                    detail: body.errors.first().and_then(|e| e.detail.clone()),
                    request_id: None,
                };
                if body.error_code.is_empty()
                    && let Some(first) = body.errors.first()
                {
                    parsed.error_code = Some(first.error_code.clone());
                    parsed.error_msg = Some(first.error_message.clone());
                }
                SwrError::api(rv.status().as_u16(), rv.headers(), parsed, "")
            }
            Error::InvalidResponsePayload(bytes, json) => {
                let Some(meta) = meta else {
                    return SwrError::InvalidResponse {
                        status: 0,
                        request_id: None,
                        message: format!("the body is not what the API says: {json}"),
                    };
                };
                if meta.status < 400 {
                    return SwrError::InvalidResponse {
                        status: meta.status,
                        request_id: meta.request_id,
                        message: format!("the body is not a tag list: {json}"),
                    };
                }
                let parsed = ErrorBody::parse(&bytes).unwrap_or_default();
                let raw = String::from_utf8_lossy(&bytes);
                SwrError::api(meta.status, &meta.headers, parsed, &raw)
            }
            Error::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let bytes = match response.bytes().await {
                    Ok(b) => b,
                    Err(e) => return SwrError::Transport(e),
                };
                if status < 400 {
                    return SwrError::InvalidResponse {
                        status,
                        request_id: request_id(&headers),
                        message: format!("status {status} is not one the API documents"),
                    };
                }
                let parsed = ErrorBody::parse(&bytes).unwrap_or_default();
                SwrError::api(status, &headers, parsed, &String::from_utf8_lossy(&bytes))
            }
        }
    }

    fn api(status: u16, headers: &HeaderMap, body: ErrorBody, raw: &str) -> SwrError {
        let error_msg = body.error_msg.unwrap_or_else(|| {
            let raw = raw.trim();
            if raw.is_empty() {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_owned()
            } else {
                cut(raw, MAX_RAW_MESSAGE)
            }
        });
        let detail = body.detail.filter(|d| !d.is_empty() && *d != error_msg);
        SwrError::Api(ApiError {
            status,
            error_code: body.error_code,
            error_msg,
            detail,
            request_id: request_id(headers).or(body.request_id),
            retry_after: headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        })
    }
}

impl fmt::Display for SwrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwrError::Api(e) => e.fmt(f),
            SwrError::Transport(e) => write!(f, "no response from the server: {e}"),
            SwrError::InvalidResponse {
                status,
                request_id,
                message,
            } => {
                write!(f, "unexpected response (HTTP {status}): {message}")?;
                if let Some(id) = request_id {
                    write!(f, " (request id {id})")?;
                }
                Ok(())
            }
            SwrError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_code {
            Some(code) => write!(f, "{code}: {}", self.error_msg)?,
            None => write!(f, "{}", self.error_msg)?,
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        write!(f, " (HTTP {}", self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for SwrError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Display already shows `e`; continue the chain below it.
            SwrError::Transport(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl std::error::Error for ApiError {}

/// What an SWR error body says, in whichever of its shapes it came:
///
/// 1. a bare array `[{"errorCode","errorMessage","detail"}]` (old docs);
/// 2. `{"errors":[{"errorCode","errorMessage","detail"}]}` (OTC);
/// 3. `{"error_code","error_msg","errors":[…],…}` (current Huawei docs);
/// 4. the gateway's `{"error_code":"APIG.0301","error_msg","request_id"}`;
///
/// and the `errorCode`/`errorMsg` and `code`/`message` pairs the official
/// SDKs also accept. The first error of a list is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code.
    pub error_code: Option<String>,
    /// The message.
    pub error_msg: Option<String>,
    /// The first error's `detail`.
    pub detail: Option<String>,
    /// A request id carried in the body (the gateway's `request_id`).
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// `None` when the body is not JSON or holds no code or message.
    pub fn parse(body: &[u8]) -> Option<ErrorBody> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let parsed = match &value {
            Value::Array(items) => items.first().map(from_object).unwrap_or_default(),
            Value::Object(map) => {
                let mut top = from_object(&value);
                if top.error_code.is_none() || top.error_msg.is_none() {
                    let nested = map
                        .get("errors")
                        .and_then(Value::as_array)
                        .and_then(|e| e.first())
                        .map(from_object)
                        .unwrap_or_default();
                    top.error_code = top.error_code.or(nested.error_code);
                    top.error_msg = top.error_msg.or(nested.error_msg);
                }
                if top.detail.is_none() {
                    top.detail = map
                        .get("errors")
                        .and_then(Value::as_array)
                        .and_then(|e| e.first())
                        .and_then(|e| from_object(e).detail);
                }
                top
            }
            _ => return None,
        };
        (parsed.error_code.is_some() || parsed.error_msg.is_some()).then_some(parsed)
    }
}

fn from_object(value: &Value) -> ErrorBody {
    let field = |names: &[&str]| {
        names.iter().find_map(|n| match value.get(n)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    ErrorBody {
        error_code: field(&["error_code", "errorCode", "code"]),
        error_msg: field(&["error_msg", "errorMessage", "errorMsg", "message", "detail"]),
        detail: field(&["detail"]),
        request_id: field(&["request_id"]),
    }
}

/// `X-Request-Id` of a response.
pub(super) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (Option<String>, Option<String>, Option<String>) {
        let b = ErrorBody::parse(s.as_bytes()).expect(s);
        (b.error_code, b.error_msg, b.request_id)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn every_body_shape() {
        // 1. The old bare array.
        assert_eq!(
            parse(
                r#"[{"errorCode":"SVCSTG.SWR.4001048","errorMessage":"Failed to get Token from Context","detail":""}]"#
            ),
            (
                some("SVCSTG.SWR.4001048"),
                some("Failed to get Token from Context"),
                None
            )
        );
        // 2. OTC's wrapped list.
        assert_eq!(
            parse(
                r#"{"errors":[{"errorCode":"SVCSTG.SWR.4001072","errorMessage":"param offset error","detail":"x"}]}"#
            ),
            (some("SVCSTG.SWR.4001072"), some("param offset error"), None)
        );
        // 3. The current shape: the top-level pair wins.
        assert_eq!(
            parse(
                r#"{"errors":[{"errorCode":"OLD","errorMessage":"old","detail":"","encoded_authorization_message":"e"}],"error_code":"SVCSTG.SWR.4030170","error_msg":"Insufficient permissions","details":[{"error_code":"a","error_msg":"b"}],"encoded_authorization_message":"e"}"#
            ),
            (
                some("SVCSTG.SWR.4030170"),
                some("Insufficient permissions"),
                None
            )
        );
        // 4. The API gateway, with its request id in the body.
        assert_eq!(
            parse(
                r#"{"error_msg":"Incorrect IAM authentication information: x","error_code":"APIG.0301","request_id":"abc"}"#
            ),
            (
                some("APIG.0301"),
                some("Incorrect IAM authentication information: x"),
                some("abc")
            )
        );
        // What the SDKs also accept.
        assert_eq!(
            parse(r#"{"code":"X.1","message":"m"}"#),
            (some("X.1"), some("m"), None)
        );
        assert_eq!(
            parse(r#"{"errorCode":"X.2","errorMsg":"m"}"#),
            (some("X.2"), some("m"), None)
        );
    }

    #[test]
    fn detail_comes_from_the_first_error() {
        let b = ErrorBody::parse(
            br#"{"error_code":"SVCSTG.SWR.4010000","error_msg":"Authentication failed","errors":[{"errorCode":"SVCSTG.SWR.4010000","errorMessage":"Authentication failed","detail":"the access key (AK) is not known"}]}"#,
        )
        .unwrap();
        assert_eq!(
            b.detail.as_deref(),
            Some("the access key (AK) is not known")
        );
        let b =
            ErrorBody::parse(br#"[{"errorCode":"C","errorMessage":"m","detail":"d"}]"#).unwrap();
        assert_eq!(b.detail.as_deref(), Some("d"));
        let e = SwrError::api(401, &HeaderMap::new(), b, "");
        assert_eq!(e.to_string(), "C: m: d (HTTP 401)");
    }

    #[test]
    fn not_an_error_body() {
        for body in [
            "",
            "<html>bad gateway</html>",
            "[]",
            "{}",
            "42",
            r#"{"a":1}"#,
        ] {
            assert_eq!(ErrorBody::parse(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn display_names_code_status_and_request_id() {
        let e = SwrError::Api(ApiError {
            status: 404,
            error_code: some("SVCSTG.SWR.4040058"),
            error_msg: "namespace x not found".into(),
            detail: None,
            request_id: some("rid-1"),
            retry_after: None,
        });
        assert_eq!(
            e.to_string(),
            "SVCSTG.SWR.4040058: namespace x not found (HTTP 404, request id rid-1)"
        );
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.error_code(), Some("SVCSTG.SWR.4040058"));
        assert_eq!(e.request_id(), Some("rid-1"));
        assert!(!e.is_retryable());
    }

    #[test]
    fn raw_bodies_become_the_message() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", "r".parse().unwrap());
        headers.insert("retry-after", "2".parse().unwrap());
        let e = SwrError::api(503, &headers, ErrorBody::default(), "  upstream down \n");
        let SwrError::Api(api) = &e else { panic!() };
        assert_eq!(api.error_msg, "upstream down");
        assert_eq!(api.retry_after, Some(Duration::from_secs(2)));
        assert!(e.is_retryable());
        let e = SwrError::api(502, &HeaderMap::new(), ErrorBody::default(), "");
        assert_eq!(e.error_msg(), Some("Bad Gateway"));
        assert_eq!(cut("héllo", 2), "hé…");
    }
}
