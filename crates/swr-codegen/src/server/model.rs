//! Spec -> a small intermediate model of what the server generator emits.
//!
//! Everything the emitter needs is resolved here (references, names, Rust
//! types, checks, error codes), and every construct the generator does not
//! support is an error naming where it is, so a spec change can never produce
//! a router that silently skips a rule.

use std::collections::BTreeSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use openapiv3::{
    APIKeyLocation, Header, IntegerFormat, OpenAPI, Operation, Parameter, ParameterData,
    ParameterSchemaOrContent, PathItem, ReferenceOr, RequestBody, Response, Schema, SchemaKind,
    SecurityScheme, StatusCode, Type, VariantOrUnknownOrEmpty,
};

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

impl Cx<'_> {
    fn operation(
        &self,
        path: &str,
        item: &PathItem,
        method: &str,
        op: &Operation,
    ) -> Result<Op, ServerError> {
        let at = format!("paths.{path}.{method}");
        let id = op
            .operation_id
            .clone()
            .ok_or_else(|| invalid(at.clone(), "every operation needs an operationId".into()))?;
        let method_name = rust_ident(&id.to_snake_case());
        let type_prefix = id.to_upper_camel_case();
        if type_prefix.is_empty() || type_prefix.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid(
                at,
                format!("operationId {id:?} is not usable as a Rust name"),
            ));
        }

        // Path-level parameters, overridden by operation-level ones.
        let mut params: Vec<(Location, ParameterData)> = Vec::new();
        for p in item.parameters.iter().chain(&op.parameters) {
            let (loc, data) = self.parameter(&at, p)?;
            params.retain(|(l, d)| !(*l == loc && d.name == data.name));
            params.push((loc, data));
        }
        let mut path_params = Vec::new();
        let mut query_params = Vec::new();
        let mut header_params = Vec::new();
        for (loc, data) in &params {
            let built = self.param(&at, &type_prefix, *loc, data)?;
            match loc {
                Location::Path => path_params.push(built),
                Location::Query => query_params.push(built),
                Location::Header => header_params.push(built),
            }
        }
        check_path_template(&at, path, &path_params)?;
        for group in [&path_params, &query_params, &header_params] {
            unique_fields(&at, group.iter().map(|p| p.field.as_str()))?;
        }

        let body = match &op.request_body {
            None => None,
            Some(b) => Some(self.request_body(&at, b)?),
        };
        let mut responses = Vec::new();
        for (status, resp) in &op.responses.responses {
            let status = match status {
                StatusCode::Code(c) if (100..=599).contains(c) => StatusModel::Code(*c),
                StatusCode::Range(r) if (1..=5).contains(r) => StatusModel::Range(*r),
                other => {
                    return Err(invalid(
                        at.clone(),
                        format!("response status {other} is not an HTTP status"),
                    ));
                }
            };
            responses.push(self.response(&at, status, resp)?);
        }
        if let Some(resp) = &op.responses.default {
            responses.push(self.response(&at, StatusModel::Default, resp)?);
        }
        if responses.is_empty() {
            return Err(invalid(
                at,
                "an operation needs at least one response".into(),
            ));
        }
        let security = self.security(&at, op)?;
        Ok(Op {
            rules: self.options.query_rules.get(&id).cloned(),
            id,
            method_name,
            type_prefix,
            http_method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: op.summary.clone(),
            description: op.description.clone(),
            deprecated: op.deprecated,
            path_params,
            query_params,
            header_params,
            body,
            responses,
            security,
        })
    }

    fn parameter(
        &self,
        at: &str,
        p: &ReferenceOr<Parameter>,
    ) -> Result<(Location, ParameterData), ServerError> {
        let p = match p {
            ReferenceOr::Item(p) => p,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/parameters/")
                    .ok_or_else(|| unsupported(at.into(), format!("parameter $ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.parameters.get(name))
                {
                    Some(ReferenceOr::Item(p)) => p,
                    _ => {
                        return Err(invalid(
                            at.into(),
                            format!("parameter $ref {reference} does not resolve"),
                        ));
                    }
                }
            }
        };
        Ok(match p {
            Parameter::Path { parameter_data, .. } => (Location::Path, parameter_data.clone()),
            Parameter::Query { parameter_data, .. } => (Location::Query, parameter_data.clone()),
            Parameter::Header { parameter_data, .. } => (Location::Header, parameter_data.clone()),
            Parameter::Cookie { parameter_data, .. } => {
                return Err(unsupported(
                    format!("{at}.parameters.{}", parameter_data.name),
                    "cookie parameters".into(),
                ));
            }
        })
    }

    fn param(
        &self,
        at: &str,
        type_prefix: &str,
        loc: Location,
        data: &ParameterData,
    ) -> Result<Param, ServerError> {
        let at = format!("{at}.parameters.{}({})", data.name, loc.as_str());
        let schema = match &data.format {
            ParameterSchemaOrContent::Schema(s) => s,
            ParameterSchemaOrContent::Content(_) => {
                return Err(unsupported(at, "`content` instead of `schema`".into()));
            }
        };
        let is_content_type =
            loc == Location::Header && data.name.eq_ignore_ascii_case("content-type");
        let (value, default) = self.param_value(&at, schema, is_content_type)?;
        let code = match data.extensions.get("x-error-code") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| invalid(at.clone(), "x-error-code must be a string".into()))?
                    .to_owned(),
            ),
        };
        let field = rust_ident(&data.name.to_snake_case());
        if field.is_empty() {
            return Err(invalid(at, "the name gives no Rust field name".into()));
        }
        let pattern_static = match &value {
            Value::Str {
                pattern: Some(_), ..
            } => Some(format!(
                "{}_{}_{}_PATTERN",
                type_prefix.to_shouty_snake_case(),
                loc.as_str().to_shouty_snake_case(),
                data.name.to_shouty_snake_case()
            )),
            _ => None,
        };
        let default = default.filter(|_| value.is_primitive());
        Ok(Param {
            name: data.name.clone(),
            field,
            doc: data.description.clone(),
            required: (data.required || loc == Location::Path) && !is_content_type,
            default,
            value,
            code,
            pattern_static,
        })
    }

    fn param_value(
        &self,
        at: &str,
        schema: &ReferenceOr<Schema>,
        media_type: bool,
    ) -> Result<(Value, Option<DefaultValue>), ServerError> {
        let (schema, model) = match schema {
            ReferenceOr::Item(s) => (s, None),
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if let Some(rust) = self.options.replacements.get(name) {
                    return Ok((Value::Replaced { rust: rust.clone() }, None));
                }
                // Only string models are parsed into the model type (typify
                // gives them `FromStr`); other models are read as their
                // primitive after the same checks.
                (self.schema(at, reference)?, Some(self.model_type(name)))
            }
        };
        let default = schema.schema_data.default.as_ref();
        Ok(match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) => {
                if let Some(p) = &s.pattern {
                    regex::Regex::new(p).map_err(|e| {
                        invalid(at.into(), format!("pattern is not a valid Rust regex: {e}"))
                    })?;
                }
                let enumeration: Vec<String> = s.enumeration.iter().flatten().cloned().collect();
                (
                    Value::Str {
                        min: s.min_length,
                        max: s.max_length,
                        pattern: s.pattern.clone(),
                        enumeration,
                        media_type,
                        model,
                    },
                    default
                        .and_then(|d| d.as_str())
                        .map(|d| DefaultValue::Str(d.to_owned())),
                )
            }
            SchemaKind::Type(Type::Integer(i)) => {
                let wide = !matches!(
                    i.format,
                    VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32)
                );
                let mut min = i.minimum.map(i128::from);
                let mut max = i.maximum.map(i128::from);
                if i.exclusive_minimum {
                    min = min.map(|m| m + 1);
                }
                if i.exclusive_maximum {
                    max = max.map(|m| m - 1);
                }
                let unsigned = min.is_some_and(|m| m >= 0);
                let (rust, lo, hi): (&'static str, i128, i128) = match (wide, unsigned) {
                    (true, true) => ("u64", 0, u64::MAX.into()),
                    (true, false) => ("i64", i64::MIN.into(), i64::MAX.into()),
                    (false, true) => ("u32", 0, u32::MAX.into()),
                    (false, false) => ("i32", i32::MIN.into(), i32::MAX.into()),
                };
                let min = min.map_or(lo, |m| m.max(lo));
                let max = max.map_or(hi, |m| m.min(hi));
                if min > max {
                    return Err(invalid(
                        at.into(),
                        format!("empty integer range {min}..={max}"),
                    ));
                }
                let default = default
                    .and_then(serde_json::Value::as_i64)
                    .map(i128::from)
                    .filter(|d| (min..=max).contains(d))
                    .map(DefaultValue::Int);
                (
                    Value::Int {
                        rust,
                        min,
                        max,
                        enumeration: i.enumeration.iter().flatten().copied().collect(),
                    },
                    default,
                )
            }
            SchemaKind::Type(Type::Number(n)) => {
                if n.exclusive_minimum || n.exclusive_maximum {
                    return Err(unsupported(
                        at.into(),
                        "exclusiveMinimum/Maximum on a number".into(),
                    ));
                }
                (
                    Value::Number {
                        min: n.minimum,
                        max: n.maximum,
                    },
                    default
                        .and_then(serde_json::Value::as_f64)
                        .map(DefaultValue::Number),
                )
            }
            SchemaKind::Type(Type::Boolean(_)) => (
                Value::Bool,
                default
                    .and_then(serde_json::Value::as_bool)
                    .map(DefaultValue::Bool),
            ),
            _ => {
                return Err(unsupported(
                    at.into(),
                    "a parameter schema other than string, integer, number or boolean \
                     (replace the schema with a Rust type that has FromStr)"
                        .into(),
                ));
            }
        })
    }

    fn schema(&self, at: &str, reference: &str) -> Result<&Schema, ServerError> {
        let mut reference = reference.to_owned();
        for _ in 0..16 {
            let name = schema_name(at, &reference)?;
            match self
                .spec
                .components
                .as_ref()
                .and_then(|c| c.schemas.get(name))
            {
                Some(ReferenceOr::Item(s)) => return Ok(s),
                Some(ReferenceOr::Reference { reference: next }) => reference.clone_from(next),
                None => {
                    return Err(invalid(
                        at.into(),
                        format!("$ref {reference} does not resolve"),
                    ));
                }
            }
        }
        Err(invalid(at.into(), format!("$ref {reference} is a cycle")))
    }

    fn model_type(&self, schema: &str) -> String {
        format!(
            "{}::{}",
            self.options.types_module,
            schema.to_upper_camel_case()
        )
    }

    /// For a response body that is a JSON array (inline or by `$ref`), the Rust
    /// type of its items. Such bodies can be long (a whole repository), so
    /// they are typed to allow streaming.
    fn array_items(
        &self,
        at: &str,
        schema: &ReferenceOr<Schema>,
    ) -> Result<Option<String>, ServerError> {
        let schema = match schema {
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if self.options.replacements.contains_key(name) {
                    return Ok(None);
                }
                self.schema(at, reference)?
            }
            ReferenceOr::Item(s) => s,
        };
        match &schema.schema_kind {
            SchemaKind::Type(Type::Array(a)) => Ok(Some(match &a.items {
                Some(ReferenceOr::Item(s)) => {
                    self.data_type(at, &ReferenceOr::Item((**s).clone()))?
                }
                Some(ReferenceOr::Reference { reference }) => self.data_type(
                    at,
                    &ReferenceOr::Reference {
                        reference: reference.clone(),
                    },
                )?,
                None => "::serde_json::Value".into(),
            })),
            _ => Ok(None),
        }
    }

    /// Rust type of a JSON body or response header schema.
    fn data_type(&self, at: &str, schema: &ReferenceOr<Schema>) -> Result<String, ServerError> {
        let schema = match schema {
            ReferenceOr::Reference { reference } => {
                let name = schema_name(at, reference)?;
                if let Some(rust) = self.options.replacements.get(name) {
                    return Ok(rust.clone());
                }
                self.schema(at, reference)?;
                return Ok(self.model_type(name));
            }
            ReferenceOr::Item(s) => s,
        };
        Ok(match &schema.schema_kind {
            SchemaKind::Type(Type::String(_)) => "::std::string::String".into(),
            SchemaKind::Type(Type::Integer(i)) => {
                if matches!(
                    i.format,
                    VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32)
                ) {
                    "i32".into()
                } else {
                    "i64".into()
                }
            }
            SchemaKind::Type(Type::Number(_)) => "f64".into(),
            SchemaKind::Type(Type::Boolean(_)) => "bool".into(),
            SchemaKind::Type(Type::Array(a)) => {
                let items = match &a.items {
                    Some(ReferenceOr::Item(s)) => {
                        self.data_type(at, &ReferenceOr::Item((**s).clone()))?
                    }
                    Some(ReferenceOr::Reference { reference }) => self.data_type(
                        at,
                        &ReferenceOr::Reference {
                            reference: reference.clone(),
                        },
                    )?,
                    None => "::serde_json::Value".into(),
                };
                format!("::std::vec::Vec<{items}>")
            }
            _ => "::serde_json::Value".into(),
        })
    }

    fn request_body(
        &self,
        at: &str,
        body: &ReferenceOr<RequestBody>,
    ) -> Result<RequestBodyModel, ServerError> {
        let at = format!("{at}.requestBody");
        let body = match body {
            ReferenceOr::Item(b) => b,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/requestBodies/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.request_bodies.get(name))
                {
                    Some(ReferenceOr::Item(b)) => b,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let schema = json_schema(&at, &body.content)?.ok_or_else(|| {
            unsupported(at.clone(), "a request body without a JSON schema".into())
        })?;
        Ok(RequestBodyModel {
            rust: self.data_type(&at, schema)?,
            required: body.required,
            doc: body.description.clone(),
        })
    }

    fn response(
        &self,
        at: &str,
        status: StatusModel,
        resp: &ReferenceOr<Response>,
    ) -> Result<ResponseModel, ServerError> {
        let (variant, label) = match status {
            StatusModel::Code(c) => {
                let reason = ::http::StatusCode::from_u16(c)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .map(|r| r.to_upper_camel_case())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| format!("Status{c}"));
                (reason, c.to_string())
            }
            StatusModel::Range(r) => (format!("Status{r}xx"), format!("{r}XX")),
            StatusModel::Default => ("Default".to_owned(), "default".to_owned()),
        };
        let at = format!("{at}.responses.{label}");
        let resp = match resp {
            ReferenceOr::Item(r) => r,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.responses.get(name))
                {
                    Some(ReferenceOr::Item(r)) => r,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let (body, body_is_array) = match json_schema(&at, &resp.content)? {
            Some(schema) => match self.array_items(&at, schema)? {
                Some(items) => (
                    Some(format!(
                        "{}::JsonArray<{items}>",
                        self.options.support_module
                    )),
                    true,
                ),
                None => (Some(self.data_type(&at, schema)?), false),
            },
            None => (None, false),
        };
        let mut headers = Vec::new();
        for (name, header) in &resp.headers {
            let set_by_router = self
                .options
                .router_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name));
            if !set_by_router {
                headers.push(self.response_header(&at, name, header)?);
            }
        }
        let reserved: &[&str] = match status {
            StatusModel::Code(_) => &["body"],
            _ => &["body", "status"],
        };
        unique_fields(
            &at,
            headers
                .iter()
                .map(|h| h.field.as_str())
                .chain(reserved.iter().copied()),
        )?;
        Ok(ResponseModel {
            doc: format!("`{label}`: {}", resp.description.trim()),
            status,
            variant,
            body,
            body_is_array,
            headers,
        })
    }

    fn response_header(
        &self,
        at: &str,
        name: &str,
        header: &ReferenceOr<Header>,
    ) -> Result<ResponseHeader, ServerError> {
        let at = format!("{at}.headers.{name}");
        let header = match header {
            ReferenceOr::Item(h) => h,
            ReferenceOr::Reference { reference } => {
                let key = reference
                    .strip_prefix("#/components/headers/")
                    .ok_or_else(|| unsupported(at.clone(), format!("$ref {reference}")))?;
                match self
                    .spec
                    .components
                    .as_ref()
                    .and_then(|c| c.headers.get(key))
                {
                    Some(ReferenceOr::Item(h)) => h,
                    _ => return Err(invalid(at, format!("$ref {reference} does not resolve"))),
                }
            }
        };
        let replaced = self
            .options
            .response_header_types
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, rust)| rust.clone());
        let rust = match (replaced, &header.format) {
            (Some(rust), _) => rust,
            (None, ParameterSchemaOrContent::Schema(s)) => self.data_type(&at, s)?,
            (None, ParameterSchemaOrContent::Content(_)) => {
                return Err(unsupported(at, "`content` instead of `schema`".into()));
            }
        };
        Ok(ResponseHeader {
            name: name.to_owned(),
            field: rust_ident(&name.to_snake_case()),
            rust,
            required: header.required,
            doc: header.description.clone(),
        })
    }

    fn security(&self, at: &str, op: &Operation) -> Result<Security, ServerError> {
        let Some(reqs) = op.security.as_ref().or(self.spec.security.as_ref()) else {
            return Ok(Security::None);
        };
        if reqs.is_empty() {
            return Ok(Security::None);
        }
        let mut schemes = Vec::new();
        let mut required = true;
        for req in reqs {
            let mut names = req.keys();
            let (Some(name), None) = (names.next(), names.next()) else {
                if req.is_empty() {
                    required = false;
                    continue;
                }
                return Err(unsupported(
                    format!("{at}.security"),
                    "an alternative that needs several schemes at once".into(),
                ));
            };
            let scheme_at = format!("components.securitySchemes.{name}");
            let scheme = match self
                .spec
                .components
                .as_ref()
                .and_then(|c| c.security_schemes.get(name))
            {
                Some(ReferenceOr::Item(s)) => s,
                _ => return Err(invalid(scheme_at, "not defined".into())),
            };
            let configured = self.options.credential_extractors.get(name).cloned();
            let (header, extractor) = match (scheme, configured) {
                (
                    SecurityScheme::APIKey {
                        location: APIKeyLocation::Header,
                        name: header,
                        ..
                    },
                    configured,
                ) => (
                    header.clone(),
                    configured.unwrap_or_else(|| {
                        format!("{}::token_credentials", self.options.support_module)
                    }),
                ),
                (SecurityScheme::HTTP { .. }, Some(configured)) => {
                    ("Authorization".to_owned(), configured)
                }
                _ => {
                    return Err(unsupported(
                        scheme_at,
                        "a security scheme other than an apiKey header \
                         (configure an extractor in ServerOptions::credential_extractors \
                         for http schemes)"
                            .into(),
                    ));
                }
            };
            schemes.push(Scheme { header, extractor });
        }
        Ok(Security::Schemes { schemes, required })
    }
}

/// The schema of the `application/json` entry of a `content` map; `None`
/// when there is no content.
fn json_schema<'a>(
    at: &str,
    content: impl IntoIterator<Item = (&'a String, &'a openapiv3::MediaType)>,
) -> Result<Option<&'a ReferenceOr<Schema>>, ServerError> {
    let content: Vec<_> = content.into_iter().collect();
    if content.is_empty() {
        return Ok(None);
    }
    let media = content
        .iter()
        .find(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "application/json" || k.starts_with("application/json;")
        })
        .map(|(_, m)| m)
        .ok_or_else(|| {
            unsupported(
                at.into(),
                format!(
                    "content other than application/json ({})",
                    content
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    Ok(media.schema.as_ref())
}

fn schema_name<'a>(at: &str, reference: &'a str) -> Result<&'a str, ServerError> {
    reference
        .strip_prefix("#/components/schemas/")
        .ok_or_else(|| unsupported(at.into(), format!("schema $ref {reference}")))
}

fn check_path_template(at: &str, path: &str, params: &[Param]) -> Result<(), ServerError> {
    let mut in_template = BTreeSet::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| invalid(at.into(), "unclosed { in the path".into()))?;
        in_template.insert(&rest[start + 1..start + end]);
        rest = &rest[start + end + 1..];
    }
    let declared: BTreeSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
    if in_template != declared {
        return Err(invalid(
            at.into(),
            format!(
                "path template parameters {in_template:?} differ from the declared path parameters {declared:?}"
            ),
        ));
    }
    Ok(())
}

fn unique_fields<'a>(at: &str, fields: impl Iterator<Item = &'a str>) -> Result<(), ServerError> {
    let mut seen = BTreeSet::new();
    for f in fields {
        if !seen.insert(f) {
            return Err(invalid(
                at.into(),
                format!("two names map to the Rust field `{f}`"),
            ));
        }
    }
    Ok(())
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
