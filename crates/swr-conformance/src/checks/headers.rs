//! Headers: `X-Request-Id` on every answer, JSON listings, and requests with
//! or without `Content-Type`.

use crate::call::{Call, Verdict, fail};
use crate::context::Ctx;
use crate::oracle::Query;
use crate::plan::tags_path;

checks!("headers":
    request_id_echoed => "A client's X-Request-Id is sent back unchanged",
    request_id_generated => "Without a client X-Request-Id the server sends a generated one, a \
        different one for each request",
    request_id_on_errors => "400, 401 and 404 answers carry X-Request-Id too: the client's when \
        it sent one, a generated one otherwise",
    json_content_type => "A listing is sent as application/json",
    content_type_optional => "A request without Content-Type, or with \
        application/json;charset=utf-8, is accepted",
);

async fn request_id_echoed(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let id = ctx.request_id();
    let ex = ctx
        .send(
            ctx.get(main, &[("offset", "0"), ("limit", "1")])
                .request_id(&id),
        )
        .await;
    let r = ex.expect_status(200)?;
    if r.header("x-request-id") != Some(id.as_str()) {
        return Err(ex.fail(format!("X-Request-Id is not echoed as {id:?}")));
    }
    Ok(())
}

async fn request_id_generated(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let ex = ctx
            .send(ctx.get(main, &[("offset", "0"), ("limit", "1")]))
            .await;
        let r = ex.expect_status(200)?;
        match r.header("x-request-id") {
            Some(id) if !id.trim().is_empty() => ids.push(id.to_owned()),
            _ => return Err(ex.fail("no X-Request-Id in the answer")),
        }
    }
    if ids[0] == ids[1] {
        return Err(fail(format!(
            "two requests got the same X-Request-Id {:?}",
            ids[0]
        )));
    }
    Ok(())
}

async fn request_id_on_errors(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let calls = [
        ctx.get(main, &[("offset", "0"), ("limit", "0")]),
        Call::get(main.path()),
        ctx.get_as_a(&tags_path(&main.namespace, &ctx.plan.missing_repository))?,
    ];
    for call in calls {
        for sent_id in [None, Some(ctx.request_id())] {
            let call = match &sent_id {
                Some(id) => call.clone().request_id(id),
                None => call.clone(),
            };
            let ex = ctx.send(call).await;
            let r = ex.response()?;
            if r.status < 400 {
                return Err(ex.fail(format!("expected an error, got {}", r.status)));
            }
            match (r.header("x-request-id"), &sent_id) {
                (None, _) => return Err(ex.fail("no X-Request-Id on an error answer")),
                (Some(got), Some(sent)) if got != sent => {
                    return Err(ex.fail(format!("X-Request-Id is not echoed as {sent:?}")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

async fn json_content_type(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let ex = ctx
        .send(ctx.get(main, &[("offset", "0"), ("limit", "1")]))
        .await;
    let r = ex.expect_status(200)?;
    if !r
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json"))
    {
        return Err(ex.fail("the listing is not application/json"));
    }
    Ok(())
}

async fn content_type_optional(ctx: &Ctx) -> Verdict {
    let main = ctx.main()?;
    let records = ctx.records(main)?;
    let q = Query {
        page: Some((0, 2)),
        ..Query::default()
    };
    for content_type in [None, Some("application/json;charset=utf-8")] {
        let call = ctx
            .get(main, &[("offset", "0"), ("limit", "2")])
            .content_type(content_type);
        records.check(&ctx.send(call).await, &q)?;
    }
    Ok(())
}
