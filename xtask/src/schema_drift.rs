//! schema-drift: the spec against a document derived from the code.
//!
//! `build.rs` generates the model types again with `#[derive(utoipa::ToSchema)]`,
//! so utoipa describes what the Rust types actually accept and emit. utoipa writes
//! OpenAPI 3.1 and the spec is 3.0, so both sides are first lowered to one
//! version-neutral shape (`Shape`): field names, a type label, nullability,
//! required fields and enum values. 3.0 `nullable: true`, 3.1 `type: [T, "null"]`
//! and 3.1 `oneOf: [{type: null}, T]` all become `nullable`.
//!
//! Differences that are deliberate live in [`ALLOWED_SCHEMA_DRIFT`] with a reason.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::check::{Kind, Problem};

#[allow(clippy::all, dead_code, missing_docs)]
mod types {
    include!(concat!(env!("OUT_DIR"), "/derived_types.rs"));
}
/// utoipa's description of one Rust type.
type DerivedSchema = utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>;
/// One generated component: spec name, utoipa schema, schemas it refers to.
type Derived = (&'static str, DerivedSchema, Vec<(String, DerivedSchema)>);

include!(concat!(env!("OUT_DIR"), "/derived_registry.rs"));

/// Deliberate differences: (schema.field, aspect, why).
pub const ALLOWED_SCHEMA_DRIFT: &[(&str, &str, &str)] = &[
    (
        "ShowReposTagResp.deleted",
        "required",
        "required-but-nullable in the spec (servers always send it, null while the tag exists); \
         serde reads a missing Option as None, so the Rust type is more lenient with other servers",
    ),
    (
        "ShowReposTagResp.tag_type",
        "enum",
        "typify makes an integer enum a newtype whose TryFrom/Deserialize accept only 0 and 1; \
         utoipa sees the i64 inside, not the check",
    ),
    (
        "ErrorDetail.detail",
        "nullable",
        "an optional string in the spec; Rust spells optional as Option, which utoipa reports as nullable",
    ),
];

/// A version-neutral view of one schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Shape {
    ty: String,
    nullable: bool,
    enumeration: Vec<Value>,
    fields: BTreeMap<String, Shape>,
    required: BTreeSet<String>,
}

/// Lowers a schema (3.0 or 3.1) to a [`Shape`]. `resolve` maps a `$ref` to the
/// schema it names, for refs that are not spec components (typify's inline
/// types, such as an integer enum's newtype).
fn shape(
    v: &Value,
    components: &BTreeSet<String>,
    resolve: &dyn Fn(&str) -> Option<Value>,
) -> Shape {
    if let Some(r) = v["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        if !components.contains(&name)
            && let Some(inner) = resolve(&name)
        {
            return shape(&inner, components, resolve);
        }
        return Shape {
            ty: format!("ref:{name}"),
            ..Shape::default()
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = v[key].as_array() {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                alternatives.iter().partition(|a| a["type"] == "null");
            if others.len() == 1 {
                let mut s = shape(others[0], components, resolve);
                s.nullable |= !nulls.is_empty();
                return s;
            }
        }
    }
    let mut s = Shape::default();
    match &v["type"] {
        Value::String(t) => s.ty = t.clone(),
        Value::Array(types) => {
            for t in types {
                match t.as_str() {
                    Some("null") => s.nullable = true,
                    Some(t) => s.ty = t.to_owned(),
                    None => {}
                }
            }
        }
        _ if v.get("properties").is_some() => s.ty = "object".into(),
        _ => {}
    }
    s.nullable |= v["nullable"] == true;
    if s.ty == "array" {
        s.ty = format!("array:{}", shape(&v["items"], components, resolve).ty);
    }
    s.enumeration = v["enum"].as_array().cloned().unwrap_or_default();
    s.enumeration.retain(|e| !e.is_null());
    for (name, field) in v["properties"].as_object().into_iter().flatten() {
        s.fields
            .insert(name.clone(), shape(field, components, resolve));
    }
    s.required = v["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    s
}

/// Compares every generated component schema with the spec's.
pub fn check(spec: &Value) -> Vec<Problem> {
    let spec_schemas = spec["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let components: BTreeSet<String> = spec_schemas.keys().cloned().collect();
    let mut out = Vec::new();
    for (name, schema, deps) in derived_schemas() {
        let deps: BTreeMap<String, Value> = deps
            .into_iter()
            .filter_map(|(n, s)| Some((n, serde_json::to_value(s).ok()?)))
            .collect();
        let resolve = |n: &str| deps.get(n).cloned();
        let Ok(derived) = serde_json::to_value(&schema) else {
            continue;
        };
        let Some(in_spec) = spec_schemas.get(name) else {
            out.push(problem(name, "the code has this schema, the spec does not"));
            continue;
        };
        let no_refs = |_: &str| None;
        compare(
            name,
            &shape(in_spec, &components, &no_refs),
            &shape(&derived, &components, &resolve),
            &mut out,
        );
    }
    out
}

fn compare(at: &str, spec: &Shape, code: &Shape, out: &mut Vec<Problem>) {
    let allowed = |aspect: &str| {
        ALLOWED_SCHEMA_DRIFT
            .iter()
            .any(|(a, asp, _)| *a == at && *asp == aspect)
    };
    let mut differ = |aspect: &str, s: String, c: String| {
        if !allowed(aspect) {
            out.push(problem(
                at,
                format!("{aspect}: the spec says {s}, the code (utoipa) says {c}"),
            ));
        }
    };
    if spec.ty != code.ty {
        differ("type", spec.ty.clone(), code.ty.clone());
    }
    if spec.nullable != code.nullable {
        differ(
            "nullable",
            spec.nullable.to_string(),
            code.nullable.to_string(),
        );
    }
    if !spec.enumeration.is_empty() && spec.enumeration != code.enumeration {
        differ(
            "enum",
            format!("{:?}", spec.enumeration),
            format!("{:?}", code.enumeration),
        );
    }
    let names: BTreeSet<&String> = spec.fields.keys().chain(code.fields.keys()).collect();
    for name in names {
        let field_at = format!("{at}.{name}");
        match (spec.fields.get(name), code.fields.get(name)) {
            (Some(s), Some(c)) => {
                compare(&field_at, s, c, out);
                let (rs, rc) = (spec.required.contains(name), code.required.contains(name));
                if rs != rc
                    && !ALLOWED_SCHEMA_DRIFT
                        .iter()
                        .any(|(a, asp, _)| *a == field_at && *asp == "required")
                {
                    out.push(problem(
                        &field_at,
                        format!("required: the spec says {rs}, the code (utoipa) says {rc}"),
                    ));
                }
            }
            (Some(_), None) => out.push(problem(&field_at, "in the spec, missing from the code")),
            (None, Some(_)) => out.push(problem(&field_at, "in the code, missing from the spec")),
            (None, None) => {}
        }
    }
}

fn problem(at: &str, message: impl Into<String>) -> Problem {
    Problem {
        kind: Kind::SchemaDrift,
        at: format!("components.schemas.{at}"),
        message: message.into(),
    }
}
