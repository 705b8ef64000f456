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
pub use super::signing::{MAX_CLOCK_SKEW, SignedRequest, SigningError, VerifyError};
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

mod checks;
mod credentials;
mod params;
mod rejection;
mod response;
#[cfg(test)]
mod tests;

pub use checks::*;
pub use credentials::*;
pub use params::*;
pub use rejection::*;
pub use response::*;
