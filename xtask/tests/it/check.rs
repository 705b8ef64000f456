//! The drift check, run by `cargo test`: it passes on the committed spec, and it
//! names the problem when a copy of the spec is mutated the ways specs drift.

use serde_json::json;
use xtask::check::{self, Kind, Problem};

use crate::common;
use common::{check_mutated, op, param, spec};

fn kinds(problems: &[Problem]) -> Vec<Kind> {
    problems.iter().map(|p| p.kind).collect()
}

#[test]
fn the_committed_spec_has_no_drift() {
    let problems = check::run(&xtask::workspace_root(), &xtask::spec_path()).unwrap();
    let report: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(problems.is_empty(), "drift:\n{}", report.join("\n\n"));
}

#[test]
fn the_example_walker_sees_every_example() {
    assert!(xtask::lint::example_count(&spec()) >= 40);
    assert!(xtask::lint::invalid_examples(&spec()).is_empty());
}

#[test]
fn an_enum_value_changed() {
    let problems = check_mutated(|s| {
        s["components"]["schemas"]["OrderColumn"]["enum"] = json!(["updated_at", "name"])
    });
    let mirror = problems
        .iter()
        .find(|p| p.kind == Kind::MirrorMismatch)
        .expect("mirror mismatch");
    assert!(mirror.at.contains("OrderColumn"), "{mirror}");
    assert!(mirror.to_string().contains("fix:"));
    assert!(
        kinds(&problems).contains(&Kind::SnapshotStale)
            || kinds(&problems).contains(&Kind::MirrorMismatch)
    );
}

#[test]
fn a_status_changed() {
    let problems = check_mutated(|s| {
        let responses = op(s)["responses"].as_object_mut().unwrap();
        let not_found = responses.remove("404").unwrap();
        responses.insert("403".into(), not_found);
    });
    let stale = problems
        .iter()
        .find(|p| p.kind == Kind::SnapshotStale)
        .expect("snapshot stale");
    assert!(
        stale.message.contains("403") || stale.message.contains("Forbidden"),
        "{stale}"
    );
    assert!(stale.to_string().contains("cargo xtask codegen"));
}

#[test]
fn a_field_type_changed() {
    let problems = check_mutated(|s| {
        s["components"]["schemas"]["ShowReposTagResp"]["properties"]["size"] =
            json!({"type": "string", "description": "size"});
    });
    let k = kinds(&problems);
    assert!(k.contains(&Kind::ExampleInvalid), "{problems:?}");
    assert!(k.contains(&Kind::SnapshotStale), "{problems:?}");
    let drift = problems
        .iter()
        .find(|p| p.kind == Kind::SchemaDrift)
        .expect("schema drift");
    assert!(
        drift.at.ends_with("ShowReposTagResp.size") && drift.message.contains("string"),
        "{drift}"
    );
    let example = problems
        .iter()
        .find(|p| p.kind == Kind::ExampleInvalid)
        .unwrap();
    assert!(
        example.at.contains("200") || example.at.contains("ShowReposTagResp"),
        "{example}"
    );
}

#[test]
fn an_example_field_removed() {
    let problems = check_mutated(|s| {
        let example = &mut op(s)["responses"]["200"]["content"]["application/json"]["example"][0];
        example.as_object_mut().unwrap().remove("Tag");
    });
    let example = problems
        .iter()
        .find(|p| p.kind == Kind::ExampleInvalid)
        .expect("invalid example");
    assert!(example.message.contains("Tag"), "{example}");
}

#[test]
fn a_field_removed_from_a_model() {
    let problems = check_mutated(|s| {
        let tag = &mut s["components"]["schemas"]["ShowReposTagResp"];
        tag["properties"].as_object_mut().unwrap().remove("scanned");
    });
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::SchemaDrift && p.at.ends_with("ShowReposTagResp.scanned")),
        "{problems:?}"
    );
}

#[test]
fn the_filter_pattern_changed() {
    let problems =
        check_mutated(|s| s["components"]["schemas"]["TagFilter"]["pattern"] = json!("^.*$"));
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::MirrorMismatch && p.at.contains("PATTERN")),
        "{problems:?}"
    );
}

#[test]
fn a_limit_bound_changed() {
    let problems = check_mutated(|s| param(s, "limit")["schema"]["maximum"] = json!(500));
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::MirrorMismatch && p.at.contains("MAX_LIMIT")),
        "{problems:?}"
    );
}

#[test]
fn an_error_code_undocumented() {
    let problems = check_mutated(|s| {
        op(s)["responses"]["400"]["x-swr-error-codes"] = json!(["SVCSTG.SWR.4000014"]);
    });
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::MirrorMismatch && p.message.contains("SVCSTG.SWR.4000056")),
        "{problems:?}"
    );
}

#[test]
fn a_not_found_code_changed() {
    // The spec moves the namespace 404 to another code: the generated
    // constant follows, and the constructor swrd and implementers call is
    // then named as answering an undocumented code until the 404 lists it.
    let problems = check_mutated(|s| {
        s["x-error-codes"]["not_found_namespace"] = json!("SVCSTG.SWR.4041061");
    });
    assert!(
        problems.iter().any(|p| p.kind == Kind::MirrorMismatch
            && p.at.contains("x-error-codes.not_found_namespace")),
        "{problems:?}"
    );
    let problems = check_mutated(|s| {
        op(s)["responses"]["404"]["x-swr-error-codes"] = json!(["SVCSTG.SWR.4040083"]);
    });
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::MirrorMismatch
                && p.at.contains("Rejection::not_found_repository")),
        "{problems:?}"
    );
}

#[test]
fn a_lint_rule_broken() {
    let problems = check_mutated(|s| {
        op(s)["operationId"] = json!("ListRepositoryTags");
        param(s, "tag")
            .as_object_mut()
            .unwrap()
            .remove("description");
    });
    let lint: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.kind == Kind::SpecLint)
        .collect();
    assert!(
        lint.iter().any(|p| p.message.contains("snake_case")),
        "{lint:?}"
    );
    assert!(
        lint.iter()
            .any(|p| p.message.contains("\"tag\" has no description")),
        "{lint:?}"
    );
}

#[test]
fn a_content_range_pattern_changed() {
    let problems = check_mutated(|s| {
        s["components"]["headers"]["Content-Range"]["schema"]["pattern"] =
            json!(r"^items \d+-\d+/\d+$")
    });
    assert!(
        problems
            .iter()
            .any(|p| p.kind == Kind::MirrorMismatch && p.at.contains("ContentRange")),
        "{problems:?}"
    );
}

#[test]
fn docs_render_the_operation_offline() {
    let html = xtask::docs::render(&spec());
    for must in [
        "list_repository_tags",
        "/v2/manage/namespaces/{namespace}/repos/{repository}/tags",
        "order_column",
        "ShowReposTagResp",
        "Content-Range",
    ] {
        assert!(html.contains(must), "docs lack {must}");
    }
    // Self-contained: no script or stylesheet fetched from anywhere.
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
}
