//! Spec lint: the rules every `openapi.yaml` of this project must follow,
//! independent of the code (version, operation ids, descriptions, examples).

use serde_json::{Value, json};

/// One broken rule, with where it is in the document (a JSON pointer-ish path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub at: String,
    pub message: String,
    /// `true` when an example breaks its schema (reported as its own kind).
    pub example: bool,
}

/// Lints the spec (as JSON).
pub fn lint(spec: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut rule = |at: String, message: String| {
        out.push(Finding {
            at,
            message,
            example: false,
        })
    };
    let version = spec["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.0.") {
        rule(
            "#/openapi".into(),
            format!("must be 3.0.x for progenitor, found {version:?}"),
        );
    }
    let mut ids = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let at = format!("#/paths/{path}/{method}");
            match op["operationId"].as_str() {
                None => rule(at.clone(), "operation has no operationId".into()),
                Some(id) if !is_snake_case(id) => {
                    rule(at.clone(), format!("operationId {id:?} is not snake_case"))
                }
                Some(id) if ids.contains(&id.to_owned()) => {
                    rule(at.clone(), format!("operationId {id:?} is not unique"))
                }
                Some(id) => ids.push(id.to_owned()),
            }
            for field in ["summary", "description"] {
                if op[field].as_str().is_none_or(str::is_empty) {
                    rule(at.clone(), format!("operation has no {field}"));
                }
            }
            for (i, p) in op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if p["description"].as_str().is_none_or(str::is_empty) {
                    rule(
                        format!("{at}/parameters/{i}"),
                        format!("parameter {} has no description", p["name"]),
                    );
                }
            }
            for (status, r) in op["responses"].as_object().into_iter().flatten() {
                if r["description"].as_str().is_none_or(str::is_empty) {
                    rule(
                        format!("{at}/responses/{status}"),
                        "response has no description".into(),
                    );
                }
                for (name, h) in r["headers"].as_object().into_iter().flatten() {
                    let h = resolve(spec, h);
                    if h["description"].as_str().is_none_or(str::is_empty) {
                        rule(
                            format!("{at}/responses/{status}/headers/{name}"),
                            "header has no description".into(),
                        );
                    }
                }
            }
        }
    }
    out.extend(invalid_examples(spec));
    out
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

/// Every `example`/`examples` in the document that does not validate against
/// the schema it illustrates (parameters, headers, media types, and schemas
/// themselves), checked with a JSON Schema validator.
pub fn invalid_examples(spec: &Value) -> Vec<Finding> {
    let defs = to_json_schema(&spec["components"]["schemas"]);
    let mut examples = Vec::new();
    collect_examples(spec, "#", spec, &mut examples);
    let mut out = Vec::new();
    for (at, schema, example) in examples {
        let mut schema = to_json_schema(&schema);
        schema["$defs"] = defs.clone();
        match jsonschema::validator_for(&schema) {
            Ok(validator) => {
                for error in validator.iter_errors(&example) {
                    out.push(Finding {
                        at: at.clone(),
                        message: format!("example: {error}"),
                        example: true,
                    });
                }
            }
            Err(e) => out.push(Finding {
                at,
                message: format!("schema does not compile: {e}"),
                example: false,
            }),
        }
    }
    out
}

/// Counts the examples [`invalid_examples`] looks at (so a test can check the
/// walker still finds them).
pub fn example_count(spec: &Value) -> usize {
    let mut examples = Vec::new();
    collect_examples(spec, "#", spec, &mut examples);
    examples.len()
}

/// Rewrites an OpenAPI 3.0 schema into JSON Schema 2020-12: `nullable` becomes a
/// type union and component refs point into `$defs`.
pub fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "$ref" => {
                        let name = v
                            .as_str()
                            .unwrap_or_default()
                            .trim_start_matches("#/components/schemas/");
                        out.insert(k.clone(), json!(format!("#/$defs/{name}")));
                    }
                    "nullable" | "example" => {}
                    _ => {
                        out.insert(k.clone(), to_json_schema(v));
                    }
                }
            }
            if map.get("nullable") == Some(&json!(true))
                && let Some(ty) = out.get("type").cloned()
            {
                out.insert("type".into(), json!([ty, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

fn collect_examples(spec: &Value, path: &str, v: &Value, out: &mut Vec<(String, Value, Value)>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_examples(spec, &format!("{path}/{i}"), item, out);
            }
        }
        Value::Object(map) => {
            // A parameter, header or media type names its schema; a schema object
            // (it has a type or is a ref) carries its own example.
            let schema = map.get("schema").cloned().or_else(|| {
                (map.contains_key("type") || map.contains_key("$ref")).then(|| v.clone())
            });
            if let Some(schema) = &schema {
                if let Some(example) = map.get("example") {
                    out.push((format!("{path}/example"), schema.clone(), example.clone()));
                }
                for (name, e) in map
                    .get("examples")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let e = resolve(spec, e);
                    out.push((
                        format!("{path}/examples/{name}"),
                        schema.clone(),
                        e["value"].clone(),
                    ));
                }
            }
            for (k, child) in map {
                if k != "example" && k != "examples" {
                    collect_examples(spec, &format!("{path}/{k}"), child, out);
                }
            }
        }
        _ => {}
    }
}
