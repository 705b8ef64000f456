//! Error answers: one shape for every status, documented codes, and the two
//! 404s of a missing namespace and a missing repository.

use crate::call::{Exchange, Verdict};
use crate::context::{Code, Ctx, expect_error};
use crate::plan::tags_path;
use crate::spec_facts::error_code;

checks!("errors":
    body_shape => "Every error is application/json with error_code and error_msg, repeated in \
        errors[0].errorCode/errorMessage with a detail, the code being SVCSTG.SWR.{status}NNNN",
    codes_documented => "Every error code is one the spec lists for its status (x-swr-error-codes)",
    missing_namespace => "A namespace that does not exist is a 404 with \
        x-error-codes.not_found_namespace (SVCSTG.SWR.4040058)",
    missing_repository => "A repository missing from one's own namespace is a 404 with \
        x-error-codes.not_found_repository (SVCSTG.SWR.4040010)",
    unknown_route => "A URL no operation has is a 404 with x-error-codes.not_found \
        (SVCSTG.SWR.4040083)",
);

/// A 400, a 401 and two 404s, with their statuses.
async fn samples(ctx: &Ctx) -> Result<Vec<(Exchange, u16)>, crate::call::Problem> {
    let main = ctx.main()?;
    let bad_limit = ctx.get(main, &[("offset", "0"), ("limit", "0")]);
    let anonymous = crate::call::Call::get(main.path());
    let missing_repo = ctx.get_as_a(&tags_path(&main.namespace, &ctx.plan.missing_repository))?;
    let missing_ns = ctx.get_as_a(&tags_path(&ctx.plan.missing_namespace, "x"))?;
    let mut out = Vec::new();
    for (call, status) in [
        (bad_limit, 400),
        (anonymous, 401),
        (missing_repo, 404),
        (missing_ns, 404),
    ] {
        out.push((ctx.send(call).await, status));
    }
    Ok(out)
}

async fn body_shape(ctx: &Ctx) -> Verdict {
    for (ex, status) in samples(ctx).await? {
        expect_error(&ex, status, Code::Any, &[])?;
    }
    Ok(())
}

async fn codes_documented(ctx: &Ctx) -> Verdict {
    for (ex, status) in samples(ctx).await? {
        expect_error(&ex, status, Code::Documented, &[])?;
    }
    Ok(())
}

async fn missing_namespace(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let path = tags_path(&ctx.plan.missing_namespace, &main.name.replace('/', "$"));
    let ex = ctx.send(ctx.get_as_a(&path)?).await;
    expect_error(
        &ex,
        404,
        Code::Exact(error_code("not_found_namespace")?),
        &[],
    )?;
    Ok(())
}

async fn missing_repository(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let path = tags_path(&main.namespace, &ctx.plan.missing_repository);
    let ex = ctx.send(ctx.get_as_a(&path)?).await;
    expect_error(
        &ex,
        404,
        Code::Exact(error_code("not_found_repository")?),
        &[],
    )?;
    Ok(())
}

async fn unknown_route(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let path = format!("{}/swr-conformance-no-such-route", main.path());
    let ex = ctx.send(ctx.get_as_a(&path)?).await;
    expect_error(&ex, 404, Code::Exact(error_code("not_found")?), &[])?;
    Ok(())
}
