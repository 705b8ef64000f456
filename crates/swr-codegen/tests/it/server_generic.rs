//! Properties of the server generator that must hold for any spec, checked
//! on copies of ours: a new operation gets its trait method, types and route
//! with no generator change; output is deterministic; what the generator
//! cannot honour is an error, never a silently skipped rule.

use serde_json::{Value, json};
use swr_codegen::server::{QueryRules, ServerError, ServerOptions, generate_server};
use swr_codegen::{Spec, load_spec};

fn spec_json() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    load_spec(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .json
}

fn with_json(json: &Value) -> Spec {
    load_spec(&serde_json::to_string(json).unwrap()).unwrap()
}

fn generate(json: &Value) -> Result<String, ServerError> {
    generate_server(&with_json(json), &ServerOptions::swr_api())
}

/// Our spec plus `GET /v2/manage/namespaces/{namespace}` and
/// `POST /v2/manage/namespaces/{namespace}/repos/{repository}/tags`.
fn extended() -> Value {
    let mut json = spec_json();
    json["paths"]["/v2/manage/namespaces/{namespace}"] = json!({
        "get": {
            "operationId": "show_namespace",
            "summary": "Show one namespace",
            "parameters": [
                { "name": "namespace", "in": "path", "required": true,
                  "schema": { "type": "string", "pattern": "^[a-z]+$" } },
                { "name": "verbose", "in": "query", "schema": { "type": "boolean" } },
                { "name": "depth", "in": "query",
                  "schema": { "type": "integer", "format": "int32", "minimum": 1, "default": 2 } }
            ],
            "responses": {
                "200": {
                    "description": "The namespace.",
                    "headers": { "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" } },
                    "content": { "application/json": { "schema": {
                        "type": "object", "properties": { "name": { "type": "string" } }
                    } } }
                },
                "404": {
                    "description": "Not found.",
                    "content": { "application/json": { "schema": {
                        "$ref": "#/components/schemas/ErrorResponse"
                    } } }
                },
                "default": { "description": "Anything else." }
            }
        }
    });
    let tags = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags";
    json["paths"][tags]["post"] = json!({
        "operationId": "create_repo_tag",
        "parameters": [
            { "name": "namespace", "in": "path", "required": true, "schema": { "type": "string" } },
            { "name": "repository", "in": "path", "required": true, "schema": { "type": "string" } }
        ],
        "requestBody": {
            "required": true,
            "content": { "application/json": { "schema": {
                "$ref": "#/components/schemas/ShowReposTagResp"
            } } }
        },
        "responses": { "201": { "description": "Created." } }
    });
    json
}

#[test]
fn a_new_operation_gets_a_method_types_and_a_route() {
    let before = generate(&spec_json()).unwrap();
    let after = generate(&extended()).unwrap();
    for needle in [
        "fn show_namespace(",
        "pub struct ShowNamespacePath",
        "pub struct ShowNamespaceQuery",
        "pub struct ShowNamespaceHeaders",
        "pub struct ShowNamespaceRequest",
        "pub enum ShowNamespaceResponse",
        "fn create_repo_tag(",
        "pub struct CreateRepoTagRequest",
        "pub enum CreateRepoTagResponse",
    ] {
        assert!(!before.contains(needle), "{needle} before the change");
        assert!(after.contains(needle), "{needle} missing after the change");
    }
    // One route per path; two methods on the tags path share it.
    assert!(after.contains("\"/v2/manage/namespaces/{namespace}\""));
    assert!(after.contains("MethodFilter::POST"));
    assert_eq!(
        after
            .matches("\"/v2/manage/namespaces/{namespace}/repos/{repository}/tags\"")
            .count(),
        1
    );
    // Typed fields and variants from the schema.
    assert!(after.contains("pub verbose: ::std::option::Option<bool>"));
    assert!(
        after.contains("pub depth: u32"),
        "a default makes it non-optional"
    );
    assert!(after.contains("pub body: crate::types::ShowReposTagResp"));
    assert!(after.contains("Created {"));
    // Error statuses (404, default) are `Rejection`s, not variants.
    assert!(!after.contains("Default {"));
    assert!(!after.contains("NotFound {"));
    assert!(
        after.contains("(400u16, 599u16)"),
        "default documents 4xx and 5xx"
    );
}

#[test]
fn our_spec_maps_to_the_expected_types() {
    let out = generate(&spec_json()).unwrap();
    for needle in [
        "pub trait Api: Send + Sync + 'static",
        "Output = ::std::result::Result<\n            ListRepositoryTagsResponse,\n            crate::server::support::Rejection,\n        >,",
        "pub fn router<A: Api>(api: ::std::sync::Arc<A>) -> ::axum::Router",
        "pub namespace: ::std::string::String",
        "pub type ListRepositoryTagsQuery = crate::server::ListQuery;",
        "pub content_type: ::std::string::String",
        "type Principal: Send + 'static;",
        "fn authenticate(\n        &self,\n        credentials: crate::server::support::Credentials,\n        request_id: &str,\n    )",
        "pub struct ListRepositoryTagsRequest<P> {",
        "pub principal: P,",
        "request: ListRepositoryTagsRequest<Self::Principal>,",
        "ListRepositoryTagsRequest<A::Principal>",
        "content_range: crate::ContentRange",
        "body: crate::server::support::JsonArray<crate::types::ShowReposTagResp>",
        "let query = crate::server::rules::list_repository_tags(&query)?;",
        "(404u16, 404u16),",
        "(500u16, 500u16),",
        ".documented(",
        "crate::server::support::signed_credentials",
        "(\"limit\", \"SVCSTG.SWR.4000056\")",
        "\"/v2/manage/namespaces/{namespace}/repos/{repository}/tags\"",
    ] {
        assert!(out.contains(needle), "missing: {needle}");
    }
    assert!(!out.contains("async_trait"));
    assert!(!out.contains("pub credentials"));
    // The router owns X-Request-Id; the query's separate fields are gone.
    assert!(!out.contains("x_request_id"));
    assert!(!out.contains("pub offset"));
    assert!(!out.contains("InternalServerError {"));
}

/// The text of the generated `fn {name}` up to the next item.
fn item<'a>(out: &'a str, start: &str) -> &'a str {
    let at = out
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the output"));
    let rest = &out[at..];
    let end = rest[1..]
        .find("\nasync fn ")
        .or_else(|| rest[1..].find("\n/// "))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn credentials_are_authenticated_before_any_parameter() {
    let out = generate(&spec_json()).unwrap();
    let extract = item(&out, "async fn extract_list_repository_tags");
    let order = [
        "crate::server::support::read_body(",
        "crate::server::support::authenticate(",
        "api.authenticate(credentials, request_id).await?;",
        "Params::from_path(",
        "Params::from_query(",
        "crate::server::rules::list_repository_tags(&query)?;",
        "Params::from_headers(",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|needle| {
            extract
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing from:\n{extract}"))
        })
        .collect();
    assert!(
        positions.is_sorted(),
        "expected the order {order:?}:\n{extract}"
    );
}

#[test]
fn operations_without_security_need_no_authenticate() {
    // One operation opts out of the spec-root `security`: it calls no
    // `authenticate` and its request is not generic; the others still are.
    let mut json = extended();
    json["paths"]["/v2/manage/namespaces/{namespace}"]["get"]["security"] = json!([]);
    let out = generate(&json).unwrap();
    assert!(out.contains("pub struct ShowNamespaceRequest {"), "{out}");
    assert!(out.contains("request: ShowNamespaceRequest,"));
    let extract = item(&out, "async fn extract_show_namespace");
    assert!(!extract.contains("<A: Api>"), "{extract}");
    assert!(!extract.contains("authenticate"), "{extract}");
    assert!(!extract.contains("read_body"), "no body, no credentials");
    assert!(out.contains("pub struct CreateRepoTagRequest<P> {"));
    assert!(out.contains("request: CreateRepoTagRequest<Self::Principal>,"));
    assert!(out.contains("type Principal: Send + 'static;"));

    // A spec where nothing has `security`: no principal, no `authenticate`.
    let mut json = extended();
    json.as_object_mut().unwrap().remove("security");
    let out = generate(&json).unwrap();
    for absent in [
        "Principal",
        "fn authenticate(",
        "principal",
        "<P>",
        "api: &A",
    ] {
        assert!(!out.contains(absent), "{absent} in a spec without security");
    }
    assert!(out.contains("pub struct ListRepositoryTagsRequest {"));
    assert!(out.contains("request: ListRepositoryTagsRequest,"));
}

#[test]
fn optional_security_gives_an_optional_principal() {
    // `{}` among the alternatives: credentials may be absent; when present
    // they still go through `authenticate`.
    let mut json = spec_json();
    json["security"].as_array_mut().unwrap().push(json!({}));
    let out = generate(&json).unwrap();
    assert!(
        out.contains("pub principal: ::std::option::Option<P>,"),
        "{out}"
    );
    let extract = item(&out, "async fn extract_list_repository_tags");
    assert!(
        extract.contains("crate::server::support::try_authenticate("),
        "{extract}"
    );
    assert!(
        extract.contains("api.authenticate(credentials, request_id).await?"),
        "{extract}"
    );
}

#[test]
fn generation_is_deterministic() {
    let json = extended();
    let a = generate(&json).unwrap();
    let b = generate(&json).unwrap();
    assert_eq!(a, b);
    // Through YAML text and back: the same bytes.
    let yaml = yaml_serde::to_string(&json).unwrap();
    let c = generate_server(&load_spec(&yaml).unwrap(), &ServerOptions::swr_api()).unwrap();
    assert_eq!(a, c);
    assert!(a.starts_with("// @generated"));
}

fn error_of(json: &Value, options: &ServerOptions) -> String {
    generate_server(&with_json(json), options)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn what_cannot_be_honoured_is_an_error() {
    let options = ServerOptions::swr_api();

    let mut json = spec_json();
    json.as_object_mut().unwrap().remove("x-error-codes");
    assert!(error_of(&json, &options).contains("x-error-codes.bad_request"));

    let mut json = spec_json();
    let tags = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags";
    json["paths"][tags]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "session", "in": "cookie", "schema": { "type": "string" } }));
    assert!(error_of(&json, &options).contains("cookie parameters"));

    let mut json = spec_json();
    json["paths"][tags]["get"]["parameters"][0]["schema"]["pattern"] = json!("(?<=a)b");
    assert!(error_of(&json, &options).contains("not a valid Rust regex"));

    let mut json = spec_json();
    json["paths"][tags]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "ids", "in": "query",
                      "schema": { "type": "array", "items": { "type": "string" } } }));
    assert!(error_of(&json, &options).contains("not supported"));

    // With `security`, `authenticate` is the trait's; no operation may take it.
    let mut json = spec_json();
    json["paths"][tags]["get"]["operationId"] = json!("authenticate");
    let mut no_rules = ServerOptions::swr_api();
    no_rules.query_rules.clear();
    let e = error_of(&json, &no_rules);
    assert!(e.contains("authenticate"), "{e}");
    assert!(e.contains("security"), "{e}");

    let mut options = ServerOptions::swr_api();
    options.query_rules.insert(
        "no_such_operation".into(),
        QueryRules {
            hook: "crate::x".into(),
            query_type: "crate::X".into(),
        },
    );
    assert!(error_of(&spec_json(), &options).contains("no_such_operation"));
}
