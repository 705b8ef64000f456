//! Turns `openapi.yaml` into what the crate embeds.
//!
//! The spec is the single source of truth, so the build fails loudly when it is not
//! a valid OpenAPI 3.0.x document: a broken spec must never produce a crate.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=openapi.yaml");
    let yaml = fs::read_to_string("openapi.yaml").expect("read openapi.yaml");
    let json: serde_json::Value = yaml_serde::from_str(&yaml)
        .unwrap_or_else(|e| panic!("openapi.yaml is not valid YAML: {e}"));
    let version = json["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3.0."),
        "openapi.yaml must stay at OpenAPI 3.0.x (progenitor reads no other), found {version:?}"
    );
    let _: openapiv3::OpenAPI = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("openapi.yaml is not a valid OpenAPI 3.0 document: {e}"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let pretty = serde_json::to_string_pretty(&json).expect("serialize spec");
    fs::write(out.join("openapi.json"), pretty + "\n").expect("write openapi.json");
}
