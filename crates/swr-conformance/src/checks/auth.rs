//! Token authentication, and credentials checked before anything else.

use crate::call::{Call, Verdict, skip};
use crate::context::{Code, Ctx, expect_error};
use crate::oracle::Query;
use crate::plan::tags_path;
use crate::spec_facts::error_code;

checks!("auth":
    token_valid => "A valid X-Auth-Token is accepted",
    no_credentials => "A request with neither X-Auth-Token nor Authorization is a 401 with \
        x-error-codes.unauthorized",
    token_unknown => "An unknown X-Auth-Token is a 401",
    token_expired => "An expired X-Auth-Token is a 401",
    token_not_yet_expired => "A token whose expiry is still ahead is accepted",
    before_validation => "Credentials are checked before any parameter: missing, unknown or \
        expired credentials with a bad parameter or path name are a 401, never a 400",
    before_lookup => "Credentials are checked before the namespace is looked up: missing or \
        unknown credentials on a missing or another domain's namespace are a 401, never a 404",
);

async fn unauthorized(ctx: &Ctx, call: Call) -> Verdict {
    let ex = ctx.send(call).await;
    expect_error(&ex, 401, Code::Exact(error_code("unauthorized")?), &[])?;
    Ok(())
}

async fn token_valid(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let q = Query {
        page: Some((0, 1)),
        ..Query::default()
    };
    let ex = ctx
        .send(ctx.get(main, &[("offset", "0"), ("limit", "1")]))
        .await;
    ctx.records(main)?.check(&ex, &q)?;
    Ok(())
}

async fn no_credentials(ctx: &Ctx) -> Verdict {
    unauthorized(ctx, Call::get(ctx.main()?.path())).await
}

async fn token_unknown(ctx: &Ctx) -> Verdict {
    let call =
        Call::get(ctx.main()?.path()).token("swr-conformance-unknown-token", "an unknown token");
    unauthorized(ctx, call).await
}

async fn token_expired(ctx: &Ctx) -> Verdict {
    let expired = ctx
        .plan
        .expired_token
        .as_ref()
        .ok_or_else(|| skip("needs an expiring token whose expiry has passed"))?;
    let call = Call::get(ctx.main()?.path()).token(expired, "an expired token");
    unauthorized(ctx, call).await
}

async fn token_not_yet_expired(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let token =
        ctx.plan.future_token.as_ref().ok_or_else(|| {
            skip("needs an expiring token of domain A that expires after tomorrow")
        })?;
    let call = Call::get(main.path())
        .query(&[("offset", "0"), ("limit", "1")])
        .token(token, "a token of A expiring in the future");
    let q = Query {
        page: Some((0, 1)),
        ..Query::default()
    };
    ctx.records(main)?.check(&ctx.send(call).await, &q)?;
    Ok(())
}

/// The credentials that must fail, each with its role.
fn bad_credentials(ctx: &Ctx) -> Vec<(Option<String>, &'static str)> {
    let mut bad = vec![
        (None, "no credentials"),
        (
            Some("swr-conformance-unknown-token".to_owned()),
            "an unknown token",
        ),
    ];
    if let Some(t) = &ctx.plan.expired_token {
        bad.push((Some(t.clone()), "an expired token"));
    }
    bad
}

fn with(call: Call, token: &Option<String>, role: &str) -> Call {
    match token {
        Some(t) => call.token(t, role),
        None => call,
    }
}

async fn before_validation(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let bad_name = tags_path("Bad-Namespace", "x");
    for (token, role) in bad_credentials(ctx) {
        let calls = [
            Call::get(main.path()).query(&[("offset", "0"), ("limit", "0")]),
            Call::get(main.path()).query(&[("offset", "0")]),
            Call::get(main.path()).query(&[("filter", "bogus")]),
            Call::get(&bad_name),
        ];
        for call in calls {
            unauthorized(ctx, with(call, &token, role)).await?;
        }
    }
    Ok(())
}

async fn before_lookup(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let mut paths = vec![tags_path(&ctx.plan.missing_namespace, "x")];
    paths.push(tags_path(&main.namespace, &ctx.plan.missing_repository));
    if let Some(other) = &ctx.plan.other {
        paths.push(tags_path(
            &other.namespace,
            &other.repository.replace('/', "$"),
        ));
    }
    for (token, role) in bad_credentials(ctx) {
        for path in &paths {
            unauthorized(ctx, with(Call::get(path), &token, role)).await?;
        }
    }
    Ok(())
}
