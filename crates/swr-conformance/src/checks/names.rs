//! Path names: rule-breaking names are a 400 with their own codes, and a `/`
//! in a repository name travels as `$`.

use crate::call::{Call, Verdict, skip};
use crate::context::{Code, Ctx, expect_error};
use crate::oracle::Query;
use crate::plan::tags_path;
use crate::spec_facts::param_code;

checks!("names":
    namespace_invalid => "A namespace that breaks the naming rules (uppercase, trailing or doubled \
        separator, over 64 characters) is a 400 with namespace's error code (SVCSTG.SWR.4001028), \
        naming namespace; not a 404",
    repository_invalid => "A repository that breaks the naming rules is a 400 with repository's \
        error code (SVCSTG.SWR.4001029), naming repository; not a 404",
    dollar_repository => "A / in a repository name travels as $ (also percent-encoded, %24, as the \
        official Python SDK sends it); each tag's path and internal_path end with \
        namespace/repo/with/slash:tag",
);

async fn namespace_invalid(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let code = param_code("namespace")?;
    let long = "a".repeat(65);
    for ns in ["Upper", "ns-", "a..b", "1ns", long.as_str()] {
        let path = tags_path(ns, &main.name.replace('/', "$"));
        let ex = ctx.send(ctx.get_as_a(&path)?).await;
        expect_error(&ex, 400, Code::Exact(code.clone()), &["namespace"])?;
    }
    Ok(())
}

async fn repository_invalid(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let code = param_code("repository")?;
    let long = "r".repeat(129);
    for repo in ["Repo", "repo-", "-repo", "a$", "a$$b", long.as_str()] {
        let path = tags_path(&main.namespace, repo);
        let ex = ctx.send(ctx.get_as_a(&path)?).await;
        expect_error(&ex, 400, Code::Exact(code.clone()), &["repository"])?;
    }
    Ok(())
}

async fn dollar_repository(ctx: &Ctx) -> Verdict {
    let slash = ctx
        .plan
        .slash
        .as_ref()
        .ok_or_else(|| skip("needs a repository with / in its name"))?;
    let records = ctx.records(slash)?;
    let role = format!("token of {}", slash.domain);
    for wire in [slash.name.replace('/', "$"), slash.name.replace('/', "%24")] {
        let call = Call::get(tags_path(&slash.namespace, &wire)).token(&slash.token, &role);
        let ex = ctx.send(call).await;
        records.check(&ex, &Query::default())?;
        let body = ex.json()?;
        for item in body.as_array().into_iter().flatten() {
            let end = format!(
                "/{}/{}:{}",
                slash.namespace,
                slash.name,
                item["Tag"].as_str().unwrap_or_default()
            );
            for key in ["path", "internal_path"] {
                if !item[key].as_str().is_some_and(|p| p.ends_with(&end)) {
                    return Err(ex.fail(format!(
                        "`{key}` is {}, expected it to end with {end:?}",
                        item[key]
                    )));
                }
            }
        }
    }
    Ok(())
}
