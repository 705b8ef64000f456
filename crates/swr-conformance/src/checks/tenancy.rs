//! Tenancy: another domain's namespace is answered exactly like one that
//! does not exist, so existence never leaks across accounts.

use std::time::SystemTime;

use crate::call::{Call, Problem, Verdict, skip};
use crate::context::{Code, Ctx, expect_error};
use crate::plan::{Other, tags_path};

checks!("tenancy":
    other_namespace_token => "Another domain's namespace, asked with A's token, is answered like \
        a missing namespace: 404, the same error_code and error_msg, a detail differing only by \
        the name",
    other_namespace_aksk => "The same with A's AK/SK signature",
    other_namespace_missing_repository => "A missing repository in another domain's namespace is \
        answered like a missing namespace too (a 'repository not found' would confirm that the \
        namespace exists)",
);

fn other(ctx: &Ctx) -> Result<&Other, Problem> {
    ctx.plan
        .other
        .as_ref()
        .ok_or_else(|| skip("needs a namespace of a second domain"))
}

/// B can list its own repository: otherwise a 404 to A would prove nothing.
async fn exists_for_owner(ctx: &Ctx, other: &Other) -> Verdict {
    let path = tags_path(&other.namespace, &other.repository.replace('/', "$"));
    let role = format!("token of {}", other.domain);
    let call = match (&other.token, &other.key) {
        (Some(token), _) => Call::get(path).token(token, &role),
        (None, Some(key)) => Call::get(path).signed(
            key,
            &format!("AK/SK of {}", other.domain),
            SystemTime::now(),
        ),
        (None, None) => return Ok(()),
    };
    let ex = ctx.send(call).await;
    ex.expect_status(200).map_err(|_| {
        ex.fail("the owner of the namespace cannot list it, so this check proves nothing")
    })?;
    Ok(())
}

/// `as_a(path)` on `repository` in B's namespace and in a missing one must
/// be answered alike.
async fn alike(
    ctx: &Ctx,
    repository: &str,
    as_a: impl Fn(&str) -> Result<Call, Problem>,
) -> Verdict {
    let other = other(ctx)?;
    exists_for_owner(ctx, other).await?;
    let missing = &ctx.plan.missing_namespace;
    let ex_missing = ctx.send(as_a(&tags_path(missing, repository))?).await;
    let base = expect_error(&ex_missing, 404, Code::Documented, &[])?;
    let ex = ctx
        .send(as_a(&tags_path(&other.namespace, repository))?)
        .await;
    let foreign = expect_error(&ex, 404, Code::Documented, &[])?;
    if (&foreign.code, &foreign.msg) != (&base.code, &base.msg) {
        return Err(ex.fail(format!(
            "answered {} {:?}; a missing namespace is answered {} {:?}",
            foreign.code, foreign.msg, base.code, base.msg
        )));
    }
    let a = foreign.detail.replace(&other.namespace, "{namespace}");
    let b = base.detail.replace(missing.as_str(), "{namespace}");
    if a != b {
        return Err(ex.fail(format!(
            "detail {:?} differs from a missing namespace's {:?} by more than the name",
            foreign.detail, base.detail
        )));
    }
    Ok(())
}

async fn other_namespace_token(ctx: &Ctx) -> Verdict {
    let repository = other(ctx)?.repository.replace('/', "$");
    alike(ctx, &repository, |path| ctx.get_as_a(path)).await
}

async fn other_namespace_aksk(ctx: &Ctx) -> Verdict {
    ctx.key()?;
    let repository = other(ctx)?.repository.replace('/', "$");
    alike(ctx, &repository, |path| ctx.signed_as_a(path)).await
}

async fn other_namespace_missing_repository(ctx: &Ctx) -> Verdict {
    let repository = ctx.plan.missing_repository.clone();
    alike(ctx, &repository, |path| ctx.get_as_a(path)).await
}
