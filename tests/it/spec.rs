//! `openapi.yaml` says what the seed API page and the fact sheet say.
//!
//! Everything in the project is generated from this document, so a wrong line here
//! is wrong everywhere. The test reads the spec through `openapiv3` (the model
//! progenitor uses). Every example is validated against its schema by the spec
//! lint of `cargo xtask check` (`xtask/src/lint.rs`), which `cargo test` runs too.

use openapiv3::{
    APIKeyLocation, OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, SchemaKind,
    SecurityScheme, StatusCode, Type,
};
use serde_json::{Value, json};

const PATH: &str = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags";

fn spec_json() -> Value {
    yaml_serde::from_str(swr_api::SPEC_YAML).expect("openapi.yaml is YAML")
}

fn spec() -> OpenAPI {
    serde_json::from_value(spec_json()).expect("openapi.yaml is OpenAPI 3.0")
}

fn resolve_schema<'a>(
    spec: &'a OpenAPI,
    s: &'a ReferenceOr<openapiv3::Schema>,
) -> &'a openapiv3::Schema {
    match s {
        ReferenceOr::Item(s) => s,
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .expect("local schema ref");
            match &spec.components.as_ref().unwrap().schemas[name] {
                ReferenceOr::Item(s) => s,
                ReferenceOr::Reference { .. } => panic!("nested ref {name}"),
            }
        }
    }
}

fn string_enum(schema: &openapiv3::Schema) -> Vec<String> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => s.enumeration.iter().flatten().cloned().collect(),
        other => panic!("not a string schema: {other:?}"),
    }
}

#[test]
fn the_one_operation() {
    let spec = spec();
    assert_eq!(spec.openapi, "3.0.3");
    assert_eq!(spec.paths.paths.len(), 1);
    let item = spec.paths.paths[PATH].as_item().expect("path item");
    assert!(item.post.is_none() && item.put.is_none() && item.delete.is_none());
    let op = item.get.as_ref().expect("GET");
    assert_eq!(op.operation_id.as_deref(), Some("list_repository_tags"));
    assert!(op.summary.as_deref().is_some_and(|s| !s.is_empty()));
    let description = op.description.as_deref().unwrap();
    for must in [
        "filter=offset::0|limit::10",
        "together",
        "1 to 1000",
        "Content-Range: 0-N/N",
    ] {
        assert!(
            description.contains(must),
            "operation description lacks {must:?}"
        );
    }
}

#[test]
fn every_parameter_with_location_type_and_enum() {
    let spec = spec();
    let op = spec.paths.paths[PATH]
        .as_item()
        .unwrap()
        .get
        .as_ref()
        .unwrap();
    let params: Vec<&Parameter> = op
        .parameters
        .iter()
        .map(|p| p.as_item().expect("inline parameter"))
        .collect();
    let names: Vec<&str> = params
        .iter()
        .map(|p| p.parameter_data_ref().name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "namespace",
            "repository",
            "offset",
            "limit",
            "order_column",
            "order_type",
            "tag",
            "filter",
            "Content-Type",
            "X-Auth-Token"
        ]
    );
    let find = |name: &str| {
        *params
            .iter()
            .find(|p| p.parameter_data_ref().name == name)
            .unwrap()
    };
    let schema_of = |p: &Parameter| match &p.parameter_data_ref().format {
        ParameterSchemaOrContent::Schema(s) => resolve_schema(&spec, s).clone(),
        ParameterSchemaOrContent::Content(_) => panic!("content parameter"),
    };

    for name in ["namespace", "repository"] {
        let p = find(name);
        assert!(
            matches!(p, Parameter::Path { .. }),
            "{name} is a path param"
        );
        assert!(p.parameter_data_ref().required);
        let SchemaKind::Type(Type::String(s)) = schema_of(p).schema_kind else {
            panic!("{name} string")
        };
        assert!(s.pattern.is_some() && s.min_length == Some(1));
    }
    assert!(
        find("repository")
            .parameter_data_ref()
            .description
            .as_deref()
            .unwrap()
            .contains('$')
    );

    for name in [
        "offset",
        "limit",
        "order_column",
        "order_type",
        "tag",
        "filter",
    ] {
        let p = find(name);
        assert!(
            matches!(p, Parameter::Query { .. }),
            "{name} is a query param"
        );
        assert!(!p.parameter_data_ref().required, "{name} is optional");
    }
    let SchemaKind::Type(Type::Integer(offset)) = schema_of(find("offset")).schema_kind else {
        panic!()
    };
    assert_eq!((offset.minimum, offset.maximum), (Some(0), Some(i64::MAX)));
    let SchemaKind::Type(Type::Integer(limit)) = schema_of(find("limit")).schema_kind else {
        panic!()
    };
    assert_eq!((limit.minimum, limit.maximum), (Some(1), Some(1000)));
    assert_eq!(
        string_enum(&schema_of(find("order_column"))),
        ["updated_at", "tag"]
    );
    assert_eq!(string_enum(&schema_of(find("order_type"))), ["desc", "asc"]);
    match &find("filter").parameter_data_ref().format {
        ParameterSchemaOrContent::Schema(ReferenceOr::Reference { reference }) => {
            assert_eq!(reference, "#/components/schemas/TagFilter")
        }
        other => panic!("filter must reference TagFilter, got {other:?}"),
    }
    let SchemaKind::Type(Type::String(filter)) = schema_of(find("filter")).schema_kind else {
        panic!()
    };
    assert_eq!(
        filter.pattern.as_deref(),
        Some(swr_api::swr_filter::PATTERN)
    );

    let content_type = find("Content-Type");
    assert!(matches!(content_type, Parameter::Header { .. }));
    assert_eq!(
        string_enum(&schema_of(content_type)),
        ["application/json", "application/json;charset=utf-8"]
    );
    let token = find("X-Auth-Token");
    assert!(matches!(token, Parameter::Header { .. }));
    assert!(
        !token.parameter_data_ref().required,
        "AK/SK requests carry no token"
    );
}

#[test]
fn responses_share_one_error_schema_and_carry_headers() {
    let spec = spec();
    let op = spec.paths.paths[PATH]
        .as_item()
        .unwrap()
        .get
        .as_ref()
        .unwrap();
    let statuses: Vec<u16> = op
        .responses
        .responses
        .keys()
        .map(|s| match s {
            StatusCode::Code(c) => *c,
            StatusCode::Range(_) => panic!("ranges are not documented"),
        })
        .collect();
    assert_eq!(statuses, [200, 400, 401, 404, 500]);
    assert!(op.responses.default.is_none());
    for (status, response) in &op.responses.responses {
        let response = response.as_item().unwrap();
        assert!(
            response.headers.contains_key("X-Request-Id"),
            "{status} lacks X-Request-Id"
        );
        let media = &response.content["application/json"];
        let schema = media.schema.as_ref().unwrap();
        if *status == StatusCode::Code(200) {
            assert!(response.headers.contains_key("Content-Range"));
            let SchemaKind::Type(Type::Array(array)) = &resolve_schema(&spec, schema).schema_kind
            else {
                panic!("200 is a bare array")
            };
            let items = array.items.as_ref().unwrap();
            assert!(
                matches!(items, ReferenceOr::Reference { reference } if reference == "#/components/schemas/ShowReposTagResp")
            );
        } else {
            assert!(
                matches!(schema, ReferenceOr::Reference { reference } if reference == "#/components/schemas/ErrorResponse")
            );
            let example = media
                .example
                .as_ref()
                .expect("one example per error status");
            let code = example["error_code"].as_str().unwrap();
            assert!(
                code.starts_with(&format!("SVCSTG.SWR.{}", status)),
                "{code} for {status}"
            );
        }
    }
    let json = spec_json();
    let range = &json["components"]["headers"]["Content-Range"];
    assert_eq!(range["schema"]["pattern"], r"^\d+-\d+/\d+$");
    assert_eq!(range["example"], "0-10/55");
}

#[test]
fn models_match_the_seed() {
    let json = spec_json();
    let tag = &json["components"]["schemas"]["ShowReposTagResp"];
    let properties: Vec<&str> = tag["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let seed_fields = [
        "id",
        "repo_id",
        "Tag",
        "image_id",
        "manifest",
        "digest",
        "schema",
        "path",
        "internal_path",
        "size",
        "is_trusted",
        "created",
        "updated",
        "deleted",
        "domain_id",
        "tag_type",
    ];
    for f in seed_fields.iter().chain(&["scanned"]) {
        assert!(properties.contains(f), "ShowReposTagResp lacks {f}");
    }
    assert_eq!(
        tag["required"].as_array().unwrap().len(),
        seed_fields.len(),
        "scanned is optional"
    );
    assert_eq!(tag["properties"]["deleted"]["nullable"], true);
    assert_eq!(tag["properties"]["size"]["format"], "int64");
    assert_eq!(tag["properties"]["size"]["minimum"], 0);
    assert_eq!(tag["properties"]["tag_type"]["enum"], json!([0, 1]));

    let error = &json["components"]["schemas"]["ErrorResponse"];
    assert_eq!(error["required"], json!(["error_code", "error_msg"]));
    let detail = &json["components"]["schemas"]["ErrorDetail"]["properties"];
    for f in ["errorCode", "errorMessage", "detail"] {
        assert!(detail.get(f).is_some(), "ErrorDetail lacks {f}");
    }
}

#[test]
fn either_security_scheme_is_accepted() {
    let spec = spec();
    let schemes = &spec.components.as_ref().unwrap().security_schemes;
    let header = |name: &str| match schemes[name].as_item().unwrap() {
        SecurityScheme::APIKey {
            location: APIKeyLocation::Header,
            name,
            description,
            ..
        } => (name.clone(), description.clone().unwrap_or_default()),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(header("token").0, "X-Auth-Token");
    let (aksk, description) = header("aksk");
    assert_eq!(aksk, "Authorization");
    assert!(description.contains("SDK-HMAC-SHA256"));
    // Two alternatives (OR), not one requirement naming both (AND).
    let security = spec.security.as_ref().unwrap();
    assert_eq!(security.len(), 2);
    assert!(security.iter().all(|req| req.len() == 1));
}

#[test]
fn servers_and_info() {
    let spec = spec();
    assert!(!spec.info.title.is_empty() && spec.info.description.is_some());
    let huawei = &spec.servers[0];
    assert_eq!(huawei.url, "https://swr-api.{region}.myhuaweicloud.com");
    assert!(huawei.variables.as_ref().unwrap().contains_key("region"));
    assert!(
        spec.servers
            .iter()
            .any(|s| s.url.starts_with("http://127.0.0.1"))
    );
}

#[test]
fn path_patterns_follow_the_name_rules() {
    let json = spec_json();
    let params = json["paths"][PATH]["get"]["parameters"].as_array().unwrap();
    let pattern = |name: &str| {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        regex::Regex::new(p["schema"]["pattern"].as_str().unwrap()).unwrap()
    };
    let ns = pattern("namespace");
    for ok in [
        "group",
        "a",
        "my-org",
        "my.org",
        "my__org",
        "a1",
        "abc_def-ghi",
    ] {
        assert!(ns.is_match(ok), "namespace {ok} should be valid");
    }
    for bad in [
        "1abc", "Abc", "abc-", "a.-b", "a___b", "a_.b", "", "ab$c", "a/b",
    ] {
        assert!(!ns.is_match(bad), "namespace {bad} should be invalid");
    }
    let repo = pattern("repository");
    for ok in [
        "busybox",
        "tools$busybox",
        "a$b$c",
        "my-app.v2",
        "0abc",
        "a__b",
        "a--b",
    ] {
        assert!(repo.is_match(ok), "repository {ok} should be valid");
    }
    for bad in [
        "-abc", "abc.", "a$", "$a", "a$$b", "Busybox", "a/b", "a..b", "",
    ] {
        assert!(!repo.is_match(bad), "repository {bad} should be invalid");
    }
}

#[test]
fn spec_json_is_the_yaml_as_json() {
    let embedded: Value = serde_json::from_str(swr_api::SPEC_JSON).unwrap();
    assert_eq!(embedded, spec_json());
}

#[test]
fn every_filter_example_parses_and_round_trips() {
    let json = spec_json();
    let params = json["paths"][PATH]["get"]["parameters"].as_array().unwrap();
    let filter = params.iter().find(|p| p["name"] == "filter").unwrap();
    let mut values: Vec<&str> = filter["examples"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    values.push(
        json["components"]["schemas"]["TagFilter"]["example"]
            .as_str()
            .unwrap(),
    );
    for value in values {
        let parsed: swr_api::swr_filter::TagFilter =
            value.parse().unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(
            parsed.to_string(),
            value,
            "examples are written in canonical order"
        );
    }
}

#[test]
fn the_seed_example_deserializes_into_the_generated_model() {
    let json = spec_json();
    let example =
        &json["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]["example"];
    let tags: Vec<swr_api::types::ShowReposTagResp> = serde_json::from_value(example.clone())
        .expect("the seed's example is a Vec<ShowReposTagResp>");
    let latest = &tags[0];
    assert_eq!(latest.tag, "latest", "the capital `Tag` key maps to `tag`");
    assert_eq!(latest.size, 1304902);
    assert_eq!(latest.deleted, None, "`deleted: null`");
    assert!(!latest.scanned, "absent from the seed: defaults to false");
    assert_eq!(i64::from(latest.tag_type.clone()), 0);
    // And back: the same JSON, plus `scanned`.
    let mut again = serde_json::to_value(&tags).unwrap();
    again[0].as_object_mut().unwrap().remove("scanned");
    assert_eq!(&again, example);
}
