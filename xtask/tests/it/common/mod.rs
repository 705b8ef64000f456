//! Shared by the drift-check tests: the committed spec, its operation and
//! parameters, and `check::run` on a mutated copy.

use std::path::PathBuf;

use serde_json::Value;
use xtask::check::{self, Problem};

pub const TAGS: &str = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags";

/// The committed spec as JSON.
pub fn spec() -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(xtask::spec_path()).unwrap()).unwrap()
}

/// The tag-list operation of `spec`.
pub fn op(spec: &mut Value) -> &mut Value {
    &mut spec["paths"][TAGS]["get"]
}

/// The operation's parameter `name`.
pub fn param<'a>(spec: &'a mut Value, name: &str) -> &'a mut Value {
    op(spec)["parameters"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == name)
        .unwrap()
}

/// Writes a mutated copy of the spec into a temp dir and checks it against
/// the real code, snapshots and released spec.
pub fn check_mutated(mutate: impl FnOnce(&mut Value)) -> Vec<Problem> {
    let mut spec = spec();
    mutate(&mut spec);
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("openapi.yaml");
    std::fs::write(&path, yaml_serde::to_string(&spec).unwrap()).unwrap();
    check::run(&xtask::workspace_root(), &path).unwrap()
}
