//! The server generator: spec -> an `Api` trait with one native `async fn`
//! per operation, typed request and per-status response types, and an axum
//! 0.8 router that does all extraction, validation and error rendering.
//!
//! Generic over the spec: nothing here names an operation, a parameter or a
//! schema of ours. Project choices come in through [`ServerOptions`];
//! [`ServerOptions::swr_api`] is this project's configuration.
//!
//! # What is generated, per operation (`Op` = UpperCamel of the operationId)
//!
//! - `{Op}Path`, `{Op}Query`, `{Op}Headers`: one typed field per parameter
//!   (`string` -> `String`; `integer` -> `u32`/`u64` when the minimum is at
//!   least 0, else `i32`/`i64`, by `format`; `$ref` -> the model type or its
//!   replacement; optional -> `Option<T>` unless the schema has a default),
//!   each with a `from_params` that validates and converts the raw values.
//! - `{Op}Request { path, query, headers, [body], [principal], request_id }`;
//!   with `security`, `{Op}Request<P>`, generic over the principal.
//!   With a query rules hook (`ServerOptions::query_rules`), `{Op}Query` is
//!   instead an alias of the type the hook returns.
//! - `{Op}Response`: one variant per documented success status (below 400,
//!   named after the status's canonical reason: `Ok`, `Created`, …), each with
//!   the body and one typed field per documented response header (except the
//!   `router_headers`, which the router sets), and its `IntoResponse`.
//! - A method of `trait Api` returning `Result<{Op}Response, Rejection>`:
//!   every error (4xx/5xx) goes through the one `Rejection` type, rendered as
//!   the spec's error body; a rejection with a status the operation does not
//!   document is answered as a 500 (`x-error-codes.internal`).
//! - A route in `router`.
//!
//! When some operation has `security`, `trait Api` also gets
//! `type Principal: Send + 'static` and
//! `fn authenticate(&self, credentials, request_id) -> Result<Self::Principal, Rejection>`:
//! the router hands it the extracted credentials, and the operation's method
//! gets what it returned as `request.principal`. (So no operationId may be
//! `authenticate` in such a spec.)
//!
//! The generated code expects, at the configured paths, the model types
//! (`types_module`) and the hand-written runtime (`support_module`: the root
//! crate's `src/server/support.rs`).
//!
//! # Validation order of a request
//!
//! request id; body read (size limit); credentials (401 when missing or
//! malformed); `Api::authenticate` (the implementation's 401, or 500);
//! path parameters; query parameters (repeats, then the operation's query
//! rules hook, then each parameter); headers; body parsing. Credentials come
//! before every parameter, so an unauthenticated caller learns nothing about
//! parameters. The first failure answers; every failure is the
//! spec's `ErrorResponse` with an SWR code: the parameter's `x-error-code`,
//! else the spec-root `x-error-codes` entry (`bad_request`, `unauthorized`,
//! `not_found`, `method_not_allowed`, `internal`).
//!
//! # Deliberate leniencies
//!
//! - A `Content-Type` header parameter is accepted when absent (its default,
//!   if any, is used) and compared as a media type when present.
//! - Unknown query parameters are ignored.

mod emit;
mod model;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{ClientOptions, Spec};

/// Project configuration of [`generate_server`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// `components/schemas` names replaced by Rust types (the client's
    /// replacements): schema name -> absolute Rust path. A replaced type used
    /// as a parameter must implement `FromStr` with an `Err` that implements
    /// `support::ParamError`, and it does all of its own validation.
    pub replacements: BTreeMap<String, String>,
    /// Response header name (case-insensitive) -> Rust type used for that
    /// header in every response variant; the type must implement `Display`.
    pub response_header_types: Vec<(String, String)>,
    /// operationId -> a query rules hook that replaces the generated
    /// `{Op}Query` struct: the hook gets the raw (declared, percent-decoded)
    /// query parameters and returns the operation's query as the
    /// implementation should see it (e.g. two query forms merged into one
    /// value), so the request carries no field that is always `None`.
    pub query_rules: BTreeMap<String, QueryRules>,
    /// Response headers (case-insensitive) the router sets on every response
    /// itself, e.g. `X-Request-Id`: they get no field in the response
    /// variants, so an implementation cannot forget or contradict them.
    pub router_headers: Vec<String>,
    /// Security scheme name -> Rust path of a `support::CredentialExtractor`.
    /// An `apiKey` header scheme without an entry uses
    /// `support::token_credentials` (the value as a token).
    pub credential_extractors: BTreeMap<String, String>,
    /// Module holding the model types, e.g. `crate::types`.
    pub types_module: String,
    /// Module holding the hand-written runtime, e.g. `crate::server::support`.
    pub support_module: String,
    /// Derives on every generated struct and enum.
    pub derives: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

/// A query rules hook and the query type it returns (see
/// [`ServerOptions::query_rules`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRules {
    /// Rust path of `fn(&support::Params) -> Result<QueryType, support::Rejection>`.
    pub hook: String,
    /// Rust path of the type it returns; `{Op}Query` becomes an alias of it.
    pub query_type: String,
}

impl Default for ServerOptions {
    /// No replacements, hooks or extractors; model types in `crate::types`,
    /// runtime in `crate::server::support`.
    fn default() -> Self {
        Self {
            replacements: BTreeMap::new(),
            response_header_types: Vec::new(),
            query_rules: BTreeMap::new(),
            router_headers: Vec::new(),
            credential_extractors: BTreeMap::new(),
            types_module: "crate::types".to_owned(),
            support_module: "crate::server::support".to_owned(),
            derives: ["Debug", "Clone", "PartialEq"].map(str::to_owned).to_vec(),
            body_limit: 1 << 20,
        }
    }
}

impl ServerOptions {
    /// This project's configuration (swr-api's `build.rs`, the xtask and the
    /// snapshot test use it): the client's schema replacements,
    /// `Content-Range` as `crate::ContentRange`, AK/SK signatures for the
    /// `aksk` scheme, the `filter` merge hook of `list_repository_tags`
    /// (whose query is then one [`ListQuery`]-shaped value), and
    /// `X-Request-Id` set by the router.
    ///
    /// [`ListQuery`]: https://docs.rs/swr-api/latest/swr_api/server/struct.ListQuery.html
    pub fn swr_api() -> Self {
        let support = "crate::server::support";
        Self {
            replacements: ClientOptions::default()
                .replacements
                .into_iter()
                .map(|r| (r.schema, r.rust_type))
                .collect(),
            response_header_types: vec![(
                "Content-Range".to_owned(),
                "crate::ContentRange".to_owned(),
            )],
            query_rules: BTreeMap::from([(
                "list_repository_tags".to_owned(),
                QueryRules {
                    hook: "crate::server::rules::list_repository_tags".to_owned(),
                    query_type: "crate::server::ListQuery".to_owned(),
                },
            )]),
            router_headers: vec!["X-Request-Id".to_owned()],
            credential_extractors: BTreeMap::from([(
                "aksk".to_owned(),
                format!("{support}::signed_credentials"),
            )]),
            support_module: support.to_owned(),
            ..Self::default()
        }
    }
}

/// Why the server could not be generated. Every variant says where in the
/// spec (or the options) the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The spec uses something the server generator does not support.
    #[error("{at}: not supported by the server generator: {what}")]
    Unsupported {
        /// Where.
        at: String,
        /// What.
        what: String,
    },
    /// The spec or the options are inconsistent.
    #[error("{at}: {what}")]
    Invalid {
        /// Where.
        at: String,
        /// What.
        what: String,
    },
    /// The generated tokens do not parse (a generator bug).
    #[error("generated server code does not parse: {0}")]
    Syntax(#[from] syn::Error),
}

/// Generates the server module's contents (to be `include!`d inside
/// `pub mod server { … }`), formatted, starting with a `@generated` comment.
pub fn generate_server(spec: &Spec, options: &ServerOptions) -> Result<String, ServerError> {
    let model = model::build(&spec.openapi, options)?;
    let tokens = emit::file(&model, options)?;
    let file: syn::File = syn::parse2(tokens)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// @generated by swr-codegen (server) from openapi.yaml. Do not edit."
    );
    out.push_str(&prettyplease::unparse(&file));
    Ok(out)
}
