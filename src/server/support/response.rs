//! Request ids, bodies and responses.

use super::*;

/// The client's `X-Request-Id` if it is 1 to 128 visible ASCII characters,
/// else a fresh random UUID v4.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=MAX_REQUEST_ID_LEN).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(new_request_id, str::to_owned)
}

/// A random UUID v4 (not cryptographic: ids only need to be unique).
pub fn new_request_id() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Reads the whole body, up to `limit` bytes (413 past it).
pub async fn read_body(body: Body, limit: usize, code: &'static str) -> Result<Vec<u8>, Rejection> {
    axum::body::to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            Rejection::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code,
                format!(
                    "body: larger than {limit} bytes, or the connection failed while reading it"
                ),
            )
        })
}

/// Adds `X-Request-Id` to an implementation's response that lacks one.
pub fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if !response.headers().contains_key(REQUEST_ID_HEADER)
        && let Ok(value) = HeaderValue::from_str(request_id)
    {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    response
}

/// 404 for a path no operation has.
pub fn not_found(method: &Method, uri: &Uri, headers: &HeaderMap, code: &'static str) -> Response {
    let id = request_id(headers);
    Rejection::new(
        StatusCode::NOT_FOUND,
        code,
        format!("no such API: {method} {}", cut_path(uri)),
    )
    .into_response_with_id(&id)
}

/// 405 for a known path with another method (axum adds `Allow`).
pub fn method_not_allowed(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    code: &'static str,
) -> Response {
    let id = request_id(headers);
    Rejection::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code,
        format!("method {method} is not allowed on {}", cut_path(uri)),
    )
    .into_response_with_id(&id)
}

fn cut_path(uri: &Uri) -> String {
    let path = uri.path();
    match path.char_indices().nth(MAX_QUOTED_LEN) {
        None => path.to_owned(),
        Some((cut, _)) => format!("{}…", &path[..cut]),
    }
}

/// Builds a generated response: status, JSON body, typed headers. The first
/// failure (a body that does not serialize, a header value with a newline)
/// turns the whole response into a 500 `ErrorResponse` with `internal_code`,
/// so an implementation bug never sends a half-built response.
#[derive(Debug)]
pub struct ResponseBuilder {
    status: StatusCode,
    internal_code: &'static str,
    body: Option<Body>,
    headers: HeaderMap,
    error: Option<String>,
}

impl ResponseBuilder {
    /// A response with a documented status code.
    pub fn new(status: u16, internal_code: &'static str) -> Self {
        let mut builder = Self::with_status(StatusCode::INTERNAL_SERVER_ERROR, internal_code);
        match StatusCode::from_u16(status) {
            Ok(status) => builder.status = status,
            Err(_) => builder.error = Some(format!("{status} is not an HTTP status")),
        }
        builder
    }

    /// A response with a status chosen at run time (`default` responses).
    pub fn with_status(status: StatusCode, internal_code: &'static str) -> Self {
        Self {
            status,
            internal_code,
            body: None,
            headers: HeaderMap::new(),
            error: None,
        }
    }

    /// Sets a JSON body.
    pub fn json_body<T: serde::Serialize + ?Sized>(&mut self, body: &T) {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some(Body::from(bytes)),
            Err(e) => self.fail(format!("body does not serialize: {e}")),
        }
    }

    /// Sets a JSON array body, streamed when the implementation streams it.
    pub fn json_array<T: serde::Serialize + Send + 'static>(&mut self, body: JsonArray<T>) {
        match body.into_body() {
            Ok(body) => self.body = Some(body),
            Err(e) => self.fail(format!("body does not serialize: {e}")),
        }
    }

    /// Sets a header from its `Display` form.
    pub fn header<T: fmt::Display + ?Sized>(&mut self, name: &str, value: &T) {
        let parsed = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value.to_string()),
        );
        match parsed {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => self.fail(format!("header {name} has no valid value")),
        }
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }

    /// The response, or a 500 if anything failed.
    pub fn finish(self) -> Response {
        if let Some(message) = self.error {
            let id = self
                .headers
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .map_or_else(new_request_id, str::to_owned);
            return Rejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                self.internal_code,
                format!("internal error: the response could not be built: {message}"),
            )
            .into_response_with_id(&id);
        }
        let mut response = match self.body {
            Some(body) => {
                let mut r = body.into_response();
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            None => Body::empty().into_response(),
        };
        *response.status_mut() = self.status;
        response.headers_mut().extend(self.headers);
        response
    }
}
