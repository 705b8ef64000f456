//! The one error type: every refusal, the router's and the implementation's, rendered as the spec's `ErrorResponse`.

use super::*;
use crate::server::error_codes;

/// The reason of [`Rejection::bad_signature`].
const BAD_SIGNATURE: &str = "the AK/SK signature is not valid: unknown access key, wrong \
     signature, or X-Sdk-Date more than 15 minutes from the server's clock";

/// A request refused by the router, rendered as the spec's `ErrorResponse`:
///
/// ```json
/// {"error_code": "SVCSTG.SWR.4000056", "error_msg": "limit: 0 is outside 1..=1000",
///  "errors": [{"errorCode": "SVCSTG.SWR.4000056",
///              "errorMessage": "limit: 0 is outside 1..=1000",
///              "detail": "invalid query parameter limit"}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status.
    pub status: StatusCode,
    /// SWR error code, e.g. `SVCSTG.SWR.4000056`.
    pub code: &'static str,
    /// `error_msg`: what is wrong, naming the parameter and the value.
    pub message: String,
    /// `errors[0].detail`: where (e.g. `invalid query parameter limit`).
    pub detail: String,
}

impl Rejection {
    /// Any status; `detail` starts equal to `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            code,
            detail: message.clone(),
            message,
        }
    }

    /// A 400 about one parameter. `message` should start with the parameter
    /// name (`limit: 0 is outside 1..=1000`).
    pub fn bad_request(
        code: &'static str,
        location: Location,
        parameter: &str,
        message: impl Into<String>,
    ) -> Self {
        let detail = match location {
            Location::Body => format!("invalid {location}"),
            _ => format!("invalid {location} {parameter}"),
        };
        Self::new(StatusCode::BAD_REQUEST, code, message).with_detail(detail)
    }

    /// 404 for a namespace that does not exist **or belongs to another
    /// domain**: call it for both, so existence never leaks (the body is
    /// byte-identical either way). Code `x-error-codes.not_found_namespace`.
    pub fn not_found_namespace(namespace: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            error_codes::NOT_FOUND_NAMESPACE,
            "Namespace not found",
        )
        .with_detail(namespace)
    }

    /// 404 for a repository that does not exist in a namespace the caller
    /// can see. Code `x-error-codes.not_found_repository`; `detail` is the
    /// repository as stored (`namespace/name`, with `/`, not `$`).
    pub fn not_found_repository(namespace: &str, repository: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            error_codes::NOT_FOUND_REPOSITORY,
            "Repository not found",
        )
        .with_detail(format!("{namespace}/{}", repository.replace('$', "/")))
    }

    /// 400 for a bad value of `parameter` (in the query unless a generated
    /// check said otherwise), code `x-error-codes.bad_request`. The message
    /// names the parameter: `{parameter}: {problem}`.
    pub fn invalid_parameter(parameter: &str, problem: impl fmt::Display) -> Self {
        Self::bad_request(
            error_codes::BAD_REQUEST,
            Location::Query,
            parameter,
            format!("{parameter}: {problem}"),
        )
    }

    /// 500 with a fixed body that says nothing about internals (code
    /// `x-error-codes.internal`). Log the cause yourself, with the request id.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_codes::INTERNAL,
            "Failed to obtain the tag list",
        )
        .with_detail("the server failed; retry later")
    }

    /// 401 for credentials that are unknown or expired: `error_msg`
    /// `Authentication failed`, `detail` the reason, code
    /// `x-error-codes.unauthorized`.
    pub fn unauthenticated(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            error_codes::UNAUTHORIZED,
            "Authentication failed",
        )
        .with_detail(reason)
    }

    /// 401 for every AK/SK failure alike (unknown access key, wrong
    /// signature, `X-Sdk-Date` outside [`MAX_CLOCK_SKEW`]): one message, so
    /// a caller cannot probe which access keys exist.
    ///
    /// [`MAX_CLOCK_SKEW`]: crate::server::signing::MAX_CLOCK_SKEW
    pub fn bad_signature() -> Self {
        Self::unauthenticated(BAD_SIGNATURE)
    }

    /// A rejection an operation returned, kept when its status is one of
    /// `documented` (inclusive ranges), else turned into a 500 with
    /// `internal_code`: a client never sees a status the spec does not list.
    #[must_use]
    pub fn documented(self, documented: &[(u16, u16)], internal_code: &'static str) -> Self {
        let status = self.status.as_u16();
        if documented
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
        {
            self
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                internal_code,
                "Internal error",
            )
            .with_detail(format!(
                "the server answered an undocumented status {status}"
            ))
        }
    }

    /// A 401: `Authentication failed: {reason}`.
    pub fn unauthorized(code: &'static str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(
            StatusCode::UNAUTHORIZED,
            code,
            format!("Authentication failed: {reason}"),
        )
        .with_detail(reason)
    }

    /// Replaces `detail`.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The `ErrorResponse` JSON body.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error_code": self.code,
            "error_msg": self.message,
            "errors": [{
                "errorCode": self.code,
                "errorMessage": self.message,
                "detail": self.detail,
            }],
        })
    }

    /// The body as a typed value, e.g. the generated `types::ErrorResponse`,
    /// for implementations that answer a documented error status themselves.
    pub fn body<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.body_json())
    }

    /// The response: status, JSON body, `X-Request-Id: {request_id}`.
    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let mut builder = ResponseBuilder::with_status(self.status, self.code);
        builder.json_body(&self.body_json());
        builder.header(REQUEST_ID_HEADER, request_id);
        builder.finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for Rejection {}

/// Where a parameter travels; used in rejection details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A `{param}` segment of the path.
    Path,
    /// A query string parameter.
    Query,
    /// A request header.
    Header,
    /// The request body.
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Location::Path => "path parameter",
            Location::Query => "query parameter",
            Location::Header => "header",
            Location::Body => "request body",
        })
    }
}

/// `value` in Rust string-literal quoting (control characters and quotes stay
/// visible, so a message cannot forge log lines), cut after
/// 128 characters.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_LEN) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
    }
}
