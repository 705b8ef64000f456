//! Error codes as the spec states them (`x-error-code` on each parameter,
//! `x-error-codes` for the rest, `x-swr-error-codes` per response status),
//! read from [`swr_api::SPEC_JSON`] so that the kit follows the spec instead
//! of repeating it.

use std::sync::LazyLock;

use serde_json::Value;

use crate::call::{Problem, skip};

static SPEC: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(swr_api::SPEC_JSON).unwrap_or(Value::Null));

/// The spec as JSON.
pub(crate) fn spec() -> &'static Value {
    &SPEC
}

/// The `list_repository_tags` operation object.
fn operation() -> Option<&'static Value> {
    SPEC["paths"].as_object()?.values().find_map(|item| {
        item.as_object()?
            .values()
            .find(|op| op["operationId"] == "list_repository_tags")
    })
}

/// `x-error-code` of parameter `name`.
pub(crate) fn param_code(name: &str) -> Result<String, Problem> {
    operation()
        .and_then(|op| op["parameters"].as_array())
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .and_then(|p| p["x-error-code"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| skip(format!("the spec gives no x-error-code for {name}")))
}

/// `x-error-codes.{key}`.
pub(crate) fn error_code(key: &str) -> Result<String, Problem> {
    SPEC["x-error-codes"][key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| skip(format!("the spec gives no x-error-codes.{key}")))
}

/// The codes documented for `status` (`x-swr-error-codes` of the response).
pub(crate) fn documented_codes(status: u16) -> Vec<String> {
    operation()
        .and_then(|op| op["responses"][status.to_string()]["x-swr-error-codes"].as_array())
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
