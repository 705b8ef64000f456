//! `cargo xtask check`: every way the spec and the code can drift apart, each
//! reported as a named problem kind with how to fix it.
//!
//! The same function runs from `xtask/tests/it/check.rs`, so drift fails `cargo test`
//! as well as this command (the omicron / dropshot-api-manager pattern).

use std::{collections::BTreeSet, fmt, path::Path};

use anyhow::Result;
use serde_json::Value;
use swr_filter::{FilterError, Key, OrderColumn, OrderType, Source};

use crate::{codegen, lint};

/// What kind of drift a [`Problem`] is; each kind has one fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The committed generated code is not what the generator makes now.
    SnapshotStale,
    /// The spec breaks a rule of its own (version, ids, descriptions).
    SpecLint,
    /// An example in the spec does not validate against its schema.
    ExampleInvalid,
    /// Hand-written Rust that mirrors the spec disagrees with it.
    MirrorMismatch,
    /// An operation has no client method or no server route.
    RouteMissing,
    /// The spec and the document derived from the code (utoipa) disagree.
    SchemaDrift,
    /// A change breaks clients of the released spec without a major version.
    BreakingChange,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::SnapshotStale => "snapshot-stale",
            Kind::SpecLint => "spec-lint",
            Kind::ExampleInvalid => "example-invalid",
            Kind::MirrorMismatch => "mirror-mismatch",
            Kind::RouteMissing => "route-missing",
            Kind::SchemaDrift => "schema-drift",
            Kind::BreakingChange => "breaking-change",
        }
    }

    pub fn fix(self) -> &'static str {
        match self {
            Kind::SnapshotStale => {
                "run `cargo xtask codegen` and commit the snapshots with the spec change"
            }
            Kind::SpecLint => "edit openapi.yaml so it follows the rule",
            Kind::ExampleInvalid => {
                "make the example satisfy its schema (never loosen the schema to fit)"
            }
            Kind::MirrorMismatch => {
                "change the spec or the hand-written Rust named above so they say the same"
            }
            Kind::RouteMissing => {
                "rebuild (`cargo build`) and regenerate (`cargo xtask codegen`); if it persists, the generator skipped the operation"
            }
            Kind::SchemaDrift => {
                "make the spec and the generated model agree, or add the difference with a reason to ALLOWED_SCHEMA_DRIFT in xtask/src/schema_drift.rs"
            }
            Kind::BreakingChange => {
                "revert the change, or make it a new major version: bump info.version's major and swr-api's version (0.x: the minor), then run `cargo xtask release`"
            }
        }
    }
}

/// One drift found by [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: Kind,
    /// Where: a file, a spec location, or a Rust item.
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[{}] {}: {}", self.kind.name(), self.at, self.message)?;
        write!(f, "  fix: {}", self.kind.fix())
    }
}

fn problem(kind: Kind, at: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        kind,
        at: at.into(),
        message: message.into(),
    }
}

/// Runs every check of the spec at `spec_path` against the code and snapshots
/// under the workspace `root`. An empty list means no drift.
pub fn run(root: &Path, spec_path: &Path) -> Result<Vec<Problem>> {
    let yaml = std::fs::read_to_string(spec_path)?;
    let spec: Value = match yaml_serde::from_str(&yaml) {
        Ok(v) => v,
        Err(e) => {
            return Ok(vec![problem(
                Kind::SpecLint,
                spec_path.display().to_string(),
                format!("not YAML: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    for f in lint::lint(&spec) {
        let kind = if f.example {
            Kind::ExampleInvalid
        } else {
            Kind::SpecLint
        };
        problems.push(problem(kind, f.at, f.message));
    }
    // Generated once: the snapshot comparison and the route check both read it.
    let generated = codegen::generate(&yaml);
    let routes = match &generated {
        Ok(snapshots) => routes(&spec, snapshots),
        Err(_) => Vec::new(),
    };
    match generated.map(|g| codegen::stale_of(root, g)) {
        Ok(stale) => {
            for (path, diff) in stale {
                problems.push(problem(
                    Kind::SnapshotStale,
                    path.display().to_string(),
                    format!("differs from the generator's output:\n{diff}"),
                ));
            }
        }
        Err(e) => problems.push(problem(
            Kind::SpecLint,
            spec_path.display().to_string(),
            format!("the generator rejects the spec: {e:#}"),
        )),
    }
    problems.extend(mirrors(&spec));
    problems.extend(routes);
    problems.extend(crate::schema_drift::check(&spec));
    for (at, message) in crate::compat::unreleased_breaks(root, &spec)? {
        problems.push(problem(Kind::BreakingChange, at, message));
    }
    problems.sort_by(|a, b| (a.kind, &a.at).cmp(&(b.kind, &b.at)));
    Ok(problems)
}

/// Finds the schema of the query parameter `name` of any operation.
fn param<'a>(spec: &'a Value, name: &str) -> Option<&'a Value> {
    spec["paths"]
        .as_object()?
        .values()
        .flat_map(|item| item.as_object().into_iter().flatten())
        .find_map(|(_, op)| {
            op["parameters"]
                .as_array()?
                .iter()
                .find(|p| p["name"] == name)
        })
}

fn resolved_schema<'a>(spec: &'a Value, p: &'a Value) -> &'a Value {
    let schema = &p["schema"];
    match schema["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

/// Hand-written Rust that restates something of the spec: `swr-filter`'s
/// grammar, bounds and enums, the `ContentRange` header type, and the SWR error
/// codes the code can answer with.
fn mirrors(spec: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut same = |at: &str, what: &str, in_spec: Value, in_code: Value| {
        if in_spec != in_code {
            out.push(problem(
                Kind::MirrorMismatch,
                at,
                format!("{what}: the spec says {in_spec}, the code says {in_code}"),
            ));
        }
    };
    let schemas = &spec["components"]["schemas"];
    same(
        "swr_filter::PATTERN",
        "TagFilter pattern",
        schemas["TagFilter"]["pattern"].clone(),
        swr_filter::PATTERN.into(),
    );
    let filter_schema =
        serde_json::to_value(schemars::schema_for!(swr_filter::TagFilter)).unwrap_or_default();
    same(
        "<swr_filter::TagFilter as JsonSchema>",
        "TagFilter JSON schema pattern",
        schemas["TagFilter"]["pattern"].clone(),
        filter_schema["pattern"].clone(),
    );
    same(
        "swr_filter::OrderColumn::ALL",
        "OrderColumn values",
        schemas["OrderColumn"]["enum"].clone(),
        OrderColumn::ALL.map(|c| c.as_str()).to_vec().into(),
    );
    same(
        "swr_filter::OrderType::ALL",
        "OrderType values",
        schemas["OrderType"]["enum"].clone(),
        OrderType::ALL.map(|c| c.as_str()).to_vec().into(),
    );
    let tag = param(spec, "tag")
        .map(|p| resolved_schema(spec, p))
        .cloned()
        .unwrap_or_default();
    same(
        "swr_filter::TAG_PATTERN",
        "tag parameter pattern",
        tag["pattern"].clone(),
        swr_filter::TAG_PATTERN.into(),
    );
    let limit = param(spec, "limit")
        .map(|p| resolved_schema(spec, p))
        .cloned()
        .unwrap_or_default();
    same(
        "swr_filter::MAX_LIMIT",
        "limit maximum",
        limit["maximum"].clone(),
        swr_filter::MAX_LIMIT.into(),
    );
    same(
        "swr_filter::Page",
        "limit minimum",
        limit["minimum"].clone(),
        1.into(),
    );
    let offset = param(spec, "offset")
        .map(|p| resolved_schema(spec, p))
        .cloned()
        .unwrap_or_default();
    same(
        "swr_filter::MAX_OFFSET",
        "offset maximum",
        offset["maximum"].clone(),
        swr_filter::MAX_OFFSET.into(),
    );

    // Content-Range: the spec's pattern and example against the header type.
    let range = &spec["components"]["headers"]["Content-Range"];
    same(
        "swr_api::ContentRange::PATTERN",
        "Content-Range pattern",
        range["schema"]["pattern"].clone(),
        swr_api::ContentRange::PATTERN.into(),
    );
    if let Some(example) = range["example"].as_str() {
        match example.parse::<swr_api::ContentRange>() {
            Ok(r) if r.to_string() == example => {}
            Ok(r) => out.push(problem(
                Kind::MirrorMismatch,
                "swr_api::ContentRange",
                format!("example {example:?} re-formats as {r}"),
            )),
            Err(e) => out.push(problem(
                Kind::MirrorMismatch,
                "swr_api::ContentRange",
                format!("the spec's example does not parse: {e}"),
            )),
        }
    }
    out.extend(error_codes(spec));
    out
}

/// Every SWR error code the code can produce must be documented for its status
/// (`x-swr-error-codes` of the response), and every parameter's `x-error-code`
/// too.
fn error_codes(spec: &Value) -> Vec<Problem> {
    let documented = |status: &str| -> BTreeSet<String> {
        spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(_, item)| item.as_object().into_iter().flatten())
            .flat_map(|(_, op)| {
                op["responses"][status]["x-swr-error-codes"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    };
    let bad_request = documented("400");
    let mut out = Vec::new();
    for e in filter_error_samples() {
        if !bad_request.contains(e.code()) {
            out.push(problem(Kind::MirrorMismatch, format!("swr_filter::FilterError ({e})"), format!("answers 400 with {}, which the spec's 400 response does not list in x-swr-error-codes", e.code())));
        }
    }
    for (name, p) in spec["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, item)| item.as_object().into_iter().flatten())
        .flat_map(|(_, op)| op["parameters"].as_array().into_iter().flatten())
        .filter_map(|p| Some((p["name"].as_str()?, p)))
    {
        if let Some(code) = p["x-error-code"].as_str()
            && !bad_request.contains(code)
        {
            out.push(problem(
                Kind::MirrorMismatch,
                format!("parameter {name}"),
                format!("x-error-code {code} is not listed for the 400 response"),
            ));
        }
    }
    // What the named constructors implementers and swrd call answer with.
    use swr_api::server::Rejection;
    for (at, rejection) in [
        (
            "Rejection::not_found_namespace",
            Rejection::not_found_namespace("ns"),
        ),
        (
            "Rejection::not_found_repository",
            Rejection::not_found_repository("ns", "repo"),
        ),
        (
            "Rejection::invalid_parameter",
            Rejection::invalid_parameter("limit", "bad"),
        ),
        (
            "Rejection::unauthenticated",
            Rejection::unauthenticated("why"),
        ),
        ("Rejection::bad_signature", Rejection::bad_signature()),
        ("Rejection::internal", Rejection::internal()),
    ] {
        let status = rejection.status.as_str().to_owned();
        if !documented(&status).contains(rejection.code) {
            out.push(problem(
                Kind::MirrorMismatch,
                format!("swr_api::server::{at}"),
                format!(
                    "answers {status} with {}, which the spec's {status} response does not list \
                     in x-swr-error-codes",
                    rejection.code
                ),
            ));
        }
    }
    for (class, status) in [
        ("bad_request", "400"),
        ("unauthorized", "401"),
        ("not_found", "404"),
        ("not_found_namespace", "404"),
        ("not_found_repository", "404"),
        ("internal", "500"),
    ] {
        match spec["x-error-codes"][class].as_str() {
            Some(code) if documented(status).contains(code) => {}
            Some(code) => out.push(problem(
                Kind::MirrorMismatch,
                format!("x-error-codes.{class}"),
                format!("{code} is not listed for the {status} response"),
            )),
            None => out.push(problem(
                Kind::MirrorMismatch,
                "x-error-codes",
                format!("no code for {class}: the router needs one"),
            )),
        }
    }
    out
}

/// One value of every [`FilterError`] variant. The `match` makes a new variant a
/// compile error here, so the check cannot silently miss its code.
fn filter_error_samples() -> Vec<FilterError> {
    let samples = vec![
        FilterError::Malformed { part: "x".into() },
        FilterError::UnknownKey { key: "x".into() },
        FilterError::DuplicateKey { key: Key::Limit },
        FilterError::EmptyValue {
            key: Key::Tag,
            source: Source::Param,
        },
        FilterError::InvalidInteger {
            key: Key::Limit,
            value: "x".into(),
            source: Source::Param,
        },
        FilterError::InvalidInteger {
            key: Key::Offset,
            value: "x".into(),
            source: Source::Param,
        },
        FilterError::LimitOutOfRange {
            value: 0,
            source: Source::Param,
        },
        FilterError::InvalidOrderColumn {
            value: "x".into(),
            source: Source::Param,
        },
        FilterError::InvalidOrderType {
            value: "x".into(),
            source: Source::Param,
        },
        FilterError::InvalidTag {
            value: " ".into(),
            source: Source::Param,
        },
        FilterError::MissingPair {
            present: Key::Limit,
            missing: Key::Offset,
        },
        FilterError::Conflict {
            key: Key::Tag,
            filter_value: "a".into(),
            param_value: "b".into(),
        },
    ];
    for s in &samples {
        match s {
            FilterError::Malformed { .. }
            | FilterError::UnknownKey { .. }
            | FilterError::DuplicateKey { .. }
            | FilterError::EmptyValue { .. }
            | FilterError::InvalidInteger { .. }
            | FilterError::LimitOutOfRange { .. }
            | FilterError::InvalidOrderColumn { .. }
            | FilterError::InvalidOrderType { .. }
            | FilterError::InvalidTag { .. }
            | FilterError::MissingPair { .. }
            | FilterError::Conflict { .. } => {}
        }
    }
    samples
}

/// Every operation has a client method and a server route in the code the
/// generator makes from this spec.
fn routes(spec: &Value, snapshots: &[codegen::Snapshot]) -> Vec<Problem> {
    let text = |name: &str| {
        snapshots
            .iter()
            .find(|s| s.path.ends_with(name))
            .map(|s| s.contents.clone())
            .unwrap_or_default()
    };
    let (client, server) = (text("client.rs"), text("server.rs"));
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            if !client.contains(&format!("pub fn {id}(")) {
                out.push(problem(
                    Kind::RouteMissing,
                    format!("{} {path}", method.to_uppercase()),
                    format!("the client has no method `{id}`"),
                ));
            }
            if !server.is_empty() {
                if !server.contains(&format!("fn {id}(")) {
                    out.push(problem(
                        Kind::RouteMissing,
                        format!("{} {path}", method.to_uppercase()),
                        format!("the server trait has no method `{id}`"),
                    ));
                }
                if !server.contains(&format!("\"{path}\"")) {
                    out.push(problem(
                        Kind::RouteMissing,
                        format!("{} {path}", method.to_uppercase()),
                        "the router has no route for this path",
                    ));
                }
            }
        }
    }
    out
}
