//! Properties of the generator that must hold for any spec, checked on a
//! copy of ours.

use serde_json::json;
use swr_codegen::{Spec, generate_client, load_spec, spec_json};

fn spec() -> Spec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    load_spec(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with_json(json: serde_json::Value) -> Spec {
    load_spec(&serde_json::to_string(&json).unwrap()).unwrap()
}

#[test]
fn a_new_operation_gets_a_client_method() {
    let mut json = spec().json;
    json["paths"]["/v2/manage/namespaces/{namespace}"] = json!({
        "get": {
            "operationId": "show_namespace",
            "parameters": [{
                "name": "namespace", "in": "path", "required": true,
                "schema": { "type": "string" }
            }],
            "responses": {
                "200": {
                    "description": "The namespace.",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": { "name": { "type": "string" } }
                    } } }
                },
                "404": {
                    "description": "Not found.",
                    "content": { "application/json": { "schema": {
                        "$ref": "#/components/schemas/ErrorResponse"
                    } } }
                }
            }
        }
    });
    let before = generate_client(&spec()).unwrap();
    let after = generate_client(&with_json(json)).unwrap();
    assert!(!before.client.contains("fn show_namespace("));
    assert!(after.client.contains("pub fn show_namespace(&self)"));
    assert!(after.client.contains("pub struct ShowNamespace<'a>"));
    assert!(after.types.contains("pub struct ShowNamespaceResponse"));
}

#[test]
fn no_api_version_header_and_no_panicking_constructor() {
    let generated = generate_client(&spec()).unwrap();
    assert!(!generated.client.contains("\"api-version\""));
    assert!(!generated.client.contains(".unwrap()"));
    assert!(
        generated
            .client
            .contains("pub fn new(baseurl: &str) -> ::std::result::Result<Self, ::reqwest::Error>")
    );
}

#[test]
fn types_do_not_need_the_client_stack() {
    let types = generate_client(&spec()).unwrap().types;
    for needle in ["reqwest", "progenitor_client", "ResponseValue"] {
        assert!(!types.contains(needle), "types mention {needle}");
    }
}

#[test]
fn replaced_schemas_use_swr_filter() {
    let generated = generate_client(&spec()).unwrap();
    for name in ["TagFilter", "OrderColumn", "OrderType"] {
        assert!(!generated.types.contains(&format!("pub enum {name}")));
        assert!(!generated.types.contains(&format!("pub struct {name}")));
        assert!(generated.client.contains(&format!("::swr_filter::{name}")));
    }
}

#[test]
fn required_param_with_string_default_starts_at_it() {
    let client = generate_client(&spec()).unwrap().client;
    assert!(!client.contains("content_type was not initialized"));
    assert!(client.contains("::std::convert::TryFrom::try_from(\"application/json\")"));
}

#[test]
fn spec_json_is_sorted_and_complete() {
    let spec = spec();
    let text = spec_json(&spec);
    assert!(text.ends_with("}\n"));
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, spec.json);
    // "components" sorts before "info", whatever order the YAML has.
    assert!(text.find("\"components\"").unwrap() < text.find("\"info\"").unwrap());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(matches!(
        load_spec("openapi: [").unwrap_err(),
        swr_codegen::Error::Yaml(_)
    ));
    assert!(matches!(
        load_spec("openapi: 3.0.3\n").unwrap_err(),
        swr_codegen::Error::OpenApi(_)
    ));
}
