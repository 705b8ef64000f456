//! Hand-written runtime of the generated server (`server.rs` in `OUT_DIR`).
//!
//! The generated router does all extraction and validation by calling the
//! small functions here, so the generated code stays short and every rule
//! (what counts as an integer, how a message names the parameter, what a
//! rejection looks like on the wire) is written once, in readable Rust.
//!
//! # Which type to use where
//!
//! - [`Rejection`]: every request the router refuses before the operation's
//!   method runs (bad parameter, missing credentials, unknown route), and
//!   the implementation's own answer to credentials it does not accept
//!   (`Api::authenticate`).
//!   Rendered as the spec's `ErrorResponse` JSON with an SWR code and an
//!   `X-Request-Id` header. Constructors name the status: [`Rejection::bad_request`],
//!   [`Rejection::unauthorized`], [`Rejection::new`] for the rest.
//! - [`Params`]: the raw (percent-decoded) path, query or header values of one
//!   request, restricted to the parameters the spec declares. Query rules hooks
//!   (see `rules.rs`) take `&mut Params` for the query.
//! - [`Credentials`]: what the client presented (token or AK/SK signature),
//!   extracted but **not verified**: the router hands it to the
//!   implementation's `Api::authenticate`, which checks it against its store
//!   ([`SignedRequest::verify`]) before any parameter is looked at.
//! - [`ParamError`]: how a replacement type's `FromStr` error becomes a 400
//!   (implemented for [`swr_filter::FilterError`], which carries its own SWR
//!   code and message).
//!
//! # Wire decisions
//!
//! - Unknown query parameters are ignored (SDKs and gateways add their own;
//!   OpenAPI 3.0 cannot declare a closed set). A declared parameter sent twice
//!   is a 400 naming it, never a silent pick.
//! - Query strings are decoded as `application/x-www-form-urlencoded` (`+` is a
//!   space), as axum's `Query` and the SDK signers' canonical form do.
//! - Integers are ASCII digits only (a leading `-` only where the schema allows
//!   negatives): `+1`, ` 1`, `1.0`, `1e3` are rejected, and the range comes
//!   from the schema.
//! - Request ids: a client's `X-Request-Id` of 1 to 128 visible ASCII
//!   characters is echoed, anything else is replaced by a random UUID v4.

use std::fmt;
use std::str::FromStr;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub use super::json_array::{BoxError, JsonArray};
pub use super::signing::{SignedRequest, SigningError};
/// The regex engine of generated pattern checks (linear time on untrusted
/// input). Spec patterns must be valid in both ECMA-262 and Rust `regex`
/// syntax; note that Rust's `\d` also matches non-ASCII digits, so prefer
/// `[0-9]` in patterns that validate requests.
pub use regex::Regex;

/// Header that carries the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest client-sent request id that is echoed.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Longest value quoted back in an error message; longer values are cut.
const MAX_QUOTED_LEN: usize = 128;

// ---------------------------------------------------------------------------
// Rejection

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

// ---------------------------------------------------------------------------
// Raw parameters

/// The raw values of the parameters one operation declares in one location
/// (path, query or headers), percent-decoded, at most one value each.
/// Undeclared names are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    location: Location,
    values: Vec<(&'static str, String)>,
}

/// A declared parameter: wire name and the SWR code of its rejections.
pub type Declared = (&'static str, &'static str);

impl Params {
    /// Empty set of values for `location`.
    pub fn new(location: Location) -> Self {
        Self {
            location,
            values: Vec::new(),
        }
    }

    /// Where these parameters travel.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The path parameters matched by the router.
    pub async fn from_path(parts: &mut Parts, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Path);
        match RawPathParams::from_request_parts(parts, &()).await {
            Ok(raw) => {
                for (name, value) in &raw {
                    if let Some(&(name, _)) = declared.iter().find(|(d, _)| *d == name) {
                        params.values.push((name, value.to_owned()));
                    }
                }
            }
            Err(rejection) => {
                // Only possible cause with a matched route: a value that is not
                // UTF-8 once percent-decoded. axum's message names the key.
                let text = rejection.body_text();
                let (name, code) = declared
                    .iter()
                    .find(|(d, _)| text.contains(&format!("`{d}`")))
                    .or(declared.first())
                    .copied()
                    .unwrap_or(("path", ""));
                return Err(Rejection::bad_request(
                    code,
                    Location::Path,
                    name,
                    format!("{name}: not valid UTF-8 once percent-decoded"),
                ));
            }
        }
        Ok(params)
    }

    /// The query string, form-decoded. A declared name sent twice is a 400
    /// naming it; undeclared names are ignored.
    pub fn from_query(query: Option<&str>, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Query);
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if let Some(&(name, code)) = declared.iter().find(|(d, _)| *d == name) {
                params.insert_once(name, value.into_owned(), code)?;
            }
        }
        Ok(params)
    }

    /// The declared request headers. A header sent twice, or one whose value
    /// is not visible ASCII, is a 400 naming it.
    pub fn from_headers(headers: &HeaderMap, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Header);
        for &(name, code) in declared {
            for value in headers.get_all(name) {
                let value = value.to_str().map_err(|_| {
                    Rejection::bad_request(
                        code,
                        Location::Header,
                        name,
                        format!("{name}: value is not visible ASCII"),
                    )
                })?;
                params.insert_once(name, value.to_owned(), code)?;
            }
        }
        Ok(params)
    }

    fn insert_once(
        &mut self,
        name: &'static str,
        value: String,
        code: &'static str,
    ) -> Result<(), Rejection> {
        if self.get(name).is_some() {
            let times = 1 + self.values.iter().filter(|(n, _)| *n == name).count();
            return Err(Rejection::bad_request(
                code,
                self.location,
                name,
                format!("{name}: sent {times} times; send it at most once"),
            ));
        }
        self.values.push((name, value));
        Ok(())
    }

    /// The value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or a 400 saying it is missing.
    pub fn required(&self, name: &str, code: &'static str) -> Result<&str, Rejection> {
        self.get(name).ok_or_else(|| {
            Rejection::bad_request(
                code,
                self.location,
                name,
                format!("{name}: required {} is missing", self.location),
            )
        })
    }

    /// Sets (or replaces) the value of `name`.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.values.iter().position(|(n, _)| *n == name)?;
        Some(self.values.remove(i).1)
    }
}

// ---------------------------------------------------------------------------
// Value checks (called by generated `from_params`)

/// Length in characters within `min..=max`.
pub fn check_length(
    name: &str,
    raw: &str,
    min: Option<usize>,
    max: Option<usize>,
    location: Location,
    code: &'static str,
) -> Result<(), Rejection> {
    let len = raw.chars().count();
    let message = if min.is_some_and(|min| len < min) {
        format!(
            "{name}: {} is {len} characters long; at least {} required",
            quote(raw),
            min.unwrap_or_default()
        )
    } else if max.is_some_and(|max| len > max) {
        format!(
            "{name}: {} is {len} characters long; at most {} allowed",
            quote(raw),
            max.unwrap_or_default()
        )
    } else {
        return Ok(());
    };
    Err(Rejection::bad_request(code, location, name, message))
}

/// `raw` matches the spec's `pattern`.
pub fn check_pattern(
    name: &str,
    raw: &str,
    pattern: &Regex,
    location: Location,
    code: &'static str,
) -> Result<(), Rejection> {
    if pattern.is_match(raw) {
        return Ok(());
    }
    Err(Rejection::bad_request(
        code,
        location,
        name,
        format!("{name}: {} does not match {}", quote(raw), pattern.as_str()),
    ))
}

/// `raw` is exactly one of `allowed`; returns that value.
pub fn check_enum(
    name: &str,
    raw: &str,
    allowed: &[&'static str],
    location: Location,
    code: &'static str,
) -> Result<&'static str, Rejection> {
    allowed
        .iter()
        .find(|a| **a == raw)
        .copied()
        .ok_or_else(|| not_one_of(name, raw, allowed, location, code))
}

/// A media type (`Content-Type`) equal to one of `allowed`, compared
/// case-insensitively and ignoring spaces around `;` and `=`; returns the
/// allowed spelling.
pub fn check_media_type(
    name: &str,
    raw: &str,
    allowed: &[&'static str],
    location: Location,
    code: &'static str,
) -> Result<&'static str, Rejection> {
    let wanted = normalize_media_type(raw);
    allowed
        .iter()
        .find(|a| normalize_media_type(a) == wanted)
        .copied()
        .ok_or_else(|| not_one_of(name, raw, allowed, location, code))
}

fn normalize_media_type(s: &str) -> String {
    s.split(';')
        .map(|part| {
            let part = part.trim();
            match part.split_once('=') {
                Some((k, v)) => format!("{}={}", k.trim_end(), v.trim_start()),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
        .to_ascii_lowercase()
}

fn not_one_of(
    name: &str,
    raw: &str,
    allowed: &[&str],
    location: Location,
    code: &'static str,
) -> Rejection {
    Rejection::bad_request(
        code,
        location,
        name,
        format!(
            "{name}: {} is not one of {}",
            quote(raw),
            allowed.join(", ")
        ),
    )
}

/// A base-10 integer in `min..=max`: ASCII digits only, with a leading `-`
/// only when `min` is negative.
pub fn parse_int<T: TryFrom<i128>>(
    name: &str,
    raw: &str,
    min: i128,
    max: i128,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    let digits = match raw.strip_prefix('-') {
        Some(rest) if min < 0 => rest,
        _ => raw,
    };
    let reject = |message: String| Rejection::bad_request(code, location, name, message);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(format!(
            "{name}: {} is not a base-10 integer between {min} and {max}",
            quote(raw)
        )));
    }
    // All digits: too long for i128 means far out of range.
    match raw.parse::<i128>() {
        Ok(n) if (min..=max).contains(&n) => {
            T::try_from(n).map_err(|_| reject(format!("{name}: {raw} is outside {min}..={max}")))
        }
        _ => Err(reject(format!(
            "{name}: {} is outside {min}..={max}",
            cut(raw)
        ))),
    }
}

/// An integer that must be one of the schema's `enum` values.
pub fn check_int_enum<T: Copy + Into<i128>>(
    name: &str,
    value: T,
    allowed: &[i128],
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    if allowed.contains(&value.into()) {
        return Ok(value);
    }
    let allowed: Vec<String> = allowed.iter().map(i128::to_string).collect();
    Err(Rejection::bad_request(
        code,
        location,
        name,
        format!(
            "{name}: {} is not one of {}",
            value.into(),
            allowed.join(", ")
        ),
    ))
}

/// A decimal number (`-1.5`, `2`, `1e3`) within the optional bounds; no
/// leading `+`, no spaces, no `inf`/`NaN`.
pub fn parse_number(
    name: &str,
    raw: &str,
    min: Option<f64>,
    max: Option<f64>,
    location: Location,
    code: &'static str,
) -> Result<f64, Rejection> {
    let reject = |message: String| Rejection::bad_request(code, location, name, message);
    let shape_ok = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E'))
        && raw.bytes().any(|b| b.is_ascii_digit());
    match raw.parse::<f64>() {
        Ok(n) if shape_ok && n.is_finite() => match (min, max) {
            (Some(min), _) if n < min => {
                Err(reject(format!("{name}: {raw} is below the minimum {min}")))
            }
            (_, Some(max)) if n > max => {
                Err(reject(format!("{name}: {raw} is above the maximum {max}")))
            }
            _ => Ok(n),
        },
        _ => Err(reject(format!("{name}: {} is not a number", quote(raw)))),
    }
}

/// Exactly `true` or `false`.
pub fn parse_bool(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<bool, Rejection> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Rejection::bad_request(
            code,
            location,
            name,
            format!("{name}: {} is not true or false", quote(raw)),
        )),
    }
}

/// A replacement type parsed with its own `FromStr`; the error decides the
/// code (if it has one) and the message.
pub fn parse_with<T>(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection>
where
    T: FromStr,
    T::Err: ParamError,
{
    raw.parse::<T>().map_err(|e| {
        Rejection::bad_request(
            e.code().unwrap_or(code),
            location,
            name,
            e.message(name, raw),
        )
    })
}

/// A generated model type parsed with its `FromStr`, after the schema's own
/// checks passed; a failure here is reported generically.
pub fn parse_model<T: FromStr>(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    raw.parse::<T>().map_err(|_| {
        Rejection::bad_request(
            code,
            location,
            name,
            format!("{name}: {} is not a valid value", quote(raw)),
        )
    })
}

/// A JSON request body.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    code: &'static str,
) -> Result<T, Rejection> {
    serde_json::from_slice(body)
        .map_err(|e| Rejection::bad_request(code, Location::Body, "body", format!("body: {e}")))
}

/// `raw` (ASCII digits here) cut after 128 characters.
fn cut(raw: &str) -> String {
    match raw.get(..MAX_QUOTED_LEN) {
        Some(head) if head.len() < raw.len() => format!("{head}…"),
        _ => raw.to_owned(),
    }
}

/// How a replacement type's `FromStr` error becomes a 400.
///
/// Implement it for the `Err` type of every type named in the generator's
/// replacements (`ServerOptions::replacements`) that is used as a parameter.
pub trait ParamError {
    /// The SWR code to answer with; `None` uses the parameter's code.
    fn code(&self) -> Option<&'static str> {
        None
    }

    /// The message, which should name the parameter.
    fn message(&self, parameter: &str, raw: &str) -> String;
}

impl ParamError for swr_filter::FilterError {
    fn code(&self) -> Option<&'static str> {
        Some(swr_filter::FilterError::code(self))
    }

    /// FilterError's own text already names the parameter (or `filter` key).
    fn message(&self, _parameter: &str, _raw: &str) -> String {
        self.to_string()
    }
}

impl ParamError for std::convert::Infallible {
    fn message(&self, _: &str, _: &str) -> String {
        match *self {}
    }
}

// ---------------------------------------------------------------------------
// Credentials

/// Credentials as presented by the client, not yet verified: the generated
/// router passes them to `Api::authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An IAM token (`X-Auth-Token`).
    Token(String),
    /// An AK/SK `SDK-HMAC-SHA256` signature, canonicalised and ready for
    /// [`SignedRequest::verify`] with the secret key of
    /// [`SignedRequest::access_key`].
    Signed(Box<SignedRequest>),
}

/// Extracts one security scheme's credentials: `Ok(None)` when its header is
/// absent, `Err(reason)` when it is present but unusable (the router answers
/// 401 with the reason).
pub type CredentialExtractor =
    fn(parts: &Parts, header: &'static str, body: &[u8]) -> Result<Option<Credentials>, String>;

/// A token header (`apiKey` in a header): its value as is.
pub fn token_credentials(
    parts: &Parts,
    header: &'static str,
    _body: &[u8],
) -> Result<Option<Credentials>, String> {
    let mut values = parts.headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{header} is sent more than once"));
    }
    match value.to_str() {
        Ok("") => Err(format!("{header} is empty")),
        Ok(token) => Ok(Some(Credentials::Token(token.to_owned()))),
        Err(_) => Err(format!("{header} is not visible ASCII")),
    }
}

/// An `Authorization: SDK-HMAC-SHA256 …` header, canonicalised with the rest
/// of the request (see [`SignedRequest::from_request`]).
pub fn signed_credentials(
    parts: &Parts,
    header: &'static str,
    body: &[u8],
) -> Result<Option<Credentials>, String> {
    let mut values = parts.headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{header} is sent more than once"));
    }
    let value = value
        .to_str()
        .map_err(|_| format!("{header} is not visible ASCII"))?;
    let uri = original_uri(parts);
    SignedRequest::from_request(&parts.method, uri, &parts.headers, value, body)
        .map(|signed| Some(Credentials::Signed(Box::new(signed))))
        .map_err(|e| format!("{header}: {e}"))
}

/// The first scheme (in the spec's order of `security` alternatives) whose
/// header is present wins, so a token plus a dummy `Authorization` (the
/// official SDKs' token workaround) is a token; a present but unusable one is
/// a 401 naming the problem. `Ok(None)` when no scheme's header is present.
pub fn try_authenticate(
    parts: &Parts,
    body: &[u8],
    schemes: &[(&'static str, CredentialExtractor)],
    code: &'static str,
) -> Result<Option<Credentials>, Rejection> {
    for &(header, extract) in schemes {
        match extract(parts, header, body) {
            Ok(Some(credentials)) => return Ok(Some(credentials)),
            Ok(None) => {}
            Err(reason) => return Err(Rejection::unauthorized(code, reason)),
        }
    }
    Ok(None)
}

/// [`try_authenticate`], with a 401 naming the headers when none is present.
pub fn authenticate(
    parts: &Parts,
    body: &[u8],
    schemes: &[(&'static str, CredentialExtractor)],
    code: &'static str,
) -> Result<Credentials, Rejection> {
    if let Some(credentials) = try_authenticate(parts, body, schemes, code)? {
        return Ok(credentials);
    }
    let names: Vec<&str> = schemes.iter().map(|(h, _)| *h).collect();
    let reason = match names.as_slice() {
        [] => "the request carries no credentials".to_owned(),
        [one] => format!("the request carries no {one} header"),
        [a, b] => format!("the request carries neither {a} nor {b}"),
        more => format!("the request carries none of {}", more.join(", ")),
    };
    Err(Rejection::unauthorized(code, reason))
}

/// The URI as the client sent it, before any `nest` stripped a prefix.
pub fn original_uri(parts: &Parts) -> &Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |o| &o.0)
}

// ---------------------------------------------------------------------------
// Request ids, bodies, responses

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
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "SVCSTG.SWR.4000014";

    fn int(raw: &str) -> Result<u32, Rejection> {
        parse_int::<u32>("limit", raw, 1, 1000, Location::Query, CODE)
    }

    #[test]
    fn integers_are_ascii_digits_in_range() {
        assert_eq!(int("10").unwrap(), 10);
        assert_eq!(int("0010").unwrap(), 10);
        for bad in ["+1", "-1", "1.0", " 1", "1 ", "", "abc", "1e3", "١"] {
            let e = int(bad).unwrap_err();
            assert!(e.message.starts_with("limit: "), "{bad}: {}", e.message);
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
        }
        assert_eq!(
            int("0").unwrap_err().message,
            "limit: 0 is outside 1..=1000"
        );
        assert_eq!(
            int("1001").unwrap_err().message,
            "limit: 1001 is outside 1..=1000"
        );
        let huge = "1".repeat(60);
        assert!(
            int(&huge)
                .unwrap_err()
                .message
                .contains("is outside 1..=1000")
        );
        let neg = parse_int::<i64>("n", "-5", -10, 10, Location::Query, CODE);
        assert_eq!(neg.unwrap(), -5);
    }

    #[test]
    fn media_types_compare_loosely() {
        let allowed = ["application/json", "application/json;charset=utf-8"];
        let ok = |raw| check_media_type("Content-Type", raw, &allowed, Location::Header, CODE);
        assert_eq!(ok("Application/JSON").unwrap(), "application/json");
        assert_eq!(
            ok("application/json ; charset=UTF-8").unwrap(),
            "application/json;charset=utf-8"
        );
        assert!(ok("text/plain").is_err());
        assert!(ok("application/jsonx").is_err());
    }

    #[test]
    fn repeated_query_params_are_rejected() {
        let declared = [("limit", "C1"), ("offset", "C2")];
        let e = Params::from_query(Some("limit=1&x=1&x=2&limit=2"), &declared).unwrap_err();
        assert_eq!(e.code, "C1");
        assert_eq!(e.message, "limit: sent 2 times; send it at most once");
        let p = Params::from_query(Some("offset=%31&unknown=1"), &declared).unwrap();
        assert_eq!(p.get("offset"), Some("1"));
        assert_eq!(p.get("unknown"), None);
    }

    #[test]
    fn request_ids_are_echoed_or_generated() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("has space"));
        let generated = request_id(&h);
        assert_eq!(generated.len(), 36);
        assert_eq!(&generated[14..15], "4");
        h.insert(
            "x-request-id",
            HeaderValue::from_str(&"a".repeat(129)).unwrap(),
        );
        assert_eq!(request_id(&h).len(), 36);
    }

    #[test]
    fn rejection_body_has_both_shapes() {
        let r = Rejection::bad_request(CODE, Location::Query, "limit", "limit: bad");
        assert_eq!(
            r.body_json(),
            serde_json::json!({
                "error_code": CODE, "error_msg": "limit: bad",
                "errors": [{"errorCode": CODE, "errorMessage": "limit: bad",
                            "detail": "invalid query parameter limit"}]
            })
        );
    }

    #[test]
    fn quoting_cuts_long_values() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert!(quote(&"x".repeat(500)).ends_with('…'));
    }
}
