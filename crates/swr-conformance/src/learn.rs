//! Before the checks run, the kit reads each repository it uses once,
//! unpaged, and checks that the answer holds exactly the fixture's tags with
//! the fixture's fields. Those records (with the ids the server gave them)
//! are the oracle's input for every later answer.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use swr_api::fixture::FixtureTag;
use swr_api::time::parse_rfc3339;

use crate::call::{Exchange, Problem};
use crate::context::Ctx;
use crate::oracle::{Record, Records};
use crate::plan::Repo;
use crate::report::Failure;
use crate::spec_facts::spec;

/// Reads every repository the plan uses and keeps the outcome in `ctx.records`.
pub(crate) async fn learn(ctx: &mut Ctx) {
    let plan = &ctx.plan;
    let mut repos: Vec<Repo> = Vec::new();
    for repo in [&plan.main, &plan.slash, &plan.empty, &plan.second]
        .into_iter()
        .flatten()
    {
        if !repos.iter().any(|r| r.label() == repo.label()) {
            repos.push(repo.clone());
        }
    }
    for repo in repos {
        let ex = ctx.send(ctx.get(&repo, &[])).await;
        let outcome = records_of(&ex, &repo).map_err(|p| match p {
            Problem::Fail(f) => *f,
            Problem::Skip(why) => Failure {
                problem: why,
                sent: None,
                got: None,
            },
        });
        ctx.records.insert(repo.label(), outcome);
    }
}

/// The records of `repo` from its unpaged listing, checked against the fixture.
fn records_of(ex: &Exchange, repo: &Repo) -> Result<Records, Problem> {
    ex.expect_status(200)?;
    let body = ex.json()?;
    let Some(items) = body.as_array() else {
        return Err(ex.fail("the body is not a JSON array"));
    };
    let mut listed: HashMap<&str, &Value> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(tag) = item["Tag"].as_str() else {
            return Err(ex.fail(format!("item {i} has no string `Tag`")));
        };
        if listed.insert(tag, item).is_some() {
            return Err(ex.fail(format!("tag {tag:?} is listed twice")));
        }
    }
    let fixture: HashSet<&str> = repo.tags.iter().map(|t| t.tag.as_str()).collect();
    let mut missing: Vec<&str> = fixture
        .iter()
        .filter(|t| !listed.contains_key(*t))
        .copied()
        .collect();
    let mut extra: Vec<&str> = listed
        .keys()
        .filter(|t| !fixture.contains(*t))
        .copied()
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        missing.sort_unstable();
        extra.sort_unstable();
        return Err(ex.fail(format!(
            "{} listed without paging parameters, the fixture has {} tags in {}; missing: {}; not in the fixture: {}",
            items.len(),
            fixture.len(),
            repo.label(),
            sample(&missing),
            sample(&extra)
        )));
    }
    let required: Vec<&str> = spec()["components"]["schemas"]["ShowReposTagResp"]["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut ids = HashSet::new();
    let mut repo_ids = HashSet::new();
    let mut list = Vec::with_capacity(repo.tags.len());
    for t in &repo.tags {
        let item = listed[t.tag.as_str()];
        if let Some(key) = required.iter().find(|k| item.get(**k).is_none()) {
            return Err(ex.fail(format!("tag {:?} lacks the required field `{key}`", t.tag)));
        }
        if let Some(problem) = field_problem(item, t, repo) {
            return Err(ex.fail(format!("tag {:?}: {problem}", t.tag)));
        }
        let (Some(id), Some(repo_id)) = (item["id"].as_i64(), item["repo_id"].as_i64()) else {
            return Err(ex.fail(format!("tag {:?}: id and repo_id must be integers", t.tag)));
        };
        if !ids.insert(id) {
            return Err(ex.fail(format!("id {id} is given to two tags")));
        }
        repo_ids.insert(repo_id);
        let updated = item["updated"].as_str().and_then(parse_rfc3339);
        let Some(updated) = updated else {
            return Err(ex.fail(format!(
                "tag {:?}: `updated` is not an RFC 3339 time",
                t.tag
            )));
        };
        list.push(Record {
            id,
            tag: t.tag.clone(),
            updated,
            json: item.clone(),
        });
    }
    if repo_ids.len() > 1 {
        return Err(ex.fail("the tags of one repository carry different repo_id values"));
    }
    Ok(Records::new(list))
}

/// The first field of `item` that disagrees with the fixture's tag.
fn field_problem(item: &Value, t: &FixtureTag, repo: &Repo) -> Option<String> {
    let plain = [
        ("digest", json!(t.digest)),
        ("image_id", json!(t.image_id)),
        ("manifest", json!(t.manifest)),
        ("schema", json!(t.schema)),
        ("size", json!(t.size)),
        ("is_trusted", json!(t.is_trusted)),
        ("tag_type", json!(t.tag_type)),
        ("domain_id", json!(repo.domain)),
    ];
    for (key, want) in plain {
        if item[key] != want {
            return Some(format!("`{key}` is {}, the fixture says {want}", item[key]));
        }
    }
    // `scanned` is optional in the spec, default false.
    let scanned = item.get("scanned").unwrap_or(&Value::Bool(false));
    if *scanned != json!(t.scanned) {
        return Some(format!(
            "`scanned` is {scanned}, the fixture says {}",
            t.scanned
        ));
    }
    // The fixture format: a missing `created` takes `updated` and vice versa.
    let times = [
        ("updated", t.updated.or(t.created)),
        ("created", t.created.or(t.updated)),
        ("deleted", t.deleted),
    ];
    for (key, want) in times {
        let got = &item[key];
        let ok = match want {
            Some(ts) => got.as_str().and_then(parse_rfc3339) == Some(ts.0),
            None if key == "deleted" => got.is_null(),
            None => true, // set at import time: unknown here
        };
        if !ok {
            let want = want.map_or("null".to_owned(), |ts| ts.to_string());
            return Some(format!("`{key}` is {got}, the fixture says {want}"));
        }
    }
    let reference = format!("/{}/{}:{}", repo.namespace, repo.name, t.tag);
    for key in ["path", "internal_path"] {
        if !item[key].as_str().is_some_and(|p| p.ends_with(&reference)) {
            return Some(format!(
                "`{key}` is {}, expected it to end with {reference:?}",
                item[key]
            ));
        }
    }
    None
}

/// At most five names, then how many more.
fn sample(names: &[&str]) -> String {
    match names.len() {
        0 => "none".to_owned(),
        n if n <= 5 => format!("{names:?}"),
        n => format!("{:?} and {} more", &names[..5], n - 5),
    }
}
