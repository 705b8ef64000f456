//! Spec compatibility (`xtask::compat`): each kind of change, made to a copy of
//! the spec, is classified as it should be, and a breaking one without the
//! version bumps is a `breaking-change` problem of `cargo xtask check`.

use serde_json::{Value, json};
use xtask::check::{Kind, Problem};
use xtask::compat::{self, Class};

use crate::common;
use common::{TAGS, check_mutated, op, param, spec};

/// The classes of every difference a mutation makes.
fn classify(mutate: impl FnOnce(&mut Value)) -> Vec<compat::Change> {
    let old = spec();
    let mut new = old.clone();
    mutate(&mut new);
    let changes = compat::diff(&old, &new);
    assert!(!changes.is_empty(), "the mutation made no difference");
    changes
}

fn assert_class(class: Class, naming: &str, mutate: impl FnOnce(&mut Value)) {
    let changes = classify(mutate);
    assert!(
        changes
            .iter()
            .any(|c| c.class == class && c.to_string().contains(naming)),
        "expected a {class:?} change naming {naming:?}, got {changes:#?}"
    );
    if class == Class::Compatible {
        assert!(
            changes.iter().all(|c| c.class == Class::Compatible),
            "a compatible change came with a breaking one: {changes:#?}"
        );
    }
}

#[test]
fn the_committed_spec_equals_its_release_or_is_compatible() {
    let release = compat::latest_release(&xtask::workspace_root())
        .unwrap()
        .expect("openapi/released/ holds the released spec");
    let breaking: Vec<_> = compat::diff(&release.spec, &spec())
        .into_iter()
        .filter(|c| c.class == Class::Breaking)
        .collect();
    assert!(
        breaking.is_empty() || spec()["info"]["version"] != release.version.as_str(),
        "{breaking:#?}"
    );
}

#[test]
fn breaking_changes_are_classified() {
    assert_class(Class::Breaking, "operation removed", |s| {
        let tags = s["paths"][TAGS].take();
        s["paths"]["/v2/manage/namespaces/{namespace}/repos/{repository}/tag-list"] = tags;
    });
    assert_class(
        Class::Breaking,
        "query parameter tag: parameter removed",
        |s| {
            param(s, "tag")["name"] = json!("tag_name");
        },
    );
    assert_class(Class::Breaking, "field scanned: field removed", |s| {
        s["components"]["schemas"]["ShowReposTagResp"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("scanned");
    });
    assert_class(Class::Breaking, "response 404: status removed", |s| {
        op(s)["responses"].as_object_mut().unwrap().remove("404");
    });
    assert_class(Class::Breaking, "enum value \"tag\" removed", |s| {
        s["components"]["schemas"]["OrderColumn"]["enum"] = json!(["updated_at"]);
    });
    assert_class(Class::Breaking, "new required parameter", |s| {
        op(s)["parameters"].as_array_mut().unwrap().push(json!({
            "name": "project", "in": "query", "required": true, "description": "Project.",
            "schema": {"type": "string"}
        }));
    });
    assert_class(Class::Breaking, "type changed", |s| {
        param(s, "tag")["schema"]["type"] = json!("integer");
    });
    assert_class(Class::Breaking, "pattern changed", |s| {
        param(s, "tag")["schema"]["pattern"] = json!("^[a-z]{1,128}$");
    });
    assert_class(Class::Breaking, "maxLength changed", |s| {
        param(s, "tag")["schema"]["maxLength"] = json!(64);
    });
    assert_class(Class::Breaking, "error code changed", |s| {
        param(s, "limit")["x-error-code"] = json!("SVCSTG.SWR.4001025");
    });
    assert_class(
        Class::Breaking,
        "error code SVCSTG.SWR.4040058 no longer answered",
        |s| {
            op(s)["responses"]["404"]["x-swr-error-codes"] = json!([
                "SVCSTG.SWR.4041061",
                "SVCSTG.SWR.4040010",
                "SVCSTG.SWR.4040083"
            ]);
        },
    );
}

#[test]
fn a_narrowed_range_is_breaking_and_a_widened_one_compatible() {
    let limit_max = |s: &mut Value, max: u64| {
        let schema = &mut param(s, "limit")["schema"];
        let target = if schema["$ref"].is_string() {
            let name = schema["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            &mut s["components"]["schemas"][name]
        } else {
            schema
        };
        target["maximum"] = json!(max);
    };
    assert_class(Class::Breaking, "maximum changed", |s| limit_max(s, 500));
    assert_class(Class::Compatible, "maximum changed", |s| limit_max(s, 2000));
}

#[test]
fn compatible_changes_are_classified() {
    assert_class(Class::Compatible, "new optional parameter", |s| {
        op(s)["parameters"].as_array_mut().unwrap().push(json!({
            "name": "with_manifest", "in": "query", "description": "Include manifests.",
            "schema": {"type": "boolean"}
        }));
    });
    assert_class(Class::Compatible, "field labels: new field", |s| {
        s["components"]["schemas"]["ShowReposTagResp"]["properties"]["labels"] =
            json!({"type": "string", "description": "Labels."});
    });
    assert_class(Class::Compatible, "documentation", |s| {
        param(s, "tag")["description"] = json!("Tag name substring.");
        op(s)["summary"] = json!("List tags");
    });
}

#[test]
fn a_breaking_change_without_a_major_version_is_a_problem() {
    let problems = check_mutated(|s| {
        param(s, "tag")["schema"]["maxLength"] = json!(64);
    });
    let breaking: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.kind == Kind::BreakingChange)
        .collect();
    assert_eq!(breaking.len(), 1, "{problems:#?}");
    let text = breaking[0].to_string();
    assert!(text.contains("maxLength changed from 128 to 64"), "{text}");
    assert!(text.contains("is not a major bump of 2.0.0"), "{text}");
    assert!(
        text.contains("fix:") && text.contains("cargo xtask release"),
        "{text}"
    );

    // A major spec version alone is not enough: the crate must follow.
    let problems = check_mutated(|s| {
        param(s, "tag")["schema"]["maxLength"] = json!(64);
        s["info"]["version"] = json!("3.0.0");
    });
    let text: Vec<&str> = problems
        .iter()
        .filter(|p| p.kind == Kind::BreakingChange)
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(text.len(), 1, "{problems:#?}");
    assert!(!text[0].contains("info.version"), "{}", text[0]);
    assert!(
        text[0].contains("swr-api 0.1.0 is semver-compatible with 0.1.0"),
        "{}",
        text[0]
    );

    // Compatible changes are no problem at all.
    let problems = check_mutated(|s| {
        param(s, "tag")["description"] = json!("Tag name substring.");
    });
    assert!(
        !problems.iter().any(|p| p.kind == Kind::BreakingChange),
        "{problems:#?}"
    );
}

#[test]
fn version_bumps() {
    assert!(compat::is_incompatible_bump("0.1.0", "0.2.0"));
    assert!(!compat::is_incompatible_bump("0.1.0", "0.1.9"));
    assert!(compat::is_incompatible_bump("1.4.0", "2.0.0"));
    assert!(!compat::is_incompatible_bump("1.4.0", "1.9.0"));
    assert_eq!(
        compat::package_version(
            "[workspace]\nx = 1\n\n[package]\nname = \"a\"\nversion = \"0.3.1\"\n"
        )
        .as_deref(),
        Some("0.3.1")
    );
}
