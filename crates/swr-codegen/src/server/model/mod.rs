//! Spec -> a small intermediate model of what the server generator emits.
//!
//! Everything the emitter needs is resolved here (references, names, Rust
//! types, checks, error codes), and every construct the generator does not
//! support is an error naming where it is, so a spec change can never produce
//! a router that silently skips a rule.

mod operation;
mod params;
mod responses;
mod schema;

use std::collections::BTreeSet;

use heck::ToShoutySnakeCase;
use openapiv3::{OpenAPI, ReferenceOr};

use super::{QueryRules, ServerError, ServerOptions};

/// Keys of the spec-root `x-error-codes` the router itself needs.
pub(super) const REQUIRED_CODES: [&str; 4] =
    ["bad_request", "not_found", "method_not_allowed", "internal"];

pub(super) struct Model {
    /// `x-error-codes`, sorted by key.
    pub codes: Vec<(String, String)>,
    pub ops: Vec<Op>,
    /// Some operation has `security`: the `Api` trait then has a `Principal`
    /// type and an `authenticate` method.
    pub secured: bool,
}

/// The `Api` method that verifies credentials (present when [`Model::secured`]);
/// no operation may take its name.
pub(super) const AUTHENTICATE: &str = "authenticate";

pub(super) struct Op {
    /// operationId as written.
    pub id: String,
    /// `list_repository_tags`.
    pub method_name: String,
    /// `ListRepositoryTags`.
    pub type_prefix: String,
    /// `GET`.
    pub http_method: String,
    pub path: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub deprecated: bool,
    pub path_params: Vec<Param>,
    pub query_params: Vec<Param>,
    pub header_params: Vec<Param>,
    pub body: Option<RequestBodyModel>,
    pub responses: Vec<ResponseModel>,
    pub security: Security,
    /// The query rules hook and the query type it returns.
    pub rules: Option<QueryRules>,
}

pub(super) enum Security {
    /// No `security`: no `authenticate` call, no principal field.
    None,
    /// Schemes in order; `required` unless an alternative is `{}` (then the
    /// principal is optional: absent when no scheme's header is present).
    Schemes {
        schemes: Vec<Scheme>,
        required: bool,
    },
}

pub(super) struct Scheme {
    pub header: String,
    pub extractor: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Location {
    Path,
    Query,
    Header,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

pub(super) struct Param {
    pub name: String,
    pub field: String,
    pub doc: Option<String>,
    /// Required on the wire (a `Content-Type` header never is: a request
    /// without one is accepted).
    pub required: bool,
    /// Used when the parameter is absent (only for primitive Rust types).
    pub default: Option<DefaultValue>,
    pub value: Value,
    /// SWR error code of this parameter's rejections: its `x-error-code`,
    /// or `None` for the spec-wide `bad_request` code.
    pub code: Option<String>,
    /// Name of the compiled-pattern static, when there is a pattern.
    pub pattern_static: Option<String>,
}

pub(super) enum DefaultValue {
    Str(String),
    Int(i128),
    Number(f64),
    Bool(bool),
}

/// How one raw string is checked and converted.
pub(super) enum Value {
    Str {
        min: Option<usize>,
        max: Option<usize>,
        pattern: Option<String>,
        enumeration: Vec<String>,
        /// Compare as a media type (the `Content-Type` header).
        media_type: bool,
        /// Generated model type parsed with `FromStr` after the checks;
        /// `None`: `String`.
        model: Option<String>,
    },
    Int {
        rust: &'static str,
        min: i128,
        max: i128,
        enumeration: Vec<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Bool,
    /// A replacement type: its own `FromStr` does all the checking.
    Replaced {
        rust: String,
    },
}

impl Value {
    /// The Rust type of the field (before `Option`).
    pub fn rust_type(&self) -> String {
        match self {
            Value::Str { model: Some(m), .. } => m.clone(),
            Value::Str { model: None, .. } => "::std::string::String".into(),
            Value::Int { rust, .. } => (*rust).into(),
            Value::Number { .. } => "f64".into(),
            Value::Bool => "bool".into(),
            Value::Replaced { rust } => rust.clone(),
        }
    }

    fn is_primitive(&self) -> bool {
        !matches!(
            self,
            Value::Str { model: Some(_), .. } | Value::Replaced { .. }
        )
    }
}

pub(super) struct RequestBodyModel {
    pub rust: String,
    pub required: bool,
    pub doc: Option<String>,
}

pub(super) enum StatusModel {
    Code(u16),
    /// `4XX`: the first digit.
    Range(u16),
    Default,
}

impl StatusModel {
    /// An error status (4xx, 5xx or `default`): answered through `Rejection`.
    pub fn is_error(&self) -> bool {
        match self {
            StatusModel::Code(c) => *c >= 400,
            StatusModel::Range(r) => *r >= 4,
            StatusModel::Default => true,
        }
    }

    /// The statuses it documents, inclusive.
    pub fn range(&self) -> (u16, u16) {
        match self {
            StatusModel::Code(c) => (*c, *c),
            StatusModel::Range(r) => (r * 100, r * 100 + 99),
            StatusModel::Default => (400, 599),
        }
    }
}

pub(super) struct ResponseModel {
    pub status: StatusModel,
    pub variant: String,
    pub doc: String,
    /// JSON body type, if the response has content.
    pub body: Option<String>,
    /// The body is a top-level JSON array, typed `JsonArray<Item>` so it can be
    /// streamed instead of collected.
    pub body_is_array: bool,
    pub headers: Vec<ResponseHeader>,
}

pub(super) struct ResponseHeader {
    pub name: String,
    pub field: String,
    pub rust: String,
    pub required: bool,
    pub doc: Option<String>,
}

/// Builds the model; `at` strings in errors are JSON-pointer-like locations.
pub(super) fn build(spec: &OpenAPI, options: &ServerOptions) -> Result<Model, ServerError> {
    let cx = Cx { spec, options };
    let codes = error_codes(spec)?;
    let mut ops = Vec::new();
    let mut seen_types = BTreeSet::new();
    for (path, item) in spec.paths.iter() {
        let item = match item {
            ReferenceOr::Item(item) => item,
            ReferenceOr::Reference { reference } => {
                return Err(unsupported(
                    format!("paths.{path}"),
                    format!("a path item $ref ({reference})"),
                ));
            }
        };
        for (method, op) in item.iter() {
            let built = cx.operation(path, item, method, op)?;
            if !seen_types.insert(built.type_prefix.clone()) {
                return Err(invalid(
                    format!("paths.{path}.{method}"),
                    format!(
                        "operationId {:?} gives the Rust name {} that another operation already has",
                        built.id, built.type_prefix
                    ),
                ));
            }
            ops.push(built);
        }
    }
    for op_id in cx.options.query_rules.keys() {
        if !ops.iter().any(|o| &o.id == op_id) {
            return Err(invalid(
                "ServerOptions::query_rules".into(),
                format!("no operation has the operationId {op_id:?}"),
            ));
        }
    }
    let secured = ops
        .iter()
        .any(|o| matches!(o.security, Security::Schemes { .. }));
    if secured {
        if !codes.iter().any(|(k, _)| k == "unauthorized") {
            return Err(missing_code("unauthorized"));
        }
        if let Some(op) = ops
            .iter()
            .find(|o| o.method_name.trim_start_matches("r#") == AUTHENTICATE)
        {
            return Err(invalid(
                format!("operationId {:?}", op.id),
                format!(
                    "gives the Rust method name `{AUTHENTICATE}`, which the `Api` trait \
                     already uses to verify credentials when an operation has `security`"
                ),
            ));
        }
    }
    Ok(Model {
        codes,
        ops,
        secured,
    })
}

fn error_codes(spec: &OpenAPI) -> Result<Vec<(String, String)>, ServerError> {
    let raw = spec
        .extensions
        .get("x-error-codes")
        .ok_or_else(|| missing_code("bad_request"))?;
    let map = raw
        .as_object()
        .ok_or_else(|| invalid("x-error-codes".into(), "must map names to SWR codes".into()))?;
    let mut codes = Vec::new();
    for (key, value) in map {
        let code = value
            .as_str()
            .ok_or_else(|| invalid(format!("x-error-codes.{key}"), "must be a string".into()))?;
        if key.to_shouty_snake_case().is_empty() {
            return Err(invalid(format!("x-error-codes.{key}"), "bad name".into()));
        }
        codes.push((key.clone(), code.to_owned()));
    }
    codes.sort();
    for key in REQUIRED_CODES {
        if !codes.iter().any(|(k, _)| k == key) {
            return Err(missing_code(key));
        }
    }
    Ok(codes)
}

fn missing_code(key: &str) -> ServerError {
    invalid(
        format!("x-error-codes.{key}"),
        format!(
            "missing: the router needs the spec-root `x-error-codes` to name an SWR code for \
             `{key}` (keys needed: {}, and unauthorized when an operation has `security`)",
            REQUIRED_CODES.join(", ")
        ),
    )
}

fn invalid(at: String, what: String) -> ServerError {
    ServerError::Invalid { at, what }
}

fn unsupported(at: String, what: String) -> ServerError {
    ServerError::Unsupported { at, what }
}

struct Cx<'a> {
    spec: &'a OpenAPI,
    options: &'a ServerOptions,
}

/// A snake_case name usable as a field or method: keywords become raw
/// identifiers, a leading digit gets a `_` prefix.
pub(super) fn rust_ident(snake: &str) -> String {
    let s = if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{snake}")
    } else {
        snake.to_owned()
    };
    if syn::parse_str::<syn::Ident>(&s).is_ok() || s.is_empty() {
        s
    } else if matches!(s.as_str(), "self" | "super" | "crate" | "Self" | "_") {
        format!("{s}_")
    } else {
        format!("r#{s}")
    }
}
